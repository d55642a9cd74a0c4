"""The human-handoff queue: tickets the bot opens and support agents work.

A ticket is `waiting` until an agent claims it (`active`), and ends `handed_back`
(the bot carries on) or `closed`. A conversation has at most one open ticket: the
database enforces it, so two escalations at once share one ticket, and two agents
claiming at once get one winner.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.billing.accounts import PastDue, to_decimal
from bot.db import Agent, Balance, HandoffTicket, PaymentAttempt, Subscription, as_utc, utcnow
from bot.errors import BotError, NotFound
from bot.i18n import format_expiry, format_money

OPEN_STATUSES = ("waiting", "active")
REASONS = {
    "customer_asked": "The customer asked for a person.",
    "not_understood": "The bot did not understand the customer twice in a row.",
    "payments_declined": "The payment was declined twice.",
}
# What a packet keeps of the conversation so far; the console shows the live one.
TRANSCRIPT_LIMIT = 50


class TicketConflict(BotError):
    """The ticket is not in a state that allows this (claimed by another, ended)."""


@dataclass(frozen=True)
class Queued:
    """A ticket and where it stands in the queue (1 = next; None once claimed)."""

    ticket_id: int
    position: int | None
    created: bool


def build_packet(
    *,
    customer: dict[str, str] | None,
    language: str,
    due: PastDue | None,
    attempts: list[dict[str, Any]],
    tried: list[str],
    reason: str,
    transcript: list[dict[str, Any]],
) -> dict[str, Any]:
    """What an agent needs at a glance. Card data is brand, last four and expiry only."""
    packet: dict[str, Any] = {
        "customer": customer,
        "language": language,
        "subscription": due.subscription if due else None,
        "past_due": None,
        "failing_card": None,
        "decline_reason": due.decline_reason if due else None,
        "tried": [*tried, *(_describe_attempt(a) for a in attempts)],
        "escalation": REASONS.get(reason, reason),
        "transcript": transcript[-TRANSCRIPT_LIMIT:],
    }
    if due is not None:
        packet["past_due"] = {
            "amount": format_money(due.amount, due.currency, "en"),
            "due_date": due.due_date.isoformat(),
        }
        card = due.failed_card
        if card is not None:
            packet["failing_card"] = {
                "brand": card.brand,
                "last4": card.last4,
                "expiry": format_expiry(card.exp_month, card.exp_year),
            }
    return packet


def _describe_attempt(attempt: dict[str, Any]) -> str:
    outcome = attempt["status"]
    if attempt.get("decline_reason"):
        outcome += f" ({attempt['decline_reason']})"
    return f"Payment of {attempt['amount']} with {attempt['card']}: {outcome}, {attempt['at']}"


def payment_attempts(
    session: Session, customer_id: str, since: dt.datetime | None = None
) -> list[dict]:
    """The customer's payment attempts since `since` (this conversation), oldest first."""
    query = (
        select(PaymentAttempt)
        .join(Balance)
        .join(Subscription)
        .where(Subscription.customer_id == customer_id)
        .order_by(PaymentAttempt.created_at, PaymentAttempt.id)
    )
    if since is not None:
        query = query.where(PaymentAttempt.created_at >= since)
    rows = session.scalars(query).all()
    return [
        {
            "amount": format_money(to_decimal(a.amount_minor, a.currency), a.currency, "en"),
            "card": f"{a.payment_method.brand} ending {a.payment_method.last4}",
            "status": a.status,
            "decline_reason": a.decline_reason,
            "at": as_utc(a.created_at).strftime("%Y-%m-%d %H:%M UTC"),
        }
        for a in rows
    ]


def open_ticket(
    session: Session,
    *,
    conversation_id: str,
    customer_id: str | None,
    language: str,
    reason: str,
    packet: dict[str, Any],
) -> Queued:
    """Opens a waiting ticket, or returns the conversation's open one."""
    existing = open_ticket_of(session, conversation_id)
    if existing is not None:
        return Queued(existing.id, queue_position(session, existing), created=False)
    ticket = HandoffTicket(
        conversation_id=conversation_id,
        customer_id=customer_id,
        language=language,
        reason=reason,
        status="waiting",
        packet=packet,
    )
    try:
        with session.begin_nested():
            session.add(ticket)
    except IntegrityError:
        # Another escalation of the same conversation won the race: join its ticket.
        existing = open_ticket_of(session, conversation_id)
        if existing is None:
            raise
        return Queued(existing.id, queue_position(session, existing), created=False)
    return Queued(ticket.id, queue_position(session, ticket), created=True)


def open_ticket_of(session: Session, conversation_id: str) -> HandoffTicket | None:
    return session.scalars(
        select(HandoffTicket).where(
            HandoffTicket.conversation_id == conversation_id,
            HandoffTicket.status.in_(OPEN_STATUSES),
        )
    ).first()


def with_a_person(session: Session, conversation_id: str) -> bool:
    """Whether a person has the conversation: it has a ticket waiting for or with an agent.

    The table every Rasa server shares, so all of them agree; one lookup on the
    one-open-ticket-per-conversation index.
    """
    return open_ticket_of(session, conversation_id) is not None


def queue_position(session: Session, ticket: HandoffTicket) -> int | None:
    """1 for the next ticket an agent should take; None when it is not waiting."""
    if ticket.status != "waiting":
        return None
    ahead = session.scalar(
        select(func.count())
        .select_from(HandoffTicket)
        .where(
            HandoffTicket.status == "waiting",
            (HandoffTicket.created_at < ticket.created_at)
            | ((HandoffTicket.created_at == ticket.created_at) & (HandoffTicket.id < ticket.id)),
        )
    )
    return int(ahead or 0) + 1


def list_open(session: Session) -> list[HandoffTicket]:
    """Waiting and active tickets, the most recent activity first."""
    return list(
        session.scalars(
            select(HandoffTicket)
            .where(HandoffTicket.status.in_(OPEN_STATUSES))
            .order_by(HandoffTicket.last_activity_at.desc(), HandoffTicket.id.desc())
        )
    )


def get_ticket(session: Session, ticket_id: int) -> HandoffTicket:
    """Raises NotFound when there is no such ticket."""
    ticket = session.get(HandoffTicket, ticket_id)
    if ticket is None:
        raise NotFound(f"no ticket {ticket_id}")
    return ticket


def claim(session: Session, ticket_id: int, agent_id: int) -> HandoffTicket:
    """Gives a waiting ticket to an agent; exactly one of two racing claims wins.

    Raises:
        NotFound: no such ticket.
        TicketConflict: already claimed or ended.
    """
    now = utcnow()
    won = session.execute(
        update(HandoffTicket)
        .where(HandoffTicket.id == ticket_id, HandoffTicket.status == "waiting")
        .values(status="active", agent_id=agent_id, claimed_at=now, last_activity_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    ticket = get_ticket(session, ticket_id)
    session.refresh(ticket)
    if not won:
        if ticket.status == "active":
            holder = ticket.agent.display_name if ticket.agent else "another agent"
            if ticket.agent_id == agent_id:
                return ticket
            raise TicketConflict(f"Already claimed by {holder}")
        raise TicketConflict(f"This conversation has ended ({ticket.status})")
    return ticket


def held_by(session: Session, ticket_id: int, agent_id: int) -> HandoffTicket:
    """The ticket, if this agent holds it (active and claimed by them).

    Raises:
        NotFound: no such ticket.
        TicketConflict: not active, or held by someone else.
    """
    ticket = get_ticket(session, ticket_id)
    if ticket.status != "active" or ticket.agent_id != agent_id:
        if ticket.status == "waiting":
            raise TicketConflict("Claim this conversation first")
        if ticket.status == "active":
            holder = ticket.agent.display_name if ticket.agent else "another agent"
            raise TicketConflict(f"This conversation is handled by {holder}")
        raise TicketConflict(f"This conversation has ended ({ticket.status})")
    return ticket


def end(session: Session, ticket_id: int, agent_id: int, status: str) -> HandoffTicket:
    """Ends a ticket the agent holds: `handed_back` to the bot, or `closed`."""
    if status not in ("handed_back", "closed"):
        raise ValueError(status)
    ticket = held_by(session, ticket_id, agent_id)
    ticket.status = status
    ticket.ended_at = ticket.last_activity_at = utcnow()
    session.flush()
    return ticket


def touch(session: Session, conversation_id: str) -> bool:
    """Marks new activity on the conversation's open ticket; False when it has none."""
    changed = session.execute(
        update(HandoffTicket)
        .where(
            HandoffTicket.conversation_id == conversation_id,
            HandoffTicket.status.in_(OPEN_STATUSES),
        )
        .values(last_activity_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(changed)


def ticket_view(session: Session, ticket: HandoffTicket, agent_id: int | None = None) -> dict:
    """A ticket as the console and `bot handoff list --json` show it."""
    agent: Agent | None = ticket.agent
    return {
        "id": ticket.id,
        "conversation_id": ticket.conversation_id,
        "status": ticket.status,
        "reason": ticket.reason,
        "reason_text": REASONS.get(ticket.reason, ticket.reason),
        "language": ticket.language,
        "queue_position": queue_position(session, ticket),
        "agent": (
            {"username": agent.username, "display_name": agent.display_name} if agent else None
        ),
        "mine": agent_id is not None and ticket.agent_id == agent_id,
        "created_at": as_utc(ticket.created_at).isoformat(),
        "last_activity_at": as_utc(ticket.last_activity_at).isoformat(),
        "packet": ticket.packet,
    }

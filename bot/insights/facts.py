"""What became of each billing conversation, derived once from payments and tickets.

A page over a year of conversations cannot follow every conversation to its
payments and tickets on each view, so the outcome is kept on the conversation's
row (`billing_conversations`) and derived again only while it can still change:
rows never derived, and unsettled rows of the last FACTS_WINDOW_DAYS days whose
facts are older than FRESH_SECONDS. A settled balance's conversation is final: a
balance is paid once, and nothing before its payment changes afterwards.

Outcome of a billing conversation (one balance):
    contained      the conversation paid it, and no ticket was opened before
    after_handoff  the conversation paid it after a ticket was opened (an agent
                   fixed something, then the bot charged; or it was handed back)
    not_settled    no approved payment in the conversation

The declined charge that brought the customer is the balance's last decline
before the conversation's first message. The settling path is `new_card` when the
paying card was added after that message (the card form), `new_expiry` when it is
the card whose charge was declined (its expiry date was changed), else `other_card`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from bot.db import (
    Balance,
    BillingConversation,
    CardFormLink,
    HandoffTicket,
    PaymentAttempt,
    PaymentMethod,
    as_utc,
    utcnow,
)

FACTS_WINDOW_DAYS = 7
# Facts derived this recently are not derived again (the page is viewed in bursts).
FRESH_SECONDS = 30
BATCH = 2_000


@dataclass
class _Conversation:
    started_at: dt.datetime
    currency: str
    attempts: list[tuple[Any, ...]] = field(default_factory=list)
    came_with: tuple[int, str | None, dt.datetime] | None = None  # card, reason, when
    first_ticket: dt.datetime | None = None
    card_form: bool = False


def refresh_facts(session: Session, now: dt.datetime | None = None) -> int:
    """Derives the facts of rows never derived and of recent ones; returns how many."""
    now = now or utcnow()
    bc = BillingConversation
    recent = (now - dt.timedelta(days=FACTS_WINDOW_DAYS)).date()
    ids = list(
        session.scalars(
            select(bc.id).where(
                or_(
                    bc.facts_at.is_(None),
                    and_(
                        bc.day >= recent,
                        bc.outcome == "not_settled",
                        bc.facts_at < now - dt.timedelta(seconds=FRESH_SECONDS),
                    ),
                )
            )
        )
    )
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        facts = [
            {"row_id": row_id, **derive(conversation), "facts_at": now}
            for row_id, conversation in _load(session, batch).items()
        ]
        if facts:
            session.execute(
                update(BillingConversation.__table__)
                .where(BillingConversation.__table__.c.id == bindparam("row_id"))
                .values({k: bindparam(k) for k in facts[0] if k != "row_id"}),
                facts,
            )
    return len(ids)


def _load(session: Session, ids: Iterable[int]) -> dict[int, _Conversation]:
    bc = BillingConversation
    ids = list(ids)
    where = bc.id.in_(ids)
    found = {
        row.id: _Conversation(row.started_at, row.currency)
        for row in session.execute(
            select(bc.id, bc.started_at, Balance.currency)
            .join(Balance, Balance.id == bc.balance_id)
            .where(where)
        )
    }
    attempts = session.execute(
        select(
            bc.id,
            PaymentAttempt.status,
            PaymentAttempt.decline_reason,
            PaymentAttempt.created_at,
            PaymentAttempt.completed_at,
            PaymentAttempt.amount_minor,
            PaymentAttempt.payment_method_id,
            PaymentMethod.created_at,
        )
        .select_from(bc)
        .join(
            PaymentAttempt,
            and_(
                PaymentAttempt.conversation_id == bc.conversation_id,
                PaymentAttempt.balance_id == bc.balance_id,
            ),
        )
        .join(PaymentMethod, PaymentMethod.id == PaymentAttempt.payment_method_id)
        .where(where)
    )
    for row in attempts:
        found[row[0]].attempts.append(tuple(row[1:]))
    before = session.execute(
        select(
            bc.id,
            PaymentAttempt.payment_method_id,
            PaymentAttempt.decline_reason,
            PaymentAttempt.created_at,
        )
        .select_from(bc)
        .join(
            PaymentAttempt,
            and_(
                PaymentAttempt.balance_id == bc.balance_id,
                PaymentAttempt.status == "declined",
                PaymentAttempt.created_at < bc.started_at,
            ),
        )
        .where(where)
    )
    for row_id, method_id, reason, created_at in before:
        conversation = found[row_id]
        if conversation.came_with is None or as_utc(created_at) > as_utc(conversation.came_with[2]):
            conversation.came_with = (method_id, reason, created_at)
    tickets = session.execute(
        select(bc.id, func.min(HandoffTicket.created_at))
        .select_from(bc)
        .join(
            HandoffTicket,
            and_(
                HandoffTicket.conversation_id == bc.conversation_id,
                HandoffTicket.created_at >= bc.started_at,
            ),
        )
        .where(where)
        .group_by(bc.id)
    )
    for row_id, created_at in tickets:
        found[row_id].first_ticket = created_at
    forms = session.execute(
        select(bc.id)
        .select_from(bc)
        .join(
            CardFormLink,
            and_(
                CardFormLink.sender_id == bc.conversation_id,
                CardFormLink.created_at >= bc.started_at,
            ),
        )
        .where(where)
        .distinct()
    )
    for (row_id,) in forms:
        found[row_id].card_form = True
    return found


def derive(conversation: _Conversation) -> dict[str, Any]:
    """The facts of one conversation (the columns of its row)."""
    started = as_utc(conversation.started_at)
    attempts = sorted(conversation.attempts, key=lambda a: as_utc(a[2]))
    approved = next((a for a in attempts if a[0] == "approved"), None)
    came_with = conversation.came_with
    facts: dict[str, Any] = {
        "outcome": "not_settled",
        "currency": conversation.currency,
        "paid_minor": None,
        "seconds_to_pay": None,
        "path": None,
        "came_with_reason": (came_with[1] or "unknown") if came_with else None,
        "declined_in_conversation": ",".join(
            a[1] or "unknown" for a in attempts if a[0] == "declined"
        )[:255]
        or None,
        "option_chosen": bool(attempts) or conversation.card_form,
    }
    if approved is None:
        return facts
    _, _, created_at, completed_at, amount, method_id, method_created = approved
    paid_at = as_utc(completed_at or created_at)
    handed_off = (
        conversation.first_ticket is not None and as_utc(conversation.first_ticket) <= paid_at
    )
    if as_utc(method_created) >= started:
        path = "new_card"
    elif came_with is not None and method_id == came_with[0]:
        path = "new_expiry"
    else:
        path = "other_card"
    facts.update(
        outcome="after_handoff" if handed_off else "contained",
        paid_minor=amount,
        seconds_to_pay=round((paid_at - started).total_seconds()),
        path=path,
    )
    return facts

"""The insights of a period: billing outcomes, money recovered, handoffs, not understood.

Everything comes from the bot's own database, through indexed columns only:

- `billing_conversations` (bot.insights.ledger): a conversation that was shown a
  past-due balance, its language and its first customer message;
- `payment_attempts` with the conversation that made them; the declined charge
  that brought the customer is the balance's last decline before that message;
- `handoff_tickets` and `card_form_links` of the conversation;
- `nlu_inbox`: the customer messages the bot did not understand (nlu_fallback, a
  fallback answer, or an intent under the confidence threshold), which the event
  broker copies from the tracker store's event stream with their language.

A conversation belongs to the UTC day of its first customer message, with all
that followed (a payment after midnight counts on the day the conversation
began); tickets and not-understood messages belong to the UTC day they were made.

Outcome of a billing conversation (one balance):
    contained      the conversation paid it, and no ticket was opened before
    after_handoff  the conversation paid it after a ticket was opened (an agent
                   fixed something, then the bot charged; or it was handed back)
    not_settled    no approved payment in the conversation
"""

from __future__ import annotations

import datetime as dt
import statistics
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from babel.numbers import format_currency
from sqlalchemy import and_, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from bot.billing import to_decimal
from bot.db import (
    BillingConversation,
    CardFormLink,
    HandoffTicket,
    NluInboxItem,
    PaymentAttempt,
    PaymentMethod,
    as_utc,
    session_scope,
)
from bot.i18n import LANGUAGES

DEMO_PREFIX = "demo-history-"
OUTCOMES = ("contained", "after_handoff", "not_settled")
PATHS = ("new_expiry", "other_card", "new_card")
HANDOFF_REASONS = ("customer_asked", "not_understood", "payments_declined")
NOT_UNDERSTOOD_REASONS = ("fallback", "low_confidence")
TOP_TEXTS = 10


class BadPeriod(ValueError):
    """The period cannot be used: since after until, or an unknown language."""


@dataclass(frozen=True)
class Period:
    """Whole UTC days from `since` to `until`, both included.

    `demo` selects the generated history (`bot demo seed --history N`) instead of
    real activity: the two are never counted together.
    """

    since: dt.date
    until: dt.date
    language: str | None = None
    demo: bool = False

    def __post_init__(self) -> None:
        if self.since > self.until:
            raise BadPeriod(f"the period starts ({self.since}) after it ends ({self.until})")
        if self.language is not None and self.language not in LANGUAGES:
            raise BadPeriod(f"the language must be one of {', '.join(LANGUAGES)}")

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.since, dt.time(0), tzinfo=dt.timezone.utc)

    @property
    def end(self) -> dt.datetime:
        """The first moment after the period."""
        return self.start + dt.timedelta(days=(self.until - self.since).days + 1)

    @property
    def days(self) -> list[dt.date]:
        return [
            self.since + dt.timedelta(days=n) for n in range((self.until - self.since).days + 1)
        ]

    @classmethod
    def last_days(cls, days: int, today: dt.date | None = None, **kwargs: Any) -> Period:
        until = today or dt.datetime.now(dt.timezone.utc).date()
        return cls(until - dt.timedelta(days=days - 1), until, **kwargs)


@dataclass
class Tally:
    """Billing outcomes of a set of conversations (a language, a day, the whole period)."""

    conversations: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    recovered: Counter[str] = field(default_factory=Counter)  # currency -> minor units
    minutes_to_payment: list[float] = field(default_factory=list)
    paths: Counter[str] = field(default_factory=Counter)
    funnel: Counter[str] = field(default_factory=Counter)
    handoffs: int = 0
    not_understood: int = 0

    def view(self, locale: str, detailed: bool = True) -> dict[str, Any]:
        settled = self.outcomes["contained"] + self.outcomes["after_handoff"]
        view: dict[str, Any] = {
            "conversations": self.conversations,
            **{outcome: self.outcomes[outcome] for outcome in OUTCOMES},
            "settled": settled,
            "containment_rate": _rate(self.outcomes["contained"], self.conversations),
            "recovered": [
                {
                    "currency": currency,
                    "amount_minor": minor,
                    "amount": str(to_decimal(minor, currency)),
                    "formatted": format_currency(
                        to_decimal(minor, currency), currency, locale=locale
                    ),
                }
                for currency, minor in sorted(self.recovered.items())
            ],
            "median_minutes_to_payment": _median(self.minutes_to_payment),
            "handoffs": self.handoffs,
            "not_understood": self.not_understood,
        }
        if detailed:
            view["settling_paths"] = {path: self.paths[path] for path in PATHS}
            view["funnel"] = {
                step: self.funnel[step] for step in ("declined", "option_chosen", "paid")
            }
        return view


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _minutes(later: dt.datetime, earlier: dt.datetime) -> float:
    return (as_utc(later) - as_utc(earlier)).total_seconds() / 60


@dataclass
class _Conversation:
    language: str
    day: dt.date
    started_at: dt.datetime
    attempts: list[tuple[Any, ...]] = field(default_factory=list)
    came_with: tuple[int, str | None, dt.datetime] | None = None  # method, reason, when
    first_ticket: dt.datetime | None = None
    card_form: bool = False


def _demo_filter(column: Any, demo: bool) -> ColumnElement[bool]:
    return column.like(f"{DEMO_PREFIX}%") if demo else ~column.like(f"{DEMO_PREFIX}%")


def _conversation_filter(period: Period) -> list[ColumnElement[bool]]:
    conditions = [
        BillingConversation.demo.is_(period.demo),
        BillingConversation.day >= period.since,
        BillingConversation.day <= period.until,
    ]
    if period.language:
        conditions.append(BillingConversation.language == period.language)
    return conditions


def compute(engine: Engine, period: Period, locale: str = "en_US") -> dict[str, Any]:
    """The insights of the period, as plain data (the JSON of `bot insights --json`).

    Amounts are also formatted by Babel for `locale` (the reader's, not the customers').
    """
    with session_scope(engine) as session:
        conversations = _load_conversations(session, period)
        tickets = session.execute(
            select(
                HandoffTicket.language,
                HandoffTicket.reason,
                HandoffTicket.status,
                HandoffTicket.created_at,
                HandoffTicket.claimed_at,
                HandoffTicket.ended_at,
            ).where(*_timed_filter(HandoffTicket, period))
        ).all()
        not_understood = session.execute(
            select(
                NluInboxItem.language,
                NluInboxItem.reason,
                NluInboxItem.text,
                NluInboxItem.created_at,
            ).where(
                *_timed_filter(NluInboxItem, period),
                NluInboxItem.reason.in_(NOT_UNDERSTOOD_REASONS),
            )
        ).all()
    return _summarize(period, conversations, tickets, not_understood, locale)


def _timed_filter(model: Any, period: Period) -> list[ColumnElement[bool]]:
    conditions = [
        model.created_at >= period.start,
        model.created_at < period.end,
        _demo_filter(model.conversation_id, period.demo),
    ]
    if period.language:
        conditions.append(model.language == period.language)
    return conditions


def _load_conversations(session: Any, period: Period) -> dict[int, _Conversation]:
    bc = BillingConversation
    where = _conversation_filter(period)
    found = {
        row.id: _Conversation(row.language, row.day, row.started_at)
        for row in session.execute(select(bc.id, bc.language, bc.day, bc.started_at).where(*where))
    }
    in_conversation = session.execute(
        select(
            bc.id,
            PaymentAttempt.status,
            PaymentAttempt.decline_reason,
            PaymentAttempt.created_at,
            PaymentAttempt.completed_at,
            PaymentAttempt.amount_minor,
            PaymentAttempt.currency,
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
        .where(*where)
    )
    for row in in_conversation:
        found[row[0]].attempts.append(tuple(row[1:]))
    # The declined charge that brought the customer: the balance's last one before.
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
        .where(*where)
    )
    for conversation_id, method_id, reason, created_at in before:
        conversation = found[conversation_id]
        if conversation.came_with is None or as_utc(created_at) > as_utc(conversation.came_with[2]):
            conversation.came_with = (method_id, reason, created_at)
    first_tickets = session.execute(
        select(bc.id, func.min(HandoffTicket.created_at))
        .select_from(bc)
        .join(
            HandoffTicket,
            and_(
                HandoffTicket.conversation_id == bc.conversation_id,
                HandoffTicket.created_at >= bc.started_at,
            ),
        )
        .where(*where)
        .group_by(bc.id)
    )
    for conversation_id, created_at in first_tickets:
        found[conversation_id].first_ticket = created_at
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
        .where(*where)
        .distinct()
    )
    for (conversation_id,) in forms:
        found[conversation_id].card_form = True
    return found


def _summarize(
    period: Period,
    conversations: dict[int, _Conversation],
    tickets: list[Any],
    not_understood: list[Any],
    locale: str,
) -> dict[str, Any]:
    languages = [period.language] if period.language else list(LANGUAGES)
    total = Tally()
    by_language = {language: Tally() for language in languages}
    by_day: dict[tuple[dt.date, str], Tally] = defaultdict(Tally)
    declines: dict[str, Counter[str]] = defaultdict(Counter)

    for conversation in conversations.values():
        tallies = (
            total,
            by_language[conversation.language],
            by_day[(conversation.day, conversation.language)],
        )
        _count_conversation(conversation, tallies, declines)

    handoffs = _handoffs(
        tickets,
        languages,
        tallies_of=lambda day, language: (total, by_language[language], by_day[(day, language)]),
    )
    misunderstood = _not_understood(
        not_understood,
        languages,
        tallies_of=lambda day, language: (total, by_language[language], by_day[(day, language)]),
    )

    return {
        "period": {
            "since": period.since.isoformat(),
            "until": period.until.isoformat(),
            "language": period.language,
            "data": "demo" if period.demo else "real",
            "days": "UTC",
        },
        "languages": languages,
        "totals": total.view(locale),
        "by_language": {language: tally.view(locale) for language, tally in by_language.items()},
        "by_day": [
            {
                "day": day.isoformat(),
                "language": language,
                **by_day[(day, language)].view(locale, detailed=False),
            }
            for day in period.days
            for language in languages
        ],
        "declines": [
            {
                "reason": reason,
                "seen": counts["seen"],
                "then_paid": counts["then_paid"],
                "retry_success_rate": _rate(counts["then_paid"], counts["seen"]),
            }
            for reason, counts in sorted(
                declines.items(), key=lambda item: (-item[1]["seen"], item[0])
            )
        ],
        "handoffs": handoffs,
        "not_understood": misunderstood,
    }


def _count_conversation(
    conversation: _Conversation, tallies: tuple[Tally, ...], declines: dict[str, Counter[str]]
) -> None:
    attempts = sorted(conversation.attempts, key=lambda a: as_utc(a[2]))
    approved = next((a for a in attempts if a[0] == "approved"), None)
    if approved is None:
        outcome = "not_settled"
    else:
        paid_at = approved[3] or approved[2]
        handed_off = conversation.first_ticket is not None and as_utc(
            conversation.first_ticket
        ) <= as_utc(paid_at)
        outcome = "after_handoff" if handed_off else "contained"
    came_with = conversation.came_with
    # Seen declines: the one that brought the customer, then each in the conversation.
    seen = [(came_with[1], as_utc(came_with[2]))] if came_with else []
    seen += [(a[1], as_utc(a[2])) for a in attempts if a[0] == "declined"]
    for reason, when in seen:
        counts = declines[reason or "unknown"]
        counts["seen"] += 1
        if approved is not None and as_utc(approved[2]) > when:
            counts["then_paid"] += 1
    for tally in tallies:
        tally.conversations += 1
        tally.outcomes[outcome] += 1
        if came_with is not None:
            tally.funnel["declined"] += 1
            if attempts or conversation.card_form:
                tally.funnel["option_chosen"] += 1
            if approved is not None:
                tally.funnel["paid"] += 1
        if approved is None:
            continue
        _, _, created_at, completed_at, amount, currency, method_id, method_created = approved
        tally.recovered[currency] += amount
        tally.minutes_to_payment.append(
            _minutes(completed_at or created_at, conversation.started_at)
        )
        if as_utc(method_created) >= as_utc(conversation.started_at):
            tally.paths["new_card"] += 1
        elif came_with is not None and method_id == came_with[0]:
            tally.paths["new_expiry"] += 1
        else:
            tally.paths["other_card"] += 1


def _handoffs(tickets: list[Any], languages: list[str], tallies_of: Any) -> dict[str, Any]:
    by_reason: Counter[str] = Counter()
    by_language: dict[str, Counter[str]] = {language: Counter() for language in languages}
    waits: list[float] = []
    to_close: list[float] = []
    still_open = 0
    for language, reason, status, created_at, claimed_at, ended_at in tickets:
        if language not in by_language:
            continue
        by_reason[reason] += 1
        by_language[language][reason] += 1
        for tally in tallies_of(as_utc(created_at).date(), language):
            tally.handoffs += 1
        if claimed_at is not None:
            waits.append(_minutes(claimed_at, created_at))
        if ended_at is not None:
            to_close.append(_minutes(ended_at, created_at))
        if status in ("waiting", "active"):
            still_open += 1
    reasons = [*HANDOFF_REASONS, *sorted(set(by_reason) - set(HANDOFF_REASONS))]
    return {
        "total": sum(by_reason.values()),
        "by_reason": {reason: by_reason[reason] for reason in reasons},
        "by_language": {
            language: {reason: counts[reason] for reason in reasons}
            for language, counts in by_language.items()
        },
        "median_minutes_to_claim": _median(waits),
        "median_minutes_to_close": _median(to_close),
        "claimed": len(waits),
        "still_open": still_open,
    }


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _not_understood(rows: list[Any], languages: list[str], tallies_of: Any) -> dict[str, Any]:
    by_language: dict[str, Counter[str]] = {language: Counter() for language in languages}
    texts: Counter[tuple[str, str]] = Counter()
    shown: dict[tuple[str, str], str] = {}
    # Oldest first: a text is shown as it was first written.
    for language, reason, text, created_at in sorted(rows, key=lambda r: as_utc(r[3])):
        if language not in by_language:
            continue
        by_language[language][reason] += 1
        for tally in tallies_of(as_utc(created_at).date(), language):
            tally.not_understood += 1
        key = (language, _fold(text))
        texts[key] += 1
        shown.setdefault(key, text)
    top = sorted(texts.items(), key=lambda item: (-item[1], item[0]))[:TOP_TEXTS]
    return {
        "total": sum(sum(c.values()) for c in by_language.values()),
        "by_language": {
            language: {
                "total": sum(counts.values()),
                **{reason: counts[reason] for reason in NOT_UNDERSTOOD_REASONS},
            }
            for language, counts in by_language.items()
        },
        "top_texts": [
            {
                "language": language,
                "text": shown[(language, folded)],
                "count": count,
                "inbox_url": f"/console/inbox?lang={language}",
            }
            for (language, folded), count in top
        ],
    }

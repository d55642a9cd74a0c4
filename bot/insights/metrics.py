"""The insights of a period: billing outcomes, money recovered, handoffs, not understood.

Everything comes from the bot's own database, as aggregates over indexed columns
(GROUP BY in the database, the same queries on SQLite and PostgreSQL):

- `billing_conversations` (bot.insights.ledger): a conversation that was shown a
  past-due balance, its language, its first customer message, and what became of
  it (bot.insights.facts: outcome, amount paid, time to pay, settling path);
- `payment_attempts` declined in those conversations;
- `handoff_tickets`: reason, waiting time until claimed, time to close;
- `nlu_inbox`: the customer messages the bot did not understand (nlu_fallback, a
  fallback answer, or an intent under the confidence threshold), which the event
  broker copies from the tracker store's event stream with their language.

A conversation belongs to the UTC day of its first customer message, with all
that followed (a payment after midnight counts on the day the conversation
began); tickets and not-understood messages belong to the UTC day they were made.
Medians are exact: computed from per-second counts, not from samples.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.numbers import format_currency
from sqlalchemy import Date, Integer, cast, extract, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.billing.accounts import to_decimal
from bot.db import BillingConversation, HandoffTicket, NluInboxItem, session_scope
from bot.i18n import LANGUAGES
from bot.insights.facts import refresh_facts

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
    seconds_to_pay: Counter[int] = field(default_factory=Counter)  # seconds -> conversations
    paths: Counter[str] = field(default_factory=Counter)
    funnel: Counter[str] = field(default_factory=Counter)
    handoffs: int = 0
    not_understood: int = 0

    def view(self, locale: Locale, detailed: bool = True) -> dict[str, Any]:
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
                }
                for currency, minor in sorted(self.recovered.items())
                if minor
            ],
            "handoffs": self.handoffs,
            "not_understood": self.not_understood,
        }
        if detailed:
            # Formatted for the reader here only: a year has a thousand days and languages.
            for money in view["recovered"]:
                money["formatted"] = format_currency(
                    Decimal(money["amount"]), money["currency"], locale=locale
                )
            view["median_minutes_to_payment"] = _median_minutes(self.seconds_to_pay)
            view["settling_paths"] = {path: self.paths[path] for path in PATHS}
            view["funnel"] = {
                step: self.funnel[step] for step in ("declined", "option_chosen", "paid")
            }
        return view


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _median_minutes(histogram: Counter[int]) -> float | None:
    """The median of values counted per second, in minutes (one decimal)."""
    total = sum(histogram.values())
    if not total:
        return None
    wanted = [(total - 1) // 2, total // 2]  # the middle one, or the middle two
    found: list[int] = []
    seen = 0
    for seconds in sorted(histogram):
        seen += histogram[seconds]
        while wanted and wanted[0] < seen:
            found.append(seconds)
            wanted.pop(0)
    return round(sum(found) / len(found) / 60, 1)


def _day(engine: Engine, column: Any) -> Any:
    """The UTC calendar day of a stored time, in SQL."""
    if engine.dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def _seconds(engine: Engine, later: Any, earlier: Any) -> Any:
    """Whole seconds between two stored times, in SQL."""
    if engine.dialect.name == "postgresql":
        return cast(func.round(extract("epoch", later - earlier)), Integer)
    return cast(func.round((func.julianday(later) - func.julianday(earlier)) * 86400), Integer)


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _demo_filter(column: Any, demo: bool) -> ColumnElement[bool]:
    return column.like(f"{DEMO_PREFIX}%") if demo else ~column.like(f"{DEMO_PREFIX}%")


def _conversation_filter(period: Period) -> list[ColumnElement[bool]]:
    conditions = [
        BillingConversation.demo == period.demo,
        BillingConversation.day >= period.since,
        BillingConversation.day <= period.until,
    ]
    if period.language:
        conditions.append(BillingConversation.language == period.language)
    return conditions


def _timed_filter(model: Any, period: Period) -> list[ColumnElement[bool]]:
    conditions = [
        model.created_at >= period.start,
        model.created_at < period.end,
        _demo_filter(model.conversation_id, period.demo),
    ]
    if period.language:
        conditions.append(model.language == period.language)
    return conditions


class _Tallies:
    """The whole period's, each language's and each day and language's tally."""

    def __init__(self, languages: list[str]) -> None:
        self.total = Tally()
        self.by_language = {language: Tally() for language in languages}
        self.by_day: dict[tuple[dt.date, str], Tally] = defaultdict(Tally)

    def of(self, language: str, day: dt.date | None = None) -> list[Tally]:
        if language not in self.by_language:
            return []
        tallies = [self.total, self.by_language[language]]
        if day is not None:
            tallies.append(self.by_day[(day, language)])
        return tallies


def compute(engine: Engine, period: Period, locale: str = "en_US") -> dict[str, Any]:
    """The insights of the period, as plain data (the JSON of `bot insights --json`).

    Amounts are also formatted by Babel for `locale` (the reader's, not the customers').
    """
    languages = [period.language] if period.language else list(LANGUAGES)
    tallies = _Tallies(languages)
    reader = Locale.parse(locale)
    with session_scope(engine) as session:
        refresh_facts(session)
        declines = _conversations(session, period, tallies)
        handoffs = _handoffs(session, engine, period, tallies)
        not_understood = _not_understood(session, engine, period, tallies)
    return {
        "period": {
            "since": period.since.isoformat(),
            "until": period.until.isoformat(),
            "language": period.language,
            "data": "demo" if period.demo else "real",
            "days": "UTC",
        },
        "languages": languages,
        "totals": tallies.total.view(reader),
        "by_language": {
            language: tally.view(reader) for language, tally in tallies.by_language.items()
        },
        "by_day": [
            {
                "day": day.isoformat(),
                "language": language,
                **tallies.by_day[(day, language)].view(reader, detailed=False),
            }
            for day in period.days
            for language in languages
        ],
        "declines": declines,
        "handoffs": handoffs,
        "not_understood": not_understood,
    }


def _conversations(session: Session, period: Period, tallies: _Tallies) -> list[dict[str, Any]]:
    """Outcomes, money, paths, the funnel and time to pay; returns the declines seen.

    Three grouped reads of `billing_conversations`, each from its covering index.
    """
    bc = BillingConversation
    where = _conversation_filter(period)
    per_day = session.execute(
        select(bc.day, bc.language, bc.outcome, bc.currency, func.count(), func.sum(bc.paid_minor))
        .where(*where)
        .group_by(bc.day, bc.language, bc.outcome, bc.currency)
    )
    for day, language, outcome, currency, count, paid_minor in per_day:
        for tally in tallies.of(language, _as_date(day)):
            tally.conversations += count
            tally.outcomes[outcome] += count
            tally.recovered[currency] += int(paid_minor or 0)

    seen: dict[str, Counter[str]] = defaultdict(Counter)
    detail = (
        bc.language,
        bc.outcome,
        bc.path,
        bc.came_with_reason,
        bc.declined_in_conversation,
        bc.option_chosen,
    )
    for language, outcome, path, came_with, declined, chosen, count in session.execute(
        select(*detail, func.count()).where(*where).group_by(*detail)
    ):
        paid = outcome != "not_settled"
        for tally in tallies.of(language):
            if path:
                tally.paths[path] += count
            if came_with:
                tally.funnel["declined"] += count
                tally.funnel["option_chosen"] += count if chosen else 0
                tally.funnel["paid"] += count if paid else 0
        # Every decline, the one that brought the customer and each one in the
        # conversation, came before the payment, if there was one.
        for reason in ([came_with] if came_with else []) + (
            declined.split(",") if declined else []
        ):
            seen[reason]["seen"] += count
            seen[reason]["then_paid"] += count if paid else 0

    times = session.execute(
        select(bc.language, bc.seconds_to_pay, func.count())
        .where(*where, bc.seconds_to_pay.is_not(None))
        .group_by(bc.language, bc.seconds_to_pay)
    )
    for language, seconds, count in times:
        for tally in tallies.of(language):
            tally.seconds_to_pay[seconds] += count
    return [
        {
            "reason": reason,
            "seen": counts["seen"],
            "then_paid": counts["then_paid"],
            "retry_success_rate": _rate(counts["then_paid"], counts["seen"]),
        }
        for reason, counts in sorted(seen.items(), key=lambda item: (-item[1]["seen"], item[0]))
    ]


def _handoffs(
    session: Session, engine: Engine, period: Period, tallies: _Tallies
) -> dict[str, Any]:
    ht = HandoffTicket
    where = _timed_filter(ht, period)
    by_reason: Counter[str] = Counter()
    by_language: dict[str, Counter[str]] = {language: Counter() for language in tallies.by_language}
    day = _day(engine, ht.created_at)
    counted = session.execute(
        select(day, ht.language, ht.reason, func.count())
        .where(*where)
        .group_by(day, ht.language, ht.reason)
    )
    for created, language, reason, count in counted:
        if language not in by_language:
            continue
        by_reason[reason] += count
        by_language[language][reason] += count
        for tally in tallies.of(language, _as_date(created)):
            tally.handoffs += count
    medians = {}
    for name, until in (("claim", ht.claimed_at), ("close", ht.ended_at)):
        waited = _seconds(engine, until, ht.created_at)
        medians[name] = Counter(
            {
                seconds: count
                for seconds, count in session.execute(
                    select(waited, func.count()).where(*where, until.is_not(None)).group_by(waited)
                )
            }
        )
    still_open = session.scalar(
        select(func.count()).select_from(ht).where(*where, ht.status.in_(("waiting", "active")))
    )
    reasons = [*HANDOFF_REASONS, *sorted(set(by_reason) - set(HANDOFF_REASONS))]
    return {
        "total": sum(by_reason.values()),
        "by_reason": {reason: by_reason[reason] for reason in reasons},
        "by_language": {
            language: {reason: counts[reason] for reason in reasons}
            for language, counts in by_language.items()
        },
        "median_minutes_to_claim": _median_minutes(medians["claim"]),
        "median_minutes_to_close": _median_minutes(medians["close"]),
        "claimed": sum(medians["claim"].values()),
        "still_open": int(still_open or 0),
    }


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _not_understood(
    session: Session, engine: Engine, period: Period, tallies: _Tallies
) -> dict[str, Any]:
    item = NluInboxItem
    where = [*_timed_filter(item, period), item.reason.in_(NOT_UNDERSTOOD_REASONS)]
    by_language: dict[str, Counter[str]] = {language: Counter() for language in tallies.by_language}
    day = _day(engine, item.created_at)
    counted = session.execute(
        select(day, item.language, item.reason, func.count())
        .where(*where)
        .group_by(day, item.language, item.reason)
    )
    for created, language, reason, count in counted:
        if language not in by_language:
            continue
        by_language[language][reason] += count
        for tally in tallies.of(language, _as_date(created)):
            tally.not_understood += count
    # The same words typed in other case or spacing count as one text, shown as
    # most often typed.
    texts: Counter[tuple[str, str]] = Counter()
    variants: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    counted_texts = session.execute(
        select(item.language, item.text, func.count())
        .where(*where, item.language.is_not(None))
        .group_by(item.language, item.text)
        .order_by(func.count().desc())
        .limit(TOP_TEXTS * 20)
    )
    for language, text, count in counted_texts:
        key = (language, _fold(text))
        texts[key] += count
        variants[key][text] += count
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
                "text": min(variants[key].items(), key=lambda v: (-v[1], v[0]))[0],
                "count": count,
                "inbox_url": f"/console/inbox?lang={language}",
            }
            for key, count in top
            for language in [key[0]]
        ],
    }

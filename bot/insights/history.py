"""`bot demo seed --history N`: a year of generated past activity, marked as demo data.

Each generated conversation is a customer with a past-due balance whose renewal
was declined, who talked to the bot in English, Latvian or Chinese and then paid
(by a new expiry date, another card or a new card), paid after a person helped,
or left. Everything generated is recognisable and removable:

- customers, conversations, card tokens and payment keys start with DEMO_PREFIX;
- `billing_conversations.demo` is true, and the insights count it only when asked
  for the demo history (`bot insights --demo`, the page's "Demo history" choice);
- its tickets are all ended and its not-understood messages are filed as
  dismissed, so the agents' queue and the trainers' NLU inbox stay real.

Rows are written with bulk inserts in chunks (100,000 conversations in well under
a minute: docs/benchmarks.md); seeding again replaces the previous history.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import Connection, Engine

from bot.db import (
    Balance,
    BillingConversation,
    CardFormLink,
    Customer,
    HandoffTicket,
    NluInboxItem,
    PaymentAttempt,
    PaymentMethod,
    Subscription,
    customer_deletes,
    session_scope,
)
from bot.insights.facts import refresh_facts
from bot.insights.metrics import DEMO_PREFIX

CHUNK = 5_000
LANGUAGE_WEIGHTS = {"en": 0.45, "lv": 0.3, "zh": 0.25}
# Where the customers of each language mostly are: UTC offset of their afternoon.
UTC_OFFSET = {"en": -5, "lv": 2, "zh": 8}
PRICES = {
    "EUR": (600, 1250, 2200, 2550),
    "USD": (600, 1250, 2200, 5700),
    "GBP": (490, 1030, 1810),
    "CNY": (21500, 48000, 108000),
}
PRODUCTS = (
    "Microsoft 365 Business Basic",
    "Microsoft 365 Business Standard",
    "Microsoft 365 E3",
    "Microsoft 365 Apps for business",
)
NAMES = {
    "en": ("Alex Morgan", "Jamie Lee", "Sam Carter", "Taylor Reed", "Jordan Price"),
    "lv": ("Līga Kalniņa", "Jānis Ozols", "Anna Bērziņa", "Mārtiņš Liepa", "Ilze Zariņa"),
    "zh": ("王伟", "李娜", "张敏", "刘洋", "陈静"),
}
NOT_UNDERSTOOD = {
    "en": (
        "hmm the card thing",
        "is it the thing with the stuff",
        "what about my other account",
        "why so expensive",
        "can I get an invoice for that",
        "the app keeps logging me out",
    ),
    "lv": (
        "kas ar to?",
        "konts",
        "vai var rēķinu uz uzņēmumu",
        "kāpēc tik dārgi",
        "man vajag čeku",
        "parole neder",
    ),
    "zh": ("账户", "那个怎么弄", "能开发票吗", "为什么这么贵", "密码不对", "怎么退订"),
}
DECLINES = (("expired_card", 0.45), ("insufficient_funds", 0.3), ("card_declined", 0.25))
HANDOFF_REASONS = (("customer_asked", 0.55), ("not_understood", 0.25), ("payments_declined", 0.2))


def _pick(rng: random.Random, weighted: Any) -> Any:
    items = list(weighted.items()) if isinstance(weighted, dict) else list(weighted)
    return rng.choices([k for k, _ in items], [w for _, w in items])[0]


def _minutes(rng: random.Random, median: float, spread: float = 0.7, cap: float = 600) -> float:
    """A waiting or working time: log-normal around `median` minutes, at least 20 s."""
    return min(cap, max(1 / 3, rng.lognormvariate(math.log(median), spread)))


@dataclass
class _Rows:
    """The rows of one chunk, per table, with the next free id of each."""

    ids: dict[str, int]
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, model: Any, **values: Any) -> int:
        name = model.__tablename__
        if "id" not in values and name != "customers":
            values["id"] = self.ids[name]
            self.ids[name] += 1
        self.tables.setdefault(name, []).append(values)
        return values.get("id", 0)


class _Conversation:
    """Generates one past conversation and everything it left in the database."""

    def __init__(
        self, rows: _Rows, rng: random.Random, number: int, day: dt.datetime, hour: float
    ) -> None:
        self.rows, self.rng, self.number = rows, rng, number
        self.language = _pick(rng, LANGUAGE_WEIGHTS)
        self.conversation = f"{DEMO_PREFIX}{number}"
        self.customer = f"{DEMO_PREFIX}cust-{number}"
        self.started = day + dt.timedelta(hours=hour - UTC_OFFSET[self.language])
        self.tries = 0
        if self.language == "lv":
            self.currency = "EUR"
        elif self.language == "zh":
            self.currency = "CNY"
        else:
            self.currency = _pick(rng, {"USD": 0.7, "GBP": 0.2, "EUR": 0.1})
        self.amount = rng.choice(PRICES[self.currency])

    def card(self, created: dt.datetime, owner: bool = True, expired: bool = False) -> int:
        year = self.started.year + (-1 if expired else self.rng.randint(1, 4))
        return self.rows.add(
            PaymentMethod,
            customer_id=self.customer,
            brand=self.rng.choice(("Visa", "Mastercard", "American Express", "UnionPay")),
            last4=f"{self.rng.randint(0, 9999):04d}",
            exp_month=self.rng.randint(1, 12),
            exp_year=year,
            is_owner=owner,
            gateway_token=f"tok_sim_approve_{self.conversation}-{self.rows.ids['payment_methods']}",
            created_at=created,
        )

    def attempt(
        self,
        balance: int,
        card: int,
        at: dt.datetime,
        reason: str | None,
        in_conversation: bool = True,
    ) -> dt.datetime:
        self.tries += 1
        done = at + dt.timedelta(seconds=self.rng.uniform(1, 4))
        self.rows.add(
            PaymentAttempt,
            balance_id=balance,
            payment_method_id=card,
            idempotency_key=f"{self.conversation}-try-{self.tries}",
            amount_minor=self.amount,
            currency=self.currency,
            status="declined" if reason else "approved",
            decline_reason=reason,
            created_at=at,
            completed_at=done,
            conversation_id=self.conversation if in_conversation else None,
        )
        return done

    def generate(self) -> None:
        rng, rows, start = self.rng, self.rows, self.started
        rows.add(
            Customer,
            id=self.customer,
            display_name=rng.choice(NAMES[self.language]),
            language=self.language,
        )
        outcome = _pick(rng, {"contained": 0.58, "handoff": 0.22, "left": 0.2})
        if self.language == "zh":  # fewer Chinese examples: more handoffs
            outcome = _pick(rng, {"contained": 0.5, "handoff": 0.3, "left": 0.2})
        subscription = rows.add(
            Subscription,
            customer_id=self.customer,
            product_name=rng.choice(PRODUCTS),
            status="active" if outcome != "left" else "past_due",
        )
        reason = _pick(rng, DECLINES)
        owner = rng.random() < 0.8
        failing = self.card(start - dt.timedelta(days=900), owner, expired=reason == "expired_card")
        due = start - dt.timedelta(days=rng.randint(1, 12), hours=rng.randint(0, 20))
        balance = rows.add(
            Balance,
            reference=f"dh{self.number:030d}",
            subscription_id=subscription,
            amount_minor=self.amount,
            currency=self.currency,
            due_date=due.date(),
            status="open" if outcome == "left" else "settled",
        )
        self.attempt(balance, failing, due.replace(hour=6, minute=0), reason, False)
        rows.add(
            BillingConversation,
            conversation_id=self.conversation,
            customer_id=self.customer,
            balance_id=balance,
            language=self.language,
            started_at=start,
            day=start.date(),
            demo=True,
            created_at=start,
        )
        now = start + dt.timedelta(minutes=_minutes(rng, 1.5))
        if rng.random() < 0.35:
            now = self.not_understood(now)
        if outcome == "handoff":
            now = self.handoff(now, balance, failing, reason)
            if rng.random() < 0.35:  # the customer left while or after talking to a person
                rows.tables["balances"][-1]["status"] = "open"
                rows.tables["subscriptions"][-1]["status"] = "past_due"
                return
        elif outcome == "left":
            if rng.random() < 0.3:
                self.card_form(now, used=False)
            return
        self.pay(now, balance, failing, reason, owner)

    def pay(self, now: dt.datetime, balance: int, failing: int, reason: str, owner: bool) -> None:
        rng = self.rng
        if reason == "expired_card" and owner and rng.random() < 0.6:
            card = failing  # the expiry date was changed
        elif rng.random() < 0.6:
            card = self.card(self.started - dt.timedelta(days=400))
        else:
            self.card_form(now, used=True)
            now += dt.timedelta(minutes=_minutes(rng, 2.5))
            card = self.card(now)
        if rng.random() < 0.08:  # declined once more, then paid with the same card
            now = self.attempt(balance, card, now, "card_declined")
            now += dt.timedelta(minutes=_minutes(rng, 1.5))
        self.attempt(balance, card, now + dt.timedelta(minutes=_minutes(rng, 2)), None)

    def handoff(self, now: dt.datetime, balance: int, failing: int, reason: str) -> dt.datetime:
        rng = self.rng
        why = _pick(rng, HANDOFF_REASONS)
        if why == "payments_declined":
            for _ in range(2):
                now = self.attempt(balance, failing, now, reason)
                now += dt.timedelta(minutes=_minutes(rng, 1))
        elif why == "not_understood":
            now = self.not_understood(self.not_understood(now))
        claimed = now + dt.timedelta(minutes=_minutes(rng, 4, 0.9, cap=180))
        ended = claimed + dt.timedelta(minutes=_minutes(rng, 9))
        self.rows.add(
            HandoffTicket,
            conversation_id=self.conversation,
            customer_id=self.customer,
            language=self.language,
            reason=why,
            status=rng.choice(("handed_back", "handed_back", "closed")),
            agent_id=None,
            packet={"demo": True},
            created_at=now,
            claimed_at=claimed,
            ended_at=ended,
            last_activity_at=ended,
        )
        return ended

    def not_understood(self, now: dt.datetime) -> dt.datetime:
        self.rows.add(
            NluInboxItem,
            conversation_id=self.conversation,
            message_id=f"m{self.rows.ids['nlu_inbox']}",
            text=self.rng.choice(NOT_UNDERSTOOD[self.language]),
            language=self.language,
            predicted_intent="nlu_fallback",
            confidence=round(self.rng.uniform(0.1, 0.55), 3),
            reason=self.rng.choice(("fallback", "low_confidence")),
            status="dismissed",
            created_at=now,
            handled_at=now,
        )
        return now + dt.timedelta(minutes=_minutes(self.rng, 1))

    def card_form(self, now: dt.datetime, used: bool) -> None:
        self.rows.add(
            CardFormLink,
            token_hash=f"{self.conversation}-form-{self.rows.ids['card_form_links']}",
            customer_id=self.customer,
            sender_id=self.conversation,
            language=self.language,
            created_at=now,
            expires_at=now + dt.timedelta(minutes=15),
            used_at=now + dt.timedelta(minutes=2) if used else None,
        )


# Parents before children: the order rows are inserted (and deleted in reverse).
TABLES = (
    Customer,
    Subscription,
    PaymentMethod,
    Balance,
    PaymentAttempt,
    BillingConversation,
    CardFormLink,
    HandoffTicket,
    NluInboxItem,
)


def remove_history(connection: Connection) -> int:
    """Deletes every generated row; returns how many conversations were removed."""
    like = f"{DEMO_PREFIX}%"
    removed = connection.execute(
        delete(BillingConversation).where(BillingConversation.demo.is_(True))
    ).rowcount
    connection.execute(delete(HandoffTicket).where(HandoffTicket.conversation_id.like(like)))
    connection.execute(delete(NluInboxItem).where(NluInboxItem.conversation_id.like(like)))
    for statement in customer_deletes(select(Customer.id).where(Customer.id.like(like))):
        connection.execute(statement)
    return int(removed or 0)


def _start_days(rng: random.Random, count: int, days: int) -> list[tuple[int, float]]:
    """The day (0 = the first) and local hour each conversation began at.

    Traffic grows through the year, so later days are likelier; customers write
    mostly in their afternoon.
    """
    return [(int(days * math.sqrt(rng.random())), rng.gauss(14, 3.5)) for _ in range(count)]


def seed_history(
    engine: Engine,
    conversations: int,
    days: int = 365,
    seed: int = 14,
    today: dt.date | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Replaces the demo history with `conversations` generated ones; returns the count."""
    rng = random.Random(seed)
    today = today or dt.datetime.now(dt.timezone.utc).date()
    with engine.begin() as connection:
        remove_history(connection)
        ids = {
            model.__tablename__: int(connection.scalar(select(func.max(model.id))) or 0) + 1
            for model in TABLES
            if model is not Customer
        }
    first = dt.datetime.combine(today - dt.timedelta(days=days), dt.time(0), dt.timezone.utc)
    starts = _start_days(rng, conversations, days)
    for offset in range(0, conversations, CHUNK):
        rows = _Rows(ids)
        for number in range(offset, min(offset + CHUNK, conversations)):
            day, hour = starts[number]
            _Conversation(rows, rng, number, first + dt.timedelta(days=day), hour).generate()
        with engine.begin() as connection:
            for model in TABLES:
                batch = rows.tables.get(model.__tablename__)
                if batch:
                    connection.execute(insert(model), batch)
        if progress:
            progress(min(offset + CHUNK, conversations))
    _advance_sequences(engine)
    with session_scope(engine) as session:
        refresh_facts(session)
    _tidy(engine)
    return conversations


def _tidy(engine: Engine) -> None:
    """Fresh statistics for the planner after a bulk load (PostgreSQL: and no dead rows)."""
    tables = [model.__tablename__ for model in TABLES]
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in tables:
                connection.execute(text(f"VACUUM ANALYZE {table}"))
    elif engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            for table in tables:
                connection.execute(text(f"ANALYZE {table}"))


def _advance_sequences(engine: Engine) -> None:
    """PostgreSQL hands out ids from sequences, which explicit ids do not move."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as connection:
        for model in TABLES:
            if model is Customer:
                continue
            table = model.__tablename__
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table}), 1))"
                )
            )

"""Database models, engines and sessions.

Money is kept in integer minor units (cents) with its ISO currency; card data is
only brand, last four digits, expiry and a gateway token, never a full number.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    create_engine,
    delete,
    event,
    select,
    text,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, declarative_base, relationship
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql import Delete

Base: Any = declarative_base()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """A stored time as an aware UTC time: SQLite hands back naive ones."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


class Customer(Base):
    __tablename__ = "customers"

    id = Column(String(64), primary_key=True)
    display_name = Column(String(200), nullable=False)
    language = Column(String(2), nullable=False)

    subscriptions = relationship(
        "Subscription", back_populates="customer", cascade="all, delete-orphan"
    )
    payment_methods = relationship(
        "PaymentMethod", back_populates="customer", cascade="all, delete-orphan"
    )


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (CheckConstraint("status IN ('active', 'past_due')", name="ck_sub_status"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    customer_id = Column(String(64), ForeignKey("customers.id"), nullable=False, index=True)
    product_name = Column(String(200), nullable=False)
    status = Column(String(16), nullable=False, default="active")

    customer = relationship("Customer", back_populates="subscriptions")
    balances = relationship("Balance", back_populates="subscription", cascade="all, delete-orphan")


class PaymentMethod(Base):
    __tablename__ = "payment_methods"
    __table_args__ = (
        CheckConstraint("exp_month BETWEEN 1 AND 12", name="ck_pm_exp_month"),
        CheckConstraint("length(last4) = 4", name="ck_pm_last4"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    customer_id = Column(String(64), ForeignKey("customers.id"), nullable=False, index=True)
    brand = Column(String(32), nullable=False)
    last4 = Column(String(4), nullable=False)
    exp_month = Column(Integer, nullable=False)
    exp_year = Column(Integer, nullable=False)
    # Whether this customer is the card's owner: owners may change its expiry date.
    is_owner = Column(Boolean, nullable=False)
    gateway_token = Column(String(64), nullable=False, unique=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    customer = relationship("Customer", back_populates="payment_methods")


class Balance(Base):
    __tablename__ = "balances"
    __table_args__ = (
        CheckConstraint("amount_minor >= 0", name="ck_balance_amount"),
        CheckConstraint("status IN ('open', 'settled')", name="ck_balance_status"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    # Names the balance in idempotency keys: unlike the id, never reused, even
    # when a database hands out a deleted row's id again (SQLite does).
    reference = Column(String(32), nullable=False, unique=True, default=lambda: uuid.uuid4().hex)
    subscription_id = Column(Integer, ForeignKey("subscriptions.id"), nullable=False, index=True)
    amount_minor = Column(BigInteger, nullable=False)
    currency = Column(String(3), nullable=False)
    due_date = Column(Date, nullable=False)
    status = Column(String(16), nullable=False, default="open")

    subscription = relationship("Subscription", back_populates="balances")
    attempts = relationship(
        "PaymentAttempt",
        back_populates="balance",
        cascade="all, delete-orphan",
        order_by="PaymentAttempt.created_at",
    )


class PaymentAttempt(Base):
    __tablename__ = "payment_attempts"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'declined')", name="ck_attempt_status"),
        CheckConstraint("amount_minor >= 0", name="ck_attempt_amount"),
        # However many servers try at once, a balance has at most one charge in
        # flight or approved: a second charge cannot even start, so it cannot
        # reach the gateway.
        Index(
            "uq_attempt_one_live_per_balance",
            "balance_id",
            unique=True,
            sqlite_where=text("status IN ('pending', 'approved')"),
            postgresql_where=text("status IN ('pending', 'approved')"),
        ),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    balance_id = Column(Integer, ForeignKey("balances.id"), nullable=False, index=True)
    payment_method_id = Column(Integer, ForeignKey("payment_methods.id"), nullable=False)
    # Unique in the database, so that a retried charge can never be recorded twice.
    idempotency_key = Column(String(128), nullable=False, unique=True)
    amount_minor = Column(BigInteger, nullable=False)
    currency = Column(String(3), nullable=False)
    status = Column(String(16), nullable=False)
    decline_reason = Column(String(64))
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    completed_at = Column(DateTime(timezone=True))
    # The conversation that made this attempt (None: a renewal, or made elsewhere).
    conversation_id = Column(String(255), index=True)

    balance = relationship("Balance", back_populates="attempts")
    payment_method = relationship("PaymentMethod")


class CardFormLink(Base):
    """A one-time, expiring link to the card form, bound to one conversation."""

    __tablename__ = "card_form_links"

    id = Column(Integer, primary_key=True, autoincrement=True)
    # Only a hash of the link's secret is kept: a database leak opens no form.
    token_hash = Column(String(64), nullable=False, unique=True)
    customer_id = Column(String(64), ForeignKey("customers.id"), nullable=False, index=True)
    sender_id = Column(String(255), nullable=False, index=True)
    language = Column(String(2), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    expires_at = Column(DateTime(timezone=True), nullable=False)
    used_at = Column(DateTime(timezone=True))
    failed_posts = Column(Integer, nullable=False, default=0)


class Agent(Base):
    """A support agent (or trainer) who signs in to the console."""

    __tablename__ = "agents"
    __table_args__ = (
        CheckConstraint("role IN ('agent', 'trainer', 'lead')", name="ck_agent_role"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(100), nullable=False)
    # An Argon2id hash with its own salt and parameters (bot.support.agents).
    password_hash = Column(String(200), nullable=False)
    role = Column(String(16), nullable=False, default="agent")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class AgentSession(Base):
    """A signed-in console session; the cookie holds the secret, the row its hash."""

    __tablename__ = "agent_sessions"

    id = Column(Integer, primary_key=True, autoincrement=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    agent_id = Column(Integer, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    expires_at = Column(DateTime(timezone=True), nullable=False)

    agent = relationship("Agent")


class HandoffTicket(Base):
    """A conversation the bot handed to a person: waiting, active, then closed.

    `packet` is what the bot knew when it escalated (bot.support.handoff.build_packet):
    JSON, card data already reduced to brand, last four digits and expiry.
    """

    __tablename__ = "handoff_tickets"
    __table_args__ = (
        CheckConstraint(
            "status IN ('waiting', 'active', 'handed_back', 'closed')", name="ck_ticket_status"
        ),
        # One open ticket per conversation, however many escalations race.
        Index(
            "uq_ticket_one_open_per_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text("status IN ('waiting', 'active')"),
            postgresql_where=text("status IN ('waiting', 'active')"),
        ),
        # The insights read a period's tickets from this index alone.
        Index(
            "ix_ticket_insights",
            "created_at",
            "language",
            "reason",
            "status",
            "claimed_at",
            "ended_at",
            "conversation_id",
        ),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    customer_id = Column(String(64), ForeignKey("customers.id"), index=True)
    language = Column(String(2), nullable=False)
    reason = Column(String(32), nullable=False)
    status = Column(String(16), nullable=False, default="waiting")
    agent_id = Column(Integer, ForeignKey("agents.id"))
    packet = Column(JSON, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    claimed_at = Column(DateTime(timezone=True))
    ended_at = Column(DateTime(timezone=True))
    last_activity_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    agent = relationship("Agent")
    customer = relationship("Customer")


class NluInboxItem(Base):
    """A customer message the bot understood poorly, kept for trainers to review."""

    __tablename__ = "nlu_inbox"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'labelled', 'dismissed')", name="ck_inbox_status"),
        Index("uq_inbox_message", "conversation_id", "message_id", unique=True),
        # The insights count a period's messages not understood from this index alone.
        Index("ix_inbox_insights", "created_at", "reason", "language", "conversation_id"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id = Column(String(255), nullable=False)
    message_id = Column(String(64), nullable=False)
    # Card numbers are masked before the text is stored (bot.security.redaction).
    text = Column(String(2000), nullable=False)
    language = Column(String(2))
    predicted_intent = Column(String(64))
    confidence = Column(Float)
    # low_confidence, fallback or handoff
    reason = Column(String(16), nullable=False)
    status = Column(String(16), nullable=False, default="open")
    labelled_intent = Column(String(64))
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    handled_at = Column(DateTime(timezone=True))


class BillingConversation(Base):
    """A conversation in which the bot showed a signed-in customer a past-due balance.

    One row per conversation and balance, written the first time the bot looks the
    balance up for that conversation (actions.billing); the insights (bot.insights)
    follow it to the conversation's payment attempts and handoff tickets. `day` is
    the UTC day of `started_at`, the conversation's first customer message.
    """

    __tablename__ = "billing_conversations"
    __table_args__ = (
        Index("uq_billing_conversation", "conversation_id", "balance_id", unique=True),
        # Covers every column the insights group and add up: a year is read from
        # the index alone.
        Index(
            "ix_billing_conversation_period",
            "demo",
            "day",
            "language",
            "outcome",
            "currency",
            "paid_minor",
            "path",
            "came_with_reason",
            "declined_in_conversation",
            "option_chosen",
            "seconds_to_pay",
        ),
        Index("ix_billing_conversation_facts", "facts_at"),
        Index("ix_billing_conversation_day", "day"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id = Column(String(255), nullable=False)
    customer_id = Column(String(64), ForeignKey("customers.id"), nullable=False, index=True)
    balance_id = Column(Integer, ForeignKey("balances.id"), nullable=False, index=True)
    language = Column(String(2), nullable=False)
    started_at = Column(DateTime(timezone=True), nullable=False)
    day = Column(Date, nullable=False)
    # Generated by `bot demo seed --history N`: never counted with real activity.
    demo = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    # What became of it, derived from payments and tickets by bot.insights.facts
    # (NULL until first derived; derived again while the conversation is recent).
    outcome = Column(String(16))
    currency = Column(String(3))
    paid_minor = Column(BigInteger)
    seconds_to_pay = Column(Integer)
    path = Column(String(16))
    came_with_reason = Column(String(64))
    # The reasons of the charges declined in the conversation, in order, comma-separated.
    declined_in_conversation = Column(String(255))
    option_chosen = Column(Boolean)
    facts_at = Column(DateTime(timezone=True))


def customer_deletes(customers: Any) -> list[Delete]:
    """Statements that remove these customers and every row that hangs from them.

    `customers` is a list of ids or a select of them. Children come before parents,
    so that foreign keys hold at every step; run them in this order, in one
    transaction.
    """
    subscriptions = select(Subscription.id).where(Subscription.customer_id.in_(customers))
    balances = select(Balance.id).where(Balance.subscription_id.in_(subscriptions))
    return [
        delete(BillingConversation).where(BillingConversation.customer_id.in_(customers)),
        delete(PaymentAttempt).where(PaymentAttempt.balance_id.in_(balances)),
        delete(CardFormLink).where(CardFormLink.customer_id.in_(customers)),
        delete(HandoffTicket).where(HandoffTicket.customer_id.in_(customers)),
        delete(Balance).where(Balance.subscription_id.in_(subscriptions)),
        delete(Subscription).where(Subscription.customer_id.in_(customers)),
        delete(PaymentMethod).where(PaymentMethod.customer_id.in_(customers)),
        delete(Customer).where(Customer.id.in_(customers)),
    ]


def make_engine(url: str) -> Engine:
    """Creates an engine for `url`; an SQLite file's folder is created if needed."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"future": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            # SQLAlchemy 1.4 opens a new SQLite connection for every session
            # (NullPool): on a message's hot path that was most of the cost of a
            # one-row write. A pool, as SQLAlchemy 2.0 does for files; sessions are
            # short and used by one thread at a time, so connections may move
            # between the worker threads.
            kwargs["poolclass"] = QueuePool
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    return engine


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One engine per database URL and process, created on first use."""
    return make_engine(url)


def app_engine() -> Engine:
    """The engine for the configured DATABASE_URL, one per process."""
    from bot.config import get_settings

    return get_engine(get_settings().database_url)


def ensure_database(url: str) -> bool:
    """Creates the PostgreSQL database that `url` names if it does not exist.

    Returns whether it was created. SQLite files are created on first use.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        return False
    admin = create_engine(
        parsed.set(database="postgres"), future=True, isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
            ).first()
            if exists:
                return False
            quoted = admin.dialect.identifier_preparer.quote(parsed.database)
            connection.execute(text(f"CREATE DATABASE {quoted}"))
            return True
    finally:
        admin.dispose()


def drop_database(url: str) -> None:
    """Drops the PostgreSQL database that `url` names, closing its connections."""
    parsed = make_url(url)
    admin = create_engine(
        parsed.set(database="postgres"), future=True, isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as connection:
            quoted = admin.dialect.identifier_preparer.quote(parsed.database or "")
            connection.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
    finally:
        admin.dispose()


def create_schema(engine: Engine) -> None:
    """Creates the tables that do not exist yet, as the models say (tests, benchmarks).

    An installation's database is made and upgraded by bot.migrations.runner instead, which
    recognises a database made this way as today's revision.
    """
    Base.metadata.create_all(engine)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A short session for one unit of work: committed on success, rolled back on error."""
    with Session(engine, future=True) as session:
        with session.begin():
            yield session

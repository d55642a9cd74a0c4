"""Resubmitting a past-due payment, at most once per balance.

Each try at a balance has an idempotency key, `balance-<reference>-try-<n>`, unique in the
database. Whoever inserts the pending attempt owns the charge; a concurrent or
retried save for the same try finds the key taken and waits for the owner's
answer instead of charging again. A partial unique index allows one attempt per
balance that is pending or approved: a save that computed its try number just as
another one finished cannot start a second charge; it waits for the live one.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.billing.accounts import Card, to_decimal
from bot.billing.payments import Gateway
from bot.db import (
    Balance,
    PaymentAttempt,
    PaymentMethod,
    Subscription,
    as_utc,
    session_scope,
    utcnow,
)
from bot.errors import BotError, NotFound

WAIT_FOR_OWNER_SECONDS = 30.0
# A pending attempt this old lost its owner (a crash between claim and answer);
# asking the gateway again with the same key is safe, it answers idempotently.
STALE_PENDING_SECONDS = 60.0


class ChargeInProgress(BotError):
    """Another request is charging this balance and has not answered in time."""


@dataclass(frozen=True)
class Settlement:
    """The outcome of a resubmission, for the conversation."""

    approved: bool
    decline_reason: str | None
    amount_minor: int
    currency: str
    card: Card
    completed_at: dt.datetime
    # False when this call found the answer of an earlier or concurrent charge.
    charged_now: bool

    @property
    def amount(self) -> Decimal:
        return to_decimal(self.amount_minor, self.currency)


def _key(reference: str, try_number: int) -> str:
    return f"balance-{reference}-try-{try_number}"


def _settlement(attempt: PaymentAttempt, charged_now: bool) -> Settlement:
    return Settlement(
        approved=attempt.status == "approved",
        decline_reason=attempt.decline_reason,
        amount_minor=attempt.amount_minor,
        currency=attempt.currency,
        card=Card.of(attempt.payment_method),
        completed_at=as_utc(attempt.completed_at or attempt.created_at),
        charged_now=charged_now,
    )


def _live_attempt_key(engine: Engine, balance_id: int) -> str | None:
    """The key of the balance's charge in flight or approved, if there is one."""
    with session_scope(engine) as session:
        return session.scalars(
            select(PaymentAttempt.idempotency_key).where(
                PaymentAttempt.balance_id == balance_id,
                PaymentAttempt.status.in_(("pending", "approved")),
            )
        ).first()


def _claim(
    engine: Engine,
    customer_id: str,
    balance_id: int,
    method_id: int,
    conversation_id: str | None = None,
) -> tuple[str, bool] | None:
    """Inserts the pending attempt for the next try; (key, whether we own it).

    None when the attempt that blocked ours ended declined in the meantime.
    """
    with session_scope(engine) as session:
        balance = session.get(Balance, balance_id)
        method = session.get(PaymentMethod, method_id)
        if balance is None or balance.subscription.customer_id != customer_id:
            raise NotFound(f"balance {balance_id} of {customer_id}")
        if method is None or method.customer_id != customer_id:
            raise NotFound(f"card {method_id} of {customer_id}")
        approved = session.scalars(
            select(PaymentAttempt).where(
                PaymentAttempt.balance_id == balance_id, PaymentAttempt.status == "approved"
            )
        ).first()
        if balance.status == "settled" and approved is not None:
            return approved.idempotency_key, False
        tries = session.scalar(
            select(func.count())
            .select_from(PaymentAttempt)
            .where(
                PaymentAttempt.balance_id == balance_id,
                PaymentAttempt.idempotency_key.like(f"balance-{balance.reference}-try-%"),
                PaymentAttempt.status != "pending",
            )
        )
        key = _key(balance.reference, int(tries or 0) + 1)
        amount, currency = balance.amount_minor, balance.currency
    try:
        with session_scope(engine) as session:
            session.add(
                PaymentAttempt(
                    balance_id=balance_id,
                    payment_method_id=method_id,
                    idempotency_key=key,
                    amount_minor=amount,
                    currency=currency,
                    status="pending",
                    conversation_id=conversation_id,
                )
            )
    except IntegrityError:
        # Another save holds the balance (a charge in flight or approved): wait for
        # its answer. If that charge was declined meanwhile, this save may try again.
        live = _live_attempt_key(engine, balance_id)
        if live is None:
            return None
        return live, False
    return key, True


def _finish(engine: Engine, key: str, approved: bool, reason: str | None) -> Settlement:
    with session_scope(engine) as session:
        attempt = session.scalars(
            select(PaymentAttempt).where(PaymentAttempt.idempotency_key == key)
        ).one()
        attempt.status = "approved" if approved else "declined"
        attempt.decline_reason = None if approved else reason
        attempt.completed_at = utcnow()
        if approved:
            balance = attempt.balance
            balance.status = "settled"
            session.flush()
            subscription: Subscription = balance.subscription
            still_open = [b for b in subscription.balances if b.status == "open"]
            if not still_open:
                subscription.status = "active"
        return _settlement(attempt, charged_now=True)


def _await_owner(engine: Engine, gateway: Gateway, key: str, timeout: float) -> Settlement:
    deadline = time.monotonic() + timeout
    while True:
        with session_scope(engine) as session:
            attempt = session.scalars(
                select(PaymentAttempt).where(PaymentAttempt.idempotency_key == key)
            ).one()
            if attempt.status != "pending":
                return _settlement(attempt, charged_now=False)
            age = utcnow() - as_utc(attempt.created_at)
            stale = age.total_seconds() > STALE_PENDING_SECONDS
        if stale:
            return _charge(engine, gateway, key)
        if time.monotonic() > deadline:
            raise ChargeInProgress(key)
        time.sleep(0.1)


def _charge(engine: Engine, gateway: Gateway, key: str) -> Settlement:
    with session_scope(engine) as session:
        attempt = session.scalars(
            select(PaymentAttempt).where(PaymentAttempt.idempotency_key == key)
        ).one()
        method = attempt.payment_method
        token, month, year = method.gateway_token, method.exp_month, method.exp_year
        amount, currency = attempt.amount_minor, attempt.currency
    result = gateway.charge(token, month, year, amount, currency, key)
    return _finish(engine, key, result.approved, result.decline_reason)


def resubmit(
    engine: Engine,
    gateway: Gateway,
    customer_id: str,
    balance_id: int,
    payment_method_id: int,
    wait_seconds: float = WAIT_FOR_OWNER_SECONDS,
    conversation_id: str | None = None,
) -> Settlement:
    """Charges the balance to the card once, whatever runs at the same time.

    `conversation_id` names the conversation the charge is made for (the insights
    follow a conversation to its payments).

    Raises:
        NotFound: the balance or the card is not this customer's.
        ChargeInProgress: a concurrent charge did not finish within `wait_seconds`.
    """
    claimed = None
    for _ in range(10):  # each round needs another save to have finished meanwhile
        claimed = _claim(engine, customer_id, balance_id, payment_method_id, conversation_id)
        if claimed is not None:
            break
    if claimed is None:
        raise ChargeInProgress(f"balance {balance_id}")
    key, owner = claimed
    if not owner:
        return _await_owner(engine, gateway, key, wait_seconds)
    return _charge(engine, gateway, key)

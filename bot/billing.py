"""Subscriptions, cards and balances: read models for the conversation.

Every function takes an open `Session`; the caller owns the unit of work.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import get_currency_precision
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import Balance, Customer, PaymentAttempt, PaymentMethod, Subscription
from bot.errors import NotFound


def to_decimal(amount_minor: int, currency: str) -> Decimal:
    """Minor units (cents) to a Decimal amount, by the currency's own precision."""
    return Decimal(amount_minor).scaleb(-get_currency_precision(currency))


def to_minor(amount: Decimal, currency: str) -> int:
    """A Decimal amount to integer minor units; refuses amounts finer than the currency."""
    minor = amount.scaleb(get_currency_precision(currency))
    if minor != minor.to_integral_value():
        raise ValueError(f"{amount} has more decimals than {currency} allows")
    return int(minor)


@dataclass(frozen=True)
class Card:
    """What the bot may know and say about a card."""

    id: int
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    is_owner: bool

    def is_expired(self, today: dt.date) -> bool:
        """A card is valid through the last day of its expiry month."""
        return (self.exp_year, self.exp_month) < (today.year, today.month)

    @classmethod
    def of(cls, method: PaymentMethod) -> Card:
        return cls(
            id=method.id,
            brand=method.brand,
            last4=method.last4,
            exp_month=method.exp_month,
            exp_year=method.exp_year,
            is_owner=method.is_owner,
        )


@dataclass(frozen=True)
class PastDue:
    """A subscription's open balance and why its last charge failed."""

    balance_id: int
    subscription: str
    amount: Decimal
    currency: str
    due_date: dt.date
    failed_card: Card | None
    decline_reason: str | None
    other_cards: tuple[Card, ...]


def get_customer(session: Session, customer_id: str) -> Customer:
    """The customer with this id.

    Raises:
        NotFound: no such customer.
    """
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id!r} (run `bot demo seed` for the demo customers)")
    return customer


def list_subscriptions(session: Session, customer_id: str) -> list[Subscription]:
    """The customer's subscriptions, oldest first."""
    get_customer(session, customer_id)
    query = (
        select(Subscription)
        .where(Subscription.customer_id == customer_id)
        .order_by(Subscription.id)
    )
    return list(session.scalars(query))


def find_past_due(
    session: Session, customer_id: str, today: dt.date | None = None
) -> list[PastDue]:
    """The customer's open balances, the oldest due date first; empty when paid up.

    Raises:
        NotFound: no such customer.
    """
    today = today or dt.date.today()
    get_customer(session, customer_id)
    balances = session.scalars(
        select(Balance)
        .join(Subscription)
        .where(Subscription.customer_id == customer_id, Balance.status == "open")
        .order_by(Balance.due_date, Balance.id)
    ).all()
    methods = session.scalars(
        select(PaymentMethod)
        .where(PaymentMethod.customer_id == customer_id)
        .order_by(PaymentMethod.id)
    ).all()
    result = []
    for balance in balances:
        last_decline = session.scalars(
            select(PaymentAttempt)
            .where(PaymentAttempt.balance_id == balance.id, PaymentAttempt.status == "declined")
            .order_by(PaymentAttempt.created_at.desc(), PaymentAttempt.id.desc())
            .limit(1)
        ).first()
        failed = Card.of(last_decline.payment_method) if last_decline else None
        others = tuple(
            Card.of(m)
            for m in methods
            if (failed is None or m.id != failed.id) and not Card.of(m).is_expired(today)
        )
        result.append(
            PastDue(
                balance_id=balance.id,
                subscription=balance.subscription.product_name,
                amount=to_decimal(balance.amount_minor, balance.currency),
                currency=balance.currency,
                due_date=balance.due_date,
                failed_card=failed,
                decline_reason=last_decline.decline_reason if last_decline else None,
                other_cards=others,
            )
        )
    return result

"""Subscriptions, cards and balances: read models for the conversation.

Every function takes an open `Session`; the caller owns the unit of work.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import get_currency_precision
from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from bot.billing.expiry import Expiry
from bot.billing.payments import TokenizedCard
from bot.db import Balance, Customer, PaymentAttempt, PaymentMethod, Subscription, as_utc
from bot.errors import BotError, NotFound

# After a payment, the past-due notice can stay visible this long (seed 001).
NOTICE_HOURS = 48


class NotCardOwner(BotError):
    """Only the card's owner may change its expiry date."""


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
    # Three queries whatever the number of balances (this runs in nearly every action).
    balances = session.scalars(
        select(Balance)
        .join(Subscription)
        .options(contains_eager(Balance.subscription))
        .where(Subscription.customer_id == customer_id, Balance.status == "open")
        .order_by(Balance.due_date, Balance.id)
    ).all()
    if not balances:
        get_customer(session, customer_id)
        return []
    methods = session.scalars(
        select(PaymentMethod)
        .where(PaymentMethod.customer_id == customer_id)
        .order_by(PaymentMethod.id)
    ).all()
    declines: dict[int, PaymentAttempt] = {}
    for attempt in session.scalars(
        select(PaymentAttempt)
        .where(
            PaymentAttempt.balance_id.in_([b.id for b in balances]),
            PaymentAttempt.status == "declined",
        )
        .order_by(PaymentAttempt.created_at, PaymentAttempt.id)
    ):
        declines[attempt.balance_id] = attempt  # the latest one wins
    result = []
    for balance in balances:
        last_decline = declines.get(balance.id)
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


def _customers_card(session: Session, customer_id: str, card_id: int) -> PaymentMethod:
    method = session.get(PaymentMethod, card_id)
    if method is None or method.customer_id != customer_id:
        raise NotFound(f"card {card_id} of {customer_id}")
    return method


def change_expiry(session: Session, customer_id: str, card_id: int, expiry: Expiry) -> Card:
    """Sets a new expiry date on the customer's own card.

    Raises:
        NotFound: not a card of this customer.
        NotCardOwner: the customer may use the card but does not own it.
    """
    method = _customers_card(session, customer_id, card_id)
    if not method.is_owner:
        raise NotCardOwner(f"{customer_id} does not own card {card_id}")
    method.exp_month, method.exp_year = expiry.month, expiry.year
    session.flush()
    return Card.of(method)


def get_card(session: Session, customer_id: str, card_id: int) -> Card:
    """One of the customer's cards.

    Raises:
        NotFound: not a card of this customer.
    """
    return Card.of(_customers_card(session, customer_id, card_id))


def add_card(session: Session, customer_id: str, card: TokenizedCard, expiry: Expiry) -> Card:
    """Stores a tokenized card (brand, last four, expiry, token: never the number)."""
    get_customer(session, customer_id)
    method = PaymentMethod(
        customer_id=customer_id,
        brand=card.brand,
        last4=card.last4,
        exp_month=expiry.month,
        exp_year=expiry.year,
        is_owner=True,
        gateway_token=card.token,
    )
    session.add(method)
    session.flush()
    return Card.of(method)


@dataclass(frozen=True)
class Payment:
    """An approved payment of a past-due balance."""

    amount: Decimal
    currency: str
    completed_at: dt.datetime


def last_payment(session: Session, customer_id: str) -> Payment | None:
    """The customer's latest approved payment of a balance, if any."""
    attempt = session.scalars(
        select(PaymentAttempt)
        .join(Balance)
        .join(Subscription)
        .where(Subscription.customer_id == customer_id, PaymentAttempt.status == "approved")
        .order_by(PaymentAttempt.completed_at.desc(), PaymentAttempt.id.desc())
        .limit(1)
    ).first()
    if attempt is None:
        return None
    return Payment(
        to_decimal(attempt.amount_minor, attempt.currency),
        attempt.currency,
        as_utc(attempt.completed_at or attempt.created_at),
    )

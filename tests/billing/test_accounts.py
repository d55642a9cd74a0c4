"""The data layer and the demo data, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.billing.accounts import find_past_due, to_decimal, to_minor
from bot.db import Balance, Customer, PaymentAttempt, PaymentMethod, session_scope
from bot.errors import NotFound
from bot.ops.demo import DEMO_CUSTOMER_IDS, seed_demo

TODAY = dt.date(2026, 11, 22)


@pytest.mark.parametrize(
    "customer, subscription, amount, currency, brand, last4, reason, owner, others",
    [
        (
            "cust-lv-owner",
            "Microsoft 365 Business Standard",
            "25.50",
            "EUR",
            "Visa",
            "4242",
            "expired_card",
            True,
            [("Mastercard", "5454", 8, 2029)],
        ),
        (
            "cust-zh-nonowner",
            "Microsoft 365 E3",
            "1080.00",
            "CNY",
            "Visa",
            "1111",
            "insufficient_funds",
            False,
            [("UnionPay", "0005", 11, 2028)],
        ),
        (
            "cust-en-owner",
            "Microsoft 365 Business Basic",
            "6.00",
            "USD",
            "American Express",
            "8431",
            "expired_card",
            True,
            [],
        ),
    ],
)
def test_past_due_facts_of_each_demo_customer(
    seeded_engine: Engine,
    customer,
    subscription,
    amount,
    currency,
    brand,
    last4,
    reason,
    owner,
    others,
) -> None:
    with session_scope(seeded_engine) as session:
        (due,) = find_past_due(session, customer, today=TODAY)
    assert due.subscription == subscription
    assert due.amount == Decimal(amount) and due.currency == currency
    assert (due.failed_card.brand, due.failed_card.last4) == (brand, last4)
    assert due.decline_reason == reason
    assert due.failed_card.is_owner is owner
    assert [(c.brand, c.last4, c.exp_month, c.exp_year) for c in due.other_cards] == others


def test_the_expired_cards_are_expired_and_the_others_valid(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine) as session:
        (lv,) = find_past_due(session, "cust-lv-owner", today=TODAY)
        (en,) = find_past_due(session, "cust-en-owner", today=TODAY)
    assert lv.failed_card.is_expired(TODAY) and (
        lv.failed_card.exp_month,
        lv.failed_card.exp_year,
    ) == (3, 2026)
    assert en.failed_card.is_expired(TODAY) and (
        en.failed_card.exp_month,
        en.failed_card.exp_year,
    ) == (1, 2026)
    assert not lv.other_cards[0].is_expired(TODAY)


def test_a_customer_with_nothing_past_due_gets_an_empty_list(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine) as session:
        assert find_past_due(session, "cust-en-current", today=TODAY) == []


def test_an_unknown_customer_is_not_found(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine) as session, pytest.raises(NotFound):
        find_past_due(session, "cust-nobody")


def _snapshot(engine: Engine) -> list:
    with session_scope(engine) as session:
        customers = session.scalars(select(Customer).order_by(Customer.id)).all()
        return [
            (
                c.id,
                c.display_name,
                c.language,
                sorted(
                    (m.brand, m.last4, m.exp_month, m.exp_year, m.is_owner, m.gateway_token)
                    for m in c.payment_methods
                ),
                sorted(
                    (
                        s.product_name,
                        s.status,
                        sorted(
                            (
                                b.amount_minor,
                                b.currency,
                                b.due_date,
                                b.status,
                                [(a.status, a.decline_reason, a.amount_minor) for a in b.attempts],
                            )
                            for b in s.balances
                        ),
                    )
                    for s in c.subscriptions
                ),
            )
            for c in customers
        ]


def test_seeding_again_restores_exactly_the_demo_state(seeded_engine: Engine) -> None:
    before = _snapshot(seeded_engine)
    with session_scope(seeded_engine) as session:
        balance = session.scalars(select(Balance)).first()
        balance.status = "settled"
        session.add(
            PaymentAttempt(
                balance_id=balance.id,
                payment_method_id=session.scalars(select(PaymentMethod.id)).first(),
                idempotency_key="extra",
                amount_minor=1,
                currency="EUR",
                status="approved",
            )
        )
    assert _snapshot(seeded_engine) != before
    with session_scope(seeded_engine) as session:
        seed_demo(session)
    assert _snapshot(seeded_engine) == before
    assert [row[0] for row in before] == sorted(DEMO_CUSTOMER_IDS)


def test_no_full_card_number_column_exists(engine: Engine) -> None:
    columns = {c.name for c in PaymentMethod.__table__.columns}
    assert {"brand", "last4", "exp_month", "exp_year", "gateway_token"} <= columns
    assert not columns & {"number", "pan", "card_number", "cvc", "cvv"}


def test_an_idempotency_key_is_unique_in_the_database(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine) as session:
        attempt = session.scalars(select(PaymentAttempt)).first()
        key, balance_id, method_id = (
            attempt.idempotency_key,
            attempt.balance_id,
            attempt.payment_method_id,
        )
    with pytest.raises(IntegrityError), session_scope(seeded_engine) as session:
        session.add(
            PaymentAttempt(
                balance_id=balance_id,
                payment_method_id=method_id,
                idempotency_key=key,
                amount_minor=100,
                currency="EUR",
                status="approved",
            )
        )
    with session_scope(seeded_engine) as session:
        count = session.scalar(select(func.count()).where(PaymentAttempt.idempotency_key == key))
    assert count == 1


def test_a_negative_balance_is_refused_by_the_database(seeded_engine: Engine) -> None:
    with pytest.raises(IntegrityError), session_scope(seeded_engine) as session:
        balance = session.scalars(select(Balance)).first()
        balance.amount_minor = -5


@pytest.mark.parametrize(
    "minor, currency, amount",
    [
        (2550, "EUR", Decimal("25.50")),
        (108000, "CNY", Decimal("1080.00")),
        (600, "USD", Decimal("6.00")),
        (500, "JPY", Decimal("500")),
    ],
)
def test_minor_units_round_trip_by_currency_precision(minor, currency, amount) -> None:
    assert to_decimal(minor, currency) == amount
    assert to_minor(amount, currency) == minor


def test_an_amount_finer_than_the_currency_is_refused() -> None:
    with pytest.raises(ValueError):
        to_minor(Decimal("1.005"), "EUR")

"""Resubmitting past-due payments: outcomes, ownership, and never charging twice."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.billing.accounts import NotCardOwner, add_card, change_expiry, find_past_due
from bot.billing.expiry import Expiry
from bot.billing.payments import CardRejected, SimulatedGateway, luhn_valid
from bot.billing.settlement import resubmit
from bot.db import Balance, PaymentAttempt, PaymentMethod, Subscription, session_scope
from bot.errors import NotFound

TODAY = dt.date(2026, 11, 22)


def _due(engine: Engine, customer: str):
    with session_scope(engine) as session:
        return find_past_due(session, customer, today=TODAY)[0]


def _approved_attempts(engine: Engine, balance_id: int) -> int:
    with session_scope(engine) as session:
        return len(
            session.scalars(
                select(PaymentAttempt).where(
                    PaymentAttempt.balance_id == balance_id, PaymentAttempt.status == "approved"
                )
            ).all()
        )


def test_owner_changes_the_expiry_then_the_payment_goes_through(seeded_engine: Engine) -> None:
    gateway = SimulatedGateway(today=TODAY)
    due = _due(seeded_engine, "cust-lv-owner")
    declined = resubmit(seeded_engine, gateway, "cust-lv-owner", due.balance_id, due.failed_card.id)
    assert (declined.approved, declined.decline_reason) == (False, "expired_card")

    with session_scope(seeded_engine) as session:
        card = change_expiry(session, "cust-lv-owner", due.failed_card.id, Expiry(2027, 12))
    assert (card.exp_month, card.exp_year) == (12, 2027)
    paid = resubmit(seeded_engine, gateway, "cust-lv-owner", due.balance_id, due.failed_card.id)
    assert paid.approved and paid.charged_now and paid.amount_minor == 2550
    with session_scope(seeded_engine) as session:
        assert session.get(Balance, due.balance_id).status == "settled"
        assert session.get(Balance, due.balance_id).subscription.status == "active"
        assert find_past_due(session, "cust-lv-owner", today=TODAY) == []


def test_a_non_owner_cannot_change_the_expiry(seeded_engine: Engine) -> None:
    due = _due(seeded_engine, "cust-zh-nonowner")
    with pytest.raises(NotCardOwner), session_scope(seeded_engine) as session:
        change_expiry(session, "cust-zh-nonowner", due.failed_card.id, Expiry(2028, 1))


def test_a_non_owner_pays_with_another_card(seeded_engine: Engine) -> None:
    gateway = SimulatedGateway(today=TODAY)
    due = _due(seeded_engine, "cust-zh-nonowner")
    again = resubmit(seeded_engine, gateway, "cust-zh-nonowner", due.balance_id, due.failed_card.id)
    assert again.decline_reason == "insufficient_funds"
    other = due.other_cards[0]
    paid = resubmit(seeded_engine, gateway, "cust-zh-nonowner", due.balance_id, other.id)
    assert paid.approved and paid.card.last4 == "0005" and paid.amount_minor == 108000


@pytest.mark.parametrize(
    "number, approved, reason, brand",
    [
        ("4242 4242 4242 4242", True, None, "Visa"),
        ("4000 0000 0000 0002", False, "card_declined", "Visa"),
        ("4000-0000-0000-9995", False, "insufficient_funds", "Visa"),
        ("4000000000000069", False, "expired_card", "Visa"),
        ("5555 5555 5555 4444", True, None, "Mastercard"),
        ("3782 822463 10005", True, None, "American Express"),
        ("6200 0000 0000 0005", True, None, "UnionPay"),
    ],
)
def test_each_test_card_behaves_like_a_sandbox(
    seeded_engine: Engine, number, approved, reason, brand
) -> None:
    gateway = SimulatedGateway(today=TODAY)
    tokenized = gateway.tokenize(number, 12, 2028, "123")
    assert tokenized.brand == brand and tokenized.last4 == number.replace(" ", "")[-4:]
    assert number.replace(" ", "").replace("-", "") not in tokenized.token
    due = _due(seeded_engine, "cust-en-owner")
    with session_scope(seeded_engine) as session:
        card = add_card(session, "cust-en-owner", tokenized, Expiry(2028, 12))
    result = resubmit(seeded_engine, gateway, "cust-en-owner", due.balance_id, card.id)
    assert (result.approved, result.decline_reason) == (approved, reason)


@pytest.mark.parametrize("number", ["4242 4242 4242 4241", "1234", "abcd", "", "0000000000000000"])
def test_numbers_that_are_not_cards_are_rejected(number: str) -> None:
    with pytest.raises(CardRejected):
        SimulatedGateway().tokenize(number, 12, 2028, "123")
    assert not luhn_valid("4242424242424241")


def test_a_settled_balance_is_never_charged_again(seeded_engine: Engine) -> None:
    gateway = SimulatedGateway(today=TODAY)
    due = _due(seeded_engine, "cust-lv-owner")
    other = due.other_cards[0].id
    first = resubmit(seeded_engine, gateway, "cust-lv-owner", due.balance_id, other)
    second = resubmit(seeded_engine, gateway, "cust-lv-owner", due.balance_id, other)
    assert first.approved and first.charged_now
    assert second.approved and not second.charged_now
    assert gateway.charges == 1 and _approved_attempts(seeded_engine, due.balance_id) == 1


def test_concurrent_saves_charge_once(seeded_engine: Engine) -> None:
    gateway = SimulatedGateway(today=TODAY)
    due = _due(seeded_engine, "cust-lv-owner")
    other = due.other_cards[0].id
    barrier = threading.Barrier(6)
    results, errors = [], []

    def save() -> None:
        barrier.wait()
        try:
            results.append(resubmit(seeded_engine, gateway, "cust-lv-owner", due.balance_id, other))
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=save) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 6 and all(r.approved for r in results)
    assert sum(r.charged_now for r in results) == 1
    assert gateway.charges == 1 and _approved_attempts(seeded_engine, due.balance_id) == 1


def test_the_database_refuses_a_second_approved_attempt(seeded_engine: Engine) -> None:
    from sqlalchemy.exc import IntegrityError

    due = _due(seeded_engine, "cust-lv-owner")
    for key in ("a", "b"):
        try:
            with session_scope(seeded_engine) as session:
                session.add(
                    PaymentAttempt(
                        balance_id=due.balance_id,
                        payment_method_id=due.other_cards[0].id,
                        idempotency_key=key,
                        amount_minor=2550,
                        currency="EUR",
                        status="approved",
                    )
                )
        except IntegrityError:
            assert key == "b"
            break
    else:
        pytest.fail("a second approved attempt was stored")


def test_another_customers_balance_or_card_is_not_found(seeded_engine: Engine) -> None:
    gateway = SimulatedGateway(today=TODAY)
    lv, zh = _due(seeded_engine, "cust-lv-owner"), _due(seeded_engine, "cust-zh-nonowner")
    with pytest.raises(NotFound):
        resubmit(seeded_engine, gateway, "cust-zh-nonowner", lv.balance_id, zh.other_cards[0].id)
    with pytest.raises(NotFound):
        resubmit(seeded_engine, gateway, "cust-zh-nonowner", zh.balance_id, lv.other_cards[0].id)
    with session_scope(seeded_engine) as session:
        assert session.scalars(select(Subscription).where(Subscription.status == "active")).all()
        assert session.get(PaymentMethod, lv.other_cards[0].id).customer_id == "cust-lv-owner"
    assert gateway.charges == 0


def test_a_reused_key_with_another_charge_is_refused_not_answered() -> None:
    from bot.billing.payments import IdempotencyKeyReused

    gateway = SimulatedGateway(today=TODAY)
    assert gateway.charge("tok_sim_approve_x", 12, 2030, 600, "USD", "k1").approved
    assert gateway.charge("tok_sim_approve_x", 12, 2030, 600, "USD", "k1").approved
    with pytest.raises(IdempotencyKeyReused):
        gateway.charge("tok_sim_card_declined_y", 12, 2030, 600, "USD", "k1")
    assert gateway.charges == 1


def test_reseeding_never_reuses_an_idempotency_key(seeded_engine: Engine) -> None:
    from bot.ops.demo import seed_demo

    gateway = SimulatedGateway(today=TODAY)
    keys = set()
    for _ in range(2):
        due = _due(seeded_engine, "cust-lv-owner")
        resubmit(seeded_engine, gateway, "cust-lv-owner", due.balance_id, due.other_cards[0].id)
        with session_scope(seeded_engine) as session:
            keys |= set(
                session.scalars(
                    select(PaymentAttempt.idempotency_key).where(
                        PaymentAttempt.status == "approved"
                    )
                )
            )
            seed_demo(session)
    assert len(keys) == 2 and gateway.charges == 2


def test_a_save_that_read_before_another_finished_never_reaches_the_gateway(
    seeded_engine: Engine,
) -> None:
    # As seen by a save that read the balance as open a moment before another save's
    # approval committed: the approved attempt exists, the balance still says open.
    gateway = SimulatedGateway(today=TODAY)
    due = _due(seeded_engine, "cust-lv-owner")
    other = due.other_cards[0].id
    with session_scope(seeded_engine) as session:
        session.add(
            PaymentAttempt(
                balance_id=due.balance_id,
                payment_method_id=other,
                idempotency_key="the-other-save",
                amount_minor=2550,
                currency="EUR",
                status="approved",
            )
        )
    result = resubmit(seeded_engine, gateway, "cust-lv-owner", due.balance_id, other)
    assert result.approved and not result.charged_now
    assert gateway.charges == 0 and _approved_attempts(seeded_engine, due.balance_id) == 1

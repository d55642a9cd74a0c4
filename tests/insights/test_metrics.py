"""Insights computed on hand-built histories with known answers, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from bot.billing.payments import SimulatedGateway
from bot.billing.settlement import resubmit
from bot.db import BillingConversation, PaymentAttempt, PaymentMethod, session_scope
from bot.insights.ledger import note_billing_conversation
from bot.insights.metrics import BadPeriod, Period, compute
from tests.insights.history import at, build_known_history

NOVEMBER = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 3))


@pytest.fixture
def history(engine: Engine) -> Engine:
    with session_scope(engine) as session:
        build_known_history(session)
    return engine


def _recovered(view: dict) -> dict[str, int]:
    return {r["currency"]: r["amount_minor"] for r in view["recovered"]}


def test_outcomes_money_and_time_to_pay_for_the_period(history: Engine) -> None:
    totals = compute(history, NOVEMBER)["totals"]
    assert {
        k: totals[k] for k in ("conversations", "contained", "after_handoff", "not_settled")
    } == {
        "conversations": 5,
        "contained": 3,
        "after_handoff": 1,
        "not_settled": 1,
    }
    assert totals["settled"] == 4 and totals["containment_rate"] == 0.6
    assert _recovered(totals) == {"CNY": 108000, "EUR": 2550, "GBP": 1000, "USD": 600}
    # 12, 25 (across midnight), 30 and 45 minutes from the first message to the payment.
    assert totals["median_minutes_to_payment"] == 27.5
    assert totals["settling_paths"] == {"new_expiry": 1, "other_card": 2, "new_card": 1}
    assert totals["funnel"] == {"declined": 5, "option_chosen": 4, "paid": 4}


def test_amounts_are_formatted_by_babel_for_the_reader(history: Engine) -> None:
    english = {
        r["currency"]: r["formatted"] for r in compute(history, NOVEMBER)["totals"]["recovered"]
    }
    assert english == {"CNY": "CN¥1,080.00", "EUR": "€25.50", "GBP": "£10.00", "USD": "$6.00"}
    latvian = compute(history, NOVEMBER, locale="lv_LV")["totals"]["recovered"]
    assert {r["currency"]: r["formatted"] for r in latvian}["EUR"] == "25,50\xa0€"
    assert {r["currency"]: r["amount"] for r in latvian} == {
        "CNY": "1080.00",
        "EUR": "25.50",
        "GBP": "10.00",
        "USD": "6.00",
    }


def test_per_language_and_per_day(history: Engine) -> None:
    insights = compute(history, NOVEMBER)
    by_language = insights["by_language"]
    assert {lang: v["conversations"] for lang, v in by_language.items()} == {
        "en": 3,
        "lv": 1,
        "zh": 1,
    }
    assert _recovered(by_language["en"]) == {"GBP": 1000, "USD": 600}
    assert (by_language["zh"]["after_handoff"], by_language["en"]["not_settled"]) == (1, 1)
    days = {(d["day"], d["language"]): d for d in insights["by_day"]}
    assert len(days) == 9  # every day and language, the quiet ones too
    # The conversation that began at 23:50 on the 1st and paid at 00:15 belongs to the 1st.
    assert days[("2026-11-01", "en")]["contained"] == 1
    assert _recovered(days[("2026-11-01", "en")]) == {"USD": 600}
    assert days[("2026-11-02", "en")]["conversations"] == 1
    assert days[("2026-11-02", "en")]["not_settled"] == 1
    assert days[("2026-11-02", "en")]["handoffs"] == 1
    assert days[("2026-11-02", "en")]["not_understood"] == 1  # 23:59 is still the 2nd
    assert _recovered(days[("2026-11-03", "en")]) == {"GBP": 1000}
    assert days[("2026-11-03", "lv")]["conversations"] == 0
    assert days[("2026-11-03", "zh")]["not_understood"] == 1
    assert days[("2026-11-03", "lv")]["not_understood"] == 1


def test_declines_and_whether_a_retry_then_paid(history: Engine) -> None:
    assert compute(history, NOVEMBER)["declines"] == [
        {"reason": "card_declined", "seen": 2, "then_paid": 1, "retry_success_rate": 0.5},
        {"reason": "expired_card", "seen": 2, "then_paid": 2, "retry_success_rate": 1.0},
        {"reason": "insufficient_funds", "seen": 2, "then_paid": 2, "retry_success_rate": 1.0},
    ]


def test_handoffs_by_reason_wait_and_close(history: Engine) -> None:
    handoffs = compute(history, NOVEMBER)["handoffs"]
    assert handoffs["total"] == 2
    assert handoffs["by_reason"] == {
        "customer_asked": 1,
        "not_understood": 0,
        "payments_declined": 1,
    }
    assert handoffs["by_language"]["zh"]["payments_declined"] == 1
    assert handoffs["by_language"]["en"]["customer_asked"] == 1
    assert (handoffs["median_minutes_to_claim"], handoffs["median_minutes_to_close"]) == (10, 34)
    assert (handoffs["claimed"], handoffs["still_open"]) == (1, 1)


def test_not_understood_per_language_with_top_texts(history: Engine) -> None:
    nlu = compute(history, NOVEMBER)["not_understood"]
    assert nlu["total"] == 5
    assert nlu["by_language"] == {
        "en": {"total": 1, "fallback": 1, "low_confidence": 0},
        "lv": {"total": 3, "fallback": 2, "low_confidence": 1},
        "zh": {"total": 1, "fallback": 0, "low_confidence": 1},
    }
    assert nlu["top_texts"] == [
        {"language": "lv", "text": "kas ar to?", "count": 3, "inbox_url": "/console/inbox?lang=lv"},
        {"language": "en", "text": "hmm", "count": 1, "inbox_url": "/console/inbox?lang=en"},
        {"language": "zh", "text": "账户", "count": 1, "inbox_url": "/console/inbox?lang=zh"},
    ]


def test_one_language_only(history: Engine) -> None:
    latvian = compute(history, Period(NOVEMBER.since, NOVEMBER.until, language="lv"))
    assert latvian["languages"] == ["lv"]
    assert latvian["totals"]["conversations"] == 1 and latvian["totals"]["handoffs"] == 0
    assert _recovered(latvian["totals"]) == {"EUR": 2550}
    assert latvian["not_understood"]["total"] == 3
    assert {d["language"] for d in latvian["by_day"]} == {"lv"}


def test_demo_history_is_never_counted_with_real_activity(history: Engine) -> None:
    demo = compute(history, Period(NOVEMBER.since, NOVEMBER.until, demo=True))
    assert demo["period"]["data"] == "demo"
    assert demo["totals"]["conversations"] == 1 and demo["totals"]["contained"] == 0
    assert demo["totals"]["after_handoff"] == 1
    assert _recovered(demo["totals"]) == {"CNY": 5000}
    assert demo["handoffs"]["total"] == 1 and demo["not_understood"]["total"] == 1


def test_the_day_before_and_an_empty_period(history: Engine) -> None:
    october = compute(history, Period(dt.date(2026, 10, 31), dt.date(2026, 10, 31)))
    assert october["totals"]["contained"] == 0 and october["totals"]["after_handoff"] == 1
    assert october["handoffs"]["by_reason"]["not_understood"] == 1
    empty = compute(history, Period(dt.date(2025, 1, 1), dt.date(2025, 1, 2)))
    assert empty["totals"]["conversations"] == 0
    assert empty["totals"]["containment_rate"] is None
    assert empty["totals"]["median_minutes_to_payment"] is None
    assert empty["declines"] == [] and empty["not_understood"]["top_texts"] == []


def test_a_period_must_make_sense() -> None:
    with pytest.raises(BadPeriod, match="after it ends"):
        Period(dt.date(2026, 11, 2), dt.date(2026, 11, 1))
    with pytest.raises(BadPeriod, match="en, lv, zh"):
        Period(dt.date(2026, 11, 1), dt.date(2026, 11, 1), language="de")


def test_a_conversation_is_noted_once_and_its_payment_follows_it(seeded_engine: Engine) -> None:
    from bot.billing.accounts import find_past_due

    with session_scope(seeded_engine) as session:
        due = find_past_due(session, "cust-lv-owner")[0]
        # The demo cards were on file before the conversation (seeding stamps them
        # with the real clock, which may already be past its start).
        session.execute(
            update(PaymentMethod)
            .where(PaymentMethod.customer_id == "cust-lv-owner")
            .values(created_at=at(29, 12, 0))
        )
    for _ in range(2):  # every billing action looks the balance up again
        with session_scope(seeded_engine) as session:
            note_billing_conversation(
                session,
                conversation_id="widget-1",
                customer_id="cust-lv-owner",
                balance_ids=[due.balance_id],
                language="lv",
                started_at=at(30, 23, 59),
            )
    with session_scope(seeded_engine) as session:
        mastercard = next(c.id for c in find_past_due(session, "cust-lv-owner")[0].other_cards)
    resubmit(
        seeded_engine,
        SimulatedGateway(),
        "cust-lv-owner",
        due.balance_id,
        mastercard,
        conversation_id="widget-1",
    )
    with session_scope(seeded_engine) as session:
        rows = session.scalars(select(BillingConversation)).all()
        assert [(r.conversation_id, r.day) for r in rows] == [("widget-1", dt.date(2026, 11, 30))]
        attempt = session.scalars(
            select(PaymentAttempt).where(PaymentAttempt.status == "approved")
        ).one()
        assert attempt.conversation_id == "widget-1"
    day = Period(dt.date(2026, 11, 30), dt.date(2026, 11, 30), language="lv")
    totals = compute(seeded_engine, day)["totals"]
    assert (totals["contained"], _recovered(totals)) == (1, {"EUR": 2550})
    # The demo renewal declined on the Visa; the Mastercard paid.
    assert totals["settling_paths"]["other_card"] == 1


def test_facts_follow_a_conversation_until_it_is_settled(engine: Engine) -> None:
    from bot.insights.facts import refresh_facts
    from tests.insights.history import Customer_

    with session_scope(engine) as session:
        customer = Customer_(session, "lv", 2550, "EUR")
        customer.renewal_declined("expired_card", at(1, 6))
        conversation = customer.conversation(at(2, 10))
    day = Period(dt.date(2026, 11, 2), dt.date(2026, 11, 2))
    with session_scope(engine) as session:
        assert refresh_facts(session, now=at(2, 10, 5)) == 1
    with session_scope(engine) as session:
        payer = customer_in(session, customer)
        payer.attempt(payer.failing, "approved", at(2, 10, 20), conversation=conversation)
        # Derived 10 seconds ago: not again yet.
        assert refresh_facts(session, now=at(2, 10, 5) + dt.timedelta(seconds=10)) == 0
        assert refresh_facts(session, now=at(2, 10, 21)) == 1
    with session_scope(engine) as session:
        # Settled is final: never derived again.
        assert refresh_facts(session, now=at(2, 11)) == 0
    totals = compute(engine, day)["totals"]
    assert (totals["contained"], totals["median_minutes_to_payment"]) == (1, 20)


def customer_in(session, customer):
    """The helper bound to another session (its rows are already stored)."""
    customer.session = session
    customer.balance = session.merge(customer.balance)
    customer.failing = session.merge(customer.failing)
    return customer


def test_reseeding_the_demo_customers_drops_their_notes(seeded_engine: Engine) -> None:
    """`make run` reseeds the demo customers on every start: their notes go too."""
    from bot.billing.accounts import find_past_due
    from bot.ops.demo import seed_demo

    with session_scope(seeded_engine) as session:
        due = find_past_due(session, "cust-en-owner")[0]
        note_billing_conversation(
            session,
            conversation_id="widget-2",
            customer_id="cust-en-owner",
            balance_ids=[due.balance_id],
            language="en",
            started_at=at(30, 9),
        )
    with session_scope(seeded_engine) as session:
        seed_demo(session)
    with session_scope(seeded_engine) as session:
        assert session.scalars(select(BillingConversation)).all() == []

"""action_explain_notice: the 48-hour note, with the customer's own payment times."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from actions.notice import ActionExplainNotice
from bot.db import PaymentAttempt, PaymentMethod, session_scope
from bot.payments import SimulatedGateway
from bot.settlement import resubmit
from tests.actions.conftest import make_tracker, run_action, token_for


def _pay_lv_owner(engine: Engine, hours_ago: float) -> None:
    with session_scope(engine) as session:
        card = session.scalars(select(PaymentMethod.id).where(PaymentMethod.last4 == "5454")).one()
        balance = session.scalars(
            select(PaymentAttempt.balance_id).where(
                PaymentAttempt.idempotency_key == "demo-renewal-cust-lv-owner"
            )
        ).one()
    resubmit(engine, SimulatedGateway(), "cust-lv-owner", balance, card)
    with session_scope(engine) as session:
        attempt = session.scalars(
            select(PaymentAttempt).where(PaymentAttempt.status == "approved")
        ).one()
        attempt.completed_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=hours_ago)


@pytest.mark.parametrize(
    "hours_ago, response",
    [(2, "utter_still_past_due_recent"), (49, "utter_still_past_due_after_48h")],
)
def test_a_paid_customer_gets_the_times_or_a_person(
    app_db: Engine, domain_dict, render, hours_ago, response
) -> None:
    _pay_lv_owner(app_db, hours_ago)
    tracker = make_tracker(
        intent="still_past_due", language="lv", metadata=token_for("cust-lv-owner")
    )
    messages, _ = run_action(ActionExplainNotice(), tracker, domain_dict)
    assert [m["response"] for m in messages] == [response]
    (rendered,) = render(messages, "lv")
    assert "25,50\u00a0€" in rendered["text"] and "UTC" in rendered["text"]


def test_an_unpaid_customer_is_shown_the_open_balance(app_db, domain_dict) -> None:
    tracker = make_tracker(intent="still_past_due", metadata=token_for("cust-en-owner"))
    messages, _ = run_action(ActionExplainNotice(), tracker, domain_dict)
    assert messages[0]["response"] == "utter_past_due_summary"


@pytest.mark.parametrize("customer", [None, "cust-en-current"])
def test_otherwise_the_general_48_hour_note(app_db, domain_dict, customer) -> None:
    metadata = token_for(customer) if customer else {}
    tracker = make_tracker(intent="still_past_due", metadata=metadata)
    messages, _ = run_action(ActionExplainNotice(), tracker, domain_dict)
    assert [m["response"] for m in messages] == ["utter_still_past_due"]

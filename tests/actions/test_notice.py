"""action_explain_notice: the 48-hour note, with the customer's own payment times."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from actions.notice import ActionExplainNotice
from bot.billing.payments import SimulatedGateway
from bot.billing.settlement import resubmit
from bot.db import PaymentAttempt, PaymentMethod, session_scope
from tests.actions.conftest import make_tracker, run_action, token_for

NBSP = "\u00a0"


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


@pytest.mark.parametrize(
    "timezone, language, moment",
    [
        ("Europe/Riga", "lv", r"\d{1,2}\. \w+ \d{2}:\d{2} \(Rīgas laiks\)"),
        ("Asia/Shanghai", "zh", r"\d{1,2}月\d{1,2}日 \d{2}:\d{2}（北京时间）"),
        ("America/New_York", "en", r"\w+ \d{1,2}, \d{1,2}:\d{2}\u202f[AP]M \(New York time\)"),
        ("Not/AZone", "lv", r"\d{1,2}\. \w+ \d{2}:\d{2} \(UTC\)"),
    ],
)
def test_the_payment_times_are_in_the_customers_time_zone(
    app_db: Engine, domain_dict, render, timezone, language, moment
) -> None:
    _pay_lv_owner(app_db, 2)
    # The zone came with an earlier message; the latest one (the card form's) has none.
    earlier = {"event": "user", "text": "hi", "metadata": {"timezone": timezone}}
    tracker = make_tracker(
        intent="still_past_due", language=language, metadata=token_for("cust-lv-owner")
    )
    tracker.events = [earlier]
    messages, _ = run_action(ActionExplainNotice(), tracker, domain_dict)
    (rendered,) = render(messages, language)
    assert len(re.findall(moment, rendered["text"])) == 2, rendered["text"]


@pytest.mark.parametrize(
    "language, words",
    [
        ("en", ["I don't see a payment", "$6.00", "48 hours", "Microsoft 365 Business Basic"]),
        ("lv", ["Pagaidām neredzu", f"6,00{NBSP}$", "48 stundām", "bankas pārskaitījumu"]),
        ("zh", ["还没有查到", "US$6.00", "48 小时", "银行转账"]),
    ],
)
def test_an_unpaid_customer_is_told_no_payment_is_seen_yet(
    app_db, domain_dict, render, language, words
) -> None:
    tracker = make_tracker(
        intent="still_past_due", language=language, metadata=token_for("cust-en-owner")
    )
    messages, _ = run_action(ActionExplainNotice(), tracker, domain_dict)
    assert [m["response"] for m in messages] == ["utter_still_past_due_no_payment"]
    (rendered,) = render(messages, language)
    assert all(word in rendered["text"] for word in words), rendered["text"]
    payloads = [b["payload"] for b in rendered["buttons"]]
    assert payloads == ["/settle_balance", "/request_human"]


@pytest.mark.parametrize(
    "customer, responses",
    [
        (None, ["utter_still_past_due"]),
        ("cust-en-current", ["utter_nothing_past_due", "utter_still_past_due"]),
    ],
)
def test_otherwise_the_general_48_hour_note(app_db, domain_dict, customer, responses) -> None:
    metadata = token_for(customer) if customer else {}
    tracker = make_tracker(intent="still_past_due", metadata=metadata)
    messages, _ = run_action(ActionExplainNotice(), tracker, domain_dict)
    assert [m["response"] for m in messages] == responses

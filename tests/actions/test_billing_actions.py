"""action_explain_past_due against a real SQLite database and the real domain."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine

from actions.billing import ActionExplainPastDue
from bot.i18n import detect_language
from tests.actions.conftest import make_tracker, run_action, token_for

NBSP = "\u00a0"


@pytest.mark.parametrize(
    "customer, language, facts, reason_response, options_response, buttons",
    [
        (
            "cust-lv-owner",
            "lv",
            [
                "Microsoft 365 Business Standard",
                f"25,50{NBSP}€",
                "2026. gada 1. novembris",
                "Visa",
                "4242",
                "03/2026",
                "derīguma termiņš",
            ],
            "utter_decline_reason_expired_card",
            "utter_settle_options_owner",
            ["/change_expiry", "/pick_other_card", "/add_new_card"],
        ),
        (
            "cust-zh-nonowner",
            "zh",
            ["Microsoft 365 E3", "¥1,080.00", "2026年11月5日", "1111", "余额不足"],
            "utter_decline_reason_insufficient_funds",
            "utter_settle_options_nonowner",
            ["/pick_other_card", "/add_new_card"],
        ),
        (
            "cust-en-owner",
            "en",
            [
                "Microsoft 365 Business Basic",
                "$6.00",
                "November 10, 2026",
                "American Express",
                "8431",
                "expired",
            ],
            "utter_decline_reason_expired_card",
            "utter_settle_options_owner",
            ["/change_expiry", "/pick_other_card", "/add_new_card"],
        ),
    ],
)
def test_the_past_due_summary_tells_the_facts_in_the_customers_language(
    app_db: Engine,
    domain_dict,
    render,
    customer,
    language,
    facts,
    reason_response,
    options_response,
    buttons,
) -> None:
    tracker = make_tracker(language=language, metadata=token_for(customer))
    messages, events = run_action(ActionExplainPastDue(), tracker, domain_dict)

    assert [m["response"] for m in messages] == [
        "utter_past_due_summary",
        reason_response,
        options_response,
    ]
    assert events == []
    rendered = render(messages, language)
    text = " ".join(r["text"] for r in rendered)
    for fact in facts:
        assert fact in text
    assert [b["payload"] for b in rendered[2]["buttons"]] == buttons
    for reply in rendered:
        assert detect_language(reply["text"]) == language, reply["text"]


def test_a_customer_with_nothing_past_due_is_told_so(app_db, domain_dict) -> None:
    tracker = make_tracker(metadata=token_for("cust-en-current"))
    messages, _ = run_action(ActionExplainPastDue(), tracker, domain_dict)
    assert [m["response"] for m in messages] == ["utter_nothing_past_due"]


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param({}, id="no-token"),
        pytest.param({"customer_token": "garbage"}, id="garbage"),
        pytest.param(token_for("cust-lv-owner", ttl=-10), id="expired"),
        pytest.param(token_for("cust-does-not-exist"), id="unknown-customer"),
    ],
)
def test_without_a_valid_token_no_account_data_is_shown(
    app_db, domain_dict, render, metadata
) -> None:
    tracker = make_tracker(language="lv", metadata=metadata)
    messages, _ = run_action(ActionExplainPastDue(), tracker, domain_dict)
    assert [m["response"] for m in messages] == [
        "utter_no_account_access",
        "utter_settle_procedure",
    ]
    text = " ".join(r["text"] for r in render(messages, "lv"))
    assert "25,50" not in text and "4242" not in text
    assert "Noslēgt bilanci" in text


def test_the_sender_id_alone_grants_nothing(app_db, domain_dict) -> None:
    tracker = make_tracker(metadata={"customer_id": "cust-lv-owner"})
    tracker.sender_id = "cust-lv-owner"
    messages, _ = run_action(ActionExplainPastDue(), tracker, domain_dict)
    assert messages[0]["response"] == "utter_no_account_access"


def test_one_customers_token_shows_only_that_customers_data(app_db, domain_dict) -> None:
    tracker = make_tracker(metadata=token_for("cust-zh-nonowner"), language="en")
    messages, _ = run_action(ActionExplainPastDue(), tracker, domain_dict)
    values = " ".join(str(v) for m in messages for v in m.values())
    assert "1111" in values and "E3" in values
    assert "4242" not in values and "Business Standard" not in values


def test_a_database_failure_is_an_apology_not_a_crash(domain_dict, monkeypatch) -> None:
    from bot.config import get_settings

    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    tracker = make_tracker(metadata=token_for("cust-lv-owner"))
    messages, _ = run_action(ActionExplainPastDue(), tracker, domain_dict)
    assert [m["response"] for m in messages] == ["utter_billing_unavailable"]


def test_showing_a_balance_notes_the_conversation_for_the_insights(app_db, domain_dict) -> None:
    from sqlalchemy import select

    from bot.db import BillingConversation, session_scope

    tracker = make_tracker(language="lv", metadata=token_for("cust-lv-owner"))
    # The customer's first message, at 23:58 UTC on 30 November 2026.
    tracker.events = [{"event": "user", "timestamp": 1796083080.0, "text": "sveiki"}]
    for _ in range(2):
        run_action(ActionExplainPastDue(), tracker, domain_dict)
    with session_scope(app_db) as session:
        rows = session.execute(
            select(
                BillingConversation.conversation_id,
                BillingConversation.customer_id,
                BillingConversation.language,
                BillingConversation.day,
                BillingConversation.demo,
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        (tracker.sender_id, "cust-lv-owner", "lv", dt.date(2026, 11, 30), False)
    ]

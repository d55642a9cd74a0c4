"""Handing over to a person and back, with real trackers and the real database."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, ConversationPaused, FollowupAction, SlotSet
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from actions.handoff import (
    ActionFallback,
    ActionHandoff,
    ActionResumeAfterHandoff,
    previous_answer_was_fallback,
)
from actions.session import ActionSessionStart
from bot.db import HandoffTicket, PaymentMethod, session_scope
from bot.support import handoff
from tests.actions.conftest import make_tracker, run_action, token_for


def _with_events(tracker: Tracker, events: list[dict[str, Any]]) -> Tracker:
    tracker.events = events
    return tracker


def _user(text: str, intent: str, at: float) -> dict[str, Any]:
    return {
        "event": "user",
        "text": text,
        "timestamp": at,
        "parse_data": {"intent": {"name": intent}},
    }


def _action(name: str, at: float) -> dict[str, Any]:
    return {"event": "action", "name": name, "timestamp": at}


def _tickets(engine: Engine) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        return [
            {
                "conversation": t.conversation_id,
                "customer": t.customer_id,
                "reason": t.reason,
                "language": t.language,
                "status": t.status,
                "packet": t.packet,
            }
            for t in session.scalars(select(HandoffTicket))
        ]


def test_asking_for_a_person_queues_a_ticket_and_pauses_the_bot(
    app_db: Engine, domain_dict: dict, render
) -> None:
    tracker = _with_events(
        make_tracker(
            "Gribu runāt ar cilvēku", "request_human", "lv", metadata=token_for("cust-lv-owner")
        ),
        [
            _user("Mans maksājums neizdevās", "payment_declined", 1_700_000_000.0),
            {"event": "bot", "text": "Jūsu abonementam ...", "timestamp": 1_700_000_001.0},
            _user("/change_expiry", "change_expiry", 1_700_000_002.0),
            _user("Gribu runāt ar cilvēku", "request_human", 1_700_000_003.0),
        ],
    )
    tracker.slots["expiry_failures"] = 2.0
    messages, events = run_action(ActionHandoff(), tracker, domain_dict)
    assert events == [ConversationPaused()]
    assert [m["response"] for m in messages] == ["utter_handoff_queued", None]
    assert messages[1]["custom"] == {"handoff": {"status": "waiting", "position": 1}}
    (text,) = [r["text"] for r in render(messages[:1], "lv")]
    assert "Jūsu vieta rindā: 1" in text
    (ticket,) = _tickets(app_db)
    packet = ticket["packet"]
    assert ticket["conversation"] == "test-sender" and ticket["reason"] == "customer_asked"
    assert (ticket["customer"], ticket["language"], ticket["status"]) == (
        "cust-lv-owner",
        "lv",
        "waiting",
    )
    assert packet["customer"] == {"id": "cust-lv-owner", "name": "Līga Kalniņa"}
    assert packet["subscription"] == "Microsoft 365 Business Standard"
    assert packet["past_due"]["amount"] == "€25.50"
    assert packet["failing_card"] == {"brand": "Visa", "last4": "4242", "expiry": "03/2026"}
    assert packet["decline_reason"] == "expired_card"
    assert packet["tried"] == [
        "Chose to change the card's expiry date",
        "Typed an expiry date the bot could not accept (2x)",
        "Payment of €25.50 with Visa ending 4242: declined (expired_card), 2026-11-01 06:00 UTC",
    ]
    assert [line["role"] for line in packet["transcript"]] == [
        "customer",
        "bot",
        "customer",
        "customer",
    ]


def test_asking_twice_keeps_one_ticket_and_its_place(app_db: Engine, domain_dict: dict) -> None:
    tracker = make_tracker("agent please", "request_human", metadata=token_for("cust-en-owner"))
    other = make_tracker("agent", "request_human", metadata=token_for("cust-lv-owner"))
    other.sender_id = "someone-else"
    run_action(ActionHandoff(), other, domain_dict)
    first, _ = run_action(ActionHandoff(), tracker, domain_dict)
    second, _ = run_action(ActionHandoff(), tracker, domain_dict)
    assert first[0]["position"] == second[0]["position"] == 2
    assert len(_tickets(app_db)) == 2


def test_without_a_token_the_ticket_says_so(app_db: Engine, domain_dict: dict) -> None:
    messages, events = run_action(
        ActionHandoff(), make_tracker("human", "request_human", "zh"), domain_dict
    )
    assert events == [ConversationPaused()]
    (ticket,) = _tickets(app_db)
    assert ticket["customer"] is None and ticket["packet"]["customer"] is None
    assert ticket["packet"]["past_due"] is None and ticket["language"] == "zh"


def test_when_the_queue_is_unreachable_the_bot_says_how_to_reach_support(
    monkeypatch: pytest.MonkeyPatch, domain_dict: dict
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://nobody@127.0.0.1:1/none")
    from bot.config import get_settings

    get_settings.cache_clear()
    messages, events = run_action(
        ActionHandoff(), make_tracker("human", "request_human"), domain_dict
    )
    assert events == [] and [m["response"] for m in messages] == ["utter_contact_support"]


def test_two_fallbacks_in_a_row_hand_over(app_db: Engine, domain_dict: dict) -> None:
    first = _with_events(
        make_tracker("blorf", "nlu_fallback"),
        [
            _user("hello", "greet", 1.0),
            _action("utter_greet", 2.0),
            _action("action_listen", 3.0),
            _user("blorf", "nlu_fallback", 4.0),
        ],
    )
    messages, events = run_action(ActionFallback(), first, domain_dict)
    assert [m["response"] for m in messages] == ["utter_default"] and events == []
    second = _with_events(
        make_tracker("zzzq", "nlu_fallback"),
        [
            *first.events,
            _action("action_fallback", 5.0),
            _action("action_listen", 6.0),
            _user("zzzq", "nlu_fallback", 7.0),
        ],
    )
    assert previous_answer_was_fallback(second)
    messages, events = run_action(ActionFallback(), second, domain_dict)
    assert events == [ConversationPaused()]
    assert _tickets(app_db)[0]["reason"] == "not_understood"


def test_a_fallback_after_an_understood_message_asks_again(domain_dict: dict) -> None:
    tracker = _with_events(
        make_tracker("zzzq", "nlu_fallback"),
        [
            _user("blorf", "nlu_fallback", 1.0),
            _action("action_fallback", 2.0),
            _user("thanks", "thank_you", 3.0),
            _action("utter_you_are_welcome", 4.0),
            _user("zzzq", "nlu_fallback", 5.0),
        ],
    )
    assert not previous_answer_was_fallback(tracker)


def test_handing_back_after_the_card_was_fixed_offers_to_pay(
    app_db: Engine, domain_dict: dict
) -> None:
    with session_scope(app_db) as session:
        card_id = session.scalars(
            select(PaymentMethod.id).where(
                PaymentMethod.last4 == "4242", PaymentMethod.customer_id == "cust-lv-owner"
            )
        ).one()
        session.execute(
            update(PaymentMethod).where(PaymentMethod.id == card_id).values(exp_year=2031)
        )
    tracker = make_tracker(
        "",
        "EXTERNAL_handed_back",
        "lv",
        metadata=token_for("cust-lv-owner"),
        slots={"payment_declines": 2.0},
    )
    messages, events = run_action(ActionResumeAfterHandoff(), tracker, domain_dict)
    assert [m["response"] for m in messages] == ["utter_handed_back"]
    assert events == [
        SlotSet("payment_declines", 0.0),
        SlotSet("expiry_failures", 0.0),
        SlotSet("save_kind", "card"),
        SlotSet("chosen_card_id", str(card_id)),
        FollowupAction("action_confirm_save"),
    ]


def test_handing_back_with_the_card_still_failing_shows_the_options(
    app_db: Engine, domain_dict: dict
) -> None:
    tracker = make_tracker("", "EXTERNAL_handed_back", "zh", metadata=token_for("cust-zh-nonowner"))
    messages, _ = run_action(ActionResumeAfterHandoff(), tracker, domain_dict)
    assert [m["response"] for m in messages] == [
        "utter_handed_back",
        "utter_past_due_summary",
        "utter_decline_reason_insufficient_funds",
        "utter_settle_options_nonowner",
    ]


def test_a_new_session_stays_paused_while_the_ticket_is_open(
    app_db: Engine, domain_dict: dict
) -> None:
    tracker = make_tracker()
    _, events = run_action(ActionSessionStart(), tracker, domain_dict)
    assert ConversationPaused() not in events
    with session_scope(app_db) as session:
        handoff.open_ticket(
            session,
            conversation_id=tracker.sender_id,
            customer_id=None,
            language="en",
            reason="customer_asked",
            packet={},
        )
    _, events = run_action(ActionSessionStart(), tracker, domain_dict)
    assert events[-2:] == [ConversationPaused(), ActionExecuted("action_listen")]


def test_rasas_own_fallback_counts_too(domain_dict: dict) -> None:
    tracker = _with_events(
        make_tracker("zzzq", "nlu_fallback"),
        [
            _user("the moon is cheese", "settle_balance", 1.0),
            _action("action_default_fallback", 2.0),
            {"event": "bot", "text": "Sorry, I didn't quite get that.", "timestamp": 2.5},
            {"event": "rewind", "timestamp": 2.6},
            _action("action_listen", 3.0),
            _user("zzzq", "nlu_fallback", 4.0),
        ],
    )
    assert previous_answer_was_fallback(tracker)

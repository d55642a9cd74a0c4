"""The settle-balance actions with real trackers, the real domain and SQLite."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk.events import ConversationPaused, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.engine import Engine

from actions.billing import ActionExplainPastDue
from actions.settle import (
    ActionConfirmSave,
    ActionOfferOtherCards,
    ActionSaveAndPay,
    ActionSendCardForm,
    ActionStartChangeExpiry,
    ValidateExpiryForm,
    save_target,
)
from bot.billing.accounts import find_past_due
from bot.db import HandoffTicket, PaymentAttempt, PaymentMethod, session_scope
from tests.actions.conftest import apply_slots, make_tracker, run_action, token_for

NBSP = "\u00a0"


def _responses(messages: list[dict]) -> list[str]:
    return [m["response"] for m in messages]


def test_an_owner_gets_the_expiry_form(app_db: Engine, domain_dict) -> None:
    tracker = make_tracker(intent="change_expiry", metadata=token_for("cust-lv-owner"))
    messages, events = run_action(ActionStartChangeExpiry(), tracker, domain_dict)
    assert messages == []
    assert events == [
        SlotSet("save_kind", "expiry"),
        SlotSet("new_expiry", None),
        SlotSet("expiry_failures", 0.0),
        FollowupAction("expiry_form"),
    ]


def test_a_non_owner_is_told_why_not_and_what_instead(app_db: Engine, domain_dict, render) -> None:
    tracker = make_tracker(
        intent="change_expiry", language="zh", metadata=token_for("cust-zh-nonowner")
    )
    messages, events = run_action(ActionStartChangeExpiry(), tracker, domain_dict)
    assert events == []
    assert _responses(messages) == ["utter_not_owner_cannot_change_expiry"]
    (rendered,) = render(messages, "zh")
    assert "1111" in rendered["text"]
    assert [b["payload"] for b in rendered["buttons"]] == ["/pick_other_card", "/add_new_card"]


def _forget_the_declined_charge(engine: Engine, customer_id: str) -> None:
    """The balance stays open, but no card charge has failed for it."""
    with session_scope(engine) as session:
        for attempt in session.scalars(
            select(PaymentAttempt).where(
                PaymentAttempt.idempotency_key == f"demo-renewal-{customer_id}"
            )
        ):
            session.delete(attempt)


@pytest.mark.parametrize(
    "language, said, not_said",
    [
        ("en", ["No card payment has been declined", "$6.00"], "owner"),
        ("lv", ["neviens kartes maksājums nav noraidīts", f"6,00{NBSP}$"], "nepieder"),
        ("zh", ["没有扣款被拒的记录", "US$6.00"], "持卡人"),
    ],
)
def test_with_no_failing_card_the_expiry_change_is_explained_truthfully(
    app_db: Engine, domain_dict, render, language, said, not_said
) -> None:
    _forget_the_declined_charge(app_db, "cust-en-owner")
    tracker = make_tracker(
        intent="change_expiry", language=language, metadata=token_for("cust-en-owner")
    )
    messages, events = run_action(ActionStartChangeExpiry(), tracker, domain_dict)
    assert events == [] and _responses(messages) == ["utter_no_failed_card_to_change"]
    (rendered,) = render(messages, language)
    assert all(words in rendered["text"] for words in said) and not_said not in rendered["text"]
    assert [b["payload"] for b in rendered["buttons"]] == ["/pick_other_card", "/add_new_card"]


def test_with_no_failing_card_the_options_name_no_owner(app_db: Engine, domain_dict) -> None:
    _forget_the_declined_charge(app_db, "cust-en-owner")
    tracker = make_tracker(metadata=token_for("cust-en-owner"))
    messages, _ = run_action(ActionExplainPastDue(), tracker, domain_dict)
    assert _responses(messages) == ["utter_past_due_summary", "utter_settle_options_any_card"]


def _validate(text: str, intent: str = "change_expiry", failures: float = 0, **kw):
    tracker = make_tracker(
        text=text,
        intent=intent,
        metadata=token_for("cust-en-owner"),
        slots={"expiry_failures": failures, **kw},
    )
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ValidateExpiryForm().validate_new_expiry(text, dispatcher, tracker, {}))
    return result, _responses(dispatcher.messages)


@pytest.mark.usefixtures("app_db")
@pytest.mark.parametrize(
    "text, intent, failures, result, responses",
    [
        ("12/27", "change_expiry", 0, {"new_expiry": "12/2027"}, []),
        ("2027年12月", "nlu_fallback", 1, {"new_expiry": "12/2027"}, []),
        ("soon", "nlu_fallback", 0, {"new_expiry": None, "expiry_failures": 1.0},
         ["utter_expiry_not_a_date"]),
        ("10/2026", "change_expiry", 0, {"new_expiry": None, "expiry_failures": 1.0},
         ["utter_expiry_in_the_past"]),
        ("12/2099", "change_expiry", 1, {"new_expiry": None, "expiry_failures": 2.0},
         ["utter_expiry_too_far_ahead", "utter_expiry_give_up"]),
        ("how much do I owe?", "settle_balance", 1, {"new_expiry": None},
         ["utter_past_due_summary", "utter_decline_reason_expired_card"]),
        ("I paid already", "still_past_due", 0, {"new_expiry": None},
         ["utter_still_past_due_no_payment"]),
    ],
)  # fmt: skip
def test_expiry_answers(text, intent, failures, result, responses) -> None:
    assert _validate(text, intent, failures) == (result, responses)


def test_after_two_misses_the_form_asks_nothing_more() -> None:
    tracker = make_tracker(slots={"expiry_failures": 2.0})
    slots = asyncio.run(
        ValidateExpiryForm().required_slots(["new_expiry"], CollectingDispatcher(), tracker, {})
    )
    assert slots == []


def test_confirming_the_expiry_names_card_date_and_amount(app_db, domain_dict, render) -> None:
    tracker = make_tracker(
        language="lv",
        metadata=token_for("cust-lv-owner"),
        slots={"save_kind": "expiry", "new_expiry": "12/2027"},
    )
    messages, _ = run_action(ActionConfirmSave(), tracker, domain_dict)
    (rendered,) = render(messages, "lv")
    assert "4242" in rendered["text"] and "12/2027" in rendered["text"]
    assert "25,50\u00a0€" in rendered["text"]


def test_other_cards_are_offered_as_buttons(app_db, domain_dict) -> None:
    tracker = make_tracker(metadata=token_for("cust-lv-owner"))
    messages, events = run_action(ActionOfferOtherCards(), tracker, domain_dict)
    (message,) = messages
    assert message["response"] == "utter_choose_card"
    assert [b["title"] for b in message["buttons"]] == ["Mastercard •••• 5454 (08/2029)"]
    assert message["buttons"][0]["payload"].startswith('/choose_card{"card_id":"')
    assert events == [SlotSet("save_kind", "card")]


def test_a_card_of_another_customer_cannot_be_chosen(app_db: Engine, domain_dict) -> None:
    with session_scope(app_db) as session:
        foreign = session.scalars(
            select(PaymentMethod.id).where(PaymentMethod.customer_id == "cust-zh-nonowner")
        ).first()
    tracker = make_tracker(
        metadata=token_for("cust-lv-owner"),
        slots={"save_kind": "card", "chosen_card_id": str(foreign)},
    )
    messages, events = run_action(ActionConfirmSave(), tracker, domain_dict)
    assert _responses(messages)[0] == "utter_card_unavailable"
    # Nothing was put to the customer, so a "yes" now gets the options, not a payment.
    apply_slots(tracker, events)
    paid, _ = run_action(ActionSaveAndPay(), tracker, domain_dict)
    assert _responses(paid) == ["utter_settle_options_owner"]
    # Even with a confirmation forged for that card, Save refuses it.
    with session_scope(app_db) as session:
        (due, *_) = find_past_due(session, "cust-lv-owner")
    tracker.slots.update({"save_kind": "card", "chosen_card_id": str(foreign)})
    tracker.slots["confirmed_save"] = save_target("cust-lv-owner", due, tracker, "card")
    paid, _ = run_action(ActionSaveAndPay(), tracker, domain_dict)
    assert _responses(paid)[0] == "utter_card_unavailable"


def test_save_and_pay_with_the_expiry_settles_once(app_db, domain_dict, render) -> None:
    tracker = make_tracker(
        metadata=token_for("cust-lv-owner"),
        language="en",
        slots={"save_kind": "expiry", "new_expiry": "12/2027"},
    )
    apply_slots(tracker, run_action(ActionConfirmSave(), tracker, domain_dict)[1])
    messages, events = run_action(ActionSaveAndPay(), tracker, domain_dict)
    assert _responses(messages) == ["utter_payment_approved", "utter_notice_may_stay"]
    assert SlotSet("payment_declines", 0.0) in events
    text = " ".join(r["text"] for r in render(messages, "en"))
    assert "25,50" not in text and "€25.50" in text and "UTC" in text
    again, _ = run_action(ActionSaveAndPay(), tracker, domain_dict)
    assert _responses(again) == ["utter_nothing_past_due"]


def test_save_refuses_what_was_not_confirmed_for_this_account(app_db, domain_dict) -> None:
    """A confirmation given for one account never changes or charges another."""
    slots = {"save_kind": "expiry", "new_expiry": "12/2027"}
    asked = make_tracker(metadata=token_for("cust-lv-owner"), slots=dict(slots))
    confirmed = apply_slots(asked, run_action(ActionConfirmSave(), asked, domain_dict)[1])
    other = make_tracker(
        metadata=token_for("cust-en-owner"), slots={**slots, **confirmed.slots, "language": "en"}
    )
    messages, events = run_action(ActionSaveAndPay(), other, domain_dict)
    assert _responses(messages)[0] == "utter_confirmation_outdated"
    assert SlotSet("confirmed_save", None) in events
    unconfirmed = make_tracker(metadata=token_for("cust-lv-owner"), slots=dict(slots))
    messages, _ = run_action(ActionSaveAndPay(), unconfirmed, domain_dict)
    assert _responses(messages) == ["utter_settle_options_owner"]
    with session_scope(app_db) as session:
        attempts = session.scalars(
            select(PaymentAttempt).where(PaymentAttempt.status == "approved")
        ).all()
        expiries = session.execute(
            select(PaymentMethod.last4, PaymentMethod.exp_year).where(
                PaymentMethod.last4.in_(["4242", "8431"])
            )
        ).all()
    assert attempts == []
    assert sorted(expiries) == [("4242", 2026), ("4242", 2028), ("8431", 2026)]


def test_a_second_decline_hands_over_to_a_person(app_db, domain_dict) -> None:
    tracker = make_tracker(
        metadata=token_for("cust-zh-nonowner"),
        language="zh",
        slots={"save_kind": "card", "payment_declines": 1.0},
    )
    with session_scope(app_db) as session:
        failing = session.scalars(
            select(PaymentMethod.id).where(PaymentMethod.last4 == "1111")
        ).one()
    tracker.slots["chosen_card_id"] = str(failing)
    apply_slots(tracker, run_action(ActionConfirmSave(), tracker, domain_dict)[1])
    messages, events = run_action(ActionSaveAndPay(), tracker, domain_dict)
    assert _responses(messages) == [
        "utter_payment_declined_again",
        "utter_past_due_summary",
        "utter_decline_reason_insufficient_funds",
        "utter_handoff_queued",
        None,
    ]
    assert messages[-1]["custom"] == {"handoff": {"status": "waiting", "position": 1}}
    assert SlotSet("payment_declines", 2.0) in events
    assert ConversationPaused() in events
    with session_scope(app_db) as session:
        ticket = session.scalars(select(HandoffTicket)).one()
        facts = (ticket.reason, ticket.status, ticket.customer_id)
        tried = ticket.packet["tried"]
    assert facts == ("payments_declined", "waiting", "cust-zh-nonowner")
    assert any(
        "UnionPay" not in line and "ending 1111: declined (insufficient_funds)" in line
        for line in tried
    ), tried


def test_the_card_form_link_is_sent_with_a_widget_payload(app_db, domain_dict) -> None:
    tracker = make_tracker(metadata=token_for("cust-en-owner"))
    messages, events = run_action(ActionSendCardForm(), tracker, domain_dict)
    (message,) = messages
    url = message["url"]
    assert message["response"] == "utter_card_form_link"
    assert message["custom"] == {"card_form": {"url": url, "expires_in_seconds": 900}}
    assert "/webhooks/cards/form/" in url
    assert SlotSet("save_kind", "card") in events


def test_an_empty_expiry_is_not_counted_as_a_miss() -> None:
    assert _validate(None) == ({"new_expiry": None}, [])

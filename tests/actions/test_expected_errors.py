"""What every action answers when there is no account to look at, nothing past due,
or no database: real trackers, the real domain, a real SQLite (or none at all)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.billing import ActionExplainPastDue
from actions.handoff import ActionHandoff, ActionResumeAfterHandoff
from actions.notice import ActionExplainNotice
from actions.session import ActionSessionStart
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
from bot.db import session_scope
from tests.actions.conftest import make_tracker, run_action, token_for

NO_ACCOUNT = ["utter_no_account_access", "utter_settle_procedure"]
NO_DATABASE = ["utter_billing_unavailable"]
NOTHING_PAST_DUE = ["utter_nothing_past_due"]
RESUME_RESET = [SlotSet("payment_declines", 0.0), SlotSet("expiry_failures", 0.0)]

# Which customer the message is signed in as, per failure.
SIGNED_IN = {
    "anonymous": None,
    "unknown-customer": "cust-does-not-exist",
    "database-down": "cust-lv-owner",
    "nothing-past-due": "cust-en-current",
}

# action, failure -> the responses the customer gets, the events the action returns
EXPECTED: list[tuple[type[Action], str, list[str], list[Any]]] = [
    *(
        (action, failure, responses, [])
        for action in (
            ActionExplainPastDue,
            ActionStartChangeExpiry,
            ActionOfferOtherCards,
            ActionSendCardForm,
            ActionConfirmSave,
            ActionSaveAndPay,
        )
        for failure, responses in (
            ("anonymous", NO_ACCOUNT),
            ("unknown-customer", NO_ACCOUNT),
            ("database-down", NO_DATABASE),
            ("nothing-past-due", NOTHING_PAST_DUE),
        )
    ),
    (ActionExplainNotice, "anonymous", ["utter_still_past_due"], []),
    (ActionExplainNotice, "unknown-customer", ["utter_still_past_due"], []),
    (ActionExplainNotice, "database-down", ["utter_still_past_due"], []),
    (
        ActionExplainNotice,
        "nothing-past-due",
        ["utter_nothing_past_due", "utter_still_past_due"],
        [],
    ),
    (
        ActionResumeAfterHandoff,
        "anonymous",
        ["utter_handed_back", "utter_how_can_i_help"],
        RESUME_RESET,
    ),
    (
        ActionResumeAfterHandoff,
        "unknown-customer",
        ["utter_handed_back", "utter_how_can_i_help"],
        RESUME_RESET,
    ),
    (
        ActionResumeAfterHandoff,
        "database-down",
        ["utter_handed_back", "utter_how_can_i_help"],
        RESUME_RESET,
    ),
    (
        ActionResumeAfterHandoff,
        "nothing-past-due",
        ["utter_handed_back", "utter_anything_else"],
        RESUME_RESET,
    ),
    (ActionHandoff, "database-down", ["utter_contact_support"], []),
    (
        ActionSessionStart,
        "database-down",
        [],
        [SessionStarted(), SlotSet("language", "en"), ActionExecuted("action_listen")],
    ),
]


@pytest.fixture
def no_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """DATABASE_URL names a port nothing listens on."""
    from bot.config import get_settings

    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()


def _tracker_for(failure: str, request: pytest.FixtureRequest, **kwargs: Any) -> Tracker:
    request.getfixturevalue("no_database" if failure == "database-down" else "app_db")
    customer = SIGNED_IN[failure]
    return make_tracker(metadata=token_for(customer) if customer else {}, **kwargs)


@pytest.mark.parametrize(
    "action_class, failure, responses, events",
    [
        pytest.param(*row, id=f"{row[0].__name__}-{row[1]}")  # type: ignore[attr-defined]
        for row in EXPECTED
    ],
)
def test_each_action_answers_an_expected_failure_with_its_responses(
    action_class: type[Action],
    failure: str,
    responses: list[str],
    events: list[Any],
    request: pytest.FixtureRequest,
    domain_dict: dict[str, Any],
) -> None:
    tracker = _tracker_for(failure, request)
    messages, returned = run_action(action_class(), tracker, domain_dict)
    assert [m["response"] for m in messages] == responses
    assert returned == events


@pytest.mark.parametrize("failure", ["anonymous", "database-down", "nothing-past-due"])
def test_a_question_in_the_expiry_form_without_an_account_is_answered_and_asked_again(
    failure: str, request: pytest.FixtureRequest, domain_dict: dict[str, Any]
) -> None:
    tracker = _tracker_for(
        failure,
        request,
        text="how much do I owe?",
        intent="settle_balance",
        slots={"requested_slot": "new_expiry", "new_expiry": "how much do I owe?"},
    )
    tracker.events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "how much do I owe?"},
        {"event": "slot", "name": "new_expiry", "value": "how much do I owe?"},
    ]
    tracker.active_loop = {"name": "expiry_form"}
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateExpiryForm().run(dispatcher, tracker, domain_dict))
    expected = {
        "anonymous": NO_ACCOUNT,
        "database-down": NO_DATABASE,
        "nothing-past-due": NOTHING_PAST_DUE,
    }[failure]
    assert [m["response"] for m in dispatcher.messages] == expected
    assert events == [SlotSet("new_expiry", None)]


def test_saving_an_expiry_on_someone_elses_card_offers_what_they_may_do(
    app_db, domain_dict: dict[str, Any]
) -> None:
    customer = "cust-zh-nonowner"
    with session_scope(app_db) as session:
        (due,) = find_past_due(session, customer)
    tracker = make_tracker(
        intent="affirm",
        language="zh",
        metadata=token_for(customer),
        slots={"save_kind": "expiry", "new_expiry": "12/2027"},
    )
    tracker.slots["confirmed_save"] = save_target(customer, due, tracker, "expiry")
    messages, events = run_action(ActionSaveAndPay(), tracker, domain_dict)
    assert [m["response"] for m in messages] == ["utter_settle_options_nonowner"]
    assert events == [SlotSet("save_kind", None)]

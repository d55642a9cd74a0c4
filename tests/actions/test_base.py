"""The actions' base class: what the SDK registers, and how errors are answered.

An expected error (one that `error_replies` names) is answered with its responses;
anything else leaves `run` unchanged, the action server answers 500 and logs the
traceback, and Rasa answers the customer with utter_technical_problem
(bot.rasa_plugins.resilience).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import os
import pkgutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import OperationalError

from actions.base import (
    BillingAction,
    BillingContext,
    BillingFormValidationAction,
    run_db,
)
from bot.billing.accounts import NotCardOwner
from bot.billing.payments import IdempotencyKeyReused
from bot.billing.settlement import ChargeInProgress
from bot.config import PROJECT_ROOT
from bot.errors import (
    AuthError,
    BotError,
    ConfigError,
    DatabaseUnavailable,
    NotFound,
    NothingPastDue,
)
from bot.security.installation import ACTION_SECRET_HEADER
from tests.actions.conftest import make_tracker, run_action

NO_ACCOUNT = ["utter_no_account_access", "utter_settle_procedure"]


def _domain_actions() -> list[str]:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    return sorted(domain["actions"])


def _concrete_actions() -> list[type[Action]]:
    """Every action class the modules of the `actions` package define."""
    package = importlib.import_module("actions")
    found = []
    for info in pkgutil.walk_packages(package.__path__, "actions."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                cls.__module__ == module.__name__
                and issubclass(cls, Action)
                and not inspect.isabstract(cls)
            ):
                found.append(cls)
    return found


def test_the_action_server_registers_the_domains_actions_and_not_the_base() -> None:
    # A fresh process, as the action server starts: rasa_sdk registers every
    # imported Action subclass that is not abstract, not only the package's.
    script = textwrap.dedent(
        """
        import json
        from rasa_sdk.executor import ActionExecutor
        from actions.base import BillingContext

        executor = ActionExecutor()
        executor.register_package("actions")
        print(json.dumps({
            "names": sorted(executor.actions),
            "classes": sorted(f"{c.__module__}.{c.__qualname__}" for c in executor._loaded),
            "off_base": sorted(
                c.__qualname__ for c in executor._loaded if not issubclass(c, BillingContext)
            ),
        }))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    registered = json.loads(done.stdout.strip().splitlines()[-1])
    assert registered["names"] == _domain_actions()
    assert not [c for c in registered["classes"] if c.startswith("actions.base.")]
    assert registered["off_base"] == []


def test_the_bases_are_abstract() -> None:
    assert inspect.isabstract(BillingAction)
    assert inspect.isabstract(BillingFormValidationAction)


def test_every_action_stands_on_the_base() -> None:
    actions = _concrete_actions()
    assert sorted(cls().name() for cls in actions) == _domain_actions()
    for cls in actions:
        if issubclass(cls, FormValidationAction):
            assert issubclass(cls, BillingFormValidationAction), cls
        else:
            assert issubclass(cls, BillingAction), cls


def test_every_error_reply_names_responses_of_the_domain(domain_dict: dict[str, Any]) -> None:
    for cls in _concrete_actions():
        assert issubclass(cls, BillingContext)
        for error, reply in cls.error_replies.items():
            missing = set(reply.responses) - set(domain_dict["responses"])
            assert not missing, f"{cls.__name__} answers {error.__name__} with {missing}"


class TokenExpired(AuthError):
    """An error the table does not name, whose parent it does."""


def _raising(error: BaseException, said_first: str | None = "utter_handed_back") -> BillingAction:
    class ActionThatFails(BillingAction):
        def name(self) -> str:
            return "action_that_fails"

        async def act(
            self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
        ) -> list[EventType]:
            if said_first:
                dispatcher.utter_message(response=said_first)
            raise error

    return ActionThatFails()


@pytest.mark.parametrize(
    "error, responses, events",
    [
        (AuthError("no token"), NO_ACCOUNT, []),
        (TokenExpired("expired"), NO_ACCOUNT, []),
        (NotFound("no customer cust-x"), NO_ACCOUNT, []),
        (NothingPastDue("cust-en-current"), ["utter_nothing_past_due"], []),
        (
            NotCardOwner("cust-zh-nonowner does not own card 3"),
            ["utter_settle_options_nonowner"],
            [SlotSet("save_kind", None)],
        ),
        (ChargeInProgress("balance 1"), ["utter_payment_in_progress"], []),
        (DatabaseUnavailable("connection refused"), ["utter_billing_unavailable"], []),
        (IdempotencyKeyReused("key k"), ["utter_billing_unavailable"], []),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else None,
)
def test_an_expected_error_gets_its_responses_after_what_was_said(
    error: BotError, responses: list[str], events: list[EventType]
) -> None:
    messages, returned = run_action(_raising(error), make_tracker(), {})
    assert [m["response"] for m in messages] == ["utter_handed_back", *responses]
    assert returned == events


@pytest.mark.parametrize(
    "error",
    [RuntimeError("a bug"), KeyError("slot"), ConfigError("a BotError no reply names")],
    ids=lambda e: type(e).__name__,
)
def test_an_unexpected_error_leaves_the_action(error: Exception) -> None:
    with pytest.raises(type(error)) as raised:
        run_action(_raising(error), make_tracker(), {})
    assert raised.value is error


def test_a_database_failure_in_run_db_is_the_billing_apology() -> None:
    def failing_query() -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    class ActionQuerying(BillingAction):
        def name(self) -> str:
            return "action_querying"

        async def act(
            self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
        ) -> list[EventType]:
            await self.run_db(failing_query)
            return [SlotSet("never", True)]

    messages, events = run_action(ActionQuerying(), make_tracker(), {})
    assert [m["response"] for m in messages] == ["utter_billing_unavailable"]
    assert events == []


def test_run_db_works_in_another_thread_and_chains_the_cause() -> None:
    def add(a: int, b: int = 0) -> tuple[int, int]:
        return a + b, threading.get_ident()

    total, worker = asyncio.run(run_db(add, 1, b=2))
    assert total == 3 and worker != threading.get_ident()

    def failing() -> None:
        raise OperationalError("SELECT 1", {}, Exception("refused"))

    with pytest.raises(DatabaseUnavailable) as raised:
        asyncio.run(run_db(failing))
    assert isinstance(raised.value.__cause__, OperationalError)


def _validator(error: BaseException) -> BillingFormValidationAction:
    class ValidateSomethingForm(BillingFormValidationAction):
        def name(self) -> str:
            return "validate_expiry_form"

        async def validate_new_expiry(
            self,
            value: Any,
            dispatcher: CollectingDispatcher,
            tracker: Tracker,
            domain: DomainDict,
        ) -> dict[str, Any]:
            raise error

    return ValidateSomethingForm()


def _form_tracker() -> Tracker:
    tracker = make_tracker(slots={"requested_slot": "new_expiry", "new_expiry": "what?"})
    tracker.events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "what?"},
        {"event": "slot", "name": "new_expiry", "value": "what?"},
    ]
    return tracker


def test_an_expected_error_in_a_form_is_answered_and_the_value_asked_again(
    domain_dict: dict[str, Any],
) -> None:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(
        _validator(AuthError("no token")).run(dispatcher, _form_tracker(), domain_dict)
    )
    assert [m["response"] for m in dispatcher.messages] == NO_ACCOUNT
    assert events == [SlotSet("new_expiry", None)]


def test_an_unexpected_error_in_a_form_leaves_it(domain_dict: dict[str, Any]) -> None:
    with pytest.raises(RuntimeError):
        asyncio.run(
            _validator(RuntimeError("a bug")).run(
                CollectingDispatcher(), _form_tracker(), domain_dict
            )
        )


# --- the same, through the real action server ------------------------------------------

FAILING_ACTIONS = """
from actions.base import BillingAction
from bot.errors import NothingPastDue


class ActionExpectedFailure(BillingAction):
    def name(self):
        return "action_expected_failure"

    async def act(self, dispatcher, tracker, domain):
        dispatcher.utter_message(response="utter_handed_back")
        raise NothingPastDue("cust-en-current")


class ActionUnexpectedFailure(BillingAction):
    def name(self):
        return "action_unexpected_failure"

    async def act(self, dispatcher, tracker, domain):
        dispatcher.utter_message(response="utter_handed_back")
        raise RuntimeError("a bug in the action")
"""
ACTION_SECRET = "test-action-secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def failing_action_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """rasa_sdk's own server on loopback, serving two actions that fail."""
    (tmp_path / "failing_actions.py").write_text(FAILING_ACTIONS, encoding="utf-8")
    port, log = _free_port(), tmp_path / "actions.log"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(PROJECT_ROOT)]),
        "SANIC_HOST": "127.0.0.1",
        "ACTION_SERVER_SANIC_WORKERS": "1",
        "BOT_ACTION_SECRET": ACTION_SECRET,
    }
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "rasa_sdk", "--actions", "failing_actions", "-p", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2).close()
                break
            except OSError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
        yield url, log
    finally:
        server.terminate()
        server.wait(timeout=30)


def _call(url: str, action: str) -> tuple[int, dict[str, Any]]:
    body = {
        "next_action": action,
        "sender_id": "test-sender",
        "tracker": {"sender_id": "test-sender", "slots": {"language": "en"}, "events": []},
        "domain": {},
        "version": "3.6.2",
    }
    request = urllib.request.Request(
        f"{url}/webhook",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", ACTION_SECRET_HEADER: ACTION_SECRET},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_action_server_answers_the_expected_and_fails_the_unexpected(
    failing_action_server: tuple[str, Path],
) -> None:
    url, log = failing_action_server
    status, answer = _call(url, "action_expected_failure")
    assert status == 200
    assert [r["response"] for r in answer["responses"]] == [
        "utter_handed_back",
        "utter_nothing_past_due",
    ]
    assert answer["events"] == []

    # Rasa gets a 500 without the action's messages, and apologizes to the customer.
    status, answer = _call(url, "action_unexpected_failure")
    assert status == 500
    assert "responses" not in answer and answer["error"] == "a bug in the action"
    deadline = time.monotonic() + 10
    while "RuntimeError: a bug in the action" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)

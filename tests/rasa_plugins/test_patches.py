"""The changes to Rasa: all installed by whatever Rasa loads first, each doing its job."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import rasa
import yaml

from bot.config import PROJECT_ROOT
from bot.rasa_plugins import patches

ALL_CHANGES = {
    "api_guard",
    "remote_actions",
    "strict_tracker_store",
    "split_cards",
    "fast_loading",
    "story_search",
    "log_masking",
}


def _plugin_modules() -> list[str]:
    """Every module credentials.yml and endpoints.yml name by dotted path."""
    names = set(yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text()) or {})
    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text()) or {}
    names |= {v["type"] for v in endpoints.values() if isinstance(v, dict) and "type" in v}
    modules = sorted({n.rsplit(".", 1)[0] for n in names if n.startswith("bot.")})
    assert modules, "credentials.yml and endpoints.yml name none of our plug-ins"
    return modules


# Packages whose __init__ installs the changes (bot.web imports bot.rasa_plugins).
INSTALLING_PACKAGES = ("bot.rasa_plugins.", "bot.web.")


def test_everything_rasa_loads_by_name_lies_in_a_package_that_installs_the_changes() -> None:
    outside = [m for m in _plugin_modules() if not m.startswith(INSTALLING_PACKAGES)]
    assert outside == []


def _one_module_per_package() -> list[str]:
    first: dict[str, str] = {}
    for module in _plugin_modules():
        first.setdefault(module.rsplit(".", 1)[0], module)
    return sorted(first.values())


def _in_fresh_python(code: str) -> Any:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", _one_module_per_package())
def test_each_plugin_rasa_loads_by_name_brings_every_change(module: str) -> None:
    # If credentials.yml stopped naming the channels, the stores alone still carry
    # the apology and the strict store, and the other way round.
    found = _in_fresh_python(
        f"import json, importlib; importlib.import_module({module!r}); "
        "from bot.rasa_plugins import patches; print(json.dumps(patches.installed()))"
    )
    assert found == dict.fromkeys(ALL_CHANGES, True)


def test_the_action_server_does_not_load_the_rasa_server_changes() -> None:
    # The action server imports the actions: Rasa's server and TensorFlow stay out.
    found = _in_fresh_python(
        "import json, sys, pkgutil, importlib, actions; "
        "[importlib.import_module('actions.' + m.name) "
        " for m in pkgutil.iter_modules(actions.__path__)]; "
        "print(json.dumps(['bot.rasa_plugins' in sys.modules, 'tensorflow' in sys.modules]))"
    )
    assert found == [False, False]


def test_another_rasa_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    with pytest.raises(RuntimeError, match=r"rasa 3\.6\.21.*rasa 3\.7\.0"):
        patches.install()


def test_installing_again_changes_nothing() -> None:
    from rasa.core.actions.action import RemoteAction
    from rasa.core.processor import MessageProcessor

    before = (RemoteAction.run, MessageProcessor._handle_message_with_tracker)
    patches.install()
    assert (RemoteAction.run, MessageProcessor._handle_message_with_tracker) == before
    assert set(patches.installed()) == ALL_CHANGES
    assert all(patches.installed().values())


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends


def test_an_action_server_that_does_not_answer_gives_the_apology(
    domain_dict: dict[str, Any],
) -> None:
    from rasa.core.actions.action import RemoteAction
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import BotUttered, FollowupAction, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    from bot.rasa_plugins.resilience import response_text

    domain = Domain.from_dict(domain_dict)
    tracker = DialogueStateTracker.from_events(
        "closed-port",
        [SlotSet("language", "lv"), UserUttered("Mans maksājums tika noraidīts")],
        slots=domain.slots,
    )
    action = RemoteAction(
        "action_show_past_due",
        EndpointConfig(url=f"http://127.0.0.1:{_closed_port()}/webhook"),
    )
    events = asyncio.run(
        action.run(
            CollectingOutputChannel(),
            TemplatedNaturalLanguageGenerator(domain.responses),
            tracker,
            domain,
        )
    )
    assert [type(e) for e in events] == [BotUttered, FollowupAction]
    assert events[0].text == response_text("utter_technical_problem", "lv")
    assert events[1].action_name == "action_listen"


def test_a_failing_tracker_store_raises_instead_of_starting_a_new_conversation(
    domain_dict: dict[str, Any],
) -> None:
    from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
    from rasa.shared.core.domain import Domain

    class Down(InMemoryTrackerStore):
        async def retrieve(self, sender_id: str) -> Any:
            raise ConnectionError("the database is down")

        async def save(self, tracker: Any) -> None:
            raise ConnectionError("the database is down")

    store = FailSafeTrackerStore(Down(Domain.from_dict(domain_dict)))
    with pytest.raises(ConnectionError):
        asyncio.run(store.retrieve("someone"))
    with pytest.raises(ConnectionError):
        asyncio.run(store.get_or_create_tracker("someone"))


VALID = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": [{"text": "hi"}]},
    {"events": [{"event": "followup", "name": "action_listen"}]},
]
INVALID = [
    {"events": "not a list"},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"name": "slot without its kind"}]},
    {"events": [], "responses": "not a list"},
    {"events": [{"event": "slot", "name": 3}]},
]


@pytest.mark.parametrize("result", VALID + INVALID)
def test_the_compiled_schema_check_agrees_with_rasas_own(result: dict[str, Any]) -> None:
    import jsonschema
    from rasa.core.actions.action import RemoteAction

    from bot.rasa_plugins.resilience import _validate_action_result

    schema = RemoteAction.action_response_format_spec()
    try:
        jsonschema.validate(result, schema)
        rasa_accepts = True
    except jsonschema.ValidationError:
        rasa_accepts = False
    try:
        _validate_action_result(None, result)  # type: ignore[arg-type]
        ours_accepts = True
    except jsonschema.ValidationError:
        ours_accepts = False
    assert ours_accepts == rasa_accepts
    assert rasa_accepts == (result in VALID)


def test_the_installed_check_is_the_compiled_one() -> None:
    from rasa.core.actions.action import RemoteAction

    from bot.rasa_plugins.resilience import _validate_action_result

    assert RemoteAction._validate_action_result is _validate_action_result


def test_logs_mask_card_numbers(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    with caplog.at_level(logging.INFO):
        logging.getLogger("rasa.core.processor").info("received %s", "4242 4242 4242 4242")
    assert "4242 4242 4242 4242" not in caplog.text


def test_the_project_pins_the_rasa_it_was_written_for() -> None:
    pins = (PROJECT_ROOT / "constraints.txt").read_text().split()
    assert f"rasa=={patches.RASA_VERSION}" in pins
    assert Path(rasa.__file__).exists() and rasa.__version__ == patches.RASA_VERSION

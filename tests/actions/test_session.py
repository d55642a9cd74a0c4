"""action_session_start: the widget's language is the starting language."""

from __future__ import annotations

import pytest
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet

from actions.session import ActionSessionStart
from tests.actions.conftest import make_tracker, run_action


@pytest.mark.parametrize(
    "metadata, previous, expected",
    [
        ({"language": "lv"}, "en", "lv"),
        ({"language": "zh-CN"}, None, "zh"),
        ({"language": "de"}, "lv", "lv"),
        ({}, "zh", "zh"),
        (None, "en", "en"),
    ],
)
def test_the_session_starts_in_the_widgets_language(
    domain_dict, metadata, previous, expected
) -> None:
    tracker = make_tracker(language=previous, slots={"session_started_metadata": metadata})
    messages, events = run_action(ActionSessionStart(), tracker, domain_dict)
    assert messages == []
    assert events[0] == SessionStarted()
    assert events[-1] == ActionExecuted("action_listen")
    language_events = [e for e in events if e.get("name") == "language"]
    assert language_events[-1] == SlotSet("language", expected)

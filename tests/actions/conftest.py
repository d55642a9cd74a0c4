"""Real trackers, a real dispatcher and Rasa's own response rendering."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa.core.channels import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.config import PROJECT_ROOT
from bot.security.auth import issue_token, verified_metadata
from tests.conftest import TEST_SECRET


def make_tracker(
    text: str = "",
    intent: str = "payment_declined",
    language: str | None = "en",
    metadata: dict[str, Any] | None = None,
    slots: dict[str, Any] | None = None,
) -> Tracker:
    return Tracker(
        sender_id=SENDER,
        slots={"language": language, **(slots or {})},
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": 0.99},
            "entities": [],
            "metadata": metadata or {},
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


SENDER = "test-sender"


def token_for(customer_id: str, ttl: int = 600) -> dict[str, str]:
    """The metadata the channel stores for a message with this customer's token."""
    token = {"customer_token": issue_token(customer_id, TEST_SECRET, ttl)}
    return verified_metadata(token, SENDER, TEST_SECRET)


def run_action(action: Action, tracker: Tracker, domain: dict[str, Any]):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain))
    return dispatcher.messages, events


def apply_slots(tracker: Tracker, events: list[dict[str, Any]]) -> Tracker:
    """Sets the slots an action's events set, as Rasa would before the next action."""
    for event in events:
        if event.get("event") == "slot":
            tracker.slots[event["name"]] = event["value"]
    return tracker


@pytest.fixture(scope="session")
def rasa_domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


@pytest.fixture
def render(rasa_domain: Domain):
    """Renders dispatched messages with the domain's responses, as Rasa does."""
    nlg = TemplatedNaturalLanguageGenerator(rasa_domain.responses)

    def _render(messages: list[dict[str, Any]], language: str) -> list[dict[str, Any]]:
        tracker = DialogueStateTracker.from_events(
            "render", [SlotSet("language", language)], slots=rasa_domain.slots
        )
        rendered = []
        for message in messages:
            kwargs = {k: v for k, v in message.items() if k not in ("response", "text")}
            result = asyncio.run(
                nlg.generate(message["response"], tracker, CollectingOutputChannel.name(), **kwargs)
            )
            assert result is not None, f"{message['response']} has no {language} variation"
            rendered.append(result)
        return rendered

    return _render

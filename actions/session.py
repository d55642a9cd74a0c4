"""Starting a conversation session: the widget's language becomes the starting one."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.i18n import normalize_language

LANGUAGE_SLOT = "language"


class ActionSessionStart(Action):
    """Starts a session, keeping the slots and taking `metadata.language` if given."""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        events.extend(
            SlotSet(name, value)
            for name, value in tracker.slots.items()
            if value is not None and name != "session_started_metadata"
        )
        metadata = tracker.get_slot("session_started_metadata") or {}
        language = (
            normalize_language(metadata.get("language")) if isinstance(metadata, dict) else None
        )
        if language:
            events.append(SlotSet(LANGUAGE_SLOT, language))
        events.append(ActionExecuted("action_listen"))
        return events

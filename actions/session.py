"""Starting a conversation session: the widget's language becomes the starting one.

A conversation waiting for (or talking to) a person stays paused across sessions:
otherwise the bot would answer again while an agent still holds the ticket.
"""

from __future__ import annotations

import logging

from rasa_sdk import Tracker
from rasa_sdk.events import (
    ActionExecuted,
    ConversationPaused,
    EventType,
    SessionStarted,
    SlotSet,
)
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import BillingAction
from bot.db import app_engine, session_scope
from bot.errors import DatabaseUnavailable
from bot.i18n import normalize_language
from bot.support.handoff import open_ticket_of

logger = logging.getLogger(__name__)

LANGUAGE_SLOT = "language"


class ActionSessionStart(BillingAction):
    """Starts a session, keeping the slots and taking `metadata.language` if given."""

    def name(self) -> str:
        return "action_session_start"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
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
        if await self._has_open_ticket(tracker.sender_id):
            events.append(ConversationPaused())
        events.append(ActionExecuted("action_listen"))
        return events

    async def _has_open_ticket(self, conversation_id: str) -> bool:
        """Whether a person holds this conversation; without a database, a session starts."""
        try:
            return await self.run_db(_open_ticket_exists, conversation_id)
        except DatabaseUnavailable:
            logger.exception("could not check the handoff queue for %s", conversation_id)
            return False


def _open_ticket_exists(conversation_id: str) -> bool:
    with session_scope(app_engine()) as session:
        return open_ticket_of(session, conversation_id) is not None

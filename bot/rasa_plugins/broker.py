"""Rasa's event stream into the NLU inbox (endpoints.yml, `event_broker`).

Rasa streams every new tracker event to `InboxEventBroker`. A customer message is
kept (bot.nlu.inbox) when its intent confidence is under the threshold or it was
nlu_fallback, when the bot's answer to it was a fallback, or when it led to a
handoff. Messages written while a person has the conversation are not NLU
problems and are not kept: that is read from the handoff table, which every Rasa
server shares (bot.support.handoff.with_a_person).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.db import app_engine, session_scope
from bot.nlu.inbox import record
from bot.support.handoff import with_a_person

DEFAULT_THRESHOLD = 0.6
FALLBACK_ACTIONS = ("action_fallback", "action_default_fallback")
# Turns being published at once (a script that feeds events without an event loop
# never ends a turn); the oldest are forgotten first.
TRACKED_CONVERSATIONS = 10_000
logger = logging.getLogger(__name__)


@dataclass
class _Message:
    """The latest customer message of a conversation, while its turn is published."""

    message_id: str
    text: str
    language: str | None
    intent: str | None
    confidence: float | None
    kept: bool = False
    led_to_handoff: bool = False

    def item(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "text": self.text,
            "language": self.language,
            "intent": self.intent,
            "confidence": self.confidence,
        }


class InboxEventBroker(EventBroker):
    """Watches Rasa's event stream and keeps poorly understood messages.

    Rasa publishes the events of one turn together, from the server that handled
    it, once the turn is over: the customer's message, then what the bot did (a
    fallback, the pause of a handoff). So a message is only remembered here until
    its turn is published, and nothing about a conversation outlives the turn in
    this process.

    Whether a person has the conversation comes from the handoff table, which
    every Rasa server shares (bot.support.handoff.with_a_person: a ticket waiting
    or with an agent), not from the pause and resume events this process happened
    to see: the handoff, the customer's next message and the hand-back may each
    be handled by a different server. It is asked once per message that would be
    kept, in the same transaction as keeping it, in a worker thread after the
    turn; a message the bot understood is never looked up. The message that
    leads to a handoff is kept without asking: its turn's pause shows that a
    person did not have the conversation when it was written (the ticket the
    turn opened is already in the table by then).
    """

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, engine: Engine | None = None) -> None:
        self.threshold = threshold
        self._engine = engine  # None: the configured DATABASE_URL
        self._latest: OrderedDict[str, _Message] = OrderedDict()
        self._writes: set[asyncio.Future[None]] = set()

    @classmethod
    async def from_endpoint_config(
        cls, broker_config: EndpointConfig, event_loop: asyncio.AbstractEventLoop | None = None
    ) -> InboxEventBroker:
        threshold = (broker_config.kwargs or {}).get("threshold", DEFAULT_THRESHOLD)
        return cls(float(threshold))

    def is_ready(self) -> bool:
        return True

    async def close(self) -> None:
        """Waits for the items still being written (the turn just published included)."""
        await asyncio.sleep(0)  # lets the end-of-turn callbacks start their writes
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    def publish(self, event: dict[str, Any]) -> None:
        sender = str(event.get("sender_id") or "")
        kind = event.get("event")
        if kind == "pause":
            message = self._latest.get(sender)
            if message is not None:
                message.led_to_handoff = True
            self._capture(sender, "handoff")
        elif kind == "action" and event.get("name") in FALLBACK_ACTIONS:
            self._capture(sender, "fallback")
        elif kind == "user":
            self._on_message(sender, event)
        # "resume" needs nothing: the hand-back ended the ticket in the table.

    def _on_message(self, sender: str, event: dict[str, Any]) -> None:
        text = event.get("text") or ""
        if not text.strip() or text.startswith("/"):
            self._latest.pop(sender, None)
            return
        parse = event.get("parse_data") or {}
        intent = parse.get("intent") or {}
        language = next(
            (e.get("value") for e in parse.get("entities") or [] if e.get("entity") == "language"),
            None,
        )
        confidence = intent.get("confidence")
        message = _Message(
            message_id=str(event.get("message_id") or f"{event.get('timestamp')}"),
            text=text,
            language=language,
            intent=intent.get("name"),
            confidence=confidence,
        )
        self._latest[sender] = message
        self._latest.move_to_end(sender)
        while len(self._latest) > TRACKED_CONVERSATIONS:
            self._latest.popitem(last=False)
        loop = _running_loop()
        if loop is not None:
            # Runs once the rest of this turn's events are published.
            loop.call_soon(self._end_of_turn, sender, message)
        if intent.get("name") == "nlu_fallback":
            self._capture(sender, "fallback")
        elif isinstance(confidence, (int, float)) and confidence < self.threshold:
            self._capture(sender, "low_confidence")

    def _end_of_turn(self, sender: str, message: _Message) -> None:
        if self._latest.get(sender) is message:
            del self._latest[sender]

    def _capture(self, sender: str, reason: str) -> None:
        message = self._latest.get(sender)
        if message is None or message.kept:
            return
        message.kept = True
        loop = _running_loop()
        if loop is None:  # a script feeding events by hand: decide right away
            self._store(sender, reason, message.item(), not message.led_to_handoff)
            return
        # After the turn: by then a pause later in the turn has been seen.
        loop.call_soon(self._store_later, loop, sender, reason, message)

    def _store_later(
        self, loop: asyncio.AbstractEventLoop, sender: str, reason: str, message: _Message
    ) -> None:
        write = loop.run_in_executor(
            None, self._store, sender, reason, message.item(), not message.led_to_handoff
        )
        self._writes.add(write)
        write.add_done_callback(self._writes.discard)

    def _store(self, sender: str, reason: str, item: dict[str, Any], ask: bool) -> None:
        """Keeps the message, unless `ask` and a person has the conversation."""
        try:
            with session_scope(self._engine or app_engine()) as session:
                if ask and with_a_person(session, sender):
                    return
                record(session, conversation_id=sender, reason=reason, **item)
        except SQLAlchemyError:
            logger.exception("could not keep an inbox item for %s", sender)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None

"""Rasa's event stream into the NLU inbox (endpoints.yml, `event_broker`).

Rasa streams every new tracker event to `InboxEventBroker`. A customer message is
kept (bot.nlu.inbox) when its intent confidence is under the threshold or it was
nlu_fallback, when the bot's answer to it was a fallback, or when it led to a
handoff. Messages written while a person has the conversation are not NLU
problems and are not kept.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from bot.nlu.inbox import store_item

DEFAULT_THRESHOLD = 0.6
FALLBACK_ACTIONS = ("action_fallback", "action_default_fallback")
# Conversations followed at once; the oldest are forgotten first.
TRACKED_CONVERSATIONS = 10_000


class InboxEventBroker(EventBroker):
    """Watches Rasa's event stream and keeps poorly understood messages."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.threshold = threshold
        # Per conversation: the latest customer message, and whether a person has it.
        self._latest: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._paused: set[str] = set()

    @classmethod
    async def from_endpoint_config(
        cls, broker_config: EndpointConfig, event_loop: asyncio.AbstractEventLoop | None = None
    ) -> InboxEventBroker:
        threshold = (broker_config.kwargs or {}).get("threshold", DEFAULT_THRESHOLD)
        return cls(float(threshold))

    def is_ready(self) -> bool:
        return True

    def publish(self, event: dict[str, Any]) -> None:
        sender = str(event.get("sender_id") or "")
        kind = event.get("event")
        if kind == "pause":
            self._capture(sender, "handoff")
            self._paused.add(sender)
        elif kind == "resume":
            self._paused.discard(sender)
        elif kind == "action" and event.get("name") in FALLBACK_ACTIONS:
            self._capture(sender, "fallback")
        elif kind == "user":
            self._on_message(sender, event)

    def _on_message(self, sender: str, event: dict[str, Any]) -> None:
        text = event.get("text") or ""
        if sender in self._paused or not text.strip() or text.startswith("/"):
            self._latest.pop(sender, None)
            return
        parse = event.get("parse_data") or {}
        intent = parse.get("intent") or {}
        language = next(
            (e.get("value") for e in parse.get("entities") or [] if e.get("entity") == "language"),
            None,
        )
        self._latest[sender] = {
            "message_id": str(event.get("message_id") or f"{event.get('timestamp')}"),
            "text": text,
            "language": language,
            "intent": intent.get("name"),
            "confidence": intent.get("confidence"),
            "kept": False,
        }
        self._latest.move_to_end(sender)
        while len(self._latest) > TRACKED_CONVERSATIONS:
            self._latest.popitem(last=False)
        confidence = intent.get("confidence")
        if intent.get("name") == "nlu_fallback":
            self._capture(sender, "fallback")
        elif isinstance(confidence, (int, float)) and confidence < self.threshold:
            self._capture(sender, "low_confidence")

    def _capture(self, sender: str, reason: str) -> None:
        message = self._latest.get(sender)
        if message is None or message["kept"]:
            return
        message["kept"] = True
        item = {k: v for k, v in message.items() if k != "kept"}
        try:
            asyncio.get_running_loop().run_in_executor(None, store_item, sender, reason, item)
        except RuntimeError:  # no event loop (a script): store right away
            store_item(sender, reason, item)



"""Rasa's REST and Socket.IO channels, with card numbers removed on arrival.

They keep their standard names and routes (/webhooks/rest/webhook, /socket.io):
only the message text changes, before Rasa parses, logs or stores it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint
from sanic.request import Request

from bot.redaction import redact_message


class RedactingRestInput(RestInput):
    """The REST channel; a message holding a card number arrives redacted."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def _extract_message(self, req: Request) -> str | None:
        # Redacting here, not later, keeps the number out of Rasa's own error log too.
        body = req.json if isinstance(req.json, dict) else {}
        return redact_message(body.get("message"))


class RedactingSocketIOInput(SocketIOInput):
    """The Socket.IO channel for the web widget, with the same redaction."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def redacting(message: UserMessage) -> Any:
            message.text = redact_message(message.text)
            return await on_new_message(message)

        return super().blueprint(redacting)

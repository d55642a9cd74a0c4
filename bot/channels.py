"""Rasa's REST and Socket.IO channels, with card numbers removed on arrival.

They keep their standard names and routes (/webhooks/rest/webhook, /socket.io):
the message text is redacted before Rasa parses, logs or stores it, and a message
in a conversation that waits for a person marks the handoff ticket as active.

The Socket.IO channel also fixes three things in Rasa 3.6's own handlers:
`enter_room` is a coroutine in python-socketio 5 and was never awaited (so replies
addressed to a persistent session reached nobody); a custom payload was passed to
`emit` as keyword arguments (a TypeError); and a socket could post into any
conversation by naming its id. Here a socket only writes to the session it asked
for, and a requested id must look like one the server hands out.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint
from sanic.request import Request
from sqlalchemy.exc import SQLAlchemyError

from bot.db import app_engine, session_scope
from bot.handoff import touch
from bot.redaction import redact_message

logger = logging.getLogger(__name__)

SESSION_ID = re.compile(r"[0-9a-f]{32}")
Handler = Callable[[UserMessage], Awaitable[Any]]


def touch_ticket(conversation_id: str) -> None:
    """Marks activity on the conversation's open ticket; a database error is only logged."""
    try:
        with session_scope(app_engine()) as session:
            touch(session, conversation_id)
    except SQLAlchemyError:
        logger.exception("could not mark activity on the ticket of %s", conversation_id)


def marking_handoff_activity(on_new_message: Handler) -> Handler:
    """Wraps Rasa's handler: after each message, the open ticket (if any) is touched."""

    async def handle(message: UserMessage) -> Any:
        result = await on_new_message(message)
        await asyncio.to_thread(touch_ticket, message.sender_id)
        return result

    return handle


class RedactingRestInput(RestInput):
    """The REST channel; a message holding a card number arrives redacted."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def _extract_message(self, req: Request) -> str | None:
        # Redacting here, not later, keeps the number out of Rasa's own error log too.
        body = req.json if isinstance(req.json, dict) else {}
        return redact_message(body.get("message"))

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        return super().blueprint(marking_handoff_activity(on_new_message))


class BotSocketIOOutput(SocketIOOutput):
    """Socket.IO output that can send custom payloads and agents' messages."""

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        await self._send_message(recipient_id, {"custom": json_message})

    async def send_agent_message(self, recipient_id: str, text: str, agent_name: str) -> None:
        await self._send_message(recipient_id, {"text": text, "metadata": {"agent": agent_name}})


class RedactingSocketIOInput(SocketIOInput):
    """The Socket.IO channel for the web widget, with the same redaction."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def get_output_channel(self) -> BotSocketIOOutput | None:
        if self.sio is None:
            return None
        return BotSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        handler = marking_handoff_activity(on_new_message)
        socket_blueprint = super().blueprint(handler)
        sio = self.sio
        assert sio is not None  # set by SocketIOInput.blueprint

        # Registering a handler again replaces Rasa's one for that event.
        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            if isinstance(requested, str) and SESSION_ID.fullmatch(requested):
                session_id = requested
            else:
                session_id = uuid.uuid4().hex
            await sio.save_session(sid, {"session_id": session_id}, namespace=self.namespace)
            await sio.enter_room(sid, session_id, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> None:
            socket_session = await sio.get_session(sid, namespace=self.namespace)
            sender_id = socket_session.get("session_id")
            if not sender_id or not isinstance(data, dict):
                logger.info("socket %s sent a message before its session_request", sid)
                return
            text = data.get("message")
            if not isinstance(text, str):
                return
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            message = UserMessage(
                redact_message(text),
                BotSocketIOOutput(sio, self.bot_message_evt),
                sender_id,
                input_channel=self.name(),
                metadata=metadata if isinstance(metadata, dict) else {},
            )
            await handler(message)

        return socket_blueprint

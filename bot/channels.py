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

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.db import app_engine, session_scope
from bot.fast_loading import install_fast_model_loading
from bot.handoff import touch
from bot.inbound import MessageRefused, clean_metadata, clean_text, parse_rest_body
from bot.resilience import (
    install_remote_action_changes,
    install_strict_tracker_store,
    technical_problem_text,
)
from bot.stores import lock_store_url, redis_key_prefix
from bot.web.common import NO_STORE, json_error

logger = logging.getLogger(__name__)

SESSION_ID = re.compile(r"[0-9a-f]{32}")
Handler = Callable[[UserMessage], Awaitable[Any]]

# The Rasa server loads this module (credentials.yml) before it handles a message.
install_remote_action_changes()
install_strict_tracker_store()
install_fast_model_loading()


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
    """The REST channel: checked input, redacted card numbers, an apology on failure.

    Rasa's own handler answers 500 to a body that is not a JSON object, lets the
    client choose the input channel, and answers 200 with no messages when the
    conversation or lock store is down. This one answers 400/413 in the console's
    error shape for bad input and 503 with the apology for a failure behind it.
    """

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        handler = marking_handoff_activity(on_new_message)
        rest = Blueprint(f"custom_webhook_{type(self).__name__}")

        @rest.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @rest.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                sender_id, text, metadata = parse_rest_body(request.body)
            except MessageRefused as refused:
                return json_error(refused.status, refused.code, refused.message)
            collector = CollectingOutputChannel()
            message = UserMessage(
                text, collector, sender_id, input_channel=self.name(), metadata=metadata
            )
            try:
                await handler(message)
            except Exception:  # noqa: BLE001 - any failure behind the bot gets the apology
                logger.exception("message of %s not handled: a store is unreachable", sender_id)
                apology = technical_problem_text(text, metadata)
                return response.json(
                    [{"recipient_id": sender_id, "text": apology}],
                    status=503,
                    headers={"Retry-After": "10", **NO_STORE},
                )
            return response.json(collector.messages)

        return rest


class BotSocketIOOutput(SocketIOOutput):
    """Socket.IO output that can send custom payloads and agents' messages."""

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        await self._send_message(recipient_id, {"custom": json_message})

    async def send_agent_message(self, recipient_id: str, text: str, agent_name: str) -> None:
        await self._send_message(recipient_id, {"text": text, "metadata": {"agent": agent_name}})


def share_rooms_through_redis(sio: Any) -> None:
    """With several Rasa processes, a message to a room reaches the process holding its socket.

    An agent's reply or a hand-back is handled by whichever process the console's
    request reached; python-socketio's Redis manager publishes the emit on Redis,
    and each process delivers it to its own sockets in that room.
    """
    url = lock_store_url()
    if not url:
        return
    import socketio

    manager = socketio.AsyncRedisManager(url, channel=f"{redis_key_prefix()}:socketio")
    sio.manager = manager
    manager.set_server(sio)


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
        share_rooms_through_redis(sio)

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
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except (ValueError, RecursionError):
                    metadata = {}
            output = BotSocketIOOutput(sio, self.bot_message_evt)
            try:
                text, kept = clean_text(data.get("message")), clean_metadata(metadata)
            except MessageRefused as refused:
                await sio.emit(
                    "message_refused", {"code": refused.code, "message": refused.message}, room=sid
                )
                return
            message = UserMessage(text, output, sender_id, input_channel=self.name(), metadata=kept)
            try:
                await handler(message)
            except Exception:  # noqa: BLE001 - any failure behind the bot gets the apology
                logger.exception("message of %s not handled: a store is unreachable", sender_id)
                await output.send_text_message(sender_id, technical_problem_text(text, kept))

        return socket_blueprint

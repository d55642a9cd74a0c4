"""Rasa's REST and Socket.IO channels: checked input, card data redacted, owned sessions.

They keep their standard names and routes (/webhooks/rest/webhook, /socket.io) and
Rasa's Socket.IO protocol (session_request, session_confirm, user_uttered,
bot_uttered). Before Rasa parses, logs or stores a message:

- card data in it (bot.security.redaction) turns it into the `card_number_in_chat`
  payload; the masked text goes into the metadata (`redacted_text`) for agents;
- the customer token is checked and replaced by a reference to the customer
  (bot.security.auth.verified_metadata), so no token is kept in the conversation store;
- a message in a conversation that waits for a person marks its ticket active.

The Socket.IO channel also:

- hands out the session id together with a secret derived from it (an extra
  `session_secret` field in session_confirm, which rasa-webchat ignores); a
  session_request naming an id without its secret gets a new session, so knowing
  a conversation id is not enough to read its replies;
- moves a socket out of its old session's room when it asks for another one;
- tells the widget how each message was stored (`message_stored`: its id and the
  text as kept, masked when it held card data), so the page never keeps a card
  number either;
- accepts sockets only from pages of allowed origins (bot.security.origins): Rasa 3.6 turns
  python-engineio's origin check off (`cors_allowed_origins=[]`), and browsers do
  not apply CORS to WebSockets, so any web page could open one;
- fixes Rasa 3.6's handlers: `enter_room` is a coroutine in python-socketio 5 and
  was never awaited, a custom payload was passed to `emit` as keyword arguments,
  and a socket could post into any conversation by naming its id.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
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

from bot.config import get_settings
from bot.db import app_engine, session_scope
from bot.rasa_plugins.resilience import (
    message_language,
    response_text,
    technical_problem_text,
)
from bot.rasa_plugins.responses import NO_STORE, json_error
from bot.security.auth import token_rules, verified_metadata
from bot.security.inbound import (
    SOCKET_SESSION_ID,
    MessageRefused,
    clean_metadata,
    clean_text,
    parse_rest_body,
)
from bot.security.installation import socket_session_key
from bot.security.origins import origin_allowed
from bot.security.redaction import redact_message
from bot.support.handoff import touch

logger = logging.getLogger(__name__)

CLIENT_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
REDACTED_TEXT_KEY = "redacted_text"
CARD_DATA_MASKED = "utter_card_number_redacted"
Handler = Callable[[UserMessage], Awaitable[Any]]



def touch_ticket(conversation_id: str) -> bool:
    """Marks activity on the conversation's open ticket; False when it has none.

    A database error is only logged (and counts as no ticket).
    """
    try:
        with session_scope(app_engine()) as session:
            return touch(session, conversation_id)
    except SQLAlchemyError:
        logger.exception("could not mark activity on the ticket of %s", conversation_id)
        return False


def marking_handoff_activity(on_new_message: Handler) -> Handler:
    """Wraps Rasa's handler: after each message, the open ticket (if any) is touched.

    While a conversation waits for a person the bot is paused and answers nothing,
    so a message with card data would be masked without the customer being told:
    the channel tells them itself.
    """

    async def handle(message: UserMessage) -> Any:
        result = await on_new_message(message)
        waiting_for_a_person = await asyncio.to_thread(touch_ticket, message.sender_id)
        metadata = message.metadata or {}
        if waiting_for_a_person and REDACTED_TEXT_KEY in metadata and message.output_channel:
            language = message_language(metadata[REDACTED_TEXT_KEY], metadata)
            notice = response_text(CARD_DATA_MASKED, language)
            await message.output_channel.send_text_message(message.sender_id, notice)
        return result

    return handle


def user_message(
    text: str,
    metadata: dict[str, Any],
    output: Any,
    conversation_id: str,
    channel: str,
    message_id: str | None = None,
) -> UserMessage:
    """The message as Rasa may keep it: card data redacted, the token verified and dropped."""
    redacted = redact_message(text)
    settings = get_settings()
    kept = verified_metadata(metadata, conversation_id, settings.auth_secret, token_rules(settings))
    if redacted.masked is not None:
        kept[REDACTED_TEXT_KEY] = redacted.masked
    return UserMessage(
        redacted.text,
        output,
        conversation_id,
        input_channel=channel,
        metadata=kept,
        message_id=message_id,
    )


def shown_text(message: UserMessage) -> str:
    """What the customer may see of their own message: masked when it held card data."""
    return (message.metadata or {}).get(REDACTED_TEXT_KEY) or message.text or ""


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

        # OPTIONS: a page of an allowed origin asks first (bot.rasa_plugins.guards answers it).
        @rest.route("/webhook", methods=["POST", "OPTIONS"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                sender_id, text, metadata = parse_rest_body(request.body)
            except MessageRefused as refused:
                return json_error(refused.status, refused.code, refused.message)
            collector = CollectingOutputChannel()
            message = user_message(text, metadata, collector, sender_id, self.name())
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
    """Socket.IO output that can send custom payloads, agents' messages and storage notes."""

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        await self._send_message(recipient_id, {"custom": json_message})

    async def send_agent_message(self, recipient_id: str, text: str, agent_name: str) -> None:
        await self._send_message(recipient_id, {"text": text, "metadata": {"agent": agent_name}})

    async def send_message_stored(
        self, recipient_id: str, message_id: str, text: str, redacted: bool
    ) -> None:
        """Tells the widget what was kept of one of the customer's messages."""
        await self.sio.emit(
            "message_stored",
            {"message_id": message_id, "text": text, "redacted": redacted},
            room=recipient_id,
        )


def session_secret(session_id: str) -> str:
    """The secret that proves a browser was handed this session id."""
    return hmac.new(socket_session_key(), session_id.encode(), hashlib.sha256).hexdigest()


def rejoinable(data: Any) -> str | None:
    """The session a session_request may rejoin: a well-formed id with its secret."""
    if not isinstance(data, dict):
        return None
    requested, secret = data.get("session_id"), data.get("session_secret")
    if not isinstance(requested, str) or not SOCKET_SESSION_ID.fullmatch(requested):
        return None
    if not isinstance(secret, str) or not hmac.compare_digest(
        secret.encode(), session_secret(requested).encode()
    ):
        return None
    return requested


def socket_origin_allowed(origin: str | None, environ: dict[str, Any]) -> bool:
    """python-engineio's origin check: the page's origin must be on the allow-list."""
    return origin_allowed(origin, environ.get("HTTP_HOST"), get_settings().allowed_origins)


def restrict_origins(sio: Any) -> None:
    """A handshake from a page of another origin gets 400, and no CORS header."""
    sio.eio.cors_allowed_origins = socket_origin_allowed
    sio.eio.cors_credentials = False  # the chat uses no cookies


def share_rooms_through_redis(sio: Any) -> None:
    """With several Rasa processes, a message to a room reaches the process holding its socket.

    An agent's reply or a hand-back is handled by whichever process the console's
    request reached; python-socketio's Redis manager publishes the emit on Redis,
    and each process delivers it to its own sockets in that room.
    """
    settings = get_settings()
    url = settings.lock_store_url
    if not url:
        return
    import socketio

    manager = socketio.AsyncRedisManager(url, channel=f"{settings.redis_key_prefix}:socketio")
    sio.manager = manager
    manager.set_server(sio)


class RedactingSocketIOInput(SocketIOInput):
    """The Socket.IO channel for the web widget, with the same checks and owned sessions."""

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
        restrict_origins(sio)
        share_rooms_through_redis(sio)
        namespace = self.namespace

        # Registering a handler again replaces Rasa's one for that event.
        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any) -> None:
            session_id = rejoinable(data) or uuid.uuid4().hex
            previous = (await sio.get_session(sid, namespace=namespace)).get("session_id")
            if previous and previous != session_id:
                await sio.leave_room(sid, previous, namespace=namespace)
            await sio.save_session(sid, {"session_id": session_id}, namespace=namespace)
            await sio.enter_room(sid, session_id, namespace=namespace)
            confirm = {"session_id": session_id, "session_secret": session_secret(session_id)}
            await sio.emit("session_confirm", confirm, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any) -> None:
            socket_session = await sio.get_session(sid, namespace=namespace)
            sender_id = socket_session.get("session_id")
            if not sender_id or not isinstance(data, dict):
                logger.info("socket %s sent a message before its session_request", sid)
                return
            # rasa-webchat sends its metadata as `customData` (Rasa's docs have users set
            # metadata_key to it); both are read, so it works without changing credentials.
            metadata = data.get(self.metadata_key) or data.get("customData") or {}
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
            client_id = data.get("message_id")
            message_id = (
                client_id
                if isinstance(client_id, str) and CLIENT_MESSAGE_ID.fullmatch(client_id)
                else uuid.uuid4().hex
            )
            message = user_message(text, kept, output, sender_id, self.name(), message_id)
            await output.send_message_stored(
                sender_id, message_id, shown_text(message), message.text != text
            )
            try:
                await handler(message)
            except Exception:  # noqa: BLE001 - any failure behind the bot gets the apology
                logger.exception("message of %s not handled: a store is unreachable", sender_id)
                await output.send_text_message(sender_id, technical_problem_text(text, kept))

        return socket_blueprint

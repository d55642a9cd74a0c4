"""The agent console: sign-in, the handoff queue, live transcripts, replies.

Served by the Rasa server itself (an input channel mounted at /console), because
an agent's reply has to reach the customer's open Socket.IO connection, and
handing back has to resume the conversation in Rasa's tracker.

Security: the session cookie is HttpOnly and SameSite=Strict and holds a random
secret (only its hash is stored); every state change needs the session's CSRF
token (header X-CSRF-Token, or form field csrf_token) and, when the browser sends
one, an Origin of this server. The pages build their DOM with textContent only.
Sign-in attempts are counted before the password is checked (bot.security.throttle); in
production a demo account's published password never signs in. Conversation ids
stay on the server (the console addresses tickets by their number), and card data
in an agent's reply is masked before it is stored or sent.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationResumed
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.config import get_settings
from bot.db import app_engine, session_scope
from bot.errors import AuthError, NotFound
from bot.ops.demo import DEMO_AGENTS
from bot.rasa_plugins.channels import BotSocketIOOutput, touch_ticket
from bot.security.auth import REFERENCE_METADATA_KEY, customer_reference
from bot.security.inbound import strip_controls
from bot.security.redaction import mask_card_data
from bot.security.throttle import Throttled, login_throttle
from bot.support import agents, handoff
from bot.support.transcript import transcript
from bot.templating import render
from bot.web.common import STATIC_ROOT, json_error, page, serve_file

logger = logging.getLogger(__name__)

SESSION_COOKIE = "console_session"
LOGIN_COOKIE = "console_login"
MAX_REPLY_CHARS = 2000
CONSOLE_FILES = {"console.js", "console.css", "inbox.js", "common.js"}
LOGIN_THROTTLE = login_throttle()
LOOPBACK = ("127.0.0.1", "::1")


def _cookie(resp: HTTPResponse, name: str, value: str, max_age: int) -> None:
    resp.cookies[name] = value
    cookie = resp.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/console"
    cookie["max-age"] = max_age
    if get_settings().public_url.startswith("https://"):
        cookie["secure"] = True


def same_origin(request: Request) -> bool:
    """False only when the browser names another site as the request's origin."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    parts = urlsplit(origin)
    return parts.netloc == request.host


def client_address(request: Request) -> str:
    """The client's address; behind this project's nginx, the one nginx saw."""
    peer = request.ip or ""
    forwarded = request.headers.get("x-forwarded-for")
    if peer in LOOPBACK and forwarded:
        return forwarded.split(",")[-1].strip() or peer
    return peer


def public_view(view: dict[str, Any]) -> dict[str, Any]:
    """A ticket as the browser gets it: without the conversation id."""
    return {k: v for k, v in view.items() if k != "conversation_id"}


def _current(request: Request) -> agents.SignedIn:
    with session_scope(app_engine()) as session:
        return agents.signed_in(session, request.cookies.get(SESSION_COOKIE))


async def signed_in_agent(request: Request) -> agents.SignedIn | None:
    try:
        return await asyncio.to_thread(_current, request)
    except AuthError:
        return None


# Who sees the insights page (bot.web.insights_page); trainers read it too.
INSIGHTS_ROLES = ("lead", "trainer")


def console_document(name: str, who: agents.SignedIn, **context: Any) -> str:
    """A console page from templates/console/, for the signed-in agent."""
    return render(
        f"console/{name}",
        csrf_token=who.csrf_token,
        agent_name=who.display_name,
        show_insights=who.role in INSIGHTS_ROLES,
        **context,
    )


def console_page(name: str, who: agents.SignedIn) -> HTTPResponse:
    return page(console_document(name, who))


def _login_page(error: str | None = None, status: int = 200) -> HTTPResponse:
    token = secrets.token_urlsafe(24)
    resp = page(render("console/login.html", csrf_token=token, error=error), status)
    _cookie(resp, LOGIN_COOKIE, token, 900)
    return resp


class AgentConsole(InputChannel):
    """The /console pages and JSON API."""

    @classmethod
    def name(cls) -> str:
        return "console"

    def url_prefix(self) -> str:
        # Rasa joins this to "/webhooks/": an absolute path mounts it at the root.
        return "/console"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        console = Blueprint("agent_console", __name__)

        @console.get("/")
        async def index(request: Request) -> HTTPResponse:
            who = await signed_in_agent(request)
            if who is None:
                return response.redirect("/console/login")
            return console_page("index.html", who)

        @console.get("/static/<name>")
        async def static(request: Request, name: str) -> HTTPResponse:
            if name not in CONSOLE_FILES:
                return json_error(404, "not_found", "No such file")
            return serve_file(STATIC_ROOT / "console" / name)

        @console.get("/login")
        async def login_form(request: Request) -> HTTPResponse:
            return _login_page()

        @console.post("/login")
        async def login(request: Request) -> HTTPResponse:
            form_token = request.form.get("csrf_token") or ""
            cookie_token = request.cookies.get(LOGIN_COOKIE) or ""
            if not same_origin(request) or not agents.csrf_matches(cookie_token, form_token):
                return _login_page("The sign-in form expired. Please try again.", 403)
            username = strip_controls(request.form.get("username") or "").strip().lower()[:100]
            password = strip_controls(request.form.get("password") or "")[:1000]
            try:
                async with LOGIN_THROTTLE.attempt(username, client_address(request)) as attempt:
                    secret = await asyncio.to_thread(_sign_in, username, password)
                    attempt.succeeded()
            except Throttled as throttled:
                minutes = max(1, round(throttled.retry_after / 60))
                return _login_page(
                    f"Too many sign-in attempts. Try again in {minutes} minute(s).", 429
                )
            except AuthError:
                return _login_page("Wrong username or password.", 401)
            resp = response.redirect("/console/")
            _cookie(resp, SESSION_COOKIE, secret, agents.SESSION_HOURS * 3600)
            del resp.cookies[LOGIN_COOKIE]
            return resp

        @console.post("/logout")
        async def logout(request: Request) -> HTTPResponse:
            who = await signed_in_agent(request)
            given = request.form.get("csrf_token") if request.form else None
            if who is None or not agents.csrf_matches(who.csrf_token, given):
                return json_error(403, "csrf", "Missing or wrong CSRF token")
            await asyncio.to_thread(_sign_out, request.cookies.get(SESSION_COOKIE))
            resp = response.redirect("/console/login")
            del resp.cookies[SESSION_COOKIE]
            return resp

        @console.get("/api/tickets")
        async def tickets(request: Request) -> HTTPResponse:
            who = await signed_in_agent(request)
            if who is None:
                return json_error(401, "signed_out", "Please sign in again")
            views = await asyncio.to_thread(_open_views, who.agent_id)
            agent = {"username": who.username, "display_name": who.display_name}
            tickets = [public_view(v) for v in views]
            return response.json({"agent": agent, "tickets": tickets}, headers=_no_store())

        @console.get("/api/tickets/<ticket_id:int>")
        async def ticket(request: Request, ticket_id: int) -> HTTPResponse:
            who = await signed_in_agent(request)
            if who is None:
                return json_error(401, "signed_out", "Please sign in again")
            try:
                view = await asyncio.to_thread(_view, ticket_id, who.agent_id)
            except NotFound:
                return json_error(404, "not_found", "No such ticket")
            tracker = await request.app.ctx.agent.tracker_store.retrieve(view["conversation_id"])
            events = [e.as_dict() for e in tracker.events] if tracker else []
            return response.json(
                {"ticket": public_view(view), "transcript": transcript(events)},
                headers=_no_store(),
            )

        @console.post("/api/tickets/<ticket_id:int>/<verb:(claim|reply|handback|close)>")
        async def change(request: Request, ticket_id: int, verb: str) -> HTTPResponse:
            who = await signed_in_agent(request)
            if who is None:
                return json_error(401, "signed_out", "Please sign in again")
            if not same_origin(request) or not agents.csrf_matches(
                who.csrf_token, request.headers.get("x-csrf-token")
            ):
                return json_error(403, "csrf", "Missing or wrong CSRF token")
            try:
                if verb == "claim":
                    return await self._claim(request, ticket_id, who)
                if verb == "reply":
                    return await self._reply(request, ticket_id, who)
                return await self._end(request, on_new_message, ticket_id, who, verb)
            except NotFound:
                return json_error(404, "not_found", "No such ticket")
            except handoff.TicketConflict as conflict:
                return json_error(
                    409, "already_claimed" if verb == "claim" else "conflict", str(conflict)
                )

        return console

    @staticmethod
    async def _claim(request: Request, ticket_id: int, who: agents.SignedIn) -> HTTPResponse:
        view = await asyncio.to_thread(_claim, ticket_id, who.agent_id)
        await _push(
            request,
            view["conversation_id"],
            {"custom": {"handoff": {"status": "active", "agent": who.display_name}}},
        )
        return response.json({"ticket": public_view(view)})

    @staticmethod
    async def _reply(request: Request, ticket_id: int, who: agents.SignedIn) -> HTTPResponse:
        body = request.json if isinstance(request.json, dict) else {}
        text = body.get("text")
        if not isinstance(text, str) or not strip_controls(text).strip():
            return json_error(400, "empty", "Write a message first")
        text = strip_controls(text).strip()
        if len(text) > MAX_REPLY_CHARS:
            return json_error(400, "too_long", f"At most {MAX_REPLY_CHARS} characters")
        text = mask_card_data(text)
        view = await asyncio.to_thread(_held, ticket_id, who.agent_id)
        conversation_id = view["conversation_id"]
        event = BotUttered(text, metadata={"agent": who.display_name, "agent_id": who.agent_id})
        await _append(request, conversation_id, [event])
        await _push(
            request, conversation_id, {"text": text, "metadata": {"agent": who.display_name}}
        )
        await asyncio.to_thread(touch_ticket, conversation_id)
        line = transcript([event.as_dict()])[0]
        return response.json({"message": line})

    @staticmethod
    async def _end(
        request: Request,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        ticket_id: int,
        who: agents.SignedIn,
        verb: str,
    ) -> HTTPResponse:
        status = "handed_back" if verb == "handback" else "closed"
        view, customer_id = await asyncio.to_thread(_end, ticket_id, who.agent_id, status)
        conversation_id = view["conversation_id"]
        # Listening again, as after any bot turn: rules then match the next message.
        await _append(
            request, conversation_id, [ConversationResumed(), ActionExecuted(ACTION_LISTEN_NAME)]
        )
        channel_name, output = await _customer_channel(request, conversation_id)
        await _push(request, conversation_id, {"custom": {"handoff": {"status": "ended"}}}, output)
        # The bot speaks next, through the customer's own channel, with the account
        # the ticket was opened for (the same trust as the card form's follow-up).
        metadata: dict[str, Any] = {}
        if customer_id:
            reference = customer_reference(customer_id, conversation_id, get_settings().auth_secret)
            metadata[REFERENCE_METADATA_KEY] = reference
        intent = "EXTERNAL_handed_back" if status == "handed_back" else "EXTERNAL_handoff_closed"
        await on_new_message(
            UserMessage(
                f"/{intent}",
                output or CollectingOutputChannel(),
                conversation_id,
                input_channel=channel_name,
                metadata=metadata,
            )
        )
        return response.json({"ticket": public_view(view)})


def _no_store() -> dict[str, str]:
    return {"Cache-Control": "no-store"}


async def _customer_channel(request: Request, conversation_id: str) -> tuple[str | None, Any]:
    """The customer's latest input channel, and an output channel to reach them there."""
    tracker = await request.app.ctx.agent.tracker_store.retrieve(conversation_id)
    name = tracker.get_latest_input_channel() if tracker else None
    for channel in getattr(request.app.ctx, "input_channels", []):
        if channel.name() == name:
            return name, channel.get_output_channel()
    return name, None


async def _push(
    request: Request, conversation_id: str, payload: dict[str, Any], output: Any = None
) -> None:
    """Sends to the customer's widget at once (Socket.IO); REST clients read the tracker."""
    if output is None:
        _, output = await _customer_channel(request, conversation_id)
    if isinstance(output, BotSocketIOOutput):
        await output._send_message(conversation_id, payload)


async def _append(request: Request, conversation_id: str, events: list[Any]) -> None:
    """Adds events to the conversation under its lock, as Rasa's own API does."""
    rasa_agent = request.app.ctx.agent
    async with rasa_agent.lock_store.lock(conversation_id):
        tracker = await rasa_agent.processor.get_tracker(conversation_id)
        for event in events:
            tracker.update(event)
        await rasa_agent.processor.save_tracker(tracker)


def _sign_in(username: str, password: str) -> str:
    if get_settings().is_production and (username, password) in {
        (name, demo_password) for name, _, demo_password, _ in DEMO_AGENTS
    }:
        raise AuthError("a demo account's password never signs in in production")
    with session_scope(app_engine()) as session:
        agent = agents.authenticate(session, username, password)
        return agents.start_session(session, agent)


def _sign_out(secret: str | None) -> None:
    with session_scope(app_engine()) as session:
        agents.end_session(session, secret)


def _open_views(agent_id: int) -> list[dict[str, Any]]:
    with session_scope(app_engine()) as session:
        return [handoff.ticket_view(session, t, agent_id) for t in handoff.list_open(session)]


def _view(ticket_id: int, agent_id: int) -> dict[str, Any]:
    with session_scope(app_engine()) as session:
        return handoff.ticket_view(session, handoff.get_ticket(session, ticket_id), agent_id)


def _claim(ticket_id: int, agent_id: int) -> dict[str, Any]:
    with session_scope(app_engine()) as session:
        ticket = handoff.claim(session, ticket_id, agent_id)
        return handoff.ticket_view(session, ticket, agent_id)


def _held(ticket_id: int, agent_id: int) -> dict[str, Any]:
    with session_scope(app_engine()) as session:
        ticket = handoff.held_by(session, ticket_id, agent_id)
        return handoff.ticket_view(session, ticket, agent_id)


def _end(ticket_id: int, agent_id: int, status: str) -> tuple[dict[str, Any], str | None]:
    with session_scope(app_engine()) as session:
        ticket = handoff.end(session, ticket_id, agent_id, status)
        return handoff.ticket_view(session, ticket, agent_id), ticket.customer_id

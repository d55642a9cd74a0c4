"""The NLU inbox in the agent console (/console/inbox), for agents with the trainer role.

Labelling goes through the same checks as `bot nlu add` and writes to the
project's data/nlu files on this machine; `bot train` then retrains and loads the
model. Sign-in, CSRF and origin rules are the console's (bot.web.console).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.config import get_settings
from bot.db import NluInboxItem, app_engine, session_scope
from bot.errors import NotFound
from bot.i18n import LANGUAGES
from bot.nlu.examples import PAYLOAD_ONLY_INTENTS, domain_intents
from bot.nlu.inbox import dismiss_item, item_view, label_item, list_items
from bot.support import agents
from bot.web.common import NO_STORE, json_error
from bot.web.console import console_page, same_origin, signed_in_agent

TRAINER = "trainer"


def _intents() -> list[str]:
    return sorted(
        name
        for name in domain_intents(get_settings().project_dir / "domain.yml")
        if name not in PAYLOAD_ONLY_INTENTS and not name.startswith("EXTERNAL_")
    )


def _items(language: str | None) -> list[dict[str, Any]]:
    with session_scope(app_engine()) as session:
        return [item_view(i, with_conversation=False) for i in list_items(session, language)]


def _label(item_id: int, intent: str) -> dict[str, Any]:
    with session_scope(app_engine()) as session:
        outcome = label_item(session, item_id, intent, get_settings().project_dir)
        result = outcome.result
        view = item_view(session.get(NluInboxItem, item_id), with_conversation=False)
    return {
        "item": view,
        "invalid": outcome.invalid,
        "added": [
            {"intent": e.intent, "lang": e.lang, "text": e.text, "file": f} for e, f in result.added
        ],
        "refused": [{"code": r.code, "message": r.message} for r in result.refused],
        "warnings": result.warnings,
    }


def _dismiss(item_id: int) -> dict[str, Any]:
    with session_scope(app_engine()) as session:
        dismiss_item(session, item_id)
        return item_view(session.get(NluInboxItem, item_id), with_conversation=False)


class TrainerInbox(InputChannel):
    """The inbox page and its JSON API, under the console's prefix."""

    @classmethod
    def name(cls) -> str:
        return "trainer_inbox"

    def url_prefix(self) -> str:
        return "/console"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        inbox = Blueprint("trainer_inbox", __name__)

        async def trainer(request: Request) -> agents.SignedIn | HTTPResponse:
            who = await signed_in_agent(request)
            if who is None:
                return json_error(401, "signed_out", "Please sign in again")
            if who.role != TRAINER:
                return json_error(403, "not_a_trainer", "The NLU inbox is for trainers")
            return who

        @inbox.get("/inbox")
        async def index(request: Request) -> HTTPResponse:
            who = await trainer(request)
            if isinstance(who, HTTPResponse):
                if who.status == 401:
                    return response.redirect("/console/login")
                return who
            return console_page("inbox.html", who)

        @inbox.get("/api/inbox")
        async def items(request: Request) -> HTTPResponse:
            who = await trainer(request)
            if isinstance(who, HTTPResponse):
                return who
            language = request.args.get("lang")
            if language is not None and language not in LANGUAGES:
                return json_error(400, "bad_language", "lang must be en, lv or zh")
            listed = await asyncio.to_thread(_items, language)
            intents = await asyncio.to_thread(_intents)
            return response.json({"items": listed, "intents": intents}, headers=NO_STORE)

        @inbox.post("/api/inbox/<item_id:int>/<verb:(label|dismiss)>")
        async def change(request: Request, item_id: int, verb: str) -> HTTPResponse:
            who = await trainer(request)
            if isinstance(who, HTTPResponse):
                return who
            if not same_origin(request) or not agents.csrf_matches(
                who.csrf_token, request.headers.get("x-csrf-token")
            ):
                return json_error(403, "csrf", "Missing or wrong CSRF token")
            try:
                if verb == "dismiss":
                    return response.json({"item": await asyncio.to_thread(_dismiss, item_id)})
                body = request.json if isinstance(request.json, dict) else {}
                intent = body.get("intent")
                if not isinstance(intent, str) or not intent:
                    return json_error(400, "no_intent", "Pick an intent")
                outcome = await asyncio.to_thread(_label, item_id, intent)
            except NotFound:
                return json_error(404, "not_found", "No such inbox item")
            if outcome["invalid"]:
                return json_error(422, "invalid", outcome["invalid"] + "; nothing was written")
            if outcome["refused"] and outcome["item"]["status"] != "labelled":
                refusal = outcome["refused"][0]
                return json_error(409, refusal["code"], refusal["message"])
            return response.json(
                {k: outcome[k] for k in ("item", "added", "warnings")}, headers=NO_STORE
            )

        return inbox

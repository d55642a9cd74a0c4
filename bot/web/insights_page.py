"""The insights page in the agent console (/console/insights), for leads and trainers.

Server-rendered: the filters are a GET form, the charts are SVG made on the
server (bot.insights.charts), so the page needs no script. `/console/api/insights`
answers the same numbers as JSON (the `bot insights --json` shape). Agents
without the lead or trainer role get 403. Sign-in rules are the console's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from markupsafe import Markup
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.db import app_engine
from bot.insights.metrics import BadPeriod, compute
from bot.insights.page import period_from, reader_locale, render
from bot.support import agents
from bot.web.common import NO_STORE, json_error, page
from bot.web.console import INSIGHTS_ROLES, console_document, signed_in_agent


class InsightsPage(InputChannel):
    """The insights page and its JSON, under the console's prefix."""

    @classmethod
    def name(cls) -> str:
        return "insights_page"

    def url_prefix(self) -> str:
        return "/console"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        insights = Blueprint("insights_page", __name__)

        async def reader(request: Request) -> agents.SignedIn | HTTPResponse:
            who = await signed_in_agent(request)
            if who is None:
                return json_error(401, "signed_out", "Please sign in again")
            if who.role not in INSIGHTS_ROLES:
                return json_error(403, "not_a_lead", "The insights are for leads and trainers")
            return who

        @insights.get("/insights")
        async def index(request: Request) -> HTTPResponse:
            who = await reader(request)
            if isinstance(who, HTTPResponse):
                if who.status == 401:
                    return response.redirect("/console/login")
                return who
            today = dt.datetime.now(dt.timezone.utc).date()
            locale = reader_locale(request.headers.get("accept-language"))
            try:
                period, form = period_from(request.args, today)
            except BadPeriod as bad:
                form = {k: request.args.get(k) or "" for k in ("since", "until", "lang")}
                form["data"] = "demo" if request.args.get("data") == "demo" else "real"
                content = render(None, locale=locale, form=form, today=today, error=str(bad))
                return _page(who, content, 400)
            found = await asyncio.to_thread(compute, app_engine(), period, str(locale))
            content = render(found, locale=locale, form=form, today=today)
            return _page(who, content)

        @insights.get("/api/insights")
        async def numbers(request: Request) -> HTTPResponse:
            who = await reader(request)
            if isinstance(who, HTTPResponse):
                return who
            today = dt.datetime.now(dt.timezone.utc).date()
            try:
                period, _ = period_from(request.args, today)
            except BadPeriod as bad:
                return json_error(400, "bad_period", str(bad))
            locale = str(reader_locale(request.headers.get("accept-language")))
            found = await asyncio.to_thread(compute, app_engine(), period, locale)
            return response.json(found, headers=NO_STORE)

        return insights


def _page(who: agents.SignedIn, content: Markup, status: int = 200) -> HTTPResponse:
    return page(console_document("insights.html", who, insights=content), status)

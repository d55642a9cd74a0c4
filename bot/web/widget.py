"""The customer chat page at /chat, the embeddable widget, and the demo sign-in.

/chat/            the demo page: the chat panel (static/widget/chat.js) with a demo sign-in
/chat/widget.js   the one script tag other sites embed (BOT_WIDGET_ORIGINS allows them)
/chat/static/...  chat.js, widget.css and the pinned Socket.IO client

The widget talks to Rasa over the Socket.IO channel (bot.rasa_plugins.channels). The page holds
no token: the demo sign-in asks this endpoint for one, for a demo customer only,
and never in production, i.e. with any BOT_ENV but development (a real deployment
signs customers in through its own account system and hands the widget their token).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.config import get_settings
from bot.ops.demo import DEMO_CUSTOMERS
from bot.security.auth import issue_token
from bot.web.common import NO_STORE, STATIC_ROOT, VENDOR_ROOT, json_error, serve_file

WIDGET_FILES = {"chat.js", "widget.js", "widget.css"}
SOCKET_IO_CLIENT = VENDOR_ROOT / "socket.io-client" / "dist" / "socket.io.min.js"


def _demo_disabled() -> HTTPResponse | None:
    if get_settings().is_production:
        return json_error(404, "demo_disabled", "Demo sign-in is turned off on this server")
    return None


class ChatWidget(InputChannel):
    """Serves the chat page, its static files and the demo sign-in."""

    @classmethod
    def name(cls) -> str:
        return "chat"

    def url_prefix(self) -> str:
        # Rasa joins this to "/webhooks/": an absolute path mounts it at the root.
        return "/chat"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        chat = Blueprint("chat_widget", __name__)

        @chat.get("/")
        async def index(request: Request) -> HTTPResponse:
            return serve_file(STATIC_ROOT / "widget" / "index.html", cache=False)

        # The one script tag other sites embed (widget.js: launcher, then the chat on demand).
        @chat.get("/widget.js")
        async def embed(request: Request) -> HTTPResponse:
            return serve_file(STATIC_ROOT / "widget" / "widget.js")

        @chat.get("/static/<name>")
        async def static(request: Request, name: str) -> HTTPResponse:
            if name == "socket.io.min.js":
                return serve_file(SOCKET_IO_CLIENT)
            if name not in WIDGET_FILES:
                return json_error(404, "not_found", "No such file")
            return serve_file(STATIC_ROOT / "widget" / name)

        @chat.route("/api/demo-customers", methods=["GET", "OPTIONS"])
        async def demo_customers(request: Request) -> HTTPResponse:
            refused = _demo_disabled()
            if refused:
                return refused
            customers = [
                {"id": c.id, "name": c.display_name, "language": c.language} for c in DEMO_CUSTOMERS
            ]
            return response.json({"customers": customers}, headers=NO_STORE)

        @chat.route("/api/demo-token", methods=["POST", "OPTIONS"])
        async def demo_token(request: Request) -> HTTPResponse:
            refused = _demo_disabled()
            if refused:
                return refused
            body = request.json if isinstance(request.json, dict) else {}
            customer_id = body.get("customer_id")
            demo = next((c for c in DEMO_CUSTOMERS if c.id == customer_id), None)
            if demo is None:
                return json_error(404, "unknown_customer", "No such demo customer")
            settings = get_settings()
            token = issue_token(
                demo.id,
                settings.auth_secret,
                settings.token_ttl_seconds,
                audience=settings.token_audience,
            )
            customer = {"id": demo.id, "name": demo.display_name, "language": demo.language}
            return response.json(
                {"token": token, "expires_in": settings.token_ttl_seconds, "customer": customer},
                headers=NO_STORE,
            )

        return chat

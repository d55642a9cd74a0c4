"""The customer chat page at /chat, the embeddable widget, and the demo sign-in.

/chat/            the demo page: the chat panel (static/widget/demo.js -> chat.js) with a
                  demo sign-in
/chat/widget.js   the one (classic) script tag other sites embed (BOT_WIDGET_ORIGINS
                  allows them); it imports the chat's ES modules on demand
/chat/static/...  the chat's ES modules (chat.js and what it imports), widget.css and the
                  pinned Socket.IO client; a page of another origin gets them with CORS
                  headers when it is allowed (the origin allow-list, CORS_PATH_PREFIXES)
                  and 403 otherwise

The widget talks to Rasa over the Socket.IO channel (bot.rasa_plugins.channels). The page holds
no token: the demo sign-in asks this endpoint for one, for a demo customer only,
and never in production, i.e. with any BOT_ENV but development (a real deployment
signs customers in through its own account system and hands the widget their token).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.config import get_settings
from bot.ops.demo import DEMO_CUSTOMERS
from bot.security.auth import issue_token
from bot.web.common import NO_STORE, STATIC_ROOT, VENDOR_ROOT, json_error, serve_file

WIDGET_ROOT = STATIC_ROOT / "widget"
SOCKET_IO_DIST = VENDOR_ROOT / "socket.io-client" / "dist"
SOCKET_IO_MODULE = SOCKET_IO_DIST / "socket.io.esm.min.js"  # what socket.js imports
SOCKET_IO_CLIENT = SOCKET_IO_DIST / "socket.io.min.js"  # the classic build, for other clients
STATIC_NAME = re.compile(r"[a-z][a-z0-9_-]*\.(?:js|css)")
# `import ... from "./name.js"` and `export ... from "./name.js"`: a module's static imports.
STATIC_IMPORT = re.compile(r"^(?:import|export)\b[^;]*?\bfrom\s+\"\./([\w.-]+)\";", re.M)
# A cache between the bot and the browser keeps the answers to each origin apart.
VARY_ORIGIN = {"Vary": "Origin"}


def widget_file(name: str) -> Path | None:
    """The file that /chat/static/<name> serves, or None."""
    vendored = {SOCKET_IO_MODULE.name: SOCKET_IO_MODULE, SOCKET_IO_CLIENT.name: SOCKET_IO_CLIENT}
    if name in vendored:
        return vendored[name]
    if STATIC_NAME.fullmatch(name) and (WIDGET_ROOT / name).is_file():
        return WIDGET_ROOT / name
    return None


def chat_modules(entry: str = "chat.js") -> list[Path]:
    """The chat panel's module and every module it imports, in the order first imported:
    what widget.js makes the browser fetch when the customer first opens the chat."""
    found: list[Path] = []
    queue = [entry]
    while queue:
        path = widget_file(queue.pop(0))
        if path is None:
            raise FileNotFoundError(f"{entry} imports a file that /chat/static/ does not serve")
        if path in found:
            continue
        found.append(path)
        if path.parent == WIDGET_ROOT:  # the vendored client imports nothing
            queue += STATIC_IMPORT.findall(path.read_text(encoding="utf-8"))
    return found


def served_scripts() -> list[Path]:
    """Every script the chat's routes serve: the widget's own, then the vendored ones."""
    return [*sorted(WIDGET_ROOT.glob("*.js")), SOCKET_IO_MODULE, SOCKET_IO_CLIENT]


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
            return serve_file(WIDGET_ROOT / "index.html", cache=False)

        # The one script tag other sites embed (widget.js: launcher, then the chat on demand).
        @chat.get("/widget.js")
        async def embed(request: Request) -> HTTPResponse:
            return serve_file(WIDGET_ROOT / "widget.js")

        @chat.get("/static/<name>")
        async def static(request: Request, name: str) -> HTTPResponse:
            path = widget_file(name)
            if path is None:
                return json_error(404, "not_found", "No such file")
            answer = serve_file(path)
            answer.headers.update(VARY_ORIGIN)
            return answer

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

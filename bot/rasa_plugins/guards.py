"""Who may call the Rasa server's HTTP API.

Installed by `install_api_guard` (bot.rasa_plugins.patches), which runs when Rasa
loads credentials.yml, before Rasa builds its web app:

- Rasa's own `--auth-token` is always on: unless one is given on the command line
  (or `--jwt-secret`), the installation's API token (bot.security.installation) is used,
  so it never appears in a process list.
- A request middleware answers before any handler:
  * a Host header naming another site gets 403 (a DNS-rebinding page in the
    customer's own browser would otherwise reach a server on loopback);
  * every route outside the channels (/webhooks, /chat, /console, /socket.io)
    needs the token, `/` and `/version` included, compared in constant time;
  * API requests with a body must send it as application/json: a web page can
    send text/plain or a form to any address without asking, JSON it cannot;
  * the chat's HTTP endpoints (bot.security.origins.CORS_PATH_PREFIXES) answer a page of an
    allowed origin with CORS headers (and its preflight with 204); a request from
    a page of any other origin gets 403 and no CORS header.

The action server refuses calls without the installation's action secret
(actions/guard.py); Rasa sends it with every action call (`add_action_secret`,
installed with the other changes to remote actions in bot.rasa_plugins.resilience).
"""

from __future__ import annotations

import hmac
import inspect
import logging
from typing import Any
from urllib.parse import urlsplit

from sanic.request import Request
from sanic.response import HTTPResponse

from bot.config import get_settings
from bot.security.installation import ACTION_SECRET_HEADER, action_secret, api_token
from bot.security.origins import cors_headers, is_cors_path, origin_allowed, preflight_headers

logger = logging.getLogger(__name__)

CHANNEL_PREFIXES = ("/webhooks/", "/chat", "/console", "/socket.io")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
BODY_METHODS = {"POST", "PUT", "PATCH"}


def allowed_hosts() -> set[str]:
    """Host names this server answers to: loopback, BOT_PUBLIC_URL's, BOT_ALLOWED_HOSTS."""
    settings = get_settings()
    hosts = set(LOOPBACK_HOSTS) | set(settings.extra_hosts)
    public = urlsplit(settings.public_url).hostname
    if public:
        hosts.add(public.lower())
    return hosts


def host_name(header: str | None) -> str:
    """ "example.com:5005" -> "example.com"; "[::1]:5005" -> "::1"."""
    if not header:
        return ""
    try:
        return (urlsplit(f"//{header}").hostname or "").lower()
    except ValueError:
        return ""


def is_api_route(path: str) -> bool:
    return not any(path == p.rstrip("/") or path.startswith(p) for p in CHANNEL_PREFIXES)


def _json_body(request: Request) -> bool:
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    return content_type == "application/json"


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    chunked = "transfer-encoding" in request.headers
    return bool(request.body) or length not in (None, "0") or chunked


def _error(status: int, code: str, message: str) -> HTTPResponse:
    from bot.rasa_plugins.responses import json_error

    return json_error(status, code, message)


def _page_origin(request: Request) -> str | None:
    """The Origin a cross-origin-capable chat endpoint was called with, if any."""
    if not is_cors_path(request.path):
        return None
    return request.headers.get("origin")


def make_request_guard(token: str | None, hosts: set[str]) -> Any:
    async def guard(request: Request) -> HTTPResponse | None:
        if host_name(request.headers.get("host")) not in hosts:
            return _error(403, "bad_host", "This server does not answer to that host name.")
        origin = _page_origin(request)
        if origin is not None:
            allowed = get_settings().allowed_origins
            if not origin_allowed(origin, request.headers.get("host"), allowed):
                return _error(403, "bad_origin", "Pages of that site may not use this chat.")
            if request.method == "OPTIONS":
                from sanic import response

                return response.empty(status=204, headers=preflight_headers(origin))
        elif request.method == "OPTIONS" and is_cors_path(request.path):
            return _error(403, "bad_origin", "A preflight request names its origin.")
        if not is_api_route(request.path):
            return None
        if not await _authenticated(request, token):
            return _error(401, "not_authenticated", "The API needs the installation's token.")
        if request.method in BODY_METHODS and _has_body(request) and not _json_body(request):
            return _error(415, "json_only", "The API accepts JSON bodies only.")
        return None

    return guard


async def add_cors_headers(request: Request, response: HTTPResponse) -> None:
    """A page of an allowed origin may read the chat endpoint's answer (others got 403)."""
    origin = _page_origin(request)
    if origin is not None and origin_allowed(
        origin, request.headers.get("host"), get_settings().allowed_origins
    ):
        response.headers.update(cors_headers(origin))


async def _authenticated(request: Request, token: str | None) -> bool:
    provided = request.args.get("token")
    if token and provided and hmac.compare_digest(provided.encode(), token.encode()):
        return True
    if request.app.config.get("USE_JWT"):
        from rasa.utils.common import call_potential_coroutine

        try:
            return bool(
                await call_potential_coroutine(request.app.ctx.auth.is_authenticated(request))
            )
        except Exception:  # noqa: BLE001 - a malformed JWT is just not authenticated
            return False
    return False


def install_api_guard() -> None:
    """Makes Rasa's web app require the API token and install the request guard.

    Rasa's `serve_application` calls `configure_app` after it has imported the
    channels of credentials.yml, so wrapping it here reaches every `rasa run`
    that serves this project's channels. Idempotent.
    """
    import rasa.core.run

    original = rasa.core.run.configure_app
    if getattr(original, "_bot_guarded", False):
        return
    signature = inspect.signature(original)

    def configure_app(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = bound.arguments
        settings = get_settings()  # refuses an unsafe production configuration now
        if not arguments.get("auth_token") and not arguments.get("jwt_secret"):
            arguments["auth_token"] = api_token()
        app = original(**arguments)
        guard = make_request_guard(arguments.get("auth_token"), allowed_hosts())
        app.register_middleware(guard, "request")

        # The guard must run first: Rasa's CORS extension puts its own middleware at
        # the front when the server starts, and answers every OPTIONS request there
        # (automatic_options), which would skip the origin check.
        async def guard_first(app: Any, loop: Any) -> None:
            if guard in app.request_middleware:
                app.request_middleware.remove(guard)
            app.request_middleware.appendleft(guard)

        app.register_listener(guard_first, "after_server_start")
        app.register_middleware(add_cors_headers, "response")
        logger.info(
            "HTTP API needs the installation's token; hosts allowed: %s; pages allowed to "
            "use the chat: %s (%s mode)",
            ", ".join(sorted(allowed_hosts())),
            ", ".join(sorted(settings.allowed_origins)),
            "production" if settings.is_production else "development",
        )
        return app

    configure_app._bot_guarded = True  # type: ignore[attr-defined]
    rasa.core.run.configure_app = configure_app


def add_action_secret(endpoint: Any) -> None:
    """Puts the action secret into the headers Rasa sends to the action server."""
    if endpoint is not None and ACTION_SECRET_HEADER not in (endpoint.headers or {}):
        endpoint.headers = {**(endpoint.headers or {}), ACTION_SECRET_HEADER: action_secret()}

"""Which web pages may talk to the chat: the origin allow-list (BOT_WIDGET_ORIGINS).

A page's origin is its scheme, host and port ("https://www.example.com"), as the
browser sends it in the Origin header. The chat answers pages of:

- the bot's own origin (BOT_PUBLIC_URL's, or the host name the browser used to
  reach this server, which the host guard in bot.rasa_plugins.guards has already checked);
- the sites listed in BOT_WIDGET_ORIGINS, comma-separated, which embed the widget.

Applied to the Socket.IO endpoint (a refused origin gets no socket: python-engineio
answers its handshake with 400), the chat's HTTP endpoints and its ES modules (no
CORS header, and a request that names a refused origin gets 403: the widget's
panel does not load on that page) and the card form's return path (a
link back to a page of an allowed origin only). Requests without an Origin header
(curl, servers, Rasa's own clients) are not web pages and are not refused here.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from bot.errors import ConfigError

DEFAULT_PORTS = {"http": 80, "https": 443}
# Paths whose answers a page of an allowed origin may read (CORS); /chat/static/ holds
# the chat's ES modules, which the widget import()s from the bot: a CORS request.
CORS_PATH_PREFIXES = ("/webhooks/rest/webhook", "/chat/api/", "/chat/static/")
CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "Content-Type"
PREFLIGHT_MAX_AGE = "600"


def origin_of(url: str) -> str | None:
    """ "https://Shop.example.com:443/help?x" -> "https://shop.example.com"; None if not http(s)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host or parts.username or parts.password:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def parse_origins(text: str) -> tuple[str, ...]:
    """BOT_WIDGET_ORIGINS as normalized origins, in the order given.

    Raises:
        ConfigError: an entry is a wildcard, has a path, or is not an http(s) origin.
    """
    origins: list[str] = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        if "*" in entry:
            raise ConfigError(
                "BOT_WIDGET_ORIGINS takes the sites that embed the chat, one by one; "
                f"a wildcard ({entry!r}) would let any page talk to customers' conversations"
            )
        origin = origin_of(entry)
        path = urlsplit(entry).path if origin else ""
        if origin is None or path not in ("", "/") or urlsplit(entry).query:
            raise ConfigError(
                f"BOT_WIDGET_ORIGINS: {entry!r} is not an origin like https://www.example.com"
            )
        if origin not in origins:
            origins.append(origin)
    return tuple(origins)


def origin_allowed(origin: str | None, host_header: str | None, allowed: Iterable[str]) -> bool:
    """Whether a page of `origin` may use the chat on a server reached as `host_header`."""
    if not origin:
        return False
    normalized = origin_of(origin)
    if normalized is None or normalized.rstrip("/") != origin.strip().lower().rstrip("/"):
        return False  # "null", or anything that is not exactly an origin
    if normalized in set(allowed):
        return True
    # The server's own pages, under the host name the browser used.
    return urlsplit(normalized).netloc == (host_header or "").strip().lower() != ""


def is_cors_path(path: str) -> bool:
    return any(path.startswith(prefix) for prefix in CORS_PATH_PREFIXES)


def cors_headers(origin: str) -> dict[str, str]:
    """What a response tells a page of an allowed origin (no cookies: the chat needs none)."""
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def preflight_headers(origin: str) -> dict[str, str]:
    return {
        **cors_headers(origin),
        "Access-Control-Allow-Methods": CORS_METHODS,
        "Access-Control-Allow-Headers": CORS_HEADERS,
        "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
    }


def safe_return_url(url: str | None, allowed: Iterable[str]) -> str | None:
    """A page to send the customer back to, when it is on an allowed origin; else None."""
    if not url or len(url) > 2048:
        return None
    origin = origin_of(url)
    if origin is None or origin not in set(allowed):
        return None
    parts = urlsplit(url)
    if any(c in url for c in "\\\r\n\t") or parts.username or parts.password:
        return None
    return url

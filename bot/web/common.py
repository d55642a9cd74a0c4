"""What the widget and console endpoints share: static files, errors, headers.

Every error leaves as one JSON shape: {"error": {"code": ..., "message": ...}}.
"""

from __future__ import annotations

from pathlib import Path

from sanic import response
from sanic.response import HTTPResponse

from bot.rasa_plugins.responses import NO_STORE, json_error

__all__ = ["NO_STORE", "json_error", "page", "serve_file"]

STATIC_ROOT = Path(__file__).with_name("static")
VENDOR_ROOT = Path(__file__).with_name("node_modules")
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
# The pages build their DOM with textContent only; this policy is the second line.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: with it, Chromium sends "Origin: null" on same-site form posts,
    # and the console's origin check would refuse its own sign-in form.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def serve_file(path: Path, cache: bool = True) -> HTTPResponse:
    """A file from the package; 404 in the JSON shape when it is not there."""
    if not path.is_file():
        return json_error(404, "not_found", "No such file")
    headers = dict(PAGE_HEADERS)
    headers["Cache-Control"] = "public, max-age=300" if cache else "no-store"
    return response.raw(
        path.read_bytes(),
        content_type=CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
        headers=headers,
    )


def page(html_text: str, status: int = 200) -> HTTPResponse:
    return response.html(html_text, status=status, headers={**PAGE_HEADERS, **NO_STORE})

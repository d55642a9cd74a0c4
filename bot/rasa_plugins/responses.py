"""The one JSON shape every error of the bot's HTTP endpoints has.

{"error": {"code": ..., "message": ...}}, never cached. The channels, the API
guard and the pages (bot.web.common) all answer with it.
"""

from __future__ import annotations

from sanic import response
from sanic.response import HTTPResponse

NO_STORE = {"Cache-Control": "no-store"}


def json_error(status: int, code: str, message: str) -> HTTPResponse:
    return response.json(
        {"error": {"code": code, "message": message}}, status=status, headers=NO_STORE
    )

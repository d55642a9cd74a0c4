"""The action server answers only its Rasa server.

A call without the installation's action secret in the X-Bot-Action-Secret header
gets 403; the Rasa server sends it with every call (bot.rasa_plugins.guards,
`add_action_secret`). This is the action server's one change to rasa-sdk, written
for rasa-sdk 3.6.2, which creates its Sanic app, named "rasa_sdk", before it
imports the actions package.
"""

from __future__ import annotations

import hmac
import logging

from sanic.request import Request
from sanic.response import HTTPResponse

from bot.security.installation import ACTION_SECRET_HEADER, action_secret

logger = logging.getLogger(__name__)

RASA_SDK_VERSION = "3.6.2"


async def action_guard(request: Request) -> HTTPResponse | None:
    if request.path == "/health":
        return None
    given = request.headers.get(ACTION_SECRET_HEADER.lower()) or ""
    if not hmac.compare_digest(given.encode(), action_secret().encode()):
        from sanic import response

        return response.json({"error": "This action server only answers its Rasa server."}, 403)
    return None


def protect_action_server() -> None:
    """Makes the running rasa_sdk action server refuse calls without the action secret.

    When there is no rasa_sdk app (tests import the actions), nothing happens.

    Raises:
        RuntimeError: rasa-sdk is not the version this was written for.
    """
    from sanic import Sanic

    from bot.security.redaction import install_log_masking

    try:
        app = Sanic.get_app("rasa_sdk")
    except Exception:  # noqa: BLE001 - SanicException: not in an action server
        return
    import rasa_sdk

    if rasa_sdk.__version__ != RASA_SDK_VERSION:
        raise RuntimeError(
            f"actions/guard.py was written for rasa-sdk {RASA_SDK_VERSION}, not "
            f"{rasa_sdk.__version__}: check it against the new version and update the pin"
        )
    install_log_masking()
    app.register_middleware(action_guard, "request")
    logger.info("action server: calls need the %s header", ACTION_SECRET_HEADER)

"""Customer identity: HS256 tokens whose `sub` is the customer id.

The sender id of a channel never identifies a customer; only a token signed with
BOT_AUTH_SECRET does.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import jwt

from bot.errors import AuthError

ALGORITHM = "HS256"
TOKEN_METADATA_KEY = "customer_token"


def issue_token(customer_id: str, secret: str, ttl_seconds: int, now: float | None = None) -> str:
    """A signed token for `customer_id`, valid for `ttl_seconds`."""
    issued = int(time.time() if now is None else now)
    claims = {"sub": customer_id, "iat": issued, "exp": issued + ttl_seconds}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(token: str, secret: str) -> str:
    """The customer id in a valid token.

    Raises:
        AuthError: the token is malformed, unsigned, forged, expired or has no subject.
    """
    if not isinstance(token, str) or not token:
        raise AuthError("no token")
    try:
        # Pinning the algorithm list refuses `alg: none` and algorithm confusion.
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthError("token expired") from exc
    except jwt.PyJWTError as exc:
        raise AuthError(f"invalid token: {exc}") from exc
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise AuthError("token has no subject")
    return subject


def customer_from_metadata(metadata: Mapping[str, Any] | None, secret: str) -> str:
    """The customer id carried by a channel message's metadata.

    Raises:
        AuthError: no token in the metadata, or not a valid one.
    """
    if not isinstance(metadata, Mapping):
        raise AuthError("no metadata")
    return verify_token(metadata.get(TOKEN_METADATA_KEY), secret)  # type: ignore[arg-type]

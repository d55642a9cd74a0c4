"""Customer identity: HS256 tokens whose `sub` is the customer id.

The sender id of a channel never identifies a customer; only a token signed with
BOT_AUTH_SECRET does. The channel checks the token when the message arrives and
keeps, in the message's metadata, only a reference to the customer it names:
the customer id with an HMAC over it and the conversation id. A token kept in the
conversation store could be replayed by anyone who reads the store; the
reference only means something to this conversation's actions.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

import jwt

from bot.errors import AuthError

ALGORITHM = "HS256"
TOKEN_METADATA_KEY = "customer_token"
REFERENCE_METADATA_KEY = "customer_ref"


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


def _reference_signature(customer_id: str, conversation_id: str, secret: str) -> str:
    message = f"customer-ref\x00{conversation_id}\x00{customer_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def customer_reference(customer_id: str, conversation_id: str, secret: str) -> str:
    """What the conversation store keeps instead of a verified token."""
    return f"{customer_id}:{_reference_signature(customer_id, conversation_id, secret)}"


def verified_metadata(
    metadata: Mapping[str, Any], conversation_id: str, secret: str
) -> dict[str, Any]:
    """The metadata as it may be stored: a valid token becomes a customer reference.

    An invalid or expired token is dropped (the message then sees no account).
    """
    dropped = (TOKEN_METADATA_KEY, REFERENCE_METADATA_KEY)
    kept = {k: v for k, v in metadata.items() if k not in dropped}
    token = metadata.get(TOKEN_METADATA_KEY)
    if token is not None:
        try:
            customer_id = verify_token(token, secret)
        except AuthError:
            return kept
        kept[REFERENCE_METADATA_KEY] = customer_reference(customer_id, conversation_id, secret)
    return kept


def customer_from_metadata(
    metadata: Mapping[str, Any] | None, conversation_id: str, secret: str
) -> str:
    """The customer a stored message's metadata refers to (see `verified_metadata`).

    Raises:
        AuthError: no reference, or one not made for this conversation with this secret.
    """
    if not isinstance(metadata, Mapping):
        raise AuthError("no metadata")
    reference = metadata.get(REFERENCE_METADATA_KEY)
    if not isinstance(reference, str) or ":" not in reference:
        raise AuthError("no signed-in customer")
    customer_id, _, signature = reference.rpartition(":")
    expected = _reference_signature(customer_id, conversation_id, secret)
    if not customer_id or not hmac.compare_digest(signature, expected):
        raise AuthError("the customer reference is not valid for this conversation")
    return customer_id

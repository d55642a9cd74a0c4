"""Customer identity: signed tokens (JWT) whose `sub` is the customer id.

The sender id of a channel never identifies a customer; only a token does, signed
either with BOT_AUTH_SECRET (HS256: the demo sign-in, `bot token`) or by the
embedding site's own backend with its private key (RS256 or ES256), checked with
the public key(s) in BOT_CUSTOMER_TOKEN_PUBLIC_KEY(_FILE). Every token needs
`sub`, `exp` and `aud` (BOT_CUSTOMER_TOKEN_AUDIENCE), `iss` too when
BOT_CUSTOMER_TOKEN_ISSUER is set; the site's clock may differ from ours by
LEEWAY_SECONDS (HS256 tokens are issued by this installation's clock: none). The
algorithm a token names picks the one key it is checked with, and only these
three algorithms are accepted: `none`, HS512, and an HS256 token "signed" with the
public key as its secret (algorithm confusion) are refused.

The channel checks the token when the message arrives and keeps, in the message's
metadata, only a reference to the customer it names: the customer id with an HMAC
over it and the conversation id. A token kept in the conversation store could be
replayed by anyone who reads the store; the reference only means something to this
conversation's actions.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from bot.errors import AuthError, ConfigError

ALGORITHM = "HS256"
DEFAULT_AUDIENCE = "billing-support-bot"
LEEWAY_SECONDS = 60
MIN_RSA_BITS = 2048
PEM_BLOCK = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL)
TOKEN_METADATA_KEY = "customer_token"
REFERENCE_METADATA_KEY = "customer_ref"


def issue_token(
    customer_id: str,
    secret: str,
    ttl_seconds: int,
    now: float | None = None,
    audience: str = DEFAULT_AUDIENCE,
) -> str:
    """A signed HS256 token for `customer_id`, valid for `ttl_seconds`."""
    issued = int(time.time() if now is None else now)
    claims = {"sub": customer_id, "aud": audience, "iat": issued, "exp": issued + ttl_seconds}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


@dataclass(frozen=True)
class TokenRules:
    """What a token must satisfy besides its signature."""

    audience: str = DEFAULT_AUDIENCE
    public_keys: str = ""  # PEM, one or more keys (a site rotating its key lists both)
    issuer: str = ""
    leeway_seconds: int = LEEWAY_SECONDS


def token_rules(settings: Any) -> TokenRules:
    """The rules of bot.config's settings."""
    return TokenRules(settings.token_audience, settings.token_public_keys, settings.token_issuer)


@lru_cache(maxsize=8)
def public_keys(pem_text: str) -> dict[str, tuple[Any, ...]]:
    """Algorithm -> the public keys for it, from PEM text (RSA: RS256; P-256: ES256).

    Raises:
        ConfigError: a block is not a public key, or is a weak or unsupported one.
    """
    keys: dict[str, list[Any]] = {"RS256": [], "ES256": []}
    blocks = PEM_BLOCK.findall(pem_text)
    if pem_text.strip() and not blocks:
        raise ConfigError("the customer token public key is not a PEM public key")
    for block in blocks:
        try:
            key = load_pem_public_key(block.encode("ascii"))
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"the customer token public key cannot be read: {exc}") from exc
        if isinstance(key, rsa.RSAPublicKey):
            if key.key_size < MIN_RSA_BITS:
                raise ConfigError(f"RSA keys need at least {MIN_RSA_BITS} bits")
            keys["RS256"].append(key)
        elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
            keys["ES256"].append(key)
        else:
            raise ConfigError("customer token keys must be RSA (RS256) or EC P-256 (ES256)")
    return {alg: tuple(found) for alg, found in keys.items() if found}


def verify_token(token: str, secret: str, rules: TokenRules | None = None) -> str:
    """The customer id in a valid token.

    Raises:
        AuthError: the token is malformed, unsigned, signed with another key or
            algorithm, expired, not yet valid, for another audience or issuer, or
            has no subject.
    """
    rules = rules or TokenRules()
    if not isinstance(token, str) or not token or len(token) > 8192:
        raise AuthError("no token")
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
    except jwt.PyJWTError as exc:
        raise AuthError(f"invalid token: {exc}") from exc
    # The algorithm chooses the key, and each key is used with its algorithm only.
    named = algorithm if isinstance(algorithm, str) else ""
    keys: tuple[Any, ...]
    if named == ALGORITHM:
        keys = (secret,)
    else:
        keys = public_keys(rules.public_keys).get(named, ())
    if not keys:
        raise AuthError(f"tokens signed with {algorithm!r} are not accepted")
    required = ["sub", "exp", "aud"] + (["iss"] if rules.issuer else [])
    leeway = 0 if named == ALGORITHM else rules.leeway_seconds
    error: jwt.PyJWTError | None = None
    for key in keys:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[named],
                audience=rules.audience,
                issuer=rules.issuer or None,
                leeway=leeway,
                options={"require": required},
            )
            break
        except jwt.InvalidSignatureError as exc:
            error = exc  # maybe the next key (a site rotating its key)
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("token expired") from exc
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from exc
    else:
        raise AuthError(f"invalid token: {error}")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 128:
        raise AuthError("token has no subject")
    return subject


def _reference_signature(customer_id: str, conversation_id: str, secret: str) -> str:
    message = f"customer-ref\x00{conversation_id}\x00{customer_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def customer_reference(customer_id: str, conversation_id: str, secret: str) -> str:
    """What the conversation store keeps instead of a verified token."""
    return f"{customer_id}:{_reference_signature(customer_id, conversation_id, secret)}"


def verified_metadata(
    metadata: Mapping[str, Any], conversation_id: str, secret: str, rules: TokenRules | None = None
) -> dict[str, Any]:
    """The metadata as it may be stored: a valid token becomes a customer reference.

    An invalid or expired token is dropped (the message then sees no account).
    """
    dropped = (TOKEN_METADATA_KEY, REFERENCE_METADATA_KEY)
    kept = {k: v for k, v in metadata.items() if k not in dropped}
    token = metadata.get(TOKEN_METADATA_KEY)
    if token is not None:
        try:
            customer_id = verify_token(token, secret, rules)
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

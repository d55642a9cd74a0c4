"""Customer tokens: only a valid HS256 token with a subject identifies a customer.

The channel verifies the token and keeps only a reference bound to the conversation.
"""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from bot.config import DEVELOPMENT_AUTH_SECRET, load_settings
from bot.errors import AuthError, ConfigError
from bot.security.auth import (
    DEFAULT_AUDIENCE,
    REFERENCE_METADATA_KEY,
    customer_from_metadata,
    customer_reference,
    issue_token,
    verified_metadata,
    verify_token,
)

SECRET = "a-test-secret-that-is-long-enough-000000"
AUD = DEFAULT_AUDIENCE


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_valid_token_names_its_customer() -> None:
    assert verify_token(issue_token("cust-lv-owner", SECRET, 60), SECRET) == "cust-lv-owner"


def test_the_channel_keeps_a_reference_not_the_token() -> None:
    token = issue_token("cust-en-owner", SECRET, 60)
    stored = verified_metadata({"customer_token": token, "language": "en"}, "conv-1", SECRET)
    assert set(stored) == {REFERENCE_METADATA_KEY, "language"} and token not in str(stored)
    assert customer_from_metadata(stored, "conv-1", SECRET) == "cust-en-owner"


@pytest.mark.parametrize(
    "reference",
    [
        pytest.param(
            customer_reference("cust-en-owner", "conv-2", SECRET), id="other-conversation"
        ),
        pytest.param(customer_reference("cust-en-owner", "conv-1", "x" * 40), id="other-secret"),
        pytest.param("cust-en-owner:" + "0" * 32, id="forged"),
        pytest.param("cust-en-owner", id="bare-id"),
        pytest.param(issue_token("cust-en-owner", SECRET, 60), id="a-token"),
    ],
)
def test_a_reference_counts_only_for_its_conversation(reference: str) -> None:
    with pytest.raises(AuthError):
        customer_from_metadata({REFERENCE_METADATA_KEY: reference}, "conv-1", SECRET)


def test_a_client_cannot_send_its_own_reference() -> None:
    forged = {REFERENCE_METADATA_KEY: customer_reference("cust-en-owner", "conv-1", SECRET)}
    assert verified_metadata(forged, "conv-1", SECRET) == {}


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("not-a-jwt", id="garbage"),
        pytest.param(
            issue_token("cust-lv-owner", "another-secret-of-enough-length-000", 60), id="forged"
        ),
        pytest.param(
            issue_token("cust-lv-owner", SECRET, 60, now=time.time() - 3600), id="expired"
        ),
        pytest.param(
            _b64({"alg": "none", "typ": "JWT"})
            + "."
            + _b64({"sub": "cust-lv-owner", "exp": int(time.time()) + 60})
            + ".",
            id="alg-none",
        ),
        pytest.param(
            jwt.encode({"exp": int(time.time()) + 60, "aud": AUD}, SECRET, algorithm="HS256"),
            id="no-subject",
        ),
        pytest.param(
            jwt.encode({"sub": "cust-lv-owner", "aud": AUD}, SECRET, algorithm="HS256"),
            id="no-expiry",
        ),
        pytest.param(
            jwt.encode(
                {"sub": "cust-lv-owner", "exp": int(time.time()) + 60, "aud": AUD},
                SECRET,
                algorithm="HS512",
            ),
            id="other-algorithm",
        ),
        pytest.param(
            jwt.encode({"sub": "cust-lv-owner", "exp": int(time.time()) + 60}, SECRET),
            id="no-audience",
        ),
        pytest.param(
            issue_token("cust-lv-owner", SECRET, 60, audience="another-service"),
            id="other-audience",
        ),
        pytest.param(
            jwt.encode(
                {"sub": 42, "exp": int(time.time()) + 60, "aud": AUD}, SECRET, algorithm="HS256"
            ),
            id="subject-not-a-string",
        ),
    ],
)
def test_a_bad_token_is_refused(token) -> None:
    with pytest.raises(AuthError):
        verify_token(token, SECRET)
    stored = verified_metadata({"customer_token": token, "language": "lv"}, "conv-1", SECRET)
    assert stored == {"language": "lv"}
    with pytest.raises(AuthError):
        customer_from_metadata(stored, "conv-1", SECRET)


@pytest.mark.parametrize("metadata", [None, [], "x", {}])
def test_metadata_without_a_reference_is_refused(metadata) -> None:
    with pytest.raises(AuthError):
        customer_from_metadata(metadata, "conv-1", SECRET)


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ConfigError):
        load_settings({"BOT_ENV": "production"})
    with pytest.raises(ConfigError):
        load_settings({"BOT_ENV": "production", "BOT_AUTH_SECRET": DEVELOPMENT_AUTH_SECRET})
    settings = load_settings({"BOT_ENV": "production", "BOT_AUTH_SECRET": SECRET})
    assert settings.is_production and settings.auth_secret == SECRET


def test_development_falls_back_to_its_default_secret() -> None:
    assert load_settings({}).auth_secret == DEVELOPMENT_AUTH_SECRET
    assert not load_settings({"BOT_ENV": " Development "}).is_production


@pytest.mark.parametrize("environment", ["prod", "staging", "Production ", "live", ""])
def test_any_other_environment_is_production_and_fails_closed(environment: str) -> None:
    with pytest.raises(ConfigError):
        load_settings({"BOT_ENV": environment})
    with pytest.raises(ConfigError):
        load_settings({"BOT_ENV": environment, "BOT_AUTH_SECRET": DEVELOPMENT_AUTH_SECRET})
    assert load_settings({"BOT_ENV": environment, "BOT_AUTH_SECRET": SECRET}).is_production


@pytest.mark.parametrize(
    "environ",
    [
        {"BOT_AUTH_SECRET": "short"},
        {"BOT_TOKEN_TTL_SECONDS": "soon"},
        {"BOT_TOKEN_TTL_SECONDS": "0"},
    ],
)
def test_malformed_settings_fail_fast(environ) -> None:
    with pytest.raises(ConfigError):
        load_settings(environ)

"""Customer tokens: only a valid HS256 token with a subject identifies a customer."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from bot.auth import customer_from_metadata, issue_token, verify_token
from bot.config import DEVELOPMENT_AUTH_SECRET, load_settings
from bot.errors import AuthError, ConfigError

SECRET = "a-test-secret-that-is-long-enough-000000"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_valid_token_names_its_customer() -> None:
    assert verify_token(issue_token("cust-lv-owner", SECRET, 60), SECRET) == "cust-lv-owner"


def test_the_customer_comes_from_metadata() -> None:
    metadata = {"customer_token": issue_token("cust-en-owner", SECRET, 60), "language": "en"}
    assert customer_from_metadata(metadata, SECRET) == "cust-en-owner"


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
            jwt.encode({"exp": int(time.time()) + 60}, SECRET, algorithm="HS256"), id="no-subject"
        ),
        pytest.param(
            jwt.encode({"sub": "cust-lv-owner"}, SECRET, algorithm="HS256"), id="no-expiry"
        ),
        pytest.param(
            jwt.encode(
                {"sub": "cust-lv-owner", "exp": int(time.time()) + 60}, SECRET, algorithm="HS512"
            ),
            id="other-algorithm",
        ),
        pytest.param(
            jwt.encode({"sub": 42, "exp": int(time.time()) + 60}, SECRET, algorithm="HS256"),
            id="subject-not-a-string",
        ),
    ],
)
def test_a_bad_token_is_refused(token) -> None:
    with pytest.raises(AuthError):
        customer_from_metadata({"customer_token": token}, SECRET)


@pytest.mark.parametrize("metadata", [None, [], "x", {}])
def test_metadata_without_a_token_is_refused(metadata) -> None:
    with pytest.raises(AuthError):
        customer_from_metadata(metadata, SECRET)


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ConfigError):
        load_settings({"BOT_ENV": "production"})
    with pytest.raises(ConfigError):
        load_settings({"BOT_ENV": "production", "BOT_AUTH_SECRET": DEVELOPMENT_AUTH_SECRET})
    settings = load_settings({"BOT_ENV": "production", "BOT_AUTH_SECRET": SECRET})
    assert settings.is_production and settings.auth_secret == SECRET


def test_development_falls_back_to_its_default_secret() -> None:
    assert load_settings({}).auth_secret == DEVELOPMENT_AUTH_SECRET


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

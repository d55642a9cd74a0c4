"""Customer tokens signed by the embedding site: RS256 and ES256 next to the demo's HS256.

Real keys are made per test run with `cryptography`; each token is built the way a
site's backend would (PyJWT, its private key) or the way an attacker would.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from bot.config import load_settings
from bot.errors import AuthError, ConfigError
from bot.security.auth import (
    DEFAULT_AUDIENCE,
    LEEWAY_SECONDS,
    TokenRules,
    issue_token,
    public_keys,
    verified_metadata,
    verify_token,
)

SECRET = "a-test-secret-that-is-long-enough-000000"
AUD = "shop.example.com/billing-chat"


def _pem(private_key: Any) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_EC_KEY = ec.generate_private_key(ec.SECP256R1())
SIGNERS = {"RS256": RSA_KEY, "ES256": EC_KEY}
OTHERS = {"RS256": OTHER_RSA_KEY, "ES256": OTHER_EC_KEY}
RULES = TokenRules(audience=AUD, public_keys=_pem(RSA_KEY) + _pem(EC_KEY))


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": "cust-lv-owner", "aud": AUD, "iat": now, "exp": now + 300}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _site_token(algorithm: str, key: Any = None, **changes: Any) -> str:
    return jwt.encode(_claims(**changes), key or SIGNERS[algorithm], algorithm=algorithm)


def _b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _hs256_with_public_key(algorithm: str) -> str:
    """Algorithm confusion: HS256 with the site's PUBLIC key as the HMAC secret.

    PyJWT refuses to sign with a PEM as an HMAC secret, so it is signed by hand,
    as an attacker would.
    """
    import hashlib
    import hmac

    header = _b64({"alg": "HS256", "typ": "JWT"})
    body = _b64(_claims())
    secret = _pem(SIGNERS[algorithm]).encode()
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_a_token_signed_by_the_site_names_its_customer(algorithm: str) -> None:
    assert verify_token(_site_token(algorithm), SECRET, RULES) == "cust-lv-owner"
    stored = verified_metadata({"customer_token": _site_token(algorithm)}, "conv-1", SECRET, RULES)
    assert stored["customer_ref"].startswith("cust-lv-owner:")


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
@pytest.mark.parametrize(
    ("case", "build"),
    [
        ("expired", lambda a: _site_token(a, exp=int(time.time()) - LEEWAY_SECONDS - 5)),
        ("wrong audience", lambda a: _site_token(a, aud="another-service")),
        ("no audience", lambda a: _site_token(a, aud=None)),
        ("no expiry", lambda a: _site_token(a, exp=None)),
        ("no subject", lambda a: _site_token(a, sub=None)),
        ("empty subject", lambda a: _site_token(a, sub="")),
        ("wrong key", lambda a: _site_token(a, key=OTHERS[a])),
        ("not yet valid", lambda a: _site_token(a, nbf=int(time.time()) + LEEWAY_SECONDS + 60)),
        ("issued in the future", lambda a: _site_token(a, iat=int(time.time()) + 3600)),
        ("alg confusion", _hs256_with_public_key),
        (
            "alg none",
            lambda a: _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(_claims()) + ".",
        ),
        ("signature removed", lambda a: _site_token(a).rsplit(".", 1)[0] + "."),
        (
            "header says the other algorithm",
            lambda a: (
                _b64({"alg": "ES256" if a == "RS256" else "RS256", "typ": "JWT"})
                + "."
                + _site_token(a).split(".", 1)[1]
            ),
        ),
        (
            "PS256 with the RSA key",
            lambda a: jwt.encode(_claims(), RSA_KEY, algorithm="PS256"),
        ),
    ],
)
def test_a_bad_site_token_is_refused(algorithm: str, case: str, build: Any) -> None:
    token = build(algorithm)
    with pytest.raises(AuthError):
        verify_token(token, SECRET, RULES)
    assert verified_metadata({"customer_token": token}, "conv-1", SECRET, RULES) == {}


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_clocks_may_differ_by_the_leeway_only(algorithm: str) -> None:
    now = int(time.time())
    late = _site_token(algorithm, exp=now - LEEWAY_SECONDS + 10)
    assert verify_token(late, SECRET, RULES) == "cust-lv-owner"
    early = _site_token(algorithm, nbf=now + LEEWAY_SECONDS - 10)
    assert verify_token(early, SECRET, RULES) == "cust-lv-owner"


def test_site_tokens_are_refused_when_no_public_key_is_configured() -> None:
    token = _site_token("RS256", aud=DEFAULT_AUDIENCE)
    with pytest.raises(AuthError, match="not accepted"):
        verify_token(token, SECRET, TokenRules())


def test_the_demo_hs256_tokens_keep_working_next_to_site_keys() -> None:
    token = issue_token("cust-en-owner", SECRET, 60, audience=AUD)
    assert verify_token(token, SECRET, RULES) == "cust-en-owner"
    with pytest.raises(AuthError):
        verify_token(issue_token("cust-en-owner", SECRET, 60), SECRET, RULES)  # default aud


def test_a_site_rotating_its_key_lists_both() -> None:
    rules = TokenRules(audience=AUD, public_keys=_pem(RSA_KEY) + "\n" + _pem(OTHER_RSA_KEY))
    assert verify_token(_site_token("RS256", key=OTHER_RSA_KEY), SECRET, rules) == "cust-lv-owner"
    assert verify_token(_site_token("RS256"), SECRET, rules) == "cust-lv-owner"


def test_the_issuer_is_checked_when_configured() -> None:
    rules = TokenRules(audience=AUD, public_keys=_pem(EC_KEY), issuer="https://shop.example.com")
    good = _site_token("ES256", iss="https://shop.example.com")
    assert verify_token(good, SECRET, rules) == "cust-lv-owner"
    for bad in (_site_token("ES256"), _site_token("ES256", iss="https://evil.example")):
        with pytest.raises(AuthError):
            verify_token(bad, SECRET, rules)


def test_settings_read_the_key_from_the_environment_or_a_file(tmp_path) -> None:
    pem = _pem(EC_KEY)
    inline = load_settings(
        {
            "BOT_CUSTOMER_TOKEN_PUBLIC_KEY": pem.replace("\n", "\\n"),
            "BOT_CUSTOMER_TOKEN_AUDIENCE": AUD,
        }
    )
    assert set(public_keys(inline.token_public_keys)) == {"ES256"}
    assert inline.token_audience == AUD
    path = tmp_path / "site.pem"
    path.write_text(_pem(RSA_KEY))
    from_file = load_settings({"BOT_CUSTOMER_TOKEN_PUBLIC_KEY_FILE": str(path)})
    assert set(public_keys(from_file.token_public_keys)) == {"RS256"}
    assert from_file.token_audience == DEFAULT_AUDIENCE


def _weak_rsa_pem() -> str:
    return _pem(rsa.generate_private_key(public_exponent=65537, key_size=1024))


@pytest.mark.parametrize(
    "environ",
    [
        pytest.param({"BOT_CUSTOMER_TOKEN_PUBLIC_KEY": "not a key"}, id="not-pem"),
        pytest.param(
            {
                "BOT_CUSTOMER_TOKEN_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----\nAAAA\n"
                "-----END PUBLIC KEY-----"
            },
            id="broken-pem",
        ),
        pytest.param({"BOT_CUSTOMER_TOKEN_PUBLIC_KEY": _weak_rsa_pem()}, id="rsa-1024"),
        pytest.param(
            {"BOT_CUSTOMER_TOKEN_PUBLIC_KEY": _pem(ec.generate_private_key(ec.SECP384R1()))},
            id="p-384",
        ),
        pytest.param({"BOT_CUSTOMER_TOKEN_PUBLIC_KEY_FILE": "/nonexistent/key.pem"}, id="no-file"),
        pytest.param(
            {
                "BOT_CUSTOMER_TOKEN_PUBLIC_KEY": _pem(EC_KEY),
                "BOT_CUSTOMER_TOKEN_PUBLIC_KEY_FILE": "/etc/hostname",
            },
            id="both",
        ),
    ],
)
def test_a_key_that_cannot_be_used_stops_the_start(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        load_settings(environ)

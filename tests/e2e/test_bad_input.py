"""Bad input to the REST channel, the card endpoint and the console, on the real servers.

Each gets a clear answer (a 4xx with a stable code, or a reply the customer can
act on), never a 500 or a stack trace, and nothing is stored that should not be.
Two property-based tests (hypothesis) throw arbitrary bodies at the REST channel
and arbitrary forms at the card endpoint.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

import jwt
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli.chat import bot_messages
from bot.rasa_plugins.resilience import response_text
from bot.security.auth import issue_token
from tests.conftest import TEST_SECRET
from tests.e2e.conftest import BotServers
from tests.e2e.test_handoff import Console

pytestmark = pytest.mark.e2e
NO_ACCESS_EN = response_text("utter_no_account_access", "en")


def _post_raw(servers: BotServers, body: bytes, content_type: str = "application/json"):
    request = urllib.request.Request(
        f"{servers.url}/webhooks/rest/webhook", data=body, headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=90) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _user_events(servers: BotServers, sender: str) -> list[str]:
    return [e.get("text") for e in servers.tracker(sender) if e.get("event") == "user"]


def _db(servers: BotServers, query: str) -> list[tuple]:
    with sqlite3.connect(servers.database_url.removeprefix("sqlite:///")) as connection:
        return connection.execute(query).fetchall()


def _body(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


REFUSED = [
    (b"", 400, "bad_json"),
    (b"not json", 400, "bad_json"),
    (b'\xff\xfe{"sender": "x", "message": "hi"}', 400, "bad_json"),
    (b'{"sender": "x", "message": "caf\xe9"}', 400, "bad_json"),
    (b"[]", 400, "bad_json"),
    (b'"just a string"', 400, "bad_json"),
    (b"[" * 30000 + b"]" * 30000, 400, "bad_json"),
    (_body(sender="bad-input-1"), 400, "bad_message"),
    (_body(message="hello"), 400, "bad_sender"),
    (_body(sender=5, message="hello"), 400, "bad_sender"),
    (_body(sender="two words", message="hello"), 400, "bad_sender"),
    (_body(sender="x" * 129, message="hello"), 400, "bad_sender"),
    (_body(sender="bad-input-2", message=["hello"]), 400, "bad_message"),
    (_body(sender="bad-input-3", message=None), 400, "bad_message"),
    (_body(sender="bad-input-4", message=""), 400, "empty_message"),
    (_body(sender="bad-input-5", message="   \n\t  "), 400, "empty_message"),
    (_body(sender="bad-input-6", message="\u0000\u0007\u001b"), 400, "empty_message"),
    (_body(sender="bad-input-7", message="a" * 3000), 413, "message_too_long"),
    (_body(sender="bad-input-8", message="a" * 100_000), 413, "body_too_large"),
    (_body(sender="bad-input-9", message="hi", metadata="token"), 400, "bad_metadata"),
    (_body(sender="bad-input-10", message="hi", metadata={"customer_token": 5}), 400, "bad_metadata"),  # noqa: E501
    (_body(sender="bad-input-11", message="/EXTERNAL_handed_back"), 400, "reserved_intent"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "status", "code"), REFUSED)
def test_the_rest_channel_refuses_bad_bodies_clearly(
    servers: BotServers, body: bytes, status: int, code: str
) -> None:
    got, raw = _post_raw(servers, body)
    assert (got, json.loads(raw)["error"]["code"]) == (status, code), raw[:300]
    assert b"Traceback" not in raw
    try:
        sender = json.loads(body).get("sender")
    except (ValueError, AttributeError, RecursionError):
        sender = None
    if isinstance(sender, str) and sender.startswith("bad-input"):
        assert _user_events(servers, sender) == []


def test_emoji_injection_and_control_characters_get_normal_replies(servers: BotServers) -> None:
    meta = servers.token("cust-en-current")
    sender = f"odd-{uuid.uuid4().hex[:8]}"
    assert servers.send(sender, "👍👍🙂", meta)
    sql = "'; DROP TABLE customers; -- my card expired"
    assert servers.send(sender, sql, meta)
    script = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    replies = servers.send(sender, script, meta)
    assert replies and all("<script>" not in (r.get("text") or "") for r in replies)
    assert servers.send(sender, "my card\u0000 expired\u001b\ud800", meta)
    assert _db(servers, "SELECT count(*) FROM customers") == [(4,)]
    stored = _user_events(servers, sender)
    assert stored[-1] == "my card expired"
    assert stored[:3] == ["👍👍🙂", sql, script]


def _forged(payload: dict[str, Any], secret: str = "another-secret-0123456789abcdef-xyz") -> str:
    return jwt.encode(payload, secret, algorithm="HS256")


def _alg_none(customer_id: str) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {"sub": customer_id, "exp": int(time.time()) + 600}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


BAD_TOKENS = {
    "forged": _forged({"sub": "cust-en-owner", "exp": int(time.time()) + 600}),
    "expired": jwt.encode({"sub": "cust-en-owner", "exp": int(time.time()) - 60}, TEST_SECRET),
    "alg none": _alg_none("cust-en-owner"),
    "HS512": jwt.encode(
        {"sub": "cust-en-owner", "exp": int(time.time()) + 600}, TEST_SECRET, algorithm="HS512"
    ),
    "no subject": jwt.encode({"exp": int(time.time()) + 600}, TEST_SECRET),
    "garbage": "not.a.token",
}


@pytest.mark.parametrize("kind", list(BAD_TOKENS))
def test_bad_tokens_see_no_account(servers: BotServers, kind: str) -> None:
    sender = f"token-{uuid.uuid4().hex[:8]}"
    replies = servers.send(sender, "my card expired", {"customer_token": BAD_TOKENS[kind]})
    text = " ".join(r.get("text") or "" for r in replies)
    assert NO_ACCESS_EN in text
    assert "$6.00" not in text and "8431" not in text


def test_another_customers_token_mid_conversation_touches_neither_account(
    servers: BotServers,
) -> None:
    from tests.e2e.test_settle import _reseed

    _reseed(servers)
    sender = f"switch-{uuid.uuid4().hex[:8]}"
    owner = {"customer_token": issue_token("cust-lv-owner", TEST_SECRET, 600), "language": "lv"}
    other = {"customer_token": issue_token("cust-en-owner", TEST_SECRET, 600), "language": "lv"}
    servers.send(sender, "Mans maksājums tika noraidīts", owner)
    servers.send(sender, "/change_expiry", owner)
    servers.send(sender, "2027. gada decembris", owner)
    # The confirmation arrives with someone else's token.
    replies = servers.send(sender, "/affirm", other)
    assert "4242" not in " ".join(r.get("text") or "" for r in replies)
    assert _db(servers, "SELECT count(*) FROM payment_attempts WHERE status = 'approved'") == [(0,)]
    assert _db(
        servers,
        "SELECT exp_month, exp_year FROM payment_methods WHERE last4 IN ('4242', '8431') "
        "AND customer_id IN ('cust-lv-owner', 'cust-en-owner') ORDER BY last4",
    ) == [(3, 2026), (1, 2026)]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)
REST_BODIES = st.one_of(
    st.binary(max_size=300),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {},
        optional={
            "sender": st.one_of(st.from_regex(r"\Afuzz-[a-z0-9]{1,12}\Z"), JSON_VALUES),
            "message": st.one_of(st.text(max_size=200), JSON_VALUES),
            "metadata": st.one_of(
                st.fixed_dictionaries(
                    {}, optional={"customer_token": JSON_VALUES, "language": JSON_VALUES}
                ),
                JSON_VALUES,
            ),
            "input_channel": JSON_VALUES,
        },
    ).map(lambda v: json.dumps(v).encode()),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=REST_BODIES)
def test_fuzz_the_rest_channel_never_fails_with_a_500(servers: BotServers, body: bytes) -> None:
    status, raw = _post_raw(servers, body)
    assert status in (200, 400, 413), (status, raw[:300])
    answer = json.loads(raw)
    if status == 200:
        assert isinstance(answer, list)
    else:
        assert set(answer["error"]) == {"code", "message"}


def _card_form_link(servers: BotServers) -> str:
    sender = f"card-{uuid.uuid4().hex[:8]}"
    meta = servers.token("cust-en-owner")
    servers.send(sender, "my card payment failed", meta)
    replies = servers.send(sender, "/add_new_card", meta)
    custom = [r["custom"] for r in replies if r.get("custom")]
    return custom[0]["card_form"]["url"]


def _post_form(url: str, body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_card_form_refuses_bad_posts_and_stores_nothing(servers: BotServers) -> None:
    link = _card_form_link(servers)
    cards_before = _db(servers, "SELECT count(*) FROM payment_methods")
    bodies = [
        b"number=\xff\xfe&expiry=12%2F29&name=A&cvc=123",
        urllib.parse.urlencode({"number": "4" * 100_000, "name": "A" * 100_000}).encode(),
        urllib.parse.urlencode(
            {"number": "4242424242424242\x00", "expiry": "12/29\x00", "name": "\x00", "cvc": "1"}
        ).encode(),
        b"%%%&&&===",
        b"",
    ]
    for body in bodies:
        status, page = _post_form(link, body)
        assert status == 400, (body[:60], status)
        assert "Traceback" not in page
    assert _db(servers, "SELECT count(*) FROM payment_methods") == cards_before
    status, page = _post_form(f"{servers.url}/webhooks/cards/form/{'x' * 5000}", b"")
    assert status == 410 and "Traceback" not in page


FORM_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        key: st.text(max_size=40) | st.from_regex(r"\A[0-9 /-]{0,24}\Z")
        for key in ("number", "expiry", "name", "cvc")
    },
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fields=FORM_FIELDS, junk=st.binary(max_size=40))
def test_fuzz_the_card_endpoint_never_fails_with_a_500(
    servers: BotServers, card_link: str, fields: dict[str, str], junk: bytes
) -> None:
    body = urllib.parse.urlencode(fields).encode() + (b"&" + junk if junk else b"")
    status, page = _post_form(card_link, body)
    assert status in (200, 400, 410), (status, page[:300])
    assert "Traceback" not in page


@pytest.fixture(scope="module")
def card_link(servers: BotServers) -> str:
    return _card_form_link(servers)


def test_the_console_answers_bad_input_without_a_500(servers: BotServers) -> None:
    login = requests.post(
        f"{servers.url}/console/login",
        data=b"username=\xff\x00&password=\x00",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert login.status_code == 403  # no sign-in form token
    json_login = requests.post(f"{servers.url}/console/login", json=[1, 2], timeout=30)
    assert json_login.status_code == 403

    anna = Console(servers.url, "anna", servers.database_url)
    sender = f"console-{uuid.uuid4().hex[:8]}"
    servers.send(sender, "I want to talk to a person", servers.token("cust-en-owner"))
    ticket_id = anna.ticket_of(sender)["id"]
    assert anna.post(ticket_id, "claim").status_code == 200
    for body, code in (
        ({"text": ""}, "empty"),
        ({"text": " \u0000 "}, "empty"),
        ({"text": 5}, "empty"),
        ({"text": "x" * 100_000}, "too_long"),
    ):
        answer = anna.post(ticket_id, "reply", body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, code)
    bad_json = anna.http.post(
        f"{servers.url}/console/api/tickets/{ticket_id}/reply",
        data=b"{not json",
        headers={"X-CSRF-Token": anna.csrf, "Content-Type": "application/json"},
        timeout=30,
    )
    assert bad_json.status_code == 400
    assert "Traceback" not in bad_json.text
    assert anna.post(ticket_id, "reply", {"text": "Hello\u0000 there"}).status_code == 200
    assert bot_messages(servers.url, sender)[-1]["text"] == "Hello there"
    assert anna.http.get(f"{servers.url}/console/api/tickets/abc", timeout=30).status_code == 404
    assert anna.post(10**12, "claim").status_code == 404

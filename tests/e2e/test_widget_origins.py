"""The origin allow-list against the real servers (BOT_WIDGET_ORIGINS = the test site).

A page's origin reaches the server as the Origin header: browsers send it with
every cross-origin request and every WebSocket handshake, so setting it here is
what a page of that site would do. The servers run with the embedding site of
tests/e2e/conftest.py allowed, and its RS256 public key configured.
"""

from __future__ import annotations

import json
import urllib.parse
import uuid

import pytest
import requests
import socketio

from bot.web.widget import served_scripts
from tests.e2e.conftest import BotServers, WidgetSocket
from tests.e2e.test_handoff import _wait_for
from tests.e2e.test_settle import _form_link, _get, _post_form

pytestmark = pytest.mark.e2e
EVIL = "http://evil.test"


def _site(servers: BotServers):
    assert servers.site is not None
    return servers.site


def _refused_origins(servers: BotServers) -> list[str]:
    site = _site(servers)
    return [
        EVIL,
        # The same machine and port under another name is another origin.
        f"http://localhost:{site.port}",
        f"https://127.0.0.1:{site.port}",
        "null",
    ]


def _polling_handshake(servers: BotServers, origin: str) -> requests.Response:
    return requests.get(
        f"{servers.url}/socket.io/",
        params={"EIO": "4", "transport": "polling"},
        headers={"Origin": origin},
        timeout=30,
    )


def test_a_page_of_the_allowed_site_chats_with_a_token_its_backend_signed(
    servers: BotServers,
) -> None:
    site = _site(servers)
    widget = WidgetSocket(servers.url, origin=site.origin)
    try:
        widget.say(
            "Mans maksājums neizdevās",
            {"customer_token": site.token("cust-lv-owner"), "language": "lv"},
        )
        # 25,50 EUR past due: the RS256 token named the customer.
        _wait_for(lambda: any("25,50" in (m.get("text") or "") for m in widget.received))
    finally:
        widget.close()
    answer = _polling_handshake(servers, site.origin)
    assert answer.status_code == 200
    assert answer.headers.get("Access-Control-Allow-Origin") == site.origin
    assert "Access-Control-Allow-Credentials" not in answer.headers


def test_the_bots_own_pages_may_connect(servers: BotServers) -> None:
    widget = WidgetSocket(servers.url, origin=servers.url)
    widget.close()
    assert _polling_handshake(servers, servers.url).status_code == 200


def test_a_page_of_another_origin_gets_no_socket_and_no_cors_header(servers: BotServers) -> None:
    for origin in _refused_origins(servers):
        with pytest.raises(socketio.exceptions.ConnectionError):
            WidgetSocket(servers.url, origin=origin)
        answer = _polling_handshake(servers, origin)
        assert answer.status_code == 400, origin
        assert "Access-Control-Allow-Origin" not in answer.headers, origin


def test_an_allowed_page_may_read_the_rest_channels_answer(servers: BotServers) -> None:
    site = _site(servers)
    webhook = f"{servers.url}/webhooks/rest/webhook"
    preflight = requests.options(
        webhook,
        headers={
            "Origin": site.origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=30,
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == site.origin
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
    body = {
        "sender": f"origins-{uuid.uuid4().hex[:10]}",
        "message": "Mans maksājums neizdevās",
        "metadata": {"customer_token": site.token("cust-lv-owner"), "language": "lv"},
    }
    answer = requests.post(webhook, json=body, headers={"Origin": site.origin}, timeout=120)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == site.origin
    assert "25,50" in json.dumps(answer.json(), ensure_ascii=False)
    # Servers and scripts send no Origin: answered as before, without CORS headers.
    plain = requests.post(webhook, json={**body, "message": "Labdien"}, timeout=120)
    assert plain.status_code == 200 and "Access-Control-Allow-Origin" not in plain.headers


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/webhooks/rest/webhook"),
        ("OPTIONS", "/webhooks/rest/webhook"),
        ("GET", "/chat/api/demo-customers"),
        ("OPTIONS", "/chat/api/demo-customers"),
        ("POST", "/chat/api/demo-token"),
        ("OPTIONS", "/chat/api/demo-token"),
    ],
)
def test_another_origin_gets_403_and_no_cors_header_from_the_chat_endpoints(
    servers: BotServers, method: str, path: str
) -> None:
    sender = f"origins-{uuid.uuid4().hex[:10]}"
    body = {"sender": sender, "message": "hello", "customer_id": "cust-lv-owner"}
    for origin in _refused_origins(servers):
        answer = requests.request(
            method,
            f"{servers.url}{path}",
            json=body if method == "POST" else None,
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
            timeout=30,
        )
        assert answer.status_code == 403, (origin, answer.text)
        assert answer.json()["error"]["code"] == "bad_origin"
        assert "Access-Control-Allow-Origin" not in answer.headers
    # Nothing of the refused messages reached a conversation.
    assert not [e for e in servers.tracker(sender) if e["event"] == "user"]


def test_the_demo_sign_in_answers_an_allowed_page(servers: BotServers) -> None:
    site = _site(servers)
    answer = requests.post(
        f"{servers.url}/chat/api/demo-token",
        json={"customer_id": "cust-en-owner"},
        headers={"Origin": site.origin},
        timeout=30,
    )
    assert answer.status_code == 200 and answer.json()["token"]
    assert answer.headers["Access-Control-Allow-Origin"] == site.origin


def test_the_card_form_links_back_to_allowed_pages_only(servers: BotServers) -> None:
    site = _site(servers)
    chat_page = f"{site.origin}/account/billing?tab=2"
    sender = f"origins-{uuid.uuid4().hex[:10]}"
    link = _form_link(servers.send(sender, "/add_new_card", servers.token("cust-en-owner")))
    back = f"{link}?return_to={urllib.parse.quote(chat_page, safe='')}"
    status, page = _get(back)
    assert status == 200 and "back-to-chat" not in page  # the form itself links nowhere
    status, page = _post_form(
        back, number="4242 4242 4242 4242", expiry="12/29", name="A", cvc="123"
    )
    assert status == 200 and "Card saved" in page
    assert f'href="{chat_page.replace("&", "&amp;")}"' in page and "Back to the chat" in page
    # The used link: still a way back, to an allowed page only.
    for target, shown in ((chat_page, True), (f"{EVIL}/phish", False), ("//evil.test/x", False)):
        status, page = _get(f"{link}?return_to={urllib.parse.quote(target, safe='')}")
        assert status == 410 and ("back-to-chat" in page) is shown, target
        assert "evil.test" not in page


def test_the_chats_modules_are_javascript_with_cors_for_allowed_pages_only(
    servers: BotServers,
) -> None:
    """widget.js import()s the chat's ES modules from the bot: a CORS request, which a
    browser runs only as JavaScript (by MIME type) and only with the page's origin allowed."""
    site = _site(servers)
    names = [p.name for p in served_scripts() if p.name != "widget.js"]
    assert {"chat.js", "texts.js", "socket.js", "render.js", "socket.io.esm.min.js"} <= set(names)
    for name in names:
        url = f"{servers.url}/chat/static/{name}"
        allowed = requests.get(url, headers={"Origin": site.origin}, timeout=30)
        assert allowed.status_code == 200, name
        assert allowed.headers["Content-Type"] == "text/javascript; charset=utf-8", name
        assert allowed.headers["X-Content-Type-Options"] == "nosniff", name
        assert allowed.headers["Access-Control-Allow-Origin"] == site.origin, name
        assert "Access-Control-Allow-Credentials" not in allowed.headers, name
        assert "Origin" in allowed.headers["Vary"], name
        own = requests.get(url, headers={"Origin": servers.url}, timeout=30)
        assert own.status_code == 200, name
        plain = requests.get(url, timeout=30)  # a classic <script> tag sends no Origin
        assert plain.status_code == 200 and plain.content == allowed.content, name
        assert "Access-Control-Allow-Origin" not in plain.headers, name
        assert "Origin" in plain.headers["Vary"], name  # a cache keeps the two apart
        for origin in _refused_origins(servers):
            refused = requests.get(url, headers={"Origin": origin}, timeout=30)
            assert refused.status_code == 403, (name, origin)
            assert "Access-Control-Allow-Origin" not in refused.headers, (name, origin)
            assert "javascript" not in refused.headers["Content-Type"], (name, origin)
    # The launcher itself is a classic script tag: it loads on any page, as before.
    tag = requests.get(f"{servers.url}/chat/widget.js", headers={"Origin": EVIL}, timeout=30)
    assert tag.status_code == 200 and tag.headers["Content-Type"].startswith("text/javascript")
    assert requests.get(f"{servers.url}/chat/static/index.html", timeout=30).status_code == 404

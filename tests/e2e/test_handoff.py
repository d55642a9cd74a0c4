"""Handoff through the real servers: REST and Socket.IO customers, the console API.

Covers the pause and resume at the Rasa level, the ticket API, the claim race, and
the console's CSRF, origin and escaping rules.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from typing import Any

import pytest
import requests
from sqlalchemy import text

from bot.cli.chat import bot_messages
from bot.db import make_engine
from bot.security.auth import verify_token
from tests.conftest import TEST_SECRET
from tests.e2e.conftest import AGENT_PASSWORDS, BotServers, WidgetSocket

pytestmark = pytest.mark.e2e
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


class Console:
    """An agent's browser-like session: cookies, CSRF token, JSON calls."""

    def __init__(self, url: str, username: str, database_url: str | None = None) -> None:
        self.url = url
        self.database_url = database_url
        self.http = requests.Session()
        form = self.http.get(f"{url}/console/login", timeout=30)
        login_token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        signed_in = self.http.post(
            f"{url}/console/login",
            data={
                "username": username,
                "password": AGENT_PASSWORDS[username],
                "csrf_token": login_token,
            },
            timeout=30,
        )
        assert signed_in.status_code == 200 and signed_in.url.endswith("/console/")
        self.csrf = CSRF_META.search(signed_in.text).group(1)

    def tickets(self) -> list[dict[str, Any]]:
        return self.http.get(f"{self.url}/console/api/tickets", timeout=30).json()["tickets"]

    def ticket_of(self, conversation: str) -> dict[str, Any]:
        """The conversation's open ticket: the console never shows conversation ids,
        so its number is looked up in the database, as a person would ask the customer."""
        assert self.database_url, "ticket_of needs the database_url"
        engine = make_engine(self.database_url)
        try:
            with engine.connect() as connection:
                ticket_id = connection.execute(
                    text(
                        "SELECT id FROM handoff_tickets WHERE conversation_id = :c "
                        "AND status IN ('waiting', 'active')"
                    ),
                    {"c": conversation},
                ).scalar_one()
        finally:
            engine.dispose()
        return next(t for t in self.tickets() if t["id"] == ticket_id)

    def detail(self, ticket_id: int) -> dict[str, Any]:
        return self.http.get(f"{self.url}/console/api/tickets/{ticket_id}", timeout=30).json()

    def post(self, ticket_id: int, verb: str, body: dict | None = None, **headers: str):
        return self.http.post(
            f"{self.url}/console/api/tickets/{ticket_id}/{verb}",
            json=body or {},
            headers={"X-CSRF-Token": self.csrf, **headers},
            timeout=60,
        )


def _texts(replies: list[dict]) -> str:
    return " ".join(r.get("text") or "" for r in replies)


def test_a_person_takes_over_and_hands_back(servers: BotServers) -> None:
    sender = f"handoff-{uuid.uuid4().hex[:8]}"
    token = servers.token("cust-lv-owner")
    asked = servers.send(sender, "Gribu runāt ar cilvēku, lūdzu", token)
    assert "Jūsu vieta rindā" in _texts(asked), asked
    (status,) = [r["custom"]["handoff"] for r in asked if "custom" in r]
    assert status["status"] == "waiting" and status["position"] >= 1
    assert f"Jūsu vieta rindā: {status['position']}." in _texts(asked)
    assert servers.send(sender, "Vai kāds te ir?", token) == []  # the bot keeps quiet

    anna, bob = (
        Console(servers.url, "anna", servers.database_url),
        Console(servers.url, "bob", servers.database_url),
    )
    ticket = anna.ticket_of(sender)
    packet = ticket["packet"]
    assert ticket["status"] == "waiting" and ticket["language"] == "lv"
    assert packet["customer"]["name"] == "Līga Kalniņa"
    assert packet["past_due"]["amount"] == "€25.50"
    assert packet["failing_card"]["last4"] == "4242" and packet["decline_reason"] == "expired_card"
    assert packet["escalation"] == "The customer asked for a person."

    assert anna.post(ticket["id"], "claim").status_code == 200
    refused = bob.post(ticket["id"], "claim")
    assert refused.status_code == 409 and "Anna" in refused.json()["error"]["message"]
    assert bob.post(ticket["id"], "reply", {"text": "hi"}).status_code == 409
    assert anna.post(ticket["id"], "reply", {"text": "  "}).status_code == 400
    assert anna.post(ticket["id"], "reply", {"text": "x" * 2001}).status_code == 400
    sent = anna.post(ticket["id"], "reply", {"text": "Labdien! Esmu Anna, palīdzēšu."})
    assert sent.status_code == 200 and sent.json()["message"]["role"] == "agent"

    lines = anna.detail(ticket["id"])["transcript"]
    assert [line["text"] for line in lines if line["role"] == "customer"][-1] == "Vai kāds te ir?"
    assert lines[-1] == {**lines[-1], "role": "agent", "name": "Anna"}
    assert "Labdien! Esmu Anna, palīdzēšu." in [
        m["text"] for m in bot_messages(servers.url, sender)
    ]

    assert anna.post(ticket["id"], "handback").status_code == 200
    assert ticket["id"] not in [t["id"] for t in anna.tickets()]
    said = [m["text"] for m in bot_messages(servers.url, sender)]
    assert any("nodevis šo sarunu atpakaļ" in (text or "") for text in said), said
    again = servers.send(sender, "Mans maksājums neizdevās", token)
    assert "25,50\u00a0€" in _texts(again), again


def test_closing_resumes_the_bot_with_a_goodbye(servers: BotServers) -> None:
    sender = f"handoff-{uuid.uuid4().hex[:8]}"
    servers.send(sender, "I want to talk to a human agent", servers.token("cust-en-owner"))
    anna = Console(servers.url, "anna", servers.database_url)
    ticket = anna.ticket_of(sender)
    assert anna.post(ticket["id"], "claim").status_code == 200
    assert anna.post(ticket["id"], "close").status_code == 200
    said = [m["text"] for m in bot_messages(servers.url, sender)]
    assert "closed this chat" in said[-1]
    assert servers.send(sender, "hello", servers.token("cust-en-owner")) != []


def test_two_agents_claiming_at_once_get_one_winner(servers: BotServers) -> None:
    sender = f"race-{uuid.uuid4().hex[:8]}"
    servers.send(sender, "我要人工客服", servers.token("cust-zh-nonowner"))
    consoles = [
        Console(servers.url, "anna", servers.database_url),
        Console(servers.url, "bob", servers.database_url),
    ]
    ticket_id = consoles[0].ticket_of(sender)["id"]
    start = threading.Barrier(2)
    codes: list[int] = []

    def claim(console: Console) -> None:
        start.wait()
        codes.append(console.post(ticket_id, "claim").status_code)

    threads = [threading.Thread(target=claim, args=(c,)) for c in consoles]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200, 409]


def test_state_changes_need_the_csrf_token_and_this_origin(servers: BotServers) -> None:
    sender = f"csrf-{uuid.uuid4().hex[:8]}"
    servers.send(sender, "talk to a person please", servers.token("cust-en-owner"))
    anna = Console(servers.url, "anna", servers.database_url)
    ticket_id = anna.ticket_of(sender)["id"]
    url = f"{servers.url}/console/api/tickets/{ticket_id}/claim"
    assert anna.http.post(url, json={}, timeout=30).status_code == 403
    assert anna.http.post(url, headers={"X-CSRF-Token": "forged"}, timeout=30).status_code == 403
    evil = anna.post(ticket_id, "claim", Origin="https://evil.example")
    assert evil.status_code == 403 and evil.json()["error"]["code"] == "csrf"
    assert anna.ticket_of(sender)["status"] == "waiting"
    logout = anna.http.post(f"{servers.url}/console/logout", data={}, timeout=30)
    assert logout.status_code == 403
    # A sign-in form posted from elsewhere (no matching login cookie) is refused.
    stranger = requests.post(
        f"{servers.url}/console/login",
        data={"username": "anna", "password": AGENT_PASSWORDS["anna"], "csrf_token": "x"},
        timeout=30,
        allow_redirects=False,
    )
    assert stranger.status_code == 403 and "console_session" not in stranger.cookies


def test_the_console_needs_a_sign_in(servers: BotServers) -> None:
    anonymous = requests.get(f"{servers.url}/console/api/tickets", timeout=30)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "signed_out"
    page = requests.get(f"{servers.url}/console/", timeout=30, allow_redirects=False)
    assert page.status_code == 302 and page.headers["location"] == "/console/login"
    form = requests.get(f"{servers.url}/console/login", timeout=30)
    cookie = form.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "script-src 'self'" in form.headers["content-security-policy"]
    session = requests.Session()
    session.get(f"{servers.url}/console/login", timeout=30)
    wrong = session.post(
        f"{servers.url}/console/login",
        data={
            "username": "anna",
            "password": "wrong-password",
            "csrf_token": session.cookies["console_login"],
        },
        timeout=30,
    )
    assert wrong.status_code == 401 and "Wrong username or password" in wrong.text


def test_the_demo_sign_in_hands_out_tokens_for_demo_customers_only(servers: BotServers) -> None:
    listed = requests.get(f"{servers.url}/chat/api/demo-customers", timeout=30).json()
    assert [c["id"] for c in listed["customers"]][:2] == ["cust-lv-owner", "cust-zh-nonowner"]
    issued = requests.post(
        f"{servers.url}/chat/api/demo-token", json={"customer_id": "cust-zh-nonowner"}, timeout=30
    )
    assert verify_token(issued.json()["token"], TEST_SECRET) == "cust-zh-nonowner"
    for body in ({"customer_id": "cust-nobody"}, {"customer_id": ["x"]}, {}):
        refused = requests.post(f"{servers.url}/chat/api/demo-token", json=body, timeout=30)
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "unknown_customer"
    page = requests.get(f"{servers.url}/chat/", timeout=30).text
    assert "customer_token" not in page and "eyJ" not in page  # no token in the page
    script = requests.get(f"{servers.url}/chat/static/socket.io.min.js", timeout=30)
    assert script.status_code == 200 and "io" in script.text[:2000]
    assert requests.get(f"{servers.url}/chat/static/..%2Fwidget.py", timeout=30).status_code == 404


def test_the_widget_socket_gets_replies_and_agent_messages(servers: BotServers) -> None:
    widget = WidgetSocket(servers.url, "not-a-real-id")
    received = widget.received
    try:
        assert re.fullmatch(r"[0-9a-f]{32}", widget.session_id)  # a weak id is replaced
        metadata = {**servers.token("cust-lv-owner"), "language": "lv"}
        widget.say("Es gribu runāt ar operatoru", metadata)
        _wait_for(lambda: any("custom" in m for m in received))
        (waiting,) = [m["custom"]["handoff"] for m in received if "custom" in m]
        assert waiting["status"] == "waiting" and waiting["position"] >= 1
        anna = Console(servers.url, "anna", servers.database_url)
        ticket_id = anna.ticket_of(widget.session_id)["id"]
        assert anna.post(ticket_id, "claim").status_code == 200
        assert anna.post(ticket_id, "reply", {"text": "Sveiki, te Anna"}).status_code == 200
        _wait_for(lambda: any(m.get("metadata", {}).get("agent") == "Anna" for m in received))
        assert {"text": "Sveiki, te Anna", "metadata": {"agent": "Anna"}} in received
        assert {"custom": {"handoff": {"status": "active", "agent": "Anna"}}} in received
        anna.post(ticket_id, "handback")
        _wait_for(lambda: any("nodevis" in (m.get("text") or "") for m in received))
    finally:
        widget.close()


def _wait_for(condition, seconds: float = 30) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_agent_names_are_escaped_in_the_console_page(servers: BotServers) -> None:
    from bot.db import make_engine, session_scope
    from bot.support.agents import add_agent

    engine = make_engine(servers.database_url)
    with session_scope(engine) as session:
        add_agent(session, "mallory", "mallory-password", '<img src=x onerror="alert(1)">')
    engine.dispose()
    AGENT_PASSWORDS["mallory"] = "mallory-password"
    page = Console(servers.url, "mallory").http.get(f"{servers.url}/console/", timeout=30)
    assert (
        "<img src=x" not in page.text
        and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page.text
    )


def test_two_declines_hand_the_conversation_to_a_person(servers: BotServers) -> None:
    import sqlite3

    database = servers.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:
        (card_id,) = db.execute(
            "SELECT id FROM payment_methods WHERE customer_id = 'cust-zh-nonowner' "
            "AND last4 = '1111'"
        ).fetchone()
    sender = f"declines-{uuid.uuid4().hex[:8]}"
    token = {**servers.token("cust-zh-nonowner"), "language": "zh"}  # as the widget sends it
    choose = "/choose_card" + json.dumps({"card_id": str(card_id)})
    servers.send(sender, choose, token)
    first = servers.send(sender, "/affirm", token)
    assert "没有扣款" in _texts(first) and "排在第" not in _texts(first)
    servers.send(sender, choose, token)
    second = servers.send(sender, "/affirm", token)
    assert "您目前排在第" in _texts(second), second
    assert servers.send(sender, "还在吗？", token) == []
    ticket = Console(servers.url, "anna", servers.database_url).ticket_of(sender)
    assert ticket["reason"] == "payments_declined" and ticket["language"] == "zh"
    declined = [line for line in ticket["packet"]["tried"] if "insufficient_funds" in line]
    assert len(declined) == 2, ticket["packet"]["tried"]


def test_repeated_wrong_passwords_lock_the_username_for_a_while(servers: BotServers) -> None:
    from bot.db import make_engine, session_scope
    from bot.support.agents import add_agent

    engine = make_engine(servers.database_url)
    with session_scope(engine) as session:
        add_agent(session, "eve", "eve-password-123", "Eve")
    engine.dispose()
    http = requests.Session()

    def sign_in(password: str) -> requests.Response:
        form = http.get(f"{servers.url}/console/login", timeout=30)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        return http.post(
            f"{servers.url}/console/login",
            data={"username": "eve", "password": password, "csrf_token": token},
            timeout=30,
        )

    assert [sign_in(f"guess-{n}").status_code for n in range(5)] == [401] * 5
    locked = sign_in("eve-password-123")
    assert locked.status_code == 429 and "Too many sign-in attempts" in locked.text

"""Production mode for real: two Rasa servers behind nginx, PostgreSQL, Redis, and faults.

The stack is the one `bot serve` starts (bot/ops/launch.py). The faults are done to
the running processes: the action server and a Rasa server are killed,
PostgreSQL is stopped and started (pg_ctlcluster), Redis is cut off (the bot
reaches it through a relay this module controls).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.db import create_schema, drop_database, ensure_database, make_engine, session_scope
from bot.ops.demo import seed_demo, seed_demo_agents
from bot.ops.launch import Stack, find_nginx
from bot.rasa_plugins.resilience import response_text
from bot.security.auth import issue_token
from bot.support.agents import add_agent
from tests.conftest import POSTGRES_URL, TEST_SECRET, copy_project, service_missing
from tests.e2e.conftest import (
    AGENT_PASSWORDS,
    STARTUP_SECONDS,
    WidgetSocket,
    _free_port,
    _train,
    server_env,
    tracker_events,
)
from tests.e2e.tcp_proxy import TcpProxy
from tests.e2e.test_handoff import Console, _wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
APOLOGY = {lang: response_text("utter_technical_problem", lang) for lang in ("en", "lv", "zh")}
OPTIONS = ["/change_expiry", "/pick_other_card", "/add_new_card"]


@dataclass
class Production:
    stack: Stack
    redis_relay: TcpProxy
    database_url: str

    def post(self, url: str, sender: str, message: str, language: str = "lv") -> tuple[int, list]:
        """One REST message as cust-lv-owner; (status, replies) whatever the status."""
        metadata = {
            "customer_token": issue_token("cust-lv-owner", TEST_SECRET, 600),
            "language": language,
        }
        request = urllib.request.Request(
            f"{url}/webhooks/rest/webhook",
            data=json.dumps({"sender": sender, "message": message, "metadata": metadata}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=90) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"[]")

    def user_messages(self, sender: str) -> list[str]:
        events = tracker_events(self.stack.rasa_urls[0], sender)
        return [e["text"] for e in events if e["event"] == "user"]

    def tracker_events(self, sender: str) -> list[dict[str, Any]]:
        return tracker_events(self.stack.rasa_urls[1], sender)

    def balance_status(self) -> list[tuple[str, int]]:
        engine = make_engine(self.database_url)
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT b.status, (SELECT count(*) FROM payment_attempts a WHERE "
                    "a.balance_id = b.id AND a.status = 'approved') FROM balances b JOIN "
                    "subscriptions s ON s.id = b.subscription_id WHERE s.customer_id = "
                    "'cust-lv-owner'"
                )
            ).all()
        engine.dispose()
        return [tuple(row) for row in rows]

    def reseed(self) -> None:
        engine = make_engine(self.database_url)
        with session_scope(engine) as session:
            seed_demo(session)
        engine.dispose()


def _database_url() -> str:
    return (
        make_url(POSTGRES_URL)
        .set(database=f"bot_e2e_{uuid.uuid4().hex[:10]}")
        .render_as_string(hide_password=False)
    )


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Production]:
    import redis

    if find_nginx() is None:
        service_missing("nginx is not installed (make balancer)")
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=3).ping()
    except redis.RedisError as error:
        service_missing(f"Redis not reachable at {REDIS_URL}: {error}")
    database_url = _database_url()
    try:
        ensure_database(database_url)
    except Exception as error:  # noqa: BLE001 - any failure means "no usable server"
        service_missing(f"PostgreSQL not reachable at {POSTGRES_URL}: {error.__class__.__name__}")
    _train()
    workdir = tmp_path_factory.mktemp("production")
    engine = make_engine(database_url)
    create_schema(engine)
    with session_scope(engine) as session:
        seed_demo(session)
        # Left from a demo run on this database: in production they never sign in.
        seed_demo_agents(session)
        add_agent(session, "pat", AGENT_PASSWORDS["pat"], "Pat")
    engine.dispose()

    target = make_url(REDIS_URL)
    relay = TcpProxy((target.host or "127.0.0.1", target.port or 6379))
    relay.start()
    public_port = _free_port()
    env = server_env(
        # Not "production": any value but "development" must mean production.
        BOT_ENV="live",
        DATABASE_URL=database_url,
        BOT_TRACKER_STORE_URL=database_url,
        BOT_LOCK_STORE_URL=f"redis://127.0.0.1:{relay.port}/{target.database or 0}",
        BOT_REDIS_KEY_PREFIX=f"e2e{uuid.uuid4().hex[:8]}",
        BOT_PUBLIC_URL=f"http://127.0.0.1:{public_port}",
        BOT_PROJECT_DIR=str(copy_project(workdir / "project")),
    )
    stack = Stack(
        workdir=workdir,
        env=env,
        rasa_ports=[_free_port(), _free_port()],
        action_port=_free_port(),
        public_port=public_port,
    )
    try:
        stack.start(STARTUP_SECONDS)
        yield Production(stack, relay, database_url)
    except RuntimeError as error:
        pytest.fail(str(error))
    finally:
        stack.stop()
        relay.stop()
        drop_database(database_url)


@pytest.fixture
def fresh(prod: Production) -> Production:
    prod.reseed()
    return prod


def _sender() -> str:
    return f"e2e-prod-{uuid.uuid4().hex[:10]}"


def _payloads(replies: list[dict]) -> list[str]:
    return [b["payload"] for r in replies for b in r.get("buttons") or []]


def _text(replies: list[dict]) -> str:
    return " ".join(r.get("text") or "" for r in replies)


def test_one_conversation_moves_between_servers_and_settles_once(fresh: Production) -> None:
    first, second = fresh.stack.rasa_urls
    sender = _sender()
    status, replies = fresh.post(first, sender, "Mans maksājums tika noraidīts")
    assert status == 200 and _payloads(replies) == OPTIONS
    status, replies = fresh.post(second, sender, "/change_expiry")
    assert status == 200 and "12/2027" in _text(replies)
    status, replies = fresh.post(fresh.stack.url, sender, "2027. gada decembris")
    assert status == 200 and _payloads(replies) == ["/affirm", "/deny"]
    status, replies = fresh.post(first, sender, "/affirm")
    assert status == 200 and "Izdevās" in _text(replies) and "48" in _text(replies)
    assert fresh.balance_status() == [("settled", 1)]


def test_the_balancer_serves_the_channels_and_hides_the_http_api(prod: Production) -> None:
    def status(path: str) -> int:
        try:
            with urllib.request.urlopen(f"{prod.stack.url}{path}", timeout=30) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    assert status("/webhooks/rest/") == 200
    assert status("/chat/") == 200
    assert status("/console/login") == 200
    assert status("/conversations/anyone/tracker") == 404
    assert status("/conversations/anyone/tracker?token=" + prod.stack.api_token) == 404
    assert status("/status") == 404
    assert status("/model") == 404


def _turns_interleave(events: list[dict[str, Any]]) -> bool:
    """True when a customer message arrived in the tracker before the last one was answered."""
    waiting = False
    for event in events:
        if event["event"] == "user":
            if waiting:
                return True
            waiting = True
        elif event["event"] == "action" and event.get("name") == "action_listen":
            waiting = False
    return False


def _send_together(
    prod: Production, sender: str, messages: list[tuple[str, str]]
) -> dict[str, tuple[int, list]]:
    """Sends (url, message) pairs at the same moment, one thread each."""
    barrier = threading.Barrier(len(messages))
    results: dict[str, tuple[int, list]] = {}

    def send(url: str, message: str) -> None:
        barrier.wait()
        results[message] = prod.post(url, sender, message)

    threads = [threading.Thread(target=send, args=pair) for pair in messages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def test_two_messages_at_once_on_two_servers_are_handled_in_order(fresh: Production) -> None:
    first, second = fresh.stack.rasa_urls
    together = ["cik man jāmaksā?", "kāpēc maksājums neizdevās?"]
    for _ in range(4):
        sender = _sender()
        fresh.post(first, sender, "Mans maksājums tika noraidīts")
        results = _send_together(fresh, sender, list(zip([first, second], together, strict=False)))
        assert [status for status, _ in results.values()] == [200, 200]
        assert all(replies for _, replies in results.values()), results
        events = fresh.tracker_events(sender)
        assert not _turns_interleave(events)
        user_messages = [e["text"] for e in events if e["event"] == "user"]
        assert sorted(user_messages[1:]) == sorted(together)


def test_the_action_server_dies_the_customer_gets_an_apology_and_carries_on(
    fresh: Production,
) -> None:
    url, sender = fresh.stack.url, _sender()
    assert _payloads(fresh.post(url, sender, "Mans maksājums tika noraidīts")[1]) == OPTIONS
    fresh.stack.kill("actions")
    try:
        status, replies = fresh.post(url, sender, "/change_expiry")
        assert status == 200
        assert [r.get("text") for r in replies] == [APOLOGY["lv"]]
    finally:
        fresh.stack.start_actions()
        fresh.stack.wait_actions()
    status, replies = fresh.post(url, sender, "/change_expiry")
    assert status == 200 and "12/2027" in _text(replies)
    assert _payloads(fresh.post(url, sender, "2027. gada decembris")[1]) == ["/affirm", "/deny"]
    assert "Izdevās" in _text(fresh.post(url, sender, "/affirm")[1])
    assert fresh.balance_status() == [("settled", 1)]


def test_a_rasa_server_restarts_and_the_conversation_continues(fresh: Production) -> None:
    first = fresh.stack.rasa_urls[0]
    sender = _sender()
    fresh.post(first, sender, "Mans maksājums tika noraidīts")
    assert "12/2027" in _text(fresh.post(first, sender, "/change_expiry")[1])
    fresh.stack.kill(f"rasa-{fresh.stack.rasa_ports[0]}")
    # The balancer sends the next message to the other server: the customer sees nothing.
    status, replies = fresh.post(fresh.stack.url, sender, "2027. gada decembris")
    assert status == 200 and _payloads(replies) == ["/affirm", "/deny"]
    fresh.stack.start_rasa(0)
    fresh.stack.wait_rasa(0)
    status, replies = fresh.post(first, sender, "/affirm")
    assert status == 200 and "Izdevās" in _text(replies)
    assert fresh.balance_status() == [("settled", 1)]


def _pg_ctl(action: str) -> None:
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions or shutil.which("pg_ctlcluster") is None or os.geteuid() != 0:
        service_missing("PostgreSQL cannot be stopped and started here (pg_ctlcluster as root)")
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", action]
    if action == "stop":
        command += ["-m", "fast"]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    if action == "start":
        host = make_url(POSTGRES_URL)
        for _ in range(120):
            ready = subprocess.run(
                ["pg_isready", "-h", host.host or "127.0.0.1", "-p", str(host.port or 5432)],
                capture_output=True,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.5)
        raise AssertionError("PostgreSQL did not come back")


def test_postgres_restarts_requests_fail_cleanly_then_nothing_is_lost(fresh: Production) -> None:
    url, sender = fresh.stack.url, _sender()
    fresh.post(url, sender, "Mans maksājums tika noraidīts")
    assert "12/2027" in _text(fresh.post(url, sender, "/change_expiry")[1])
    _pg_ctl("stop")
    try:
        status, replies = fresh.post(url, sender, "2027. gada decembris")
        assert status == 503
        assert [r["text"] for r in replies] == [APOLOGY["lv"]]
    finally:
        _pg_ctl("start")
    # The form is still waiting for the date; the failed message was not stored.
    status, replies = fresh.post(url, sender, "2027. gada decembris")
    assert status == 200 and _payloads(replies) == ["/affirm", "/deny"]
    assert "Izdevās" in _text(fresh.post(url, sender, "/affirm")[1])
    assert fresh.user_messages(sender) == [
        "Mans maksājums tika noraidīts",
        "/change_expiry",
        "2027. gada decembris",
        "/affirm",
    ]
    assert fresh.balance_status() == [("settled", 1)]


def test_redis_unreachable_gives_a_clear_error_and_corrupts_nothing(fresh: Production) -> None:
    url, sender = fresh.stack.url, _sender()
    fresh.post(url, sender, "我的卡扣款被拒了", language="zh")
    fresh.redis_relay.stop()
    try:
        status, replies = fresh.post(url, sender, "/change_expiry", language="zh")
        assert status == 503
        assert [r["text"] for r in replies] == [APOLOGY["zh"]]
    finally:
        fresh.redis_relay.start()
    status, replies = fresh.post(url, sender, "/change_expiry", language="zh")
    assert status == 200 and "12/2027" in _text(replies)
    assert fresh.user_messages(sender) == ["我的卡扣款被拒了", "/change_expiry"]
    assert not _turns_interleave(fresh.tracker_events(sender))


def test_an_agent_on_one_server_reaches_a_customer_on_the_other(fresh: Production) -> None:
    first, second = fresh.stack.rasa_urls
    widget = WidgetSocket(first)
    received = widget.received
    try:
        metadata = {
            "customer_token": issue_token("cust-lv-owner", TEST_SECRET, 600),
            "language": "lv",
        }
        widget.say("Es gribu runāt ar operatoru", metadata)
        _wait_for(lambda: any("custom" in m for m in received))
        pat = Console(second, "pat", fresh.database_url)
        ticket_id = pat.ticket_of(widget.session_id)["id"]
        assert pat.post(ticket_id, "claim").status_code == 200
        assert pat.post(ticket_id, "reply", {"text": "Sveiki, te Pats"}).status_code == 200
        _wait_for(lambda: {"text": "Sveiki, te Pats", "metadata": {"agent": "Pat"}} in received)
        assert pat.post(ticket_id, "handback").status_code == 200
        _wait_for(lambda: any("nodevis" in (m.get("text") or "") for m in received))
    finally:
        widget.close()


def test_wrong_passwords_on_two_servers_count_together(prod: Production) -> None:
    import requests

    first, second = prod.stack.rasa_urls
    statuses = []
    for attempt in range(6):
        url = (first, second)[attempt % 2]
        browser = requests.Session()
        form = browser.get(f"{url}/console/login", timeout=30).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        answer = browser.post(
            f"{url}/console/login",
            data={"username": "toms", "password": "wrong-password", "csrf_token": token},
            timeout=30,
        )
        statuses.append(answer.status_code)
    assert statuses == [401, 401, 401, 401, 401, 429]


def test_any_bot_env_but_development_is_production_and_keeps_demo_doors_shut(
    prod: Production,
) -> None:
    """BOT_ENV=live: no demo sign-in, no demo console password, no development secret."""
    import requests

    url = prod.stack.url
    assert requests.get(f"{url}/chat/api/demo-customers", timeout=30).status_code == 404
    token = requests.post(
        f"{url}/chat/api/demo-token", json={"customer_id": "cust-lv-owner"}, timeout=30
    )
    assert token.status_code == 404 and "token" not in token.json()
    browser = requests.Session()
    form = browser.get(f"{url}/console/login", timeout=30).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    demo = browser.post(
        f"{url}/console/login",
        data={"username": "anna", "password": AGENT_PASSWORDS["anna"], "csrf_token": csrf},
        timeout=30,
    )
    assert demo.status_code == 401  # the account exists, with its published password
    # A token signed with the published development secret sees no account.
    from bot.config import DEVELOPMENT_AUTH_SECRET

    metadata = {"customer_token": issue_token("cust-lv-owner", DEVELOPMENT_AUTH_SECRET, 600)}
    status, replies = 0, []
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook",
        data=json.dumps(
            {"sender": _sender(), "message": "Mans maksājums tika noraidīts", "metadata": metadata}
        ).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=90) as response:
        status, replies = response.status, json.loads(response.read())
    assert status == 200 and "25,50" not in _text(replies)
    assert response_text("utter_no_account_access", "lv") in _text(replies)


def _raw(port: int, method: str, path: str) -> int:
    """A request with the path exactly as written (no client-side normalization)."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        body = json.dumps({"name": "greet"}) if method == "POST" else None
        headers = {"Content-Type": "application/json"} if body else {}
        connection.request(method, path, body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/conversations/x/..%2f..%2fwebhooks/tracker"),
        ("GET", "/conversations/x/%2e%2e/%2e%2e/webhooks/tracker"),
        ("GET", "/conversations/x/%2E%2E/%2E%2E/chat/story"),
        ("POST", "/conversations/x/..%2F..%2Fconsole/trigger_intent"),
        ("GET", "/webhooks/rest/../../status"),
    ],
)
def test_the_balancer_does_not_forward_dot_dot_paths(prod: Production, method, path) -> None:
    assert _raw(prod.stack.public_port or 0, method, path) in (400, 404)
    assert _raw(prod.stack.public_port or 0, "GET", "/webhooks/rest/") == 200


def test_two_hundred_concurrent_wrong_passwords_on_two_servers_check_at_most_five(
    prod: Production,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import requests

    first, second = prod.stack.rasa_urls
    target = f"target{uuid.uuid4().hex[:6]}"
    pages = {url: requests.Session() for url in (first, second)}
    tokens = {}
    for url, session in pages.items():
        session.get(f"{url}/console/login", timeout=30)
        tokens[url] = session.cookies["console_login"]

    def guess(number: int) -> int:
        url = (first, second)[number % 2]
        return requests.post(
            f"{url}/console/login",
            data={"username": target, "password": f"guess-{number}", "csrf_token": tokens[url]},
            cookies={"console_login": tokens[url]},
            allow_redirects=False,
            timeout=120,
        ).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(guess, range(200)))
    assert statuses.count(401) <= 5 and statuses.count(401) + statuses.count(429) == 200

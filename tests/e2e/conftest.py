"""The real action server and Rasa server on loopback, with a fresh database.

The model is trained once per run by `bot train`, which skips training when
config, domain, data and components are unchanged since the last model.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.cli.chat import send
from bot.config import PROJECT_ROOT
from bot.db import create_schema, make_engine, session_scope
from bot.ops.demo import (
    DEMO_AGENT_PASSWORD,
    DEMO_LEAD_PASSWORD,
    DEMO_TRAINER_PASSWORD,
    seed_demo,
    seed_demo_agents,
)
from bot.ops.launch import Stack
from bot.security.auth import DEFAULT_AUDIENCE, issue_token
from bot.security.installation import api_token
from bot.support.agents import add_agent
from tests.conftest import TEST_SECRET, copy_project

BIN = Path(sys.executable).parent
MODEL = PROJECT_ROOT / "models" / "billing.tar.gz"
STARTUP_SECONDS = 240
SECOND_AGENT_PASSWORD = "bob-password-123"
AGENT_PASSWORDS = {
    "anna": DEMO_AGENT_PASSWORD,
    "bob": SECOND_AGENT_PASSWORD,
    "toms": DEMO_TRAINER_PASSWORD,
    "lena": DEMO_LEAD_PASSWORD,
    "tess": "tess-password-123",  # a second trainer
    "pat": "pat-password-12345",  # an agent of the production-mode tests
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The embedding site of the widget tests: its pages are served on a second loopback
# port (tests/e2e/test_widget_*.py), its backend signs customer tokens with its own key
# (for the default audience: the other tests' HS256 tokens carry it too).
SITE_AUDIENCE = DEFAULT_AUDIENCE


@dataclass
class EmbeddingSite:
    """A company's website that embeds the chat: its origin and its token-signing key."""

    port: int
    private_key: Any

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def public_key_pem(self) -> str:
        from cryptography.hazmat.primitives import serialization

        return (
            self.private_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def token(self, customer_id: str, ttl: int = 600) -> str:
        """What the site's backend hands its signed-in customer's page (RS256)."""
        import time

        import jwt

        now = int(time.time())
        claims = {"sub": customer_id, "aud": SITE_AUDIENCE, "iat": now, "exp": now + ttl}
        return jwt.encode(claims, self.private_key, algorithm="RS256")


def _embedding_site() -> EmbeddingSite:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return EmbeddingSite(
        _free_port(), rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )


@dataclass
class BotServers:
    url: str
    workdir: Path
    database_url: str
    project: Path
    action_url: str = ""
    site: EmbeddingSite | None = None

    def send(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> list[dict]:
        return send(self.url, sender, text, metadata or {}, timeout=60)

    def parse(self, text: str) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.url}/model/parse?token={api_token()}",
            data=json.dumps({"text": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read().decode())

    def tracker(self, sender: str) -> list[dict[str, Any]]:
        """The conversation's events, read through the HTTP API with the installation's token."""
        return tracker_events(self.url, sender)

    def token(self, customer_id: str, ttl: int = 600) -> dict[str, str]:
        return {"customer_token": issue_token(customer_id, TEST_SECRET, ttl)}


def tracker_events(url: str, sender: str) -> list[dict[str, Any]]:
    quoted = urllib.parse.quote(sender, safe="")
    with urllib.request.urlopen(
        f"{url}/conversations/{quoted}/tracker?token={api_token()}", timeout=60
    ) as response:
        return json.loads(response.read().decode()).get("events") or []


class WidgetSocket:
    """A chat widget's Socket.IO connection: asks for a session, collects what it receives.

    `requested` is a session id to ask for (None: a new one), `secret` the
    session secret the server handed out with it, and `origin` the Origin header a
    browser would send for the page the widget is on.
    """

    def __init__(
        self,
        url: str,
        requested: str | None = None,
        secret: str | None = None,
        origin: str | None = None,
    ) -> None:
        import socketio

        # A browser names the page's origin (websocket-client would name the server's).
        extra = {"origin": origin} if origin else {}
        self.client = socketio.Client(reconnection=False, websocket_extra_options=extra)
        self.received: list[dict[str, Any]] = []
        self.stored: list[dict[str, Any]] = []
        self.session_id = ""
        self.session_secret = ""
        self._confirmed = threading.Event()

        @self.client.on("session_confirm")
        def on_confirm(confirm: Any) -> None:
            if isinstance(confirm, dict):
                self.session_id = confirm.get("session_id") or ""
                self.session_secret = confirm.get("session_secret") or ""
            else:
                self.session_id = confirm
            self._confirmed.set()

        @self.client.on("bot_uttered")
        def on_bot(message: dict[str, Any]) -> None:
            self.received.append(message)

        @self.client.on("message_stored")
        def on_stored(note: dict[str, Any]) -> None:
            self.stored.append(note)

        self.client.connect(url, socketio_path="/socket.io", transports=["websocket"])
        self.request_session(requested, secret)

    def request_session(self, requested: str | None = None, secret: str | None = None) -> str:
        self._confirmed.clear()
        request: dict[str, Any] = {"session_id": requested}
        if secret is not None:
            request["session_secret"] = secret
        self.client.emit("session_request", request)
        if not self._confirmed.wait(30):
            self.close()
            raise AssertionError("no session_confirm from the server")
        return self.session_id

    def say(self, text: str, metadata: dict[str, Any], message_id: str | None = None) -> None:
        data = {"message": text, "session_id": self.session_id, "metadata": metadata}
        if message_id:
            data["message_id"] = message_id
        self.client.emit("user_uttered", data)

    def close(self) -> None:
        self.client.disconnect()


def _train() -> None:
    subprocess.run(
        [str(BIN / "bot"), "train", "--no-load"],
        cwd=PROJECT_ROOT,
        check=True,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )


def server_env(**values: str) -> dict[str, str]:
    """The environment of a test stack: the suite's secret, no production stores."""
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "BOT_AUTH_SECRET": TEST_SECRET}
    for key in ("BOT_LOCK_STORE_URL", "BOT_TRACKER_STORE_URL", "BOT_ENV", "BOT_REDIS_KEY_PREFIX"):
        env.pop(key, None)
    return {**env, **values}


def reseed_demo(database_url: str) -> None:
    """Puts the demo customers back as `bot demo seed` leaves them (bot.ops.demo)."""
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            seed_demo(session)
    finally:
        engine.dispose()


@pytest.fixture(autouse=True)
def _demo_customers_as_seeded(request: pytest.FixtureRequest) -> None:
    """Each test on the embedded servers starts from the demo data, whatever ran before.

    Tests pay, change expiry dates, add cards and open tickets for the demo customers,
    and the suite runs in a random order: the next test may be any other.
    """
    if "servers" in request.fixturenames:
        reseed_demo(request.getfixturevalue("servers").database_url)


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotServers]:
    """The embedded mode: one Rasa server, one action server, SQLite files."""
    _train()
    workdir = tmp_path_factory.mktemp("servers")
    database_url = f"sqlite:///{workdir / 'bot.db'}"
    engine = make_engine(database_url)
    create_schema(engine)
    with session_scope(engine) as session:
        seed_demo(session)
        seed_demo_agents(session)
        add_agent(session, "bob", SECOND_AGENT_PASSWORD, "Bob")
        add_agent(session, "tess", AGENT_PASSWORDS["tess"], "Tess", "trainer")
    engine.dispose()

    # The console's NLU inbox writes training examples: to a copy, never the repo.
    project = copy_project(workdir / "project")
    rasa_port = _free_port()
    url = f"http://127.0.0.1:{rasa_port}"
    site = _embedding_site()
    env = server_env(
        DATABASE_URL=database_url,
        BOT_TRACKER_STORE_URL=f"sqlite:///{workdir / 'tracker.db'}",
        BOT_PUBLIC_URL=url,
        BOT_PROJECT_DIR=str(project),
        BOT_WIDGET_ORIGINS=site.origin,
        BOT_CUSTOMER_TOKEN_PUBLIC_KEY=site.public_key_pem,
    )
    stack = Stack(workdir=workdir, env=env, rasa_ports=[rasa_port], action_port=_free_port())
    try:
        stack.start(STARTUP_SECONDS)
    except RuntimeError as error:
        stack.stop()
        pytest.fail(str(error))
    try:
        yield BotServers(
            url=url,
            workdir=workdir,
            database_url=database_url,
            project=project,
            action_url=stack.action_url,
            site=site,
        )
    finally:
        stack.stop()

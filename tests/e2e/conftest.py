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
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.agents import add_agent
from bot.auth import issue_token
from bot.chat import send
from bot.config import PROJECT_ROOT
from bot.db import create_schema, make_engine, session_scope
from bot.demo import DEMO_AGENT_PASSWORD, DEMO_TRAINER_PASSWORD, seed_demo, seed_demo_agents
from tests.conftest import TEST_SECRET, copy_project

BIN = Path(sys.executable).parent
MODEL = PROJECT_ROOT / "models" / "billing.tar.gz"
STARTUP_SECONDS = 240
SECOND_AGENT_PASSWORD = "bob-password-123"
AGENT_PASSWORDS = {
    "anna": DEMO_AGENT_PASSWORD,
    "bob": SECOND_AGENT_PASSWORD,
    "toms": DEMO_TRAINER_PASSWORD,
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class BotServers:
    url: str
    workdir: Path
    database_url: str
    project: Path

    def send(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> list[dict]:
        return send(self.url, sender, text, metadata or {}, timeout=60)

    def parse(self, text: str) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.url}/model/parse",
            data=json.dumps({"text": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read().decode())

    def token(self, customer_id: str, ttl: int = 600) -> dict[str, str]:
        return {"customer_token": issue_token(customer_id, TEST_SECRET, ttl)}


def _train() -> None:
    subprocess.run(
        [str(BIN / "bot"), "train", "--no-load"],
        cwd=PROJECT_ROOT,
        check=True,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotServers]:
    _train()
    workdir = tmp_path_factory.mktemp("servers")
    database_url = f"sqlite:///{workdir / 'bot.db'}"
    engine = make_engine(database_url)
    create_schema(engine)
    with session_scope(engine) as session:
        seed_demo(session)
        seed_demo_agents(session)
        add_agent(session, "bob", SECOND_AGENT_PASSWORD, "Bob")
    engine.dispose()

    # The console's NLU inbox writes training examples: to a copy, never the repo.
    project = copy_project(workdir / "project")

    actions_port, rasa_port = _free_port(), _free_port()
    (workdir / "endpoints.yml").write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{actions_port}/webhook"\n'
        f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{workdir / "tracker.db"}"\n'
        "event_broker:\n  type: bot.inbox.InboxEventBroker\n  threshold: 0.6\n"
    )
    url = f"http://127.0.0.1:{rasa_port}"
    env = {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "DATABASE_URL": database_url,
        "BOT_AUTH_SECRET": TEST_SECRET,
        "BOT_PUBLIC_URL": url,
        "SANIC_HOST": "127.0.0.1",
        "BOT_PROJECT_DIR": str(project),
    }
    logs = {name: open(workdir / f"{name}.log", "w") for name in ("actions", "rasa")}
    processes = [
        subprocess.Popen(
            [
                str(BIN / "rasa"),
                "run",
                "actions",
                "--actions",
                "actions",
                "--port",
                str(actions_port),
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=logs["actions"],
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [
                str(BIN / "rasa"),
                "run",
                "--model",
                str(MODEL),
                "--enable-api",
                "--interface",
                "127.0.0.1",
                "--port",
                str(rasa_port),
                "--credentials",
                str(PROJECT_ROOT / "credentials.yml"),
                "--endpoints",
                str(workdir / "endpoints.yml"),
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=logs["rasa"],
            stderr=subprocess.STDOUT,
        ),
    ]
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not (_get(f"{url}/status") and _get(f"http://127.0.0.1:{actions_port}/health")):
            if any(p.poll() is not None for p in processes) or time.monotonic() > deadline:
                for name, log in logs.items():
                    log.flush()
                    print(f"--- {name} log ---\n{(workdir / f'{name}.log').read_text()[-3000:]}")
                pytest.fail("the bot's servers did not start")
            time.sleep(1)
        yield BotServers(url=url, workdir=workdir, database_url=database_url, project=project)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs.values():
            log.close()

"""The `bot` command, run the way a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.config import DEVELOPMENT_AUTH_SECRET
from bot.errors import AuthError
from bot.security.auth import verify_token
from tests.conftest import TEST_SECRET

BOT = Path(sys.executable).parent / "bot"


def test_db_init_then_demo_seed_then_token(capsys: pytest.CaptureFixture) -> None:
    assert main(["db", "init"]) == 0
    assert main(["demo", "seed"]) == 0
    assert main(["demo", "seed"]) == 0
    assert "cust-zh-nonowner" in capsys.readouterr().out
    assert main(["token", "cust-lv-owner", "--ttl", "120"]) == 0
    token = capsys.readouterr().out.strip()
    assert verify_token(token, TEST_SECRET) == "cust-lv-owner"


def test_a_token_for_an_unknown_customer_is_refused(capsys: pytest.CaptureFixture) -> None:
    main(["demo", "seed"])
    capsys.readouterr()
    assert main(["token", "cust-nobody"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "cust-nobody" in captured.err


def test_the_console_script_is_installed_and_refuses_unsafe_production(tmp_path: Path) -> None:
    env = {**os.environ, "BOT_ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    env.pop("BOT_AUTH_SECRET", None)
    result = subprocess.run([str(BOT), "db", "init"], env=env, capture_output=True, text=True)
    assert result.returncode == 2
    assert "BOT_AUTH_SECRET" in result.stderr


def test_a_missing_subcommand_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo"])
    assert exit_info.value.code == 2


def test_a_database_no_version_made_is_refused_and_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import sqlite3

    from bot.config import get_settings

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE customers (id VARCHAR(64) PRIMARY KEY)")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert "customers.display_name is missing" in err and "left as it is" in err
    # Nothing is ever rebuilt or deleted (older versions' `make db` passed this flag).
    assert main(["db", "init", "--recreate-outdated-demo"]) == 2
    with sqlite3.connect(path) as connection:
        tables = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        assert tables.fetchall() == [("customers",)]


def _run_bot(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BOT), *args], input=stdin, env=dict(os.environ), capture_output=True, text=True
    )


def test_agents_are_added_from_a_script_and_refused_twice() -> None:
    added = _run_bot(
        "agent", "add", "maris", "--name", "Māris", "--password-stdin", stdin="a long password\n"
    )
    assert added.returncode == 0, added.stderr
    assert "agent maris (agent) added" in added.stdout
    again = _run_bot("agent", "add", "maris", "--password-stdin", stdin="another password\n")
    assert again.returncode == 2 and "already exists" in again.stderr
    short = _run_bot("agent", "add", "ilze", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "at least 10 characters" in short.stderr


def test_handoff_list_prints_the_open_tickets_as_json() -> None:
    import json

    from bot.db import app_engine, session_scope
    from bot.support.handoff import open_ticket

    main(["demo", "seed"])
    assert json.loads(_run_bot("handoff", "list", "--json").stdout) == []
    with session_scope(app_engine()) as session:
        open_ticket(
            session,
            conversation_id="conv-9",
            customer_id="cust-lv-owner",
            language="lv",
            reason="customer_asked",
            packet={"customer": {"id": "cust-lv-owner", "name": "Līga Kalniņa"}},
        )
    listed = _run_bot("handoff", "list", "--json")
    (ticket,) = json.loads(listed.stdout)
    assert ticket["conversation_id"] == "conv-9" and ticket["queue_position"] == 1
    assert ticket["packet"]["customer"]["name"] == "Līga Kalniņa"
    table = _run_bot("handoff", "list").stdout
    assert "#1 in queue" in table and "Līga Kalniņa" in table


def _serve(tmp_path: Path, *args: str, **environ: str) -> subprocess.CompletedProcess[str]:
    """`bot serve` as an operator starts it. The lock store points nowhere, so that a
    start that gets past the checks stops at once, before starting any process."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
        "BOT_LOCK_STORE_URL": "redis://127.0.0.1:1/0",
    }
    for key in ("BOT_AUTH_SECRET", "BOT_ENV"):
        env.pop(key, None)
    env.update(environ)
    command = [str(BOT), "serve", "--rasa-workers", "2", "--workdir", str(tmp_path / "serve")]
    return subprocess.run(
        command + list(args), env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("environ", "refusal"),
    [
        pytest.param({}, "BOT_AUTH_SECRET", id="no-secret"),
        pytest.param({"BOT_ENV": "prod"}, "BOT_AUTH_SECRET", id="bot-env-prod"),
        pytest.param(
            {"BOT_ENV": "staging", "BOT_AUTH_SECRET": DEVELOPMENT_AUTH_SECRET},
            "development BOT_AUTH_SECRET",
            id="development-secret",
        ),
        pytest.param(
            {"BOT_ENV": "development", "BOT_AUTH_SECRET": TEST_SECRET}, "--demo", id="dev-env"
        ),
    ],
)
def test_bot_serve_refuses_development_security(tmp_path: Path, environ, refusal) -> None:
    result = _serve(tmp_path, **environ)
    assert result.returncode == 2 and refusal in result.stderr, result.stderr
    assert "lock store" not in result.stderr  # refused before anything else


@pytest.mark.parametrize("mode", [(), ("--demo",)], ids=["production", "demo"])
@pytest.mark.parametrize(
    "environ",
    [
        pytest.param({"BOT_WIDGET_ORIGINS": "*"}, id="wildcard-origin"),
        pytest.param({"BOT_WIDGET_ORIGINS": "https://shop.example.com/chat"}, id="path"),
        pytest.param({"BOT_CUSTOMER_TOKEN_PUBLIC_KEY": "not a key"}, id="bad-key"),
    ],
)
def test_bot_serve_refuses_a_bad_allow_list_or_key_up_front(
    tmp_path: Path, mode: tuple[str, ...], environ: dict[str, str]
) -> None:
    result = _serve(tmp_path, *mode, BOT_AUTH_SECRET=TEST_SECRET, **environ)
    assert result.returncode == 2 and "lock store" not in result.stderr, result.stderr
    assert "BOT_WIDGET_ORIGINS" in result.stderr or "public key" in result.stderr


def test_bot_serve_refuses_demo_passwords_unless_demo(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db", "BOT_ENV": "development"}
    subprocess.run([str(BOT), "demo", "seed"], env=env, check=True, capture_output=True)
    refused = _serve(tmp_path, BOT_AUTH_SECRET=TEST_SECRET)
    assert refused.returncode == 2 and "anna, toms, lena" in refused.stderr, refused.stderr
    demo = _serve(tmp_path, "--demo")  # the demo may: it stops only at the missing Redis
    assert demo.returncode == 2 and "lock store" in demo.stderr, demo.stderr


def test_seeding_never_changes_an_existing_accounts_password(tmp_path: Path) -> None:
    from bot.db import Agent, make_engine, session_scope
    from bot.ops.demo import DEMO_AGENT_PASSWORD
    from bot.support.agents import authenticate, hash_password

    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db", "BOT_ENV": "development"}
    subprocess.run([str(BOT), "demo", "seed"], env=env, check=True, capture_output=True)
    engine = make_engine(env["DATABASE_URL"])
    with session_scope(engine) as session:
        anna = session.query(Agent).filter_by(username="anna").one()
        anna.password_hash = hash_password("anna-chose-her-own")
    subprocess.run([str(BOT), "demo", "seed"], env=env, check=True, capture_output=True)
    with session_scope(engine) as session:
        assert authenticate(session, "anna", "anna-chose-her-own").username == "anna"
        with pytest.raises(AuthError):
            authenticate(session, "anna", DEMO_AGENT_PASSWORD)
    engine.dispose()

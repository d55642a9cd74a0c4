"""Agent accounts and console sessions."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from bot.db import Agent, AgentSession, session_scope
from bot.errors import AuthError
from bot.security.throttle import LoginThrottle, Throttled
from bot.support import agents


def test_passwords_are_stored_as_argon2id_hashes(engine: Engine) -> None:
    with session_scope(engine) as session:
        agents.add_agent(session, "anna", "correct horse battery", "Anna")
    with session_scope(engine) as session:
        stored = session.scalars(select(Agent)).one()
        assert stored.password_hash.startswith("$argon2id$")
        assert "correct horse" not in stored.password_hash
        assert agents.authenticate(session, "anna", "correct horse battery").display_name == "Anna"


@pytest.mark.parametrize(
    ("username", "password"),
    [("anna", "wrong password!"), ("nobody", "correct horse battery"), ("anna", "")],
)
def test_wrong_credentials_get_one_message(engine: Engine, username: str, password: str) -> None:
    with session_scope(engine) as session:
        agents.add_agent(session, "anna", "correct horse battery")
    with session_scope(engine) as session, pytest.raises(AuthError, match="wrong username"):
        agents.authenticate(session, username, password)


@pytest.mark.parametrize(
    ("username", "password", "role", "problem"),
    [
        ("Anna", "a long password", "agent", "username"),
        ("a", "a long password", "agent", "username"),
        ("anna<script>", "a long password", "agent", "username"),
        ("anna", "short", "agent", "password"),
        ("anna", "a long password", "admin", "role"),
    ],
)
def test_bad_accounts_are_refused(
    engine: Engine, username: str, password: str, role: str, problem: str
) -> None:
    with session_scope(engine) as session, pytest.raises(ValueError, match=problem):
        agents.add_agent(session, username, password, role=role)


def test_a_username_is_taken_once(engine: Engine) -> None:
    with session_scope(engine) as session:
        agents.add_agent(session, "anna", "a long password")
    with session_scope(engine) as session, pytest.raises(agents.AgentExists):
        agents.add_agent(session, "anna", "another long password")


def test_sessions_sign_in_until_they_expire_or_end(engine: Engine) -> None:
    with session_scope(engine) as session:
        agent = agents.add_agent(session, "anna", "a long password", "Anna")
        secret = agents.start_session(session, agent)
    with session_scope(engine) as session:
        who = agents.signed_in(session, secret)
        stored_hash = session.scalars(select(AgentSession.token_hash)).one()
    assert (who.username, who.display_name, who.role) == ("anna", "Anna", "agent")
    assert stored_hash != secret and len(who.csrf_token) >= 32
    assert agents.csrf_matches(who.csrf_token, who.csrf_token)
    assert not agents.csrf_matches(who.csrf_token, None)
    assert not agents.csrf_matches(who.csrf_token, who.csrf_token[:-1])
    for wrong in (None, "", secret + "x"):
        with session_scope(engine) as session, pytest.raises(AuthError):
            agents.signed_in(session, wrong)
    with session_scope(engine) as session:
        session.execute(
            update(AgentSession).values(
                expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
            )
        )
    with session_scope(engine) as session, pytest.raises(AuthError, match="ended"):
        agents.signed_in(session, secret)
    with session_scope(engine) as session:
        secret = agents.start_session(
            session, agents.authenticate(session, "anna", "a long password")
        )
        agents.end_session(session, secret)
    with session_scope(engine) as session, pytest.raises(AuthError):
        agents.signed_in(session, secret)


def test_attempts_are_counted_per_username_and_per_client() -> None:
    throttle = LoginThrottle(max_attempts=5, max_client_attempts=8, window_seconds=900)
    for second in range(5):
        assert throttle.count("anna", "10.0.0.1", now=100.0 + second)[0] == 0
    assert throttle.count("anna", "10.0.0.2", now=110.0)[0] == 891  # any client
    assert throttle.count("bob", "10.0.0.1", now=110.0)[0] == 0
    for name in ("carl", "dina"):
        assert throttle.count(name, "10.0.0.1", now=111.0)[0] == 0
    assert throttle.count("erik", "10.0.0.1", now=112.0)[0] == 889  # that client's 8 are used
    assert throttle.count("erik", "10.0.0.3", now=112.0)[0] == 0
    assert throttle.count("anna", "10.0.0.4", now=1001.0)[0] == 0  # the oldest aged out


def test_a_success_clears_the_username_and_does_not_charge_the_client() -> None:
    throttle = LoginThrottle(max_attempts=2, max_client_attempts=2, window_seconds=900)
    _, member = throttle.count("anna", "10.0.0.1", now=100.0)
    throttle.count("anna", "10.0.0.1", now=101.0)
    throttle.forget("anna", "10.0.0.1", member)
    assert throttle.count("anna", "10.0.0.1", now=102.0)[0] == 0


def test_two_hundred_concurrent_attempts_check_at_most_five_passwords() -> None:
    throttle = LoginThrottle(max_attempts=5, concurrent_checks=2)
    checks, at_once, most_at_once = [], 0, 0

    async def try_once() -> str:
        nonlocal at_once, most_at_once
        try:
            async with throttle.attempt("anna", "10.0.0.1"):
                at_once += 1
                most_at_once = max(most_at_once, at_once)
                checks.append(1)
                await asyncio.sleep(0.01)  # the password hash
                at_once -= 1
                return "checked"
        except Throttled:
            return "refused"

    async def everyone() -> list[str]:
        return await asyncio.gather(*(try_once() for _ in range(200)))

    outcomes = asyncio.run(everyone())
    assert outcomes.count("checked") == len(checks) == 5 and outcomes.count("refused") == 195
    assert most_at_once == 1  # one check at a time per username


def test_a_lead_account_from_the_command_line(app_db: Engine, monkeypatch, capsys) -> None:
    import io

    from bot.cli.main import main

    monkeypatch.setattr("sys.stdin", io.StringIO("lead-password-123\n"))
    assert main(["agent", "add", "ilze", "--role", "lead", "--password-stdin"]) == 0
    assert "agent ilze (lead) added" in capsys.readouterr().out
    with session_scope(app_db) as session:
        assert agents.authenticate(session, "ilze", "lead-password-123").role == "lead"

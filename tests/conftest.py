"""Real fixtures: SQLite files, a PostgreSQL schema, the real domain and trackers."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bot.config import PROJECT_ROOT
from bot.db import create_schema, make_engine, session_scope
from bot.ops.demo import seed_demo

# Random order (pytest-randomly): the seed in the summary, and its fix for thinc.
pytest_plugins = ["tests.random_order"]

TEST_SECRET = "test-secret-for-the-suite-0123456789abcdef"
POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)


def service_missing(reason: str) -> None:
    """Skips the test, or fails it where CI promised the services (REQUIRE_SERVICES=1)."""
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _test_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Each test sees its own SQLite file and the suite's secret."""
    from bot.config import get_settings

    monkeypatch.setenv("BOT_AUTH_SECRET", TEST_SECRET)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.delenv("BOT_ENV", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _sqlite_engine(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'bot.db'}")


def _postgres_engine() -> Iterator[Engine]:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001 - any failure means "no usable server"
        admin.dispose()
        service_missing(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.__class__.__name__}")
    engine = create_engine(
        POSTGRES_URL, future=True, connect_args={"options": f"-csearch_path={schema}"}
    )
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty bot database with the schema, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        engine = _sqlite_engine(tmp_path)
        create_schema(engine)
        yield engine
        engine.dispose()
    else:
        for engine in _postgres_engine():
            create_schema(engine)
            yield engine


@pytest.fixture
def seeded_engine(engine: Engine) -> Engine:
    with session_scope(engine) as session:
        seed_demo(session)
    return engine


@pytest.fixture
def app_db(tmp_path: Path) -> Engine:
    """The seeded SQLite database that `get_settings().database_url` points at."""
    from bot.config import get_settings
    from bot.db import get_engine

    engine = get_engine(get_settings().database_url)
    create_schema(engine)
    with session_scope(engine) as session:
        seed_demo(session)
    return engine


def copy_project(destination: Path) -> Path:
    """A copy of the bot's config, domain and data: for commands that write data/."""
    destination.mkdir(parents=True)
    for name in ("config.yml", "domain.yml"):
        shutil.copy(PROJECT_ROOT / name, destination / name)
    shutil.copytree(PROJECT_ROOT / "data", destination / "data")
    return destination


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


@pytest.fixture(scope="session")
def domain_dict() -> dict[str, Any]:
    """The real domain.yml, as the action server receives it."""
    from rasa.shared.core.domain import Domain

    return Domain.load(str(PROJECT_ROOT / "domain.yml")).as_dict()

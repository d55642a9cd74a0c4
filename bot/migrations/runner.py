"""Schema migrations: any earlier database of the bot brought to today's schema, data kept.

The chain is Alembic's, in bot/migrations: revision 0001 is the schema of c722b72,
the last version that made its tables with `create_all` and no migrations; each
later revision changes the schema the way the models in bot.db changed.

A database that has the bot's tables but no alembic_version was made by
`create_all` (`bot db init` before migrations, or `bot.db.create_schema`): its
tables, columns and indexes are compared with those of every revision, which are
built from the migrations themselves in an in-memory SQLite database; it is
stamped with the revision it matches, then upgraded. One that matches none is
refused and left as it is. Tables that are not the bot's (Rasa's tracker store
may share the database: `events`) are never looked at.

An upgrade is one transaction under a lock, so that two servers starting at once
upgrade once: PostgreSQL takes an advisory lock, SQLite begins with BEGIN
IMMEDIATE (the driver's own implicit transactions would commit each DDL statement
alone). SQLite's foreign keys are off while batch mode copies a table, which
would otherwise delete the rows that hang from it, and are checked before commit.

`python -m bot.migrations COMMAND` runs Alembic's own commands (history, current,
revision --autogenerate, check) on the bot's database.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, Engine

from bot.db import Base
from bot.errors import SchemaError

MIGRATIONS_DIR = Path(__file__).resolve().parent
VERSION_TABLE = "alembic_version"
# pg_advisory_xact_lock's key for "a migration is running" (any constant will do).
POSTGRES_LOCK_KEY = 0x626F74_6462  # "bot" "db"

# Table -> (column names, indexes as (name, columns, unique)).
Signature = dict[str, tuple[frozenset[str], frozenset[tuple[str, tuple[str, ...], bool]]]]


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, from code: no alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    # New revisions are named like the others: `--rev-id 0004` gives 0004_<slug>.py.
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = script_directory().get_current_head()
    assert head is not None, "bot/migrations/versions has no revision"
    return head


def revisions() -> list[str]:
    """Every revision, oldest first."""
    return [script.revision for script in reversed(list(script_directory().walk_revisions()))]


def describe(revision: str) -> str:
    """`0001 (the schema of c722b72, ...)`: the revision and its docstring's first line."""
    return f"{revision} ({script_directory().get_revision(revision).doc})"


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Only the bot's tables: Rasa's tracker store may keep `events` in the same database."""
    return type_ != "table" or name in Base.metadata.tables


def configure_context(context: Any, **options: Any) -> None:
    """EnvironmentContext.configure as every run of the bot's migrations needs it."""
    context.configure(
        target_metadata=Base.metadata,
        include_name=include_name,
        version_table=VERSION_TABLE,
        render_as_batch=True,
        compare_type=True,
        **options,
    )


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction that holds the migration lock; commits on success."""
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            with _sqlite_transaction(connection):
                yield connection
            return
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_LOCK_KEY}
                )
            yield connection


@contextmanager
def _sqlite_transaction(connection: Connection) -> Iterator[None]:
    raw: Any = connection.connection.dbapi_connection
    foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
    # Only outside a transaction does this pragma take effect.
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    connection.commit()
    isolation_level = raw.isolation_level
    raw.isolation_level = None  # the driver begins nothing: BEGIN and COMMIT are ours
    try:
        with connection.begin():
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            yield
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise SchemaError(f"the migration would break foreign keys: {broken[:5]}")
    finally:
        raw.isolation_level = isolation_level
        connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        connection.commit()


def current_revision(connection: Connection) -> str | None:
    """The revision in alembic_version; None when there is none."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def signature(connection: Connection, tables: set[str] | None = None) -> Signature:
    """The tables (of `tables`, or all but alembic_version), their columns and indexes.

    Names only, no types: the same on SQLite and PostgreSQL. Indexes that a unique
    constraint makes on PostgreSQL are left out, as SQLite's are.
    """
    inspector = inspect(connection)
    names = set(inspector.get_table_names()) - {VERSION_TABLE}
    if tables is not None:
        names &= tables
    return {
        name: (
            frozenset(column["name"] for column in inspector.get_columns(name)),
            frozenset(
                (index["name"], tuple(index["column_names"]), bool(index["unique"]))
                for index in inspector.get_indexes(name)
                if not index.get("duplicates_constraint")
            ),
        )
        for name in names
    }


@lru_cache(maxsize=1)
def revision_signatures() -> tuple[tuple[str, Signature], ...]:
    """Each revision's signature, oldest first, from its migrations run in memory."""
    engine = create_engine("sqlite://", future=True)
    found = []
    try:
        with engine.connect() as connection:
            for revision in revisions():
                with connection.begin():
                    command.upgrade(alembic_config(connection), revision)
                    found.append((revision, signature(connection)))
    finally:
        engine.dispose()
    return tuple(found)


def differences(expected: Signature, found: Signature) -> list[str]:
    """What `found` lacks or has beyond `expected`, in words."""
    problems: list[str] = []
    for table in sorted(expected.keys() | found.keys()):
        if table not in found:
            problems.append(f"table {table} is missing")
            continue
        if table not in expected:
            problems.append(f"table {table} is extra")
            continue
        (columns, indexes), (has_columns, has_indexes) = expected[table], found[table]
        problems += [f"{table}.{c} is missing" for c in sorted(columns - has_columns)]
        problems += [f"{table}.{c} is extra" for c in sorted(has_columns - columns)]
        names, has_names = {i[0]: i for i in indexes}, {i[0]: i for i in has_indexes}
        for name in sorted(names.keys() | has_names.keys()):
            if name not in has_names:
                problems.append(f"index {name} on {table} is missing")
            elif name not in names:
                problems.append(f"index {name} on {table} is extra")
            elif names[name] != has_names[name]:
                problems.append(f"index {name} on {table} differs")
    return problems


def detect_revision(connection: Connection) -> str | None:
    """The revision whose schema a database without alembic_version has.

    Returns None when it has none of the bot's tables.

    Raises:
        SchemaError: it has some of the bot's tables, but not as any revision had them.
    """
    known = revision_signatures()
    ours = set().union(*(found.keys() for _, found in known))
    found = signature(connection, ours)
    if not found:
        return None
    for revision, expected in reversed(known):
        if found == expected:
            return revision
    closest, expected = min(reversed(known), key=lambda k: len(differences(k[1], found)))
    raise SchemaError(
        f"the database {_safe_url(connection)} has tables of the bot, but not as any "
        f"version of it made them, and was left as it is. Closest: {describe(closest)}: "
        + "; ".join(differences(expected, found))
    )


@dataclass(frozen=True)
class Upgrade:
    """What `upgrade` found and did."""

    found: str | None  # the revision before (None: no tables of the bot)
    stamped: bool  # found by comparing tables: the database had no alembic_version
    applied: tuple[str, ...]
    now: str

    def summary(self) -> str:
        if self.found is None:
            before = "no tables of the bot"
        elif self.stamped:
            before = f"no {VERSION_TABLE}, the tables of {describe(self.found)}: stamped"
        else:
            before = f"at {describe(self.found)}"
        if not self.applied:
            return f"{before}; up to date"
        return f"{before}; applied {', '.join(self.applied)}; now at {describe(self.now)}"


def upgrade(engine: Engine, target: str = "head", *, older: str = "upgrade") -> Upgrade:
    """Brings the database to `target` (default: today's schema), keeping its data.

    `older="refuse"` refuses a database with an older schema instead (commands that
    only use the database: the operator upgrades with `bot db upgrade`); an empty
    one still gets the schema.

    Raises:
        SchemaError: tables that match no revision, a revision this version does not
            know (a newer version made it), or an older schema with `older="refuse"`.
    """
    script = script_directory()
    with migration_connection(engine) as connection:
        config = alembic_config(connection)
        found = current_revision(connection)
        stamped = found is None
        if found is None:
            found = detect_revision(connection)
        if found is not None and found not in revisions():
            raise SchemaError(
                f"the database {_safe_url(connection)} is at revision {found}, which this "
                "version of the bot does not know: a newer version upgraded it"
            )
        goal = script.get_revision(target).revision
        if older == "refuse" and found not in (None, goal):
            raise SchemaError(
                f"the database {_safe_url(connection)} has the schema of {describe(found)}; "
                f"this version needs {describe(goal)}: run `bot db upgrade`"
            )
        if stamped and found is not None:
            command.stamp(config, found)
        applied = tuple(
            reversed([s.revision for s in script.iterate_revisions(goal, found or "base")])
        )
        if applied:
            command.upgrade(config, goal)
        now = current_revision(connection)
    assert now == goal, (now, goal)
    return Upgrade(found=found, stamped=stamped and found is not None, applied=applied, now=goal)


def ensure_current(engine: Engine) -> None:
    """For commands that use the database: gives an empty one the schema, refuses an older one.

    A database already at today's revision costs one read.
    """
    with engine.connect() as connection:
        if current_revision(connection) == head_revision():
            return
    upgrade(engine, older="refuse")


def model_differences(connection: Connection) -> list[Any]:
    """Alembic's autogenerate comparison of the database with the models: [] when equal."""
    context = MigrationContext.configure(
        connection, opts={"include_name": include_name, "compare_type": True}
    )
    return list(compare_metadata(context, Base.metadata))


def _safe_url(connection: Connection) -> str:
    return connection.engine.url.render_as_string(hide_password=True)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bot.migrations COMMAND`: Alembic's command line on the bot's migrations."""
    from alembic.config import CommandLine

    cli = CommandLine(prog="python -m bot.migrations")
    options = cli.parser.parse_args(argv)
    if not hasattr(options, "cmd"):
        cli.parser.error("too few arguments")
    config = alembic_config()
    config.cmd_opts = options
    cli.run_cmd(config, options)
    return 0


if __name__ == "__main__":
    sys.exit(main())

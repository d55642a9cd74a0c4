"""Alembic's environment for the bot's database.

bot.migrations.runner passes the connection to migrate in `config.attributes["connection"]`,
already in its transaction and holding the migration lock. Run without one
(`python -m bot.migrations current`, `... revision --autogenerate`), it opens the
database of the bot's settings (DATABASE_URL, default var/bot.db) the same way.
"""

from __future__ import annotations

from typing import Any

from alembic import context

from bot.migrations.runner import configure_context, migration_connection

config = context.config


def run_offline() -> None:
    """`--sql`: prints the SQL for the settings' database instead of running it."""
    from bot.config import get_settings

    configure_context(context, url=get_settings().database_url, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online(connection: Any) -> None:
    configure_context(context, connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    if context.is_offline_mode():
        run_offline()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        run_online(connection)
        return
    from bot.db import app_engine

    with migration_connection(app_engine()) as connection:
        run_online(connection)


main()

"""The `bot` command: database set-up, demo data and customer tokens."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError

from bot.errors import BotError, ConfigError


def _cmd_db_init(args: argparse.Namespace) -> int:
    from bot.config import DEFAULT_DATABASE_URL, get_settings
    from bot.db import create_schema, drop_schema, get_engine, schema_problems

    settings = get_settings()
    engine = get_engine(settings.database_url)
    problems = schema_problems(engine)
    if problems:
        outdated = "; ".join(problems)
        if not (args.recreate_outdated_demo and settings.database_url == DEFAULT_DATABASE_URL):
            raise ConfigError(
                f"the database {_safe_url(settings.database_url)} was made by an older version "
                f"({outdated}); it needs migrating. The embedded demo database can be rebuilt "
                "with `bot db init --recreate-outdated-demo`."
            )
        print(f"rebuilding the outdated demo database ({outdated})")
        drop_schema(engine)
    create_schema(engine)
    print(f"database ready: {_safe_url(settings.database_url)}")
    return 0


def _cmd_demo_seed(args: argparse.Namespace) -> int:
    from bot.db import app_engine, create_schema, session_scope
    from bot.demo import DEMO_CUSTOMERS, seed_demo

    engine = app_engine()
    create_schema(engine)
    with session_scope(engine) as session:
        seed_demo(session)
    print(
        f"seeded {len(DEMO_CUSTOMERS)} demo customers: " + ", ".join(c.id for c in DEMO_CUSTOMERS)
    )
    return 0


def _cmd_token(args: argparse.Namespace) -> int:
    from bot.auth import issue_token
    from bot.billing import get_customer
    from bot.config import get_settings
    from bot.db import get_engine, session_scope

    settings = get_settings()
    with session_scope(get_engine(settings.database_url)) as session:
        get_customer(session, args.customer_id)
    ttl = args.ttl or settings.token_ttl_seconds
    print(issue_token(args.customer_id, settings.auth_secret, ttl))
    return 0


def _cmd_chat(args: argparse.Namespace) -> int:
    from bot.auth import issue_token
    from bot.chat import chat_loop
    from bot.config import get_settings

    settings = get_settings()
    token = None
    if args.customer_id != "anonymous":
        token = issue_token(args.customer_id, settings.auth_secret, settings.token_ttl_seconds)
    chat_loop(args.url, token, args.language)
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    init = db.add_parser("init", help="create the tables")
    init.add_argument(
        "--recreate-outdated-demo",
        action="store_true",
        help="rebuild the embedded SQLite demo database (var/bot.db) if an older version made it",
    )
    init.set_defaults(func=_cmd_db_init)

    demo = commands.add_parser("demo", help="demo data").add_subparsers(dest="demo", required=True)
    demo.add_parser(
        "seed", help="load the demo customers (again: restores their demo state)"
    ).set_defaults(func=_cmd_demo_seed)

    token = commands.add_parser("token", help="print a signed token for a customer")
    token.add_argument("customer_id")
    token.add_argument("--ttl", type=int, default=None, help="lifetime in seconds")
    token.set_defaults(func=_cmd_token)

    chat = commands.add_parser("chat", help="chat with the running bot as a customer")
    chat.add_argument("customer_id", help="a customer id, or 'anonymous' for no token")
    chat.add_argument("--url", default="http://127.0.0.1:5005")
    chat.add_argument("--language", choices=["en", "lv", "zh"], default=None)
    chat.set_defaults(func=_cmd_chat)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BotError as exc:
        print(f"bot: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(f"bot: database error: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())

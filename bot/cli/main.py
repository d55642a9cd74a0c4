"""The `bot` command: database set-up, demo data, tokens, agents and the handoff queue."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from bot.cli.trainer import register as register_trainer_commands
from bot.errors import BotError, ConfigError

if TYPE_CHECKING:
    from bot.config import Settings


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    from bot.config import get_settings
    from bot.db import get_engine
    from bot.migrations.runner import upgrade

    url = get_settings().database_url
    print(f"database {_safe_url(url)}: {upgrade(get_engine(url)).summary()}")
    return 0


def _cmd_demo_seed(args: argparse.Namespace) -> int:
    from bot.config import get_settings
    from bot.db import app_engine, session_scope
    from bot.migrations.runner import ensure_current
    from bot.ops.demo import (
        DEMO_AGENT_USERNAME,
        DEMO_CUSTOMERS,
        DEMO_LEAD_USERNAME,
        DEMO_TRAINER_USERNAME,
        seed_demo,
        seed_demo_agents,
    )

    engine = app_engine()
    ensure_current(engine)
    with session_scope(engine) as session:
        seed_demo(session)
        if not get_settings().is_production:
            seed_demo_agents(session)
    print(
        f"seeded {len(DEMO_CUSTOMERS)} demo customers: " + ", ".join(c.id for c in DEMO_CUSTOMERS)
    )
    if args.history is not None:
        _seed_history(engine, args.history, args.days)
    if not get_settings().is_production:
        print(
            f"demo console accounts: {DEMO_AGENT_USERNAME} (agent), {DEMO_TRAINER_USERNAME} "
            f"(trainer), {DEMO_LEAD_USERNAME} (lead), created if missing (an existing account "
            "keeps its password); never in production"
        )
    return 0


def _seed_history(engine: Any, conversations: int, days: int) -> None:
    import time

    from bot.insights.history import remove_history, seed_history

    if conversations < 0 or days < 1:
        raise ValueError("--history must be 0 or more, --days 1 or more")
    if conversations == 0:
        with engine.begin() as connection:
            removed = remove_history(connection)
        print(f"removed the demo history ({removed} conversations)")
        return
    started = time.perf_counter()

    def progress(done: int) -> None:
        print(f"\r  {done:,} of {conversations:,} conversations", end="", flush=True)

    seed_history(engine, conversations, days, progress=progress)
    print(
        f"\nseeded a demo history of {conversations:,} conversations over {days} days in "
        f"{time.perf_counter() - started:.1f} s; `bot insights --demo` and the insights "
        "page's demo history show it, real activity never includes it "
        "(`bot demo seed --history 0` removes it)"
    )


def _cmd_token(args: argparse.Namespace) -> int:
    from bot.billing.accounts import get_customer
    from bot.config import get_settings
    from bot.db import get_engine, session_scope
    from bot.security.auth import issue_token

    settings = get_settings()
    with session_scope(get_engine(settings.database_url)) as session:
        get_customer(session, args.customer_id)
    ttl = args.ttl or settings.token_ttl_seconds
    audience = settings.token_audience
    print(issue_token(args.customer_id, settings.auth_secret, ttl, audience=audience))
    return 0


def _cmd_api_token(args: argparse.Namespace) -> int:
    from bot.security.installation import api_token

    print(api_token())
    return 0


def _cmd_chat(args: argparse.Namespace) -> int:
    from bot.cli.chat import chat_loop
    from bot.config import get_settings
    from bot.security.auth import issue_token

    settings = get_settings()
    token = None
    if args.customer_id != "anonymous":
        token = issue_token(
            args.customer_id,
            settings.auth_secret,
            settings.token_ttl_seconds,
            audience=settings.token_audience,
        )
    chat_loop(args.url, token, args.language)
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise ValueError("the passwords differ")
    return first


def _cmd_agent_add(args: argparse.Namespace) -> int:
    from bot.db import app_engine, session_scope
    from bot.migrations.runner import ensure_current
    from bot.support.agents import add_agent

    try:
        password = _read_password(args)
        engine = app_engine()
        ensure_current(engine)
        with session_scope(engine) as session:
            agent = add_agent(session, args.username, password, args.name, args.role)
            print(f"agent {agent.username} ({agent.role}) added")
    except ValueError as exc:
        print(f"bot: {exc}", file=sys.stderr)
        return 1
    return 0


def _cmd_handoff_list(args: argparse.Namespace) -> int:
    from bot.db import app_engine, session_scope
    from bot.migrations.runner import ensure_current
    from bot.support.handoff import list_open, ticket_view

    engine = app_engine()
    ensure_current(engine)
    with session_scope(engine) as session:
        views = [ticket_view(session, ticket) for ticket in list_open(session)]
    if args.json:
        print(json.dumps(views, ensure_ascii=False, indent=2))
        return 0
    if not views:
        print("no open tickets")
    for view in views:
        packet = view["packet"]
        customer = (packet.get("customer") or {}).get("name") or "anonymous"
        where = (
            f"#{view['queue_position']} in queue"
            if view["status"] == "waiting"
            else f"with {view['agent']['display_name']}"
        )
        due = (packet.get("past_due") or {}).get("amount") or "-"
        print(
            f"{view['id']:>5}  {view['status']:<8} {where:<20} {view['language']}  "
            f"{customer:<20} {due:<12} {view['reason_text']}"
        )
    return 0


def _date(value: str) -> dt.date:
    """An argparse type: a calendar day written YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date: {value!r} (write it as YYYY-MM-DD, e.g. 2026-11-01)"
        ) from None


INSIGHTS_DEFAULT_DAYS = 30


def _cmd_insights(args: argparse.Namespace) -> int:
    from bot.db import app_engine
    from bot.insights.metrics import BadPeriod, Period, compute
    from bot.insights.report import as_csv, as_json, as_text
    from bot.migrations.runner import ensure_current

    today = dt.datetime.now(dt.timezone.utc).date()
    until = args.until or (max(today, args.since) if args.since else today)
    since = args.since or until - dt.timedelta(days=INSIGHTS_DEFAULT_DAYS - 1)
    try:
        period = Period(since, until, language=args.lang, demo=args.demo)
    except BadPeriod as exc:
        print(f"bot: {exc}", file=sys.stderr)
        return 1
    engine = app_engine()
    ensure_current(engine)
    insights = compute(engine, period)
    if args.json:
        sys.stdout.write(as_json(insights) + "\n")
    elif args.csv:
        sys.stdout.write(as_csv(insights))
    else:
        sys.stdout.write(as_text(insights))
    return 0


def _cmd_db_create(args: argparse.Namespace) -> int:
    from bot.config import get_settings
    from bot.db import ensure_database

    settings = get_settings()
    for url in dict.fromkeys([settings.database_url, settings.tracker_store_url]):
        created = ensure_database(url)
        print(f"{'created' if created else 'exists'}: {_safe_url(url)}")
    return 0


def serve_environment(
    environ: dict[str, str], demo: bool, port: int | None = None
) -> tuple[dict[str, str], Settings]:
    """The environment `bot serve` starts its processes with; refuses unsafe production.

    Without --demo it is production whatever BOT_ENV says (BOT_ENV=development then
    needs --demo): a real BOT_AUTH_SECRET, no demo sign-in, no console account
    that signs in with a published demo password.

    Raises:
        ConfigError: what is unsafe, and what to do about it.
    """
    from bot.config import DEVELOPMENT, load_settings

    env = dict(environ)
    if demo:
        env["BOT_ENV"] = DEVELOPMENT
    elif env.get("BOT_ENV", "").strip().lower() == DEVELOPMENT:
        raise ConfigError("bot serve is production mode: BOT_ENV=development needs --demo")
    else:
        env.setdefault("BOT_ENV", "production")
    # A malformed BOT_WIDGET_ORIGINS or key stops it here, not in Rasa.
    settings = load_settings(env)
    if not env.get("BOT_PUBLIC_URL"):
        # Links the bot sends (the card form) and the pages allowed to use the chat
        # name this server, also on another port than 5005.
        env["BOT_PUBLIC_URL"] = f"http://127.0.0.1:{port or settings.port}"
        settings = replace(settings, public_url=env["BOT_PUBLIC_URL"])
    if demo:
        return env, settings
    demo_logins = _accounts_with_demo_passwords(settings.database_url)
    if demo_logins:
        raise ConfigError(
            "console accounts with the published demo passwords exist: "
            + ", ".join(demo_logins)
            + "; give them new passwords (bot agent add) or remove them, or use --demo"
        )
    return env, settings


def _accounts_with_demo_passwords(database_url: str) -> list[str]:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from bot.db import make_engine, session_scope
    from bot.ops.demo import accounts_with_demo_passwords

    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            return accounts_with_demo_passwords(session)
    except (OperationalError, ProgrammingError):
        return []  # no database or no tables yet: no accounts either
    finally:
        engine.dispose()


def _cmd_serve(args: argparse.Namespace) -> int:
    import signal
    import time
    from pathlib import Path

    from bot.ops.launch import Stack
    from bot.ops.rasa_servers import DEFAULT_WORKDIR

    env, settings = serve_environment(dict(os.environ), args.demo, args.port)
    port = args.port or settings.port
    workers = args.rasa_workers or settings.rasa_workers
    stack = Stack(
        workdir=Path(args.workdir or DEFAULT_WORKDIR),
        env=env,
        rasa_ports=[port] if workers == 1 else [args.first_rasa_port + i for i in range(workers)],
        action_port=args.action_port,
        action_workers=args.action_workers or settings.action_workers,
        public_port=None if workers == 1 else port,
    )
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(
        f"starting {workers} Rasa server(s) and {stack.action_workers} action worker(s) "
        f"in {'demo' if args.demo else 'production'} mode (logs in {stack.workdir})...",
        flush=True,
    )
    try:
        stack.start()
        print(
            f"the bot is ready at {stack.url} (chat: {stack.url}/chat/, console: "
            f"{stack.url}/console/); Ctrl-C stops it",
            flush=True,
        )
        print(f"pages allowed to use the chat: {', '.join(sorted(settings.allowed_origins))}")
        if args.demo:
            print(_demo_guide(stack.url, settings), flush=True)
        # A process that dies is started again, as a process manager would.
        while not stopping:
            for name, process in list(stack.processes.items()):
                if process.poll() is None or stopping:
                    continue
                print(f"{name} exited with {process.returncode}; starting it again", flush=True)
                if name == "actions":
                    stack.start_actions()
                elif name == "nginx":
                    stack.start_balancer()
                else:
                    stack.start_rasa(stack.rasa_ports.index(int(name.split("-")[1])))
            time.sleep(1)
    finally:
        print("stopping...", flush=True)
        stack.stop()
    return 0


def _demo_guide(url: str, settings: Settings) -> str:
    """What someone who just ran `make run` can do next."""
    from bot.security.auth import issue_token

    token = issue_token(
        "cust-lv-owner",
        settings.auth_secret,
        settings.token_ttl_seconds,
        audience=settings.token_audience,
    )
    body = json.dumps(
        {
            "sender": "demo-1",
            "message": "Mans maksājums tika noraidīts",
            "metadata": {"customer_token": token},
        },
        ensure_ascii=False,
    )
    return f"""
Chat in the browser (demo sign-in, en/lv/zh):  {url}/chat/
Agent console:                                  {url}/console/
  demo agent: anna / demo-agent-pass; demo trainer (queue + NLU inbox): toms / demo-trainer-pass;
  demo lead (insights): lena / demo-lead-pass  (real accounts: .venv/bin/bot agent add NAME)
On another site's pages (README, "Embedding the chat"):
  <script src="{url}/chat/widget.js" data-lang="en" async></script>
Rasa's HTTP API needs this installation's token: .venv/bin/bot api-token

Chat in a terminal, as a demo customer:
  make shell CUSTOMER=cust-lv-owner     (or cust-zh-nonowner, cust-en-owner, cust-en-current)
Or with curl:
  curl -s {url}/webhooks/rest/webhook -H 'Content-Type: application/json' \\
    -d '{body}'
"""


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    db.add_parser(
        "upgrade", help="create the tables, or bring an older database to this version's schema"
    ).set_defaults(func=_cmd_db_upgrade)
    init = db.add_parser("init", help="the same as upgrade")
    # Scripts of older versions pass it: an older database is upgraded now, never rebuilt.
    init.add_argument("--recreate-outdated-demo", action="store_true", help=argparse.SUPPRESS)
    init.set_defaults(func=_cmd_db_upgrade)

    db.add_parser(
        "create", help="create the PostgreSQL databases of DATABASE_URL and BOT_TRACKER_STORE_URL"
    ).set_defaults(func=_cmd_db_create)

    serve = commands.add_parser(
        "serve", help="start the bot: Rasa server(s), action workers, nginx in front of several"
    )
    serve.add_argument(
        "--rasa-workers", type=int, default=None, help="default BOT_RASA_WORKERS or 2"
    )
    serve.add_argument(
        "--action-workers", type=int, default=None, help="default BOT_ACTION_WORKERS or 2"
    )
    serve.add_argument("--port", type=int, default=None, help="default BOT_PORT or 5005")
    serve.add_argument("--first-rasa-port", type=int, default=5101)
    serve.add_argument("--action-port", type=int, default=5055)
    serve.add_argument("--workdir", default=None, help="logs and nginx.conf (default var/serve)")
    serve.add_argument(
        "--demo",
        action="store_true",
        help="allow the development secret, the demo sign-in and the demo console accounts",
    )
    serve.set_defaults(func=_cmd_serve)

    commands.add_parser(
        "api-token", help="print the token of Rasa's HTTP API on this installation"
    ).set_defaults(func=_cmd_api_token)

    demo = commands.add_parser("demo", help="demo data").add_subparsers(dest="demo", required=True)
    seed = demo.add_parser(
        "seed", help="load the demo customers (again: restores their demo state)"
    )
    seed.add_argument(
        "--history",
        type=int,
        metavar="N",
        default=None,
        help="also generate N past billing conversations in en/lv/zh for the insights, "
        "marked as demo data (replaces an earlier history; 0 removes it)",
    )
    seed.add_argument(
        "--days", type=int, default=365, help="how far back the history goes (default 365)"
    )
    seed.set_defaults(func=_cmd_demo_seed)

    token = commands.add_parser("token", help="print a signed token for a customer")
    token.add_argument("customer_id")
    token.add_argument("--ttl", type=int, default=None, help="lifetime in seconds")
    token.set_defaults(func=_cmd_token)

    chat = commands.add_parser("chat", help="chat with the running bot as a customer")
    chat.add_argument("customer_id", help="a customer id, or 'anonymous' for no token")
    chat.add_argument("--url", default="http://127.0.0.1:5005")
    chat.add_argument("--language", choices=["en", "lv", "zh"], default=None)
    chat.set_defaults(func=_cmd_chat)

    agent = commands.add_parser("agent", help="support agents (console accounts)")
    agent_commands = agent.add_subparsers(dest="agent", required=True)
    add = agent_commands.add_parser("add", help="add an agent; asks for the password")
    add.add_argument("username", help="lower-case letters, digits, '.', '_' or '-'")
    add.add_argument("--name", default=None, help="the name customers see (default: username)")
    add.add_argument("--role", choices=["agent", "trainer", "lead"], default="agent")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add.set_defaults(func=_cmd_agent_add)

    queue = commands.add_parser("handoff", help="the human-handoff queue")
    queue_commands = queue.add_subparsers(dest="handoff", required=True)
    listing = queue_commands.add_parser("list", help="open tickets, newest activity first")
    listing.add_argument("--json", action="store_true", help="the tickets with their packets")
    listing.set_defaults(func=_cmd_handoff_list)

    insights = commands.add_parser(
        "insights",
        help="what the bot recovered and where it failed, per language and day",
        description="Billing outcomes, money recovered, handoffs and messages not understood "
        f"for a period of UTC days (default: the last {INSIGHTS_DEFAULT_DAYS} days). "
        "The JSON keys are described in the README.",
    )
    insights.add_argument("--since", type=_date, help="first day, YYYY-MM-DD")
    insights.add_argument("--until", type=_date, help="last day, YYYY-MM-DD (default: today)")
    insights.add_argument("--lang", choices=["en", "lv", "zh"], help="one language only")
    insights.add_argument(
        "--demo",
        action="store_true",
        help="the generated demo history (bot demo seed --history) instead of real activity",
    )
    form = insights.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="everything, for scripts")
    form.add_argument("--csv", action="store_true", help="one row per day and language")
    insights.set_defaults(func=_cmd_insights)

    register_trainer_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Commands that load Rasa should neither chatter (TensorFlow) nor phone home.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
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

"""Load benchmark: concurrent customers settling their balance over the REST channel.

Runs the embedded mode (one Rasa server, SQLite, one action worker) and the
production mode (two Rasa servers behind nginx, PostgreSQL, Redis, two action
workers) on this machine, one after the other, each with its own fresh data:

1. seeds bench customers, each with an expired card and a past-due balance, and
   signs a token for each (the REST channel's metadata.customer_token);
2. warms every server up with a few conversations (not measured);
3. "saturated": N conversations, each sending its next message as soon as the
   last reply arrives, for --duration seconds: the turns per second a mode serves;
4. "paced": N conversations with a customer's pause (--think seconds, uniform)
   between messages: the latency a customer sees at that load;
5. checks every reply against the step it answers (a missing or repeated reply is
   "lost" or "duplicated"), reads every conversation back from the tracker store
   (the customer's messages must be there in the order sent, each answered), and
   counts balances with more than one approved payment (charged twice).

Each conversation is one full flow: declined -> change the expiry -> the new date
-> confirm; a customer who finished starts again as the next bench customer.

    .venv/bin/python bench/load.py                 # both modes, writes docs/benchmarks.md
    .venv/bin/python bench/load.py --modes embedded --duration 20 --no-write
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

import aiohttp  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bot.db import (  # noqa: E402
    PaymentAttempt,
    create_schema,
    drop_database,
    ensure_database,
    make_engine,
    session_scope,
)
from bot.ops.benchmarks import write_section  # noqa: E402
from bot.ops.demo import DemoCard, DemoCustomer, add_customer  # noqa: E402
from bot.ops.launch import Stack  # noqa: E402
from bot.security.auth import issue_token  # noqa: E402

SECRET = "bench-secret-0123456789abcdef-0123456789"
POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


OPTIONS = ("/change_expiry", "/pick_other_card", "/add_new_card")


def _has_buttons(*payloads: str) -> Any:
    return lambda replies: (
        [b["payload"] for r in replies for b in r.get("buttons") or []] == list(payloads)
    )


def _says(fragment: str) -> Any:
    return lambda replies: any(fragment in (r.get("text") or "") for r in replies)


# Per language: (message, how many replies, what the last replies must show).
FLOWS: dict[str, list[tuple[str, int, Any]]] = {
    "en": [
        ("My card payment was declined", 3, _has_buttons(*OPTIONS)),
        ("/change_expiry", 1, _says("12/2027")),
        ("December 2028", 1, _has_buttons("/affirm", "/deny")),
        ("/affirm", 2, _says("48")),
    ],
    "lv": [
        ("Mans maksājums tika noraidīts", 3, _has_buttons(*OPTIONS)),
        ("/change_expiry", 1, _says("12/2027")),
        ("2028. gada decembris", 1, _has_buttons("/affirm", "/deny")),
        ("/affirm", 2, _says("48")),
    ],
    "zh": [
        ("我的卡扣款被拒了", 3, _has_buttons(*OPTIONS)),
        ("/change_expiry", 1, _says("12/2027")),
        ("2028年12月", 1, _has_buttons("/affirm", "/deny")),
        ("/affirm", 2, _says("48")),
    ],
}  # fmt: skip
LANGUAGES = tuple(FLOWS)


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    lost: int = 0
    duplicated: int = 0
    flows: int = 0
    seconds: float = 0.0
    samples: list[str] = field(default_factory=list)
    # Cores used during the phase, per part (1.0 = one core busy all the time).
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def turns(self) -> int:
        return len(self.latencies)

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


@dataclass
class Customers:
    """Bench customers not used yet; each settles one balance."""

    ids: list[str]
    next: int = 0

    def take(self) -> tuple[str, str] | None:
        if self.next >= len(self.ids):
            return None
        customer = self.ids[self.next]
        self.next += 1
        return customer, LANGUAGES[self.next % len(LANGUAGES)]


def bench_customer(customer_id: str, number: int) -> DemoCustomer:
    """Like the demo's card owner: an expired Visa, €25.50 past due."""
    return DemoCustomer(
        id=customer_id,
        display_name=f"Bench Customer {number}",
        language=LANGUAGES[number % len(LANGUAGES)],
        product="Microsoft 365 Business Standard",
        cards=(DemoCard("Visa", "4242", 3, 2026, True, f"tok_sim_approve_{customer_id}"),),
        past_due=(Decimal("25.50"), "EUR", dt.date(2026, 11, 1), "expired_card"),
    )


def seed(database_url: str, prefix: str, count: int) -> list[str]:
    engine = make_engine(database_url)
    create_schema(engine)
    ids = [f"{prefix}-{i:05d}" for i in range(count)]
    # One transaction per hundred: a flush walks the whole session, so one big one is slow.
    for start in range(0, count, 100):
        with session_scope(engine) as session:
            for number in range(start, min(start + 100, count)):
                add_customer(session, bench_customer(ids[number], number))
    engine.dispose()
    return ids


async def run_flow(
    http: aiohttp.ClientSession,
    url: str,
    customer: tuple[str, str],
    phase: Phase,
    think: tuple[float, float] | None,
    deadline: float,
    sent: dict[str, list[str]],
) -> None:
    customer_id, language = customer
    sender = f"bench-{uuid.uuid4().hex[:12]}"
    metadata = {"customer_token": issue_token(customer_id, SECRET, 3600), "language": language}
    sent[sender] = []
    for message, expected_count, check in FLOWS[language]:
        if think:
            await asyncio.sleep(random.uniform(*think))
        if time.monotonic() > deadline:
            return
        body = {"sender": sender, "message": message, "metadata": metadata}
        started = time.perf_counter()
        try:
            async with http.post(f"{url}/webhooks/rest/webhook", json=body) as response:
                replies = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            phase.errors += 1
            phase.samples.append(f"{message!r}: {error.__class__.__name__}")
            return
        phase.latencies.append(time.perf_counter() - started)
        sent[sender].append(message)
        if status != 200:
            phase.errors += 1
            phase.samples.append(f"{message!r}: HTTP {status} {replies}")
            return
        texts = [r.get("text") for r in replies if r.get("text")]
        if len(replies) > expected_count or len(set(texts)) < len(texts):
            phase.duplicated += 1
            phase.samples.append(f"{message!r}: {len(replies)} replies, expected {expected_count}")
            return
        if len(replies) < expected_count or not check(replies):
            phase.lost += 1
            phase.samples.append(f"{message!r}: unexpected {json.dumps(replies)[:300]}")
            return
    phase.flows += 1


async def run_phase(
    url: str,
    customers: Customers,
    phase: Phase,
    conversations: int,
    duration: float,
    think: tuple[float, float] | None,
    sent: dict[str, list[str]],
) -> None:
    deadline = time.monotonic() + duration
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=conversations * 2)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:

        async def customer_loop() -> None:
            while time.monotonic() < deadline:
                customer = customers.take()
                if customer is None:
                    return
                await run_flow(http, url, customer, phase, think, deadline, sent)

        started = time.monotonic()
        await asyncio.gather(*(customer_loop() for _ in range(conversations)))
        phase.seconds = time.monotonic() - started


def measure_phase(
    stack: Stack,
    customers: Customers,
    phase: Phase,
    conversations: int,
    duration: float,
    think: tuple[float, float] | None,
    sent: dict[str, list[str]],
) -> None:
    """Runs the phase, and records the cores each part of the stack used during it."""
    before = cpu_seconds(stack)
    asyncio.run(run_phase(stack.url, customers, phase, conversations, duration, think, sent))
    after = cpu_seconds(stack)
    phase.cpu = {
        part: (after[part] - before.get(part, 0.0)) / phase.seconds
        for part in after
        if phase.seconds
    }


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """CPU seconds used so far, per part: read from /proc (Linux), children included.

    Rasa servers, action server and nginx are found by their process groups (the
    launcher starts each in its own session); PostgreSQL and Redis by name, so other
    databases on the machine count too; the load generator is this process.
    """
    tick = os.sysconf("SC_CLK_TCK")
    groups = {process.pid: name.split("-")[0] for name, process in stack.processes.items()}
    totals: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        command, fields = (
            stat[stat.index("(") + 1 : stat.rindex(")")],
            stat.rsplit(")", 1)[1].split(),
        )
        used = (int(fields[11]) + int(fields[12])) / tick
        part = groups.get(int(fields[2]))  # the process group
        if part is None and command.startswith("postgres"):
            part = "postgres"
        if part is None and command.startswith("redis-server"):
            part = "redis"
        if int(entry.name) == os.getpid():
            part = "load generator"
        if part:
            totals[part] = totals.get(part, 0.0) + used
    return totals


def check_trackers(stack: Stack, sent: dict[str, list[str]]) -> tuple[int, int]:
    """(conversations out of order or missing messages, conversations checked)."""
    import urllib.request

    broken = 0
    for sender, messages in sent.items():
        with urllib.request.urlopen(
            f"{stack.rasa_urls[0]}/conversations/{sender}/tracker?token={stack.api_token}",
            timeout=60,
        ) as response:
            events = json.loads(response.read()).get("events") or []
        stored, answered = [], []
        for event in events:
            if event.get("event") == "user":
                stored.append(event.get("text"))
                answered.append(False)
            elif event.get("event") == "bot" and answered:
                answered[-1] = True
        if stored != messages or not all(answered):
            broken += 1
    return broken, len(sent)


def charged_twice(database_url: str) -> int:
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        approved = (
            select(PaymentAttempt.balance_id)
            .where(PaymentAttempt.status == "approved")
            .group_by(PaymentAttempt.balance_id)
            .having(func.count() > 1)
        )
        count = len(session.execute(approved).all())
    engine.dispose()
    return count


@dataclass
class ModeResult:
    round: int
    mode: str
    description: str
    phases: list[Phase]
    out_of_order: int
    checked: int
    double_charges: int


def run_mode(mode: str, args: argparse.Namespace, round_number: int = 1) -> ModeResult:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{mode}-"))
    tag = uuid.uuid4().hex[:8]
    env = {**os.environ, "BOT_AUTH_SECRET": SECRET, "BOT_ENV": "development"}
    env.pop("BOT_LOCK_STORE_URL", None)
    if mode == "embedded":
        database_url = f"sqlite:///{workdir / 'bot.db'}"
        env["BOT_TRACKER_STORE_URL"] = f"sqlite:///{workdir / 'tracker.db'}"
        rasa_ports, public_port, action_workers = [args.port_base], None, 1
        description = "1 Rasa server, 1 action worker, SQLite"
    else:
        database_url = f"{POSTGRES}/bench_{tag}"
        ensure_database(database_url)
        env["BOT_TRACKER_STORE_URL"] = database_url
        env["BOT_LOCK_STORE_URL"] = REDIS
        env["BOT_REDIS_KEY_PREFIX"] = f"bench{tag}"
        rasa_ports = [args.port_base + 1 + i for i in range(args.workers)]
        public_port, action_workers = args.port_base, args.workers
        description = (
            f"{args.workers} Rasa servers behind nginx, {action_workers} action workers, "
            "PostgreSQL, Redis"
        )
    env["DATABASE_URL"] = database_url
    print(f"[{mode}] seeding {args.customers} customers...", flush=True)
    customers = Customers(seed(database_url, f"bench-{tag}", args.customers))
    stack = Stack(
        workdir=workdir,
        env=env,
        rasa_ports=rasa_ports,
        action_port=args.port_base + 50,
        action_workers=action_workers,
        public_port=public_port,
    )
    sent: dict[str, list[str]] = {}
    try:
        print(f"[{mode}] starting: {description}", flush=True)
        stack.start()
        warmup = Phase("warm-up")
        # Every server handles a few whole flows first (TensorFlow's first calls are slow).
        asyncio.run(run_phase(stack.url, customers, warmup, 6, 25, None, {}))
        phases = []
        for name, think in (("saturated", None), ("paced", (args.think_min, args.think_max))):
            phase = Phase(name)
            print(
                f"[{mode}] {name}: {args.conversations} conversations, {args.duration} s",
                flush=True,
            )
            measure_phase(stack, customers, phase, args.conversations, args.duration, think, sent)
            phases.append(phase)
            print(f"[{mode}] {summary(phase)}", flush=True)
            if customers.next >= len(customers.ids):
                print(f"[{mode}] ran out of bench customers: raise --customers", flush=True)
        out_of_order, checked = check_trackers(stack, sent)
        double = charged_twice(database_url)
    finally:
        stack.stop()
        if mode == "production":
            drop_database(database_url)
        shutil.rmtree(workdir, ignore_errors=True)
    return ModeResult(round_number, mode, description, phases, out_of_order, checked, double)


def summary(phase: Phase) -> str:
    rate = phase.turns / phase.seconds if phase.seconds else 0.0
    text = (
        f"{phase.name}: {phase.turns} turns in {phase.seconds:.1f} s = {rate:.2f} turns/s; "
        f"p50 {phase.percentile(50):.0f} ms, p95 {phase.percentile(95):.0f} ms, "
        f"p99 {phase.percentile(99):.0f} ms; flows {phase.flows}; errors {phase.errors}, "
        f"lost {phase.lost}, duplicated {phase.duplicated}"
    )
    for sample in phase.samples[:3]:
        text += f"\n    {sample}"
    return text


def report(results: list[ModeResult], args: argparse.Namespace, command: str) -> list[str]:
    lines = [
        "## Load: embedded mode against production mode",
        "",
        f"Measured {dt.date.today().isoformat()} with `{command}` on one machine "
        f"({os.cpu_count()} CPU cores, Python {platform.python_version()}); the load "
        "generator ran on the same cores. Each conversation is a whole settle-balance flow "
        "over the REST channel (declined, change the expiry, the new date, confirm: 4 turns), "
        "in English, Latvian and Chinese in turn, each as its own seeded customer with a "
        f'signed token. {args.conversations} conversations at once; "saturated": each sends '
        'its next message as soon as the reply arrives; "paced": a customer\'s pause of '
        f"{args.think_min:g}-{args.think_max:g} s before each message. {args.duration:g} s "
        "per phase, after a warm-up.",
        "",
        "| round | mode | phase | turns/s | p50 ms | p95 ms | p99 ms | flows | errors | lost | "
        "duplicated |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for phase in result.phases:
            rate = phase.turns / phase.seconds if phase.seconds else 0.0
            lines.append(
                f"| {result.round} | {result.mode} ({result.description}) | {phase.name} | "
                f"{rate:.2f} | "
                f"{phase.percentile(50):.0f} | {phase.percentile(95):.0f} | "
                f"{phase.percentile(99):.0f} | {phase.flows} | {phase.errors} | {phase.lost} | "
                f"{phase.duplicated} |"
            )
    lines += [
        "",
        "Cores busy during the saturated phase (from /proc; 2 cores in all):",
        "",
        "| round | mode | Rasa servers | action server | PostgreSQL | Redis | nginx | load "
        "generator |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        cpu = result.phases[0].cpu
        cells = " | ".join(
            f"{cpu[part]:.2f}" if part in cpu else "-"
            for part in ("rasa", "actions", "postgres", "redis", "nginx", "load generator")
        )
        lines.append(f"| {result.round} | {result.mode} | {cells} |")
    lines.append("")
    for result in results:
        lines.append(
            f"- round {result.round}, {result.mode}: {result.checked} conversations read back "
            f"from the tracker "
            f"store, {result.out_of_order} with a message missing, unanswered or out of order; "
            f"{result.double_charges} balances charged twice."
        )
    modes = {r.mode for r in results}
    if {"embedded", "production"} <= modes:

        def mean_rate(mode: str) -> float:
            rates = [
                r.phases[0].turns / r.phases[0].seconds
                for r in results
                if r.mode == mode and r.phases[0].seconds
            ]
            return statistics.mean(rates) if rates else float("nan")

        ratio = mean_rate("production") / mean_rate("embedded")
        p95s = [r.phases[1].percentile(95) for r in results if r.mode == "production"]
        lines.append(
            f"- Saturated throughput, production over embedded (mean of the rounds): "
            f"{mean_rate('production'):.2f} / {mean_rate('embedded'):.2f} = {ratio:.2f}x "
            f"(target at least 1.6x). Production p95 with {args.conversations} paced "
            f"conversations: {', '.join(f'{p:.0f}' for p in p95s)} ms (target under 300 ms)."
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--modes", default="embedded,production")
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--think-min", type=float, default=2.0)
    parser.add_argument("--think-max", type=float, default=4.0)
    parser.add_argument("--workers", type=int, default=2, help="Rasa servers in production mode")
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2, help="runs of every mode, alternated")
    parser.add_argument("--port-base", type=int, default=5300)
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    # A stopped benchmark stops its servers too (they run in their own sessions).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    # Rounds alternate the modes, so a slow spell of the machine does not hit one mode only.
    results = [
        run_mode(mode, args, number) for number in range(1, args.rounds + 1) for mode in modes
    ]
    command = "python bench/load.py " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = report(results, args, command.strip())
    print("\n".join(lines))
    if not args.no_write:
        write_section(Path(args.out), "load", lines)
    failed = any(p.errors or p.lost or p.duplicated for r in results for p in r.phases) or any(
        r.out_of_order or r.double_charges for r in results
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

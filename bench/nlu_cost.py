"""What understanding meaning costs: the bot before and after, in one run.

Runs the embedded mode (one Rasa server, one action worker, SQLite) with two models
in turn, each on fresh data, and measures for each: start-up (from starting the
servers until they answer), the Rasa server's memory (resident set, after the
warm-up and at the end), saturated turns per second and paced latency (the same
conversations as bench/load.py). Rounds alternate the models, so a slow spell of
the machine does not hit one model only.

- "before": the bot as it was at c722b72 (its config with DIET, its domain and its
  data), trained once and cached under .cache/bench/;
- "after": models/billing.tar.gz (`make train`).

    .venv/bin/python bench/nlu_cost.py                  # writes docs/benchmarks.md
    .venv/bin/python bench/nlu_cost.py --rounds 1 --duration 20 --no-write
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from bench.load import (  # noqa: E402
    SECRET,
    Customers,
    Phase,
    measure_phase,
    run_phase,
    seed,
    summary,
)
from bot.ops.benchmarks import write_section  # noqa: E402
from bot.ops.launch import DEFAULT_MODEL, Stack  # noqa: E402

BEFORE = "c722b72"
CACHE = ROOT / ".cache" / "bench"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def before_model() -> Path:
    """The c722b72 bot (config, domain, data), trained once and kept in the cache."""
    tree = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", f"{BEFORE}^{{tree}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    model = CACHE / f"before-{hashlib.sha256(tree.encode()).hexdigest()[:12]}.tar.gz"
    if model.exists():
        return model
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", BEFORE, "config.yml", "domain.yml", "data"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        print(f"training the {BEFORE} model (once)...", flush=True)
        subprocess.run(
            [str(Path(sys.executable).parent / "rasa"), "train", "--config", "config.yml"]
            + ["--domain", "domain.yml", "--data", "data", "--out", str(CACHE)]
            + ["--fixed-model-name", model.name.removesuffix(".tar.gz")],
            cwd=tmp,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            check=True,
        )
    return model


@dataclass
class Run:
    round: int
    name: str
    startup: float
    rss_warm: float
    rss_end: float
    phases: list[Phase] = field(default_factory=list)


def run_model(name: str, model: Path, args: argparse.Namespace, number: int) -> Run:
    workdir = Path(tempfile.mkdtemp(prefix=f"nlu-cost-{name}-"))
    env = {
        **os.environ,
        "BOT_AUTH_SECRET": SECRET,
        "BOT_ENV": "development",
        "DATABASE_URL": f"sqlite:///{workdir / 'bot.db'}",
        "BOT_TRACKER_STORE_URL": f"sqlite:///{workdir / 'tracker.db'}",
    }
    env.pop("BOT_LOCK_STORE_URL", None)
    customers = Customers(seed(env["DATABASE_URL"], f"cost-{uuid.uuid4().hex[:8]}", args.customers))
    stack = Stack(
        workdir=workdir,
        env=env,
        rasa_ports=[args.port_base],
        action_port=args.port_base + 50,
        model=model,
    )
    try:
        print(f"[{name}] starting with {model.name}", flush=True)
        began = time.monotonic()
        stack.start()
        startup = time.monotonic() - began
        pid = stack.processes[f"rasa-{args.port_base}"].pid
        asyncio.run(run_phase(stack.url, customers, Phase("warm-up"), 6, 25, None, {}))
        result = Run(number, name, startup, rss_mb(pid), float("nan"))
        for phase_name, think in (("saturated", None), ("paced", (2.0, 4.0))):
            phase = Phase(phase_name)
            measure_phase(stack, customers, phase, args.conversations, args.duration, think, {})
            result.phases.append(phase)
            print(f"[{name}] {summary(phase)}", flush=True)
        result.rss_end = rss_mb(pid)
        print(f"[{name}] start-up {startup:.1f} s, memory {result.rss_warm:.0f} MB", flush=True)
        return result
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def report(runs: list[Run], args: argparse.Namespace, command: str) -> list[str]:
    lines = [
        "## What understanding meaning costs: before and after, in one run",
        "",
        f"Measured {dt.date.today().isoformat()} with `{command}` ({os.cpu_count()} CPU "
        f"cores, Python {platform.python_version()}), embedded mode (1 Rasa server, 1 action "
        f"worker, SQLite). before: the bot at {BEFORE} (DIET); after: this pipeline "
        f"(multilingual embedding + logistic regression). {args.conversations} conversations, "
        f"{args.duration:g} s per phase, the flows of bench/load.py; start-up is from starting "
        "the servers until both answer; memory is the Rasa server's resident set. The "
        f"machine's 1-minute load average was {args.load_before:.1f} before the run and "
        f"{os.getloadavg()[0]:.1f} after it: above about 2 on 2 cores, other work shared "
        "the cores and the rounds disagree.",
        "",
        "| round | bot | start-up s | memory MB (warm / end) | saturated turns/s | "
        "saturated p95 ms | paced p95 ms | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        saturated, paced = run.phases
        rate = saturated.turns / saturated.seconds if saturated.seconds else 0.0
        errors = sum(p.errors + p.lost + p.duplicated for p in run.phases)
        lines.append(
            f"| {run.round} | {run.name} | {run.startup:.1f} | {run.rss_warm:.0f} / "
            f"{run.rss_end:.0f} | {rate:.2f} | {saturated.percentile(95):.0f} | "
            f"{paced.percentile(95):.0f} | {errors} |"
        )

    def mean(name: str, value) -> float:
        return statistics.mean(value(r) for r in runs if r.name == name)

    def rate(run: Run) -> float:
        return run.phases[0].turns / run.phases[0].seconds

    if {r.name for r in runs} == {"before", "after"}:
        change = mean("after", rate) / mean("before", rate) - 1
        lines += [
            "",
            f"- Saturated throughput, after against before (mean of the rounds): "
            f"{mean('after', rate):.2f} / {mean('before', rate):.2f} turns/s ({change:+.0%}; "
            "the limit was -20%).",
            f"- Paced p95: after {mean('after', lambda r: r.phases[1].percentile(95)):.0f} ms, "
            f"before {mean('before', lambda r: r.phases[1].percentile(95)):.0f} ms "
            "(the limit was 300 ms).",
            f"- Start-up: after {mean('after', lambda r: r.startup):.1f} s, before "
            f"{mean('before', lambda r: r.startup):.1f} s; memory after warm-up: after "
            f"{mean('after', lambda r: r.rss_warm):.0f} MB, before "
            f"{mean('before', lambda r: r.rss_warm):.0f} MB.",
        ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", type=Path, help="model to compare (default: c722b72's)")
    parser.add_argument("--after", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--port-base", type=int, default=5400)
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    args.load_before = os.getloadavg()[0]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not args.after.exists():
        print(f"{args.after} does not exist: run `make train` first", file=sys.stderr)
        return 2
    models = {"before": args.before or before_model(), "after": args.after}
    runs = [
        run_model(name, model, args, number)
        for number in range(1, args.rounds + 1)
        for name, model in models.items()
    ]
    command = "python bench/nlu_cost.py " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = report(runs, args, command.strip())
    print("\n".join(lines))
    if not args.no_write:
        write_section(Path(args.out), "nlu-cost", lines)
    return 1 if any(p.errors or p.lost for r in runs for p in r.phases) else 0


if __name__ == "__main__":
    sys.exit(main())

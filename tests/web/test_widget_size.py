"""The script tag stays small: what every page of the embedding site pays before the
customer opens the chat, and what opening it adds (numbers in docs/benchmarks.md,
scripts/widget_size.py); and no script of the chat grows into one long file again."""

from __future__ import annotations

import importlib.util

from bot.config import PROJECT_ROOT
from bot.web.widget import SOCKET_IO_MODULE, WIDGET_ROOT, chat_modules, served_scripts

MAX_SCRIPT_LINES = 450

spec = importlib.util.spec_from_file_location(
    "widget_size", PROJECT_ROOT / "scripts" / "widget_size.py"
)
assert spec and spec.loader
widget_size = importlib.util.module_from_spec(spec)
spec.loader.exec_module(widget_size)


def test_the_page_load_part_stays_under_eight_kilobytes_gzipped() -> None:
    tag, _ = widget_size.files()[0]
    assert tag.name == "widget.js"
    assert widget_size.sizes(tag)[1] < 4 * 1024
    before_open = sum(
        widget_size.sizes(p)[1] for p, when in widget_size.files() if "open" not in when
    )
    assert before_open < 8 * 1024


def test_first_open_counts_every_module_the_chat_imports() -> None:
    measured = [p for p, when in widget_size.files() if when.startswith("on first open")]
    assert measured == chat_modules()
    assert measured[0].name == "chat.js" and SOCKET_IO_MODULE in measured
    # Every script of the widget is measured: the launcher, a panel module, or the demo
    # page's own entry (/chat/ only, never on another site).
    scripts = {p.name for p in WIDGET_ROOT.glob("*.js")}
    assert scripts - {p.name for p in measured} == {"widget.js", "demo.js"}


def test_no_served_widget_or_chat_script_is_over_450_lines() -> None:
    scripts = served_scripts()
    assert len(scripts) >= 10 and all(p.is_file() for p in scripts)
    lines = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in scripts}
    long = {name: n for name, n in lines.items() if n > MAX_SCRIPT_LINES}
    assert not long, f"split these by concern (at most {MAX_SCRIPT_LINES} lines): {long}"


def test_the_documented_sizes_are_the_current_ones() -> None:
    documented = (PROJECT_ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    for line in widget_size.table():
        assert line in documented, (
            f"docs/benchmarks.md is stale: run scripts/widget_size.py ({line})"
        )

"""The script tag stays small: what every page of the embedding site pays before the
customer opens the chat (numbers in docs/benchmarks.md, scripts/widget_size.py)."""

from __future__ import annotations

import importlib.util

from bot.config import PROJECT_ROOT

spec = importlib.util.spec_from_file_location(
    "widget_size", PROJECT_ROOT / "scripts" / "widget_size.py"
)
assert spec and spec.loader
widget_size = importlib.util.module_from_spec(spec)
spec.loader.exec_module(widget_size)


def test_the_page_load_part_stays_under_eight_kilobytes_gzipped() -> None:
    tag, _ = widget_size.FILES[0]
    assert tag.name == "widget.js"
    assert widget_size.sizes(tag)[1] < 4 * 1024
    before_open = sum(
        widget_size.sizes(p)[1] for p, when in widget_size.FILES if "open" not in when
    )
    assert before_open < 8 * 1024


def test_the_documented_sizes_are_the_current_ones() -> None:
    documented = (PROJECT_ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    for line in widget_size.table():
        assert line in documented, (
            f"docs/benchmarks.md is stale: run scripts/widget_size.py ({line})"
        )

"""docs/benchmarks.md is written by two benchmarks; each replaces only its own section."""

from __future__ import annotations

import re
from pathlib import Path

TITLE = "# Benchmarks"


def write_section(path: Path, name: str, lines: list[str]) -> None:
    """Replaces the section `name` (between its HTML comment markers), or appends it."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = "\n".join([begin, *lines, end])
    text = path.read_text(encoding="utf-8") if path.exists() else f"{TITLE}\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")

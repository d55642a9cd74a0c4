"""What the embedded chat costs a page: bytes of each file, raw and gzipped.

The page pays for the script tag (widget.js) and the launcher's stylesheet at once;
the chat's ES modules, every file that chat.js imports directly or through another
module (the Socket.IO client included), when the customer first opens the chat.

Writes the "widget-size" section of docs/benchmarks.md (README points to it):

    .venv/bin/python scripts/widget_size.py --out docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.ops.benchmarks import write_section  # noqa: E402
from bot.web.widget import SOCKET_IO_MODULE, WIDGET_ROOT, chat_modules  # noqa: E402

PAGE_LOAD = (
    (WIDGET_ROOT / "widget.js", "the script tag: launcher and API"),
    (WIDGET_ROOT / "widget.css", "with the launcher (shadow root styles)"),
)


def files() -> list[tuple[Path, str]]:
    """(file, when the page loads it)."""
    first_open = [
        (path, "on first open: socket.io-client (pinned, ES module)")
        if path == SOCKET_IO_MODULE
        else (path, "on first open: chat panel module")
        for path in chat_modules()
    ]
    return [*PAGE_LOAD, *first_open]


def sizes(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    return len(data), len(gzip.compress(data, compresslevel=9, mtime=0))


def table() -> list[str]:
    lines = [
        "## Widget size (one script tag)",
        "",
        "Measured by `.venv/bin/python scripts/widget_size.py --out docs/benchmarks.md`",
        "Gzipped at level 9: what a browser downloads through nginx with `gzip on` or a CDN;",
        "the Rasa server itself sends the raw bytes. Browsers cache them for 5 minutes.",
        "First open counts every module that chat.js imports (one request each), each",
        "gzipped on its own as a server sends it.",
        "",
        "| file | loaded | bytes | gzipped |",
        "|---|---|---:|---:|",
    ]
    total_first, total_open = [0, 0], [0, 0]
    for path, when in files():
        raw, packed = sizes(path)
        lines.append(f"| `{path.name}` | {when} | {raw:,} | {packed:,} |")
        target = total_open if when.startswith("on first open") else total_first
        target[0] += raw
        target[1] += packed
    lines += [
        f"| **page load** | before the customer opens the chat | **{total_first[0]:,}** "
        f"| **{total_first[1]:,}** |",
        f"| **first open** | added when the chat opens | **{total_open[0]:,}** "
        f"| **{total_open[1]:,}** |",
    ]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="write the section into this file")
    args = parser.parse_args()
    lines = table()
    if args.out:
        write_section(args.out, "widget-size", lines)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

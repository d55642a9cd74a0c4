"""The house rules: what each package may import, and where settings are read.

docs/architecture.md shows the same table; this test holds both to the code.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT

KERNEL = {"bot.config", "bot.db", "bot.errors", "bot.i18n"}
# Frameworks: only the packages that plug into them may import them.
FRAMEWORKS = {"rasa", "rasa_sdk", "sanic", "socketio"}

# package -> the packages of this project and the frameworks it may import.
ALLOWED: dict[str, set[str]] = {
    "bot.errors": set(),
    "bot.i18n": set(),
    # The Jinja2 environment of the server-rendered pages and the NLU report's file.
    "bot.templating": set(),
    # Parsing origins and customer-token keys is checked when settings are built.
    "bot.config": {"bot.errors", "bot.security"},
    "bot.db": {"bot.config", "bot.errors"},
    "bot.billing": KERNEL,
    "bot.migrations": KERNEL,
    "bot.security": KERNEL,
    "bot.support": KERNEL | {"bot.billing", "bot.security"},
    "bot.insights": KERNEL | {"bot.billing", "bot.templating"},
    "bot.nlu": KERNEL | {"bot.security", "bot.templating", "rasa"},
    "bot.ops": KERNEL | {"bot.billing", "bot.support", "bot.security"},
    "bot.rasa_plugins": KERNEL
    | {"bot.billing", "bot.support", "bot.security", "bot.nlu", "rasa", "sanic", "socketio"},
    "bot.web": KERNEL
    | {
        "bot.billing",
        "bot.support",
        "bot.security",
        "bot.nlu",
        "bot.insights",
        "bot.ops",
        "bot.rasa_plugins",
        "bot.templating",
        "rasa",
        "sanic",
    },
    "bot.cli": KERNEL
    | {
        "bot.billing",
        "bot.support",
        "bot.security",
        "bot.nlu",
        "bot.insights",
        "bot.ops",
        "bot.migrations",
    },
    "actions": KERNEL
    | {"bot.billing", "bot.support", "bot.security", "bot.insights", "rasa_sdk", "sanic"},
}
TRACKED = {name.split(".")[0] for name in ALLOWED} | FRAMEWORKS


def _package(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "bot" and len(parts) > 1:
        return f"bot.{parts[1]}"
    return parts[0]


def _modules() -> list[tuple[Path, str]]:
    found = []
    for root in ("bot", "actions"):
        for path in sorted((PROJECT_ROOT / root).rglob("*.py")):
            if "node_modules" in path.parts:
                continue
            dotted = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
            found.append((path, dotted.removesuffix(".__init__")))
    return found


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_every_package_is_in_the_table() -> None:
    packages = {_package(dotted) for _, dotted in _modules()} - {"bot"}
    assert packages == set(ALLOWED)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_what_the_table_allows(package: str) -> None:
    wrong = []
    for path, dotted in _modules():
        if _package(dotted) != package:
            continue
        for name in _imports(path):
            target = _package(name)
            if target == package or name.split(".")[0] not in TRACKED:
                continue
            if target not in ALLOWED[package]:
                wrong.append(f"{path.relative_to(PROJECT_ROOT)} imports {name}")
    assert wrong == [], f"{package} may import only {sorted(ALLOWED[package])}"


def test_the_domain_knows_nothing_of_rasa_or_the_web() -> None:
    assert not ALLOWED["bot.billing"] & (FRAMEWORKS | {"bot.web", "bot.rasa_plugins"})


# Reading a variable; passing the whole environment on to a child process
# (dict(os.environ), {**os.environ, ...}) or setting a default for Rasa is not.
ENV_READ = re.compile(r"os\.getenv|os\.environ(?![),]|\.setdefault)")


def test_settings_are_read_from_the_environment_in_one_place() -> None:
    readers = [
        str(path.relative_to(PROJECT_ROOT))
        for path, _ in _modules()
        if ENV_READ.search(path.read_text(encoding="utf-8"))
    ]
    assert readers == ["bot/config.py"]


def test_the_architecture_page_shows_the_same_table() -> None:
    page = (PROJECT_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for package, allowed in ALLOWED.items():
        own = sorted(a for a in allowed if a.startswith(("bot", "actions")))
        frameworks = sorted(a for a in allowed if a in FRAMEWORKS)
        row = f"| `{package}` | {', '.join(own) or '-'} | {', '.join(frameworks) or '-'} |"
        assert row in page, f"docs/architecture.md lacks the row {row}"

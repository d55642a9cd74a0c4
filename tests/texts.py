"""Every customer-facing text, read from where it lives, and the glossary it must follow.

Read from the files themselves (domain.yml, the card form's words, the chat panel's
`TEXTS`, the launcher's `LABELS`), so that a text someone adds later is checked like
the others.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml

from bot.config import PROJECT_ROOT
from bot.i18n import LANGUAGES

GLOSSARY = PROJECT_ROOT / "docs" / "glossary.md"
CARD_FORM = PROJECT_ROOT / "bot" / "web" / "card_form.yml"
WIDGET = PROJECT_ROOT / "bot" / "web" / "static" / "widget" / "texts.js"
LAUNCHER = PROJECT_ROOT / "bot" / "web" / "static" / "widget" / "widget.js"


@dataclass
class Unit:
    """One text in its three languages: a response, a button, a form or widget label."""

    where: str
    texts: dict[str, str]


@lru_cache(maxsize=1)
def domain_responses() -> dict[str, list[dict[str, Any]]]:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    return domain["responses"]


def variation_language(variation: dict[str, Any]) -> str | None:
    for condition in variation.get("condition") or []:
        if condition.get("name") == "language":
            return condition.get("value")
    return None


def domain_units() -> list[Unit]:
    units = []
    for name, variations in domain_responses().items():
        by_language = {variation_language(v): v for v in variations}
        units.append(
            Unit(f"domain.yml {name}", {k: v.get("text", "") for k, v in by_language.items()})
        )
        # A button is the same choice in every language: matched by its payload.
        titles: dict[str, dict[str, str]] = {}
        for language, variation in by_language.items():
            for button in variation.get("buttons") or []:
                titles.setdefault(button["payload"], {})[str(language)] = button["title"]
        units.extend(
            Unit(f"domain.yml {name} button {payload}", texts)
            for payload, texts in titles.items()
        )
    return units


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def card_form_units() -> list[Unit]:
    table = yaml.safe_load(CARD_FORM.read_text(encoding="utf-8"))
    flat = {language: _flatten(table[language]) for language in table}
    return [
        Unit(f"card_form.yml {key}", {language: flat[language].get(key, "") for language in flat})
        for key in flat["en"]
    ]


WIDGET_TEXTS = re.compile(r"^export const TEXTS = (\{.*?\n\});", re.S | re.M)
JS_KEY = re.compile(r"^(\s*)([A-Za-z_]\w*):", re.M)
TRAILING_COMMA = re.compile(r",(\s*\})")


@lru_cache(maxsize=1)
def widget_texts() -> dict[str, dict[str, str]]:
    """The widget's `TEXTS` object literal (keys, double-quoted strings) as data."""
    found = WIDGET_TEXTS.search(WIDGET.read_text(encoding="utf-8"))
    assert found, "texts.js has no `export const TEXTS = {...};`"
    as_json = TRAILING_COMMA.sub(r"\1", JS_KEY.sub(r'\1"\2":', found.group(1)))
    return json.loads(as_json)


def launcher_table(name: str) -> dict[str, str]:
    """A one-line {en, lv, zh} table of the launcher (widget.js `LABELS`, `UNAVAILABLE`)."""
    found = re.search(rf"const {name} = (\{{[^}}]*\}});", LAUNCHER.read_text(encoding="utf-8"))
    assert found, f"widget.js has no `const {name} = {{...}};`"
    return json.loads(re.sub(r"([{,]\s*)([a-z]{2}):", r'\1"\2":', found.group(1)))


def launcher_labels() -> dict[str, str]:
    """The launcher button's name per language (widget.js `LABELS`, one line)."""
    return launcher_table("LABELS")


def widget_units() -> list[Unit]:
    texts = widget_texts()
    return [
        *(
            Unit(f"texts.js TEXTS.{key}", {lang: texts[lang].get(key, "") for lang in texts})
            for key in texts["en"]
        ),
        Unit("widget.js LABELS", launcher_labels()),
        Unit("widget.js UNAVAILABLE", launcher_table("UNAVAILABLE")),
    ]


def all_units() -> list[Unit]:
    return [*domain_units(), *card_form_units(), *widget_units()]


# ---------- the glossary ----------


@dataclass
class Concept:
    name: str
    terms: dict[str, list[str]] = field(default_factory=dict)
    never: dict[str, list[str]] = field(default_factory=dict)


BACKTICKED = re.compile(r"`([^`]+)`")
HAN = re.compile(r"[\u3400-\u9fff]")


def term_pattern(term: str) -> re.Pattern[str]:
    """ "derīguma termiņ…" -> any ending; "…pieder" -> any beginning; whole words."""
    words = []
    for word in term.split():
        open_start, open_end = word.startswith("…"), word.endswith("…")
        core = re.escape(word.strip("…"))
        latin = not HAN.search(word)
        start = r"\w*" if open_start else (r"\b" if latin else "")
        end = r"\w*" if open_end else (r"\b" if latin else "")
        words.append(f"{start}{core}{end}")
    return re.compile(r"\s+".join(words), re.I)


def _never_terms(cell: str) -> dict[str, list[str]]:
    never: dict[str, list[str]] = {}
    for chunk in cell.split(";"):
        chunk = chunk.strip()
        if not chunk:
            continue
        language = chunk.split()[0]
        assert language in LANGUAGES, f"glossary: never-list {chunk!r} names no language"
        never[language] = BACKTICKED.findall(chunk)
    return never


@lru_cache(maxsize=1)
def glossary() -> list[Concept]:
    concepts = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or cells[0] in ("concept", "") or set(cells[0]) <= set("-"):
            continue
        name, en, lv, zh, never = cells
        terms = {
            language: BACKTICKED.findall(cell)
            for language, cell in zip(LANGUAGES, (en, lv, zh), strict=True)
        }
        concepts.append(Concept(name, terms, _never_terms(never)))
    return concepts


def has_term(text: str, terms: list[str]) -> bool:
    return any(term_pattern(term).search(text) for term in terms)


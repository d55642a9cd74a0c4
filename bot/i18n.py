"""Language detection and language-aware formatting.

Han script means Chinese; otherwise English and Latvian are told apart by lingua,
limited to those two. A message too short or too ambiguous to tell ("ok", "jā")
yields no language, so the conversation keeps the one it has.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal
from functools import lru_cache
from typing import Any

import regex
from babel.dates import format_date
from babel.numbers import format_currency

LANGUAGES = ("en", "lv", "zh")
DEFAULT_LANGUAGE = "en"
BABEL_LOCALES = {"en": "en_US", "lv": "lv_LV", "zh": "zh_Hans_CN"}

HAN = regex.compile(r"\p{Han}")
LETTER = regex.compile(r"\p{L}")
# Fewer letters than this is too little to tell English from Latvian.
MIN_LETTERS = 4
# How far apart lingua's two confidences must be before we trust its choice.
MIN_RELATIVE_DISTANCE = 0.05


@lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    return (
        LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.LATVIAN)
        .with_minimum_relative_distance(MIN_RELATIVE_DISTANCE)
        .build()
    )


MARKUP = re.compile(r"<[^<>]{0,500}>|https?://\S+")


def detect_language(text: str | None) -> str | None:
    """The language of one customer message: "zh", "en", "lv", or None if unclear."""
    if not text:
        return None
    # Markup and links say nothing about the customer's language.
    text = MARKUP.sub(" ", text)
    if HAN.search(text):
        return "zh"
    if len(LETTER.findall(text)) < MIN_LETTERS:
        return None
    from lingua import Language

    detected = _detector().detect_language_of(text)
    if detected == Language.LATVIAN:
        return "lv"
    if detected == Language.ENGLISH:
        return "en"
    return None


def language_confidence(text: str | None) -> float:
    """How sure the detector is of `detect_language(text)`: 0 when there is none."""
    language = detect_language(text)
    if language is None:
        return 0.0
    if language == "zh":
        return 1.0
    from lingua import Language

    target = Language.LATVIAN if language == "lv" else Language.ENGLISH
    return float(_detector().compute_language_confidence(MARKUP.sub(" ", text or ""), target))


def normalize_language(value: Any) -> str | None:
    """A supported language code from loose input ("LV", "lv-LV", "zh_CN"), else None."""
    if not isinstance(value, str):
        return None
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else None


def resolve_language(*candidates: Any) -> str:
    """The first supported language among the candidates, or the default."""
    for candidate in candidates:
        code = normalize_language(candidate)
        if code:
            return code
    return DEFAULT_LANGUAGE


def fold_diacritics(text: str) -> str:
    """ "derīguma termiņš" -> "deriguma termins": how Latvian is often typed."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def format_money(amount: Decimal, currency: str, language: str) -> str:
    """ "25,50 €" in Latvian, "¥1,080.00" in Chinese, "$6.00" in English."""
    return format_currency(amount, currency, locale=BABEL_LOCALES[resolve_language(language)])


def format_day(day: dt.date, language: str) -> str:
    """A date as the language writes it in full: "2026. gada 1. novembris"."""
    return format_date(day, format="long", locale=BABEL_LOCALES[resolve_language(language)])


def format_expiry(month: int, year: int) -> str:
    """Card expiry as printed on cards everywhere: "03/2026"."""
    return f"{month:02d}/{year:04d}"


def format_moment(moment: dt.datetime, language: str) -> str:
    """A UTC date and time in the language's long date form: "November 24, 2026 10:32 UTC"."""
    utc = moment.astimezone(dt.timezone.utc)
    return f"{format_day(utc.date(), language)} {utc:%H:%M} UTC"


# Card brands as Chinese customers know them; other languages use the brand's own name.
LOCAL_BRAND_NAMES = {"zh": {"UnionPay": "银联", "American Express": "美国运通"}}


def brand_name(brand: str, language: str) -> str:
    """ "UnionPay" is "银联" to a Chinese customer."""
    return LOCAL_BRAND_NAMES.get(language, {}).get(brand, brand)

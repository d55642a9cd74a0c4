"""Language detection and language-aware formatting.

Han script means Chinese; otherwise English and Latvian are told apart by lingua,
limited to those two. A message too short or too ambiguous to tell ("ok", "jā")
yields no language, so the conversation keeps the one it has.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import zoneinfo
from decimal import Decimal
from functools import lru_cache
from typing import Any

import regex
from babel import Locale
from babel.dates import format_date, format_skeleton, format_time, get_timezone_location
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


def valid_timezone(name: Any) -> str | None:
    """The IANA time zone name as given ("Europe/Riga"), or None if it is not one."""
    if not isinstance(name, str) or not 0 < len(name) <= MAX_TIMEZONE_CHARS:
        return None
    return name if name in _timezones() else None


MAX_TIMEZONE_CHARS = 64


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def format_moment(
    moment: dt.datetime,
    language: str,
    timezone: str | None = None,
    now: dt.datetime | None = None,
) -> str:
    """A moment in the customer's own time, with the zone named in their language.

    "2. decembris 17:10 (Rīgas laiks)", "12月2日 23:10（北京时间）", "December 2,
    10:10 AM (New York time)"; the year only when it is not the current one.
    Without a known zone the time is UTC, named as such.
    """
    language = resolve_language(language)
    locale = BABEL_LOCALES[language]
    zone_name = valid_timezone(timezone)
    zone: dt.tzinfo = zoneinfo.ZoneInfo(zone_name) if zone_name else dt.timezone.utc
    local = moment.astimezone(zone)
    current_year = (now or dt.datetime.now(dt.timezone.utc)).astimezone(zone).year
    if local.year == current_year:
        day = format_skeleton("MMMMd", local, locale=locale)
    else:
        day = format_date(local.date(), format="long", locale=locale)
    clock = format_time(local.time(), format="short", locale=locale)
    pattern = str(Locale.parse(locale).datetime_formats["medium"])
    label = zone_label(zone_name, local, language)
    around = "（{}）" if language == "zh" else " ({})"
    return pattern.replace("{1}", day).replace("{0}", clock) + around.format(label)


# Zones a country calls by another city's name: China's time is Beijing time.
CUSTOMARY_ZONE_NAMES = {
    zone: {"en": "Beijing time", "lv": "Pekinas laiks", "zh": "北京时间"}
    for zone in ("Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "PRC")
}
# Latvian city names whose genitive is not the nominative plus "s".
LATVIAN_GENITIVES = {"Helsinki": "Helsinku", "Kyiv": "Kijivas", "Atēnas": "Atēnu"}


def zone_label(zone_name: str | None, local: dt.datetime, language: str) -> str:
    """ "Rīgas laiks", "北京时间", "New York time"; an offset ("UTC+2") when no city fits."""
    if zone_name is None:
        return "UTC"
    if zone_name in CUSTOMARY_ZONE_NAMES:
        return CUSTOMARY_ZONE_NAMES[zone_name][language]
    city = None
    if "/" in zone_name and not zone_name.startswith("Etc/"):
        try:
            city = get_timezone_location(
                zoneinfo.ZoneInfo(zone_name), locale=BABEL_LOCALES[language], return_city=True
            )
        except (LookupError, ValueError):
            city = None
    if city and language == "en":
        return f"{city} time"
    if city and language == "zh" and HAN.search(city):
        return f"{city}时间"
    if city and language == "lv":
        genitive = _latvian_genitive(city)
        if genitive:
            return f"{genitive} laiks"
    return _utc_offset(local)


def _latvian_genitive(city: str) -> str | None:
    if city in LATVIAN_GENITIVES:
        return LATVIAN_GENITIVES[city]
    if city.endswith(("a", "e")):
        return city + "s"  # Rīga -> Rīgas, Parīze -> Parīzes
    if city.endswith(("o", "u", "i")):
        return city  # not declined: Toronto, Oslo, Sanpaulu
    return None


def _utc_offset(local: dt.datetime) -> str:
    offset = local.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def language_from_accept(header: str | None) -> str | None:
    """The supported language a browser prefers most (Accept-Language), else None."""
    best: tuple[float, str] | None = None
    for part in (header or "").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        code = normalize_language(tag)
        if code is None:
            continue
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        # Earlier tags win ties, as the header lists them in order of preference.
        if quality > 0 and (best is None or quality > best[0]):
            best = (quality, code)
    return best[1] if best else None


# Card brands as Chinese customers know them; other languages use the brand's own name.
LOCAL_BRAND_NAMES = {
    "zh": {"UnionPay": "银联", "American Express": "美国运通", "Mastercard": "万事达"}
}


def brand_name(brand: str, language: str) -> str:
    """ "UnionPay" is "银联" to a Chinese customer."""
    return LOCAL_BRAND_NAMES.get(language, {}).get(brand, brand)


def brand_in_sentence(brand: str, language: str) -> str:
    """The brand as a sentence's words around it need it.

    Chinese sentences write it between Chinese characters ("的{card_brand}卡"): a
    Chinese name stays as it is ("的银联卡"), a Latin one gets the half-width spaces
    that set Latin words off from Chinese ("的 Visa 卡"), as everywhere else.
    """
    name = brand_name(brand, language)
    if language == "zh" and not HAN.search(name):
        return f" {name} "
    return name

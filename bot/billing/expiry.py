"""Card expiry dates as customers type them, in English, Latvian and Chinese.

"12/27", "12/2027", "2027-12", "Dec 2027", "december 2027", "decembris 2027",
"2027. gada decembris", "2027年12月", "27年12月". Numeric and Chinese forms are read
by pattern; month names by an English and Latvian month table, with
python-dateutil as the fallback for other English spellings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import regex
from dateutil import parser as dateutil_parser

from bot.i18n import fold_diacritics

MAX_YEARS_AHEAD = 20

# Month stems after folding diacritics: English and Latvian in every case form
# ("decembris", "decembrī", "decembrim", "decembra" all start with "dec").
MONTH_STEMS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "mai": 5, "jun": 6, "jul": 7,
    "aug": 8, "sep": 9, "oct": 10, "okt": 10, "nov": 11, "dec": 12,
}  # fmt: skip

CHINESE = regex.compile(r"(?<!\d)(\d{4}|\d{2})\s*年\s*(\d{1,2})\s*月")
MONTH_FIRST = regex.compile(r"(?<![\d/.-])(\d{1,2})\s*[/.-]\s*(\d{4}|\d{2})(?![\d/.-])")
YEAR_FIRST = regex.compile(r"(?<![\d/.-])(\d{4})\s*[/.-]\s*(\d{1,2})(?![\d/.-])")
MONTH_WORD = regex.compile(r"\b(" + "|".join(MONTH_STEMS) + r")[a-z]*\b")
YEAR = regex.compile(r"(?<![\d/.-])'?(\d{4}|\d{2})(?![\d/-])")


class ExpiryError(ValueError):
    """An expiry that cannot be used; `reason` names why."""

    NOT_A_DATE = "not_a_date"
    IN_THE_PAST = "in_the_past"
    TOO_FAR_AHEAD = "too_far_ahead"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, order=True)
class Expiry:
    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.month:02d}/{self.year:04d}"


def _full_year(year: int) -> int:
    return 2000 + year if year < 100 else year


def _read(text: str) -> tuple[int, int] | None:
    """(year, month) as written, or None; the value is not checked yet."""
    if match := CHINESE.search(text):
        return _full_year(int(match[1])), int(match[2])
    folded = fold_diacritics(text.lower())
    if match := YEAR_FIRST.search(folded):
        return int(match[1]), int(match[2])
    if match := MONTH_FIRST.search(folded):
        return _full_year(int(match[2])), int(match[1])
    month = MONTH_WORD.search(folded)
    year = YEAR.search(folded)
    if month and year:
        return _full_year(int(year[1])), MONTH_STEMS[month[1]]
    return _dateutil_read(folded)


def _dateutil_read(text: str) -> tuple[int, int] | None:
    """English forms the patterns miss; a part dateutil did not find is not guessed."""
    try:
        first = dateutil_parser.parse(text, fuzzy=True, default=dt.datetime(1901, 1, 1))
        second = dateutil_parser.parse(text, fuzzy=True, default=dt.datetime(1902, 2, 2))
    except (ValueError, OverflowError):
        return None
    if (first.year, first.month) != (second.year, second.month):
        return None
    return first.year, first.month


def parse_expiry(text: str, today: dt.date) -> Expiry:
    """The expiry month a customer typed.

    Raises:
        ExpiryError: not a month and year; a month already over; or more than
            MAX_YEARS_AHEAD years ahead.
    """
    read = _read(text or "")
    if read is None or not 1 <= read[1] <= 12:
        raise ExpiryError(ExpiryError.NOT_A_DATE)
    expiry = Expiry(*read)
    if expiry < Expiry(today.year, today.month):
        raise ExpiryError(ExpiryError.IN_THE_PAST)
    if expiry > Expiry(today.year + MAX_YEARS_AHEAD, today.month):
        raise ExpiryError(ExpiryError.TOO_FAR_AHEAD)
    return expiry

"""Card data typed into the chat: found on a normalized copy, masked in the original.

A customer types a card number any way a keyboard allows: ideographic or no-break
spaces, en dashes, dots, slashes, tabs, zero-width characters, full-width digits.
Detection therefore works on a copy put in Unicode NFKC with format characters
(category Cf, e.g. U+200B) removed, where each character remembers its place in
the original; what is found there is masked in the original text.

- A card number: 13 to 19 digits in groups joined by separators (any space,
  dash, `.` `,` `/` `\\` `_`, middle dots), Luhn-valid and starting like a
  payment card (2-6). Phone numbers written with `+`, amounts with thousands
  separators and dates do not qualify; after a word like "card" / "karte" / "卡"
  any 13-19 digits do, valid or mistyped.
- A security code: 3 or 4 digits after "CVC", "CVV", "security code",
  "drošības kods", "安全码" and the like.
- A card number split over consecutive messages: `find_across` joins them.

Masking replaces each digit with "•" and keeps the customer's separators.
`install_log_masking` applies it to every log message of a process.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

CARD_NUMBER_PAYLOAD = "/card_number_in_chat"
MASK = "•"
MIN_CARD_DIGITS, MAX_CARD_DIGITS = 13, 19
# Characters a customer puts between digit groups (after NFKC), besides white space
# and dashes (Unicode category Pd), and how many may stand between two groups.
EXTRA_SEPARATORS = frozenset(".,/\\_·・‧'’−ー")
MAX_SEPARATOR_RUN = 3
# Every brand the gateway takes starts with 2 (Mastercard, Mir), 3 (Amex, JCB,
# Diners), 4 (Visa), 5 (Mastercard, Maestro) or 6 (Discover, UnionPay).
CARD_FIRST_DIGITS = frozenset("23456")
# Near one of these, any 13-19 digits are treated as a card number, Luhn or not.
CARD_WORDS = re.compile(
    r"(card|credit|debit|visa|master ?card|amex|kart(e|es|i|ē|i[nņ]a)|卡)", re.IGNORECASE
)
CARD_WORD_DISTANCE = 40
CVC_WORDS = re.compile(
    r"(cvc2?|cvv2?|cvn2?|csc|cid|security code|card verification (code|value|number)"
    r"|dro[sš]ības? kod[su]|dro[sš]ibas kod[su]|verifik[aā]cijas kod[su]|kontrolkod[su]"
    r"|安全码|安全碼|卡验证码|卡驗證碼|校验码|校驗碼)",
    re.IGNORECASE,
)
# What may stand between the keyword and the code ("is", ": ", "是", "ir").
CVC_GAP = r"[^\d]{0,15}?"
CVC_DIGITS = r"(?<!\d)(\d(?:[ .\-]?\d){2,3})(?!\d)"
CVC_AFTER_WORD = re.compile(CVC_GAP + CVC_DIGITS)


@dataclass(frozen=True)
class Finding:
    """Card data at [start, end) of the original text."""

    kind: str  # "card" or "cvc"
    start: int
    end: int


class _Normalized:
    """The NFKC copy without format characters; `origin[i]` is its i-th char's source."""

    def __init__(self, text: str) -> None:
        chars: list[str] = []
        origin: list[int] = []
        for index, char in enumerate(text):
            if unicodedata.category(char) == "Cf":
                continue
            for part in unicodedata.normalize("NFKC", char):
                chars.append(part)
                origin.append(index)
        self.text = "".join(chars)
        self.origin = origin
        self.length = len(text)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of normalized chars [start, end)."""
        return self.origin[start], self.origin[end - 1] + 1


def _is_digit(char: str) -> bool:
    return unicodedata.category(char) == "Nd"


def _is_separator(char: str) -> bool:
    return char.isspace() or char in EXTRA_SEPARATORS or unicodedata.category(char) == "Pd"


def _digit_value(char: str) -> str:
    return str(unicodedata.decimal(char))


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


@dataclass
class _Group:
    digits: str
    start: int  # in the normalized text
    end: int
    separator_before: str = ""


def _runs(text: str) -> list[list[_Group]]:
    """Digit groups joined by short separator runs, in order."""
    runs: list[list[_Group]] = []
    index, length = 0, len(text)
    while index < length:
        if not _is_digit(text[index]):
            index += 1
            continue
        run: list[_Group] = []
        separator = ""
        while index < length and _is_digit(text[index]):
            start = index
            while index < length and _is_digit(text[index]):
                index += 1
            run.append(
                _Group("".join(_digit_value(c) for c in text[start:index]), start, index, separator)
            )
            gap = index
            while gap < length and _is_separator(text[gap]) and gap - index < MAX_SEPARATOR_RUN:
                gap += 1
            if gap < length and gap > index and _is_digit(text[gap]):
                separator, index = text[index:gap], gap
            else:
                break
        runs.append(run)
    return runs


def _looks_like_amount(groups: list[_Group]) -> bool:
    """1,234,567.89 or 1 234 567,00: thousands after the first group, cents at the end."""
    if len(groups) < 2:
        return False
    body = groups[1:]
    if len(body[-1].digits) == 2 and body[-1].separator_before in ".,":
        body = body[:-1]
    return bool(body) and all(
        len(g.digits) == 3 and g.separator_before.strip() in (",", ".", "", "'") for g in body
    )


def _card_spans(normalized: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for run in _runs(normalized):
        first = run[0].start
        phone = first > 0 and normalized[:first].rstrip()[-1:] == "+"
        window = normalized[max(0, first - CARD_WORD_DISTANCE) : first]
        near_card_word = CARD_WORDS.search(window) is not None
        covered: set[int] = set()
        for i in range(len(run)):
            digits = ""
            for j in range(i, len(run)):
                digits += run[j].digits
                if len(digits) > MAX_CARD_DIGITS:
                    break
                if len(digits) < MIN_CARD_DIGITS:
                    continue
                groups = run[i : j + 1]
                plausible = (
                    luhn_valid(digits)
                    and digits[0] in CARD_FIRST_DIGITS
                    and not phone
                    and not _looks_like_amount(groups)
                )
                if plausible or near_card_word:
                    covered.update(range(i, j + 1))
        for index in sorted(covered):
            group = run[index]
            if spans and index - 1 in covered and spans[-1][1] == run[index - 1].end:
                spans[-1] = (spans[-1][0], group.end)
            else:
                spans.append((group.start, group.end))
    return spans


def _cvc_spans(normalized: str) -> list[tuple[int, int]]:
    spans = []
    for word in CVC_WORDS.finditer(normalized):
        code = CVC_AFTER_WORD.match(normalized, word.end())
        if code:
            spans.append((code.start(1), code.end(1)))
    return spans


def find_card_data(text: str | None) -> list[Finding]:
    """Card numbers and security codes in `text`, by position in `text` itself."""
    if not text or sum(1 for c in text if c.isdigit()) < 3:
        return []
    normalized = _Normalized(text)
    findings = [
        Finding("card", *normalized.span(s, e)) for s, e in _card_spans(normalized.text)
    ] + [Finding("cvc", *normalized.span(s, e)) for s, e in _cvc_spans(normalized.text)]
    return sorted(findings, key=lambda f: f.start)


def contains_card_data(text: str | None) -> bool:
    return bool(find_card_data(text))


# The name the rest of the code has used for it.
contains_card_number = contains_card_data


def _mask_spans(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    hidden: set[int] = set()
    for start, end in spans:
        hidden.update(range(start, end))
    out = []
    for index, char in enumerate(text):
        if index not in hidden:
            out.append(char)
        elif char.isdigit() or _is_digit(unicodedata.normalize("NFKC", char)[:1] or " "):
            out.append(MASK)
        elif unicodedata.category(char) != "Cf":
            out.append(char)
    return "".join(out)


def mask_card_data(text: str) -> str:
    """The text with every digit of card data replaced by "•"; the rest as typed."""
    return _mask_spans(text, [(f.start, f.end) for f in find_card_data(text)])


# Logs, transcripts and the inbox call it by this name.
mask_card_numbers = mask_card_data


def card_data_payload(masked: str) -> str:
    """The `card_number_in_chat` payload, with the language the customer wrote in.

    The payload replaces the text, so the language detector never sees it; the
    language entity keeps the reply in the customer's language ("mana karte ir
    ••••" gets the Latvian answer). A message with too few words keeps the
    conversation's language.
    """
    import json

    from bot.i18n import detect_language

    language = detect_language(masked.replace(MASK, " "))
    if language is None:
        return CARD_NUMBER_PAYLOAD
    return CARD_NUMBER_PAYLOAD + json.dumps({"language": language})


def is_card_data_payload(text: str | None) -> bool:
    return bool(text) and (text or "").split("{", 1)[0] == CARD_NUMBER_PAYLOAD


@dataclass(frozen=True)
class Redacted:
    """What Rasa gets (`text`) and what the customer and agents may see (`masked`)."""

    text: str
    masked: str | None = None


def redact_message(text: str) -> Redacted:
    """A message holding card data becomes the `card_number_in_chat` payload.

    The rest of the message is not given to Rasa on purpose: its only safe use
    would be to understand it, and the customer is asked to use the card form.
    The masked text is what the widget shows and the agent reads.
    """
    findings = find_card_data(text)
    if not findings:
        return Redacted(text)
    masked = _mask_spans(text, [(f.start, f.end) for f in findings])
    return Redacted(card_data_payload(masked), masked)


def find_across(previous: list[str], current: str) -> dict[int, str]:
    """Card data split over consecutive messages, ending in `current`.

    `previous` are the customer's earlier messages, oldest first. Returns, for
    every message that holds part of card data found only by reading them
    together (index into previous + [current]), its masked text; empty when
    there is none.
    """
    texts = [*previous, current]
    starts, joined = [], ""
    for text in texts:
        starts.append(len(joined))
        joined += text + "\n"
    current_start = starts[-1]
    alone = {(f.start + current_start, f.end + current_start) for f in find_card_data(current)}
    spans = [
        (f.start, f.end)
        for f in find_card_data(joined)
        if f.end > current_start and (f.start, f.end) not in alone
    ]
    masked: dict[int, str] = {}
    for index, (text, start) in enumerate(zip(texts, starts, strict=True)):
        local = [
            (max(s, start) - start, min(e, start + len(text)) - start)
            for s, e in spans
            if s < start + len(text) and e > start
        ]
        if local:
            masked[index] = _mask_spans(text, local)
    return masked


def _replace_in(value: Any, original: str, masked: str) -> Any:
    """`value` with `original` masked in every string; dicts and lists walked."""
    if isinstance(value, str):
        return value.replace(original, masked) if original in value else value
    if isinstance(value, dict):
        return {k: _replace_in(v, original, masked) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_in(v, original, masked) for v in value]
    return value


def mask_event_data(data: dict[str, Any], original: str, masked: str) -> dict[str, Any]:
    """A stored conversation event (a dict) with the customer's `original` text masked.

    Entity values cut from that text ("4242") have their digits masked too.
    """
    data = _replace_in(data, original, masked)
    parse = data.get("parse_data")
    if isinstance(parse, dict):
        for entity in parse.get("entities") or []:
            value = entity.get("value") if isinstance(entity, dict) else None
            if isinstance(value, str) and value and value in original:
                entity["value"] = "".join(MASK if c.isdigit() else c for c in value)
    return data


def install_log_masking() -> None:
    """Masks card data in every log message of this process (the record factory).

    Nothing is meant to log a customer's text, but Rasa, Sanic and libraries log
    at their own discretion (Rasa's debug level prints every message). Idempotent.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "masks_card_data", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logging's own problem
            return record
        masked = mask_card_data(message)
        if masked != message:
            record.msg, record.args = masked, None
        return record

    factory.masks_card_data = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)

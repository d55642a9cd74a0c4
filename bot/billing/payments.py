"""The payment gateway adapter and its in-process simulation.

The simulation behaves like a card processor's sandbox: 4242 4242 4242 4242
approves; 4000 0000 0000 0002 declines (card_declined); 4000 0000 0000 9995
declines (insufficient_funds); 4000 0000 0000 0069 declines (expired_card); any
other Luhn-valid number approves. 4000 0000 0000 0127 is refused when it is
tokenized (the bank says the security code is wrong), as processors' sandboxes
do. The outcome travels inside the token, so any process can charge a card that
another one tokenized.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from dataclasses import dataclass
from typing import Protocol

import regex

from bot.errors import BotError

DECLINE_REASONS = ("card_declined", "insufficient_funds", "expired_card")
TEST_CARD_OUTCOMES = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired_card",
}
# Refused by the processor when the card form sends them: (field, reason).
TEST_CARD_REJECTIONS = {"4000000000000127": ("cvc", "incorrect")}
SIMULATED_PREFIX = "tok_sim_"
BRAND_PATTERNS = (
    ("American Express", regex.compile(r"^3[47]\d{13}$")),
    ("Visa", regex.compile(r"^4\d{12}(\d{3}){0,2}$")),
    ("Mastercard", regex.compile(r"^(5[1-5]\d{14}|2(2[2-9]|[3-6]\d|7[01])\d{12}|2720\d{12})$")),
    ("UnionPay", regex.compile(r"^62\d{14,17}$")),
    ("Discover", regex.compile(r"^(6011|65\d{2})\d{12,15}$")),
)


class IdempotencyKeyReused(BotError):
    """A key came back with a different charge: a bug, never a reason to charge."""


class CardRejected(BotError):
    """The card details cannot be tokenized; `field` and `reason` say which and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class TokenizedCard:
    token: str
    brand: str
    last4: str


@dataclass(frozen=True)
class ChargeResult:
    approved: bool
    decline_reason: str | None = None


class Gateway(Protocol):
    """What the bot needs from a card processor."""

    def tokenize(self, number: str, exp_month: int, exp_year: int, cvc: str) -> TokenizedCard: ...

    def charge(
        self,
        token: str,
        exp_month: int,
        exp_year: int,
        amount_minor: int,
        currency: str,
        idempotency_key: str,
    ) -> ChargeResult: ...


def digits_only(number: str) -> str:
    return regex.sub(r"[\s-]", "", number or "")


def luhn_valid(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def card_brand(number: str) -> str | None:
    for brand, pattern in BRAND_PATTERNS:
        if pattern.match(number):
            return brand
    return None


class SimulatedGateway:
    """An in-process sandbox processor; a repeated idempotency key repeats its answer."""

    def __init__(self, today: dt.date | None = None) -> None:
        self._today = today
        self._answers: dict[str, tuple[tuple[str, int, str], ChargeResult]] = {}
        self._lock = threading.Lock()
        self.charges = 0

    def tokenize(self, number: str, exp_month: int, exp_year: int, cvc: str) -> TokenizedCard:
        number = digits_only(number)
        if not luhn_valid(number):
            raise CardRejected("number", "invalid")
        brand = card_brand(number)
        if brand is None:
            raise CardRejected("number", "unsupported_brand")
        if number in TEST_CARD_REJECTIONS:
            raise CardRejected(*TEST_CARD_REJECTIONS[number])
        outcome = TEST_CARD_OUTCOMES.get(number, "approve")
        token = f"{SIMULATED_PREFIX}{outcome}_{secrets.token_hex(8)}"
        return TokenizedCard(token=token, brand=brand, last4=number[-4:])

    def charge(
        self,
        token: str,
        exp_month: int,
        exp_year: int,
        amount_minor: int,
        currency: str,
        idempotency_key: str,
    ) -> ChargeResult:
        request = (token, amount_minor, currency)
        with self._lock:
            if idempotency_key in self._answers:
                # Like a real processor: the same key answers the same way, and only
                # for the same charge.
                earlier, answer = self._answers[idempotency_key]
                if earlier != request:
                    raise IdempotencyKeyReused(idempotency_key)
                return answer
            today = self._today or dt.date.today()
            if (exp_year, exp_month) < (today.year, today.month):
                answer = ChargeResult(approved=False, decline_reason="expired_card")
            else:
                answer = self._outcome(token)
            self._answers[idempotency_key] = (request, answer)
            self.charges += 1
            return answer

    @staticmethod
    def _outcome(token: str) -> ChargeResult:
        body = token[len(SIMULATED_PREFIX) :] if token.startswith(SIMULATED_PREFIX) else ""
        for reason in DECLINE_REASONS:
            if body.startswith(reason + "_"):
                return ChargeResult(approved=False, decline_reason=reason)
        return ChargeResult(approved=True)


_gateway: Gateway | None = None


def get_gateway() -> Gateway:
    """The process's gateway: the simulation, the only adapter so far."""
    global _gateway
    if _gateway is None:
        _gateway = SimulatedGateway()
    return _gateway

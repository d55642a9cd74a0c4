"""Every customer-facing text against docs/glossary.md and each language's typography.

The texts are read from their files (tests/texts.py) and also rendered with the demo
customers' data (amounts, cards of every brand, times in their time zones), so a
response added later, or a placeholder that renders badly ("的 银联 卡"), is caught.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

import pytest
import yaml
from rasa.core.nlg.interpolator import interpolate_text

from actions.billing import card_kwargs
from bot.billing.accounts import Card
from bot.i18n import LANGUAGES, format_day, format_moment, format_money
from bot.ops.demo import DEMO_CUSTOMERS, DemoCard, DemoCustomer
from tests.texts import (
    CARD_FORM,
    Concept,
    all_units,
    card_form_units,
    domain_responses,
    domain_units,
    glossary,
    has_term,
    variation_language,
    widget_texts,
)

ZONES = {"en": "America/New_York", "lv": "Europe/Riga", "zh": "Asia/Shanghai"}
PAID_AT = dt.datetime(2026, 12, 2, 15, 10, tzinfo=dt.timezone.utc)
NOW = dt.datetime(2026, 12, 2, 17, 0, tzinfo=dt.timezone.utc)
FORM_URL = "http://127.0.0.1:5005/webhooks/cards/form/Xy3-link"


class Filled(dict):
    """Values for a response's placeholders; one nobody knows yet is filled with a digit."""

    def __missing__(self, key: str) -> str:
        return "1"


def as_card(card: DemoCard) -> Card:
    return Card(1, card.brand, card.last4, card.exp_month, card.exp_year, card.is_owner)


def demo_values(customer: DemoCustomer, card: DemoCard, language: str, zone: str | None) -> Filled:
    """What the actions would fill in for this customer and card, in this language."""
    assert customer.past_due is not None
    amount, currency, due_date, _ = customer.past_due
    moment = {
        name: format_moment(PAID_AT + dt.timedelta(hours=hours), language, zone, NOW)
        for name, hours in (("paid_at", 0), ("notice_until", 48), ("contact_after", 48))
    }
    return Filled(
        subscription=customer.product,
        amount=format_money(amount, currency, language),
        due_date=format_day(due_date, language),
        new_expiry="12/2027",
        url=FORM_URL,
        position="2",
        **card_kwargs(as_card(card), language),
        **moment,
    )


def render(template: str, values: Filled) -> str:
    return interpolate_text(template, values)


@lru_cache(maxsize=1)
def rendered_texts() -> tuple[tuple[str, str, str], ...]:
    """(where, language, text) for every template with placeholders, filled with demo data."""
    found: dict[tuple[str, str], str] = {}
    customers = [c for c in DEMO_CUSTOMERS if c.past_due is not None]
    cards = [card for c in DEMO_CUSTOMERS for card in c.cards]
    form = yaml.safe_load(CARD_FORM.read_text(encoding="utf-8"))
    for name, variations in domain_responses().items():
        for variation in variations:
            language = str(variation_language(variation))
            templates = [variation.get("text") or ""]
            templates += [b["title"] for b in variation.get("buttons") or []]
            for template in (t for t in templates if "{" in t):
                for customer in customers:
                    for card in cards:
                        for zone in (ZONES.get(language), None):
                            values = demo_values(customer, card, language, zone)
                            text = render(template, values)
                            found[(text, language)] = f"domain.yml {name} ({customer.id}, {card})"
    for language in LANGUAGES:
        for card in cards:
            values = Filled(**card_kwargs(as_card(card), language))
            text = form[language]["saved_text"].format(brand=values["card_brand"], last4=card.last4)
            found[(text, language)] = f"card_form.yml saved_text ({card})"
    return tuple((where, language, text) for (text, language), where in found.items())


def every_text() -> list[tuple[str, str, str]]:
    """The templates as written and as rendered, each with where it comes from."""
    written = [
        (unit.where, language, text)
        for unit in all_units()
        for language, text in unit.texts.items()
    ]
    return written + list(rendered_texts())


def texts_in(language: str) -> list[tuple[str, str]]:
    return [(where, text) for where, lang, text in every_text() if lang == language]


def test_all_sources_are_read() -> None:
    widget = widget_texts()
    assert set(widget) == set(LANGUAGES) and len(widget["en"]) >= 30
    assert all(set(widget[lang]) == set(widget["en"]) for lang in LANGUAGES)
    assert len(domain_units()) >= 60 and len(card_form_units()) >= 19
    assert len(rendered_texts()) > 300
    concepts = glossary()
    assert len(concepts) >= 20
    assert sum(bool(c.terms["en"]) for c in concepts) >= 18
    assert any("万事达" in c.terms["zh"] for c in concepts)


def test_every_text_exists_in_all_three_languages() -> None:
    missing = [
        f"{unit.where}: {sorted(set(LANGUAGES) - {k for k, v in unit.texts.items() if v})}"
        for unit in all_units()
        if {k for k, v in unit.texts.items() if v} != set(LANGUAGES)
    ]
    assert missing == []


def _concept_id(concept: Concept) -> str:
    return concept.name


@pytest.mark.parametrize(
    "concept", [c for c in glossary() if c.terms["en"]], ids=_concept_id
)
def test_a_concept_has_its_one_term_in_every_language(concept: Concept) -> None:
    """Where the English text uses the term, the Latvian and Chinese texts use theirs."""
    wrong = []
    for unit in all_units():
        if not has_term(unit.texts.get("en", ""), concept.terms["en"]):
            continue
        for language in ("lv", "zh"):
            terms = concept.terms[language]
            if terms and not has_term(unit.texts.get(language, ""), terms):
                wrong.append(f"{unit.where} [{language}] lacks {terms}: {unit.texts[language]}")
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("concept", [c for c in glossary() if c.never], ids=_concept_id)
def test_no_text_uses_a_term_the_glossary_rules_out(concept: Concept) -> None:
    wrong = [
        f"{where} [{language}] uses one of {concept.never[language]}: {text}"
        for where, language, text in every_text()
        if language in concept.never and has_term(text, concept.never[language])
    ]
    assert wrong == [], "\n".join(wrong)


HAN = "\u3400-\u4dbf\u4e00-\u9fff"
FULL_WIDTH = "，。！？：；、（）“”‘’《》【】…"
CHINESE_RULES = {
    "ASCII punctuation next to Chinese": re.compile(
        rf"[{HAN}][,.!?:;()]|[,.!?:;()][{HAN}]"
    ),
    "ends with ASCII punctuation": re.compile(r"[.,!?:;]\s*$"),
    "a space at the start or the end": re.compile(r"^\s|\s$"),
    "a space between Chinese characters": re.compile(rf"[{HAN}{FULL_WIDTH}] +[{HAN}{FULL_WIDTH}]"),
    "a space next to full-width punctuation": re.compile(rf"[{FULL_WIDTH}] | [{FULL_WIDTH}]"),
    "a Latin word against Chinese with no space": re.compile(rf"[A-Za-z][{HAN}]|[{HAN}][A-Za-z]"),
}


@pytest.mark.parametrize("rule", list(CHINESE_RULES))
def test_chinese_punctuation_is_full_width_and_spacing_native(rule: str) -> None:
    pattern = CHINESE_RULES[rule]
    wrong = [f"{where}: {text}" for where, text in texts_in("zh") if pattern.search(text)]
    assert wrong == [], "\n".join(wrong)


LATVIAN_RULES = {
    "English quotation marks": re.compile(r"[\"“]"),
    "an em dash": re.compile(r"—"),
    "an en dash without a space on each side": re.compile(r"\S–|–\S"),
    "a spaced hyphen used as a dash": re.compile(r" - "),
    # "esat pierakstījies", "neesat kartes īpašnieks", "esat mēģinājuši": the
    # customer's sex is unknown, so nothing after "esat" agrees with it.
    "a gendered form for the customer": re.compile(
        r"\b(?:esat|neesat|būsiet|bijāt)\s+(?:\w+\s+)?\w+"
        r"(?:jis|jies|jusi|jusies|juši|jušies|jušas|jušās|nieks|niece|nieki|nieces)\b",
        re.I,
    ),
}


@pytest.mark.parametrize("rule", list(LATVIAN_RULES))
def test_latvian_typography_and_no_gender_for_the_customer(rule: str) -> None:
    pattern = LATVIAN_RULES[rule]
    wrong = [f"{where}: {text}" for where, text in texts_in("lv") if pattern.search(text)]
    assert wrong == [], "\n".join(wrong)


def test_latvian_quotation_marks_come_in_pairs() -> None:
    wrong = [
        f"{where}: {text}"
        for where, text in texts_in("lv")
        if re.sub(r"„[^„”]*”", "", text).count("„") or re.sub(r"„[^„”]*”", "", text).count("”")
    ]
    assert wrong == []


@pytest.mark.parametrize(
    "text, language, broken",
    [
        ("谢谢，您尾号为 0005 的新 银联 卡已保存。", "zh", "a space between Chinese characters"),
        ("您尾号为 1111 的Visa卡扣款被拒。", "zh", "a Latin word against Chinese with no space"),
        ("付款未成功,没有扣款.", "zh", "ASCII punctuation next to Chinese"),
        ("逾期提醒（北京时间） 之后", "zh", "a space next to full-width punctuation"),
        ("Ja esat kartes īpašnieks, varat", "lv", "a gendered form for the customer"),
        ("esat pierakstījies kā cita persona", "lv", "a gendered form for the customer"),
        ("tērzēšanā — mēs", "lv", "an em dash"),
        ("pie “Abonementam ir nokavēts maksājums”", "lv", "English quotation marks"),
    ],
)
def test_the_rules_catch_the_defects_they_were_written_for(text, language, broken) -> None:
    rules = CHINESE_RULES if language == "zh" else LATVIAN_RULES
    assert rules[broken].search(text)

"""One-time card form links and the form's field checks (redaction: test_redaction.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.billing.card_links import (
    MAX_FAILED_POSTS,
    LinkUnusable,
    issue_link,
    open_link,
    record_rejected_post,
    use_link,
)
from bot.db import CardFormLink, session_scope
from bot.web.card_channel import validate_card_fields

TODAY = dt.date(2026, 11, 22)


def _issue(engine: Engine) -> str:
    with session_scope(engine) as session:
        return issue_link(session, "cust-en-owner", "sender-1", "en")


def test_a_link_opens_its_conversation_and_works_once(seeded_engine: Engine) -> None:
    link = _issue(seeded_engine)
    with session_scope(seeded_engine) as session:
        form = open_link(session, link)
        assert (form.customer_id, form.sender_id, form.language) == (
            "cust-en-owner",
            "sender-1",
            "en",
        )
        use_link(session, link)
    with pytest.raises(LinkUnusable), session_scope(seeded_engine) as session:
        open_link(session, link)


def test_only_a_hash_of_the_link_is_stored(seeded_engine: Engine) -> None:
    link = _issue(seeded_engine)
    with session_scope(seeded_engine) as session:
        stored = session.scalars(select(CardFormLink.token_hash)).all()
    assert link not in stored and len(stored[0]) == 64


def test_an_expired_link_is_refused(seeded_engine: Engine) -> None:
    link = _issue(seeded_engine)
    with session_scope(seeded_engine) as session:
        row = session.scalars(select(CardFormLink)).one()
        row.expires_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    with pytest.raises(LinkUnusable), session_scope(seeded_engine) as session:
        open_link(session, link)


def test_rejected_submissions_burn_the_link(seeded_engine: Engine) -> None:
    link = _issue(seeded_engine)
    for _ in range(MAX_FAILED_POSTS):
        with session_scope(seeded_engine) as session:
            record_rejected_post(session, link)
    with pytest.raises(LinkUnusable), session_scope(seeded_engine) as session:
        open_link(session, link)


def test_an_unknown_link_is_refused(seeded_engine: Engine) -> None:
    with pytest.raises(LinkUnusable), session_scope(seeded_engine) as session:
        open_link(session, "made-up")


GOOD = {"number": "4242 4242 4242 4242", "expiry": "12/27", "name": "Līga Kalniņa", "cvc": "123"}


@pytest.mark.parametrize(
    "change, errors",
    [
        ({}, {}),
        ({"number": "4242 4242 4242 4241"}, {"number": "number_invalid"}),
        ({"number": "1234"}, {"number": "number_invalid"}),
        ({"number": "9999 9999 9999 9995"}, {"number": "number_unsupported_brand"}),
        ({"expiry": "10/26"}, {"expiry": "expiry_in_the_past"}),
        ({"expiry": "2060-01"}, {"expiry": "expiry_too_far_ahead"}),
        ({"expiry": "someday"}, {"expiry": "expiry_not_a_date"}),
        ({"name": "   "}, {"name": "name_missing"}),
        ({"name": "x" * 101}, {"name": "name_missing"}),
        ({"cvc": "12"}, {"cvc": "cvc_invalid"}),
        ({"cvc": "1234"}, {"cvc": "cvc_invalid"}),
        ({"number": "3782 822463 10005", "cvc": "1234"}, {}),
        ({"number": "3782 822463 10005", "cvc": "123"}, {"cvc": "cvc_invalid"}),
    ],
)
def test_card_fields_are_checked_one_by_one(change, errors) -> None:
    assert validate_card_fields({**GOOD, **change}, TODAY) == errors

"""The origin allow-list: parsing BOT_WIDGET_ORIGINS, checking a page's origin, return links.

The same checks against the real servers (Socket.IO, CORS, the card form) are in
tests/e2e/test_widget_origins.py.
"""

from __future__ import annotations

import pytest

from bot.config import load_settings
from bot.errors import ConfigError
from bot.security.origins import origin_allowed, origin_of, parse_origins, safe_return_url

ALLOWED = ("http://127.0.0.1:5005", "https://shop.example.com", "https://app.example.com:8443")


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Shop.Example.com/help?x=1", "https://shop.example.com"),
        ("https://shop.example.com:443", "https://shop.example.com"),
        ("http://shop.example.com:80/", "http://shop.example.com"),
        ("http://127.0.0.1:5005", "http://127.0.0.1:5005"),
        ("http://[::1]:8000/x", "http://[::1]:8000"),
        ("ftp://shop.example.com", None),
        ("javascript:alert(1)", None),
        ("null", None),
        ("https://user:pw@shop.example.com", None),
        ("https://shop.example.com:99999", None),
    ],
)
def test_origin_of(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin


def test_the_allow_list_is_read_normalized_and_deduplicated() -> None:
    text = " https://Shop.example.com , https://shop.example.com:443/,http://localhost:8000,,"
    assert parse_origins(text) == ("https://shop.example.com", "http://localhost:8000")
    assert parse_origins("") == ()


@pytest.mark.parametrize(
    "text",
    [
        "*",
        "https://*.example.com",
        "https://shop.example.com/chat",
        "shop.example.com",
        "https://shop.example.com?x=1",
        "file:///tmp/x.html",
    ],
)
def test_an_entry_that_is_not_an_origin_stops_the_start(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_origins(text)
    with pytest.raises(ConfigError):
        load_settings({"BOT_WIDGET_ORIGINS": text})


def test_by_default_only_the_bots_own_origin_is_allowed() -> None:
    settings = load_settings({"BOT_PUBLIC_URL": "https://chat.example.com/"})
    assert settings.allowed_origins == {"https://chat.example.com"}
    listed = load_settings(
        {
            "BOT_PUBLIC_URL": "https://chat.example.com",
            "BOT_WIDGET_ORIGINS": "https://shop.example.com",
        }
    )
    assert listed.allowed_origins == {"https://chat.example.com", "https://shop.example.com"}


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        ("https://shop.example.com", "bot.example.com", True),
        ("https://app.example.com:8443", "bot.example.com", True),
        ("http://127.0.0.1:5005", "127.0.0.1:5005", True),
        # The server's own pages under the name the browser used (the host guard checked it).
        ("http://localhost:5005", "localhost:5005", True),
        ("https://evil.example", "bot.example.com", False),
        ("https://shop.example.com.evil.example", "bot.example.com", False),
        ("http://shop.example.com", "bot.example.com", False),  # http is another origin
        ("https://app.example.com", "bot.example.com", False),  # another port
        ("http://localhost:5005", "127.0.0.1:5005", False),
        ("null", "127.0.0.1:5005", False),
        ("", "127.0.0.1:5005", False),
        (None, "127.0.0.1:5005", False),
        ("https://shop.example.com/", "bot.example.com", True),
        ("https://shop.example.com/path", "bot.example.com", False),
        ("http://evil.example", None, False),
    ],
)
def test_a_pages_origin(origin: str | None, host: str | None, allowed: bool) -> None:
    assert origin_allowed(origin, host, ALLOWED) is allowed


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://shop.example.com/account/billing?tab=2#chat", True),
        ("http://127.0.0.1:5005/chat/", True),
        ("https://evil.example/phish", False),
        ("//evil.example/x", False),
        ("/relative/path", False),
        ("javascript:alert(1)", False),
        ("https://shop.example.com@evil.example/", False),
        ("https://shop.example.com\\@evil.example/", False),
        ("", False),
        (None, False),
        ("https://shop.example.com/" + "a" * 3000, False),
    ],
)
def test_the_card_forms_return_link_goes_to_allowed_pages_only(url: str | None, kept: bool) -> None:
    assert safe_return_url(url, ALLOWED) == (url if kept else None)

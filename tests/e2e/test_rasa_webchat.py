"""rasa-webchat, the Rasa ecosystem's widget, from npm (pinned), on a second origin.

`make webchat` fetches its prebuilt bundle (tests/webchat/rasa-webchat.lock.json);
the embedding site of tests/e2e/embedding_site.py serves it on an allowed origin,
with the customer's RS256 token in `customData`. Rasa's Socket.IO protocol
(session_request, session_confirm, user_uttered, bot_uttered) is all it speaks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from bot.config import PROJECT_ROOT
from tests.conftest import service_missing
from tests.e2e.conftest import BotServers
from tests.e2e.embedding_site import EmbeddingSiteServer
from tests.e2e.test_browser import _wait, browser  # noqa: F401 - the browser fixture
from tests.e2e.test_settle import _reseed

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
BUNDLE = PROJECT_ROOT / "tests" / "webchat" / "node_modules" / "rasa-webchat" / "lib" / "index.js"


@pytest.fixture
def chromium(browser: Callable[..., WebDriver]) -> WebDriver:  # noqa: F811 - the fixture
    """Headless Chromium that resolves loopback only (the bundle asks for a web font)."""
    if not BUNDLE.exists():
        service_missing("rasa-webchat's bundle is missing (make webchat)")
    return browser("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost")


def _responses(driver: WebDriver) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".rw-response")]


def test_rasa_webchat_on_an_allowed_site_converses_with_the_bot(
    servers: BotServers, chromium: WebDriver
) -> None:
    assert servers.site is not None
    _reseed(servers)
    site = EmbeddingSiteServer(servers.site.port, servers.url, servers.site.token)
    site.webchat_js = Path(BUNDLE)
    site.signed_in = "cust-en-owner"
    site.start()
    try:
        chromium.get(site.webchat_url())
        box = _wait(
            chromium, lambda d: d.find_elements(By.CSS_SELECTOR, "textarea.rw-new-message"), "box"
        )[0]
        box.send_keys("My card payment was declined" + Keys.ENTER)
        # The account's balance: the site's token reached the bot through customData.
        _wait(chromium, lambda d: any("$6.00" in t for t in _responses(d)), "the balance")
        button = _wait(
            chromium,
            lambda d: next(
                (b for b in d.find_elements(By.CSS_SELECTOR, ".rw-reply") if "expiry" in b.text),
                None,
            ),
            "the quick reply to change the expiry date",
        )
        button.click()
        _wait(
            chromium,
            lambda d: any("new expiry date" in t for t in _responses(d)),
            "the bot asking for the new expiry date",
        )
    finally:
        site.stop()

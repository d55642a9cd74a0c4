"""The one-script-tag widget on a company's site, in headless Chromium.

The company's pages are served on a second loopback port (tests/e2e/embedding_site.py)
that BOT_WIDGET_ORIGINS allows; its backend signs the customer's token with its own
RSA key, and the page hands it to the widget through BillingBot.setTokenProvider.
The same pages under http://localhost:<port> are another origin, which is not allowed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.shadowroot import ShadowRoot
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select

from bot.web.widget import chat_modules
from tests.e2e.conftest import BotServers
from tests.e2e.embedding_site import EmbeddingSiteServer
from tests.e2e.test_browser import _wait, browser  # noqa: F401 - the browser fixture
from tests.e2e.test_settle import _db, _reseed

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
BRAND_BLUE = "rgb(31, 94, 184)"


@pytest.fixture
def site(servers: BotServers) -> Iterator[EmbeddingSiteServer]:
    assert servers.site is not None
    _reseed(servers)
    server = EmbeddingSiteServer(servers.site.port, servers.url, servers.site.token)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _widget(driver: WebDriver) -> ShadowRoot:
    host = _wait(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, "billing-bot-chat"),
        "the widget's element on the page",
    )[0]
    return host.shadow_root


def _in(driver: WebDriver, selector: str) -> list[WebElement]:
    return _widget(driver).find_elements(By.CSS_SELECTOR, selector)


def _texts(driver: WebDriver, selector: str) -> list[str]:
    return [e.text for e in _in(driver, selector)]


def _launcher(driver: WebDriver) -> WebElement:
    return _wait(
        driver,
        lambda d: next((b for b in _in(d, "button.launcher") if b.is_displayed()), None),
        "the launcher button",
    )


def _enabled(driver: WebDriver, selector: str) -> WebElement | None:
    found = _in(driver, selector)
    return found[0] if found and found[0].is_enabled() and found[0].is_displayed() else None


def _type(driver: WebDriver, keys: str) -> None:
    """Keys to whatever has the focus (chromedriver cannot aim them into a shadow root)."""
    driver.switch_to.active_element.send_keys(keys)


def _focused(driver: WebDriver, element: WebElement) -> bool:
    return bool(
        driver.execute_script(
            "return arguments[0].getRootNode().activeElement === arguments[0];", element
        )
    )


def _say(driver: WebDriver, text: str) -> None:
    box = _wait(driver, lambda d: _enabled(d, "#message"), "the message box to be enabled")
    box.click()
    _type(driver, text + Keys.ENTER)


def _button(driver: WebDriver, words: str) -> WebElement:
    return _wait(
        driver,
        lambda d: next(
            (b for b in _in(d, "button.quick-reply") if words in b.text and b.is_enabled()),
            None,
        ),
        f"a button saying {words!r}",
    )


def _style(driver: WebDriver, element: WebElement, prop: str) -> str:
    return driver.execute_script(
        "return getComputedStyle(arguments[0]).getPropertyValue(arguments[1]);", element, prop
    )


def _files_from_the_bot(driver: WebDriver, bot_url: str) -> set[str]:
    """The bot's /chat/ files that the page has fetched so far (Resource Timing)."""
    names = driver.execute_script(
        "return performance.getEntriesByType('resource').map((e) => e.name);"
    )
    prefix = f"{bot_url}/chat/"
    return {n.removeprefix(bot_url) for n in names if n.startswith(prefix)}


def _stored(driver: WebDriver) -> str:
    return driver.execute_script(
        "let all = ''; for (const s of [localStorage, sessionStorage]) {"
        " for (let i = 0; i < s.length; i++) {"
        " all += s.key(i) + '=' + s.getItem(s.key(i)) + ';'; } }"
        " return all;"
    )


def test_a_customer_settles_on_the_company_site_and_the_chat_follows_across_pages(
    servers: BotServers,
    site: EmbeddingSiteServer,
    browser,  # noqa: F811
) -> None:
    site.signed_in = "cust-en-owner"
    site.token_ttl = 20  # renewed every ten seconds or so, while the customer chats
    customer = browser()
    customer.get(site.url("billing"))
    assert not _in(customer, ".bb-panel")  # the chat itself is loaded on demand
    launcher = _launcher(customer)
    # What scripts/widget_size.py counts: the tag and its stylesheet, then on first
    # open the modules of chat.js's import graph, each once.
    on_load = {"/chat/widget.js", "/chat/static/widget.css"}
    assert _files_from_the_bot(customer, servers.url) == on_load
    assert launcher.get_attribute("aria-expanded") == "false"
    launcher.click()
    assert launcher.get_attribute("aria-expanded") == "true"
    _wait(
        customer,
        lambda d: _in(d, '#connection[data-state="connected"]'),
        "the widget to connect from the allowed site",
    )
    modules = {f"/chat/static/{p.name}" for p in chat_modules()}
    assert _files_from_the_bot(customer, servers.url) == on_load | modules

    _say(customer, "My card payment was declined")
    _button(customer, "expiry").click()
    _wait(customer, lambda d: any("12/2027" in t for t in _texts(d, ".msg.bot")), "the question")
    _say(customer, "12/29")
    _button(customer, "Yes").click()
    _wait(
        customer,
        lambda d: any("$6.00" in t and "went through" in t for t in _texts(d, ".msg.bot")),
        "the payment confirmation",
    )
    # Its second message (when the notice should go) may come a moment later.
    _wait(customer, lambda d: any("48 hours" in t for t in _texts(d, ".msg.bot")), "the note")
    assert _db(
        servers,
        "SELECT b.status FROM balances b JOIN subscriptions s ON s.id = b.subscription_id "
        "WHERE s.customer_id = 'cust-en-owner'",
    ) == [("settled",)]
    shown = _texts(customer, ".msg")

    # Another page of the site: the chat is still open, with the whole conversation.
    customer.get(site.url("orders"))
    _wait(customer, lambda d: _texts(d, ".msg") == shown, "the conversation on the next page")
    assert _launcher(customer).get_attribute("aria-expanded") == "true"
    customer.refresh()
    _wait(customer, lambda d: _texts(d, ".msg") == shown, "the conversation after a reload")
    _wait(customer, lambda d: _in(d, '#connection[data-state="connected"]'), "reconnected")
    before = len(_texts(customer, ".msg.bot"))
    _say(customer, "thanks")
    _wait(customer, lambda d: len(_texts(d, ".msg.bot")) > before, "an answer after the reload")

    # The token is asked for again before it expires, and never kept in the browser.
    assert site.tokens_issued >= 3, site.tokens_issued
    assert "eyJ" not in _stored(customer)


def test_a_page_of_an_origin_not_on_the_list_cannot_connect(
    servers: BotServers,
    site: EmbeddingSiteServer,
    browser,  # noqa: F811
) -> None:
    site.signed_in = "cust-en-owner"
    stranger = browser()
    stranger.get(site.url("billing", host="localhost"))  # another origin, same pages
    _launcher(stranger).click()
    # The chat's modules come only with CORS headers for allowed sites: the panel says
    # the chat cannot start, and there is no conversation to connect.
    _wait(
        stranger,
        lambda d: any("could not be started" in t for t in _texts(d, "#bb-panel .load-failed")),
        "the panel saying that the chat cannot start",
    )
    assert not _in(stranger, ".bb-panel") and not _in(stranger, "#connection")
    for request in (
        "fetch(arguments[0] + '/chat/api/demo-customers')",
        "import(arguments[0] + '/chat/static/chat.js')",
    ):
        refused = stranger.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            f"{request}.then(() => done('answered'), () => done('refused'));",
            servers.url,
        )
        assert refused == "refused", request


def test_styles_stay_on_their_side_and_the_panel_works_by_keyboard(
    servers: BotServers,
    site: EmbeddingSiteServer,
    browser,  # noqa: F811
) -> None:
    site.signed_in = "cust-lv-owner"
    customer = browser()
    customer.get(site.url("billing"))
    launcher = _launcher(customer)
    # The host page's rules (lime buttons, monospace, magenta messages) do not reach in.
    assert _style(customer, launcher, "background-color") == BRAND_BLUE
    customer.execute_script("arguments[0].focus();", launcher)
    _type(customer, Keys.ENTER)
    box = _wait(customer, lambda d: _enabled(d, "#message"), "the message box")
    _wait(customer, lambda d: _focused(d, box), "the focus to move into the chat")
    _say(customer, "Sveiki")
    bot = _wait(customer, lambda d: _in(d, ".msg.bot"), "the bot's greeting")[0]
    assert "Courier" not in _style(customer, bot, "font-family")
    assert _style(customer, bot, "letter-spacing") == "normal"
    assert _style(customer, bot, "color") != "rgb(255, 0, 255)"
    assert _style(customer, _in(customer, ".messages")[0], "padding-top") == "16px"
    log = _in(customer, "#messages")[0]
    assert log.get_attribute("role") == "log" and log.get_attribute("aria-live") == "polite"

    # The widget's rules (.panel is fixed, .launcher round, .title bold) do not leak out.
    host_panel = customer.find_element(By.ID, "host-panel")
    host_button = customer.find_element(By.ID, "host-button")
    host_title = customer.find_element(By.CSS_SELECTOR, "h1.title")
    assert _style(customer, host_panel, "position") == "static"
    assert _style(customer, host_button, "position") == "static"
    assert _style(customer, host_title, "font-size") == "60px"  # 2em of the host's 30px
    assert _style(customer, customer.find_element(By.ID, "host-msg"), "color") == (
        "rgb(255, 0, 255)"
    )

    # Escape closes the chat and gives the focus back to the button.
    box.click()
    _type(customer, Keys.ESCAPE)
    _wait(customer, lambda d: not _in(d, "#bb-panel")[0].is_displayed(), "the panel to close")
    assert launcher.get_attribute("aria-expanded") == "false"
    assert _focused(customer, launcher)

    # The customer's choice in the language menu outlasts the page's data-lang="en".
    launcher.click()
    Select(_in(customer, "#language")[0]).select_by_value("lv")
    customer.refresh()
    _wait(customer, lambda d: _texts(d, "#send") == ["Sūtīt"], "the chat still in Latvian")
    launcher = _launcher(customer)
    assert launcher.get_attribute("aria-expanded") == "true"  # it was left open
    launcher.click()

    # On a phone the open chat takes the whole screen.
    customer.set_window_size(390, 844)
    launcher.click()
    panel = _wait(customer, lambda d: _in(d, "#bb-panel")[0].is_displayed(), "the panel")
    width = customer.execute_script("return document.documentElement.clientWidth")
    rect = customer.execute_script(
        "return arguments[0].getBoundingClientRect().toJSON()", _in(customer, "#bb-panel")[0]
    )
    assert panel and rect["left"] == 0 and rect["width"] == width


def test_the_card_form_from_the_widget_leads_back_to_the_page(
    servers: BotServers,
    site: EmbeddingSiteServer,
    browser,  # noqa: F811
) -> None:
    from tests.e2e.test_settle import _post_form

    site.signed_in = "cust-en-owner"
    customer = browser()
    page = site.url("billing")
    customer.get(page)
    _launcher(customer).click()
    _say(customer, "My card payment was declined")
    _button(customer, "Add a new card").click()
    link = _wait(customer, lambda d: _in(d, "a.card-form-link"), "the card form link")[0]
    href = link.get_attribute("href")
    assert href.startswith(f"{servers.url}/webhooks/cards/form/")
    assert link.get_attribute("target") == "_blank" and "noopener" in link.get_attribute("rel")
    status, saved = _post_form(
        href, number="4242 4242 4242 4242", expiry="12/29", name="A", cvc="123"
    )
    assert status == 200 and f'id="back-to-chat" href="{page}"' in saved
    _wait(
        customer,
        lambda d: any("4242" in t for t in _texts(d, ".msg.bot")),
        "the chat going on with the new card",
    )

"""The widget and the console in real headless Chromium (Debian's chromium + chromedriver).

A Latvian customer asks for a person in the widget; an agent, in a second browser,
sees the packet, claims the conversation and replies; the customer sees the reply
at once, survives a page reload, and gets the bot back after the hand-back. A
customer's <img onerror> must stay text in the console.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.conftest import service_missing
from tests.e2e.conftest import AGENT_PASSWORDS, BotServers

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT_SECONDS = 60
XSS = '<img src=x onerror="window.__pwned=1"><svg onload="window.__pwned=2">'


@pytest.fixture
def browser() -> Iterator[Callable[..., WebDriver]]:
    """Starts separate headless Chromium instances (separate profiles, like two people).

    Extra command-line flags for one instance go as arguments: `browser("--flag")`.
    """
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        service_missing("Debian's chromium and chromium-driver are not installed (make browser)")
    started: list[tuple[WebDriver, str]] = []

    def start(*extra_flags: str) -> WebDriver:
        profile = tempfile.mkdtemp(prefix="chromium-profile-")
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
            f"--user-data-dir={profile}",
            *extra_flags,
        ):
            options.add_argument(flag)
        try:
            driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        except WebDriverException as exc:
            service_missing(f"headless Chromium did not start: {exc.msg}")
        driver.set_page_load_timeout(WAIT_SECONDS)
        started.append((driver, profile))
        return driver

    yield start
    for driver, profile in started:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait(driver: WebDriver, condition: Callable[[WebDriver], object], what: str):
    return WebDriverWait(driver, WAIT_SECONDS, poll_frequency=0.2).until(condition, message=what)


def _texts(driver: WebDriver, selector: str) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, selector)]


def _say(driver: WebDriver, text: str) -> None:
    box = _wait(driver, lambda d: _enabled(d, "#message"), "the message box to be enabled")
    box.send_keys(text)
    driver.find_element(By.CSS_SELECTOR, "#send").click()


def _enabled(driver: WebDriver, selector: str) -> WebElement | None:
    found = driver.find_elements(By.CSS_SELECTOR, selector)
    return found[0] if found and found[0].is_enabled() and found[0].is_displayed() else None


def _sign_in_customer(driver: WebDriver, url: str, customer: str) -> None:
    driver.get(f"{url}/chat/?lang=lv")
    _wait(driver, lambda d: _enabled(d, "#customer"), "the demo customers")
    Select(driver.find_element(By.CSS_SELECTOR, "#customer")).select_by_value(customer)
    driver.find_element(By.CSS_SELECTOR, "#sign-in").click()
    _wait(
        driver,
        lambda d: customer in d.find_element(By.CSS_SELECTOR, "#signed-in-as").text,
        "the customer to be signed in",
    )


def _sign_in_agent(driver: WebDriver, url: str, username: str) -> None:
    driver.get(f"{url}/console/")
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#username"), "the sign-in form")
    driver.find_element(By.CSS_SELECTOR, "#username").send_keys(username)
    driver.find_element(By.CSS_SELECTOR, "#password").send_keys(AGENT_PASSWORDS[username])
    driver.find_element(By.CSS_SELECTOR, "#sign-in").click()
    _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#queue"), "the queue")


def test_customer_and_agent_in_two_browsers(servers: BotServers, browser) -> None:
    customer, agent = browser(), browser()
    _sign_in_customer(customer, servers.url, "cust-lv-owner")
    _say(customer, "Gribu runāt ar cilvēku")
    _wait(
        customer,
        lambda d: any("rindā" in t for t in _texts(d, ".msg.bot")),
        "the bot's queue message in Latvian",
    )

    _sign_in_agent(agent, servers.url, "anna")
    item = _wait(
        agent,
        lambda d: next(
            (
                li
                for li in d.find_elements(By.CSS_SELECTOR, "li.ticket")
                if "Līga Kalniņa" in li.text
            ),
            None,
        ),
        "the customer's ticket in the queue",
    )
    item.click()
    _wait(
        agent,
        lambda d: "expired_card" in d.find_element(By.CSS_SELECTOR, "#ticket").text,
        "the packet",
    )
    packet = agent.find_element(By.CSS_SELECTOR, "#ticket").text
    for fact in (
        "Līga Kalniņa",
        "Microsoft 365 Business Standard",
        "€25.50",
        "4242",
        "The customer asked for a person.",
    ):
        assert fact in packet
    _wait(agent, lambda d: _enabled(d, "#claim"), "the claim button").click()
    _wait(agent, lambda d: _enabled(d, "#reply"), "the reply box")

    _say(customer, XSS)
    _wait(
        agent,
        lambda d: any(XSS in t for t in _texts(d, "#transcript .line.customer")),
        "the customer's message, as text, in the live transcript",
    )
    assert agent.execute_script("return window.__pwned") is None

    agent.find_element(By.CSS_SELECTOR, "#reply").send_keys("Labdien! Esmu Anna, palīdzēšu.")
    agent.find_element(By.CSS_SELECTOR, "#send-reply").click()
    _wait(
        customer,
        lambda d: any("Esmu Anna" in t for t in _texts(d, ".msg.agent")),
        "the agent's reply in the widget",
    )
    assert customer.execute_script("return window.__pwned") is None

    shown = len(customer.find_elements(By.CSS_SELECTOR, ".msg"))
    customer.refresh()
    _wait(
        customer,
        lambda d: len(d.find_elements(By.CSS_SELECTOR, ".msg")) >= shown,
        "the conversation after a reload",
    )
    assert any("Esmu Anna" in t for t in _texts(customer, ".msg.agent"))

    _wait(agent, lambda d: _enabled(d, "#handback"), "the hand-back button").click()
    _wait(
        customer,
        lambda d: any("nodevis" in t for t in _texts(d, ".msg.bot")),
        "the bot's hand-back message",
    )
    before = len(_texts(customer, ".msg.bot"))
    _say(customer, "Mans maksājums neizdevās")
    _wait(
        customer,
        lambda d: any("25,50" in t for t in _texts(d, ".msg.bot")[before:]),
        "the bot's answer with the amount past due",
    )


def test_buttons_and_the_card_form_link_in_the_widget(servers: BotServers, browser) -> None:
    customer = browser()
    customer.get(f"{servers.url}/chat/?lang=en")
    _wait(customer, lambda d: _enabled(d, "#customer"), "the demo customers")
    Select(customer.find_element(By.CSS_SELECTOR, "#customer")).select_by_value("cust-en-owner")
    customer.find_element(By.CSS_SELECTOR, "#sign-in").click()
    _say(customer, "My card payment was declined")
    add = _wait(
        customer,
        lambda d: next(
            (
                b
                for b in d.find_elements(By.CSS_SELECTOR, "button.quick-reply")
                if b.text == "Add a new card" and b.is_enabled()
            ),
            None,
        ),
        "the 'Add a new card' button",
    )
    add.click()
    link = _wait(
        customer,
        lambda d: d.find_elements(By.CSS_SELECTOR, "a.card-form-link"),
        "the card form link",
    )[0]
    assert link.get_attribute("href").startswith(f"{servers.url}/webhooks/cards/form/")
    assert link.get_attribute("target") == "_blank"
    assert "Add a new card" in _texts(customer, ".msg.user")


def test_a_trainer_labels_and_dismisses_in_the_inbox_page(servers: BotServers, browser) -> None:
    from tests.e2e.test_trainers import _record

    keep = _record(servers, "kā lai nomainu to kartes lietu?", "lv", "card_expired")
    drop = _record(servers, XSS, "en", "nlu_fallback")
    trainer = browser()
    _sign_in_agent(trainer, servers.url, "toms")
    trainer.get(f"{servers.url}/console/inbox")
    row = _wait(
        trainer,
        lambda d: d.find_elements(By.CSS_SELECTOR, f'tr.inbox-item[data-item-id="{drop}"]'),
        "the inbox rows",
    )[0]
    assert XSS in row.find_element(By.CSS_SELECTOR, "td.text").text
    assert trainer.execute_script("return window.__pwned") is None
    row.find_element(By.CSS_SELECTOR, "button.dismiss").click()
    _wait(
        trainer,
        lambda d: not d.find_elements(By.CSS_SELECTOR, f'tr.inbox-item[data-item-id="{drop}"]'),
        "the dismissed row to go",
    )

    Select(trainer.find_element(By.CSS_SELECTOR, "#lang-filter")).select_by_value("lv")
    row = _wait(
        trainer,
        lambda d: d.find_elements(By.CSS_SELECTOR, f'tr.inbox-item[data-item-id="{keep}"]'),
        "the Latvian item",
    )[0]
    Select(row.find_element(By.CSS_SELECTOR, "select.intent-select")).select_by_value(
        "change_expiry"
    )
    row.find_element(By.CSS_SELECTOR, "button.label").click()
    _wait(
        trainer,
        lambda d: "data/nlu/lv/card_options.yml" in d.find_element(By.CSS_SELECTOR, "#notice").text,
        "the confirmation naming the file",
    )
    nlu = (servers.project / "data" / "nlu" / "lv" / "card_options.yml").read_text("utf-8")
    assert "- kā lai nomainu to kartes lietu?" in nlu


def _stored(driver: WebDriver) -> dict[str, str]:
    return driver.execute_script(
        "const kept = {}; for (let i = 0; i < localStorage.length; i++) {"
        " const key = localStorage.key(i); kept[key] = localStorage.getItem(key); } return kept;"
    )


def test_a_card_number_typed_in_the_widget_is_masked_and_not_kept(
    servers: BotServers, browser
) -> None:
    customer = browser()
    _sign_in_customer(customer, servers.url, "cust-zh-nonowner")
    Select(customer.find_element(By.CSS_SELECTOR, "#language")).select_by_value("zh")
    _say(customer, "我的新卡号是4000\u30000566\u30005566\u30005556")
    bubble = _wait(
        customer,
        lambda d: d.find_elements(By.CSS_SELECTOR, ".msg.user.redacted"),
        "the customer's bubble, masked by the server",
    )[0]
    assert bubble.text == "我的新卡号是••••\u3000••••\u3000••••\u3000••••"
    _wait(
        customer,
        lambda d: any("已隐藏" in t for t in _texts(d, ".msg.bot")),
        "the bot saying, in Chinese, that it masked the card details",
    )
    kept = _stored(customer)
    assert any(key.startswith("bb.log.") for key in kept)
    assert not any("0566" in value for value in kept.values()), kept

    customer.refresh()
    _wait(customer, lambda d: d.find_elements(By.CSS_SELECTOR, ".msg.user.redacted"), "reload")
    assert "0566" not in customer.find_element(By.CSS_SELECTOR, "#messages").text

    customer.find_element(By.CSS_SELECTOR, "#sign-out").click()
    _wait(customer, lambda d: not d.find_elements(By.CSS_SELECTOR, ".msg.user"), "signed out")
    left = _stored(customer)
    assert not any(k.startswith(("bb.log.", "bb.session")) for k in left), left

"""The insights against the real servers: a real conversation is counted, the page is
for leads and trainers, and a lead reads it in headless Chromium."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
import requests
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select
from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from bot.db import (
    Balance,
    BillingConversation,
    CardFormLink,
    Customer,
    HandoffTicket,
    PaymentAttempt,
    PaymentMethod,
    Subscription,
    make_engine,
    session_scope,
)
from bot.insights.history import remove_history, seed_history
from bot.ops.demo import DemoCard, DemoCustomer, add_customer
from tests.e2e.conftest import BotServers
from tests.e2e.test_browser import _sign_in_agent, _wait, browser  # noqa: F401 - a fixture
from tests.e2e.test_handoff import Console

pytestmark = pytest.mark.e2e
CARD_NUMBER = re.compile(r"\d(?:[ \-.]?\d){12,}")


@pytest.fixture(scope="module")
def history(servers: BotServers) -> Iterator[BotServers]:
    """A generated year in the servers' database, and one customer of this module's own.

    Both are removed afterwards: other modules count the payments in this database.
    """
    engine = make_engine(servers.database_url)
    try:
        seed_history(engine, 400)
        with session_scope(engine) as session:
            add_customer(session, OWN_CUSTOMER)
        yield servers
    finally:
        with engine.begin() as connection:
            remove_history(connection)
            _remove_customer(connection, OWN_CUSTOMER.id)
        engine.dispose()


OWN_CUSTOMER = DemoCustomer(
    id="cust-zh-insights",
    display_name="赵磊",
    language="zh",
    product="Microsoft 365 E3",
    cards=(DemoCard("Visa", "1881", 9, 2027, True, "tok_sim_insights_1881"),),
    past_due=(Decimal("215.00"), "CNY", dt.date(2026, 11, 2), "card_declined"),
)


def _remove_customer(connection: Connection, customer_id: str) -> None:
    subscriptions = select(Subscription.id).where(Subscription.customer_id == customer_id)
    balances = select(Balance.id).where(Balance.subscription_id.in_(subscriptions))
    for statement in (
        delete(BillingConversation).where(BillingConversation.customer_id == customer_id),
        delete(HandoffTicket).where(HandoffTicket.customer_id == customer_id),
        delete(CardFormLink).where(CardFormLink.customer_id == customer_id),
        delete(PaymentAttempt).where(PaymentAttempt.balance_id.in_(balances)),
        delete(Balance).where(Balance.subscription_id.in_(subscriptions)),
        delete(Subscription).where(Subscription.customer_id == customer_id),
        delete(PaymentMethod).where(PaymentMethod.customer_id == customer_id),
        delete(Customer).where(Customer.id == customer_id),
    ):
        connection.execute(statement)


def test_a_real_conversation_is_counted_for_its_language(history: BotServers) -> None:
    sender = f"insights-{uuid.uuid4().hex[:8]}"
    replies = history.send(sender, "我的付款被拒绝了", history.token("cust-zh-insights"))
    assert any("215" in (r.get("text") or "") for r in replies), replies
    lena = Console(history.url, "lena")
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    found = lena.http.get(
        f"{history.url}/console/api/insights?lang=zh&since={today}&until={today}", timeout=60
    ).json()
    assert found["period"]["data"] == "real" and found["languages"] == ["zh"]
    assert found["totals"]["conversations"] >= 1 and found["totals"]["not_settled"] >= 1
    assert found["totals"]["funnel"]["declined"] >= 1


def test_the_page_is_for_leads_and_trainers(history: BotServers) -> None:
    url = f"{history.url}/console/insights"
    anna = Console(history.url, "anna")
    refused = anna.http.get(url, timeout=30)
    assert refused.status_code == 403
    assert anna.http.get(f"{history.url}/console/api/insights", timeout=30).status_code == 403
    assert "nav-insights" not in anna.http.get(f"{history.url}/console/", timeout=30).text
    for who in ("lena", "toms"):
        shown = Console(history.url, who).http.get(url, timeout=60)
        assert shown.status_code == 200 and "<svg" in shown.text, who
    signed_out = requests.get(url, timeout=30)
    assert signed_out.url.endswith("/console/login")
    bad = Console(history.url, "lena").http.get(f"{url}?since=30.11.2026", timeout=30)
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text


def test_a_lead_reads_the_charts_and_filters_by_language(
    history: BotServers,
    browser: Callable[[], WebDriver],  # noqa: F811 - the fixture
) -> None:
    lead = browser()
    _sign_in_agent(lead, history.url, "lena")
    lead.find_element(By.CSS_SELECTOR, "#nav-insights").click()
    _wait(lead, lambda d: d.find_elements(By.CSS_SELECTOR, "#insights-scope"), "the insights")
    Select(lead.find_element(By.CSS_SELECTOR, "#data")).select_by_value("demo")
    lead.find_element(By.CSS_SELECTOR, "#apply").click()
    _wait(lead, _scope_says("demo history"), "the demo history")

    charts = lead.find_elements(By.CSS_SELECTOR, "svg.chart[role=img]")
    assert len(charts) >= 4
    for chart in charts:
        assert chart.is_displayed() and chart.size["width"] > 200
        assert re.search(
            r"\d", chart.find_element(By.TAG_NAME, "desc").get_attribute("textContent")
        )
    captions = [c.text for c in lead.find_elements(By.CSS_SELECTOR, "table caption")]
    assert "Billing conversations per language" in captions
    languages = _row_headers(lead, "Billing conversations per language")
    assert languages == ["English", "Latvian", "Chinese"]

    Select(lead.find_element(By.CSS_SELECTOR, "#lang")).select_by_value("lv")
    lead.find_element(By.CSS_SELECTOR, "#apply").click()
    _wait(lead, _scope_says("Latvian"), "Latvian only")
    assert _row_headers(lead, "Billing conversations per language") == ["Latvian"]
    assert "lang=lv" in lead.current_url and "data=demo" in lead.current_url
    recovered = lead.find_element(By.CSS_SELECTOR, "#recovered").text
    assert "€" in recovered and "¥" not in recovered

    source = lead.page_source
    visible = lead.find_element(By.TAG_NAME, "body").text
    for text in (re.sub(r"<[^>]+>", "|", source), visible):
        assert not CARD_NUMBER.search(text)
        assert "eyJ" not in text and "customer_ref" not in text and "demo-history-" not in text


def _scope_says(words: str) -> Callable[[WebDriver], bool]:
    """Whether the page now loaded says so (the old one may be going away meanwhile)."""

    def check(driver: WebDriver) -> bool:
        try:
            return words in driver.find_element(By.ID, "insights-scope").text
        except (NoSuchElementException, StaleElementReferenceException):
            return False

    return check


def _row_headers(driver: WebDriver, caption: str) -> list[str]:
    for table in driver.find_elements(By.CSS_SELECTOR, "table"):
        if table.find_element(By.TAG_NAME, "caption").text == caption:
            return [th.text for th in table.find_elements(By.CSS_SELECTOR, "tbody th")]
    raise AssertionError(f"no table {caption!r}")

"""Server-rendered pages come from autoescaping Jinja2 templates, and stay that way.

What a customer, an agent or a trainer typed (a message, a display name, an intent
label) is text in every page, whatever characters it holds; and no module under
bot/ builds HTML in an f-string or escapes it by hand any more.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel import Locale
from jinja2 import UndefinedError
from sqlalchemy.engine import Engine

from bot.config import PROJECT_ROOT
from bot.db import session_scope
from bot.insights.metrics import Period, compute
from bot.insights.page import render as render_insights
from bot.nlu.inbox import record
from bot.nlu.report import Report, _html
from bot.support.agents import SignedIn
from bot.templating import environment, render
from bot.web.card_channel import render_form, render_unusable
from bot.web.console import _login_page, console_page
from bot.web.insights_page import _page as insights_page

EVIL = "<script>alert(1)</script>\"'&"
# As html.escape writes it, the spelling the pages had before the templates.
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;&amp;"


class _Document(HTMLParser):
    """The tags and texts of a page, as a browser's parser sees them."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[dict[str, str | None]] = []
        self.texts: list[str] = []
        self.attributes: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))
        self.attributes.extend(value for _, value in attrs if value)

    def handle_data(self, data: str) -> None:
        self.texts.append(data)


def assert_text_only(page: str, *, in_attribute: bool = False) -> None:
    """EVIL is in the page escaped, reads back as the same text, and added no script."""
    assert EVIL not in page and "<script>alert" not in page
    assert ESCAPED in page
    document = _Document(page)
    assert all(script.get("src") for script in document.scripts), document.scripts
    found = document.attributes if in_attribute else document.texts
    assert any(EVIL in value for value in found)


def _who(role: str) -> SignedIn:
    return SignedIn(1, "mallory", EVIL, role, "csrf-token_1")


@pytest.mark.parametrize(
    ("name", "role"), [("index.html", "agent"), ("index.html", "lead"), ("inbox.html", "trainer")]
)
def test_an_agents_name_is_text_in_the_console_pages(name: str, role: str) -> None:
    page = console_page(name, _who(role)).body.decode()
    assert_text_only(page)
    assert '<meta name="csrf-token" content="csrf-token_1">' in page
    assert '<input type="hidden" name="csrf_token" value="csrf-token_1">' in page
    assert ('id="nav-insights"' in page) == (role != "agent")


def test_a_customers_message_is_text_on_the_insights_page(engine: Engine) -> None:
    with session_scope(engine) as session:
        record(
            session,
            conversation_id="c-1",
            message_id="m-1",
            text=EVIL,
            language="en",
            intent="nlu_fallback",
            confidence=0.2,
            reason="fallback",
        )
    today = dt.datetime.now(dt.timezone.utc).date()
    period = Period(today - dt.timedelta(days=1), today + dt.timedelta(days=1))
    form = {"since": period.since.isoformat(), "until": period.until.isoformat()}
    form |= {"lang": "", "data": "real"}
    content = render_insights(
        compute(engine, period, "en_US"), locale=Locale.parse("en_US"), form=form, today=today
    )
    assert f'<span class="quote">{ESCAPED}</span>' in content
    # The agent's name in the console around it, and the content itself not escaped twice.
    page = insights_page(_who("lead"), content).body.decode()
    assert_text_only(page)
    assert page.count(ESCAPED) == 2 and "&amp;lt;" not in page
    # The SVG charts (outcomes, funnel, handoffs; no payments to draw over time) stay SVG.
    assert page.count('<svg class="chart"') == 3 and "&lt;svg" not in page


def test_query_values_are_text_on_the_insights_page() -> None:
    form = {"since": EVIL, "until": "", "lang": EVIL, "data": "real"}
    today = dt.date(2026, 11, 30)
    content = render_insights(
        None, locale=Locale.parse("en_US"), form=form, today=today, error="bad " + EVIL
    )
    assert_text_only(content)
    assert f'value="{ESCAPED}"' in content
    # In a link's query the value is URL-encoded: no quote, bracket or & of its own.
    presets = re.findall(r'class="preset" href="([^"]*)"', content)
    assert len(presets) == 4
    assert all("lang=%3Cscript%3Ealert%281%29%3C/script%3E%22%27%26&amp;" in p for p in presets)


def test_an_intent_label_and_a_message_are_text_in_the_nlu_report() -> None:
    scores = {
        "macro_f1": 0.5,
        "n": 2,
        "per_intent": {EVIL: {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 1}},
    }
    change = {"lang": "en", "set": "held-out", "intent": EVIL}
    report = Report(
        created="2026-11-30T00:00:00+00:00",
        counts={lang: {"training": 1, "held_out_scored": 1} for lang in ("en", "lv", "zh")},
        held_out={lang: scores for lang in ("en", "lv", "zh")},
        cross_validation={},
        errors={"en": [{"text": EVIL, "expected": "greet", "predicted": EVIL}]},
        changes=[change | {"before": 0.2, "after": 0.6667, "delta": 0.4667}],
    )
    page = _html(report, had_previous=True)
    assert_text_only(page)
    row = f"<tr><td>{ESCAPED}</td><td>0.500</td><td>1.000</td><td>0.667</td><td>1</td></tr>"
    assert row in page
    assert f"<li>{ESCAPED}: expected greet, got {ESCAPED}</li>" in page
    assert '<li class="better">en held-out' in page


def test_typed_values_are_text_in_the_card_form_and_the_sign_in_page() -> None:
    form = render_form("lv", {"name": "name_missing"}, {"name": EVIL, "number": "4242 " + EVIL})
    assert_text_only(form.body.decode(), in_attribute=True)
    assert form.body.decode().count(ESCAPED) == 1  # the name; never the number
    back = render_unusable("zh", "https://shop.example/chat?x=" + EVIL)
    assert_text_only(back.body.decode(), in_attribute=True)
    assert_text_only(_login_page("Wrong " + EVIL, 401).body.decode())


def test_every_template_autoescapes_and_a_missing_variable_fails() -> None:
    env = environment()
    templates = env.list_templates()
    assert {"base.html", "console/layout.html", "nlu/report.html"} <= set(templates)
    for name in templates:
        env.get_template(name)  # every template compiles
    assert env.autoescape is True
    message = render(
        "cards/message.html", lang="en", text={}, title=EVIL, message="m", back_to=None
    )
    assert message.count(ESCAPED) == 2  # <title> and <h1>
    with pytest.raises(UndefinedError, match="csrf_token"):
        render("console/login.html", error=None)


# Where HTML may still be written in Python, and why.
NOT_PAGES = {
    Path("bot/insights/charts.py"): "SVG drawn from numbers, every text escaped there",
    Path("bot/cli/main.py"): "the terminal's start-up text quotes the widget's script tag",
}
# Where html.escape may be called: the charts, and the templates' one escaping function.
ESCAPING = {Path("bot/insights/charts.py"), Path("bot/templating.py")}
TAG = re.compile(r"<\s*/?[A-Za-z][\w:-]*")


def _html_in_python(path: Path, *, may_escape: bool = False) -> list[str]:
    """f-strings with a tag in them, and (unless `may_escape`) html.escape, in one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            literal = "".join(
                part.value
                for part in node.values
                if isinstance(part, ast.Constant) and isinstance(part.value, str)
            )
            if TAG.search(literal):
                found.append(f"{path}:{node.lineno}: f-string with HTML: {literal[:60]!r}")
        elif may_escape:
            continue
        elif isinstance(node, ast.ImportFrom) and node.module == "html":
            found.append(f"{path}:{node.lineno}: from html import ...")
        elif isinstance(node, ast.Import) and any(a.name == "html" for a in node.names):
            found.append(f"{path}:{node.lineno}: import html")
    return found


def test_no_module_builds_html_in_python() -> None:
    modules = sorted((PROJECT_ROOT / "bot").rglob("*.py"))
    assert len(modules) > 30
    found = [
        line
        for module in (m.relative_to(PROJECT_ROOT) for m in modules)
        if module not in NOT_PAGES
        for line in _html_in_python(module, may_escape=module in ESCAPING)
    ]
    assert not found, "render a template of bot/web/templates/ instead:\n" + "\n".join(found)


def test_the_scan_finds_what_it_is_for(tmp_path: Path) -> None:
    sample = tmp_path / "page.py"
    sample.write_text(
        "import html\n"
        "def row(x):\n"
        "    return f'<tr><td>{html.escape(x)}</td></tr>'\n"
        "def cell(x):\n"
        '    return f"{x}</td>"\n'
        "def fine(a, b):\n"
        "    return f'{a} < {b}', f'<!-- {a}:begin -->'\n",
        encoding="utf-8",
    )
    assert [line.split(": ", 1)[0] for line in _html_in_python(sample)] == [
        f"{sample}:1",
        f"{sample}:3",
        f"{sample}:5",
    ]

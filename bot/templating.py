"""The Jinja2 environment behind every server-rendered page (bot/web/templates/).

Shared ground, like bot.i18n: the web pages and also the NLU report's file use it,
and it imports nothing of the project.

Autoescaping is on for every template: a customer's message, an agent's name or an
intent label is text wherever it lands, and only a value marked safe on purpose
(`Markup`: the SVG charts of bot.insights.charts, a part rendered by another
template) goes in as HTML. StrictUndefined makes a variable that a template names
and its caller forgot fail loudly instead of rendering as nothing.
"""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "web" / "templates"


def _escaped(value: Any) -> Any:
    """Text escaped as the pages always spelled it (html.escape: &quot; and &#x27;).

    Jinja's own escaping would write &#34; and &#39;: the same to a browser, but not to
    the clients and tests that read the pages. Markup and non-text values go on to
    Jinja's escape unchanged.
    """
    if isinstance(value, str) and not isinstance(value, Markup):
        return Markup(html.escape(value))
    return value


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        finalize=_escaped,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, /, **context: Any) -> Markup:
    """The template `name` (a path under templates/) filled in with `context`."""
    return Markup(environment().get_template(name).render(**context))

"""A company's website that embeds the chat, served on a second loopback port.

Its pages carry the one script tag, and styles that would restyle anything they
reach (so a test can see that they do not reach into the widget); its "backend"
hands the page of its signed-in customer an RS256 token (`/session/token`), as
README "Embedding the chat" tells an integrator to.
"""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# Rules a careless host stylesheet might have: every one would restyle the widget
# if it reached into it, and the host's own elements use the widget's class names.
HOSTILE_CSS = """
* { font-family: "Courier New", monospace !important; letter-spacing: 3px !important; }
body { color: rgb(200, 0, 0); font-size: 30px; line-height: 3; }
button, .launcher, .quick-reply { background: rgb(0, 255, 0) !important; }
.msg, .messages, .panel, .composer { display: block !important; }
.msg, .messages, .panel, .composer { color: rgb(255, 0, 255) !important; }
div { padding: 17px !important; }
:root { --brand: rgb(255, 0, 0); --text: rgb(255, 0, 0); }
"""

PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shop: {title}</title>
<style>{css}</style>
<script>
  // Queued before the widget loads: the site's own backend signs the token.
  window.BillingBot = window.BillingBot || [];
  window.BillingBot.push(["setTokenProvider", async function () {{
    window.tokenRequests = (window.tokenRequests || 0) + 1;
    const answer = await fetch("/session/token", {{ credentials: "same-origin" }});
    return answer.ok ? (await answer.json()).token : null;
  }}]);
</script>
<script src="{bot}/chat/widget.js" data-lang="{lang}" async></script>
</head><body>
<h1 class="title">{title}</h1>
<p class="msg" id="host-msg">The shop's own paragraph.</p>
<div class="panel" id="host-panel">The shop's own panel.</div>
<button class="launcher" id="host-button">The shop's own button</button>
<a href="/account/{other}">{other}</a>
</body></html>
"""


# The same site with the Rasa ecosystem's own widget (rasa-webchat from npm) instead.
WEBCHAT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop: rasa-webchat</title>
<style>#webchat {{ height: 600px; }}</style></head>
<body><h1>rasa-webchat</h1><div id="webchat"></div>
<script src="/static/rasa-webchat.js"></script>
<script>
  fetch("/session/token").then((answer) => answer.json()).then((session) => {{
    window.WebChat.default({{
      socketUrl: "{bot}",
      socketPath: "/socket.io/",
      customData: {{ language: "en", customer_token: session.token }},
      title: "Billing support",
      embedded: true,
      params: {{ storage: "session" }},
    }}, document.getElementById("webchat"));
  }});
</script>
</body></html>
"""


class EmbeddingSiteServer:
    """Serves /account/<page> with the widget, and /session/token for `signed_in`;
    /webchat/ with rasa-webchat when `webchat_js` names its bundle."""

    def __init__(self, port: int, bot_url: str, issue_token: Any, lang: str = "en") -> None:
        self.port = port
        self.bot_url = bot_url
        self.issue_token = issue_token
        self.lang = lang
        self.signed_in: str | None = None
        self.token_ttl = 600
        self.tokens_issued = 0
        self.webchat_js: Path | None = None
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server name
                if self.path == "/session/token":
                    if site.signed_in is None:
                        return self._send(401, "application/json", b'{"error":"signed out"}')
                    site.tokens_issued += 1
                    token = site.issue_token(site.signed_in, site.token_ttl)
                    return self._send(
                        200, "application/json", json.dumps({"token": token}).encode()
                    )
                if self.path.startswith("/account/"):
                    name = self.path.removeprefix("/account/").split("?")[0] or "billing"
                    other = "orders" if name != "orders" else "billing"
                    page = PAGE.format(
                        lang=site.lang,
                        title=html.escape(name),
                        css=HOSTILE_CSS,
                        bot=site.bot_url,
                        other=other,
                    )
                    return self._send(200, "text/html; charset=utf-8", page.encode())
                if self.path == "/webchat/":
                    page = WEBCHAT_PAGE.format(bot=site.bot_url)
                    return self._send(200, "text/html; charset=utf-8", page.encode())
                if self.path == "/static/rasa-webchat.js" and site.webchat_js:
                    return self._send(200, "text/javascript", site.webchat_js.read_bytes())
                return self._send(404, "text/plain", b"not found")

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, page: str = "billing", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/account/{page}"

    def webchat_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webchat/"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def embedding_site(port: int, bot_url: str, issue_token: Any) -> Iterator[EmbeddingSiteServer]:
    server = EmbeddingSiteServer(port, bot_url, issue_token)
    server.start()
    try:
        yield server
    finally:
        server.stop()

"""What a hand-off posts to a chat webhook: the case's text cannot ping the channel, embed an image or hide a link;
the webhook must be https (plain http only to this machine); a redirect is not followed; a slow chat is given up."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from pydantic import ValidationError

from pipeline.desk.handoff import chat_text, post_to_chat
from pipeline.settings import Settings
from tests.conftest import Webhook

HOSTILE = (
    "VPN down <!channel> <@U024BE7LH> @here @everyone ![x](http://127.0.0.1:9/p.png) <http://evil.example|docs> & more"
    " [reset your password](https://evil.example/login)"
)


def test_the_package_reaches_the_chat_with_its_markup_defused(webhook: Webhook) -> None:
    outcome = post_to_chat(webhook.url, f"# Case #7 escalated\n\n{HOSTILE}")
    assert outcome.code == "post_done"
    text = webhook.received[-1]["text"]
    for live in ("<!channel>", "<@U024BE7LH>", "<http://evil.example|docs>", "![x]", "@here", "@everyone", " & ", "]("):
        assert live not in text, live
    assert "&lt;!channel&gt;" in text and "&amp; more" in text and "# Case #7 escalated" in text
    assert chat_text("plain words stay plain") == "plain words stay plain"


@pytest.mark.parametrize("url", ["http://chat.example.com/hooks/x", "ftp://127.0.0.1/x", "file:///etc/passwd"])
def test_a_webhook_that_is_not_https_is_refused_by_the_settings_and_by_the_post(url: str) -> None:
    with pytest.raises(ValidationError, match="must be an https URL"):
        Settings(chat_webhook_url=url)
    assert post_to_chat(url, "text").code == "post_not_https"


@pytest.fixture
def redirecting() -> Iterator[tuple[str, list[str]]]:
    """A webhook that answers every post with a redirect to another (local) address, which records any visit."""
    visits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path == "/elsewhere":
                visits.append(json.loads(self.rfile.read(int(self.headers["Content-Length"])))["text"])
                self.send_response(200)
            else:
                self.send_response(307)
                self.send_header("Location", f"http://127.0.0.1:{server.server_port}/elsewhere")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/secret", visits
    server.shutdown()


def test_a_redirect_is_not_followed_and_the_secret_path_is_never_shown(redirecting) -> None:
    url, visits = redirecting
    outcome = post_to_chat(url, "the case's text")
    assert outcome.code == "post_failed" and "307" in str(outcome) and "secret" not in str(outcome)
    assert visits == []

"""Markdown from the data is never rendered as markdown: a title, a category, a requester's name, a note, a template
name, a criterion's quote and the fixes of folded similar cases holding an image or a link show as typed on every
page that shows them, so no page makes the browser fetch an address or offers a javascript: link."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kb import NewTemplate
from pipeline.desk import casework, replies
from pipeline.settings import Settings
from pipeline.workspace import Workspace
from tests.conftest import OPERATOR, acct, work_off
from tests.test_app import open_app
from tests.test_app_desk import goto, run

IMAGE = "![x](http://127.0.0.1:9/p.png)"
LINK = "[x](javascript:alert(1))"
HOSTILE = f"{IMAGE} {LINK}"
# Live markdown: an image or a link whose brackets no backslash defuses.
LIVE = re.compile(r"(?<!\\)!(?<!\\)\[|(?<!\\)\]\((?:http|javascript)", re.IGNORECASE)
TEXT_ELEMENTS = ("markdown", "caption", "subheader", "title", "header", "success", "error", "warning", "info")


@pytest.fixture
def hostile(demo_copy: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[AppTest, int, int]]:
    with Workspace(demo_copy) as ws:
        lead = acct(ws, "Emily Carter")
        with ws.kb.write("test") as w:
            requester = w.add_requester(f"Mallory {HOSTILE}", ["mallory@example.com"])
            case = w.add_incident(
                title=f"Printer {HOSTILE}",
                body=f"It prints {HOSTILE}; the CEO needs it today",  # "today": a quoted criterion
                language="en",
                category=f"Printing {HOSTILE}",
                requester_id=requester,
            )
        casework.note(ws, case, f"Tried {HOSTILE}", actor=lead)
        template = NewTemplate(
            name=f"Toner {HOSTILE}", language="en", subject_keywords=["printer"], subject="Re: ${title}", body="Hello"
        )
        replies.save_template(ws, template, actor=lead)
        ws.resolve(case, actor=OPERATOR, resolution=f"Fixed {HOSTILE}", root_cause=f"Cause {HOSTILE}")
        with ws.kb.write("test") as w:  # the same report again, so that the similar-case lists fold the two
            twin = w.add_incident(
                title=f"Printer {HOSTILE}", body=f"It prints {HOSTILE}; the CEO needs it today", language="en"
            )
        ws.resolve(twin, actor=OPERATOR, resolution=f"Replaced {HOSTILE}", root_cause="")
    at = open_app(demo_copy, monkeypatch, user="Emily Carter")
    yield at, case, requester
    st.cache_resource.clear()


def shown(at: AppTest) -> list[str]:
    """Every text of the page that Streamlit reads as markdown: elements and the labels of widgets and blocks."""
    texts = [str(e.value) for kind in TEXT_ELEMENTS for e in getattr(at, kind)]
    labelled = (e for kind in ("expander", "button", "metric", "tab") for e in at.get(kind))
    return texts + [str(e.label) for e in labelled if getattr(e, "label", None)]


def live_markdown(at: AppTest) -> list[str]:
    return [text for text in shown(at) if LIVE.search(text)]


def test_no_page_renders_markdown_from_the_data(hostile, demo_copy: Settings) -> None:
    at, case, requester = hostile
    pages = [
        ("app_pages/queue.py", {}),
        ("app_pages/case.py", {"id": case}),
        ("app_pages/requester.py", {"id": requester}),
        ("app_pages/templates.py", {}),
        ("app_pages/quality.py", {}),
        ("app_pages/health.py", {}),
    ]
    for page, params in pages:
        goto(at, page, **params)
        if work_off(demo_copy):  # a report the worker computes (the health page's)
            run(at)
        assert live_markdown(at) == [], page
        if page in ("app_pages/case.py", "app_pages/requester.py", "app_pages/templates.py"):
            assert any("\\!\\[x\\]" in text for text in shown(at)), page  # there, as typed
    goto(at, "app_pages/search.py")
    at.text_input(key="search_query").input(f"Printer {HOSTILE} it prints; the CEO needs it today")
    at.button(key="search_submit").click()
    at.run()
    assert not at.exception and live_markdown(at) == []
    assert any("Printer \\!\\[x\\]" in text for text in shown(at))
    assert any(text.startswith("Happened 2 times") for text in shown(at))  # folded, its fixes shown as text

"""The requester's satisfaction rating: a link in the resolution notice (mailed through a real SMTP server on
127.0.0.1), answered through the HTTP API (served by uvicorn, called with httpx); the token kept only as its hash,
refusals as problem details, a GET that changes nothing, one answer per link; the leads' figures per agent and
per category; storage on both backends."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator

import httpx
import pytest

from api import create_app
from kb import InvalidValue, KnowledgeBase, StaleEdit
from kb.models import utcnow
from pipeline import jobs
from pipeline.access import PermissionDenied
from pipeline.channels import notices, ratings
from pipeline.desk import casework, merge
from pipeline.review.satisfaction import satisfaction
from pipeline.settings import Settings
from pipeline.workspace import Workspace
from tests.conftest import HTML_TITLE, acct
from tests.smtp_server import SmtpServer, smtp_server
from tests.test_api import serving
from tests.test_mail_out import REQUESTER, mail_settings

PROBLEM = "application/problem+json"
LINK = re.compile(r"https://desk\.example\.com/api/v1/ratings/([A-Za-z0-9_-]+)")


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with smtp_server() as running:
        yield running


@pytest.fixture
def ws(settings: Settings, server: SmtpServer) -> Iterator[Workspace]:
    configured = mail_settings(settings, server.port)
    configured = configured.model_copy(update={"api": configured.api.model_copy(update={"public_url":
                                       "https://desk.example.com/"})})  # fmt: skip
    with Workspace(configured) as workspace:
        with workspace.kb.write("test") as w:
            w.add_user("Ana", "agent", email="ana@desk.example")
            w.add_user("Lea", "lead", email="lea@desk.example")
        notices.notify(workspace)  # the first look: from here on
        yield workspace


@pytest.fixture
def api(ws: Workspace) -> Iterator[httpx.Client]:
    with serving(create_app(workspace=ws)) as url, httpx.Client(base_url=f"{url}/api/v1", timeout=60) as client:
        yield client


def resolved_case(ws: Workspace, server: SmtpServer, *, category: str = "Network", title: str = "VPN drops") -> str:
    """A case of Kim's, held by Ana, resolved; the rating token its resolution notice carried."""
    with ws.kb.write("intake") as w:
        kim = w.requester_for_email(REQUESTER) or w.add_requester("Kim Lee", [REQUESTER])
        case = w.add_incident(title=title, body="often", language="en", requester_id=kim, category=category)
    casework.claim(ws, case, actor=acct(ws, "Ana"))
    casework.move(ws, case, "resolved", actor=acct(ws, "Ana"), version=ws.kb.incident(case).version)
    jobs.outbox(ws)
    mail = next(m.message for m in reversed(server.received) if f"Your case {case} is resolved" in m.message["Subject"])
    return LINK.search(mail.get_content()).group(1)


def test_the_resolution_notice_carries_a_link_kept_only_as_its_hash(ws: Workspace, server: SmtpServer) -> None:
    token = resolved_case(ws, server)
    (rating,) = ws.kb.ratings()
    assert (rating.agent, rating.category, rating.score) == ("Ana", "Network", None)
    assert ws.kb.rating_by_hash(hashlib.sha256(token.encode()).hexdigest()) == rating
    with ws.kb.engine.connect() as c:
        stored = c.exec_driver_sql("SELECT token_hash FROM ratings").scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest() and token not in stored
    assert all(token not in (e.new_value or "") for e in ws.kb.events("incident", rating.incident_id))
    jobs.outbox(ws)  # the notice again: no second link
    assert len(ws.kb.ratings()) == 1


def test_a_merged_duplicate_sends_no_resolution_notice_and_asks_nothing(ws: Workspace, server: SmtpServer) -> None:
    with ws.kb.write("intake") as w:
        kim = w.add_requester("Kim Lee", [REQUESTER])
        one, two = (w.add_incident(title=t, body="x", language="en", requester_id=kim) for t in ("VPN", "VPN 2"))
    merge.merge(ws, two, one, actor=acct(ws, "Lea"), version=None)
    jobs.outbox(ws)
    assert not [m for m in server.received if "resolved" in m.message["Subject"]] and not ws.kb.ratings()


def test_get_changes_nothing_and_post_answers_once(ws: Workspace, server: SmtpServer, api: httpx.Client) -> None:
    token = resolved_case(ws, server, title=HTML_TITLE)
    events = len(ws.kb.events("incident", ws.kb.ratings()[0].incident_id))
    for _ in range(3):  # a mail scanner following the link, then the requester looking
        seen = api.get(f"/ratings/{token}")
        assert seen.status_code == 200 and seen.json()["answered"] is False and seen.json()["title"] == HTML_TITLE
    assert ws.kb.ratings()[0].answered_at is None
    assert len(ws.kb.events("incident", ws.kb.ratings()[0].incident_id)) == events
    comment = "<script>alert('x')</script> **great** [x](javascript:alert(1))"
    answered = api.post(f"/ratings/{token}", json={"score": "good", "comment": comment})
    assert answered.status_code == 200 and answered.json()["answered"] and answered.json()["comment"] == comment
    assert ws.kb.ratings()[0].comment == comment  # stored as typed
    again = api.post(f"/ratings/{token}", json={"score": "bad"}, headers={"Accept-Language": "ja"})
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM
    assert again.json()["code"] == "desk_rating_already_answered" and "回答済み" in again.json()["detail"]
    assert ws.kb.ratings()[0].score == "good"
    assert api.get(f"/ratings/{token}").json()["score"] == "good"


@pytest.mark.parametrize(
    "body, status",
    [
        ({"score": "excellent"}, 422),
        ({"score": 5}, 422),
        ({"score": "good", "comment": "x" * (ratings.MAX_COMMENT_CHARS + 1)}, 422),
        ({"score": "good", "extra": 1}, 422),
    ],
)
def test_a_score_off_the_scale_or_an_oversized_comment_is_refused(
    ws: Workspace, server: SmtpServer, api: httpx.Client, body: dict, status: int
) -> None:
    token = resolved_case(ws, server)
    refused = api.post(f"/ratings/{token}", json=body)
    assert refused.status_code == status and refused.headers["content-type"] == PROBLEM
    assert ws.kb.ratings()[0].answered_at is None


def test_wrong_and_expired_links_are_refused_as_problems(ws: Workspace, server: SmtpServer, api: httpx.Client) -> None:
    token = resolved_case(ws, server)
    for wrong in ("ikb_not-a-rating", token[:-1] + ("A" if token[-1] != "A" else "B"), "x" * 300):
        for answer in (api.get(f"/ratings/{wrong}"), api.post(f"/ratings/{wrong}", json={"score": "good"})):
            assert answer.status_code in (404, 422) and answer.headers["content-type"] == PROBLEM
    later = utcnow() + dt.timedelta(days=ws.settings.api.rating_days, seconds=1)
    with pytest.raises(ratings.RatingLinkRefused) as expired:
        ratings.answer(ws, token, "good", now=later)
    assert expired.value.phrase.code == "desk_rating_link_expired"
    with pytest.raises(ratings.RatingLinkRefused):
        ratings.look(ws, token, now=later)
    with pytest.raises(InvalidValue) as bad:
        ratings.answer(ws, token, "meh")
    assert bad.value.phrase.code == "desk_rating_score_unknown"
    with pytest.raises(InvalidValue) as long:
        ratings.answer(ws, token, "bad", "y" * (ratings.MAX_COMMENT_CHARS + 1))
    assert long.value.phrase.code == "desk_rating_comment_long"


def test_the_review_counts_per_agent_and_category_for_leads_only(ws: Workspace, server: SmtpServer) -> None:
    tokens = [resolved_case(ws, server, category=c, title=f"VPN {i}") for i, c in enumerate(["Network", "Network",
              "Email"])]  # fmt: skip
    ratings.answer(ws, tokens[0], "good", "<b>quick</b>")
    ratings.answer(ws, tokens[1], "bad")
    with pytest.raises(PermissionDenied):
        satisfaction(ws, actor=acct(ws, "Ana"))
    report = satisfaction(ws, actor=acct(ws, "Lea"))
    assert (report.overall.asked, report.overall.answered, report.overall.good) == (3, 2, 1)
    (ana,) = report.by_agent
    assert (ana.name, ana.asked, ana.answered, ana.good_share) == ("Ana", 3, 2, 0.5)
    by_category = {r.name: r for r in report.by_category}
    assert by_category["Network"].bad == 1 and by_category["Email"].good_share is None
    assert [r.comment for r in report.comments] == ["<b>quick</b>"]
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    assert satisfaction(ws, actor=acct(ws, "Lea"), since=tomorrow).overall.asked == 0


def test_ratings_are_stored_once_and_answered_once(kb: KnowledgeBase) -> None:
    """Storage on both backends."""
    with kb.write("test") as w:
        case = w.add_incident(title="VPN", body="x", language="en")
        asked = w.add_rating(case, "a" * 64, expires_at=utcnow() + dt.timedelta(days=1), agent="Ana", category=None)
    with kb.write(ratings.RATER) as w:
        w.answer_rating(asked.id, "bad", "<i>slow</i>")
    with pytest.raises(StaleEdit), kb.write(ratings.RATER) as w:
        w.answer_rating(asked.id, "good", None)
    stored = kb.rating_by_hash("a" * 64)
    assert (stored.score, stored.comment, stored.agent) == ("bad", "<i>slow</i>", "Ana")
    assert [e.action for e in kb.events("incident", case)][-2:] == ["rating_asked", "rated"]
    assert kb.rating_by_hash("b" * 64) is None

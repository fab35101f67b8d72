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
import sqlalchemy as sa

from api import create_app
from kb import InvalidValue, KnowledgeBase, StaleEdit
from kb.models import utcnow
from pipeline import jobs
from pipeline.access import PermissionDenied
from pipeline.channels import deliver, notice_texts, notices, ratings
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


def resolved_case(
    ws: Workspace, server: SmtpServer, *, category: str = "Network", title: str = "VPN drops", language: str = "en"
) -> str:
    """A case of Kim's, held by Ana, resolved; the rating token its resolution notice carried."""
    with ws.kb.write("intake") as w:
        kim = w.requester_for_email(REQUESTER) or w.add_requester("Kim Lee", [REQUESTER])
        case = w.add_incident(title=title, body="often", language=language, requester_id=kim, category=category)
    casework.claim(ws, case, actor=acct(ws, "Ana"))
    casework.move(ws, case, "resolved", actor=acct(ws, "Ana"), version=ws.kb.incident(case).version)
    jobs.outbox(ws)
    return last_link(server)


def last_link(server: SmtpServer) -> str:
    """The rating token in the last mail the server took with one."""
    return next(found.group(1) for m in reversed(server.received) if (found := LINK.search(m.message.get_content())))


def stored_texts(ws: Workspace) -> Iterator[tuple[str, str]]:
    """(table, text) for every text (and byte) value in every table of the knowledge base."""
    with ws.kb.engine.connect() as c:
        for table in sa.inspect(c).get_table_names():
            for row in c.execute(sa.text(f'SELECT * FROM "{table}"')):
                for value in row:
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", "replace")
                    if isinstance(value, str):
                        yield table, value


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


def test_no_stored_text_holds_the_token_a_mail_carried(ws: Workspace, server: SmtpServer, api: httpx.Client) -> None:
    """The notice is kept with a marker (which reads as such on the case), the link made at the send; an admin's
    wording of the notice places it as the built-in one does."""
    with ws.kb.write("test") as w:
        w.add_user("Admin", "admin")
    notice_texts.save_wording(
        ws, "resolved", "en", subject="Case ${id} done", body="Fixed: ${title}.\nRate us: ${rating_link}",
        actor=acct(ws, "Admin"),
    )  # fmt: skip
    token = resolved_case(ws, server, title="Printer (rating link) jams")
    assert server.received[-1].message.get_content().count(token) == 2  # the requester's own title, their own link
    stored = list(stored_texts(ws))
    assert {"deliveries", "ratings", "events"} <= {table for table, _ in stored}
    assert [table for table, text in stored if token in text] == []
    (notice,) = [d for d in ws.kb.deliveries(ws.kb.ratings()[0].incident_id) if d.purpose == "resolved"]
    assert notice.body == f"Fixed: Printer {ratings.MARKER} jams.\nRate us: {ratings.MARKER}"
    answered = api.post(f"/ratings/{token}", json={"score": "good"})
    assert answered.status_code == 200 and answered.json()["score"] == "good"


def test_a_send_tried_again_makes_a_new_link_and_the_last_one_no_longer_answers(
    ws: Workspace, server: SmtpServer, api: httpx.Client
) -> None:
    """The server takes the mail but answers 451 (its acceptance lost): the notice is tried again with a new link,
    the first one refused; the hash is committed before each send, so whatever is delivered answers."""
    accept = server.handle_DATA

    async def takes_then_refuses(*args) -> str:
        await accept(*args)
        return "451 4.3.0 Try again later (test server)"

    server.handle_DATA = takes_then_refuses
    with ws.kb.write("intake") as w:
        kim = w.add_requester("Kim Lee", [REQUESTER])
        case = w.add_incident(title="VPN", body="x", language="en", requester_id=kim, category="Network")
    casework.claim(ws, case, actor=acct(ws, "Ana"))
    casework.move(ws, case, "resolved", actor=acct(ws, "Ana"), version=ws.kb.incident(case).version)
    start = utcnow()
    jobs.outbox(ws)
    first = last_link(server)
    (notice,) = [d for d in ws.kb.deliveries(case) if d.purpose == "resolved"]
    assert ws.kb.delivery(notice.id).status == "pending" and api.get(f"/ratings/{first}").status_code == 200
    server.handle_DATA = accept
    (sent,) = [d for d in deliver.deliver(ws, now=start + dt.timedelta(minutes=2)) if d.id == notice.id]
    second = last_link(server)
    assert sent.status == "sent" and second != first and len(ws.kb.ratings()) == 1
    refused = api.post(f"/ratings/{first}", json={"score": "bad"})
    assert refused.status_code == 404 and refused.headers["content-type"] == PROBLEM
    assert api.post(f"/ratings/{second}", json={"score": "good"}).status_code == 200
    assert all(first not in text and second not in text for _, text in stored_texts(ws))
    actions = [e.action for e in ws.kb.events("incident", case)]
    assert actions.count("rating_asked") == 1 and actions.count("rating_link_sent") == 2


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
SAFE = {"content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
        "x-frame-options": "DENY"}  # fmt: skip


def is_page(answer: httpx.Response, status: int) -> str:
    assert answer.status_code == status and answer.headers["content-type"].startswith("text/html")
    assert {k: answer.headers.get(k) for k in SAFE} == SAFE
    tags = set(re.findall(r"<([a-zA-Z][\w-]*)", answer.text))  # all markup: what is shown has "&lt;" for "<"
    assert tags <= {"html", "head", "meta", "title", "style", "body", "h1", "p", "form", "label", "br", "textarea",
                    "button", "blockquote"}, tags  # fmt: skip
    return answer.text


def test_a_browser_gets_the_question_as_a_page_and_answers_it_once_with_its_form(
    ws: Workspace, server: SmtpServer, api: httpx.Client
) -> None:
    token = resolved_case(ws, server, title=HTML_TITLE)
    page = is_page(api.get(f"/ratings/{token}", headers=BROWSER), 200)
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page and "&lt;b&gt;Bold&lt;/b&gt;" in page
    assert "How did we do?" in page and '<form method="post"' in page and "action=" not in page
    assert '<button type="submit" name="score" value="good">Good</button>' in page and 'value="bad"' in page
    assert ws.kb.ratings()[0].answered_at is None  # looking changed nothing
    comment = '<img src=x onerror=alert(1)> slow & "late"'
    thanks = is_page(api.post(f"/ratings/{token}", data={"score": "bad", "comment": comment}, headers=BROWSER), 200)
    assert "Thank you" in thanks and "Bad" in thanks and "&lt;img src=x onerror=alert(1)&gt;" in thanks
    assert (ws.kb.ratings()[0].score, ws.kb.ratings()[0].comment) == ("bad", comment)  # kept as typed
    again = is_page(api.post(f"/ratings/{token}", data={"score": "good"}, headers=BROWSER), 409)
    assert "cannot take an answer" in again and "answered already" in again
    assert ws.kb.ratings()[0].score == "bad"
    assert "Your answer was recorded: Bad." in is_page(api.get(f"/ratings/{token}", headers=BROWSER), 200)
    assert api.get(f"/ratings/{token}").json()["score"] == "bad"  # JSON as before for any other client


def test_the_page_asks_in_the_cases_language_and_refuses_in_words(
    ws: Workspace, server: SmtpServer, api: httpx.Client
) -> None:
    token = resolved_case(ws, server, title="VPNが切れる", language="ja")
    page = is_page(api.get(f"/ratings/{token}", headers=BROWSER), 200)
    assert '<html lang="ja">' in page and "今回の対応はいかがでしたか" in page and "VPNが切れる" in page
    unknown = is_page(api.get("/ratings/not-a-link", headers=BROWSER | {"Accept-Language": "ja"}), 404)
    assert "満足度リンクは見つかりません" in unknown
    off_scale = is_page(api.post(f"/ratings/{token}", data={"score": "excellent"}, headers=BROWSER), 422)
    assert "excellent" in off_scale and "評価は" in off_scale
    too_long = {"score": "good", "comment": "y" * (ratings.MAX_COMMENT_CHARS + 1)}
    assert "2001" in is_page(api.post(f"/ratings/{token}", data=too_long, headers=BROWSER), 422)
    assert ws.kb.ratings()[0].answered_at is None


def test_an_oversized_or_unreadable_form_is_refused_and_a_form_from_a_json_client_gets_json(
    ws: Workspace, server: SmtpServer, api: httpx.Client
) -> None:
    token = resolved_case(ws, server)
    huge = {"score": "good", "comment": "x" * (ws.settings.api.max_body_bytes + 1)}
    refused = api.post(f"/ratings/{token}", data=huge, headers=BROWSER)
    assert refused.status_code == 413 and refused.headers["content-type"] == PROBLEM
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    unreadable = api.post(f"/ratings/{token}", content=b"score=good&comment=\xff\xfe", headers=form)
    assert unreadable.status_code == 422 and unreadable.headers["content-type"] == PROBLEM
    assert api.post(f"/ratings/{token}", data={"score": "good", "extra": "1"}).status_code == 422
    assert ws.kb.ratings()[0].answered_at is None
    answered = api.post(f"/ratings/{token}", data={"score": "good", "comment": "ok"})
    assert answered.status_code == 200 and answered.json()["comment"] == "ok"

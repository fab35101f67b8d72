"""The HTTP API, served for real (uvicorn on loopback) over a private copy of the demo knowledge base and called
with httpx: the round trip with a token of each role, every refusal as problem details, the body cap, the rate
limit, and schemathesis against the API's own OpenAPI description."""

from __future__ import annotations

import gzip
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import schemathesis
import uvicorn
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api import create_app
from cli import cli
from kb import KnowledgeBase
from pipeline.access import Account, PermissionDenied, team
from pipeline.access.tokens import TokenRefused, authenticate, issue_token, revoke_token, tokens_of
from pipeline.channels.config import ApiSettings
from pipeline.settings import Settings
from pipeline.workspace import Workspace
from tests.conftest import acct, copy_knowledge_base
from tests.test_browser import free_port

PROBLEM = "application/problem+json"
ROLES = {"agent": "Raj Mehta", "lead": "Emily Carter", "admin": "Admin"}
MAX_BODY = 20_000
HOSTILE_TITLE = "<script>alert('x')</script> <img src=x onerror=alert(1)> **bold** [a](javascript:alert(1))"


@dataclass
class Served:
    url: str  # the API, limits generous
    limited_url: str  # the same API and knowledge base, 3 requests a minute per token
    ws: Workspace
    tokens: dict[str, str]  # role -> a token of that role's demo account

    def client(self, role: str | None = None, *, url: str | None = None, **headers: str) -> httpx.Client:
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return httpx.Client(base_url=f"{url or self.url}/api/v1", headers=headers, timeout=120)


@contextmanager
def serving(app) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port, in a thread, until the block ends."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the API server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)


@pytest.fixture(scope="module")
def served(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    copy = copy_knowledge_base(demo_settings, tmp_path_factory.mktemp("api"))
    generous = copy.model_copy(update={"api": ApiSettings(max_body_bytes=MAX_BODY, requests_per_minute=100_000)})
    limited = copy.model_copy(update={"api": ApiSettings(max_body_bytes=MAX_BODY, requests_per_minute=3)})
    with Workspace(generous) as ws:
        operator = Account.operator("test")
        tokens = {role: issue_token(ws.kb, ws.kb.user(name).id, actor=operator).token for role, name in ROLES.items()}
        app, limited_app = create_app(generous, workspace=ws), create_app(limited, workspace=ws)
        with serving(app) as url, serving(limited_app) as limited_url:
            yield Served(url, limited_url, ws, tokens)


def is_problem(response: httpx.Response, status: int) -> dict:
    """The response's problem details, checked to be RFC 9457's for ``status``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    assert body["instance"] == response.request.url.path
    return body


def report(title: str = "VPN drops every few minutes", **extra) -> dict:
    body = "GlobalProtect VPN disconnects every few minutes when working from home; error 'gateway timeout'."
    return {"title": title, "body": body, "requester_email": "kim.lee@example.com", **extra}


def test_the_round_trip_with_a_token_of_each_role(served: Served) -> None:
    for role in ROLES:
        with served.client(role) as api:
            filed = api.post("/incidents", json=report(labels={"priority": "P2"}))
            assert filed.status_code == 201, filed.text
            case = filed.json()
            assert case["incident"]["priority"] == "P2"  # the sender's label is kept, not replaced
            assert {s["target"] for s in case["suggestions"]} == {"category", "priority", "escalation_level"}
            for s in case["suggestions"]:
                assert s["not_sure"] == (s["value"] is None) and 0 <= s["confidence"] <= 1
            assert case["similar"] and all(c["status"] in ("resolved", "closed") for c in case["similar"])
            assert "VPN" in case["similar"][0]["title"] + (case["similar"][0]["resolution"] or "")
            if role != "agent":  # the agent's case, filed first, is the earlier open twin of the later ones
                assert case["possible_duplicate"] is not None
            shown = api.get(f"/incidents/{case['id']}").json()
            assert shown["incident"]["title"] == "VPN drops every few minutes"
            assert shown["incident"]["requester"] and len(shown["suggestions"]) == 3

            noted = api.post(f"/incidents/{case['id']}/messages", json={"kind": "note", "body": "Asked for logs."})
            assert noted.status_code == 201, noted.text
            version = noted.json()["version"]
            reply = {"kind": "reply", "subject": "Your VPN", "body": "Please try again.", "version": version}
            replied = api.post(f"/incidents/{case['id']}/messages", json=reply)
            assert replied.status_code == 201, replied.text
            messages = api.get(f"/incidents/{case['id']}").json()["messages"]
            assert [(m["kind"], m["author"]) for m in messages] == [
                ("note", ROLES[role]),
                ("to_requester", ROLES[role]),
            ]

            found = api.get("/search", params={"q": "VPN gateway timeout", "limit": 5}).json()
            assert len(found["resolved"]) == 5 and case["id"] in {c["id"] for c in found["open"]}
            newest = api.get("/incidents", params={"limit": 1}).json()["items"][0]["id"]
            suggested = api.post("/suggest", json={"text": "Outlook keeps asking for my password"})
            assert suggested.status_code == 200 and suggested.json()["suggestions"]
            assert api.get("/incidents", params={"limit": 1}).json()["items"][0]["id"] == newest  # filed nothing

            thresholds = api.get("/thresholds")
            change = api.put("/thresholds", json={"precision": {"category": 0.8}, "note": f"by the {role}"})
            if role == "agent":  # the pipeline refuses the agent, as it does on the Thresholds page
                assert "may not" in is_problem(thresholds, 403)["detail"]
                assert "Raj Mehta" in is_problem(change, 403)["detail"]
            else:
                assert thresholds.status_code == 200 and change.status_code == 200, change.text
                assert change.json()["precision"]["category"] == 0.8
                assert change.json()["version"] != thresholds.json()["version"]
                assert served.ws.kb.threshold_policies()[0].created_by == ROLES[role]


def test_markup_and_script_are_stored_and_returned_as_plain_text(served: Served) -> None:
    with served.client("agent") as api:
        filed = api.post("/incidents", json=report(HOSTILE_TITLE))
        assert filed.status_code == 201 and filed.headers["content-type"] == "application/json"
        assert filed.headers["x-content-type-options"] == "nosniff"
        assert api.get(f"/incidents/{filed.json()['id']}").json()["incident"]["title"] == HOSTILE_TITLE
    assert served.ws.kb.incident(filed.json()["id"]).title == HOSTILE_TITLE


def test_no_wrong_or_revoked_token_and_a_disabled_account_are_refused(served: Served) -> None:
    kb, operator = served.ws.kb, Account.operator("test")
    revoked = issue_token(kb, kb.user("Raj Mehta").id, actor=operator, label="old script")
    revoke_token(kb, revoked.record.id, actor=operator)
    leaver = team.add_account(kb, "Leaver", "agent", actor=operator, password="a long password")
    disabled = issue_token(kb, leaver.id, actor=operator).token
    assert httpx.get(f"{served.url}/api/v1/incidents", headers={"Authorization": f"Bearer {disabled}"}).is_success
    team.update_account(kb, leaver.id, active=False, actor=operator)
    refusals = {
        None: "No API token",
        "Basic dXNlcjpwYXNz": "No API token",
        "Bearer ikb_not-a-token": "not known",
        f"Bearer {'x' * 5000}": "not known",
        f"Bearer {revoked.token}": "revoked",
        f"Bearer {disabled}": "Leaver is disabled",
    }
    for header, said in refusals.items():
        headers = {"Authorization": header} if header else {}
        for method, path in (("GET", "/incidents"), ("POST", "/incidents"), ("PUT", "/thresholds")):
            response = httpx.request(method, f"{served.url}/api/v1{path}", headers=headers, json=report())
            assert said in is_problem(response, 401)["detail"]
            assert response.headers["www-authenticate"] == "Bearer"
    japanese = httpx.get(f"{served.url}/api/v1/incidents", headers={"Accept-Language": "ja,en;q=0.5"})
    assert "トークン" in is_problem(japanese, 401)["detail"] and japanese.headers["content-language"] == "ja"


def test_a_token_is_kept_only_as_its_hash(served: Served) -> None:
    kb = served.ws.kb
    with sqlite3.connect(kb.sqlite_path) as db:
        stored = {row[0] for row in db.execute("SELECT token_hash FROM api_tokens")}
    for token in served.tokens.values():
        assert token.startswith("ikb_") and len(token) >= 46  # 256 random bits
        assert hashlib.sha256(token.encode()).hexdigest() in stored
        assert token.encode() not in kb.sqlite_path.read_bytes()


def test_who_may_issue_list_and_revoke_tokens(served: Served) -> None:
    kb = served.ws.kb
    agent, admin = acct(served.ws, "Raj Mehta"), acct(served.ws, "Admin")
    lead_id = kb.user("Emily Carter").id
    with pytest.raises(PermissionDenied):
        issue_token(kb, lead_id, actor=agent)
    with pytest.raises(PermissionDenied):
        tokens_of(kb, lead_id, actor=agent)
    lead_token = issue_token(kb, lead_id, actor=admin, label="for the lead")
    with pytest.raises(PermissionDenied):
        revoke_token(kb, lead_token.record.id, actor=agent)
    own = issue_token(kb, agent.id, actor=agent, label="mine")
    assert authenticate(kb, own.token)[0] == agent
    revoke_token(kb, own.record.id, actor=agent)
    with pytest.raises(TokenRefused):
        authenticate(kb, own.token)
    assert [e.action for e in kb.events("user", agent.id)][-2:] == ["token_issued", "token_revoked"]


def test_tokens_and_case_pages_are_kept_alike_on_both_backends(make_kb) -> None:
    kb = make_kb()
    operator = Account.operator("test")
    kim = team.add_account(kb, "Kim Lee", "agent", actor=operator, password="a long password")
    issued = issue_token(kb, kim.id, actor=operator, label="  nightly report  ")
    assert kb.tokens(kim.id) == [issued.record] and issued.record.label == "nightly report"
    assert kb.token_by_hash(hashlib.sha256(issued.token.encode()).hexdigest()) == issued.record
    actor, record = authenticate(kb, issued.token)
    assert actor.name == "Kim Lee" and kb.token(record.id).last_used_at is not None
    first = revoke_token(kb, record.id, actor=operator)
    assert revoke_token(kb, record.id, actor=operator).revoked_at == first.revoked_at  # revoked once
    with pytest.raises(KeyError, match="999"):
        revoke_token(kb, 999, actor=operator)
    with pytest.raises(ValueError, match="100 characters"):
        issue_token(kb, kim.id, actor=operator, label="x" * 101)
    with kb.write("test") as w:
        ids = [w.add_incident(title=f"Case {n}", language="en", status="new") for n in range(5)]
        w.update_incident(ids[1], assignee="Kim Lee", status="in_progress")
    first_page = kb.incident_page(limit=2)
    assert [c.id for c in first_page] == [ids[4], ids[3]]
    rest = kb.incident_page(limit=10, below=first_page[-1].id)
    assert [c.id for c in first_page + rest] == ids[::-1]
    assert [c.id for c in kb.incident_page(limit=10, statuses=("in_progress",), assignee="Kim Lee")] == [ids[1]]


def test_the_token_commands(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    with KnowledgeBase(f"sqlite:///{db}") as kb:
        team.add_account(kb, "Kim Lee", "agent", actor=Account.operator("test"), password="a long password")
    runner = CliRunner()
    issued = runner.invoke(cli, ["--db", str(db), "users", "token", "Kim Lee", "--label", "monitoring"])
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip().splitlines()[-1]
    with KnowledgeBase(f"sqlite:///{db}") as kb:
        assert authenticate(kb, token)[0].name == "Kim Lee"
    listed = runner.invoke(cli, ["--db", str(db), "users", "tokens", "Kim Lee"])
    assert listed.exit_code == 0 and "monitoring" in listed.output and "active" in listed.output
    assert token not in listed.output
    token_id = listed.output.split("\t")[0]
    revoked = runner.invoke(cli, ["--db", str(db), "users", "revoke-token", token_id])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert "revoked" in runner.invoke(cli, ["--db", str(db), "users", "tokens", "Kim Lee"]).output
    with KnowledgeBase(f"sqlite:///{db}") as kb, pytest.raises(TokenRefused):
        authenticate(kb, token)
    unknown = runner.invoke(cli, ["--db", str(db), "users", "revoke-token", "999"])
    assert unknown.exit_code == 1 and "999" in unknown.output and "Traceback" not in unknown.output


def test_bad_input_is_a_422_naming_what_is_wrong_and_stores_nothing(served: Served) -> None:
    with served.client("agent") as api:
        newest = api.get("/incidents", params={"limit": 1}).json()["items"][0]["id"]
        unknown_field = is_problem(api.post("/incidents", json=report(assignee="Admin")), 422)
        assert [e["field"] for e in unknown_field["errors"]] == ["body.assignee"]
        assert "assignee" in unknown_field["detail"]
        bad_label = is_problem(api.post("/incidents", json=report(labels={"priority": "P0"})), 422)
        assert bad_label["errors"][0]["field"] == "body.labels.priority"
        unknown_category = is_problem(api.post("/incidents", json=report(labels={"category": "Nonsense"})), 422)
        assert "Nonsense" in unknown_category["detail"]
        not_json = api.post("/incidents", content=b"{not json", headers={"Content-Type": "application/json"})
        is_problem(not_json, 422)
        assert is_problem(api.post("/incidents", json=report(requester_email="no address")), 422)
        blank = is_problem(api.post("/incidents", json=report("", body="   \n ")), 422)
        assert "empty" in blank["detail"]
        assert api.get("/incidents", params={"limit": 1}).json()["items"][0]["id"] == newest
        assert "status" in is_problem(api.get("/incidents", params={"status": "nonsense"}), 422)["detail"]
        assert "cursor" in is_problem(api.get("/incidents", params={"cursor": "bm90LWEtY3Vyc29y"}), 422)["detail"]
        reply_without_subject = api.post(f"/incidents/{newest}/messages", json={"kind": "reply", "body": "Hi"})
        assert "subject" in is_problem(reply_without_subject, 422)["detail"]
        japanese = api.post("/incidents", json=report(x=1), headers={"Accept-Language": "ja"})
        assert "リクエスト" in is_problem(japanese, 422)["detail"]
        assert "99999" in is_problem(api.get("/incidents/99999"), 404)["detail"]
        assert is_problem(api.post("/incidents/99999/messages", json={"kind": "note", "body": "x"}), 404)
        assert is_problem(api.get("/nowhere"), 404)["detail"].startswith("Nothing is at /api/v1/nowhere")
        assert is_problem(api.delete("/thresholds"), 405)
    with served.client("lead") as lead:
        version = lead.get("/thresholds").json()["version"]
        for wrong in ({"precision": {"category": 1.5}}, {"precision": {"impact": 0.9}}, {"precision": 0.9}):
            assert is_problem(lead.put("/thresholds", json=wrong), 422)["errors"]
        assert lead.get("/thresholds").json()["version"] == version


def test_oversized_and_compressed_bodies_are_refused_before_they_are_read(served: Served) -> None:
    big = json.dumps(report(body="x" * (MAX_BODY + 1))).encode()
    with served.client("agent") as api:
        newest = api.get("/incidents", params={"limit": 1}).json()["items"][0]["id"]
        headers = {"Content-Type": "application/json"}
        assert "20000 bytes" in is_problem(api.post("/incidents", content=big, headers=headers), 413)["detail"]

        def chunked() -> Iterator[bytes]:  # no Content-Length: the server must count as it reads
            for start in range(0, len(big), 1000):
                yield big[start : start + 1000]

        response = api.post("/incidents", content=chunked(), headers=headers)
        assert response.request.headers.get("transfer-encoding") == "chunked"
        assert "content-length" not in response.request.headers
        is_problem(response, 413)
        # A few hundred bytes that would unpack to megabytes.
        bomb = gzip.compress(json.dumps(report(body="x" * 5_000_000)).encode())
        compressed = api.post("/incidents", content=bomb, headers={**headers, "Content-Encoding": "gzip"})
        assert "gzip" in is_problem(compressed, 415)["detail"]
        assert api.get("/incidents", params={"limit": 1}).json()["items"][0]["id"] == newest


def test_the_rate_limit_is_per_token(served: Served) -> None:
    with served.client("agent", url=served.limited_url) as agent, served.client("lead", url=served.limited_url) as lead:
        assert [agent.get("/incidents", params={"limit": 1}).status_code for _ in range(3)] == [200] * 3
        limited = agent.get("/incidents", params={"limit": 1})
        assert "3 requests a minute" in is_problem(limited, 429)["detail"]
        assert int(limited.headers["retry-after"]) >= 1
        assert lead.get("/incidents", params={"limit": 1}).status_code == 200  # another token has its own


def test_cursor_pagination_returns_every_case_once(served: Served) -> None:
    seen: list[int] = []
    cursor = None
    with served.client("lead") as api:
        while True:
            params = {"limit": 200} | ({"cursor": cursor} if cursor else {})
            page = api.get("/incidents", params=params).json()
            seen += [case["id"] for case in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == served.ws.kb.stats().incidents
        assert seen == sorted(seen, reverse=True)
        holder = served.ws.kb.incident(seen[-1])  # some case; filter on its status and holder
        params = {"status": holder.status, "limit": 3} | ({"assignee": holder.assignee} if holder.assignee else {})
        filtered = api.get("/incidents", params=params).json()["items"]
        assert filtered and all(c["status"] == holder.status for c in filtered)


def test_a_reply_on_a_stale_version_is_a_409_and_changes_nothing(served: Served) -> None:
    with served.client("agent") as agent, served.client("lead") as lead:
        case = agent.post("/incidents", json=report("Printer on floor 3 jams")).json()["incident"]
        lead.post(f"/incidents/{case['id']}/messages", json={"kind": "reply", "subject": "Printer", "body": "On it."})
        stale = {"kind": "reply", "subject": "Printer", "body": "Me too.", "version": case["version"]}
        refused = agent.post(f"/incidents/{case['id']}/messages", json=stale)
        assert is_problem(refused, 409)["code"].startswith("stale_edit")
        assert [m["body"] for m in agent.get(f"/incidents/{case['id']}").json()["messages"]] == ["On it."]


def test_the_openapi_description_is_served(served: Served) -> None:
    document = httpx.get(f"{served.url}/api/v1/openapi.json").json()
    paths = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    assert paths == {
        ("POST", "/api/v1/incidents"),
        ("GET", "/api/v1/incidents"),
        ("GET", "/api/v1/incidents/{incident_id}"),
        ("POST", "/api/v1/incidents/{incident_id}/messages"),
        ("GET", "/api/v1/search"),
        ("POST", "/api/v1/suggest"),
        ("GET", "/api/v1/thresholds"),
        ("PUT", "/api/v1/thresholds"),
        ("GET", "/api/v1/ratings/{token}"),
        ("POST", "/api/v1/ratings/{token}"),
    }
    assert httpx.get(f"{served.url}/api/v1/docs").status_code == 200


@pytest.mark.slow
def test_the_api_keeps_to_its_own_description(served: Served) -> None:
    """Schemathesis's cases from the served OpenAPI description, valid and invalid, with an admin's token: no 500,
    and every answer (its status, type and body) as the description says. (Its pytest plugin's lazy schema does not
    run on pytest 9.2, which dropped ``Node._nodeid``: each operation's strategy is run with Hypothesis here.)"""
    schema = schemathesis.openapi.from_url(f"{served.url}/api/v1/openapi.json")
    token = {"Authorization": f"Bearer {served.tokens['admin']}"}
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 10
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=6, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def keeps_to_it(case) -> None:
                case.call_and_validate(headers=token, checks=checks, timeout=120)

            keeps_to_it()

"""Problem records and known errors: storage on both backends (links, one problem per incident, stale versions,
the event log), the pipeline's rules (roles, known errors need a workaround, huge text, unknown ids), the known
errors a report's similar cases lead to, the notice to the holders of open cases when a problem is resolved (once),
and the pages in AppTest on the demo: markup shown as typed, the workaround at triage and on the case."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app_pages.common import md
from kb import IncidentNotFound, InvalidValue, KnowledgeBase, StaleEdit
from kb.problems import MAX_TEXT_CHARS
from pipeline import jobs
from pipeline.access import PermissionDenied
from pipeline.channels import notices
from pipeline.knowledge import problems
from pipeline.settings import Settings
from pipeline.triage.search import SimilarCase
from pipeline.workspace import Workspace
from tests.conftest import HTML_TITLE, acct, add_resolved
from tests.smtp_server import SmtpServer, smtp_server
from tests.test_app import open_app
from tests.test_mail_out import mail_settings

LEAD = "Emily Carter"  # the demo's lead
AGENT = "Raj Mehta"
MARKUP = "<b>restart</b> <script>alert('x')</script> **spooler** :red[now] [link](http://example.com)"


def _cases(kb: KnowledgeBase, n: int, **fields: object) -> list[int]:
    with kb.write("test") as w:
        return [w.add_incident(title=f"Printer queue stuck {i}", language="en", **fields) for i in range(n)]


# -- storage, both backends ------------------------------------------------------------------------------------------
def test_problems_are_kept_with_their_links_and_every_change_is_in_the_event_log(kb: KnowledgeBase) -> None:
    first, second, third = _cases(kb, 3)
    with kb.write("Ana") as w:
        problem = w.add_problem("Spooler hangs", created_by="Ana", description="after the update")
        assert w.link_incident(problem.id, first, linked_by="Ana")
        assert w.link_incident(problem.id, second, linked_by="Ana")
        assert not w.link_incident(problem.id, first, linked_by="Ana")  # already: nothing changes
    stored = kb.problem(problem.id)
    assert (stored.title, stored.status, stored.linked, stored.version) == ("Spooler hangs", "open", (first, second), 1)
    assert kb.problems(statuses=("known_error",)) == [] and [p.id for p in kb.problems()] == [problem.id]
    assert set(kb.problem_links([first, second, third])) == {first, second}

    with kb.write("Lead") as w:
        after, changed = w.update_problem(
            problem.id, expected_version=1, root_cause="driver 4.2", workaround="restart", status="known_error"
        )
    assert changed["status"] == ("open", "known_error") and after.version == 2 and after.resolved_at is None
    with pytest.raises(StaleEdit, match="changed by Lead"), kb.write("Ana") as w:
        w.update_problem(problem.id, expected_version=1, title="Other")
    with kb.write("Lead") as w:
        resolved, _ = w.update_problem(problem.id, expected_version=2, status="resolved")
        w.unlink_incident(problem.id, second)
    assert resolved.resolved_at is not None and kb.problem(problem.id).linked == (first,)

    log = [(e.actor, e.action, e.field, e.old_value, e.new_value) for e in kb.events("problem", problem.id)]
    assert log[:2] == [
        ("Ana", "create", "title", None, "Spooler hangs"),
        ("Ana", "create", "description", None, "after the update"),
    ]
    assert ("Lead", "update", "status", "open", "known_error") in log
    assert ("Lead", "unlink", "incident", str(second), None) in log
    assert [e.action for e in kb.events("incident", second)][-2:] == ["problem_linked", "problem_unlinked"]


def test_an_incident_is_linked_to_one_problem_and_unknown_ids_are_refused(kb: KnowledgeBase) -> None:
    [case] = _cases(kb, 1)
    with kb.write("Ana") as w:
        one = w.add_problem("One", created_by="Ana")
        other = w.add_problem("Other", created_by="Ana")
        w.link_incident(one.id, case, linked_by="Ana")
    with pytest.raises(InvalidValue, match=f"case #{case} is already linked to problem #{one.id}"), kb.write("A") as w:
        w.link_incident(other.id, case, linked_by="Ana")
    with pytest.raises(InvalidValue, match=f"case #{case} is not linked to problem #{other.id}"), kb.write("A") as w:
        w.unlink_incident(other.id, case)
    with pytest.raises(IncidentNotFound), kb.write("A") as w:
        w.link_incident(one.id, 99_999, linked_by="Ana")
    with pytest.raises(InvalidValue, match="no problem record 12345"):
        kb.problem(12345)
    with pytest.raises(InvalidValue, match="'closed' is not a problem status"), kb.write("A") as w:
        w.update_problem(one.id, status="closed")
    assert kb.problem(other.id).linked == () and kb.problem_links([case])[case].problem_id == one.id


# -- the pipeline's rules --------------------------------------------------------------------------------------------
@pytest.fixture
def team(workspace: Workspace) -> Workspace:
    with workspace.kb.write("test") as w:
        w.add_user("Ana", "agent")
        w.add_user("Bo", "agent")
        w.add_user("Lee", "lead")
    return workspace


def test_agents_work_on_problems_and_leads_decide_their_status(team: Workspace) -> None:
    ws, ana, lee = team, acct(team, "Ana"), acct(team, "Lee")
    cases = _cases(ws.kb, 2)
    made = problems.create(ws, "Spooler hangs", actor=ana, case_ids=cases)
    made = problems.edit(ws, made.id, actor=ana, version=made.version, root_cause="driver 4.2", owner="Ana")
    assert (made.root_cause, made.owner, made.linked) == ("driver 4.2", "Ana", tuple(cases))

    for change in ({"status": "known_error"}, {"owner": "Bo"}):
        with pytest.raises(PermissionDenied, match="change a problem's status"):
            problems.edit(ws, made.id, actor=ana, version=made.version, **change)
    with pytest.raises(PermissionDenied):  # nor does another agent take it from Ana
        problems.edit(ws, made.id, actor=acct(ws, "Bo"), version=made.version, owner="Bo")
    assert ws.kb.problem(made.id).version == made.version  # refused whole
    with pytest.raises(InvalidValue, match="without a workaround"):
        problems.edit(ws, made.id, actor=lee, version=made.version, status="known_error")
    known = problems.edit(ws, made.id, actor=lee, version=made.version, workaround="restart", status="known_error")
    assert known.status == "known_error"
    # What triage shows was vetted by a lead: an agent no longer edits it, but may still describe the problem.
    with pytest.raises(PermissionDenied):
        problems.edit(ws, made.id, actor=ana, version=known.version, workaround="reinstall everything")
    described = problems.edit(ws, made.id, actor=ana, version=known.version, description="since Monday")
    with pytest.raises(StaleEdit, match=f"problem #{made.id} was changed by Ana"):
        problems.edit(ws, made.id, actor=lee, version=known.version, title="late")
    with pytest.raises(InvalidValue, match="'Nobody' is no active account"):
        problems.edit(ws, made.id, actor=lee, version=described.version, owner="Nobody")
    huge = "x" * (MAX_TEXT_CHARS + 1)
    with pytest.raises(InvalidValue, match=f"Root cause has {MAX_TEXT_CHARS + 1:,} characters; at most 20,000"):
        problems.edit(ws, made.id, actor=lee, version=described.version, root_cause=huge)
    with pytest.raises(InvalidValue, match="Title cannot be empty"):
        problems.create(ws, "  ", actor=ana)


def test_a_cluster_becomes_a_problem_of_its_cases_not_linked_elsewhere(team: Workspace) -> None:
    ws, ana = team, acct(team, "Ana")
    cases = _cases(ws.kb, 4)
    taken = problems.create(ws, "Earlier", actor=ana, case_ids=cases[:1])
    made = problems.from_cluster(ws, "printer · queue · stuck", cases, actor=ana)
    assert made.title == "printer · queue · stuck" and made.linked == tuple(cases[1:])
    assert problems.problem_for_cases(ws, cases).id == made.id  # the trends page links to it from now on
    again = problems.from_cluster(ws, "printer · queue · stuck", cases, actor=ana)  # a second click: no empty one
    assert again.id == made.id and ws.kb.count_problems() == 2
    assert problems.problem_for_cases(ws, [12345]) is None and problems.of_case(ws, cases[0]).id == taken.id
    with pytest.raises(InvalidValue, match="already linked"):
        problems.link(ws, taken.id, cases[2], actor=ana)
    problems.unlink(ws, made.id, cases[2], actor=ana)
    problems.link(ws, taken.id, cases[2], actor=ana)
    assert [r.problem.id for r in problems.listing(ws, sort="age")] == [taken.id, made.id]
    assert [(r.problem.id, r.linked) for r in problems.listing(ws, sort="linked")] == [(taken.id, 2), (made.id, 2)]
    with pytest.raises(InvalidValue, match="cannot be sorted by 'size'"):
        problems.listing(ws, sort="size")  # type: ignore[arg-type]


def test_a_known_error_is_found_through_the_similar_cases_triage_found(team: Workspace) -> None:
    ws, ana, lee = team, acct(team, "Ana"), acct(team, "Lee")
    a, b, c, d = ws.kb.incidents(_cases(ws.kb, 4, status="resolved"))
    known = problems.create(ws, "Spooler", actor=ana, case_ids=[a.id, b.id], workaround="restart the spooler")
    known = problems.edit(ws, known.id, actor=lee, version=known.version, status="known_error")
    problems.create(ws, "Still open", actor=ana, case_ids=[c.id], workaround="none yet")
    similar = [SimilarCase(d, 0.9), SimilarCase(b, 0.8), SimilarCase(c, 0.85), SimilarCase(a, 0.6)]
    [match] = problems.known_errors_for(ws, similar)
    assert (match.problem.id, match.case.id, match.similarity) == (known.id, b.id, 0.8)  # its most similar case
    assert problems.known_errors_for(ws, [SimilarCase(d, 0.99)]) == []


# -- the notice ------------------------------------------------------------------------------------------------------
@pytest.fixture
def mailed(settings: Settings) -> Iterator[tuple[Workspace, SmtpServer]]:
    with smtp_server() as server, Workspace(mail_settings(settings, server.port)) as ws:
        with ws.kb.write("test") as w:
            w.add_user("Ana", "agent", email="ana@desk.example")
            w.add_user("Bo", "agent", email="bo@desk.example")
            w.add_user("Lee", "lead", email="lee@desk.example")
        notices.notify(ws)  # the first look: from here on
        yield ws, server


def test_resolving_a_problem_tells_the_holders_of_its_open_cases_once(mailed) -> None:
    ws, server = mailed
    lee = acct(ws, "Lee")
    [open_ana] = _cases(ws.kb, 1, assignee="Ana")
    [open_bo] = _cases(ws.kb, 1, assignee="Bo", status="in_progress")
    [done] = _cases(ws.kb, 1, assignee="Lee", status="resolved")
    [own] = _cases(ws.kb, 1, assignee="Lee")  # open, held by the lead who resolves the problem: Lee knows
    [other] = _cases(ws.kb, 1, assignee="Bo")  # on no problem
    made = problems.create(ws, "Spooler", actor=lee, case_ids=[open_ana, open_bo, done, own], workaround="restart")
    made = problems.edit(ws, made.id, actor=lee, version=made.version, status="known_error")
    jobs.outbox(ws)
    assert not [m for m in server.received if "Problem" in m.message["Subject"]]  # a known error tells nobody

    problems.edit(ws, made.id, actor=lee, version=made.version, status="resolved")
    jobs.outbox(ws)
    jobs.outbox(ws)  # nothing twice
    resolved = [
        (tuple(m.rcpt_tos), m.message["Subject"].strip()) for m in server.received if "Problem" in m.message["Subject"]
    ]
    assert sorted(resolved) == [
        (("ana@desk.example",), f"[#{open_ana}] Problem {made.id} is resolved: case {open_ana} may be too"),
        (("bo@desk.example",), f"[#{open_bo}] Problem {made.id} is resolved: case {open_bo} may be too"),
    ]
    body = next(m.message for m in server.received if "ana@" in m.rcpt_tos[0] and "Problem" in m.message["Subject"])
    assert "was resolved by Lee" in body.get_content()
    assert [e.action for e in ws.kb.events("incident", open_ana)][-2:] == ["problem_resolved", "notice"]
    assert "problem_resolved" not in [e.action for e in ws.kb.events("incident", done)]
    assert "problem_resolved" not in [e.action for e in ws.kb.events("incident", other)]


# -- the pages -------------------------------------------------------------------------------------------------------
@pytest.fixture
def demo(demo_copy: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Settings, pytest.MonkeyPatch]]:
    yield demo_copy, monkeypatch
    st.cache_resource.clear()


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.stack_trace for e in at.exception]
    return at


def shown(at: AppTest) -> str:
    kinds = ("markdown", "caption", "success", "error", "warning", "info", "text")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def test_the_problems_page_makes_edits_and_links_showing_markup_as_typed(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Workspace(settings) as ws:
        for title in ("Printer prints blank pages", "VPN drops at home", "Printer queue stuck"):
            add_resolved(ws, title, "It happened again.")
    at = open_app(settings, monkeypatch, "app_pages/problems.py", user=AGENT)
    at.text_input(key="problems_new_title").input(HTML_TITLE)
    at.button(key="problems_create").click()
    run(at)
    with KnowledgeBase(settings.resolved_database_url) as kb:
        [made] = kb.problems()
    assert at.query_params["id"] == str(made.id) and made.created_by == AGENT
    assert f"#{made.id} · {md(HTML_TITLE)}" in [h.value for h in at.subheader]
    assert at.selectbox(key=f"problems_edit_status_{made.id}").disabled  # an agent does not decide the status
    at.text_area(key=f"problems_edit_root_cause_{made.id}").input(MARKUP)
    at.text_area(key=f"problems_edit_workaround_{made.id}").input(MARKUP)
    at.button(key="problems_save").click()
    run(at)
    at.number_input(key="problems_link_case").set_value(3)
    at.button(key="problems_link").click()
    run(at)
    at.number_input(key="problems_link_case").set_value(999_999)
    at.button(key="problems_link").click()
    run(at)
    assert any("there is no case #999999 to link" in e.value.replace("\\", "") for e in at.error)

    lead = open_app(settings, monkeypatch, "app_pages/problems.py", user=LEAD, role="lead")
    lead.query_params["id"] = str(made.id)
    run(lead)
    lead.selectbox(key=f"problems_edit_status_{made.id}").set_value("known_error")
    lead.button(key="problems_save").click()
    run(lead)
    assert md(f"Workaround: {MARKUP}") in shown(lead)  # escaped: shown as typed, never rendered
    # Huge text: the box takes no more than is kept (and the pipeline refuses more, as tested above).
    assert lead.text_area(key=f"problems_edit_workaround_{made.id}").max_chars == MAX_TEXT_CHARS
    with KnowledgeBase(settings.resolved_database_url) as kb:
        stored = kb.problem(made.id)
    assert (stored.status, stored.root_cause, stored.workaround, stored.linked) == ("known_error", MARKUP, MARKUP, (3,))

    # The review lists it among the problems waiting, its title as typed.
    lead.switch_page("app_pages/trends.py")
    run(lead)
    assert "Problems waiting for their root cause" in [m.value.lstrip("# ") for m in lead.markdown]
    [waiting] = [d.value for d in lead.dataframe if "linked" in d.value.columns]
    assert waiting["title"].tolist() == [f"#{made.id} {HTML_TITLE}"] and waiting["linked"].tolist() == [1]

    # The stale view: the agent's page still shows the version before the lead's change.
    at.text_area(key=f"problems_edit_description_{made.id}").input("late")
    at.button(key="problems_save").click()
    run(at)
    assert any(f"problem #{made.id} was changed by {LEAD}" in e.value.replace("\\", "") for e in at.error)
    st.cache_resource.clear()


def test_a_known_errors_workaround_is_shown_at_triage_and_on_its_cases(demo) -> None:
    settings, monkeypatch = demo
    with Workspace(settings) as ws:
        case = ws.kb.incident(3)
        made = problems.create(ws, "Known", actor=acct(ws, LEAD), case_ids=[case.id], workaround=MARKUP)
        problems.edit(ws, made.id, actor=acct(ws, LEAD), version=made.version, status="known_error")
    at = open_app(settings, monkeypatch, "app_pages/triage.py", user=AGENT)
    at.text_area(key="triage_report").input(f"{case.title}\n{case.body}")
    at.button(key="triage_submit").click()
    run(at)
    assert f"Known error #{made.id}: Known" in shown(at) and md(f"Workaround: {MARKUP}") in shown(at)

    at.query_params["id"] = str(case.id)
    at.switch_page("app_pages/case.py")
    run(at)
    assert f"Linked to problem #{made.id}" in shown(at) and md(f"Workaround: {MARKUP}") in shown(at)
    at.button(key="case_problem_unlink").click()
    run(at)
    with KnowledgeBase(settings.resolved_database_url) as kb:
        assert kb.problem(made.id).linked == ()

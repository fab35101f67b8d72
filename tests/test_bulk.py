"""Bulk actions of the queue through the pipeline: each case alone, against the version the agent saw; a mixed
outcome names each case refused and why; roles as casework checks them; nothing selected is refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kb import InvalidValue
from pipeline.access import Account, PermissionDenied
from pipeline.desk import bulk, casework
from pipeline.workspace import Workspace
from tests.conftest import acct
from tests.test_app_desk import run
from tests.test_merge import app  # noqa: F401 (the page fixture: a lead on the demo)
from words import say


@pytest.fixture
def ws(workspace: Workspace) -> Iterator[Workspace]:
    with workspace.kb.write("test") as w:
        w.add_user("Ana", "agent")
        w.add_user("Bo", "agent")
        w.add_user("Lea", "lead")
    yield workspace


def cases(ws: Workspace, n: int) -> dict[int, int]:
    """``n`` new cases: id -> the version an agent sees."""
    with ws.kb.write("intake") as w:
        ids = [w.add_incident(title=f"<b>Printer {i}</b>", body="jammed", language="en") for i in range(n)]
    return {i: ws.kb.incident(i).version for i in ids}


def test_a_bulk_move_does_the_cases_it_may_and_names_the_one_changed_meanwhile(ws: Workspace) -> None:
    seen = cases(ws, 4)
    changed = list(seen)[2]
    casework.claim(ws, changed, actor=acct(ws, "Bo"))  # after the agent looked
    outcome = bulk.run(ws, "move", seen, actor=acct(ws, "Ana"), to="waiting_requester")
    assert outcome.done == [i for i in seen if i != changed]
    assert [r.case for r in outcome.refused] == [changed] and outcome.refused[0].reason.code == "stale_edit_by"
    assert {ws.kb.incident(i).status for i in outcome.done} == {"waiting_requester"}
    assert ws.kb.incident(changed).status == "in_progress"  # as Bo left it: nothing half done
    text = say(outcome.phrase, "en")
    assert text.startswith("3 moved, 1 refused: ") and f"#{changed}: " in text and "Bo" in text
    assert "件を移動しました" in say(outcome.phrase, "ja")


def test_claim_close_and_what_the_workflow_refuses_per_case(ws: Workspace) -> None:
    seen = cases(ws, 3)
    first = next(iter(seen))
    outcome = bulk.run(ws, "claim", seen, actor=acct(ws, "Ana"))
    assert outcome.done == list(seen) and not outcome.refused
    assert {ws.kb.incident(i).assignee for i in seen} == {"Ana"}
    now = {i: ws.kb.incident(i).version for i in seen}
    # In progress may not move to closed in the default workflow: each case is refused, with the moves allowed.
    refused = bulk.run(ws, "close", now, actor=acct(ws, "Ana"))
    assert not refused.done and {r.reason.code for r in refused.refused} == {"move_refused"}
    claimed = bulk.run(ws, "claim", {first: now[first]}, actor=acct(ws, "Bo"))
    assert claimed.refused[0].reason.code == "already_held"
    moved = bulk.run(ws, "move", now, actor=acct(ws, "Ana"), to="waiting_requester")
    closed = bulk.run(ws, "close", {i: ws.kb.incident(i).version for i in moved.done}, actor=acct(ws, "Ana"))
    assert closed.done == list(seen) and {ws.kb.incident(i).status for i in seen} == {"closed"}


def test_an_agent_assigns_only_their_own_or_unheld_cases_and_a_lead_any(ws: Workspace) -> None:
    seen = cases(ws, 3)
    bos = next(iter(seen))
    casework.claim(ws, bos, actor=acct(ws, "Bo"))
    seen[bos] = ws.kb.incident(bos).version
    outcome = bulk.run(ws, "assign", seen, actor=acct(ws, "Ana"), to="Specialist team")
    assert [r.case for r in outcome.refused] == [bos] and outcome.refused[0].reason.code == "desk_assign_not_yours"
    assert ws.kb.incident(bos).assignee == "Bo"
    assert {ws.kb.incident(i).assignee for i in outcome.done} == {"Specialist team"}
    lead = bulk.run(ws, "assign", {bos: seen[bos]}, actor=acct(ws, "Lea"), to="Ana")
    assert lead.done == [bos] and ws.kb.incident(bos).assignee == "Ana"
    assert "Specialist team" in bulk.assignees(ws) and "Lea" in bulk.assignees(ws)


@pytest.mark.parametrize(
    "action, to, code",
    [
        ("move", None, "desk_bulk_move_needs_target"),
        ("assign", None, "desk_bulk_assign_needs_target"),
        ("delete", None, "desk_bulk_unknown_action"),
    ],
)
def test_a_bulk_action_without_what_it_needs_is_refused_whole(ws: Workspace, action: str, to: str, code: str) -> None:
    seen = cases(ws, 2)
    with pytest.raises(InvalidValue) as refused:
        bulk.run(ws, action, seen, actor=acct(ws, "Ana"), to=to)
    assert refused.value.phrase.code == code


def test_an_empty_selection_an_unknown_assignee_and_a_role_that_may_not_are_refused(ws: Workspace) -> None:
    with pytest.raises(InvalidValue) as empty:
        bulk.run(ws, "claim", {}, actor=acct(ws, "Ana"))
    assert empty.value.phrase.code == "desk_bulk_nothing_selected"
    seen = cases(ws, 1)
    stranger = bulk.run(ws, "assign", seen, actor=acct(ws, "Lea"), to="<script>x</script>")
    assert stranger.refused[0].reason.code == "desk_bulk_unknown_assignee"
    with pytest.raises(PermissionDenied):
        bulk.run(ws, "claim", seen, actor=Account(7, "Eve", "requester"))
    gone = bulk.run(ws, "claim", {999: 1}, actor=acct(ws, "Ana"))
    assert gone.refused[0].reason.code == "incident_not_found"


def test_the_queue_moves_the_selected_cases_and_names_the_one_changed_meanwhile(app) -> None:  # noqa: F811
    at, kb = app
    with kb.write("intake") as w:
        ids = [w.add_incident(title=f"Scanner {n} offline", language="en") for n in range(3)][::-1]
    at.selectbox(key="queue_sort").set_value("newest")
    run(at)
    table = at.dataframe[0].value
    assert [int(i) for i in table["id"][:3]] == ids
    at.session_state["queue_table"] = {"selection": {"rows": [0, 1, 2], "columns": [], "cells": []}}
    run(at)
    at.segmented_control(key="queue_bulk").set_value("move")
    run(at)
    at.selectbox(key="queue_bulk_status").set_value("in_progress")
    run(at)
    with kb.write("Raj Mehta") as w:  # after the table was drawn
        w.update_incident(ids[1], priority="P1")
    at.button(key="queue_bulk_apply").click()
    run(at)
    outcome = " ".join(w.value for w in at.warning)
    assert outcome.startswith("2 moved, 1 refused: ") and f"#{ids[1]}: " in outcome and "Raj Mehta" in outcome
    assert [kb.incident(i).status for i in ids] == ["in_progress", "new", "in_progress"]

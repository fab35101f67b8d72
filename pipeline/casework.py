"""What an agent does to a case: claim it, move it along the workflow, note what was tried, reply, accept or
override the suggestions, and resolve it into the knowledge base. Every change is made under the agent's name
and against the version of the case the agent saw, so that an edit on a stale view is refused."""

from __future__ import annotations

from kb import AlreadyClaimed, IncidentRecord, StaleEdit, SuggestionRecord, Writer
from kb.writer import may_claim
from pipeline.workflow import Workflow
from pipeline.workspace import Workspace

SUGGESTED_TARGETS = ("category", "priority", "escalation_level")


def claim(ws: Workspace, incident_id: int, *, user: str, version: int | None = None) -> IncidentRecord:
    """Take a case (a new one moves to in progress); AlreadyClaimed names whoever was faster.

    A case escalated to a team is claimed from the team by whoever of it takes it on.
    """
    case = ws.kb.incident(incident_id)
    moved = ws.workflow.after("claim", case.status)
    changes = {"status": moved} if moved else {}
    teams = ws.settings.escalation_holders.values()
    try:
        with ws.kb.write(user) as w:
            return w.claim(incident_id, user, expected_version=version, replaceable=teams, **changes)
    except StaleEdit:
        holder = ws.kb.incident(incident_id).assignee
        if not may_claim(holder, user, teams):
            raise AlreadyClaimed(f"case #{incident_id} was just claimed by {holder}", holder) from None
        raise


def move(ws: Workspace, incident_id: int, status: str, *, user: str, version: int) -> IncidentRecord:
    """Move a case to another status, if the workflow allows it from where the case is."""
    with ws.kb.write(user) as w:
        ws.workflow.check(w.incident(incident_id).status, status)
        return w.update_incident(incident_id, expected_version=version, status=status)


def note(ws: Workspace, incident_id: int, text: str, *, user: str) -> None:
    """Record something that was tried or found (an internal note the requester does not see)."""
    with ws.kb.write(user) as w:
        w.add_message(incident_id, kind="note", author=user, body=text)


def _move_after(workflow: Workflow, action: str, w: Writer, incident_id: int) -> None:
    """Make the status move ``action`` implies, if the workflow has one from where the case is."""
    moved = workflow.after(action, w.incident(incident_id).status)
    if moved:
        w.update_incident(incident_id, status=moved)


def reply(ws: Workspace, incident_id: int, *, user: str, subject: str, body: str, version: int) -> IncidentRecord:
    """Record a reply sent to the requester; the case then waits for the requester."""
    with ws.kb.write(user) as w:
        w.incident(incident_id, expected_version=version)
        w.add_message(incident_id, kind="to_requester", author=user, subject=subject, body=body)
        _move_after(ws.workflow, "reply", w, incident_id)
    return ws.kb.incident(incident_id)


def requester_wrote(ws: Workspace, incident_id: int, *, author: str, subject: str, body: str, at=None) -> None:
    """A new message from the requester on an existing case; a case waiting for them moves back to work."""
    with ws.kb.write(author) as w:
        w.add_message(incident_id, kind="from_requester", author=author, subject=subject, body=body, at=at)
        _move_after(ws.workflow, "requester_message", w, incident_id)


def decide(
    ws: Workspace, incident_id: int, target: str, value: str, *, user: str, version: int, reason: str = ""
) -> SuggestionRecord:
    """Accept the stored suggestion for ``target`` (``value`` equals it), override it (a reason is required), or,
    where the assistant was not sure, choose ``value`` ("chosen").

    The case takes ``value`` in every case; both the decision and the change are in the case's history.
    """
    if target not in SUGGESTED_TARGETS:
        raise ValueError(f"no suggestion is made for {target!r}; targets: {', '.join(SUGGESTED_TARGETS)}")
    stored = {s.target: s for s in ws.kb.suggestions(incident_id)}.get(target)
    if stored is not None and stored.value is None:
        decision = "chosen"
    else:
        decision = "accepted" if stored is not None and stored.value == value else "overridden"
    with ws.kb.write(user) as w:
        record = w.decide(incident_id, target, decision=decision, final_value=value, user=user, reason=reason)
        w.update_incident(incident_id, expected_version=version, **{target: value})
    return record


def resolve(
    ws: Workspace,
    incident_id: int,
    *,
    user: str,
    version: int,
    resolution: str,
    root_cause: str,
    category: str | None,
    priority: str | None,
    escalation_level: str | None,
) -> IncidentRecord:
    """Resolve with the resolution, root cause and final labels; the very next search finds the case."""
    ws.workflow.required_move("resolve", ws.kb.incident(incident_id).status)
    return ws.resolve(
        incident_id,
        actor=user,
        resolution=resolution,
        root_cause=root_cause.strip() or None,
        expected_version=version,
        category=category,
        priority=priority,
        escalation_level=escalation_level,
    )


def claimable(ws: Workspace, case: IncidentRecord, user: str | None) -> bool:
    """Whether ``user`` may claim the case as it is: nobody holds it, or only the team it was escalated to."""
    teams = ws.settings.escalation_holders.values()
    return bool(user) and case.assignee != user and may_claim(case.assignee, user, teams)

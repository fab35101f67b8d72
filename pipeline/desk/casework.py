"""A case as an agent works it: its file (everything recorded about it), and what they do to it: claim it, move it
along the workflow, note what was tried, reply, decide on the suggestions, and resolve it into the knowledge base.

Every change is made under the agent's name and against the version of the case the agent saw, so that an edit on
a stale view is refused. The desk's rules live here, not in storage: who may claim a case, and when a decision on a
suggestion is an acceptance, an override (which needs a reason) or a choice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass
from email.utils import make_msgid

from kb import (
    EventRecord,
    HandoffRecord,
    IncidentRecord,
    InvalidValue,
    MessageRecord,
    NewDelivery,
    RequesterRecord,
    StaleEdit,
    SuggestionRecord,
    Writer,
)
from kb.vocab import Decision
from pipeline.access.accounts import Account, write_as
from pipeline.desk.replies import tagged
from pipeline.triage.targets import SUGGESTED
from pipeline.workflow import Move, Workflow
from pipeline.workspace import Workspace
from words import Phrase, PhrasedError

# A reply's References header names at most this many of the requester's mails (the newest).
REFERENCES_KEPT = 20


class AlreadyClaimed(PhrasedError, RuntimeError):
    """Someone else holds the case (the phrase names them)."""


@dataclass(frozen=True)
class CaseFile:
    """One incident with its requester, conversation, suggestions, escalations and full history."""

    incident: IncidentRecord
    requester: RequesterRecord | None
    history: list[EventRecord]
    messages: list[MessageRecord]
    suggestions: dict[str, SuggestionRecord]
    handoffs: list[HandoffRecord]
    followers: list[str]

    @property
    def notes(self) -> list[MessageRecord]:
        """What was tried and found: the agents' internal notes."""
        return [m for m in self.messages if m.kind == "note"]

    @property
    def first_reply_at(self) -> dt.datetime | None:
        """When the requester first had a reply (None before it)."""
        return min((m.at for m in self.messages if m.kind == "to_requester"), default=None)

    @property
    def conversation(self) -> list[MessageRecord]:
        """The messages exchanged with the requester."""
        return [m for m in self.messages if m.kind != "note"]


def case_file(ws: Workspace, incident_id: int) -> CaseFile:
    """Everything recorded about one incident; raises IncidentNotFound for an unknown id."""
    kb = ws.kb
    incident = kb.incident(incident_id)
    requester = kb.requester(incident.requester_id) if incident.requester_id is not None else None
    return CaseFile(
        incident,
        requester,
        kb.events("incident", incident_id),
        kb.messages([incident_id]),
        {s.target: s for s in kb.suggestions(incident_id)},
        kb.handoffs(incident_id),
        kb.followers(incident_id),
    )


def _may_claim(holder: str | None, user: str, teams: Collection[str]) -> bool:
    """Nobody holds the case, ``user`` does, or only the team it was escalated to (whoever of it takes it on)."""
    return not holder or holder == user or holder in teams


def claimable(ws: Workspace, case: IncidentRecord, actor: Account | None) -> bool:
    """Whether ``actor`` may claim the case as it is: nobody holds it, or only the team it was escalated to."""
    teams = ws.settings.escalation_holders.values()
    return actor is not None and case.assignee != actor.name and _may_claim(case.assignee, actor.name, teams)


def claim(ws: Workspace, incident_id: int, *, actor: Account, version: int | None = None) -> IncidentRecord:
    """Take a case (a new one moves to in progress); AlreadyClaimed names whoever was faster.

    Two claims at once cannot both win: the loser's write finds the case at a newer version (StaleEdit, turned into
    AlreadyClaimed naming the winner), or, if it reads after the winner committed, sees the holder.
    """
    teams = ws.settings.escalation_holders.values()
    try:
        with write_as(ws.kb, actor) as w:
            case = w.incident(incident_id)
            if not _may_claim(case.assignee, actor.name, teams):
                raise AlreadyClaimed("already_held", case=incident_id, holder=case.assignee)
            moved = ws.workflow.after("claim", case.status)
            changes = {"status": moved} if moved else {}
            return w.update_incident(incident_id, expected_version=version, assignee=actor.name, **changes)
    except StaleEdit:
        holder = ws.kb.incident(incident_id).assignee
        if not _may_claim(holder, actor.name, teams):
            raise AlreadyClaimed("just_claimed", case=incident_id, holder=holder) from None
        raise


def move(ws: Workspace, incident_id: int, status: str, *, actor: Account, version: int) -> IncidentRecord:
    """Move a case to another status, if the workflow allows it from where the case is."""
    with write_as(ws.kb, actor) as w:
        ws.workflow.check(w.incident(incident_id).status, status)
        return w.update_incident(incident_id, expected_version=version, status=status)


def note(ws: Workspace, incident_id: int, text: str, *, actor: Account) -> None:
    """Record something that was tried or found (an internal note the requester does not see)."""
    with write_as(ws.kb, actor) as w:
        w.add_message(incident_id, kind="note", author=actor.name, body=text)


def _move_after(workflow: Workflow, action: Move, w: Writer, incident_id: int) -> None:
    """Make the status move ``action`` implies, if the workflow has one from where the case is."""
    moved = workflow.after(action, w.incident(incident_id).status)
    if moved:
        w.update_incident(incident_id, status=moved)


def reply(
    ws: Workspace,
    incident_id: int,
    *,
    actor: Account,
    subject: str,
    body: str,
    version: int | None,
    at: dt.datetime | None = None,
) -> IncidentRecord:
    """Record a reply to the requester and, when they have an address and an SMTP server is set, its mail to send
    (in the same transaction; the worker sends it, and only the server's acceptance makes it sent); the case then
    waits for the requester. The subject carries the case tag; the mail's Message-ID is kept with the message, and
    it answers the requester's own mails, so their answer threads by its headers.

    ``at``: when, for a replay of past work, which is recorded as sent then and sends nothing now."""
    case = ws.kb.incident(incident_id)
    subject = tagged(subject.strip() or f"Re: {case.title}", incident_id)
    mail = _reply_mail(ws, case) if at is None else None
    with write_as(ws.kb, actor, at=at) as w:
        w.incident(incident_id, expected_version=version)
        message = w.add_message(
            incident_id,
            kind="to_requester",
            author=actor.name,
            subject=subject,
            body=body,
            sent_at=at,
            mail_id=mail.mail_id if mail else None,
        )
        if mail is not None:
            carried = dataclasses.replace(mail, key=f"reply:{message}", subject=subject, body=body, message_id=message)
            w.add_delivery(carried)
        _move_after(ws.workflow, "reply", w, incident_id)
    return ws.kb.incident(incident_id)


def _reply_mail(ws: Workspace, case: IncidentRecord) -> NewDelivery | None:
    """A reply's mail, to the address the requester last wrote from (else their first), answering their mails;
    None without an address or an SMTP server to send it through."""
    smtp = ws.settings.mail.smtp
    if smtp is None or case.requester_id is None:
        return None
    addresses = ws.kb.requester(case.requester_id).emails
    theirs = [m for m in ws.kb.messages([case.id]) if m.kind == "from_requester"]
    wrote_from = [m.author for m in theirs if m.author in addresses]
    if not addresses:
        return None
    return NewDelivery(
        key="",
        channel="email",
        purpose="reply",
        recipient=wrote_from[-1] if wrote_from else addresses[0],
        subject="",
        body="",
        language=case.language,
        incident_id=case.id,
        mail_id=make_msgid(domain=smtp.from_address.partition("@")[2]),
        references=" ".join([i for i in (case.mail_id, *(m.mail_id for m in theirs)) if i][-REFERENCES_KEPT:]) or None,
    )


def may_write_on(ws: Workspace, case: IncidentRecord, address: str) -> bool:
    """Whether mail from ``address`` may join ``case``: it is one of the case's requester's addresses, or an
    active team member's. A case tag alone proves nothing: anyone can type ``[#42]`` into a subject."""
    if case.requester_id is not None and address in ws.kb.requester(case.requester_id).emails:
        return True
    member = ws.kb.user_by_email(address) if address else None
    return member is not None and member.active


def requester_wrote(
    ws: Workspace,
    incident_id: int,
    *,
    sender: str,
    subject: str,
    body: str,
    actor: Account,
    sent_at: dt.datetime | None = None,
    mail_id: str | None = None,
    also: Callable[[Writer, int], object] | None = None,
) -> int:
    """A new message from the requester (``sender``) on an existing case, filed by ``actor`` (who uploaded or
    fetched it, as the event log records); a case waiting for them moves back to work. It counts from now, when
    it came in: ``sent_at`` (the mail's own Date header) is kept but moves no clock. ``mail_id``: the mail's
    Message-ID; ``also(writer, message id)`` adds what came with it in the same transaction. The message's id."""
    with write_as(ws.kb, actor) as w:
        message = w.add_message(
            incident_id,
            kind="from_requester",
            author=sender,
            subject=subject,
            body=body,
            sent_at=sent_at,
            mail_id=mail_id,
        )
        _move_after(ws.workflow, "requester_message", w, incident_id)
        if also is not None:
            also(w, message)
    return message


def decision(suggested: str | None, value: str) -> Decision:
    """What setting ``value`` makes of a suggestion of ``suggested`` (None: the assistant was not sure): "chosen"
    where it was not sure, "accepted" where the agent agrees, "overridden" where not (which needs a reason)."""
    if suggested is None:
        return "chosen"
    return "accepted" if suggested == value else "overridden"


def decide(
    ws: Workspace,
    incident_id: int,
    target: str,
    value: str,
    *,
    actor: Account,
    version: int | None,
    reason: str = "",
    at: dt.datetime | None = None,
) -> SuggestionRecord:
    """Give the case ``value`` for a suggested ``target``, recorded against the stored suggestion as ``decision``
    says; an override without a reason is refused. Both the decision and the change are in the case's history.

    ``version`` None skips the stale-view check, and ``at`` records a past time: for the demo's replay.
    """
    if target not in SUGGESTED:
        raise InvalidValue("not_a_suggested_target", target=target, targets=list(SUGGESTED))
    stored = {s.target: s for s in ws.kb.suggestions(incident_id)}.get(target)
    if stored is None:
        raise InvalidValue("no_stored_suggestion", case=incident_id, target=Phrase(f"target_{target}"))
    kind = decision(stored.value, value)
    if kind == "overridden" and not reason.strip():
        raise InvalidValue("override_needs_reason", target=Phrase(f"target_{target}"))
    with write_as(ws.kb, actor, at=at) as w:
        record = w.decide(incident_id, target, decision=kind, final_value=value, user=actor.name, reason=reason)
        w.update_incident(incident_id, expected_version=version, **{target: value})
    return record


def resolve(
    ws: Workspace,
    incident_id: int,
    *,
    actor: Account,
    version: int,
    resolution: str,
    root_cause: str,
    category: str | None,
    priority: str | None,
    escalation_level: str | None,
) -> IncidentRecord:
    """Resolve with the resolution, root cause and final labels; the very next search finds the case."""
    return ws.resolve(
        incident_id,
        actor=actor,
        resolution=resolution,
        root_cause=root_cause,
        expected_version=version,
        category=category,
        priority=priority,
        escalation_level=escalation_level,
    )

"""Merging a duplicate into its original, as Zendesk and Zammad do: the original gets the duplicate's report and
messages (each copy keeps who wrote it and when, and remembers the case it came from) and its attachments; the
duplicate is closed as merged, its own record left whole, so its requester's history still lists it and points to
the original; who followed or held the duplicate follows the original; both histories record the merge; and mail
that later answers the duplicate is filed on the original (``pipeline.desk.intake``).

Refused: a case into itself, a merge that would go round in a circle, a duplicate already merged or resolved, an
original resolved or closed (reopen it first: merged messages on a finished case would go unread), a view of the
duplicate older than its current version, and an agent who does not hold the duplicate (leads and admins may
merge any). A target that was itself merged is followed to the case it was merged into.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kb import IncidentRecord, InvalidValue, MessageRecord, Writer
from kb.vocab import RESOLVED_STATUSES
from pipeline.access.accounts import AGENTS, LEADS, Account, PermissionDenied, require, write_as
from pipeline.workspace import Workspace
from words import Phrase, say

logger = logging.getLogger(__name__)

# The status a merged duplicate is closed in: one the knowledge base knows as finished.
MERGED_STATUS = "closed"


class MergeRefused(InvalidValue):
    """This merge is not allowed (the phrase says why)."""


@dataclass(frozen=True)
class Merged:
    """What a merge did: the duplicate (closed) and the original, and how much was copied onto it."""

    duplicate: IncidentRecord
    original: IncidentRecord
    messages: int
    attachments: int


def original_of(ws: Workspace, incident_id: int) -> int:
    """The case ``incident_id`` ends up in: itself, or the original it was merged into (followed to the end)."""
    seen = [incident_id]
    while (merge := ws.kb.merge_of(seen[-1])) is not None:
        if merge.original_id in seen:  # a circle can only be made by hand in the database; stop where it closes
            logger.warning("merges of cases %s go round in a circle", seen)
            break
        seen.append(merge.original_id)
    return seen[-1]


def may_merge(case: IncidentRecord, actor: Account | None) -> bool:
    """Whether ``actor`` may merge ``case`` into another: a lead or admin always, an agent the cases they hold."""
    return actor is not None and (actor.role in LEADS or case.assignee == actor.name)


def candidates(ws: Workspace, case: IncidentRecord, possible: list[int]) -> list[int]:
    """The cases ``case`` may be a duplicate of, best first: the one flagged at intake, then ``possible`` (the open
    cases the desk finds at least ``duplicate_similarity`` similar); each as the original it ends up in, once,
    never the case itself, never one resolved."""
    wanted = [case.duplicate_of, *possible] if case.duplicate_of else possible
    originals = dict.fromkeys(original_of(ws, i) for i in wanted)
    open_ = {c.id for c in ws.kb.incidents(list(originals)) if c.status not in RESOLVED_STATUSES}
    return [i for i in originals if i != case.id and i in open_]


def merge(ws: Workspace, duplicate_id: int, into: int, *, actor: Account, version: int | None) -> Merged:
    """Merge case ``duplicate_id`` into case ``into`` (or the case that one was merged into), against the version
    of the duplicate the agent saw; MergeRefused, PermissionDenied or StaleEdit with nothing changed otherwise."""
    require(actor, AGENTS, "work_cases")
    target = original_of(ws, into)
    if duplicate_id in (into, target):
        raise MergeRefused("desk_merge_into_itself" if into == duplicate_id else "desk_merge_circle", case=duplicate_id)
    if ws.kb.merge_of(duplicate_id) is not None:
        raise MergeRefused("desk_merge_already_merged", case=duplicate_id, original=original_of(ws, duplicate_id))
    with write_as(ws.kb, actor) as w:
        duplicate = w.incident(duplicate_id, expected_version=version)
        original = w.incident(target)
        if not may_merge(duplicate, actor):
            raise PermissionDenied(
                "desk_merge_not_holder", who=actor.name, case=duplicate_id, holder=duplicate.assignee
            )
        if duplicate.status in RESOLVED_STATUSES:
            raise MergeRefused("desk_merge_duplicate_finished", case=duplicate_id)
        if original.status in RESOLVED_STATUSES:
            raise MergeRefused("desk_merge_original_finished", case=target, status=ws.workflow.name(original.status))
        messages, files = _carry_over(ws, w, duplicate, target)
        for name in _followers(ws, duplicate, original):
            w.follow(target, name)
        note = Phrase("desk_merge_note", case=duplicate_id, title=duplicate.title, messages=messages, files=files)
        w.add_message(target, kind="note", author=actor.name, body=say(note, original.language))
        w.record_event("incident", target, "merged_from", field="merged", new_value=str(duplicate_id))
        w.add_merge(duplicate_id, target)
        w.update_incident(
            duplicate_id,
            status=MERGED_STATUS,
            duplicate_of=target,
            resolution=say(Phrase("desk_merge_resolution", case=target), duplicate.language),
            resolved_at=w.now(),
        )
    return Merged(ws.kb.incident(duplicate_id), ws.kb.incident(target), messages, files)


def _carry_over(ws: Workspace, w: Writer, duplicate: IncidentRecord, target: int) -> tuple[int, int]:
    """Copy the duplicate's report (as its requester's first message) and its messages and files onto ``target``;
    how many messages and files were copied."""
    requester = ws.kb.requester(duplicate.requester_id) if duplicate.requester_id is not None else None
    author = (requester.emails[0] if requester.emails else requester.name) if requester else "—"
    report = MessageRecord(
        id=0,  # none: the report is the case's own text, not one of its messages
        incident_id=duplicate.id,
        kind="from_requester",
        author=author,
        subject=duplicate.title,
        body=duplicate.body or duplicate.title,
        at=duplicate.created_at,
        sent_at=duplicate.sent_at,
    )
    copies = {m.id: w.copy_message(m, target) for m in [report, *ws.kb.messages([duplicate.id])]}
    files = ws.kb.attachments(duplicate.id)
    for file in files:
        w.copy_attachment(file, target, copies.get(file.message_id) if file.message_id else copies[0])
    return len(copies), len(files)


def _followers(ws: Workspace, duplicate: IncidentRecord, original: IncidentRecord) -> list[str]:
    """Who follows the original after the merge: the duplicate's followers and its holder, if not the original's."""
    names = [*ws.kb.followers(duplicate.id), *([duplicate.assignee] if duplicate.assignee else [])]
    return [n for n in dict.fromkeys(names) if n != original.assignee]

"""Reply templates: kept and edited by the team; for a case, the best ones (first by their keyword conditions on
subject and body, then by how similar they are to the case), filled with its fields for the agent to edit."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from kb import IncidentRecord, NewTemplate, TemplateRecord
from pipeline.access.accounts import LEADS, Account, write_as
from pipeline.desk.mail import CASE_TAG
from pipeline.workspace import Workspace


@dataclass(frozen=True)
class TemplateMatch:
    template: TemplateRecord
    matched: tuple[str, ...]  # the keywords found in the case
    similarity: float


def _found(keywords: list[str], text: str) -> list[str]:
    lowered = text.lower()
    return [k for k in keywords if k.lower() in lowered]


def suggest_templates(ws: Workspace, case: IncidentRecord, k: int = 3) -> list[TemplateMatch]:
    """Templates whose conditions the case meets (a template without conditions always does), best first."""
    eligible = []
    for template in ws.kb.templates():
        subject_hits = _found(template.subject_keywords, case.title)
        body_hits = _found(template.body_keywords, f"{case.title}\n{case.body}")
        # Every condition the template sets must hold: a keyword list is met when one of its words appears.
        if (template.subject_keywords and not subject_hits) or (template.body_keywords and not body_hits):
            continue
        eligible.append((template, tuple(dict.fromkeys(subject_hits + body_hits))))
    if not eligible:
        return []
    # Unit vectors (the Embedder contract): inner products are cosine similarities.
    vectors = ws.embedder.encode([f"{case.title}\n{case.body}"] + [f"{t.subject}\n{t.body}" for t, _ in eligible])
    similarity = vectors[1:] @ vectors[0]
    matches = [TemplateMatch(t, hits, float(sim)) for (t, hits), sim in zip(eligible, similarity, strict=True)]
    matches.sort(key=lambda m: (-len(m.matched), -m.similarity))
    return matches[:k]


def fill(template: TemplateRecord, case: IncidentRecord, *, agent: str) -> tuple[str, str]:
    """The template's subject and body with ``${requester}``, ``${title}``, ``${id}``, ``${agent}``,
    ``${category}`` and ``${priority}`` filled in; the subject carries the case tag so replies find the case."""
    fields = {
        "id": str(case.id),
        "title": case.title,
        "requester": case.requester_name or "",
        "agent": agent,
        "category": case.category or "",
        "priority": case.priority or "",
    }
    subject = string.Template(template.subject or "${title}").safe_substitute(fields)
    return tagged(subject, case.id), string.Template(template.body).safe_substitute(fields)


def tagged(subject: str, case_id: int) -> str:
    """The subject with the case tag (after any "Re:"), unless it has one.

    >>> tagged("Re: VPN", 7), tagged("[#7] VPN", 7)
    ('Re: [#7] VPN', '[#7] VPN')
    """
    if CASE_TAG.search(subject):
        return subject
    reply = re.match(r"(re|aw|sv|答复|返信)\s*:\s*", subject, flags=re.IGNORECASE)
    cut = reply.end() if reply else 0
    return f"{subject[:cut]}[#{case_id}] {subject[cut:]}"


def save_template(ws: Workspace, template: NewTemplate, *, actor: Account, template_id: int | None = None) -> int:
    """Add a reply template, or change the one with ``template_id``; leads and admins."""
    with write_as(ws.kb, actor, LEADS, "manage_templates") as w:
        return w.save_template(template, template_id=template_id)


def delete_template(ws: Workspace, template_id: int, *, actor: Account) -> None:
    with write_as(ws.kb, actor, LEADS, "manage_templates") as w:
        w.delete_template(template_id)

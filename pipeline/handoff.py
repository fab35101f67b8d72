"""Escalation: the hand-off package the next level reads (drafted from the case, its conversation and its similar
cases; the agent edits it), stored with the case, exportable as Markdown, optionally posted to a chat webhook."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Collection, Sequence
from urllib.parse import urlsplit

from kb import HandoffRecord, InvalidValue
from kb.models import utcnow
from kb.vocab import ESCALATION_LABELS
from pipeline.search import SimilarCase
from pipeline.settings import CRITERIA
from pipeline.workspace import Workspace

# File names an agent or requester mentions ("see vpn.log"): the package lists them so nobody has to ask.
_FILE_NAME = re.compile(
    r"[\w.-]+\.(?:log|txt|csv|json|xml|png|jpe?g|gif|pdf|zip|evtx|dmp|har|pcap|docx?|xlsx?)\b", re.I
)
_WEBHOOK_TIMEOUT = 10


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" for line in text.strip().split("\n"))


def draft(ws: Workspace, incident_id: int, level: str, *, why: str = "", similar: Sequence[SimilarCase] = ()) -> str:
    """A Markdown hand-off package for escalating a case to ``level``: situation, details, what was tried, files
    named, similar resolved cases and why this level."""
    case = ws.case(incident_id)
    incident = case.incident
    texts = [incident.title, incident.body, *(m.body for m in case.messages)]
    files = sorted({name for text in texts for name in _FILE_NAME.findall(text)})
    requester = case.requester
    who = f"{requester.name} ({requester.department or 'no department'})" if requester else "unknown requester"
    lines = [
        f"# Case #{incident.id} escalated to {ESCALATION_LABELS[level]}",
        "",
        "## Situation",
        f"{incident.title}",
        "",
        f"- Requester: {who}",
        f"- Opened: {incident.created_at:%Y-%m-%d %H:%M} UTC; status {ws.workflow.label(incident.status)}",
        f"- Category {incident.category or 'not set'}, priority {incident.priority or 'not set'}",
        f"- Held by {incident.assignee or 'nobody'} until now",
        "",
        "## Details",
        _quote(incident.body or incident.title),
    ]
    for m in case.conversation:
        lines += [
            "",
            f"{'Requester' if m.kind == 'from_requester' else m.author}, {m.at:%Y-%m-%d %H:%M}:",
            _quote(m.body),
        ]
    lines += ["", "## What was tried"]
    lines += [f"- {m.at:%Y-%m-%d %H:%M} {m.author}: {m.body}" for m in case.notes] or ["- nothing recorded yet"]
    lines += ["", "## Logs and attachments"]
    lines += [f"- {name}" for name in files] or ["- none named"]
    if similar:
        lines += ["", "## Similar resolved cases"]
        for s in similar[:3]:
            fix = (s.incident.resolution or "no resolution recorded").split("\n")[0]
            lines.append(f"- #{s.incident.id} {s.incident.title} (similarity {s.similarity:.2f}): {fix}")
    lines += ["", "## Level and why", f"{ESCALATION_LABELS[level]}: {why.strip() or 'see the details above'}"]
    return "\n".join(lines) + "\n"


def escalate(
    ws: Workspace,
    incident_id: int,
    *,
    user: str,
    version: int,
    level: str,
    package: str,
    holder: str = "",
    criteria: Collection[str] = (),
    post: bool = False,
) -> HandoffRecord:
    """Hand a case to ``level``: store the package and the escalation guide's ``criteria`` ticked for it, give the
    case to the level's holder, keep the escalating agent as a follower; with ``post``, send the package to the
    chat webhook of the settings."""
    if unknown := set(criteria) - set(CRITERIA):
        raise InvalidValue(f"unknown escalation criterion {', '.join(sorted(unknown))}; known: {', '.join(CRITERIA)}")
    holder = holder.strip() or ws.settings.escalation_holders.get(level, level)
    with ws.kb.write(user) as w:
        case = w.incident(incident_id, expected_version=version)
        moved = ws.workflow.required_move("escalate", case.status)
        w.update_incident(incident_id, escalation_level=level, assignee=holder, **({"status": moved} if moved else {}))
        handoff = w.add_handoff(
            incident_id, level=level, holder=holder, package=package, created_by=user, criteria=criteria
        )
        w.follow(incident_id, user)
    if not post:
        return handoff
    outcome = post_to_chat(ws.settings.chat_webhook_url, package)  # after the commit: a slow chat holds no lock
    with ws.kb.write(user) as w:
        return w.mark_posted(handoff.id, outcome)


def post_to_chat(url: str | None, markdown: str) -> str:
    """Post to a Slack- or Teams-style incoming webhook; returns what happened, in words (never raises)."""
    if not url:
        return "not posted: no chat webhook is configured (chat_webhook_url)"
    host = urlsplit(url).netloc or url  # the path of a webhook URL is its secret: never show it
    request = urllib.request.Request(
        url,
        data=json.dumps({"text": markdown}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=_WEBHOOK_TIMEOUT) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        return f"posting to {host} failed: HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        return f"posting to {host} failed: {getattr(exc, 'reason', exc)}"
    return f"posted to {host} at {utcnow():%Y-%m-%d %H:%M} UTC (HTTP {status})"

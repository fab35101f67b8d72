"""Escalation: the hand-off package the next level reads (gathered from the case, its conversation and its similar
cases; the agent edits it), stored with the case, exportable as Markdown, optionally posted to a chat webhook.

The package is a typed value; ``HandoffPackage.markdown(language)`` writes it in the language the edge asks for,
every heading and line from the catalogue. What was posted (or why not) is kept as a phrase, worded when shown.
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.request
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import TypeAdapter, ValidationError

from kb import HandoffRecord, InvalidValue
from kb.models import utcnow
from pipeline.access.accounts import Account, write_as
from pipeline.desk.casework import CaseFile, case_file
from pipeline.settings import CRITERIA, https_or_local
from pipeline.triage.search import SimilarCase
from pipeline.workspace import Workspace
from words import Localized, Phrase, say

# File names an agent or requester mentions ("see vpn.log"): the package lists them so nobody has to ask.
_FILE_NAME = re.compile(
    r"[\w.-]+\.(?:log|txt|csv|json|xml|png|jpe?g|gif|pdf|zip|evtx|dmp|har|pcap|docx?|xlsx?)\b", re.I
)
_WEBHOOK_TIMEOUT = 5  # seconds: the agent waits for it
_MENTION = re.compile(r"@(channel|here|everyone|all)\b", re.IGNORECASE)
SIMILAR_LISTED = 3
_PHRASE = TypeAdapter(Phrase)  # how a posting outcome is kept in ``handoffs.posted``


@dataclass(frozen=True)
class HandoffPackage:
    """What the next level needs, gathered from a case: its situation and details, the conversation, what was
    tried, the logs and attachments named, the similar resolved cases, and the level with why."""

    case: CaseFile
    status: Localized
    level: str
    criteria: tuple[str, ...]  # the escalation guide's criteria ticked for it
    why: str  # the agent's own words
    files: tuple[str, ...]
    similar: tuple[SimilarCase, ...]

    def markdown(self, language: str) -> str:
        """The package as Markdown in ``language``, for the agent to edit and send."""

        def t(code: str, **values: object) -> str:
            return say(code, language, **values)

        incident, requester = self.case.incident, self.case.requester
        who = (
            t("handoff_requester", name=requester.name, department=requester.department or t("no_department"))
            if requester
            else t("unknown_requester")
        )
        level = Phrase(f"level_{self.level}")
        lines = [
            "# " + t("handoff_heading", id=incident.id, level=level),
            "",
            "## " + t("handoff_situation"),
            incident.title,
            "",
            "- " + t("handoff_requester_line", who=who),
            "- " + t("handoff_opened", at=incident.created_at, status=self.status),
            "- " + t("handoff_labels", category=incident.category or "—", priority=incident.priority or "—"),
            "- " + t("handoff_held_by", holder=incident.assignee or "—"),
            "",
            "## " + t("handoff_details"),
            _quote(incident.body or incident.title),
        ]
        for m in self.case.conversation:
            author = t("handoff_requester_wrote") if m.kind == "from_requester" else m.author
            lines += ["", f"{author}, {m.at:%Y-%m-%d %H:%M}:", _quote(m.body)]
        lines += ["", "## " + t("handoff_tried")]
        lines += [f"- {m.at:%Y-%m-%d %H:%M} {m.author}: {m.body}" for m in self.case.notes]
        lines += [] if self.case.notes else ["- " + t("handoff_nothing_tried")]
        lines += ["", "## " + t("handoff_files")]
        lines += [f"- {name}" for name in self.files] or ["- " + t("handoff_no_files")]
        if self.similar:
            lines += ["", "## " + t("handoff_similar")]
            for s in self.similar[:SIMILAR_LISTED]:
                fix = (s.incident.resolution or t("no_resolution_recorded")).split("\n")[0]
                lines.append(f"- #{s.incident.id} {s.incident.title} ({s.similarity:.2f}): {fix}")
        reasons = [say(Phrase(f"criterion_{key}"), language) for key in self.criteria] + [self.why.strip()]
        why = ", ".join(r for r in reasons if r) or t("handoff_see_details")
        lines += ["", "## " + t("handoff_level_and_why"), f"{say(level, language)}: {why}"]
        return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" for line in text.strip().split("\n"))


def draft(
    ws: Workspace,
    incident_id: int,
    level: str,
    *,
    criteria: Collection[str] = (),
    why: str = "",
    similar: Sequence[SimilarCase] = (),
) -> HandoffPackage:
    """The hand-off package for escalating a case to ``level``, with the ticked ``criteria`` and the agent's ``why``."""
    case = case_file(ws, incident_id)
    texts = [case.incident.title, case.incident.body, *(m.body for m in case.messages)]
    mentioned = {name for text in texts for name in _FILE_NAME.findall(text)}
    return HandoffPackage(
        case=case,
        status=ws.workflow.name(case.incident.status),
        level=level,
        criteria=tuple(key for key in CRITERIA if key in criteria),
        why=why,
        # The files kept with the case, and those only mentioned.
        files=tuple(sorted({a.filename for a in ws.kb.attachments(incident_id)} | mentioned)),
        similar=tuple(similar),
    )


def escalate(
    ws: Workspace,
    incident_id: int,
    *,
    actor: Account,
    version: int,
    level: str,
    package: str,
    holder: str = "",
    criteria: Collection[str] = (),
    post: bool = False,
    follow: bool = True,
) -> HandoffRecord:
    """Hand a case to ``level``: store the package and the escalation guide's ``criteria`` ticked for it, give the
    case to the level's holder, keep the escalating agent as a follower (unless ``follow`` is off: the SLA clock
    follows nothing); with ``post``, send the package to the chat webhook of the settings."""
    if unknown := set(criteria) - set(CRITERIA):
        raise InvalidValue("unknown_criteria", unknown=sorted(unknown), known=list(CRITERIA))
    holder = holder.strip() or ws.settings.escalation_holders.get(level, level)
    with write_as(ws.kb, actor) as w:
        case = w.incident(incident_id, expected_version=version)
        moved = ws.workflow.required_move("escalate", case.status)
        w.update_incident(incident_id, escalation_level=level, assignee=holder, **({"status": moved} if moved else {}))
        handoff = w.add_handoff(
            incident_id, level=level, holder=holder, package=package, created_by=actor.name, criteria=criteria
        )
        if follow:
            w.follow(incident_id, actor.name)
    if not post:
        return handoff
    outcome = post_to_chat(ws.settings.chat_webhook_url, package)  # after the commit: a slow chat holds no lock
    with write_as(ws.kb, actor) as w:
        return w.mark_posted(handoff.id, _PHRASE.dump_json(outcome).decode())


def posted(record: HandoffRecord) -> Phrase | None:
    """What became of posting a hand-off to the chat, as ``escalate`` recorded it; None if it was not asked for."""
    if not record.posted:
        return None
    try:
        return _PHRASE.validate_json(record.posted)
    except ValidationError:  # recorded by an earlier release, in words
        return Phrase("as_recorded", text=record.posted)


def chat_text(markdown: str) -> str:
    """The package as a chat may show it: a report's text cannot ping the channel, link or embed anything.

    Slack's three control characters are escaped (so ``<!channel>``, ``<@U123>`` and ``<http://x|click>`` stay
    text), image and link syntax is broken (``![x](url)`` would make the chat fetch the address, ``[x](url)`` a
    link a requester chose), and bare mentions
    (``@channel``, ``@here``, ``@everyone``, ``@all``) get a zero-width space after the ``@``.
    """
    text = markdown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MENTION.sub("@\u200b\\1", text.replace("![", "!\u200b[").replace("](", "]\u200b("))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A webhook that answers with a redirect is not followed elsewhere: the 3xx becomes the error it reports."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def post_to_chat(url: str | None, markdown: str) -> Phrase:
    """Post the package, made safe for the chat, to a Slack- or Teams-style incoming webhook over https; returns
    what happened (never raises)."""
    if not url:
        return Phrase("post_no_webhook")
    host = urlsplit(url).netloc or url  # the path of a webhook URL is its secret: never show it
    if not https_or_local(url):  # the settings refuse it too; a caller may pass another
        return Phrase("post_not_https", host=host)
    request = urllib.request.Request(
        url,
        data=json.dumps({"text": chat_text(markdown)}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with _OPENER.open(request, timeout=_WEBHOOK_TIMEOUT) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        return Phrase("post_failed", host=host, error=f"HTTP {exc.code} {exc.reason}")
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:  # a line hung up or garbled
        return Phrase("post_failed", host=host, error=str(getattr(exc, "reason", exc)))
    return Phrase("post_done", host=host, at=f"{utcnow():%Y-%m-%d %H:%M}", status=status)

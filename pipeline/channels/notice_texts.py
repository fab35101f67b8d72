"""What notices there are, who chooses which they get, and how they read.

Agents choose, each for themselves, which notices reach them by e-mail (to their account's address) and in the
chat (the team's webhook, naming them); a choice never made takes the default (e-mail on, chat off). Requesters
get theirs by e-mail. Each notice reads in the case's language: an admin's wording where one was saved, else the
built-in one (``words/outbound.toml``). A wording is text with ``${id}``-style placeholders filled by
``string.Template.safe_substitute``: data, never code; an unknown placeholder stays as typed."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass

from kb import InvalidValue, NoticeTemplateRecord
from pipeline.access.accounts import ADMINS, Account, PermissionDenied, require
from pipeline.workspace import Workspace
from words import CATALOGUE, LANGUAGES, Phrase

# To the people on a case: assigned to them, the requester answered, its SLA clock close to or past a breach, a
# hand-off to the level they hold (or the SLA clock's raise to it), the problem record it is linked to resolved.
AGENT_KINDS = (
    "assigned",
    "requester_answered",
    "sla_warning",
    "sla_breached",
    "handoff",
    "sla_raised",
    "problem_resolved",
)
# To the requester: their report received (with its number), passed to the next level, resolved.
REQUESTER_KINDS = ("acknowledged", "escalated", "resolved")
KINDS = AGENT_KINDS + REQUESTER_KINDS
CHANNELS = ("email", "chat")
DEFAULTS = {"email": True, "chat": False}
PLACEHOLDERS = (
    "id", "title", "status", "level", "requester", "agent", "holder", "due", "resolution", "problem", "rating_link"
)  # fmt: skip


def choices(ws: Workspace, user_id: int) -> dict[tuple[str, str], bool]:
    """Whether the person gets each kind of agent notice on each channel: their choice, else the default."""
    chosen = ws.kb.notice_choices(user_id)
    return {(k, c): chosen.get((k, c), DEFAULTS[c]) for k in AGENT_KINDS for c in CHANNELS}


def choose(ws: Workspace, user_id: int, wanted: Mapping[tuple[str, str], bool], *, actor: Account) -> None:
    """Set whether a person gets each (kind, channel) of notice: their own choices only, whatever their role."""
    if actor.id is None or actor.id != user_id:
        raise PermissionDenied("out_only_own_choices", who=actor.name)
    for kind, channel in wanted:
        if kind not in AGENT_KINDS or channel not in CHANNELS:
            raise InvalidValue("out_unknown_notice", kind=kind, channel=channel, kinds=list(AGENT_KINDS))
    with ws.kb.write(actor.name) as w:
        for (kind, channel), on in wanted.items():
            w.set_notice_choice(user_id, kind, channel, on)


@dataclass(frozen=True)
class Wording:
    """How a kind of notice reads in a language; ``edited_by`` None: the built-in wording."""

    kind: str
    language: str
    subject: str
    body: str
    edited_by: str | None = None


def _built_in(kind: str, language: str) -> Wording:
    subject, body = (CATALOGUE[f"notice_{kind}_{part}"] for part in ("subject", "body"))
    return Wording(kind, language, subject.get(language, subject["en"]), body.get(language, body["en"]))


def wordings(ws: Workspace, saved: list[NoticeTemplateRecord] | None = None) -> dict[tuple[str, str], Wording]:
    """Every kind of notice in every language, as it reads now: (kind, language) -> wording."""
    edited = {(t.kind, t.language): t for t in (ws.kb.notice_templates() if saved is None else saved)}
    out = {}
    for kind in KINDS:
        for language in LANGUAGES:
            t = edited.get((kind, language))
            out[kind, language] = (
                _built_in(kind, language) if t is None else Wording(kind, language, t.subject, t.body, t.updated_by)
            )
    return out


def fill(text: str, values: dict[str, str]) -> str:
    """A wording's text with its placeholders filled; anything else in it, ``$`` and braces included, as typed."""
    return string.Template(text).safe_substitute(values)


def _check(kind: str, language: str) -> None:
    if kind not in KINDS or language not in LANGUAGES:
        raise InvalidValue("out_unknown_wording", kind=kind, language=language, kinds=list(KINDS))


def save_wording(ws: Workspace, kind: str, language: str, *, subject: str, body: str, actor: Account) -> None:
    """Word a kind of notice in a language (admins)."""
    require(actor, ADMINS, "manage_notices")
    _check(kind, language)
    if not subject.strip() or not body.strip():
        raise InvalidValue("required_empty", what=Phrase("out_what_wording"))
    with ws.kb.write(actor.name) as w:
        w.save_notice_template(kind, language, subject=subject.strip(), body=body.strip(), updated_by=actor.name)


def reset_wording(ws: Workspace, kind: str, language: str, *, actor: Account) -> None:
    """Back to the built-in wording (admins)."""
    require(actor, ADMINS, "manage_notices")
    _check(kind, language)
    with ws.kb.write(actor.name) as w:
        w.delete_notice_template(kind, language)

"""Notices, derived from the event log: what happened since the last look (a cursor kept in ``kb_meta``) becomes
deliveries to the people it concerns, each once (its key names the event, the kind, the channel and the
recipient), each recorded in the case's history. The first look only sets the cursor at the newest event, so a
demo's or an import's history never sends anything; nor does an event recorded as long past (a replay), nor a case
created long after it came in (an import of old reports).

To agents (as each chose, ``notice_texts.choices``): a case assigned to them by someone else, the requester
answered on a case they hold, a case they hold close to its SLA breach or past it, a hand-off to the level they
hold (a holder that is a team, not an account, hears of it in the chat; one the SLA clock raised says so), the
problem record a case they hold is linked to resolved. To requesters, by e-mail: their report received with its
number, their case passed to the next level, their case resolved; none about a case filed from an automatic mail
(``mail_auto_submitted``), so two systems cannot answer each other forever."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import make_msgid

from kb import DeliveryRecord, EventRecord, IncidentRecord, NewDelivery, UserRecord
from kb.models import utcnow
from kb.vocab import RESOLVED_STATUSES
from pipeline.channels import notice_texts, ratings
from pipeline.channels.deliver import ready_channels
from pipeline.channels.smtp import one_line
from pipeline.desk.replies import tagged
from pipeline.desk.sla import CLOCK_KEEPER
from pipeline.workspace import Workspace
from words import say

logger = logging.getLogger(__name__)

CURSOR = "notices_after_event"  # kb_meta: the last event notices were derived from
STARTED = "notices_started_after"  # kb_meta: the newest event when notices first looked
NOTICER = "notices"  # who the event log says recorded a notice
# An event recorded as happening longer ago than this (a replay of the past), or a case created this long before
# it was stored (an imported old report), is no news.
NEWS = dt.timedelta(days=1)
AUTO_SUBMITTED = "mail_auto_submitted"  # recorded by the intake of a mail that an automat sent
BATCH = 500
# How far behind the cursor each look goes again: events logged this recently, among this many.
LOOK_BACK = dt.timedelta(minutes=15)
LOOK_BACK_EVENTS = 5_000


@dataclass(frozen=True)
class _Notice:
    """One notice to make: of ``kind``, about ``case``, from ``event``, to a person (an account) or an address."""

    kind: str
    event: EventRecord
    case: IncidentRecord
    user: UserRecord | None = None  # an agent
    team: str | None = None  # a holder that is no account
    address: str | None = None  # the requester's
    extra: tuple[tuple[str, str], ...] = ()


def notify(ws: Workspace, *, now: dt.datetime | None = None) -> list[DeliveryRecord]:
    """Make the notices of every event since the last look; the deliveries added."""
    after = ws.kb.meta(CURSOR)
    if after is None:
        with ws.kb.write(NOTICER) as w:
            newest = str(ws.kb.newest_event_id())
            w.set_meta(CURSOR, newest)
            w.set_meta(STARTED, newest)  # nothing before it is news, however recent
        return []
    now, after = now or utcnow(), int(after)
    # On PostgreSQL an event's id is taken when it is written, not when its transaction commits: one of a long
    # transaction (an upload) can appear behind the cursor. The last minutes behind it are looked at again; what
    # was already made is not made twice (a notice's key).
    first = max(after - LOOK_BACK_EVENTS, int(ws.kb.meta(STARTED) or 0))
    made = _make(ws, ws.kb.events_between(first, after, since=now - LOOK_BACK), now)
    while events := ws.kb.events_after(after, limit=BATCH):
        made += _make(ws, events, now, cursor=events[-1].id)
        after = events[-1].id
    return made


def _make(
    ws: Workspace, events: list[EventRecord], now: dt.datetime, cursor: int | None = None
) -> list[DeliveryRecord]:
    """The deliveries of the notices of ``events`` not made before; the cursor moved to ``cursor`` with them."""
    notices = list(_derive(ws, events, now))
    texts = notice_texts.wordings(ws)
    made = []
    with ws.kb.write(NOTICER, at=now) as w:
        for notice in notices:
            # A resolution notice asks how it went, by a link of its own: kept with a marker where the link goes,
            # the link made anew each time it is sent (``ratings.outgoing``), so no stored text holds its token.
            asks = notice.kind == ratings.PURPOSE
            if asks:
                notice = dataclasses.replace(notice, extra=(*notice.extra, ("rating_link", ratings.MARKER)))
            for new in _deliveries(ws, notice, texts):
                record, added = w.add_delivery(new)
                if added:
                    w.record_event("incident", new.incident_id, "notice", field=new.purpose, new_value=new.recipient)
                    made.append(record)
                    if asks:
                        ratings.keep(ws, w, notice.case, now)
        if cursor is not None:
            w.set_meta(CURSOR, str(cursor))
    return made


def _snapshot(event: EventRecord) -> dict:
    try:
        return json.loads(event.new_value or "{}")
    except ValueError:
        return {}


def _derive(ws: Workspace, events: list[EventRecord], now: dt.datetime) -> Iterator[_Notice]:
    about = [e for e in events if e.entity == "incident" and now - e.at <= NEWS]
    cases = {c.id: c for c in ws.kb.incidents(sorted({e.entity_id for e in about}))}
    users = {u.name: u for u in ws.kb.users()}
    teams = set(ws.settings.escalation_holders.values())
    automatic = {case for case, _, _ in ws.kb.case_events((AUTO_SUBMITTED,))}
    # An escalation gives the case to the level's holder, then stores the hand-off: the hand-off notice says both.
    handed = [(e.id, e.entity_id, e.actor, _snapshot(e).get("holder")) for e in about if e.action == "add_handoff"]

    def holder(kind: str, e: EventRecord, case: IncidentRecord, name: str | None, **extra: str) -> Iterator[_Notice]:
        if name in users:
            yield _Notice(kind, e, case, user=users[name], extra=tuple(extra.items()))
        elif name and (name in teams or kind == "handoff"):
            yield _Notice(kind, e, case, team=name, extra=tuple(extra.items()))

    def requester(kind: str, e: EventRecord, case: IncidentRecord, **extra: str) -> Iterator[_Notice]:
        if case.requester_id is None or case.id in automatic:
            return
        emails = ws.kb.requester(case.requester_id).emails
        if emails:
            yield _Notice(kind, e, case, address=emails[0], extra=tuple(extra.items()))

    for e in about:
        case = cases.get(e.entity_id)
        if case is None:
            continue
        if e.action == "create":
            created = dt.datetime.fromisoformat(_snapshot(e).get("created_at", e.at.isoformat()))
            if e.at - created <= NEWS and _snapshot(e).get("status") not in RESOLVED_STATUSES:
                yield from requester("acknowledged", e, case)
        elif e.action == "update" and e.field == "assignee" and e.new_value != e.actor:
            if not any(h[0] > e.id and h[1:] == (case.id, e.actor, e.new_value) for h in handed):
                yield from holder("assigned", e, case, e.new_value, actor=e.actor)
        elif e.action == "update" and e.field == "status":
            finished = e.new_value in RESOLVED_STATUSES and e.old_value not in RESOLVED_STATUSES
            # A merged duplicate goes on as its original: it was not resolved.
            if finished and ws.kb.merge_of(case.id) is None:
                yield from requester("resolved", e, case)
        elif e.action == "add_handoff":
            handoff = _snapshot(e)
            level = handoff.get("level", "")
            kind = "sla_raised" if e.actor == CLOCK_KEEPER else "handoff"  # the clock's own raise says why
            yield from holder(kind, e, case, handoff.get("holder"), level=level, actor=e.actor)
            yield from requester("escalated", e, case, level=level)
        elif e.action == "add_message" and _snapshot(e).get("kind") == "from_requester":
            yield from holder("requester_answered", e, case, case.assignee)
        elif e.action in ("sla_warning", "sla_breached"):
            yield from holder(e.action, e, case, case.assignee, due=e.new_value or "")
        elif e.action == "problem_resolved" and case.status not in RESOLVED_STATUSES and case.assignee != e.actor:
            # Whoever resolved the problem knows it, as one who assigns a case to themselves is not told.
            yield from holder("problem_resolved", e, case, case.assignee, problem=e.new_value or "", actor=e.actor)


def _values(ws: Workspace, notice: _Notice, language: str) -> dict[str, str]:
    case, extra = notice.case, dict(notice.extra)
    level = extra.get("level") or case.escalation_level
    return {
        "id": str(case.id),
        "title": case.title,
        "status": ws.workflow.label(case.status, language),
        "level": say(f"level_{level}", language) if level else "",
        "requester": case.requester_name or "",
        "agent": notice.user.name if notice.user else (notice.team or ""),
        "holder": case.assignee or "",
        "due": extra.get("due", "")[:16].replace("T", " "),
        "resolution": case.resolution or "",
        "actor": extra.get("actor", ""),
        "problem": extra.get("problem", ""),
        "rating_link": extra.get("rating_link", ""),
    }


def _deliveries(
    ws: Workspace, notice: _Notice, texts: dict[tuple[str, str], notice_texts.Wording]
) -> Iterator[NewDelivery]:
    """The deliveries of one notice, on the channels its recipient gets it on and that are set up."""
    ready = ready_channels(ws)
    if notice.address is not None:  # the requester, in the case's language
        language, routes = notice.case.language, [("email", notice.address, "")]
    elif notice.user is not None:
        language, chosen = ws.settings.ui_language, notice_texts.choices(ws, notice.user.id)
        routes = [("chat", notice.user.name, f"@{notice.user.name}: ")] if chosen[notice.kind, "chat"] else []
        if chosen[notice.kind, "email"] and notice.user.email:
            routes.append(("email", notice.user.email, ""))
    else:
        language, routes = ws.settings.ui_language, [("chat", notice.team, f"@{notice.team}: ")]
    wording = texts.get((notice.kind, language)) or texts[notice.kind, "en"]
    values = _values(ws, notice, language)
    subject = one_line(notice_texts.fill(wording.subject, values))
    body = notice_texts.fill(wording.body, values)
    smtp = ws.settings.mail.smtp
    for channel, recipient, prefix in routes:
        if channel not in ready:
            continue
        key = f"notice:{notice.event.id}:{notice.kind}:{channel}:{recipient}"[:200]
        yield NewDelivery(
            key=key,
            channel=channel,
            purpose=notice.kind,
            recipient=recipient,
            subject=prefix + (tagged(subject, notice.case.id) if channel == "email" else subject),
            body=body,
            language=language,
            incident_id=notice.case.id,
            mail_id=make_msgid(domain=smtp.from_address.partition("@")[2]) if channel == "email" and smtp else None,
        )

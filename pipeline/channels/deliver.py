"""Sending what the desk wrote out: every due delivery (a reply's mail, a notice by e-mail or to the chat) is taken
by one worker, handed to the SMTP server (a resolution notice with a rating link made for that send,
``ratings.outgoing``) or the chat webhook, and recorded as sent (when the server accepted it), or as refused and
tried again after ``mail.retry_minutes``, failed after the last wait. A failed one can be sent again from the case.
What a case's replies became is read here for the case page (``reply_states``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from typing import Literal

from kb import DeliveryRecord, MessageRecord
from kb.models import utcnow
from pipeline.access.accounts import Account, write_as
from pipeline.channels import ratings, smtp
from pipeline.desk.casework import CaseFile
from pipeline.desk.handoff import post_to_chat
from pipeline.workspace import Workspace
from words import Phrase, PhrasedError

logger = logging.getLogger(__name__)

SENDER = "mail sender"  # who the event log says recorded a reply as sent
# How long a delivery taken for sending is kept from other workers: longer than any send; a worker killed mid-send
# leaves it to be tried again after this.
LEASE = dt.timedelta(minutes=10)


class DeliveryError(PhrasedError, ValueError):
    """A delivery cannot be sent again as it is (it has not failed)."""


def next_try(retry_minutes: list[float], attempts: int, now: dt.datetime) -> dt.datetime | None:
    """When a delivery refused on its ``attempts``-th try is tried next; None after the last wait (it has failed).

    >>> now = dt.datetime(2026, 12, 4, tzinfo=dt.UTC)
    >>> next_try([1, 5], 2, now).minute, next_try([1, 5], 3, now)
    (5, None)
    """
    return now + dt.timedelta(minutes=retry_minutes[attempts - 1]) if attempts <= len(retry_minutes) else None


def _send(ws: Workspace, delivery: DeliveryRecord) -> Phrase | None:
    """Hand one delivery over; None once accepted, else why not."""
    if delivery.channel == "chat":
        outcome = post_to_chat(ws.settings.chat_webhook_url, f"{delivery.subject}\n\n{delivery.body}")
        return None if outcome.code == "post_done" else outcome
    try:
        smtp.send(ws.settings.mail, delivery)
    except smtp.MailRefused as exc:
        return exc.phrase
    return None


def ready_channels(ws: Workspace) -> tuple[str, ...]:
    """The channels something can be sent on: e-mail with an SMTP server set, the chat with a webhook."""
    ready = {"email": ws.settings.mail.smtp is not None, "chat": bool(ws.settings.chat_webhook_url)}
    return tuple(channel for channel, on in ready.items() if on)


def deliver(ws: Workspace, *, now: dt.datetime | None = None) -> list[DeliveryRecord]:
    """Send every due delivery on the channels set up, each by one worker only; the deliveries as they ended.
    ``now`` stands for the clock (tests)."""
    ended = []
    for due in ws.kb.due_deliveries(now or utcnow(), channels=ready_channels(ws)):
        with ws.kb.write(SENDER) as w:
            if not w.take_delivery(due, until=(now or utcnow()) + LEASE):
                continue  # another worker took it first
            # A resolution notice's rating link, made for this send: its hash committed with the take, so the link
            # in a mail the server accepts always answers.
            outgoing = ratings.outgoing(ws, w, due, now)
        try:
            refusal = _send(ws, outgoing)
        except Exception:  # one delivery gone wrong holds up none of the others
            reference = secrets.token_hex(4)
            logger.exception("delivery %s failed, reference %s", due.id, reference)
            refusal = Phrase("out_crashed", reference=reference)
        at = now or utcnow()
        with ws.kb.write(SENDER, at=at) as w:
            if refusal is None:
                ended.append(w.delivery_sent(due.id, at=at))
                continue
            logger.warning("delivery %s to %s refused: %s", due.id, due.recipient, refusal)
            wait = next_try(ws.settings.mail.retry_minutes, due.attempts + 1, at)
            ended.append(w.delivery_refused(due.id, error=dataclasses.asdict(refusal), next_try_at=wait))
    return ended


def send_again(ws: Workspace, delivery_id: int, *, actor: Account) -> DeliveryRecord:
    """Try a failed delivery again from now, its tries counted anew (agents)."""
    with write_as(ws.kb, actor) as w:
        if not w.retry_delivery(delivery_id, at=w.now()):
            raise DeliveryError("out_not_failed", id=delivery_id)
    return ws.kb.delivery(delivery_id)


State = Literal["sent", "waiting", "refused", "failed", "not_sent"]


@dataclass(frozen=True)
class ReplyState:
    """What became of one reply: sent (``at`` the server accepted it), waiting for its first try, refused (why, and
    ``at`` the next try), failed (why; it can be sent again), or not sent by mail at all (why)."""

    message: MessageRecord
    state: State
    at: dt.datetime | None = None
    why: Phrase | None = None
    delivery_id: int | None = None


def reply_states(ws: Workspace, case: CaseFile) -> dict[int, ReplyState]:
    """The state of each of a case's replies, by message id."""
    carried = {d.message_id: d for d in ws.kb.deliveries(case.incident.id) if d.message_id is not None}
    states = {}
    for m in case.messages:
        if m.kind != "to_requester":
            continue
        d = carried.get(m.id)
        if m.sent_at is not None:
            states[m.id] = ReplyState(m, "sent", m.sent_at)
        elif d is None:
            no_address = case.requester is None or not case.requester.emails
            states[m.id] = ReplyState(m, "not_sent", why=Phrase("out_no_address" if no_address else "out_no_smtp"))
        else:
            why = Phrase.from_dict(d.error) if d.error else None
            if d.status == "failed":
                states[m.id] = ReplyState(m, "failed", why=why, delivery_id=d.id)
            else:
                state: State = "refused" if why is not None else "waiting"
                states[m.id] = ReplyState(m, state, d.next_try_at, why, d.id)
    return states

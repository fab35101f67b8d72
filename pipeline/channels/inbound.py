"""Mail polled from IMAP mailboxes (``settings.mail.mailboxes``) and filed through the same intake as an upload
(``pipeline.desk.intake``), as the mailbox's own account ("Mailbox <name>", an agent).

A mail is filed first and marked after: with the keyword ``incident-kb-filed`` (a person reading the mailbox sets
``\\Seen``, never this), and moved to ``move_to`` where ``after = "move"``. Filing is idempotent by Message-ID (a
mail without one: by mailbox, UIDVALIDITY and UID), so a worker stopped between the two files nothing twice. A mail
that cannot be filed stays in the mailbox unmarked, is tried again at every poll and is listed for the admins in
``inbound_mail`` with the reason; once filed, its row is settled. When each mailbox was last polled and whether
its server answered is kept in ``kb_meta`` (``mail_polls``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import json
import logging
import secrets
import ssl
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from email import policy
from email.utils import parseaddr

from huey.exceptions import TaskLockedException
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from kb import InboundMailRecord, InvalidValue, KnowledgeBaseBusy, KnowledgeBaseUnavailable
from kb.models import utcnow
from pipeline.access.accounts import ADMINS, Account, require
from pipeline.channels.config import Mailbox
from pipeline.desk import intake
from pipeline.desk.mail import MailError
from pipeline.text import ReportError
from pipeline.workspace import Workspace
from words import Phrase, PhrasedError

logger = logging.getLogger(__name__)

KEYWORD = "incident-kb-filed"
POLLS = "mail_polls"  # kb_meta: {mailbox: {"at": ISO time, "error": phrase or None}}
TIMEOUT_SECONDS = 30
Lock = Callable[[str], AbstractContextManager[object]]


class MailboxError(PhrasedError, RuntimeError):
    """A mailbox could not be read: its server refused the connection or the password, or is not set up."""


@dataclass(frozen=True)
class PollResult:
    """One poll of one mailbox: how many mails were filed, found filed before (and now marked), left in the
    mailbox (listed for the admins), and why the mailbox could not be read at all, if it could not."""

    mailbox: str
    filed: int = 0
    already_filed: int = 0
    left: int = 0
    error: Phrase | None = None


@dataclass(frozen=True)
class MailboxState:
    """What the admins see of a mailbox: when it was last polled and why that failed, if it did."""

    mailbox: str
    polled_at: dt.datetime | None
    error: Phrase | None


def mailbox_account(box: Mailbox) -> Account:
    """Who files a mailbox's mail, as the event log records it."""
    return Account(id=None, name=f"Mailbox {box.name}", role="agent")


def mailbox_lock(box: Mailbox) -> str:
    """The name of the lock a mailbox is polled under."""
    return f"incident_kb.mail.{box.name}"


def poll_due(ws: Workspace, *, lock: Lock, force: bool = False, only: str | None = None) -> list[PollResult]:
    """Poll each mailbox whose ``interval_minutes`` have passed since its last poll (every one with ``force``; only
    the one named ``only``, if given), each under ``lock(name)`` so that two workers never poll one mailbox at
    once (a mailbox being polled elsewhere is skipped)."""
    results = []
    now = utcnow()
    polls = _polls(ws)
    for box in ws.settings.mail.mailboxes:
        if only is not None and box.name != only:
            continue
        last = polls.get(box.name, {}).get("at")
        if not force and last and now - dt.datetime.fromisoformat(last) < dt.timedelta(minutes=box.interval_minutes):
            continue
        try:
            with lock(mailbox_lock(box)):
                result = poll_mailbox(ws, box)
        except TaskLockedException:
            continue
        _remember(ws, box.name, result)
        results.append(result)
    return results


def poll_mailbox(ws: Workspace, box: Mailbox) -> PollResult:
    """Fetch every mail of ``box`` not yet marked filed, file it, and mark it; never raises for a mailbox that
    cannot be read (the result says why)."""
    filed = already = left = 0
    try:
        with _connected(ws, box) as imap:
            uidvalidity = int(imap.select_folder(box.folder)[b"UIDVALIDITY"])
            for uid in imap.search(["UNKEYWORD", KEYWORD]):
                outcome = _take(ws, box, imap, uidvalidity, uid)
                filed += outcome == "filed"
                already += outcome == "already"
                left += outcome == "left"
    except MailboxError as exc:
        logger.warning("mailbox %s: %s", box.name, exc.phrase)
        return PollResult(box.name, filed, already, left, exc.phrase)
    return PollResult(box.name, filed, already, left)


@contextlib.contextmanager
def _connected(ws: Workspace, box: Mailbox) -> Iterator[IMAPClient]:
    """A signed-in connection to ``box``, TLS from the start, after STARTTLS, or plain (to this machine only)."""
    password = ws.settings.mail.secret(f"imap.{box.name}")
    if not box.user or password is None:
        raise MailboxError("mail_not_set_up", mailbox=box.name, secret=f"imap.{box.name}")
    where = {"mailbox": box.name, "host": box.host, "port": box.port}
    context = ssl.create_default_context()
    try:
        imap = IMAPClient(
            box.host, port=box.port, ssl=box.security == "tls", ssl_context=context, timeout=TIMEOUT_SECONDS
        )
    except ConnectionRefusedError:
        raise MailboxError("mail_connection_refused", **where) from None
    except ssl.SSLError as exc:
        raise MailboxError("mail_tls_failed", **where, error=str(exc)) from None
    except OSError as exc:
        raise MailboxError("mail_server_unreachable", **where, error=str(exc)) from None
    try:
        if box.security == "starttls":
            imap.starttls(context)
        imap.login(box.user, password)
        yield imap
    except LoginError:
        raise MailboxError("mail_login_refused", **where, user=box.user) from None
    except ssl.SSLError as exc:
        raise MailboxError("mail_tls_failed", **where, error=str(exc)) from None
    except (IMAPClientError, OSError) as exc:  # imaplib's errors are IMAPClientError's
        raise MailboxError("mail_server_failed", **where, error=str(exc)) from None
    finally:
        with contextlib.suppress(Exception):
            imap.logout()


def _take(ws: Workspace, box: Mailbox, imap: IMAPClient, uidvalidity: int, uid: int) -> str:
    """File one mail and mark it: "filed", "already" (filed before, marked now), "left" (could not be filed, listed)
    or "dismissed" (an admin chose to leave it)."""
    place = (box.name, uidvalidity, uid)
    listed = ws.kb.unfiled_mail_at(*place)
    if listed is not None and listed.settled_at is not None:
        return "dismissed"
    head = imap.fetch([uid], ["RFC822.SIZE", "BODY.PEEK[HEADER]"])[uid]
    seen = _what_it_says(head.get(b"BODY[HEADER]", b""))
    size, limit = int(head.get(b"RFC822.SIZE", 0)), ws.settings.max_unpacked_bytes
    try:
        if size > limit:
            raise MailError("mail_too_big", mb=size / 1e6, limit=limit / 1e6)
        data = imap.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]  # PEEK: a person's \Seen stays theirs
        fallback = f"imap:{box.name}:{uidvalidity}:{uid}"
        report = intake.file_fetched(ws, f"{box.name}/{uid}", data, actor=mailbox_account(box), fallback_key=fallback)
    except (MailError, InvalidValue, ReportError, KnowledgeBaseBusy) as exc:
        return _leave(ws, place, exc.phrase, seen)
    except KnowledgeBaseUnavailable as exc:  # the database is gone: nothing can be recorded either; tried next poll
        logger.warning("mailbox %s, mail %s: not filed, %s", box.name, uid, exc.phrase)
        return "left"
    except Exception:
        reference = secrets.token_hex(4)
        logger.exception("mailbox %s, mail %s: filing failed, reference %s", box.name, uid, reference)
        return _leave(ws, place, Phrase("mail_filing_crashed", reference=reference), seen)
    imap.add_flags([uid], [KEYWORD])
    if box.after == "move":
        imap.move([uid], box.move_to)
    if listed is not None:
        with ws.kb.write(mailbox_account(box).name) as w:
            w.settle_unfiled_mail(at=w.now(), where=place)
    return "filed" if report.added or report.messages else "already"


def _what_it_says(header: bytes) -> dict[str, str | None]:
    """Its Message-ID, sender and subject, for the admins' list: as far as they can be read (a malformed header
    must not stop the mailbox; filing it then says what is wrong)."""
    parsed = email.message_from_bytes(header, policy=policy.default)
    raw = email.message_from_bytes(header, policy=policy.compat32)  # the header as written: reading it cannot fail

    def read(name: str) -> str:
        try:
            return str(parsed.get(name, ""))
        except Exception:  # a malformed header (the parser raises IndexError and worse)
            return str(raw.get(name, ""))

    return {
        "mail_id": read("Message-ID").strip()[:255] or None,
        "sender": parseaddr(read("From"))[1][:320],
        "subject": read("Subject")[:500],
    }


def _leave(ws: Workspace, place: tuple[str, int, int], reason: Phrase, seen: dict) -> str:
    logger.info("mailbox %s, mail %s: left in the mailbox, %s", place[0], place[2], reason)
    try:
        with ws.kb.write(f"Mailbox {place[0]}") as w:
            w.note_unfiled_mail(*place, reason=asdict(reason), at=w.now(), **seen)
    except KnowledgeBaseUnavailable as exc:
        logger.warning("mailbox %s, mail %s: not listed either, %s", place[0], place[2], exc.phrase)
    return "left"


def _polls(ws: Workspace) -> dict[str, dict]:
    return json.loads(ws.kb.meta(POLLS) or "{}")


def _remember(ws: Workspace, name: str, result: PollResult) -> None:
    error = None if result.error is None else asdict(result.error)
    # Two mailboxes polled at the same moment may lose one's time: it is then polled one interval early.
    with contextlib.suppress(KnowledgeBaseUnavailable):
        polls = _polls(ws)
        with ws.kb.write(f"Mailbox {name}") as w:
            polls[name] = {"at": w.now().isoformat(), "error": error}
            w.set_meta(POLLS, json.dumps(polls, ensure_ascii=False))


def mailbox_states(ws: Workspace, *, actor: Account) -> list[MailboxState]:
    """Each mailbox of the settings, when it was last polled and why that failed; for the admins."""
    require(actor, ADMINS, "manage_mail")
    polls = _polls(ws)
    states = []
    for box in ws.settings.mail.mailboxes:
        poll = polls.get(box.name, {})
        at = dt.datetime.fromisoformat(poll["at"]) if poll.get("at") else None
        states.append(MailboxState(box.name, at, Phrase.from_dict(poll["error"]) if poll.get("error") else None))
    return states


def unfiled(ws: Workspace, *, actor: Account) -> list[InboundMailRecord]:
    """The mail left in the mailboxes because it could not be filed, the most recently tried first; for the admins."""
    require(actor, ADMINS, "manage_mail")
    return ws.kb.unfiled_mail()


def try_again(ws: Workspace, row_id: int, *, actor: Account, lock: Lock) -> PollResult | None:
    """Poll the mailbox of a listed mail now (an admin fixed what stopped it, or wants to see); None if that
    mailbox is no longer in the settings."""
    require(actor, ADMINS, "manage_mail")
    row = next((r for r in ws.kb.unfiled_mail(settled=True) if r.id == row_id), None)
    if row is None:
        raise InvalidValue("inbound_mail_not_found", id=row_id)
    results = poll_due(ws, lock=lock, force=True, only=row.mailbox)
    return results[0] if results else None


def dismiss(ws: Workspace, row_id: int, *, actor: Account) -> None:
    """Stop trying to file a listed mail: it stays in its mailbox, unmarked, for a person to deal with there."""
    require(actor, ADMINS, "manage_mail")
    with ws.kb.write(actor.name) as w:
        w.settle_unfiled_mail(at=w.now(), row_id=row_id)

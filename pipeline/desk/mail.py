"""Reading e-mail at intake: one ``.eml`` file, an mbox of many, or a mail fetched from a mailbox, into sender,
subject, body, date, the headers that thread it (Message-ID, In-Reply-To, References), whether it is an automatic
reply, and its attachments (name, content type and bytes)."""

from __future__ import annotations

import datetime as dt
import email
import mailbox
import re
import tempfile
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path

from pipeline.text import clean_text, strip_html
from words import PhrasedError

# "Re: [#123] VPN" names the case a message belongs to; replies sent from a case carry this tag.
CASE_TAG = re.compile(r"\[#(\d+)\]")
# One Message-ID in In-Reply-To or References: "<local@host>" (anything around them is a comment).
_MAIL_ID = re.compile(r"<[^<>\s]{1,250}>")
_AUTO_PRECEDENCE = ("bulk", "junk", "list")
# Characters that would change how a file name reads (controls, bidirectional overrides and isolates).
_UNSAFE_IN_NAME = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class MailAttachment:
    """A file that came with a mail: the sender's name for it (a label only, never a path) and its bytes."""

    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Mail:
    sender_name: str
    sender_address: str
    subject: str
    body: str
    date: dt.datetime | None
    attachments: tuple[MailAttachment, ...]
    message_id: str = ""
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    # An out-of-office or a list's mail: filed, never answered, so two systems cannot answer each other forever.
    auto_submitted: bool = False

    @property
    def answers(self) -> tuple[str, ...]:
        """The Message-IDs this mail answers, the nearest first (In-Reply-To, then References newest first)."""
        return tuple(dict.fromkeys(self.in_reply_to + tuple(reversed(self.references))))

    @property
    def case_id(self) -> int | None:
        """The case this message answers, if its subject carries a case tag."""
        match = CASE_TAG.search(self.subject)
        return int(match.group(1)) if match else None


class MailError(PhrasedError, ValueError):
    """A file, or one message in it, is not an e-mail the intake can read."""


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        text = part.get_content()
    except (LookupError, UnicodeError):  # an unknown or lying charset: keep what decodes
        text = part.get_payload(decode=True).decode("utf-8", errors="replace")
    return strip_html(text) if part.get_content_type() == "text/html" else text


def parse_message(message: EmailMessage) -> Mail:
    """The parts of one message the intake needs; MailError names what is missing or cannot be read."""
    try:
        return _parse(message)
    except MailError:
        raise
    # The standard library's header parser raises all sorts on malformed headers (IndexError on ``From: a@``,
    # UnboundLocalError on ``Message-ID: <a@[``): whatever it raises, this one message cannot be read.
    except Exception as exc:
        raise MailError("mail_garbled", error=f"{type(exc).__name__}: {str(exc)[:200]}") from exc


def _parse(message: EmailMessage) -> Mail:
    name, address = parseaddr(str(message.get("From", "")))
    if "@" not in address:
        raise MailError("mail_no_sender")
    subject = clean_text(str(message.get("Subject", "")))
    body = clean_text(_body(message))
    if not subject and not body:
        raise MailError("mail_empty")
    try:
        date = parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
    except (TypeError, ValueError):
        date = None
    if date is not None and date.tzinfo is None:
        date = date.replace(tzinfo=dt.UTC)
    message_id = str(message.get("Message-ID", "")).strip()[:255]
    return Mail(
        name.strip(),
        address.strip().lower(),
        subject,
        body,
        date,
        tuple(_attachments(message)),
        message_id,
        in_reply_to=_mail_ids(message, "In-Reply-To"),
        references=_mail_ids(message, "References"),
        auto_submitted=is_auto_submitted(message),
    )


def _mail_ids(message: EmailMessage, header: str) -> tuple[str, ...]:
    return tuple(_MAIL_ID.findall(" ".join(str(v) for v in message.get_all(header, []))))


def is_auto_submitted(message: EmailMessage) -> bool:
    """Whether a mail says a machine sent it: ``Auto-Submitted`` other than ``no`` (RFC 3834), ``Precedence``
    bulk, junk or list, or an ``X-Autoreply`` header."""
    auto = str(message.get("Auto-Submitted", "no")).split(";")[0].strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    return auto not in ("no", "") or precedence in _AUTO_PRECEDENCE or message.get("X-Autoreply") is not None


def safe_file_name(name: str) -> str:
    """A sender's file name as a harmless label: no folders, no control or direction-changing characters."""
    name = _UNSAFE_IN_NAME.sub("", name.replace("\\", "/")).rsplit("/", 1)[-1].strip().lstrip(".")
    return name[:200] or "attachment"


def _attachments(message: EmailMessage) -> list[MailAttachment]:
    found = []
    for part in message.iter_attachments():
        data = part.get_payload(decode=True)
        if data is None:  # a mail forwarded as an attachment (message/rfc822): kept as the mail it is
            inner = part.get_payload()
            data = inner[0].as_bytes() if isinstance(inner, list) and inner else b""
        name = safe_file_name(str(part.get_filename() or ""))
        found.append(MailAttachment(name, part.get_content_type()[:100], data))
    return found


def read_eml(data: bytes) -> Mail:
    return parse_message(email.message_from_bytes(data, policy=policy.default))


def read_mbox(data: bytes) -> list[Mail | MailError]:
    """Every message of an mbox file, in order; a message that cannot be read becomes its MailError."""
    if not data.startswith(b"From "):
        raise MailError("mail_not_mbox")
    with tempfile.TemporaryDirectory() as folder:  # mailbox reads files only
        path = Path(folder) / "upload.mbox"
        path.write_bytes(data)
        box = mailbox.mbox(path, factory=lambda f: email.message_from_binary_file(f, policy=policy.default))
        out: list[Mail | MailError] = []
        for message in box:
            try:
                out.append(parse_message(message))
            except MailError as exc:
                out.append(exc)
        box.close()
    return out

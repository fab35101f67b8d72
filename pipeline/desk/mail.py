"""Reading e-mail at intake: one ``.eml`` file or an mbox of many, into sender, subject, body, date and the names
of any attachments (the attachments themselves are not kept)."""

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


@dataclass(frozen=True)
class Mail:
    sender_name: str
    sender_address: str
    subject: str
    body: str
    date: dt.datetime | None
    attachments: tuple[str, ...]
    message_id: str = ""

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
    """The parts of one message the intake needs; MailError names what is missing."""
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
    attachments = tuple(part.get_filename() for part in message.iter_attachments() if part.get_filename())
    message_id = str(message.get("Message-ID", "")).strip()
    return Mail(name.strip(), address.strip().lower(), subject, body, date, attachments, message_id)


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

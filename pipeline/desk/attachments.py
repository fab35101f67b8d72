"""The files that come with a case's mail: kept with the case up to ``mail.max_attachment_bytes`` each (a bigger one
is named in a note on the case instead), listed on its page and downloaded by agents, leads and admins, always as
bytes to save, never shown. Where and how the bytes are kept is the knowledge base's (``kb.attachments``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kb import AttachmentRecord, Writer
from pipeline.access.accounts import AGENTS, Account, require
from pipeline.desk.mail import MailAttachment
from pipeline.workspace import Workspace
from words import Phrase, say


@dataclass(frozen=True)
class Download:
    """An attachment to save: its label and its bytes."""

    attachment: AttachmentRecord
    data: bytes


def keep(
    ws: Workspace,
    w: Writer,
    incident_id: int,
    files: Sequence[MailAttachment],
    *,
    author: str,
    language: str,
    message_id: int | None = None,
) -> list[AttachmentRecord]:
    """Keep a mail's files with its case, inside the write that files the mail; a file over the cap is not kept,
    and a note on the case (in its language) names it and its size. The files kept."""
    limit = ws.settings.mail.max_attachment_bytes
    kept = []
    for f in files:
        if len(f.data) > limit:
            note = Phrase("attachment_too_big", name=f.name, mb=len(f.data) / 1e6, limit=limit / 1e6)
            w.add_message(incident_id, kind="note", author=author, body=say(note, language))
            continue
        kept.append(
            w.add_attachment(
                incident_id,
                filename=f.name,
                content_type=f.content_type,
                data=f.data,
                created_by=author,
                message_id=message_id,
            )
        )
    return kept


def listing(ws: Workspace, incident_id: int, *, actor: Account) -> list[AttachmentRecord]:
    """The files kept with a case, for whoever works cases."""
    require(actor, AGENTS, "work_cases")
    return ws.kb.attachments(incident_id)


def download(ws: Workspace, attachment_id: int, *, actor: Account) -> Download:
    """One kept file's bytes, for whoever works cases."""
    require(actor, AGENTS, "work_cases")
    record = ws.kb.attachment(attachment_id)
    return Download(record, ws.kb.attachment_bytes(record.sha256))

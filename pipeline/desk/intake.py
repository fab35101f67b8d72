"""One intake window: a report typed into the form, a CSV or JSON Lines file, or e-mail (``.eml`` or mbox).

Every new case lands in the queue as "new" with the assistant's suggestions computed and stored (and the
sure ones set on the case), and flagged when an earlier open case looks like the same problem. An e-mail whose
subject carries a case tag (``[#123]``) is a new message on that case instead. A file that cannot be read is
refused whole with a message naming what is wrong; nothing from it is stored.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path

from kb import IncidentNotFound, InvalidValue, NewSuggestion, Writer, normalise_email
from pipeline.access.accounts import Account, write_as
from pipeline.desk import casework
from pipeline.desk.importer import RequesterResolver, import_incidents
from pipeline.desk.mail import Mail, MailError, read_eml, read_mbox
from pipeline.files import ImportFileError, ReadLimits
from pipeline.progress import ProgressFactory, no_progress
from pipeline.text import ReportError, clean_report, clean_text, detect_language, title_from_body
from pipeline.triage.suggest import Triage
from pipeline.triage.training import SuggestionModelUnavailable
from pipeline.workspace import Workspace
from words import Phrase, PhrasedError, say

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson")
MAIL_SUFFIXES = (".eml", ".mbox")


class IntakeError(PhrasedError, ValueError):
    """A whole upload was refused; nothing from it was stored."""


@dataclass
class IntakeReport:
    """What an intake did: the new cases, the messages added to existing ones, and what was left out."""

    name: str
    added: list[int] = field(default_factory=list)
    messages: list[int] = field(default_factory=list)  # ids of the cases that got a requester's message
    already_present: int = 0
    present: list[int] = field(default_factory=list)  # the cases of those already present
    problems: list[Phrase] = field(default_factory=list)
    notes: list[Phrase] = field(default_factory=list)


def stored_suggestions(result: Triage, at: dt.datetime | None = None) -> list[NewSuggestion]:
    """The suggestions of a triage as the knowledge base keeps them, one per suggested target (made ``at``)."""
    return [
        NewSuggestion(
            target=target,
            value=s.value,
            best=s.best,
            confidence=s.confidence,
            model_version=result.model_version,
            threshold_version=result.threshold_version,
            created_at=at,
        )
        for target, s in result.suggestions.items()
    ]


def assess(
    ws: Workspace, incident_ids: list[int], *, actor: Account, progress: ProgressFactory = no_progress
) -> list[Phrase]:
    """Compute and store the suggestions of new cases, set the sure ones, flag duplicates.

    Returns what the agent should know: why no suggestions were stored, if none could be.
    """
    with progress(Phrase("progress_suggesting"), len(incident_ids)) as update:
        for case in ws.kb.incidents(incident_ids):
            try:
                result = ws.triage(case, fold=False)
            except SuggestionModelUnavailable as exc:
                return [Phrase("no_suggestions_stored", reason=exc.phrase)]
            earlier = [d.incident.id for d in result.duplicates if d.incident.id < case.id]
            rows = stored_suggestions(result)
            # Sure suggestions fill the case's empty fields; what an agent or a source file set stays.
            sure = {r.target: r.value for r in rows if r.value is not None and getattr(case, r.target) is None}
            with write_as(ws.kb, actor) as w:
                w.add_suggestions(case.id, rows)
                w.update_incident(case.id, duplicate_of=earlier[0] if earlier else None, **sure)
            update(1)
    return []


def submit(
    ws: Workspace, *, actor: Account, title: str, body: str, requester_email: str = "", requester_name: str = ""
) -> int:
    """File a report typed into the form; returns the new case's id."""
    body = clean_text(body or "")
    title = clean_text(title or "") or title_from_body(clean_report(body))
    with write_as(ws.kb, actor) as w:
        requester = _requester(w, requester_email, requester_name)
        case = w.add_incident(
            title=title,
            body=body,
            language=detect_language(f"{title}\n{body}"),
            requester_id=requester,
            status=ws.workflow.new,
        )
    assess(ws, [case], actor=actor)
    return case


def _requester(w: Writer, address: str, name: str = "") -> int | None:
    """The requester of ``address`` (which may carry the name: ``Kim Lee <kim@example.com>``), as imports find one."""
    name = name.strip() or parseaddr(address)[0].strip()
    return RequesterResolver(w)(name, normalise_email(address) if address.strip() else "")


def check_upload(ws: Workspace, name: str, data: bytes) -> str:
    """What kind of file an upload is (its suffix, past a ``.gz``); IntakeError if it is empty, too big or of a
    kind intake does not read: checked before anything is kept of it."""
    suffix = Path(name.lower().removesuffix(".gz")).suffix
    limit = ws.settings.max_upload_bytes
    if not data.strip():
        raise IntakeError("upload_empty", name=name)
    if len(data) > limit:
        raise IntakeError("upload_too_big", name=name, mb=len(data) / 1e6, limit=limit / 1e6)
    if suffix not in TABLE_SUFFIXES + MAIL_SUFFIXES:
        raise IntakeError("upload_unknown_kind", name=name, kinds=list(TABLE_SUFFIXES + MAIL_SUFFIXES))
    return suffix


def upload(
    ws: Workspace, name: str, data: bytes, *, actor: Account, progress: ProgressFactory = no_progress
) -> IntakeReport:
    """File every report of an uploaded file; IntakeError (nothing stored) if the file cannot be read.

    Reports filed before and never assessed since (still new, without suggestions: what an upload whose worker
    was killed between filing and assessing leaves, or one made before there was a model) are assessed now."""
    suffix = check_upload(ws, name, data)
    if suffix in TABLE_SUFFIXES:
        report = _upload_table(ws, name, data, actor, progress)
    else:
        report = _upload_mail(ws, name, data, actor)
    # Each once: a file may hold the same report twice, and what it just filed is assessed with the rest.
    added = set(report.added)
    earlier = ws.kb.without_suggestions((i for i in report.present if i not in added), status=ws.workflow.new)
    report.notes = assess(ws, report.added + earlier, actor=actor, progress=progress)
    return report


def _upload_table(ws: Workspace, name: str, data: bytes, actor: Account, progress: ProgressFactory) -> IntakeReport:
    with tempfile.TemporaryDirectory() as folder:  # the importer reads files: keep the name, it tells the format
        path = Path(folder) / Path(name).name
        path.write_bytes(data)
        try:
            imported = import_incidents(
                ws.kb,
                path,
                statuses=ws.workflow.statuses,
                status=ws.workflow.new,
                actor=actor,
                limits=ReadLimits(ws.settings.max_unpacked_bytes, ws.settings.max_upload_rows),
                progress=progress,
            )
        except ImportFileError as exc:
            raise IntakeError("upload_unreadable", reason=exc.phrase) from None
    report = IntakeReport(
        name, added=imported.added_ids, already_present=imported.already_present, present=imported.present_ids
    )
    report.problems = [p.phrase for p in imported.problems]
    return report


def _upload_mail(ws: Workspace, name: str, data: bytes, actor: Account) -> IntakeReport:
    try:
        mails: list[Mail | MailError] = read_mbox(data) if name.lower().endswith(".mbox") else [read_eml(data)]
    except MailError as exc:
        raise IntakeError("upload_not_mail", name=name, reason=exc.phrase) from None
    if len(mails) > ws.settings.max_upload_rows:
        raise IntakeError("upload_too_many_mails", name=name, limit=ws.settings.max_upload_rows)
    if not any(isinstance(m, Mail) for m in mails):
        raise IntakeError("upload_no_readable_mail", name=name, reason=mails[0].phrase)
    report = IntakeReport(name)
    for number, mail in enumerate(mails, start=1):
        where = Phrase("mbox_message", n=number) if len(mails) > 1 else name
        if isinstance(mail, MailError):
            report.problems.append(Phrase("upload_problem", where=where, reason=mail.phrase))
            continue
        try:
            _file_mail(ws, mail, actor, report)
        except (InvalidValue, ReportError) as exc:
            report.problems.append(Phrase("upload_problem", where=where, reason=exc.phrase))
    return report


def _file_mail(ws: Workspace, mail: Mail, actor: Account, report: IntakeReport) -> None:
    # The attachments themselves are not kept: their names stay with the text (after a paperclip, which reads the same
    # in every language), for the agent and the hand-off package.
    body = mail.body + (f"\n\n📎 {', '.join(mail.attachments)}" if mail.attachments else "")
    refers_to = None
    if mail.case_id is not None:
        try:
            case = ws.kb.incident(mail.case_id)
        except IncidentNotFound:
            case = None  # a tag we did not send: file it as a new case
        if case is not None and casework.may_write_on(ws, case, mail.sender_address):
            casework.requester_wrote(
                ws,
                case.id,
                sender=mail.sender_address,
                subject=mail.subject,
                body=body or mail.subject,
                actor=actor,
                sent_at=mail.date,
            )
            report.messages.append(case.id)
            return
        refers_to = case  # a stranger's mail joins no one's case: it becomes a case of its own, which says so
    title = mail.subject or title_from_body(clean_report(mail.body))
    # The same message uploaded again (or found in two mbox files) is filed once.
    key = f"mail:{mail.message_id[:90]}" if mail.message_id else None
    present = ws.kb.imported([key] if key else [])
    if present:
        report.already_present += 1
        report.present.append(present[key])
        return
    with write_as(ws.kb, actor) as w:
        requester = _requester(w, mail.sender_address, mail.sender_name)
        # It came in now: the Date header, which the sender writes, is kept as the sent time and moves no clock.
        language = detect_language(f"{title}\n{body}")
        case_id = w.add_incident(
            title=title,
            body=body,
            language=language,
            requester_id=requester,
            status=ws.workflow.new,
            import_key=key,
            sent_at=mail.date,
        )
        if refers_to is not None:
            # Stored words, in the case's language, like a note an agent would have written.
            note = say(Phrase("mail_refers_to_case", case=refers_to.id, sender=mail.sender_address), language)
            w.add_message(case_id, kind="note", author=actor.name, body=note)
        report.added.append(case_id)

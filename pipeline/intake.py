"""One intake window: a report typed into the form, a CSV or JSON Lines file, or e-mail (``.eml`` or mbox).

Every new case lands in the queue as "new" with the assistant's suggestions computed and stored (and the
sure ones set on the case), and flagged when an earlier open case looks like the same problem. An e-mail whose
subject carries a case tag (``[#123]``) is a new message on that case instead. A file that cannot be read is
refused whole with a message naming what is wrong; nothing from it is stored.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path

from kb import IncidentNotFound, InvalidValue, Writer
from pipeline import casework
from pipeline.importer import ImportFileError, RequesterResolver, import_incidents
from pipeline.mail import Mail, MailError, read_eml, read_mbox
from pipeline.progress import ProgressFactory, no_progress
from pipeline.suggest import Triage
from pipeline.text import ReportError, clean_report, clean_text, detect_language, title_from_body
from pipeline.training import SuggestionModelUnavailable
from pipeline.workspace import Workspace

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson")
MAIL_SUFFIXES = (".eml", ".mbox")


class IntakeError(ValueError):
    """A whole upload was refused; nothing from it was stored."""


@dataclass
class IntakeReport:
    """What an intake did: the new cases, the messages added to existing ones, and what was left out."""

    name: str
    added: list[int] = field(default_factory=list)
    messages: list[int] = field(default_factory=list)  # ids of the cases that got a requester's message
    already_present: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def suggestion_rows(result: Triage) -> list[dict]:
    """The suggestions of a triage as the knowledge base stores them, one per suggested target."""
    suggestions = {t: getattr(result, t.removesuffix("_level")) for t in casework.SUGGESTED_TARGETS}
    return [
        dict(
            target=t,
            value=s.value,
            best=s.best,
            confidence=s.confidence,
            model_version=result.model_version,
            threshold_version=result.threshold_version,
        )
        for t, s in suggestions.items()
        if s is not None
    ]


def assess(ws: Workspace, incident_ids: list[int], *, user: str, progress: ProgressFactory = no_progress) -> list[str]:
    """Compute and store the suggestions of new cases, set the sure ones, flag duplicates.

    Returns what the agent should know: why no suggestions were stored, if none could be.
    """
    with progress("Suggesting category, priority and escalation", len(incident_ids)) as update:
        for case in ws.kb.incidents(incident_ids):
            try:
                result = ws.triage(f"{case.title}\n{case.body}")
            except SuggestionModelUnavailable as exc:
                return [f"No suggestions stored: {exc}"]
            earlier = [d.incident.id for d in result.duplicates if d.incident.id < case.id]
            rows = suggestion_rows(result)
            # Sure suggestions fill the case's empty fields; what an agent or a source file set stays.
            sure = {
                r["target"]: r["value"] for r in rows if r["value"] is not None and getattr(case, r["target"]) is None
            }
            with ws.kb.write(user) as w:
                w.add_suggestions(case.id, rows)
                w.update_incident(case.id, duplicate_of=earlier[0] if earlier else None, **sure)
            update(1)
    return []


def submit(
    ws: Workspace, *, user: str, title: str, body: str, requester_email: str = "", requester_name: str = ""
) -> int:
    """File a report typed into the form; returns the new case's id."""
    body = clean_text(body or "")
    title = clean_text(title or "") or title_from_body(clean_report(body))
    with ws.kb.write(user) as w:
        requester = _requester(w, requester_email, requester_name)
        case = w.add_incident(
            title=title,
            body=body,
            language=detect_language(f"{title}\n{body}"),
            requester_id=requester,
            status="new",
        )
    assess(ws, [case], user=user)
    return case


def _requester(w: Writer, address: str, name: str = "") -> int | None:
    """The requester of ``address`` (which may carry the name: ``Kim Lee <kim@example.com>``), as imports find one."""
    name = name.strip() or parseaddr(address)[0].strip()
    return RequesterResolver(w)(name, Writer.normalise_email(address) if address.strip() else "")


def upload(
    ws: Workspace, name: str, data: bytes, *, user: str, progress: ProgressFactory = no_progress
) -> IntakeReport:
    """File every report of an uploaded file; IntakeError (nothing stored) if the file cannot be read."""
    suffix = Path(name.lower().removesuffix(".gz")).suffix
    limit = ws.settings.max_upload_bytes
    if not data.strip():
        raise IntakeError(f"{name} is empty: nothing to file")
    if len(data) > limit:
        raise IntakeError(f"{name} is {len(data) / 1e6:.1f} MB; at most {limit / 1e6:.1f} MB are accepted at intake")
    if suffix in TABLE_SUFFIXES:
        report = _upload_table(ws, name, data, user, progress)
    elif suffix in MAIL_SUFFIXES:
        report = _upload_mail(ws, name, data, user)
    else:
        kinds = ", ".join(TABLE_SUFFIXES + MAIL_SUFFIXES)
        raise IntakeError(f"{name}: cannot tell what this file is from its name; intake reads {kinds}")
    report.notes = assess(ws, report.added, user=user, progress=progress)
    return report


def _upload_table(ws: Workspace, name: str, data: bytes, user: str, progress: ProgressFactory) -> IntakeReport:
    with tempfile.TemporaryDirectory() as folder:  # the importer reads files: keep the name, it tells the format
        path = Path(folder) / Path(name).name
        path.write_bytes(data)
        try:
            imported = import_incidents(ws.kb, path, status="new", actor=user, progress=progress)
        except ImportFileError as exc:
            raise IntakeError(str(exc)) from None
    report = IntakeReport(name, added=imported.added_ids, already_present=imported.already_present)
    report.problems = [str(p) for p in imported.problems]
    return report


def _upload_mail(ws: Workspace, name: str, data: bytes, user: str) -> IntakeReport:
    try:
        mails: list[Mail | MailError] = read_mbox(data) if name.lower().endswith(".mbox") else [read_eml(data)]
    except MailError as exc:
        raise IntakeError(f"{name} cannot be read as e-mail: {exc}") from None
    if not any(isinstance(m, Mail) for m in mails):
        raise IntakeError(f"{name} holds no readable e-mail: {mails[0]}")
    report = IntakeReport(name)
    for number, mail in enumerate(mails, start=1):
        where = f"message {number}" if len(mails) > 1 else name
        if isinstance(mail, MailError):
            report.problems.append(f"{where}: {mail}")
            continue
        try:
            _file_mail(ws, mail, user, report)
        except (InvalidValue, ReportError) as exc:
            report.problems.append(f"{where}: {exc}")
    return report


def _file_mail(ws: Workspace, mail: Mail, user: str, report: IntakeReport) -> None:
    body = mail.body + (f"\n\n[attachments: {', '.join(mail.attachments)}]" if mail.attachments else "")
    if mail.case_id is not None:
        try:
            casework.requester_wrote(
                ws,
                mail.case_id,
                author=mail.sender_address,
                subject=mail.subject,
                body=body or mail.subject,
                at=mail.date,
            )
        except IncidentNotFound:
            pass  # a tag we did not send: file it as a new case
        else:
            report.messages.append(mail.case_id)
            return
    title = mail.subject or title_from_body(clean_report(mail.body))
    # The same message uploaded again (or found in two mbox files) is filed once.
    key = f"mail:{mail.message_id[:90]}" if mail.message_id else None
    if key and ws.kb.existing_import_keys([key]):
        report.already_present += 1
        return
    with ws.kb.write(user) as w:
        requester = _requester(w, mail.sender_address, mail.sender_name)
        fields = {"created_at": mail.date} if mail.date else {}
        report.added.append(
            w.add_incident(
                title=title,
                body=body,
                language=detect_language(f"{title}\n{body}"),
                requester_id=requester,
                status="new",
                import_key=key,
                **fields,
            )
        )

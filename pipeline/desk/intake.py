"""One intake window: a report typed into the form, a CSV or JSON Lines file, or e-mail (``.eml`` or mbox, or a
mail fetched from a mailbox by ``pipeline.channels.inbound``).

Every new case lands in the queue as "new" with the assistant's suggestions computed and stored (and the
sure ones set on the case), and flagged when an earlier open case looks like the same problem. An e-mail that
answers a case's mail (In-Reply-To, References) or whose subject carries a case tag (``[#123]``) is a new message
on that case instead, if its sender may write there; its attachments are kept with the case. A file that cannot
be read is refused whole with a message naming what is wrong; nothing from it is stored.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path

from kb import IncidentNotFound, IncidentRecord, InvalidValue, NewSuggestion, Writer, mail_import_key, normalise_email
from pipeline.access.accounts import Account, write_as
from pipeline.desk import attachments, casework, merge
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
    ws: Workspace,
    *,
    actor: Account,
    title: str,
    body: str,
    requester_email: str = "",
    requester_name: str = "",
    labels: dict[str, str] | None = None,
) -> int:
    """File a report typed into the form; returns the new case's id. ``labels`` (category, priority, escalation
    level) are set on the case as a source file's are: kept, never replaced by a suggestion."""
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
            **(labels or {}),
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
    report.notes = _assess_new(ws, report, actor, progress)
    return report


def _assess_new(
    ws: Workspace, report: IntakeReport, actor: Account, progress: ProgressFactory = no_progress
) -> list[Phrase]:
    """Assess what ``report`` filed, and what it found filed before and never assessed (a worker killed between
    filing and assessing leaves that); each once: a file may hold the same report twice."""
    added = set(report.added)
    earlier = ws.kb.without_suggestions((i for i in report.present if i not in added), status=ws.workflow.new)
    return assess(ws, report.added + earlier, actor=actor, progress=progress)


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


def file_fetched(ws: Workspace, name: str, data: bytes, *, actor: Account, fallback_key: str) -> IntakeReport:
    """File one mail fetched from a mailbox as an uploaded one is filed, and assess it if it is a new case.
    ``fallback_key`` identifies a mail without a Message-ID (its place in the mailbox), so that it too is filed
    once however often it is fetched. MailError if it is no mail intake can read."""
    report = IntakeReport(name)
    _file_mail(ws, read_eml(data), actor, report, fallback_key)
    report.notes = _assess_new(ws, report, actor)
    return report


def _thread(ws: Workspace, mail: Mail) -> tuple[IncidentRecord | None, IncidentRecord | None]:
    """The case a mail joins, and the case it names but may not join (a stranger's): by its headers first (the
    case of a Message-ID it answers), then by the case tag in its subject; either way only if the sender may
    write on that case; a case merged into another is followed to that one."""
    # Message-IDs are compared as written, with and without their angle brackets.
    answers = [*mail.answers, *(i.strip("<>") for i in mail.answers)]
    named = []
    for candidate in (ws.kb.case_of_mail(answers), mail.case_id):
        if candidate is None:
            continue
        try:
            case = ws.kb.incident(candidate)
        except IncidentNotFound:
            continue  # a tag we did not send: file it as a new case
        if casework.may_write_on(ws, case, mail.sender_address):
            # Mail to a duplicate merged since goes to its original (its sender may write on the duplicate).
            return ws.kb.incident(merge.original_of(ws, case.id)), None
        named.append(case)
    return None, (named[0] if named else None)


def _file_mail(
    ws: Workspace, mail: Mail, actor: Account, report: IntakeReport, fallback_key: str | None = None
) -> None:
    # The names of the attachments stay with the text too (after a paperclip, which reads the same in every
    # language), for the conversation and the hand-off package; the files are kept with the case.
    names = [a.name for a in mail.attachments]
    body = mail.body + (f"\n\n📎 {', '.join(names)}" if names else "")
    # The same message uploaded or fetched again (or found in two mbox files) is filed once.
    key = mail.message_id or fallback_key
    filed = ws.kb.case_of_mail([key]) if key else None
    if filed is not None:
        report.already_present += 1
        report.present.append(filed)
        return

    def with_it(w: Writer, case_id: int, language: str, message_id: int | None) -> None:
        attachments.keep(ws, w, case_id, mail.attachments, author=actor.name, language=language, message_id=message_id)
        # A case an automat opened is never answered (``pipeline.channels``); an automat's answer on a case (an
        # out-of-office) is only filed: the requester still hears how their case ends.
        if mail.auto_submitted and message_id is None:
            w.record_event("incident", case_id, "mail_auto_submitted", new_value=key)

    case, refers_to = _thread(ws, mail)
    if case is not None:
        casework.requester_wrote(
            ws,
            case.id,
            sender=mail.sender_address,
            subject=mail.subject,
            body=body or mail.subject,
            actor=actor,
            sent_at=mail.date,
            mail_id=key,
            also=lambda w, message: with_it(w, case.id, case.language, message),
        )
        report.messages.append(case.id)
        return
    title = mail.subject or title_from_body(clean_report(mail.body))
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
            import_key=mail_import_key(key) if key else None,
            mail_id=mail.message_id or None,
            sent_at=mail.date,
        )
        if refers_to is not None:
            # Stored words, in the case's language, like a note an agent would have written.
            note = say(Phrase("mail_refers_to_case", case=refers_to.id, sender=mail.sender_address), language)
            w.add_message(case_id, kind="note", author=actor.name, body=note)
        with_it(w, case_id, language, None)
        report.added.append(case_id)

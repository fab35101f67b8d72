"""Importing incidents and requesters from CSV or JSON Lines files (optionally gzipped).

Rows with problems are reported by line number with the reason and left out; good rows are stored; nothing
already in the knowledge base is changed. Every stored row remembers which source row it came from, so
importing the same file again adds nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kb import InvalidValue, KnowledgeBase, Writer, normalise_email
from kb.vocab import RESOLVED_STATUSES
from pipeline.access.accounts import Account, write_as
from pipeline.desk.values import (
    parse_datetime,
    parse_escalation,
    parse_language,
    parse_level3,
    parse_priority,
    parse_status,
)
from pipeline.files import DEFAULT_LIMITS, Format, ImportFileError, ReadLimits, RowError, read_rows
from pipeline.progress import ProgressFactory, no_progress
from pipeline.text import clean_text, detect_language, title_from_body
from pipeline.workflow import DEFAULT_STATUSES
from words import Phrase

logger = logging.getLogger(__name__)

INCIDENT_FIELDS = (
    "external_id", "title", "body", "language", "requester", "requester_email", "category", "priority",
    "escalation_level", "impact", "urgency", "status", "assignee", "created_at", "updated_at", "resolved_at",
    "resolution", "root_cause",
)  # fmt: skip
DATE_FIELDS = ("created_at", "updated_at", "resolved_at")
REQUESTER_FIELDS = ("name", "emails", "department")
Kind = Literal["incidents", "requesters"]

MAX_FIELD_CHARS = 100_000  # a longer cell is a paste accident or a log dump, not a report
_BATCH = 500


@dataclass(frozen=True)
class RowProblem:
    """A row left out, by its line number, and why."""

    line: int
    reason: Phrase

    @property
    def phrase(self) -> Phrase:
        return Phrase("row_problem", line=self.line, reason=self.reason)

    def __str__(self) -> str:
        return str(self.phrase)


@dataclass
class ImportReport:
    """What an import did: rows read, added, already present, and the rows left out with why."""

    path: Path
    rows: int = 0
    added: int = 0
    already_present: int = 0
    new_requesters: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    added_ids: list[int] = field(default_factory=list)
    present_ids: list[int] = field(default_factory=list)  # the rows' cases filed before (by an earlier import)

    @property
    def summary(self) -> Phrase:
        """What the import did in one sentence: rows read and added, then what else happened."""
        counts = (
            ("import_already_present", self.already_present),
            ("import_new_requesters", self.new_requesters),
            ("import_problems", len(self.problems)),
        )
        parts = [Phrase("import_read", rows=self.rows, added=self.added)]
        parts += [Phrase(code, n=n) for code, n in counts if n]
        return Phrase("import_summary", name=self.path.name, parts=parts)


def parse_mapping(pairs: Sequence[str], fields: Sequence[str] = INCIDENT_FIELDS) -> dict[str, str]:
    """``["title=Subject", "body=Description"]`` -> ``{"title": "Subject", "body": "Description"}``."""
    mapping = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not name or not column:
            raise ImportFileError("mapping_malformed", pair=pair)
        if name not in fields:
            raise ImportFileError("mapping_unknown_field", name=name, pair=pair, fields=list(fields))
        mapping[name] = column
    return mapping


def _cell(row: Mapping[str, Any], column: str | None) -> str:
    if column is None or column not in row or row[column] is None:
        return ""
    value = row[column]
    if isinstance(value, dict | list):
        raise RowError("row_nested_json", column=column)
    return clean_text(str(value))


def _import_key(external_id: str, row: Mapping[str, Any], seen: dict[str, int]) -> str:
    """Stable identity of a source row: its external id, else a hash of the row as read and its repeat count.

    Hashing the row as read (not the values it mapped to) keeps the identity when the file is imported again
    with other options.
    """
    if external_id:
        digest = hashlib.sha256(external_id.encode()).hexdigest()[:40]
        return f"ext:{external_id}" if len(external_id) <= 90 else f"ext#{digest}"
    content = json.dumps(row, ensure_ascii=False, sort_keys=True, default=str)
    digest = hashlib.sha256(content.encode()).hexdigest()[:40]
    seen[digest] = seen.get(digest, 0) + 1
    return f"row:{digest}#{seen[digest]}"


def _incident_values(
    row: Any,
    mapping: Mapping[str, str],
    default_status: str,
    date_format: str | None,
    timezone: str,
    statuses: Collection[str],
    shift: dt.timedelta = dt.timedelta(0),
) -> dict[str, Any]:
    """The fields of one incident from one source row; raises RowError (or InvalidValue) naming what is wrong."""
    raw = _raw_cells(row, mapping, INCIDENT_FIELDS)
    title, body = raw["title"], raw["body"]
    if not title and not body:
        raise RowError("row_nothing_to_record")
    if not title:
        title = title_from_body(body)
    dates = {name: parse_datetime(raw[name], fmt=date_format, tz=timezone) for name in DATE_FIELDS}
    values = {
        "external_id": raw["external_id"],
        "title": title,
        "body": body,
        "language": parse_language(raw["language"]) or detect_language(f"{title}\n{body}"),
        "category": raw["category"] or None,
        "priority": parse_priority(raw["priority"]),
        "escalation_level": parse_escalation(raw["escalation_level"]),
        "impact": parse_level3(raw["impact"], "impact"),
        "urgency": parse_level3(raw["urgency"], "urgency"),
        "status": parse_status(raw["status"], statuses) or default_status,
        "assignee": raw["assignee"] or None,
        "resolution": raw["resolution"] or None,
        "root_cause": raw["root_cause"] or None,
        # "Taro Yamada <taro@example.jp>" names the requester when no requester column does.
        "requester": raw["requester"] or parseaddr(raw["requester_email"])[0].strip(),
        "requester_email": normalise_email(raw["requester_email"]) if raw["requester_email"] else "",
        **{name: value + shift for name, value in dates.items() if value is not None},
    }
    return values


def _raw_cells(row: Any, mapping: Mapping[str, str], fields: Sequence[str]) -> dict[str, str]:
    """The cleaned text of each field's column in one source row; RowError for a row that is no record."""
    if isinstance(row, RowError):
        raise row
    if not isinstance(row, dict):
        raise RowError("row_not_an_object", kind=type(row).__name__)
    raw = {name: _cell(row, mapping.get(name, name)) for name in fields}
    for name, text in raw.items():
        if len(text) > MAX_FIELD_CHARS:
            raise RowError("row_field_too_long", field=name, chars=len(text), limit=MAX_FIELD_CHARS)
    return raw


def _check_mapping(columns: set[str], mapping: Mapping[str, str], required: Sequence[str], path: Path) -> None:
    missing = [Phrase("mapped_column", field=name, column=col) for name, col in mapping.items() if col not in columns]
    if missing:
        raise ImportFileError("mapping_missing_columns", name=path.name, missing=missing, columns=sorted(columns))
    if not any(mapping.get(name, name) in columns for name in required):
        raise ImportFileError("file_no_text_columns", name=path.name, required=list(required), columns=sorted(columns))


def _read_source(
    path: Path,
    mapping: Mapping[str, str],
    fields: Sequence[str],
    required: Sequence[str],
    fmt: Format | None,
    encoding: str | None,
    limits: ReadLimits,
) -> tuple[list[tuple[int, Any]], ImportReport]:
    """The rows of a file whose columns fit the mapping, and the report that the import will fill in."""
    rows = list(read_rows(path, fmt=fmt, encoding=encoding, limits=limits))
    columns = {key for _, row in rows if isinstance(row, dict) for key in row}
    _check_mapping(columns, mapping, required, path)
    used = {mapping.get(name, name) for name in fields}
    return rows, ImportReport(path=path, rows=len(rows), ignored_columns=sorted(columns - used))


def import_incidents(
    kb: KnowledgeBase,
    path: str | Path,
    *,
    mapping: Mapping[str, str] | None = None,
    fmt: Format | None = None,
    encoding: str | None = None,
    statuses: Collection[str] = tuple(DEFAULT_STATUSES),
    default_status: str = RESOLVED_STATUSES[0],
    status: str | None = None,
    date_format: str | None = None,
    timezone: str = "UTC",
    shift: dt.timedelta = dt.timedelta(0),
    actor: Account,
    limits: ReadLimits = DEFAULT_LIMITS,
    progress: ProgressFactory = no_progress,
) -> ImportReport:
    """Add the incidents of a CSV or JSON Lines file to the knowledge base; see the module docstring.

    ``statuses`` are the workflow's (the settings'); ``default_status`` fills rows without a status; ``status``
    overrides every row's (intake files all as new); ``shift`` moves every date of the file by that much (the
    demo's history, brought up to today).
    """
    # Options are checked before any row is read: a bad one fails the import, not every row.
    try:
        default_status = parse_status(default_status, statuses) or RESOLVED_STATUSES[0]
    except RowError as exc:
        raise ImportFileError("default_status_unknown", reason=exc.phrase) from None
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImportFileError("unknown_time_zone", zone=timezone) from None
    mapping = dict(mapping or {})
    rows, report = _read_source(Path(path), mapping, INCIDENT_FIELDS, ("title", "body"), fmt, encoding, limits)
    batch = _IncidentBatches(kb, report, mapping, actor, statuses, default_status, status, date_format, timezone, shift)
    with progress(Phrase("progress_importing", name=report.path.name), len(rows)) as update:
        for start in range(0, len(rows), _BATCH):
            batch.store(rows[start : start + _BATCH])
            update(len(rows[start : start + _BATCH]))
    return report


@dataclass
class _IncidentBatches:
    """Stores an import batch by batch, each batch one transaction, remembering source rows across batches."""

    kb: KnowledgeBase
    report: ImportReport
    mapping: Mapping[str, str]
    actor: Account
    statuses: Collection[str]
    default_status: str
    status: str | None
    date_format: str | None
    timezone: str
    shift: dt.timedelta
    _repeats: dict[str, int] = field(default_factory=dict)
    _key_lines: dict[str, int] = field(default_factory=dict)

    def _parse(self, rows: Sequence[tuple[int, Any]]) -> list[tuple[str, dict[str, Any]]]:
        parsed = []
        for line, row in rows:
            try:
                values = _incident_values(
                    row, self.mapping, self.default_status, self.date_format, self.timezone, self.statuses, self.shift
                )
                if self.status is not None:
                    values.update(status=self.status, resolved_at=None, resolution=None, root_cause=None)
            except (RowError, InvalidValue) as exc:
                self.report.problems.append(RowProblem(line, exc.phrase))
                continue
            key = _import_key(values["external_id"], row, self._repeats)
            if key in self._key_lines:
                self.report.problems.append(RowProblem(line, Phrase("row_same_external_id", line=self._key_lines[key])))
                continue
            self._key_lines[key] = line
            parsed.append((key, values))
        return parsed

    def store(self, rows: Sequence[tuple[int, Any]]) -> None:
        parsed = self._parse(rows)
        present = self.kb.imported(key for key, _ in parsed)
        fresh = [(key, values) for key, values in parsed if key not in present]
        self.report.present_ids.extend(present[key] for key, _ in parsed if key in present)
        with write_as(self.kb, self.actor) as w:
            resolve = RequesterResolver(w)
            records = []
            for key, values in fresh:
                values = dict(values)
                values["requester_id"] = resolve(values.pop("requester"), values.pop("requester_email"))
                del values["external_id"]
                records.append({**values, "import_key": key})
            self.report.added_ids.extend(w.add_incidents(records))
        self.report.already_present += len(parsed) - len(fresh)
        self.report.added += len(fresh)
        self.report.new_requesters += resolve.created


class RequesterResolver:
    """Finds the requester of a report by e-mail address, else by a unique exact name, else creates one.

    Call it with the name and the normalised address (either may be empty) inside a write; it counts the new ones.
    """

    def __init__(self, writer: Writer) -> None:
        self._w = writer
        self.created = 0

    def __call__(self, name: str, email: str) -> int | None:
        if email:
            found = self._w.requester_for_email(email)
            if found is not None:
                return found
            self.created += 1
            return self._w.add_requester(name or email.split("@")[0], [email])
        if name:
            found = self._w.requester_by_unique_name(name)
            if found is not None:
                return found
            self.created += 1
            return self._w.add_requester(name)
        return None


def _split_emails(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value if str(v).strip()]
    return [part for part in str(value or "").replace(",", ";").replace(" ", ";").split(";") if part.strip()]


def import_requesters(
    kb: KnowledgeBase,
    path: str | Path,
    *,
    mapping: Mapping[str, str] | None = None,
    fmt: Format | None = None,
    encoding: str | None = None,
    actor: Account,
    limits: ReadLimits = DEFAULT_LIMITS,
    progress: ProgressFactory = no_progress,
) -> ImportReport:
    """Add people with their addresses (a staff directory); known addresses link new ones to their owner."""
    mapping = dict(mapping or {})
    rows, report = _read_source(Path(path), mapping, REQUESTER_FIELDS, ("name",), fmt, encoding, limits)
    with progress(Phrase("progress_importing", name=report.path.name), len(rows)) as update, write_as(kb, actor) as w:
        for line, row in rows:
            try:
                _import_requester(w, row, mapping, report)
            except (RowError, InvalidValue) as exc:
                report.problems.append(RowProblem(line, exc.phrase))
            update(1)
    return report


def _import_requester(w: Writer, row: Any, mapping: Mapping[str, str], report: ImportReport) -> None:
    raw = _raw_cells(row, mapping, ("name", "department"))
    name = raw["name"]
    if not name:
        raise RowError("row_no_name")
    emails = [normalise_email(e) for e in _split_emails(row.get(mapping.get("emails", "emails")))]
    owners = {w.requester_for_email(e) for e in emails} - {None}
    if len(owners) > 1:
        raise RowError("row_addresses_of_several", addresses=emails, owners=sorted(owners))
    if owners:
        owner = owners.pop()
        new = [e for e in emails if w.requester_for_email(e) is None]
        for address in new:
            w.link_email(owner, address)
        report.already_present += not new
        report.added += bool(new)
        return
    w.add_requester(name, emails, department=raw["department"] or None)
    report.added += 1
    report.new_requesters += 1


Importer = Callable[..., ImportReport]
IMPORTERS: dict[Kind, tuple[Importer, tuple[str, ...]]] = {
    "incidents": (import_incidents, INCIDENT_FIELDS),
    "requesters": (import_requesters, REQUESTER_FIELDS),
}

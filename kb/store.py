"""``KnowledgeBase``: the system of record. It owns the engine and the sessions; callers see records only.

Reads are methods named for the question they answer. Every write goes through ``with kb.write(actor) as w:``,
one transaction whose changes the event log records (see ``kb.audit``).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, joinedload, selectinload, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from kb import article_models, audit, channel_models, desk_extras_models, drill_models, pgvector, problem_models, schema  # noqa: F401 (*_models: their tables join the metadata)
from kb.accounts import AccountReads
from kb.articles import ArticleReads
from kb.attachments import AttachmentReads
from kb.case_pages import CasePageReads
from kb.case_parts import CasePartReads
from kb.deliveries import DeliveryReads
from kb.drills import DrillReads
from kb.errors import (
    IncidentNotFound,
    KnowledgeBaseBusy,
    KnowledgeBaseUnavailable,
    PgVectorMissing,
    RequesterNotFound,
    StaleEdit,
    connection_lost_named,
)
from kb.inbound import InboundReads
from kb.jobs import JobReads
from kb.merges import MergeReads
from kb.models import (
    Event,
    Handoff,
    Incident,
    Meta,
    ReplyTemplate,
    Requester,
    RequesterEmail,
    Suggestion,
    in_batches,
)
from kb.notices import NoticeReads
from kb.problems import ProblemReads
from kb.ratings import RatingReads
from kb.records import (
    CaseFilter,
    EventRecord,
    IncidentRecord,
    KBStats,
    RequesterRecord,
    TemplateRecord,
)
from kb.registry import RegistryReads
from kb.sla import SlaReads
from kb.tokens import TokenReads
from kb.vocab import RESOLVED_STATUSES
from kb.writer import Writer, normalise_email

logger = logging.getLogger(__name__)


# How each database says it waited too long for another transaction's lock.
_BUSY = re.compile(r"database is locked|database table is locked|lock timeout|statement timeout", re.IGNORECASE)


def _sqlite_pragmas(busy_seconds: float, dbapi_connection, connection_record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")  # SQLite ignores foreign keys unless asked, per connection
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (the app) never block the writer (an import)
    cursor.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def server_url(url: URL) -> URL:
    """A PostgreSQL URL without a driver named uses psycopg 3, the driver incident-kb installs (SQLAlchemy's own
    default for ``postgresql://`` is psycopg2, which it does not).

    >>> server_url(make_url("postgresql://kb@db.internal/kb")).drivername
    'postgresql+psycopg'
    """
    return url.set(drivername="postgresql+psycopg") if url.drivername == "postgresql" else url


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLAlchemy URL, for SQLite on disk; None for a server database or SQLite in memory.

    >>> sqlite_file("sqlite:///var/incident-kb.db"), sqlite_file("sqlite://"), sqlite_file("postgresql://h/kb")
    (PosixPath('var/incident-kb.db'), None, None)
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


class KnowledgeBase(
    AccountReads,
    CasePartReads,
    JobReads,
    RegistryReads,
    CasePageReads,
    TokenReads,
    DeliveryReads,
    NoticeReads,
    AttachmentReads,
    InboundReads,
    ArticleReads,
    DrillReads,
    ProblemReads,
    MergeReads,
    RatingReads,
    SlaReads,
):
    """The knowledge base at ``url`` (an SQLAlchemy URL), created and migrated to the current schema on open.

    Parameters
    ----------
    url : str
        For example ``sqlite:///var/incident-kb.db``. The parent folder of a SQLite file is created.

    Examples
    --------
    >>> kb = KnowledgeBase("sqlite://")
    >>> with kb.write("doctest") as w:
    ...     incident_id = w.add_incident(title="VPN drops", body="every 10 minutes", language="en")
    >>> kb.incident(incident_id).title
    'VPN drops'
    >>> kb.close()
    """

    def __init__(self, url: str, *, busy_seconds: float = 10) -> None:
        """Open (and bring to the current schema) the database at ``url``. A write that waits longer than
        ``busy_seconds`` for another to finish is refused as KnowledgeBaseBusy, with nothing changed."""
        self.url = server_url(make_url(url))
        if self.sqlite_path is not None:
            self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: an error's message (logged) must not carry the values written, a password hash say.
        # pool_pre_ping: a server connection dropped while idle (a restart, a proxy's timeout) is replaced before
        # use instead of failing the next page.
        if self.url.get_backend_name() == "sqlite":
            self.engine: Engine = create_engine(self.url, hide_parameters=True)
            event.listen(self.engine, "connect", functools.partial(_sqlite_pragmas, busy_seconds))
        else:
            # lock_timeout: a write waiting on another's row lock gives up as SQLite's busy_timeout does.
            options = {"options": f"-c lock_timeout={int(busy_seconds * 1000)}"} if self.is_postgresql else {}
            self.engine = create_engine(self.url, hide_parameters=True, pool_pre_ping=True, connect_args=options)
        try:
            if self.is_postgresql:
                pgvector.ensure_extension(self.engine)
            schema.upgrade(self.engine)
        except PgVectorMissing:
            self.engine.dispose()
            raise
        except DBAPIError as exc:
            self.engine.dispose()
            raise KnowledgeBaseUnavailable("kb_cannot_open", where=self._where, error=str(exc.orig)) from exc
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        audit.install(self._sessions)

    @property
    def is_postgresql(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    @property
    def sqlite_path(self) -> Path | None:
        """The database file, for SQLite on disk; None otherwise."""
        return sqlite_file(self.url.render_as_string(hide_password=False))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KnowledgeBase({self._where!r})"

    @contextmanager
    def write(self, actor: str, *, at: dt.datetime | None = None) -> Iterator[Writer]:
        """One transaction, recorded in the event log under ``actor``; rolled back whole on any error.

        ``at`` records the changes as made at that time instead of now: for a replay of past work, whose event
        log would otherwise say it all happened the moment it was replayed.
        """
        if not actor or not actor.strip():
            raise ValueError("a write needs the name of who makes it (actor)")  # a programming error
        if at is not None and at.tzinfo is None:
            raise ValueError(f"datetime {at.isoformat()} has no time zone; the knowledge base stores UTC")
        committing = [False]  # past this point a broken connection leaves the outcome unknown
        try:
            with connection_lost_named(self._where, committing), self._sessions.begin() as session:
                session.info["actor"] = actor.strip()
                session.info["at"] = at
                yield Writer(session)
                session.flush()
                committing[0] = True
        except StaleDataError as exc:  # another transaction changed the row between our read and our write
            raise StaleEdit("stale_edit_same_moment") from exc
        except OperationalError as exc:
            if _BUSY.search(str(exc.orig)):  # SQLite's "database is locked"; a server's lock or statement timeout
                raise KnowledgeBaseBusy("kb_busy") from exc
            raise

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with connection_lost_named(self._where), self._sessions() as session:
            yield session

    @property
    def _where(self) -> str:
        """The database, as messages name it (never with its password)."""
        return self.url.render_as_string(hide_password=True)

    def incident(self, incident_id: int) -> IncidentRecord:
        with self._read() as s:
            row = s.get(Incident, incident_id, options=[joinedload(Incident.requester)])
            if row is None:
                raise IncidentNotFound("incident_not_found", id=incident_id)
            return IncidentRecord.from_row(row)

    def incidents(self, ids: Sequence[int]) -> list[IncidentRecord]:
        """The incidents with these ids, in the order given; ids that do not exist are left out."""
        by_id = {}
        with self._read() as s:
            for batch in in_batches(list(ids)):
                query = select(Incident).where(Incident.id.in_(batch)).options(joinedload(Incident.requester))
                by_id.update({row.id: IncidentRecord.from_row(row) for row in s.scalars(query)})
        return [by_id[i] for i in ids if i in by_id]

    def count_resolved(self) -> int:
        with self._read() as s:
            return s.scalar(select(func.count()).where(Incident.status.in_(RESOLVED_STATUSES)))

    def _resolved_pages(self, columns: Sequence, convert: Callable[[Any], Any], batch_size: int) -> Iterator[list]:
        """Resolved incidents page by page, ordered by id (keyset paging: each page starts after the last id)."""
        last_id = 0
        while True:
            with self._read() as s:
                rows = s.execute(
                    select(Incident.id.label("page_key"), *columns)
                    .where(Incident.status.in_(RESOLVED_STATUSES), Incident.id > last_id)
                    .order_by(Incident.id)
                    .limit(batch_size)
                ).all()
                page = [convert(row) for row in rows]
            if not page:
                return
            yield page
            last_id = rows[-1].page_key

    def resolved_incidents(self, batch_size: int = 2000) -> Iterator[list[IncidentRecord]]:
        """Every resolved incident with its labels, in batches ordered by id: what the suggestion models learn from."""

        def record(row: Any) -> IncidentRecord:
            return IncidentRecord.from_row(row.Incident, with_requester=False)

        return self._resolved_pages([Incident], record, batch_size)

    def resolved_texts(self, batch_size: int = 2000) -> Iterator[list[tuple[int, str, str]]]:
        """(id, title, body) of every resolved incident, in batches, ordered by id."""
        return self._resolved_pages(
            [Incident.id, Incident.title, Incident.body], lambda row: (row.id, row.title, row.body), batch_size
        )

    def open_versions(self) -> list[tuple[int, dt.datetime]]:
        """(id, updated_at) of every incident not yet resolved, ordered by id: enough to see that one changed."""
        query = select(Incident.id, Incident.updated_at).where(Incident.status.not_in(RESOLVED_STATUSES))
        with self._read() as s:
            return [tuple(row) for row in s.execute(query.order_by(Incident.id))]

    def incident_ids(self, where: CaseFilter) -> list[int]:
        """The ids of the incidents that pass a filter, in id order."""
        query = select(Incident.id).order_by(Incident.id)
        if where.categories:
            query = query.where(Incident.category.in_(where.categories))
        if where.statuses:
            query = query.where(Incident.status.in_(where.statuses))
        if where.priorities:
            query = query.where(Incident.priority.in_(where.priorities))
        if where.since is not None:
            query = query.where(Incident.created_at >= dt.datetime.combine(where.since, dt.time.min, dt.UTC))
        if where.until is not None:
            query = query.where(
                Incident.created_at < dt.datetime.combine(where.until + dt.timedelta(days=1), dt.time.min, dt.UTC)
            )
        if where.requester_id is not None:
            query = query.where(Incident.requester_id == where.requester_id)
        if where.escalation_levels:
            query = query.where(Incident.escalation_level.in_(where.escalation_levels))
        with self._read() as s:
            return list(s.scalars(query))

    def requester_names(self) -> list[tuple[int, str]]:
        """(id, name) of every requester, by name."""
        with self._read() as s:
            return [tuple(row) for row in s.execute(select(Requester.id, Requester.name).order_by(Requester.name))]

    def categories(self) -> list[str]:
        """The categories in use, alphabetically."""
        with self._read() as s:
            return list(
                s.scalars(
                    select(Incident.category)
                    .where(Incident.category.is_not(None))
                    .distinct()
                    .order_by(Incident.category)
                )
            )

    def meta(self, key: str) -> str | None:
        """A fact stored about this database (``Writer.set_meta``), or None."""
        with self._read() as s:
            return s.scalar(select(Meta.value).where(Meta.key == key))

    def corpus_version(self) -> str:
        """Changes whenever the set of resolved incidents or their text changes, and differs between databases."""
        with self._read() as s:
            meta = dict(s.execute(select(Meta.key, Meta.value)).all())
        return f"{meta['kb_id']}:{meta['corpus_generation']}"

    def stats(self) -> KBStats:
        with self._read() as s:
            total = s.scalar(select(func.count()).select_from(Incident))
            resolved = s.scalar(select(func.count()).where(Incident.status.in_(RESOLVED_STATUSES)))
            requesters = s.scalar(select(func.count()).select_from(Requester))
            by_language = dict(s.execute(select(Incident.language, func.count()).group_by(Incident.language)).all())
            suggestions = s.scalar(select(func.count()).select_from(Suggestion))
            handoffs = s.scalar(select(func.count()).select_from(Handoff))
        return KBStats(total, resolved, requesters, by_language, suggestions, handoffs)

    def requester(self, requester_id: int) -> RequesterRecord:
        with self._read() as s:
            row = s.get(Requester, requester_id, options=[selectinload(Requester.emails)])
            if row is None:
                raise RequesterNotFound("requester_not_found", id=requester_id)
            return RequesterRecord.from_row(row)

    def requester_by_email(self, address: str) -> RequesterRecord | None:
        with self._read() as s:
            row = s.scalar(
                select(Requester)
                .join(RequesterEmail)
                .where(RequesterEmail.address == normalise_email(address))
                .options(selectinload(Requester.emails))
            )
            return None if row is None else RequesterRecord.from_row(row)

    def events(self, entity: str, entity_id: int) -> list[EventRecord]:
        """The history of one incident or requester, oldest first."""
        with self._read() as s:
            rows = s.scalars(
                select(Event).where(Event.entity == entity, Event.entity_id == entity_id).order_by(Event.id)
            )
            return [EventRecord.from_row(r) for r in rows]

    def imported(self, keys: Iterable[str]) -> dict[str, int]:
        """The cases already filed under these import keys: key -> case id."""
        keys = list(keys)
        found: dict[str, int] = {}
        with self._read() as s:
            for batch in in_batches(keys):
                query = select(Incident.import_key, Incident.id).where(Incident.import_key.in_(batch))
                found.update(s.execute(query).all())
        return found

    def open_incidents(self) -> list[IncidentRecord]:
        """Every incident not yet resolved, with its requester's name, oldest first: the queue."""
        query = (
            select(Incident)
            .where(Incident.status.not_in(RESOLVED_STATUSES))
            .options(joinedload(Incident.requester))
            .order_by(Incident.created_at, Incident.id)
        )
        with self._read() as s:
            return [IncidentRecord.from_row(row) for row in s.scalars(query)]

    def requester_incidents(self, requester_id: int) -> list[IncidentRecord]:
        """Every case of one requester, oldest first."""
        query = select(Incident).where(Incident.requester_id == requester_id).order_by(Incident.created_at)
        with self._read() as s:
            return [IncidentRecord.from_row(row, with_requester=False) for row in s.scalars(query)]

    def templates(self) -> list[TemplateRecord]:
        with self._read() as s:
            return [
                TemplateRecord.from_row(row) for row in s.scalars(select(ReplyTemplate).order_by(ReplyTemplate.name))
            ]

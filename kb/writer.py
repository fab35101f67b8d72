"""``Writer``: the changes one can make inside ``KnowledgeBase.write(actor)``, each checked against the vocabulary."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from email.utils import parseaddr
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import IncidentNotFound, InvalidValue, ModelVersionNotFound, RequesterNotFound
from kb.models import Incident, ModelVersion, Requester, RequesterEmail, utcnow
from kb.records import IncidentRecord, ModelVersionRecord
from kb.vocab import ESCALATION_LEVELS, IMPACTS, LANGUAGES, PRIORITIES, RESOLVED_STATUSES, STATUSES, URGENCIES

_VOCABULARY = {
    "priority": PRIORITIES,
    "escalation_level": ESCALATION_LEVELS,
    "impact": IMPACTS,
    "urgency": URGENCIES,
    "status": STATUSES,
    "language": LANGUAGES,
}
EDITABLE_FIELDS = (
    "title",
    "body",
    "language",
    "requester_id",
    "category",
    "priority",
    "escalation_level",
    "impact",
    "urgency",
    "status",
    "assignee",
    "created_at",
    "resolved_at",
    "resolution",
    "root_cause",
)


def _check(field: str, value: Any) -> None:
    allowed = _VOCABULARY.get(field)
    if allowed is not None and value is not None and value not in allowed:
        raise InvalidValue(f"{field} must be one of {', '.join(allowed)}; got {value!r}")


class Writer:
    """Changes within one transaction. Get one from ``KnowledgeBase.write(actor)``; never build it directly."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @staticmethod
    def normalise_email(address: str) -> str:
        """``'Taro <Taro@Example.jp>'`` -> ``'taro@example.jp'``; raises InvalidValue if it is no address."""
        _, addr = parseaddr(address or "")
        addr = addr.strip().lower()
        local, _, domain = addr.partition("@")
        if not local or "." not in domain:
            raise InvalidValue(f"{address!r} is not an e-mail address")
        return addr

    def add_incidents(self, rows: Iterable[Mapping[str, Any]]) -> list[int]:
        """Store new incidents (keyword fields as in ``add_incident``) in one flush; returns their ids."""
        objs = []
        for row in rows:
            unknown = set(row) - set(EDITABLE_FIELDS) - {"import_key", "updated_at"}
            if unknown:
                raise TypeError(f"unknown incident fields {sorted(unknown)}; valid: {', '.join(EDITABLE_FIELDS)}")
            for field, value in row.items():
                _check(field, value)
            if not (row.get("title") or "").strip():
                raise InvalidValue("an incident needs a title")
            values = dict(row)
            values.setdefault("body", "")
            values.setdefault("status", "new")
            values.setdefault("created_at", utcnow())
            values.setdefault("updated_at", values.get("resolved_at") or values["created_at"])
            objs.append(Incident(**values))
        self._session.add_all(objs)
        self._session.flush()
        return [obj.id for obj in objs]

    def add_incident(self, *, title: str, language: str, body: str = "", **fields: Any) -> int:
        """Store one new incident and return its id."""
        return self.add_incidents([dict(title=title, body=body, language=language, **fields)])[0]

    def _incident(self, incident_id: int) -> Incident:
        row = self._session.get(Incident, incident_id)
        if row is None:
            raise IncidentNotFound(f"no incident has id {incident_id}")
        return row

    def update_incident(self, incident_id: int, **changes: Any) -> IncidentRecord:
        """Change some fields of an incident; each change is logged with its old and new value."""
        unknown = set(changes) - set(EDITABLE_FIELDS)
        if unknown:
            raise TypeError(f"cannot edit {sorted(unknown)}; editable fields: {', '.join(EDITABLE_FIELDS)}")
        row = self._incident(incident_id)
        for field, value in changes.items():
            _check(field, value)
            setattr(row, field, value)
        self._session.flush()
        return IncidentRecord.from_row(row)

    def resolve_incident(
        self,
        incident_id: int,
        *,
        resolution: str,
        root_cause: str | None = None,
        at: dt.datetime | None = None,
        **final_labels: Any,
    ) -> IncidentRecord:
        """Mark an incident resolved with how it was fixed; it becomes part of the searchable knowledge."""
        if not (resolution or "").strip():
            raise InvalidValue("resolving an incident needs a resolution text")
        row = self._incident(incident_id)
        status = "resolved" if row.status not in RESOLVED_STATUSES else row.status
        return self.update_incident(
            incident_id,
            status=status,
            resolution=resolution.strip(),
            root_cause=root_cause,
            resolved_at=at or utcnow(),
            **final_labels,
        )

    def add_requester(self, name: str, emails: Iterable[str] = (), *, department: str | None = None) -> int:
        if not (name or "").strip():
            raise InvalidValue("a requester needs a name")
        requester = Requester(name=name.strip(), department=department)
        self._session.add(requester)
        self._session.flush()
        for address in emails:
            self.link_email(requester.id, address)
        return requester.id

    def link_email(self, requester_id: int, address: str) -> None:
        """Add an address to a requester; refused if it already belongs to someone else."""
        addr = self.normalise_email(address)
        if self._session.get(Requester, requester_id) is None:
            raise RequesterNotFound(f"no requester has id {requester_id}")
        owner = self.requester_for_email(addr)
        if owner == requester_id:
            return
        if owner is not None:
            raise InvalidValue(f"{addr} already belongs to requester {owner}; unlink it there first")
        self._session.add(RequesterEmail(requester_id=requester_id, address=addr))
        self._session.flush()

    def unlink_email(self, address: str) -> None:
        addr = self.normalise_email(address)
        row = self._session.scalar(select(RequesterEmail).where(RequesterEmail.address == addr))
        if row is None:
            raise RequesterNotFound(f"no requester has the address {addr}")
        self._session.delete(row)
        self._session.flush()

    def requester_for_email(self, address: str) -> int | None:
        addr = self.normalise_email(address)
        return self._session.scalar(select(RequesterEmail.requester_id).where(RequesterEmail.address == addr))

    def requester_by_unique_name(self, name: str) -> int | None:
        """The requester with exactly this name, if there is exactly one."""
        ids = self._session.scalars(select(Requester.id).where(Requester.name == name.strip()).limit(2)).all()
        return ids[0] if len(ids) == 1 else None

    def add_model_version(
        self,
        *,
        artifact: str,
        sha256: str,
        embedding_model: str,
        snapshot: str,
        n_train: int,
        settings: dict,
        metrics: dict,
    ) -> ModelVersionRecord:
        """Register a trained model (not yet active)."""
        row = ModelVersion(
            artifact=artifact,
            sha256=sha256,
            embedding_model=embedding_model,
            snapshot=snapshot,
            n_train=n_train,
            settings=settings,
            metrics=metrics,
            active=False,
        )
        self._session.add(row)
        self._session.flush()
        return ModelVersionRecord.from_row(row)

    def activate_model_version(self, version_id: int) -> ModelVersionRecord:
        """Make one trained model the one suggestions come from; the one active before steps back."""
        row = self._session.get(ModelVersion, version_id)
        if row is None:
            raise ModelVersionNotFound(f"no trained model has version {version_id}")
        for other in self._session.scalars(
            select(ModelVersion).where(ModelVersion.active, ModelVersion.id != version_id)
        ):
            other.active = False
        row.active = True
        self._session.flush()
        return ModelVersionRecord.from_row(row)

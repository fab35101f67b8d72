"""The registry of trained suggestion models and of the threshold versions leads set: how each is kept (mixed
into ``Writer``) and found (mixed into ``KnowledgeBase``). The models' files live beside the database; rows here
name them, with what they were trained on and how well they did."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import InvalidValue, ModelVersionNotFound
from kb.models import ModelVersion, ThresholdPolicy
from kb.records import ModelVersionRecord, NewModelVersion, ThresholdPolicyRecord


class RegistryReads:
    """The registry's reads, for ``KnowledgeBase``."""

    _read: Callable[[], AbstractContextManager[Session]]

    def model_versions(self) -> list[ModelVersionRecord]:
        """Every trained suggestion model, newest first."""
        with self._read() as s:
            return [
                ModelVersionRecord.from_row(r) for r in s.scalars(select(ModelVersion).order_by(ModelVersion.id.desc()))
            ]

    def model_version(self, version_id: int) -> ModelVersionRecord:
        with self._read() as s:
            row = s.get(ModelVersion, version_id)
            if row is None:
                raise ModelVersionNotFound("version_not_found", version=version_id)
            return ModelVersionRecord.from_row(row)

    def active_model_version(self) -> ModelVersionRecord | None:
        with self._read() as s:
            row = s.scalars(select(ModelVersion).where(ModelVersion.active)).first()
            return None if row is None else ModelVersionRecord.from_row(row)

    def threshold_policy(self) -> ThresholdPolicyRecord | None:
        """The thresholds in force: the newest version, or None while only the settings' default applies."""
        with self._read() as s:
            row = s.scalars(select(ThresholdPolicy).order_by(ThresholdPolicy.id.desc())).first()
            return None if row is None else ThresholdPolicyRecord.from_row(row)

    def threshold_policies(self) -> list[ThresholdPolicyRecord]:
        """Every version of the thresholds, newest first."""
        with self._read() as s:
            rows = s.scalars(select(ThresholdPolicy).order_by(ThresholdPolicy.id.desc()))
            return [ThresholdPolicyRecord.from_row(row) for row in rows]


class RegistryWrites:
    """The registry's changes, for ``Writer`` (inside ``KnowledgeBase.write``)."""

    _session: Session
    now: Callable[[], dt.datetime]

    def add_model_version(self, version: NewModelVersion) -> ModelVersionRecord:
        """Register a trained model (not yet active)."""
        row = ModelVersion(**asdict(version), active=False)
        self._session.add(row)
        self._session.flush()
        return ModelVersionRecord.from_row(row)

    def activate_model_version(self, version_id: int) -> ModelVersionRecord:
        """Make one trained model the one suggestions come from; the one active before steps back."""
        row = self._model_version(version_id)
        if row.discarded_at is not None:
            raise InvalidValue("version_discarded", version=version_id, at=row.discarded_at)
        for other in self._session.scalars(
            select(ModelVersion).where(ModelVersion.active, ModelVersion.id != version_id)
        ):
            other.active = False
        row.active = True
        self._session.flush()
        return ModelVersionRecord.from_row(row)

    def _model_version(self, version_id: int) -> ModelVersion:
        row = self._session.get(ModelVersion, version_id)
        if row is None:
            raise ModelVersionNotFound("version_not_found", version=version_id)
        return row

    def discard_model_version(self, version_id: int) -> ModelVersionRecord:
        """Mark a version nobody should use again (its file may then be deleted); the active one cannot be."""
        row = self._model_version(version_id)
        if row.active:
            raise InvalidValue("version_active_not_discarded", version=version_id)
        row.discarded_at = row.discarded_at or self.now()
        self._session.flush()
        return ModelVersionRecord.from_row(row)

    def add_threshold_policy(
        self, *, precision: Mapping[str, float], class_thresholds: Mapping[str, Mapping[str, float]], note: str = ""
    ) -> ThresholdPolicyRecord:
        """Put a new version of the thresholds in force: precision targets in (0, 1], class thresholds in [0, 1]."""
        for target, value in precision.items():
            if not 0 < value <= 1:
                raise InvalidValue("precision_target_out_of_range", target=target, value=value)
        for target, classes in class_thresholds.items():
            for label, value in classes.items():
                if not 0 <= value <= 1:
                    raise InvalidValue("class_threshold_out_of_range", target=target, label=label, value=value)
        row = ThresholdPolicy(
            created_by=self._session.info["actor"],
            precision={k: float(v) for k, v in precision.items()},
            class_thresholds={t: {k: float(v) for k, v in c.items()} for t, c in class_thresholds.items() if c},
            note=(note or "").strip(),
        )
        self._session.add(row)
        self._session.flush()
        return ThresholdPolicyRecord.from_row(row)

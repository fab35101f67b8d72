"""Model version metrics as typed outcomes: every target is ``held_out`` (its figures), ``not_held_out`` (trained on
too few cases to hold any out) or ``not_trained`` (why), instead of figures, a bare note and a "skipped" list.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_FIGURES = ("accuracy", "macro_f1", "per_class", "coverage_at_precision", "calibration_error", "abstaining")


def _typed(metrics: dict) -> dict:
    """The stored metrics of one version in the new shape (already typed ones are kept as they are)."""
    out = {}
    for target, value in metrics.items():
        if target == "skipped":
            for skipped, why in value.items():
                out[skipped] = {"kind": "not_trained", "reason": {"code": "as_recorded", "values": {"text": why}}}
        elif "kind" in value:
            out[target] = value
        elif "held_out" in value:
            out[target] = {
                "kind": "not_held_out",
                "reason": {"code": "too_few_to_hold_out", "values": {}},
                "n_train": value.get("n_train", 0),
                "train_seconds": value.get("train_seconds", 0.0),
            }
        else:
            figures = {name: value[name] for name in _FIGURES if name in value}
            out[target] = {
                "kind": "held_out",
                "figures": figures,
                "n_train": value.get("n_train", 0),
                "n_held_out": sum(c.get("support", 0) for c in figures.get("per_class", {}).values()),
                "train_seconds": value.get("train_seconds", 0.0),
            }
    return out


def upgrade() -> None:
    connection = op.get_bind()
    table = sa.table("model_versions", sa.column("id", sa.Integer), sa.column("metrics", sa.JSON))
    for row in connection.execute(sa.select(table.c.id, table.c.metrics)).all():
        metrics = row.metrics if isinstance(row.metrics, dict) else json.loads(row.metrics)
        connection.execute(table.update().where(table.c.id == row.id).values(metrics=_typed(metrics)))


def downgrade() -> None:  # the old readers only ever read what they wrote; typed metrics are kept as they are
    pass

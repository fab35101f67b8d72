"""The settings of escalation drills and of when an escalation counts as too late (``Settings.drills``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DrillSettings(BaseModel):
    """Which past cases make drills, and the escalation review's "too late"."""

    model_config = ConfigDict(extra="forbid")

    too_late_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description=(
            "Escalation review: a case handled at first line (on its SLA clock, from intake to the first hand-off) "
            "for more than this share of its resolution target, then resolved at L2 or L3, was escalated too late."
        ),
    )
    favour: float = Field(
        4,
        ge=1,
        description=(
            "Drills: a case where agents disagreed (a suggested level overridden, several hand-offs, a level that "
            "came back down) or that was escalated too early or too late is this many times likelier to be drawn."
        ),
    )
    not_again_within: int = Field(
        20, ge=1, description="Drills: a case is not drawn again for an agent within this many of their answers."
    )

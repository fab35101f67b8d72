"""What the API takes and gives: requests validated here (an unknown field or an over-long text is a 422 before
anything runs), answers typed so that the OpenAPI document says exactly what comes back."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from kb import IncidentRecord, MessageRecord, SuggestionRecord
from kb.vocab import EscalationLevel, Priority
from pipeline.triage.search import SimilarCase
from pipeline.triage.suggest import Suggestion
from pipeline.triage.targets import SUGGESTED

MAX_TEXT_CHARS = 50_000  # a report or a message; what the body cap allows is the harder limit
MAX_LINE_CHARS = 300  # a title, a subject
Target = Literal[SUGGESTED]  # type: ignore[valid-type]
Label = Annotated[str, StringConstraints(min_length=1, max_length=100)]  # a class of a target


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Labels(_Request):
    """What the sender already knows of a report: kept on the case, never replaced by a suggestion."""

    category: str | None = Field(None, min_length=1, max_length=100, description="A category the desk knows.")
    priority: Priority | None = None
    escalation_level: EscalationLevel | None = None


class NewIncident(_Request):
    title: str = Field(max_length=MAX_LINE_CHARS, description="Empty: made from the body's first line.")
    body: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    requester_email: str = Field(min_length=3, max_length=320, description="Finds the requester, or adds them.")
    labels: Labels = Field(default_factory=Labels)


class NewMessage(_Request):
    """A note (internal: the requester never sees it) or a reply to the requester (which needs a subject)."""

    kind: Literal["note", "reply"]
    body: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    subject: str = Field("", max_length=MAX_LINE_CHARS)
    version: int | None = Field(None, ge=1, description="The case's version the reply was written on (409 if older).")

    @model_validator(mode="after")
    def _reply_has_subject(self) -> NewMessage:
        if self.kind == "reply" and not self.subject.strip():
            raise ValueError("a reply needs a subject")
        return self


class SuggestRequest(_Request):
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)


class ThresholdChange(_Request):
    """Changes to the thresholds in force: a target's precision target, or one class's threshold (null: back to
    the target's precision target)."""

    precision: dict[Target, Annotated[float, Field(gt=0, le=1)]] = Field(default_factory=dict)
    class_thresholds: dict[Target, dict[Label, Annotated[float, Field(ge=0, le=1)] | None]] = Field(
        default_factory=dict
    )
    note: str = Field("", max_length=1000, description="Why, in the lead's words (in the event log).")


class IncidentOut(BaseModel):
    id: int
    title: str
    body: str
    language: str
    status: str
    category: str | None
    priority: str | None
    escalation_level: str | None
    assignee: str | None
    requester: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    resolved_at: dt.datetime | None
    resolution: str | None
    root_cause: str | None
    duplicate_of: int | None
    version: int = Field(description="Send it back with a reply: a case changed meanwhile refuses it (409).")

    @classmethod
    def of(cls, r: IncidentRecord) -> IncidentOut:
        fields = {name: getattr(r, name) for name in cls.model_fields if name != "requester"}
        return cls(**fields, requester=r.requester_name)


class CaseRef(BaseModel):
    """A case found like a report: its fix, if resolved, and how alike (cosine similarity)."""

    id: int
    title: str
    status: str
    category: str | None
    resolution: str | None
    similarity: float
    possible_duplicate: bool

    @classmethod
    def of(cls, c: SimilarCase) -> CaseRef:
        r = c.incident
        return cls(
            id=r.id,
            title=r.title,
            status=r.status,
            category=r.category,
            resolution=r.resolution,
            similarity=c.similarity,
            possible_duplicate=c.possible_duplicate,
        )


class SuggestionOut(BaseModel):
    """One target's suggestion: ``value`` when the assistant is sure enough, else null (``not_sure``) with its
    best guess."""

    target: str
    value: str | None
    not_sure: bool
    best: str | None
    confidence: float

    @classmethod
    def stored(cls, s: SuggestionRecord) -> SuggestionOut:
        return cls(target=s.target, value=s.value, not_sure=s.value is None, best=s.best, confidence=s.confidence)

    @classmethod
    def made(cls, s: Suggestion) -> SuggestionOut:
        return cls(target=s.target, value=s.value, not_sure=s.abstained, best=s.best, confidence=s.confidence)


class MessageOut(BaseModel):
    id: int
    kind: str
    author: str
    subject: str
    body: str
    at: dt.datetime

    @classmethod
    def of(cls, m: MessageRecord) -> MessageOut:
        return cls(**{name: getattr(m, name) for name in cls.model_fields})


class CaseFileOut(BaseModel):
    incident: IncidentOut
    messages: list[MessageOut]
    suggestions: list[SuggestionOut]


class FiledOut(BaseModel):
    id: int
    incident: IncidentOut
    suggestions: list[SuggestionOut]
    similar: list[CaseRef]
    possible_duplicate: IncidentOut | None


class CaseList(BaseModel):
    items: list[IncidentOut]
    next_cursor: str | None = Field(description="Pass it as cursor for the next page; null on the last.")


class SearchOut(BaseModel):
    resolved: list[CaseRef]
    open: list[CaseRef]


class TriageOut(BaseModel):
    suggestions: list[SuggestionOut]
    similar: list[CaseRef]
    possible_duplicates: list[CaseRef]


class ThresholdsOut(BaseModel):
    version: int | None = Field(description="null: the settings' default, never changed by a lead.")
    default_precision: float
    precision: dict[str, float]
    class_thresholds: dict[str, dict[str, float]]

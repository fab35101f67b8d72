"""The knowledge base as tidy pandas DataFrames, one row per thing, for analysis (notebooks, the trends page).

Times are timezone-aware UTC timestamps; labels are the stored canonical values. These read only: nothing here
writes, so a notebook cannot harm the system of record.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Select, select

from kb.models import Event, Handoff, Incident, Message, Requester, Suggestion
from kb.store import KnowledgeBase

TIME_COLUMNS = ("created_at", "updated_at", "resolved_at", "decided_at", "at")
HOUR = pd.Timedelta(hours=1)


def hours(start: pd.Series, end: pd.Series) -> pd.Series:
    """Hours from ``start`` to ``end``, row by row (NaN where either is missing)."""
    return (end - start) / HOUR


def week_of(times: pd.Series) -> pd.Series:
    """The Monday that starts each time's week (UTC), as a naive timestamp."""
    return times.dt.tz_convert(None).dt.to_period("W-SUN").dt.start_time


def _frame(kb: KnowledgeBase, query: Select) -> pd.DataFrame:
    with kb.engine.connect() as connection:
        frame = pd.DataFrame(connection.execute(query).mappings().all(), columns=list(query.selected_columns.keys()))
    for column in TIME_COLUMNS:
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def incidents(kb: KnowledgeBase) -> pd.DataFrame:
    """Every incident with its labels, times, requester and department, by id."""
    columns = [c for c in Incident.__table__.c if c.key not in ("import_key", "version")]
    query = (
        select(*columns, Requester.name.label("requester"), Requester.department)
        .outerjoin(Requester, Incident.requester_id == Requester.id)
        .order_by(Incident.id)
    )
    return _frame(kb, query)


def events(kb: KnowledgeBase) -> pd.DataFrame:
    """The event log: who changed what (entity, id, field) from what to what, and when; in order."""
    return _frame(kb, select(*Event.__table__.c).order_by(Event.id))


def messages(kb: KnowledgeBase) -> pd.DataFrame:
    """Every case's conversation: messages from and to the requester and internal notes."""
    return _frame(kb, select(*Message.__table__.c).order_by(Message.at, Message.id))


def suggestions(kb: KnowledgeBase) -> pd.DataFrame:
    """What the assistant suggested per case and target at intake, and what the agent decided."""
    return _frame(kb, select(*Suggestion.__table__.c).order_by(Suggestion.incident_id, Suggestion.target))


def handoffs(kb: KnowledgeBase) -> pd.DataFrame:
    """Every escalation: case, level, holder, who handed it off and when, with the criteria ticked."""
    columns = [c for c in Handoff.__table__.c if c.key != "package"]
    return _frame(kb, select(*columns).order_by(Handoff.created_at, Handoff.id))

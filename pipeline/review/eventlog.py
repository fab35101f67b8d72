"""ServiceNow incident event logs, as exported in the UCI "Incident management process enriched event log": one row
per update of an incident, with its state, counters and coded fields at that moment.

``read_event_log`` gives the updates; ``incidents_of`` one row per incident, named like the knowledge base's
incidents (``created_at``, ``resolved_at``, ``hours_to_resolve``...) so that ``pipeline.review.analysis`` serves
both; ``state_history`` the states each incident went through, for ``pipeline.review.analysis.transitions``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kb.frames import hours, week_of
from pipeline.files import ImportFileError

TIME_FORMAT = "%d/%m/%Y %H:%M"  # 29/2/2016 01:16; the export gives no time zone: read as UTC
TIMES = ("opened_at", "sys_created_at", "sys_updated_at", "resolved_at", "closed_at")
# Coded fields are strings ("Category 55"); '?' marks a missing value; state -100 marks a corrupt update.
MISSING = "?"
CORRUPT_STATE = "-100"
# What the incident summary keeps of an incident's last update, under the knowledge base's names where one exists.
SUMMARY = {
    "number": "number",
    "priority": "priority",
    "impact": "impact",
    "urgency": "urgency",
    "category": "category",
    "subcategory": "subcategory",
    "assignment_group": "assignment_group",
    "contact_type": "contact_type",
    "incident_state": "status",
    "opened_at": "created_at",
    "resolved_at": "resolved_at",
    "closed_at": "closed_at",
    "reassignment_count": "reassignments",
    "reopen_count": "reopenings",
    "sys_mod_count": "updates",
    "made_sla": "made_sla",
    "knowledge": "knowledge",
}


def read_event_log(path: str | Path) -> pd.DataFrame:
    """The updates of the export at ``path`` (CSV, optionally gzipped), in order of incident and update count,
    without corrupt updates; times as UTC timestamps."""
    log = pd.read_csv(path, na_values=[MISSING], keep_default_na=False, dtype=str)
    missing = set(SUMMARY) - set(log.columns)
    if missing:
        raise ImportFileError("not_an_event_log", path=str(path), missing=sorted(missing))
    log = log[log["incident_state"] != CORRUPT_STATE].copy()
    for column in TIMES:
        log[column] = pd.to_datetime(log[column], format=TIME_FORMAT).dt.tz_localize("UTC")
    for column in ("reassignment_count", "reopen_count", "sys_mod_count"):
        log[column] = log[column].astype(int)
    for column in ("active", "made_sla", "knowledge", "u_priority_confirmation"):
        log[column] = log[column] == "true"
    return log.sort_values(["number", "sys_mod_count"], kind="stable").reset_index(drop=True)


def incidents_of(log: pd.DataFrame) -> pd.DataFrame:
    """One row per incident, from its last update: labels, times, counters, SLA, hours to resolve and week."""
    last = log.groupby("number").tail(1)
    frame = last[list(SUMMARY)].rename(columns=SUMMARY).reset_index(drop=True)
    frame["hours_to_resolve"] = hours(frame["created_at"], frame["resolved_at"])
    frame["week"] = week_of(frame["created_at"])
    return frame


def state_history(log: pd.DataFrame) -> pd.DataFrame:
    """Each incident's states in order (case, state, at): one row per update."""
    return pd.DataFrame({"case": log["number"], "state": log["incident_state"], "at": log["sys_updated_at"]})

"""A record's event log as a table: who changed what, when; the same for a case and a problem."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st

from app_pages.common import t_known
from app_pages.i18n import t
from kb import EventRecord


def event_table(
    events: Sequence[EventRecord],
    *,
    actions: str = "event_",
    fields: str = "",
    value: Callable[[str | None, str | None], str | None] = lambda field, v: v,
) -> None:
    """``events`` oldest first; an action is worded by its code after the ``actions`` prefix, a field after
    ``fields``, and a changed value by ``value(field, value)`` (a status by its name, for example)."""
    rows = [
        (
            e.at,
            e.actor,
            t_known(f"{actions}{e.action}", e.action),
            e.field and t_known(f"{fields}{e.field}", e.field),
            value(e.field, e.old_value),
            value(e.field, e.new_value),
        )
        for e in events
    ]
    columns = (t("when_utc"), t("who"), t("what"), t("field"), t("from"), t("to"))
    st.dataframe(pd.DataFrame(rows, columns=columns), hide_index=True, width="stretch")

"""Problems: the desk's problem records. The list (by status; the oldest first, or those with most incidents
first), a form to make one by hand, and one problem's record: its root cause and workaround to edit (a lead makes
it a known error, or resolves it), its incidents to link and unlink, its history."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.common import (
    REFUSALS,
    act,
    case_table,
    current_user,
    md,
    picked_rows,
    ready_workspace,
    refuse,
    status_label,
    t_known,
)
from app_pages.event_log import event_table
from app_pages.i18n import t
from kb import InvalidValue
from kb.problems import MAX_TEXT_CHARS, MAX_TITLE_CHARS
from pipeline import Workspace, access
from pipeline.access import Account
from pipeline.knowledge import problems

TEXTS = ("description", "root_cause", "workaround")


def status_name(status: str) -> str:
    return t(f"problems_status_{status}")


def create_form(ws: Workspace, user: Account) -> None:
    """A problem made by hand, opened at once."""
    with st.expander(t("problems_new")), st.form("problems_new_form", clear_on_submit=True):
        title = st.text_input(t("problems_title"), max_chars=MAX_TITLE_CHARS, key="problems_new_title")
        description = st.text_area(t("problems_description"), max_chars=MAX_TEXT_CHARS, key="problems_new_description")
        if st.form_submit_button(t("problems_create"), type="primary", key="problems_create"):
            try:
                made = problems.create(ws, title, description=description, actor=user)
            except REFUSALS as exc:
                refuse(exc)
            else:
                st.query_params["id"] = str(made.id)
                st.rerun()


def listing(ws: Workspace) -> int | None:
    """The problems as filtered and sorted; the id of the one selected, if any."""
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    statuses = left.multiselect(
        t("problems_status"),
        problems.PROBLEM_STATUSES,
        default=["open", "known_error"],
        format_func=status_name,
        key="problems_statuses",
    )
    sort = right.segmented_control(
        t("problems_sort"),
        problems.SORTS,
        default="age",
        format_func=lambda s: t(f"problems_sort_{s}"),
        key="problems_sort",
    )
    rows = problems.listing(ws, statuses, sort=sort or "age")
    if not rows:
        st.info(t("problems_none"))
        return None
    frame = pd.DataFrame(
        {
            "id": [r.problem.id for r in rows],
            "title": [r.problem.title for r in rows],
            "status": [status_name(r.problem.status) for r in rows],
            "owner": [r.problem.owner or "" for r in rows],
            "linked": [r.linked for r in rows],
            "age": [r.age.days for r in rows],
            "opened": [r.problem.created_at for r in rows],
        }
    )
    chosen = picked_rows(
        frame,
        "problems_table",
        {
            "id": st.column_config.NumberColumn("#", format="%d"),
            "title": st.column_config.TextColumn(t("problems_title"), width="large"),
            "status": st.column_config.TextColumn(t("problems_status"), width="medium"),
            "owner": t("problems_owner"),
            "linked": st.column_config.NumberColumn(t("problems_linked"), format="%d"),
            "age": st.column_config.NumberColumn(t("problems_age_days"), format="%d"),
            "opened": st.column_config.DatetimeColumn(t("opened"), format="YYYY-MM-DD HH:mm"),
        },
    )
    return int(frame.iloc[chosen[0]]["id"]) if chosen else None


def edit_form(ws: Workspace, problem: problems.ProblemRecord, user: Account, seen: int) -> None:
    """Title, description, root cause, workaround, status and owner, saved together against the version shown."""
    lead = access.may_review(user)
    names = [""] + [u.name for u in ws.kb.users()]
    with st.form(f"problems_edit_{problem.id}"):
        title = st.text_input(
            t("problems_title"), problem.title, max_chars=MAX_TITLE_CHARS, key=f"problems_edit_title_{problem.id}"
        )
        texts = {
            field: st.text_area(
                t(f"problems_{field}"),
                getattr(problem, field),
                max_chars=MAX_TEXT_CHARS,
                key=f"problems_edit_{field}_{problem.id}",
            )
            for field in TEXTS
        }
        left, right = st.columns(2)
        status = left.selectbox(
            t("problems_status"),
            problems.PROBLEM_STATUSES,
            index=problems.PROBLEM_STATUSES.index(problem.status),
            format_func=status_name,
            disabled=not lead,
            help=None if lead else t("problems_status_leads"),
            key=f"problems_edit_status_{problem.id}",
        )
        owner = right.selectbox(
            t("problems_owner"),
            names if problem.owner in names else [*names, problem.owner],
            index=names.index(problem.owner) if problem.owner in names else len(names),
            format_func=lambda n: n or t("unassigned"),
            key=f"problems_edit_owner_{problem.id}",
        )
        if st.form_submit_button(t("problems_save"), type="primary", key="problems_save"):
            act(problems.edit, ws, problem.id, version=seen, title=title, status=status, owner=owner or "", **texts)


def linked_cases(ws: Workspace, problem: problems.ProblemRecord) -> None:
    """The incidents linked, each a click away; a case to link by its number, one to unlink."""
    st.markdown(f"#### {t('problems_cases')}")
    cases = ws.kb.incidents(problem.linked)
    if cases:
        frame = pd.DataFrame(
            {
                "id": [c.id for c in cases],
                "title": [c.title for c in cases],
                "status": [status_label(ws, c.status) for c in cases],
                "owner": [c.assignee or "" for c in cases],
            }
        )
        case_table(
            frame,
            "problems_cases_table",
            ("id",),
            {
                "title": st.column_config.TextColumn(t("title"), width="large"),
                "status": t("status"),
                "owner": t("owner"),
            },
        )
    else:
        st.caption(t("problems_no_cases"))
    link, unlink = st.columns(2)
    # Forms: a number typed and the button pressed at once arrive together.
    with link, st.form("problems_link_form"):
        case_id = st.number_input(t("case_number"), min_value=1, step=1, value=None, key="problems_link_case")
        if st.form_submit_button(t("problems_link"), key="problems_link") and case_id is not None:
            act(problems.link, ws, problem.id, int(case_id))
    if problem.linked:
        with unlink, st.form("problems_unlink_form"):
            gone = st.selectbox(
                t("problems_unlink_which"),
                problem.linked,
                index=None,
                placeholder=t("choose"),
                key="problems_unlink_case",
            )
            if st.form_submit_button(t("problems_unlink"), key="problems_unlink") and gone is not None:
                act(problems.unlink, ws, problem.id, int(gone))


def history(ws: Workspace, problem_id: int) -> None:
    """The problem's event log: who changed what, when."""

    def value(field: str | None, v: str | None) -> str | None:
        return t_known(f"problems_status_{v}", v) if field == "status" and v else v

    with st.expander(t("tab_history")):
        event_table(ws.kb.events("problem", problem_id), actions="problems_event_", fields="problems_", value=value)


def detail(ws: Workspace, problem_id: int, user: Account) -> None:
    try:
        problem = ws.kb.problem(problem_id)
    except InvalidValue as exc:
        st.warning(t(exc.phrase))
        return
    # The version shown before the click being handled now; the next save is checked against this one.
    seen_key = f"problems_seen_{problem_id}"
    seen = st.session_state.get(seen_key, problem.version)
    st.session_state[seen_key] = problem.version
    st.subheader(f"#{problem.id} · {md(problem.title)}")
    facts = (
        (t("problems_status"), status_name(problem.status)),
        (t("problems_owner"), problem.owner or t("unassigned")),
        (t("problems_linked"), str(len(problem.linked))),
        (t("opened"), f"{problem.created_at:%Y-%m-%d %H:%M} · {problem.created_by}"),
    )
    for column, (label, value) in zip(st.columns(len(facts)), facts, strict=True):
        column.caption(label)
        column.text(value)
    if problem.status == "known_error":
        st.info(md(t("problems_workaround_is", workaround=problem.workaround)), icon=":material/build:")
    edit_form(ws, problem, user, seen)
    linked_cases(ws, problem)
    history(ws, problem.id)


st.title(t("problems_page_title"))
st.caption(t("problems_help"))
ws = ready_workspace()
user = current_user()
create_form(ws, user)
selected = listing(ws)
if selected is not None:
    st.query_params["id"] = str(selected)
wanted = st.query_params.get("id", "")
if wanted.isdigit():
    st.divider()
    detail(ws, int(wanted), user)

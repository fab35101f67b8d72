"""One case, as an agent works it: claim, status and its next SLA deadline, then one function per tab: the
suggestions to accept or override, similar resolved cases (a resolution reused as a draft in one click), the
escalation checklist and what was tried; the conversation with reply templates; escalation with its hand-off
package; resolution into the knowledge base; the history.

Every action is made against the version of the case shown when the agent clicked: if someone changed the case
meanwhile, the action is refused with who did it, and the page shows the case as it is now."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from app_pages import case_article, case_files, case_mail, case_merge, case_problem
from app_pages.common import (
    act,
    case_card,
    current_user,
    deadline_text,
    found,
    level_label,
    md,
    ready_workspace,
    remembered,
    status_label,
    value_label,
)
from app_pages.event_log import event_table
from app_pages.i18n import LANGUAGES, language, t, t_all
from kb.vocab import ESCALATION_LEVELS, PRIORITIES, VOCABULARIES
from pipeline import Workspace, jobs
from pipeline.access import Account
from pipeline.channels import deliver
from pipeline.desk import casework, handoff, intake, replies
from pipeline.desk.casework import CaseFile
from pipeline.desk.sla import deadlines
from pipeline.settings import CRITERIA
from pipeline.text import ReportError
from pipeline.triage.fold import FoldedCase
from pipeline.triage.search import SimilarCase
from pipeline.triage.suggest import Triage
from pipeline.triage.training import SuggestionModelUnavailable

SIMILAR_SHOWN = 5


def header(ws: Workspace, case: CaseFile, user: Account, seen: int) -> None:
    """The case at a glance: its labels and owner, the next SLA deadline, who holds it at which level, the duplicate
    flag; claim and move."""
    incident = case.incident
    st.subheader(f"#{incident.id} · {md(incident.title)}")
    labels = (
        (t("status"), status_label(ws, incident.status)),
        (t("category"), incident.category or "—"),
        (t("priority"), incident.priority or "—"),
        (t("escalation"), level_label(incident.escalation_level)),
        (t("owner"), incident.assignee or t("unassigned")),
    )
    for column, (label, value) in zip(st.columns(len(labels)), labels, strict=True):
        column.caption(label)
        column.text(value)
    due = deadlines(ws, [incident], dt.datetime.now(dt.UTC))[incident.id]
    if due is not None:
        line = f"{deadline_text(due)} · " + t("sla_target", priority=incident.priority, hours=f"{due.target_hours:g}")
        if due.state == "on_track":
            st.caption(line)
        else:
            (st.error if due.state == "breached" else st.warning)(line, icon=":material/timer:")
    if case.handoffs:
        last = case.handoffs[-1]
        st.info(
            t("held_at_level", holder=md(last.holder), level=level_label(last.level), by=md(last.created_by))
            + (" · " + t("followed_by", names=md(", ".join(case.followers))) if case.followers else ""),
            icon=":material/escalator_warning:",
        )
    if incident.duplicate_of:
        st.warning(t("flagged_duplicate", id=incident.duplicate_of), icon=":material/content_copy:")
        st.page_link(
            "app_pages/case.py",
            label=t("open_case", id=incident.duplicate_of),
            query_params={"id": incident.duplicate_of},
        )

    claim_column, status_column, move_column = st.columns([1, 2, 1], vertical_alignment="bottom")
    # Shown the same whoever holds the case: a click on a view older than someone else's claim must still arrive,
    # to be refused with the holder's name.
    if incident.assignee != user.name and claim_column.button(t("claim"), key="case_claim", type="primary"):
        act(casework.claim, ws, incident.id, version=seen)
    target = status_column.selectbox(
        t("move_to"),
        ws.workflow.next_statuses(incident.status),
        format_func=lambda s: status_label(ws, s),
        index=None,
        placeholder=t("choose"),
        key="case_move_to",
    )
    if move_column.button(t("move"), key="case_move", disabled=target is None):
        act(casework.move, ws, incident.id, target, version=seen)

    report, requester_column = st.columns([3, 1])
    with report:
        st.markdown(f"**{t('report')}**")
        st.text(incident.body or incident.title)
        st.caption(
            t("opened_at", at=f"{incident.created_at:%Y-%m-%d %H:%M}") + f" · {LANGUAGES.get(incident.language, '')}"
        )
    with requester_column:
        st.markdown(f"**{t('requester')}**")
        if case.requester:
            st.text("\n".join(filter(None, (case.requester.name, case.requester.department, *case.requester.emails))))
            st.page_link("app_pages/requester.py", label=t("requester_history"), query_params={"id": case.requester.id})
        else:
            st.text(t("unknown_requester"))


def triage_tab(ws: Workspace, case: CaseFile, triaged: Triage | None, entries: list[FoldedCase], seen: int) -> None:
    """The stored suggestions to accept, override or set; the escalation checklist; what was tried; the similar
    resolved cases, whose resolution one click copies into the resolution draft."""
    case_id = case.incident.id
    st.markdown(f"#### {t('suggestions')}")
    if not case.suggestions:
        st.caption(t("no_stored_suggestions"))
        if st.button(t("compute_suggestions"), key="case_assess"):
            notes = intake.assess(ws, [case_id], actor=current_user())
            for note in notes:  # why nothing could be suggested
                st.warning(md(t(note)))
            if not notes:
                st.rerun()
    categories = ws.kb.categories()  # the one suggested field without a fixed vocabulary
    for target, stored in case.suggestions.items():
        with st.container(border=True, key=f"decide_{target}"):
            name, verdict = st.columns([3, 2])
            if stored.value is not None:
                shown = value_label(target, stored.value)
            else:
                shown = t("not_sure_best", best=value_label(target, stored.best))
            name.markdown(f"**{t(target)}**: {md(shown)} · {stored.confidence:.0%}")
            if stored.decision:
                verdict.caption(
                    t(
                        f"decision_{stored.decision}",
                        value=md(value_label(target, stored.final_value)),
                        by=md(stored.decided_by),
                        reason=md(stored.reason or ""),
                    )
                )
            accept, choice, reason, override = st.columns([1, 2, 3, 1], vertical_alignment="bottom")
            if accept.button(t("accept"), key=f"accept_{target}", disabled=stored.value is None):
                act(casework.decide, ws, case_id, target, stored.value, version=seen)
            chosen = choice.selectbox(
                t("other_value"),
                VOCABULARIES.get(target, categories),
                index=None,
                placeholder=t("choose"),
                key=f"override_value_{target}",
                format_func=level_label if target == "escalation_level" else str,
            )
            why = reason.text_input(t("reason"), key=f"override_reason_{target}")
            set_label = t("override") if stored.value is not None else t("set_value")
            if override.button(set_label, key=f"override_{target}", disabled=chosen is None):
                act(casework.decide, ws, case_id, target, chosen, version=seen, reason=why)

    if triaged is not None:
        st.markdown(f"#### {t('escalation_checklist')}")
        st.caption(t("checklist_help"))
        for criterion in triaged.criteria:
            st.checkbox(
                f"{t('criterion_' + criterion.key)} → {level_label(criterion.raises_to)}",
                value=criterion.ticked,
                key=f"case_criterion_{criterion.key}",
                help=md(t_all(criterion.reasons)) or None,
            )
            if criterion.proposed:
                st.caption(t("proposed_because", reason=md(t_all(criterion.reasons))))

    st.markdown(f"#### {t('what_was_tried')}")
    for note in case.notes:
        st.markdown(f"- {note.at:%Y-%m-%d %H:%M} **{md(note.author)}**: {md(note.body)}")
    with st.form("note_form", clear_on_submit=True):
        text = st.text_area(t("add_note"), key="note_text", height=80)
        if st.form_submit_button(t("save_note"), key="note_submit"):
            act(casework.note, ws, case_id, text)

    st.markdown(f"#### {t('similar_resolved')}")

    def reuse(similar_case: SimilarCase) -> None:
        if similar_case.incident.resolution:
            st.button(
                t("reuse_resolution"),
                key=f"reuse_{similar_case.incident.id}",
                on_click=lambda: st.session_state.update(resolve_text=similar_case.incident.resolution),
            )

    for entry in entries[:SIMILAR_SHOWN]:
        case_card(entry.lead, actions=reuse, entry=entry)


def conversation_tab(ws: Workspace, case: CaseFile, user: Account, seen: int) -> None:
    """The messages with the requester; reply templates chosen for this case and filled with its fields."""
    mailed = deliver.reply_states(ws, case)
    for message in case.conversation:
        icon = ":material/call_received:" if message.kind == "from_requester" else ":material/call_made:"
        with st.container(border=True):
            st.markdown(f"{icon} **{md(message.author)}** · {message.at:%Y-%m-%d %H:%M} · {md(message.subject)}")
            st.text(message.body)
            case_mail.show(ws, mailed.get(message.id))
    if not case.conversation:
        st.caption(t("no_messages"))
    st.markdown(f"#### {t('reply')}")
    case_article.offer_in_reply(ws, case.incident)
    for match in replies.suggest_templates(ws, case.incident):
        subject, body = replies.fill(match.template, case.incident, agent=user.name)
        st.button(
            t("use_template", name=md(match.template.name), words=md(", ".join(match.matched) or "—")),
            key=f"template_{match.template.id}",
            on_click=lambda s=subject, b=body: st.session_state.update(reply_subject=s, reply_body=b),
        )
    subject = st.text_input(t("subject"), key="reply_subject")
    body = st.text_area(t("message"), key="reply_body", height=200)
    if st.button(t("record_reply"), key="reply_send", disabled=not body.strip()):
        act(jobs.reply, ws, case.incident.id, subject=subject, body=body, version=seen)  # and sent at once


def escalate_tab(ws: Workspace, case: CaseFile, similar: list[SimilarCase], seen: int) -> None:
    """Pick a level, draft the hand-off package in the reader's language, edit it, escalate (and post it); the
    packages sent, each exportable as Markdown."""
    case_id = case.incident.id
    left, middle = st.columns(2)
    level = left.selectbox(
        t("level"), ["L1", "L2", "L3"], format_func=level_label, index=1, placeholder=t("choose"), key="handoff_level"
    )
    holder = middle.text_input(t("holder"), value=ws.settings.escalation_holders[level], key=f"handoff_holder_{level}")
    why = st.text_input(t("why_this_level"), key="handoff_why")
    ticked = [key for key in CRITERIA if st.session_state.get(f"case_criterion_{key}")]
    st.button(
        t("draft_package"),
        key="handoff_draft",
        on_click=lambda: st.session_state.update(
            handoff_text=handoff.draft(ws, case_id, level, criteria=ticked, why=why, similar=similar).markdown(
                language()
            )
        ),
    )
    package = st.text_area(t("handoff_package"), key="handoff_text", height=360)
    post = st.checkbox(
        t("post_to_chat"),
        key="handoff_post",
        disabled=not ws.settings.chat_webhook_url,
        help=None if ws.settings.chat_webhook_url else t("no_webhook"),
    )
    if st.button(t("escalate_to", level=level_label(level)), key="handoff_send", type="primary", disabled=not package):
        act(
            handoff.escalate,
            ws,
            case_id,
            version=seen,
            level=level,
            package=package,
            holder=holder,
            criteria=ticked,
            post=post,
        )
    for sent in reversed(case.handoffs):
        at = f"{sent.created_at:%Y-%m-%d %H:%M}"
        with st.expander(t("handoff_sent", level=level_label(sent.level), by=md(sent.created_by), at=at)):
            st.code(sent.package, language="markdown", wrap_lines=True)  # as written: report text is never markup
            outcome = handoff.posted(sent)
            if outcome is not None:
                st.caption(md(t(outcome)))
            st.download_button(
                t("export_markdown"),
                sent.package,
                file_name=f"case-{case_id}-{sent.level}-{sent.id}.md",
                mime="text/markdown",
                key=f"handoff_export_{sent.id}",
            )


def resolve_tab(ws: Workspace, case: CaseFile, seen: int) -> None:
    """The resolution, root cause and final labels; the case joins the search index at once."""
    incident = case.incident
    if incident.resolution:
        st.markdown(f"**{t('resolution')}**")
        st.text(incident.resolution)
        if incident.root_cause:
            st.markdown(f"**{t('root_cause')}**")
            st.text(incident.root_cause)
    categories = ws.kb.categories()
    with st.form("resolve_form"):
        resolution = st.text_area(t("resolution"), key="resolve_text", height=120)
        root_cause = st.text_input(t("root_cause"), key="resolve_root_cause")
        left, middle, right = st.columns(3)
        # Keyed by the case's current value: the fields start from the labels as they are now, not as first shown.
        category = left.selectbox(
            t("category"),
            categories,
            index=categories.index(incident.category) if incident.category in categories else None,
            placeholder=t("choose"),
            key=f"resolve_category_{incident.category}",
        )
        priority = middle.selectbox(
            t("priority"),
            PRIORITIES,
            index=PRIORITIES.index(incident.priority) if incident.priority else None,
            placeholder=t("choose"),
            key=f"resolve_priority_{incident.priority}",
        )
        final_level = right.selectbox(
            t("escalation"),
            ESCALATION_LEVELS,
            format_func=level_label,
            index=ESCALATION_LEVELS.index(incident.escalation_level) if incident.escalation_level else 0,
            placeholder=t("choose"),
            key=f"resolve_level_{incident.escalation_level}",
        )
        if st.form_submit_button(t("resolve"), type="primary", key="resolve_submit"):
            act(
                casework.resolve,
                ws,
                incident.id,
                version=seen,
                resolution=resolution,
                root_cause=root_cause,
                category=category,
                priority=priority,
                escalation_level=final_level,
            )


def history_tab(case: CaseFile) -> None:
    """The case's event log: who changed what, when."""
    event_table(case.history)


def _triaged(ws: Workspace, case: CaseFile) -> tuple[Triage | None, list[SimilarCase], list[FoldedCase]]:
    """The checklist and the similar cases of the case as it is stored (no suggestion model: the similar cases),
    and those cases as shown, folded (the case itself is never its own precedent)."""
    try:
        triaged = ws.triage(case.incident)
    except (ReportError, SuggestionModelUnavailable):
        triaged = None
    if triaged is not None:
        return triaged, list(triaged.similar), list(triaged.folded)
    found = [c for c in ws.similar_cases(case.incident) if c.incident.id != case.incident.id]
    return None, found, ws.folded(found)


st.title(t("case_title"))
ws = ready_workspace()
default = st.query_params.get("id", "")
case_id = st.number_input(
    t("case_number"), min_value=1, step=1, value=int(default) if default.isdigit() else None, key="case_id"
)
if case_id is None:
    st.info(t("enter_case_number"))
    st.stop()
case_id = int(case_id)
st.query_params["id"] = str(case_id)
case = found(lambda: casework.case_file(ws, case_id))
user = current_user()
# The version this page showed before the click being handled now; the next click is checked against this one.
seen_key = f"case_seen_{case_id}"
seen = st.session_state.get(seen_key, case.incident.version)
st.session_state[seen_key] = case.incident.version

header(ws, case, user, seen)
case_problem.show(ws, case.incident)
# The page reruns on every click and keystroke: the checklist and the similar cases are worked out once per case
# text and state of the knowledge base, not on each rerun.
incident = case.incident
triaged, similar, shown = remembered(
    "case_triage", (case_id, incident.title, incident.body, ws.kb.corpus_version()), lambda: _triaged(ws, case)
)
case_merge.show(ws, case, user, seen, triaged)
tabs = st.tabs([t("tab_triage"), t("tab_conversation"), t("tab_escalate"), t("tab_resolve"), t("tab_history")])
with tabs[0]:
    triage_tab(ws, case, triaged, shown, seen)
with tabs[1]:
    conversation_tab(ws, case, user, seen)
    case_files.show(ws, case_id, user)
with tabs[2]:
    escalate_tab(ws, case, similar, seen)
with tabs[3]:
    resolve_tab(ws, case, seen)
    case_article.draft_section(ws, case.incident)
with tabs[4]:
    history_tab(case)

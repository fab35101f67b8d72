"""Reply templates: shared answers, offered on a case when their keywords appear in it."""

from __future__ import annotations

import streamlit as st

from app_pages import notice_wordings
from app_pages.common import REFUSALS, act, current_user, md, refuse, workspace
from app_pages.i18n import LANGUAGES, t
from kb import NewTemplate
from pipeline import access
from pipeline.desk import replies

st.title(t("templates_title"))
st.caption(t("templates_help"))
ws = workspace()
user = current_user()
templates = {tpl.id: tpl for tpl in ws.kb.templates()}


def edit_templates() -> None:
    """Add, change or delete a template: leads and admins (the pipeline refuses anyone else)."""
    editing = st.selectbox(
        t("edit_template"),
        list(templates),
        format_func=lambda i: templates[i].name,
        index=None,
        placeholder=t("choose"),
        key="template_pick",
    )
    current = templates.get(editing)
    with st.form("template_form"):
        draft = NewTemplate(
            name=st.text_input(t("name"), value=current.name if current else "", key=f"template_name_{editing}"),
            language=st.selectbox(
                t("language"),
                list(LANGUAGES),
                format_func=LANGUAGES.get,
                index=list(LANGUAGES).index(current.language) if current else 0,
                placeholder=t("choose"),
                key=f"template_language_{editing}",
            ),
            subject_keywords=st.text_input(
                t("subject_keywords"),
                value=", ".join(current.subject_keywords) if current else "",
                key=f"template_subject_words_{editing}",
            ).split(","),
            body_keywords=st.text_input(
                t("body_keywords"),
                value=", ".join(current.body_keywords) if current else "",
                key=f"template_body_words_{editing}",
            ).split(","),
            subject=st.text_input(
                t("subject"), value=current.subject if current else "Re: ${title}", key=f"template_subject_{editing}"
            ),
            body=st.text_area(
                t("message"), value=current.body if current else "", height=220, key=f"template_body_{editing}"
            ),
        )
        if st.form_submit_button(t("save_template"), type="primary", key="template_save"):
            try:
                replies.save_template(ws, draft, actor=user, template_id=editing)
            except REFUSALS as exc:
                refuse(exc)
            else:
                st.success(t("template_saved", name=md(draft.name)))
    if current is not None and st.button(t("delete_template"), key="template_delete"):
        act(replies.delete_template, ws, current.id)


if access.may_review(user):
    edit_templates()
else:
    st.info(t("templates_leads_only"), icon=":material/lock:")
notice_wordings.show(ws, user)  # admins: how notices read

for tpl in templates.values():
    with st.expander(f"{md(tpl.name)} · {LANGUAGES.get(tpl.language, tpl.language)}"):
        st.caption(
            t(
                "conditions",
                subject=md(", ".join(tpl.subject_keywords) or "—"),
                body=md(", ".join(tpl.body_keywords) or "—"),
            )
        )
        st.text(f"{tpl.subject}\n\n{tpl.body}")

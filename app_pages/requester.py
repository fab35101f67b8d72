"""A requester: every past case and message in time order, and the addresses they write from (link, unlink)."""

from __future__ import annotations

import streamlit as st

from app_pages.common import act, found, md, status_label, workspace
from app_pages.i18n import t
from pipeline.desk import people

st.title(t("requester_title"))
ws = workspace()
names = dict(ws.kb.requester_names())
default = st.query_params.get("id", "")
requester_id = st.selectbox(
    t("requester"),
    list(names),
    format_func=names.get,
    index=list(names).index(int(default)) if default.isdigit() and int(default) in names else None,
    placeholder=t("choose"),
    key="requester_id",
)
if requester_id is None:
    st.info(t("pick_requester"))
    st.stop()
st.query_params["id"] = str(requester_id)
history = found(lambda: people.requester_history(ws, requester_id))

requester = history.requester
st.subheader(md(requester.name))
st.caption(md(requester.department or t("no_department")))

st.markdown(f"**{t('addresses')}**")
for address in requester.emails:
    left, right = st.columns([4, 1])
    left.text(address)
    if right.button(t("unlink"), key=f"unlink_{address}"):
        act(people.unlink_address, ws, address)
with st.form("link_form", clear_on_submit=True):
    address = st.text_input(t("link_address"), key="link_address", placeholder="taro@example.jp")
    if st.form_submit_button(t("link"), key="link_submit"):
        act(people.link_address, ws, requester.id, address)

st.markdown(f"**{t('timeline', n=len(history.cases))}**")
for entry in history.timeline:
    with st.container(border=True):
        if entry.message is None:
            case = entry.case
            st.markdown(
                f":material/description: {entry.at:%Y-%m-%d %H:%M} · **#{case.id}** {md(case.title)} · "
                f"{md(status_label(ws, case.status))}"
            )
            if case.resolution:
                st.caption(t("resolution") + ": " + md(case.resolution))
            st.page_link("app_pages/case.py", label=t("open_case", id=case.id), query_params={"id": case.id})
        else:
            message = entry.message
            icon = ":material/call_received:" if message.kind == "from_requester" else ":material/call_made:"
            st.markdown(f"{icon} {entry.at:%Y-%m-%d %H:%M} · #{message.incident_id} · **{md(message.author)}**")
            st.text(message.body)

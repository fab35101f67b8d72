"""What every page shares: the workspace (one per server process), the one way a page keeps a result between
reruns (``remembered``), progress bars, the sidebar (language and who is working), safe text, refusals worded in
the reader's language, case cards."""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import TypeVar
from urllib.parse import urlsplit

import pandas as pd
import streamlit as st

from app_pages.i18n import LANGUAGES, language, t
from kb import (
    CommitUncertain,
    ConnectionLost,
    IncidentNotFound,
    InvalidValue,
    KnowledgeBaseBusy,
    KnowledgeBaseUnavailable,
    RequesterNotFound,
    StaleEdit,
)
from pipeline import Settings, Workspace, access
from pipeline.access.accounts import Account
from pipeline.desk.casework import AlreadyClaimed
from pipeline.desk.sla import Deadline
from pipeline.progress import Progress
from pipeline.retry import once_more_if_lost
from pipeline.triage.embed import ModelUnavailable
from pipeline.triage.fold import FoldedCase
from pipeline.triage.search import SimilarCase
from pipeline.triage.training import SuggestionModelUnavailable
from pipeline.workflow import TransitionRefused
from words import CATALOGUE, Phrase, PhrasedError, duration

T = TypeVar("T")
logger = logging.getLogger(__name__)

# What a refused action tells the user, as it is: a stale view, a claim lost, a move the workflow forbids, a bad
# value, a model version that cannot be used.
REFUSALS = (
    StaleEdit,
    AlreadyClaimed,
    TransitionRefused,
    InvalidValue,
    RequesterNotFound,
    SuggestionModelUnavailable,
    access.PermissionDenied,
    access.PasswordRefused,
    access.SignInRefused,
    access.LastAdmin,
    KnowledgeBaseBusy,
    ConnectionLost,
    CommitUncertain,
)
# Session state keys: the browser's session token (only its hash is stored), the account this run acts for, and
# why single sign-on found no account.
SESSION_TOKEN = "session_token"
ACCOUNT = "account"
SSO_REFUSED = "sso_refused"
DESTINATION = "destination"

# Every ASCII punctuation mark may be backslash-escaped in CommonMark; this also defuses Streamlit's own
# :color[...] / :material/...: directives and $...$ math in text that comes from reports.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=&\"'])")


def remembered(key: str, depends_on: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, kept in the session under ``key`` until ``depends_on`` changes: a rerun of the page (any
    click) does not compute it again."""
    if st.session_state.get(key, (None,))[0] != depends_on:
        st.session_state[key] = (depends_on, compute())
    return st.session_state[key][1]


def period_input(key: str, days: int = 365) -> tuple[dt.date | None, dt.date | None]:
    """The "created between" dates of a review page, the last ``days`` by default."""
    today = dt.datetime.now(dt.UTC).date()
    period = st.date_input(t("created_between"), value=(today - dt.timedelta(days=days), today), key=key)
    since, until = (*period, None)[:2]  # while a range is being picked, only its start is set
    return since, until


def md(text: object) -> str:
    """Text from a report or the database, made safe to put inside st.markdown: shown as typed, never parsed."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("\n", "  \n")


def found(fetch: Callable[[], T]) -> T:
    """What ``fetch`` finds; where the case or requester asked for is not there, the page says so and stops."""
    try:
        return fetch()
    except (IncidentNotFound, RequesterNotFound) as exc:
        st.warning(t(exc.phrase))
        st.stop()


def percent_column(label: str) -> st.column_config.NumberColumn:
    """A table column of shares, headed by the catalogue's ``label``."""
    return st.column_config.NumberColumn(t(label), format="percent")


def refuse(exc: PhrasedError) -> None:
    """Say why nothing changed, in the reader's language."""
    st.error(md(t(exc.phrase)), icon=":material/block:")


@st.cache_resource(show_spinner=False, on_release=lambda ws: ws.close())
def _open_workspace() -> Workspace:
    return Workspace(Settings())


def workspace() -> Workspace:
    """The knowledge base, model and index of this server process, opened once and shared by all sessions."""
    try:
        with st.spinner(t("opening_kb")):
            return _open_workspace()
    except KnowledgeBaseUnavailable as exc:  # not cached: the next run tries again, once the file is fixed
        st.error(md(t("kb_unavailable", error=t(exc.phrase))))
        st.stop()


@contextmanager
def progress_bar(step: Phrase, total: int) -> Iterator[Progress]:
    """A Streamlit progress bar for one step of long work, named in the reader's language."""
    description = t(step)
    bar = st.progress(0.0, text=description)
    done = 0

    def update(n: int) -> None:
        nonlocal done
        done += n
        shown = t("progress_of", step=description, done=f"{done:,}", total=f"{total:,}")
        bar.progress(min(done / total, 1.0) if total else 1.0, text=shown)

    yield update
    bar.empty()


def ready_workspace() -> Workspace:
    """The workspace with its model loaded and its index current, showing progress while it gets there."""
    ws = workspace()
    try:
        with st.spinner(t("loading_models")):
            ws.index(progress_bar)  # instant once loaded; a bar appears only while it is rebuilt
    except ModelUnavailable as exc:
        st.error(t(exc.phrase))
        st.stop()
    return ws


def sso_configured() -> bool:
    """Whether single sign-on is set up: an ``[auth]`` table in ``.streamlit/secrets.toml``."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets file at all
        return False


def signed_in() -> Account | None:
    """The account of this browser session as it is now (its role may have changed), from the session's token;
    or from single sign-on, whose e-mail must belong to an account. None: the sign-in page is all there is."""
    ws = workspace()
    account = access.resume(ws.kb, ws.settings, st.session_state.get(SESSION_TOKEN))
    if account is None and sso_configured() and st.user.is_logged_in:
        try:
            verified = st.user.get("email_verified")
            session = access.sign_in_by_email(ws.kb, str(st.user.get("email") or ""), verified=verified)
        except access.SignInRefused as exc:
            st.session_state[SSO_REFUSED] = exc.phrase
        else:
            st.session_state[SESSION_TOKEN] = session.token
            account = session.account
    st.session_state[ACCOUNT] = account  # read by the page this run shows (``current_user``)
    return account


def remember_destination() -> None:
    """Keep the address this browser first asked for (a case link shared in chat, say) to go there once signed in."""
    st.session_state.setdefault(DESTINATION, (st.context.url, st.query_params.to_dict()))  # the URL comes bare


def go_to_destination(pages: list[st.Page]) -> None:
    """After signing in, the page (and its query, such as a case number) the browser first asked for, if any."""
    url, query = st.session_state.pop(DESTINATION, None) or ("", {})
    path = urlsplit(url or "").path.strip("/").rsplit("/", 1)[-1]
    target = next((p for p in pages if path and p.url_path == path), None)
    if target is not None:
        st.switch_page(target, query_params=query)


def not_open_to_you() -> None:
    """What a review page's address shows an agent (a link shared in chat, say)."""
    st.warning(t("leads_only"), icon=":material/lock:")


@contextmanager
def errors_with_a_reference() -> Iterator[None]:
    """A bug reaches the reader as a message with a reference; its details go to the server log under that
    reference. Where the server shows error details (a developer's, and the tests'), the error goes on as it is."""
    try:
        yield
    except KnowledgeBaseUnavailable as exc:  # the database gone mid-page: say so, nothing to look up in the log
        refuse(exc)
    except Exception:
        if st.get_option("client.showErrorDetails") in ("full", True, "true"):
            raise
        reference = secrets.token_hex(4)
        logger.exception("unexpected error, reference %s", reference)
        st.error(t("unexpected_error", reference=reference), icon=":material/error:")


def sign_out() -> None:
    ws = workspace()
    if token := st.session_state.pop(SESSION_TOKEN, None):
        access.sign_out(ws.kb, token)
    st.session_state[ACCOUNT] = None
    if sso_configured() and st.user.is_logged_in:
        # Also forget the identity provider's cookie, else the next run signs in again. The browser goes to the
        # sign-out address and comes back as a new session; a rerun here would race that navigation.
        st.logout()
        st.stop()
    st.rerun()


def sidebar() -> None:
    """Language, who is signed in, and the knowledge base at a glance."""
    ws = workspace()
    st.session_state.setdefault("lang", ws.settings.ui_language)
    with st.sidebar:
        st.radio("Language / 言語", list(LANGUAGES), format_func=LANGUAGES.get, key="lang", horizontal=True)
        account = st.session_state.get(ACCOUNT)
        if account is None:
            return
        st.markdown(f"**{md(account.name)}** · {t('role_' + account.role)}")
        if st.button(t("sign_out"), key="sign_out", icon=":material/logout:"):
            sign_out()
        stats = ws.kb.stats()
        st.subheader(t("knowledge_base"))
        st.metric(t("incidents"), f"{stats.incidents:,}")
        st.caption(
            t("resolved_searchable", n=f"{stats.resolved:,}")
            + " · "
            + " · ".join(f"{md(LANGUAGES.get(lang, lang))} {n:,}" for lang, n in sorted(stats.by_language.items()))
        )
        st.caption(t("model", name=md(ws.settings.embedding_model)))
        for notice in ws.notices[-3:]:
            st.info(t(notice), icon=":material/build:")


def current_user() -> Account:
    """The signed-in account (``app.py`` shows nothing else until there is one)."""
    account = st.session_state.get(ACCOUNT)
    if account is None:  # a page run outside app.py's navigation
        st.stop()
    return account


def current_reviewer() -> Account:
    """The signed-in account if it is a lead or an admin; else the page stops and says who may see it (a review
    page's address reaches an agent's browser too)."""
    account = current_user()
    if not access.may_review(account):
        st.warning(t("leads_only"), icon=":material/lock:")
        st.stop()
    return account


def review_page(title_key: str) -> tuple[Account, Workspace]:
    """A review page's start: its title, the lead or admin working (else the page stops), the ready workspace."""
    st.title(t(title_key))
    return current_reviewer(), ready_workspace()


def act(action: Callable[..., object], *args: object, **kwargs: object) -> None:
    """Run one change as the signed-in account; on success show the page anew, else say why nothing changed (a
    stale view, a claim lost, a move the workflow forbids, a bad value, a role that may not)."""
    try:
        once_more_if_lost(action, *args, actor=current_user(), **kwargs)
    except REFUSALS as exc:
        refuse(exc)
    else:
        st.rerun()


def t_known(code: str, fallback: str) -> str:
    """The catalogue's words for ``code`` where it has them, else ``fallback`` as it is (a name from the data)."""
    return t(code) if code in CATALOGUE else fallback


def hours(value: float | None) -> str:
    return "—" if value is None else t("hours_value", hours=value)


def status_label(ws: Workspace, status: str) -> str:
    return ws.workflow.label(status, language())


def level_label(level: str | None) -> str:
    return t(f"level_{level}") if level else "—"


def value_label(target: str, value: str | None) -> str:
    """A suggested or chosen value as a person reads it: levels and ITIL scales named, categories as they are."""
    if value is None:
        return "—"
    if target == "escalation_level":
        return level_label(value)
    return t(f"scale_{value}") if target in ("impact", "urgency") else value


def deadline_text(due: Deadline | None) -> str:
    """A case's next SLA deadline in words: "Response due in 12 min", "Resolution overdue by 2 h 5 min"."""
    if due is None:
        return ""
    left = duration(abs(due.left), language(), days=False)  # business hours: a "day" of them would mislead
    text = t(f"sla_{due.state}", clock=t(f"clock_{due.clock}"), due=left)
    return text + (" · " + t("sla_paused") if due.paused else "")


def case_card(
    case: SimilarCase, actions: Callable[[SimilarCase], None] | None = None, entry: FoldedCase | None = None
) -> None:
    """One found case: title, similarity, labels, language, resolution, and a link to the full case; with the
    near-identical cases folded under it (``entry``), how often it happened and how it was resolved."""
    incident = case.incident
    with st.container(border=True, key=f"similar_case_{incident.id}"):
        head, score = st.columns([5, 1])
        head.markdown(f"**#{incident.id}** · {md(incident.title)}")
        score.progress(max(case.similarity, 0.0), text=t("similarity", value=f"{case.similarity:.2f}"))
        if case.possible_duplicate:
            st.caption(":material/content_copy: " + t("possible_duplicate_of_report"))
        st.caption(
            " · ".join(
                md(part)
                for part in (
                    incident.category or t("no_category"),
                    incident.priority or t("no_priority"),
                    t("escalation_is", level=level_label(incident.escalation_level)),
                    LANGUAGES.get(incident.language, incident.language),
                    t("resolved_on", day=f"{incident.resolved_at:%Y-%m-%d}")
                    if incident.resolved_at
                    else status_label(workspace(), incident.status),
                )
            )
        )
        if entry is not None and len(entry.cases) > 1:
            ids = ", ".join(f"#{c.incident.id}" for c in entry.cases[1:])
            st.caption(t("folded_cases", count=len(entry.cases), newest=entry.newest.id, ids=ids))
            if entry.fixes:
                st.markdown(f"**{t('fixes_of_folded')}**")
            for fix in entry.fixes:
                st.text(t("fix_count", count=fix.count) + " " + fix.resolution)
        elif incident.resolution:
            st.markdown(f"**{t('resolution')}**")
            st.text(incident.resolution)
        elif incident.resolved_at:
            st.text(t("no_resolution_recorded"))
        if incident.root_cause:
            st.markdown(f"**{t('root_cause')}**")
            st.text(incident.root_cause)
        with st.expander(t("original_report")):
            st.text(incident.body or incident.title)
        if actions is not None:
            actions(case)
        st.page_link("app_pages/case.py", label=t("open_case", id=incident.id), query_params={"id": incident.id})


def duplicate_banners(cases: list[SimilarCase]) -> None:
    """Open cases that look like the report, flagged above everything else."""
    for case in cases:
        incident = case.incident
        st.warning(t("possible_duplicate", id=incident.id, title=md(incident.title)), icon=":material/content_copy:")
        st.page_link("app_pages/case.py", label=t("open_case", id=incident.id), query_params={"id": incident.id})


def picked_rows(frame: pd.DataFrame, key: str, column_config: dict) -> list[int]:
    """A table whose rows can be picked, one at a time: the positions of the row picked (none, or one)."""
    return st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key=key,
        column_config=column_config,
    ).selection.rows


def case_table(frame: pd.DataFrame, key: str, id_columns: tuple[str, ...], column_config: dict) -> None:
    """A table of cases; a selected row offers each case it names (``id_columns``) one click away."""
    ids = {c: st.column_config.NumberColumn("#", format="%d") for c in id_columns}
    for row in picked_rows(frame, key, ids | column_config):
        for column in id_columns:
            case_id = frame.iloc[row][column]
            if pd.notna(case_id):
                st.page_link(
                    "app_pages/case.py", label=t("open_case", id=int(case_id)), query_params={"id": int(case_id)}
                )

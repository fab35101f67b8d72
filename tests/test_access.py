"""Accounts, sign-in and roles, on real SQLite files: passwords kept only as argon2id hashes, a lockout after too
many wrong ones, sessions that end when idle or when their account is disabled, single sign-on mapped to an
existing account only, and the team kept by admins with always one active admin left."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from kb import InvalidValue, KnowledgeBase, NewTemplate
from pipeline.access.accounts import Account, PermissionDenied, require
from pipeline.access.sign_in import (
    PasswordRefused,
    SignInRefused,
    change_password,
    resume,
    sign_in,
    sign_in_by_email,
    sign_out,
)
from pipeline.access.team import LastAdmin, add_account, reset_password, update_account
from pipeline.desk.replies import save_template
from pipeline.settings import Settings
from pipeline.triage.thresholds import set_thresholds
from pipeline.triage.versions import discard_version
from pipeline.workspace import Workspace
from tests.conftest import acct

OPERATOR = Account.operator("root")
PASSWORD = "correct horse battery"


@pytest.fixture
def desk(make_kb: Callable[..., KnowledgeBase]) -> tuple[KnowledgeBase, Settings]:
    kb = make_kb()
    add_account(kb, "Ada Admin", "admin", actor=OPERATOR, email="ada@example.com", password=PASSWORD)
    add_account(kb, "Aki Agent", "agent", actor=OPERATOR, email="Aki <AKI@example.jp>", password=PASSWORD)
    return kb, Settings(lockout_attempts=5, lockout_minutes=15, session_idle_hours=8)


def test_a_password_is_kept_only_as_an_argon2id_hash_and_a_session_only_as_a_token_hash(desk) -> None:
    kb, settings = desk
    session = sign_in(kb, settings, "aki@example.jp", PASSWORD)  # the e-mail in any case, or the name
    assert session.account.name == "Aki Agent" and session.account.role == "agent"
    with kb.engine.connect() as c:
        hashes = [row[0] for row in c.execute(text("SELECT password_hash FROM users"))]
        tokens = [row[0] for row in c.execute(text("SELECT token_hash FROM user_sessions"))]
        logged = " ".join(str(row) for row in c.execute(text("SELECT * FROM events")))
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert session.token not in tokens and len(tokens[0]) == 64
    assert PASSWORD not in logged and "$argon2id$" not in logged and "(secret)" in logged


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(desk) -> None:
    kb, settings = desk
    for _ in range(4):
        with pytest.raises(SignInRefused, match="Wrong name or password"):
            sign_in(kb, settings, "Aki Agent", "wrong password")
    with pytest.raises(SignInRefused, match="locked until"):
        sign_in(kb, settings, "Aki Agent", "wrong password")
    with pytest.raises(SignInRefused, match="locked until"):
        sign_in(kb, settings, "Aki Agent", PASSWORD)
    reset_password(kb, kb.user("Aki Agent").id, "a new password", actor=Account.signed_in(kb.user("Ada Admin")))
    assert sign_in(kb, settings, "Aki Agent", "a new password").account.name == "Aki Agent"


def test_an_unknown_name_and_a_huge_password_are_refused_alike_and_quickly(desk) -> None:
    kb, settings = desk
    with pytest.raises(SignInRefused, match="Wrong name or password"):
        sign_in(kb, settings, "Nobody", PASSWORD)
    started = time.perf_counter()
    with pytest.raises(SignInRefused, match="Wrong name or password"):
        sign_in(kb, settings, "Aki Agent", "x" * 10_000_000)
    assert time.perf_counter() - started < 5  # never hashed
    with pytest.raises(PasswordRefused, match="10 to 1024 characters"):
        add_account(kb, "Shorty", "agent", actor=OPERATOR, password="short")


def test_a_session_resumes_until_signed_out_idle_or_disabled(desk) -> None:
    kb, settings = desk
    first = sign_in(kb, settings, "Aki Agent", PASSWORD)
    assert resume(kb, settings, first.token) == first.account
    assert resume(kb, settings, "forged-token") is None and resume(kb, settings, None) is None
    sign_out(kb, first.token)
    assert resume(kb, settings, first.token) is None

    idle = sign_in(kb, settings, "Aki Agent", PASSWORD)
    with kb.write("test") as w:  # as if the browser had been left for nine hours
        session_id = kb.session(hashlib.sha256(idle.token.encode()).hexdigest()).id
        w.touch_session(session_id, dt.datetime.now(dt.UTC) - dt.timedelta(hours=9))
    assert resume(kb, settings, idle.token) is None

    disabled = sign_in(kb, settings, "Aki Agent", PASSWORD)
    update_account(kb, kb.user("Aki Agent").id, active=False, actor=Account.signed_in(kb.user("Ada Admin")))
    assert resume(kb, settings, disabled.token) is None
    with pytest.raises(SignInRefused, match="Wrong name or password"):
        sign_in(kb, settings, "Aki Agent", PASSWORD)


def test_a_role_changed_by_an_admin_holds_from_the_next_page(desk) -> None:
    kb, settings = desk
    session = sign_in(kb, settings, "Aki Agent", PASSWORD)
    update_account(kb, session.account.id, role="lead", actor=Account.signed_in(kb.user("Ada Admin")))
    assert resume(kb, settings, session.token).role == "lead"


def test_changing_ones_password_needs_the_current_one_and_ends_the_other_sessions(desk) -> None:
    kb, settings = desk
    elsewhere = sign_in(kb, settings, "Aki Agent", PASSWORD)
    here = sign_in(kb, settings, "Aki Agent", PASSWORD)
    with pytest.raises(SignInRefused, match="current password is wrong"):
        change_password(kb, settings, "guess", "another password", actor=here.account)
    again = change_password(kb, settings, PASSWORD, "another password", actor=here.account)
    assert resume(kb, settings, elsewhere.token) is None and resume(kb, settings, again.token) == here.account
    assert sign_in(kb, settings, "Aki Agent", "another password")


def test_single_sign_on_maps_an_e_mail_to_an_account_and_never_creates_one(desk) -> None:
    kb, _ = desk
    assert sign_in_by_email(kb, "ada@example.com").account.name == "Ada Admin"
    with pytest.raises(SignInRefused, match=r"No active account has the address mallory@example\.com"):
        sign_in_by_email(kb, "mallory@example.com")
    assert [u.name for u in kb.users(active_only=False)] == ["Ada Admin", "Aki Agent"]


def test_only_admins_keep_the_team_and_the_last_admin_stays(desk) -> None:
    kb, settings = desk
    agent = sign_in(kb, settings, "Aki Agent", PASSWORD).account
    admin = sign_in(kb, settings, "Ada Admin", PASSWORD).account
    with pytest.raises(PermissionDenied, match=r"Aki Agent \(agent\) may not manage the team"):
        update_account(kb, agent.id, role="admin", actor=agent)  # an agent making themselves admin
    with pytest.raises(PermissionDenied):
        add_account(kb, "Sock Puppet", "admin", actor=agent, password=PASSWORD)
    with pytest.raises(PermissionDenied):
        reset_password(kb, admin.id, "taken over now", actor=agent)
    with pytest.raises(LastAdmin, match="Ada Admin is the last active admin"):
        update_account(kb, admin.id, role="lead", actor=admin)
    with pytest.raises(LastAdmin):
        update_account(kb, admin.id, active=False, actor=admin)
    with pytest.raises(InvalidValue, match="belongs to another account"):
        add_account(kb, "Copy", "agent", actor=admin, email="ADA@example.com")
    update_account(kb, agent.id, role="admin", actor=admin)
    update_account(kb, admin.id, role="lead", actor=admin)  # another admin now exists
    assert [u.name for u in kb.users() if u.role == "admin"] == ["Aki Agent"]


def test_the_pipeline_acts_for_an_account_never_a_name() -> None:
    with pytest.raises(TypeError, match="not str"):
        require("Admin", ("admin",), "manage_team")  # type: ignore[arg-type]
    assert OPERATOR.name == "operator (root)" and OPERATOR.is_operator


def test_wrong_passwords_tried_at_the_same_moment_each_count_towards_the_lockout(desk) -> None:
    kb, settings = desk

    def attempt(_: int) -> str:
        try:
            sign_in(kb, settings, "Aki Agent", "a wrong guess")
        except SignInRefused as exc:
            return exc.phrase.code
        return "signed in"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert "signed in" not in outcomes and "sign_in_locked" in outcomes
    with pytest.raises(SignInRefused, match="locked until"):
        sign_in(kb, settings, "Aki Agent", PASSWORD)


def test_single_sign_on_refuses_an_address_its_provider_did_not_verify(desk) -> None:
    kb, _ = desk
    with pytest.raises(SignInRefused, match="No active account"):
        sign_in_by_email(kb, "ada@example.com", verified=False)
    assert sign_in_by_email(kb, "ada@example.com", verified=True).account.name == "Ada Admin"


def test_a_name_that_reads_as_an_address_is_refused(desk) -> None:
    kb, _ = desk
    with pytest.raises(InvalidValue, match="cannot contain @"):
        add_account(kb, "ada@example.com", "admin", actor=OPERATOR, password=PASSWORD)


def test_an_agent_calling_the_pipeline_directly_is_refused_every_lead_and_admin_change(candidate_copy) -> None:
    with Workspace(candidate_copy) as ws:
        agent = acct(ws, "Raj Mehta")
        candidate = ws.kb.model_versions()[0]
        before = (ws.kb.active_model_version().id, ws.kb.threshold_policy(), len(ws.kb.templates()))
        refused = [
            lambda: set_thresholds(ws.kb, actor=agent, precision={"category": 0.5}, class_thresholds={}),
            lambda: ws.train(actor=agent),
            lambda: ws.activate(candidate.id, actor=agent),
            lambda: discard_version(ws.kb, candidate.id, actor=agent),
            lambda: save_template(ws, NewTemplate(name="x", language="en", subject="s", body="b"), actor=agent),
            lambda: add_account(ws.kb, "Sock Puppet", "admin", actor=agent, password=PASSWORD),
        ]
        for action in refused:
            with pytest.raises(PermissionDenied, match=r"Raj Mehta \(agent\) may not"):
                action()
        assert (ws.kb.active_model_version().id, ws.kb.threshold_policy(), len(ws.kb.templates())) == before
        assert "Raj Mehta" not in {e.actor for e in ws.kb.events("threshold_policy", 1)}

"""A PostgreSQL connection that breaks: replaced before use when it died idle, a change whose connection broke
tried once more, a clear message naming the database (never its password) when it breaks again, and nothing
half written."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event, text

from kb import CommitUncertain, ConnectionLost, KnowledgeBase
from pipeline.retry import once_more_if_lost

RUN_ON = ("postgresql",)


def terminate(kb: KnowledgeBase, pid: int | None = None) -> None:
    """What a server restart or a proxy's timeout does: end the database's connections (or the one of ``pid``)."""
    admin = create_engine(kb.url, isolation_level="AUTOCOMMIT")
    which = "pid = :pid" if pid else "datname = current_database() AND pid <> pg_backend_pid()"
    with admin.connect() as c:
        c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {which}"), {"pid": pid})
    admin.dispose()


def add_case(kb: KnowledgeBase, title: str, *, cut: bool) -> int:
    """One change in one transaction; with ``cut``, its connection is ended halfway, after the first write."""
    with kb.write("tester") as w:
        case = w.add_incident(title=title, language="en")
        if cut:
            terminate(kb, w.connection().execute(text("SELECT pg_backend_pid()")).scalar_one())
        w.add_message(case, kind="note", author="tester", body="the second half of the change")
    return case


def test_connections_that_died_idle_are_replaced_before_the_next_read_and_write(kb: KnowledgeBase) -> None:
    with kb.write("tester") as w:
        w.add_incident(title="VPN drops", language="en")
    terminate(kb)  # every pooled connection is now dead
    assert kb.stats().incidents == 1
    with kb.write("tester") as w:
        w.add_incident(title="Printer jams", language="en")
    assert kb.stats().incidents == 2


def test_a_connection_lost_mid_change_leaves_nothing_and_is_named_without_the_password(kb: KnowledgeBase) -> None:
    with pytest.raises(ConnectionLost) as lost:
        add_case(kb, "Mail bounces", cut=True)
    assert kb.url.database in str(lost.value) and "nothing was stored" in str(lost.value)
    assert not kb.url.password or kb.url.password not in str(lost.value)
    assert kb.stats().incidents == 0  # the first half was rolled back with the rest
    assert kb.messages([1]) == []


def test_a_change_whose_connection_broke_is_made_once_more_and_only_once(kb: KnowledgeBase) -> None:
    cuts = iter([True, False])
    case = once_more_if_lost(lambda: add_case(kb, "Mail bounces", cut=next(cuts)))
    assert kb.stats().incidents == 1
    assert [m.body for m in kb.messages([case])] == ["the second half of the change"]


def test_a_connection_that_breaks_again_is_reported_not_retried_forever(kb: KnowledgeBase) -> None:
    tries = []

    def always_cut() -> int:
        tries.append(1)
        return add_case(kb, "Mail bounces", cut=True)

    with pytest.raises(ConnectionLost):
        once_more_if_lost(always_cut)
    assert len(tries) == 2 and kb.stats().incidents == 0


def test_a_connection_lost_while_committing_is_not_retried(kb: KnowledgeBase) -> None:
    """Only the database knows whether a commit it never answered was stored: trying again could store it twice."""

    def cut_at_commit(connection) -> None:
        terminate(kb, connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())

    event.listen(kb.engine, "commit", cut_at_commit)
    tries = []

    def change() -> int:
        tries.append(1)
        return add_case(kb, "Mail bounces", cut=False)

    with pytest.raises(CommitUncertain, match="may or may not have been stored"):
        once_more_if_lost(change)
    event.remove(kb.engine, "commit", cut_at_commit)
    assert len(tries) == 1
    assert kb.stats().incidents == 0  # here the server had not committed it

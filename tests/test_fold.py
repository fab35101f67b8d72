"""Similar cases that show different fixes: near-identical cases fold into one entry with their fixes counted, and
the list favours resolutions unlike those above; on the demo, a CRM report no longer lists one fix again and again."""

from __future__ import annotations

import datetime as dt

import numpy as np

from kb import IncidentRecord
from pipeline.triage.fold import fold
from pipeline.triage.search import SimilarCase
from pipeline.workspace import Workspace
from tests.test_suggest import demo  # noqa: F401 (the demo workspace fixture)

DAY = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)


def case(incident_id: int, similarity: float, language: str = "en", resolution: str = "", day: int = 0) -> SimilarCase:
    at = DAY + dt.timedelta(days=day)
    record = IncidentRecord(
        incident_id, f"t{incident_id}", "b", language, None, "CRM", "P3", "none", None, None, "resolved", None,
        at, at, at, resolution or None, None,
    )  # fmt: skip
    return SimilarCase(record, similarity)


def unit(*rows: list[float]) -> np.ndarray:
    vectors = np.array(rows, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


def test_near_identical_cases_fold_with_their_fixes_counted_and_the_newest_named() -> None:
    cases = [
        case(1, 0.9, resolution="Restarted the CRM sync service", day=1),
        case(2, 0.88, resolution="Restarted the CRM sync service", day=5),
        case(3, 0.87, resolution="Vendor fixed a slow query", day=3),
        case(4, 0.86, language="ja", resolution="ベンダーが修正"),  # as alike, but in another language
        case(5, 0.5, resolution="Replaced the keyboard"),
    ]
    texts = unit([1, 0.05, 0], [1, 0, 0.05], [1, 0.02, 0.02], [1, 0, 0], [0, 1, 0])
    fixes = unit([1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1])
    entries = fold(cases, texts, fixes, same=0.95, diversity=0.0, k=10)
    assert [[c.incident.id for c in e.cases] for e in entries] == [[1, 2, 3], [4], [5]]
    first = entries[0]
    assert [(f.count, f.resolution) for f in first.fixes] == [
        (2, "Restarted the CRM sync service"),
        (1, "Vendor fixed a slow query"),
    ]
    assert first.newest.id == 2 and first.lead.incident.id == 1


def test_the_list_favours_a_different_fix_over_a_closer_case_with_the_same_fix() -> None:
    cases = [
        case(1, 0.90, resolution="Reset the password"),
        case(2, 0.86, resolution="Reset the password again"),
        case(3, 0.80, resolution="Unlocked the account in AD"),
        case(4, 0.79),  # no resolution: like nothing
    ]
    texts = unit([1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1])  # four different reports
    fixes = unit([1, 0], [1, 0], [0, 1], [0, 0])
    by_similarity = fold(cases, texts, fixes, same=0.95, diversity=0.0, k=3)
    diverse = fold(cases, texts, fixes, same=0.95, diversity=0.3, k=3)
    assert [e.lead.incident.id for e in by_similarity] == [1, 2, 3]
    assert [e.lead.incident.id for e in diverse] == [1, 3, 4]
    assert fold([], np.zeros((0, 2)), np.zeros((0, 2)), same=0.9, diversity=0.1, k=5) == []


def test_on_the_demo_a_crm_report_shows_the_range_of_fixes_not_one_case_again_and_again(demo: Workspace) -> None:  # noqa: F811
    t = demo.triage("The CRM is very slow and sometimes times out when I open customer records")
    assert len(t.folded) == demo.settings.search_top_k
    shown = [e.lead.incident.id for e in t.folded]
    assert len(set(shown)) == len(shown)
    folded = [e for e in t.folded if len(e.cases) > 1]
    assert folded, "the demo holds the slow-CRM report many times: some must fold"
    assert sum(len(e.cases) for e in t.folded) > len(t.folded)
    # What the list shows covers more distinct fixes than the plain top ten did.
    plain = {c.incident.resolution for c in t.similar}
    assert len({f.resolution for e in t.folded for f in e.fixes}) >= len(plain) - 2
    leads = [e.lead.incident.title for e in t.folded[:5]]
    assert max(leads.count(title) for title in leads) <= 2  # no title fills the top five
    # A stored case asked about is never its own precedent, folded or not.
    itself = t.folded[0].lead.incident
    again = demo.triage(itself)
    assert itself.id not in {c.incident.id for c in again.similar}
    assert itself.id not in {c.incident.id for e in again.folded for c in e.cases}

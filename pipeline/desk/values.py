"""Turning what people and other systems write into the knowledge base's vocabulary (``kb.vocab``) and the
workflow's statuses.

Each parser returns the canonical value, None for an empty cell, or raises RowError saying what is accepted.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Collection
from zoneinfo import ZoneInfo

from kb.vocab import ESCALATION_LEVELS
from pipeline.files import RowError
from words import Phrase

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
    raise RowError("bad_priority", value=repr(value))


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
    raise RowError("bad_escalation_level", value=repr(value), levels=list(ESCALATION_LEVELS))


_LEVEL3_WORDS = {
    "1": "high", "high": "high", "h": "high", "高": "high", "大": "high",
    "2": "medium", "medium": "medium", "med": "medium", "m": "medium", "中": "medium",
    "3": "low", "low": "low", "l": "low", "低": "low", "小": "low",
}  # fmt: skip


def parse_level3(value: str | None, what: str = "impact") -> str | None:
    """ITIL impact or urgency (``what``): ``'1 - High'``, ``'high'`` or ``'高'`` -> ``'high'``; 2 is medium, 3 low."""
    key = _key(value or "")
    if not key:
        return None
    word = re.split(r"\s*[-:.)]\s*", key, maxsplit=1)[0]
    if word in _LEVEL3_WORDS:
        return _LEVEL3_WORDS[word]
    raise RowError("bad_scale", what=Phrase(f"target_{what}"), value=repr(value))


def parse_status(value: str | None, statuses: Collection[str]) -> str | None:
    """A status of the workflow (``statuses``, from the settings), by its name or a common word for it."""
    key = _key(value or "")
    if not key:
        return None
    name = re.sub(r"[\s-]+", "_", key)  # "On hold", "on-hold" -> on_hold
    if name in statuses:
        return name
    word = _STATUS_WORDS.get(name.replace("_", " "))
    if word in statuses:
        return word
    raise RowError("bad_status", value=repr(value), statuses=list(statuses))


def parse_language(value: str | None) -> str | None:
    key = _key(value or "")
    if not key:
        return None
    if key in _LANGUAGE_WORDS:
        return _LANGUAGE_WORDS[key]
    raise RowError("bad_language", value=repr(value))


def parse_datetime(value: str | None, *, fmt: str | None = None, tz: str = "UTC") -> dt.datetime | None:
    """An ISO 8601 timestamp (or one in ``fmt``, strptime style); times without a zone are taken in ``tz``."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        parsed = dt.datetime.strptime(text, fmt) if fmt else dt.datetime.fromisoformat(text)
    except ValueError:
        if fmt:
            raise RowError("bad_date_format", value=repr(value), format=repr(fmt)) from None
        raise RowError("bad_date", value=repr(value)) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    return parsed.astimezone(dt.UTC)

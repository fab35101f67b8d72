"""Report text: checking what an agent typed, the text that represents an incident, and its language."""

from __future__ import annotations

import re
import unicodedata

# Hiragana, katakana (full and half width) and CJK ideographs.
_JAPANESE = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")
_LETTER = re.compile(r"[^\W\d_]")
# Control characters other than tab and newlines, which some exports and e-mails carry.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ReportError(ValueError):
    """A report that cannot be searched or stored, with what to do about it."""


def detect_language(text: str) -> str:
    """``'ja'`` when a tenth or more of the letters are Japanese script, else ``'en'``.

    >>> detect_language("VPNに接続できません (error 809)")
    'ja'
    >>> detect_language("Outlook keeps asking for my password")
    'en'
    """
    letters = len(_LETTER.findall(text))
    japanese = len(_JAPANESE.findall(text))
    return "ja" if japanese and japanese >= 0.1 * letters else "en"


def clean_text(text: str) -> str:
    """NFC-normalised, without control characters, trailing spaces or surrounding blank lines."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def clean_report(text: str | None) -> str:
    """The report as it will be searched; raises ReportError when there is nothing to search for."""
    cleaned = clean_text(text or "")
    if not cleaned:
        raise ReportError("The report is empty: type or paste what the requester wrote.")
    return cleaned


def incident_text(title: str, body: str, max_chars: int) -> str:
    """The text that stands for an incident in the index: title, then body, cut to ``max_chars``.

    A title that only repeats the start of the body (as the importer makes for rows without one) is left out.
    """
    title, body = title.strip(), body.strip()
    text = body if body.startswith(title.rstrip("…")) else f"{title}\n{body}".strip()
    return text[:max_chars]

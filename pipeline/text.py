"""Report text: checking what an agent typed, the text that stands for an incident, and its language."""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

from words import PhrasedError

# Hiragana, katakana (full and half width) and CJK ideographs.
_JAPANESE = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")
_LETTER = re.compile(r"[^\W\d_]")
# Control characters other than tab and newlines, which some exports and e-mails carry.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ReportError(PhrasedError, ValueError):
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
        raise ReportError("report_empty")
    return cleaned


def incident_text(title: str, body: str, max_chars: int) -> str:
    """The text that stands for a stored incident wherever it is embedded: in the index, in the models' training
    data, and as the query when a stored case looks for its like. Title, then body, cut to ``max_chars``.

    A title that only repeats the start of the body (as the importer makes for rows without one) is left out.

    >>> incident_text("VPN drops", "every ten minutes", 100)
    'VPN drops\\nevery ten minutes'
    >>> incident_text("The printer jams…", "The printer jams on every page", 100)
    'The printer jams on every page'
    """
    title, body = title.strip(), body.strip()
    text = body if body.startswith(title.rstrip("…")) else f"{title}\n{body}".strip()
    return text[:max_chars]


def title_from_body(body: str, chars: int = 120) -> str:
    """A title for a report that came without one: its first line, cut at ``chars`` with an ellipsis."""
    first_line = body.split("\n", 1)[0]
    return first_line[:chars].rstrip() + ("…" if len(first_line) > chars else "")


def passages(text: str, words: int = 40) -> list[str]:
    """Overlapping windows of ``words`` words (half a window apart), so a long text keeps its point everywhere.

    >>> passages("a b c d e", words=2)
    ['a b', 'b c', 'c d', 'd e']
    """
    tokens = text.split()
    if len(tokens) <= words:
        return [text]
    step = words // 2
    return [" ".join(tokens[start : start + words]) for start in range(0, len(tokens) - step, step)]


class _TextOnly(HTMLParser):
    """Collects the text of an HTML fragment, leaving out tags, scripts and styles; entities are decoded."""

    _SKIPPED = frozenset({"script", "style"})
    _BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "pre"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self._SKIPPED:
            self._skipping += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED:
            self._skipping = max(0, self._skipping - 1)

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def strip_html(text: str) -> str:
    """The text of a fragment that may hold HTML, as a reader would see it.

    >>> strip_html("<p>Cannot <b>send</b> mail &amp; calendar</p><script>alert(1)</script>")
    'Cannot send mail & calendar'
    """
    parser = _TextOnly()
    parser.feed(text)
    parser.close()
    return re.sub(r"[ \t]+", " ", clean_text("".join(parser.parts)))

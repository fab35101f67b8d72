"""Every word a person reads, in English and Japanese: the catalogue, and the phrases that carry a code to it.

The knowledge base and the pipeline write no sentences. What they tell a person (a reason, a refusal, an error, a
progress label, a notice) leaves them as a ``Phrase``: a code and its values. Their errors carry one
(``PhrasedError``). The edges (the app, the command line, later the API) word it in the reader's language with
``say``; ``str()`` words it in English, for logs and tests.

The catalogue is the ``*.toml`` files beside this module, one table per code with its ``en`` and ``ja`` text;
``{name}`` and ``{name:.0%}`` are filled from the values. A value is worded by its kind: a phrase in the same
language, a list or mapping joined (an empty one reads "none"), a time span as a duration, a time as its UTC
minute, a ``Localized`` name in the language.
This package imports nothing of the project, so every layer may use it.
"""

from __future__ import annotations

import datetime as dt
import logging
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

LANGUAGES: dict[str, str] = {"en": "English", "ja": "日本語"}
_SEPARATORS = {"en": ", ", "ja": "、"}
_SENTENCES = {"en": "; ", "ja": "。"}


def _load_catalogue(folder: Path) -> dict[str, dict[str, str]]:
    catalogue: dict[str, dict[str, str]] = {}
    for path in sorted(folder.glob("*.toml")):
        for code, entry in tomllib.loads(path.read_text(encoding="utf-8")).items():
            if code in catalogue:
                raise ValueError(f"{path.name}: the code {code!r} is already in another catalogue file")
            catalogue[code] = entry
    return catalogue


CATALOGUE: dict[str, dict[str, str]] = _load_catalogue(Path(__file__).parent)


@dataclass(frozen=True, init=False)
class Phrase:
    """Something to tell a person: a code of the catalogue and the values its text is filled with.

    >>> str(Phrase("report_empty"))
    'The report is empty: type or paste what the requester wrote.'
    >>> Phrase("too_few_labels", counts={"P2": 2, "P3": 1}).say("ja")
    '2件以上あるラベルが2種類以上必要です（現在: P2 2、P3 1）'
    """

    code: str
    values: dict[str, Any] = field(default_factory=dict)

    def __init__(self, code: str, /, **values: Any) -> None:
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "values", values)
        self.__post_init__()

    def __post_init__(self) -> None:
        # Read back from JSON (a stored outcome), a phrase within a phrase is a {"code", "values"} object again.
        object.__setattr__(self, "values", {name: _revived(value) for name, value in self.values.items()})

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> Phrase:
        """A phrase as ``dataclasses.asdict`` kept it (in JSON, say); phrases within are revived too."""
        return cls(stored["code"], **stored["values"])

    def say(self, language: str = "en") -> str:
        return say(self, language)

    def __str__(self) -> str:
        return self.say("en")

    def __hash__(self) -> int:
        return hash((self.code, repr(sorted(self.values.items()))))


def _revived(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"code", "values"} and isinstance(value["values"], dict):
        return Phrase.from_dict(value)
    if isinstance(value, list):
        return [_revived(item) for item in value]
    return value


@dataclass(frozen=True)
class Localized:
    """A name that comes with its own translations (a workflow status from the settings, say)."""

    en: str
    ja: str

    def __str__(self) -> str:
        return self.en


class PhrasedError(Exception):
    """An error whose message is a phrase: ``raise SomeError("code", name=value)``; ``.phrase`` words it."""

    def __init__(self, code: str, /, **values: Any) -> None:
        self.phrase = Phrase(code, **values)
        super().__init__(code)

    def __str__(self) -> str:
        return str(self.phrase)

    def __reduce__(self) -> tuple:  # pickled across processes (joblib): keep the values
        return (_rebuild, (type(self), self.phrase.code, self.phrase.values))


def _rebuild(cls: type[PhrasedError], code: str, values: dict[str, Any]) -> PhrasedError:
    return cls(code, **values)


def text(code: str, language: str = "en") -> str:
    """The catalogue's text of ``code`` in ``language`` (English where no translation is written)."""
    entry = CATALOGUE.get(code)
    if entry is None:
        logger.warning("no catalogue entry for %r", code)
        return code
    return entry.get(language) or entry["en"]


def _worded(value: Any, language: str) -> Any:
    """A value as it reads in ``language``; numbers and plain text stay as they are, for the format spec."""
    if isinstance(value, Phrase):
        return value.say(language)
    if isinstance(value, Localized):
        return getattr(value, language, value.en)
    if isinstance(value, dt.timedelta):
        return duration(value, language)
    if isinstance(value, dt.datetime):
        return f"{value.astimezone(dt.UTC):%Y-%m-%d %H:%M}"
    if isinstance(value, Mapping | list | tuple | set | frozenset) and not value:
        return say("none", language)
    if isinstance(value, Mapping):
        return _SEPARATORS[language].join(f"{_worded(k, language)} {_worded(v, language)}" for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return _SEPARATORS[language].join(str(_worded(item, language)) for item in items)
    return value


def say(what: Phrase | str, language: str = "en", **values: Any) -> str:
    """``what`` in ``language``: a phrase, or a code of the catalogue with its ``values``."""
    if isinstance(what, Phrase):
        what, values = what.code, {**what.values, **values}
    language = language if language in LANGUAGES else "en"
    template = text(what, language)
    if not values:
        return template
    try:
        return template.format(**{name: _worded(value, language) for name, value in values.items()})
    except (KeyError, IndexError, ValueError, TypeError) as exc:  # a catalogue typo must not hide what was said
        logger.warning("catalogue entry %r cannot be filled (%s)", what, exc)
        return f"{template} {values}"


def say_all(phrases: Iterable[Phrase], language: str = "en") -> str:
    """Several phrases as one text: "a; b" in English, "a。b" in Japanese."""
    return _SENTENCES.get(language, "; ").join(say(p, language) for p in phrases)


def duration(span: dt.timedelta, language: str = "en", *, days: bool = True) -> str:
    """'3 d 4 h', '5 h 10 min', '12 min' (and the same in Japanese): a time span at a glance, never negative.
    ``days=False`` counts whole hours instead of days: for business time, whose day is not 24 hours.

    >>> duration(dt.timedelta(days=3, hours=4, minutes=5))
    '3 d 4 h'
    >>> duration(dt.timedelta(days=1, hours=1), days=False)
    '25 h 0 min'
    >>> duration(dt.timedelta(minutes=70), "ja")
    '1時間10分'
    """
    minutes = max(int(span.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60) if days else (0, minutes)
    hours, minutes = divmod(rest, 60)
    if days:
        return say("duration_days", language, days=days, hours=hours)
    if hours:
        return say("duration_hours", language, hours=hours, minutes=minutes)
    return say("duration_minutes", language, minutes=minutes)

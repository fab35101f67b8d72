"""Reading the files people bring (imports, intake uploads, evaluation data): CSV or JSON Lines, optionally gzipped,
in UTF-8 or a named encoding. A file that cannot be read at all raises ``ImportFileError``; a row that cannot be
used comes out as its ``RowError``, so that the caller can list it by line and go on."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from words import PhrasedError

Format = Literal["csv", "jsonl"]
# The csv module refuses cells over 128 KiB outright, which would end the whole import at the first one;
# let it read them, so that the importer's own limit can report the row and the import go on.
csv.field_size_limit(max(csv.field_size_limit(), 64 * 1024 * 1024))


@dataclass(frozen=True)
class ReadLimits:
    """How much one file may hold: its unpacked size (a gzip of zeros unpacks a hundred times over), and, for
    uploads, its rows. Past either the whole file is refused before anything from it is stored."""

    max_unpacked_bytes: int = 50_000_000
    max_rows: int | None = None


DEFAULT_LIMITS = ReadLimits()  # the settings' default size, no row cap: an operator's own import


class ImportFileError(PhrasedError, ValueError):
    """The file as a whole cannot be read (unreadable, wrong encoding, unknown format, bad mapping)."""


class RowError(PhrasedError, ValueError):
    """One row cannot be used; the rest of the file can."""


def _decode(data: bytes, path: Path, encoding: str | None) -> str:
    try:
        return data.decode(encoding or "utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        code = "file_bad_encoding" if encoding else "file_not_utf8"
        raise ImportFileError(
            code, name=path.name, encoding=encoding or "UTF-8", byte=f"0x{data[exc.start]:02x}", line=line
        ) from None
    except LookupError:
        raise ImportFileError("file_unknown_encoding", encoding=encoding) from None


def read_text(path: Path, encoding: str | None, limits: ReadLimits = DEFAULT_LIMITS) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFileError("file_unreadable", path=str(path), error=exc.strerror) from None
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, path, limits.max_unpacked_bytes)
    elif len(data) > limits.max_unpacked_bytes:
        raise ImportFileError("file_too_big", name=path.name, mb=limits.max_unpacked_bytes / 1e6)
    return _decode(data, path, encoding)


def _gunzip(data: bytes, path: Path, limit: int) -> bytes:
    """Unpack as a stream, a megabyte at a time, and stop past ``limit``: memory stays bounded by it."""
    out = io.BytesIO()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(1 << 20):
                out.write(chunk)
                if out.tell() > limit:
                    raise ImportFileError("file_too_big", name=path.name, mb=limit / 1e6)
    except (OSError, EOFError) as exc:
        raise ImportFileError("file_bad_gzip", name=path.name, error=str(exc)) from None
    return out.getvalue()


def detect_format(path: Path) -> Format:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    last = suffixes[-1] if suffixes else ""
    if last in (".csv", ".tsv", ".txt"):
        return "csv"
    if last in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise ImportFileError("file_unknown_format", name=path.name)


def read_rows(
    path: Path, *, fmt: Format | None = None, encoding: str | None = None, limits: ReadLimits = DEFAULT_LIMITS
) -> Iterator[tuple[int, Any]]:
    """(line number, row) for every data row: a dict of column -> text for CSV, any JSON value for JSON Lines,
    or the ``RowError`` of a row that cannot be read. ImportFileError past ``limits``."""
    for count, numbered in enumerate(_rows(path, fmt, encoding, limits), start=1):
        if limits.max_rows is not None and count > limits.max_rows:
            raise ImportFileError("file_too_many_rows", name=path.name, limit=limits.max_rows)
        yield numbered


def _rows(path: Path, fmt: Format | None, encoding: str | None, limits: ReadLimits) -> Iterator[tuple[int, Any]]:
    text = read_text(path, encoding, limits)
    fmt = fmt or detect_format(path)
    if fmt == "jsonl":
        for number, line in enumerate(text.split("\n"), start=1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as exc:
                    yield number, RowError("row_bad_json", error=exc.msg, column=exc.colno)
        return
    dialect = "excel-tab" if path.name.lower().removesuffix(".gz").endswith(".tsv") else "excel"
    reader = csv.reader(io.StringIO(text, newline=""), dialect=dialect)
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise ImportFileError("file_no_header", name=path.name)
        header = [h.strip() for h in header]
        duplicated = sorted({h for h in header if header.count(h) > 1})
        if duplicated:
            raise ImportFileError("file_repeated_columns", name=path.name, columns=duplicated)
        start = reader.line_num + 1
        for cells in reader:
            if not any(c.strip() for c in cells):
                start = reader.line_num + 1
                continue
            if len(cells) != len(header):
                yield start, RowError("row_cell_count", cells=len(cells), columns=len(header))
            else:
                yield start, dict(zip(header, cells, strict=True))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFileError("file_bad_csv", name=path.name, line=reader.line_num, error=str(exc)) from None

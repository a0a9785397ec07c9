"""Files, folders, JSON/JSONL and HTML -> documents. All file I/O of a scan lives here.

A reader never stops on one bad file: every input path becomes documents or a `Skipped` row with a reason,
so nothing is silently dropped. Bytes are decoded as UTF-8 when they are, otherwise their encoding is
detected (charset-normalizer) and mojibake repaired (ftfy). HTML pages give their main text (trafilatura)
as the document and keep the rest of the visible text aside as `chrome`.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import os
import re
import stat
import sys
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from dedup.errors import InputError
from dedup.model import Document, Skipped, unique_ids
from dedup.text.dates import parse_date
from dedup.text.html import extract_html, published_time

__all__ = [
    "DEFAULT_MAX_BYTES",
    "RECORD_FIELDS",
    "SUFFIXES",
    "Corpus",
    "FileJob",
    "decode",
    "file_runs",
    "is_html",
    "precheck",
    "read_data",
    "read_file",
    "read_job",
    "read_page",
    "read_records",
    "read_source",
    "read_stdin",
    "repair",
    "scanned_texts",
]

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
TEXT_SUFFIXES = (".txt", ".md", ".text", ".markdown")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + JSON_SUFFIXES
_ID_FIELDS = ("id", "url", "doc_id", "uid")
_TEXT_FIELDS = ("text", "content", "body")
# When a record was published (the first of them that holds a date: `dedup.text.dates.parse_date`).
_DATE_FIELDS = ("date", "published", "timestamp")
RECORD_FIELDS = _TEXT_FIELDS + _ID_FIELDS + _DATE_FIELDS  # the fields of a record that make a document


_CHAOS_MARGIN = 0.15


def _display(path: str) -> str:
    # File names that are not UTF-8 come from the OS as surrogate escapes, which cannot be written out;
    # show their bytes as \xNN instead, so the id stays unique and readable.
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class _SkipError(Exception):
    """A file or record cannot be used; the message is the reason shown to the user."""


def _kind(name: str) -> tuple[str, bool]:
    lower = name.lower()
    gzipped = lower.endswith(".gz")
    if gzipped:
        lower = lower[:-3]
    for kind, suffixes in (("text", TEXT_SUFFIXES), ("html", HTML_SUFFIXES), ("json", JSON_SUFFIXES)):
        if lower.endswith(suffixes):
            return kind, gzipped
    return "", gzipped


def _read_bytes(path: Path, gzipped: bool, max_bytes: int | None) -> bytes:
    try:
        info = path.stat()
    except OSError as err:
        raise _SkipError(f"unreadable: {err.strerror or err}") from err
    if not stat.S_ISREG(info.st_mode):
        raise _SkipError("not a regular file")
    if max_bytes is not None and info.st_size > max_bytes:
        raise _too_large(info.st_size, max_bytes)
    try:
        with path.open("rb") as handle:
            data = handle.read()
        if gzipped and max_bytes is not None:
            data = _gunzip(data, max_bytes)
    except (OSError, EOFError, zlib.error) as err:
        reason = "corrupt gzip" if gzipped and not isinstance(err, PermissionError) else "unreadable"
        raise _SkipError(f"{reason}: {getattr(err, 'strerror', None) or err}") from err
    return data


def _too_large(size: int, max_bytes: int, what: str = "") -> _SkipError:
    where = f"{what} " if what else ""
    return _SkipError(f"{where}too large: {size:,} bytes (limit {max_bytes:,}; raise it with --max-bytes)")


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as unzipped:
        # Read one byte past the limit so a decompression bomb is refused, not swallowed.
        data = unzipped.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _SkipError(f"too large once decompressed (limit {max_bytes:,} bytes)")
    return data


def decode(data: bytes) -> str:
    """Bytes -> text: UTF-8 (with or without BOM) or a detected encoding, then mojibake repaired.

    Raises `ValueError` with the reason when the bytes are binary or in no recognisable encoding.
    """
    return repair(_decode_bytes(data))


def _decode_bytes(data: bytes) -> str:
    # Bytes -> text without mojibake repair: a JSONL file is repaired record by record instead, since one
    # double-encoded record must not send a whole shard (megabytes) through ftfy.
    head = data[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    elif b"\x00" in head:
        raise ValueError("binary file (NUL bytes)")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            mostly = _mostly_utf8(data)
            if mostly is not None:
                return mostly
            from charset_normalizer import from_bytes

            matches = from_bytes(data)
            best = matches.best()
            if best is None:
                raise ValueError("binary or unknown encoding") from None
            # Short texts cannot tell Western code pages apart (a cp1252 "è" reads as cp1250 "č"); windows-1252
            # is the web's most common legacy encoding, so it wins whenever it reads the bytes about as well.
            western = next((m for m in matches if m.encoding == "cp1252"), None)
            if western is not None and western.chaos <= best.chaos + _CHAOS_MARGIN:
                best = western
            text = str(best)
    return text


def _stray_byte(error: UnicodeError) -> tuple[str, int]:
    # A byte that is not UTF-8, read as windows-1252 (latin-1 where that has no character): the curly quotes
    # and dashes that old editors leave in otherwise UTF-8 pages.
    if not isinstance(error, UnicodeDecodeError):
        raise error
    byte = error.object[error.start : error.start + 1]
    try:
        return byte.decode("cp1252"), error.start + 1
    except UnicodeDecodeError:
        return byte.decode("latin-1"), error.start + 1


codecs.register_error("dedup-stray-cp1252", _stray_byte)


# A byte that is not UTF-8, as errors="surrogateescape" keeps it.
_STRAY_BYTE = re.compile("[\udc80-\udcff]")


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 or ASCII bytes with a few stray bytes of another encoding -> the text, the strays read as
    windows-1252; None when the stray bytes are as many as the multi-byte UTF-8 characters and more than 2%
    of the bytes or two (a file in a legacy encoding, for charset detection)."""
    text = data.decode("utf-8-sig", errors="surrogateescape")
    # Counted by the str machinery, not a Python loop: a legacy file of megabytes comes through here.
    strays = len(_STRAY_BYTE.findall(text))
    wide = len(text) - len(text.encode("ascii", "ignore")) - strays
    if wide <= strays and strays > max(2, len(data) // 50):
        return None
    return data.decode("utf-8-sig", errors="dedup-stray-cp1252")


# A UTF-8 lead byte read as windows-1252 or latin-1, then a continuation byte read the same way: the mark
# of text encoded twice ("donâ€™t", "cafÃ©"). ftfy takes milliseconds per text, so only these go to it.
_MOJIBAKE = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u2026\u2030\u2039\u203a\u20ac\u2122]"
)


# How those pairs start in practice (Latin-1 range, Latin Extended, Greek, Cyrillic, and "â€" / "â„" for
# punctuation and symbols): `in` on a str is far cheaper than the regex on clean accented text.
_MOJIBAKE_LEADS = (
    "\u00c3",
    "\u00c2",
    "\u00e2\u20ac",
    "\u00e2\u201e",
    "\u00c4",
    "\u00c5",
    "\u00ce",
    "\u00cf",
    "\u00d0",
    "\u00d1",
)


def repair(text: str) -> str:
    """Mojibake repaired (ftfy) where the text shows its marks; clean text is returned unchanged."""
    if text.isascii() or not any(lead in text for lead in _MOJIBAKE_LEADS) or not _MOJIBAKE.search(text):
        return text
    # Most mojibake is a whole text encoded as UTF-8 and decoded once as windows-1252 ("Â£8m", "donâ€™t"):
    # reversing both steps undoes it as ftfy would, in microseconds where ftfy's search takes milliseconds.
    # Anything else (mixed with clean text, encoded twice, latin-1 control bytes) is ftfy's.
    try:
        undone = text.encode("cp1252").decode("utf-8")
    except UnicodeError:
        undone = text
    if undone != text and not _MOJIBAKE.search(undone):
        return undone
    import ftfy

    # fix_encoding is the part of fix_text that undoes double encoding, at a quarter of its cost.
    return ftfy.fix_encoding(text)


def _record_text(record: Any, where: str) -> tuple[str | None, str]:
    if isinstance(record, str):
        return None, record
    if not isinstance(record, dict):
        raise _SkipError(f"{where}: a record must be a JSON object or string, not {type(record).__name__}")
    text = record.get("text")  # the usual field, looked up first
    if not isinstance(text, str):
        text = next((record[f] for f in _TEXT_FIELDS if isinstance(record.get(f), str)), None)
        if text is None:
            odd = next((f for f in _TEXT_FIELDS if record.get(f) is not None), None)
            if odd is not None:
                kind = type(record[odd]).__name__
                raise _SkipError(f"{where}: its {odd!r} field holds a {kind}, not text")
            raise _SkipError(f"{where}: no text field (expected one of {', '.join(_TEXT_FIELDS)})")
    doc_id = record.get("id")
    if doc_id is None or doc_id == "":
        doc_id = next((record[f] for f in _ID_FIELDS if record.get(f) not in (None, "")), None)
    return (None if doc_id is None else _id_text(doc_id)), text


def _record_date(record: Any) -> float | None:
    if not isinstance(record, dict):
        return None
    for field in _DATE_FIELDS:  # a plain loop: this runs for every record, and most have no date at all
        value = record.get(field)
        if value is not None:
            when = parse_date(value)
            if when is not None:
                return when
    return None


def _id_text(value: object) -> str:
    # An id as its JSON text: 7 is "7", true is "true", a list or object its compact JSON (keys sorted), so a
    # report names a record as its file does, never as Python's repr.
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# orjson reads an integer past 64 bits as a float, so two different big ids would become one: such a record
# is read again by the standard library, which keeps integers exact.
_EXACT_FLOAT = 2.0**53


def _inexact(record: Any) -> bool:
    if not isinstance(record, dict):
        return False
    for field in _ID_FIELDS:  # a plain loop: this runs for every record
        value = record.get(field)
        if isinstance(value, float) and abs(value) >= _EXACT_FLOAT:
            return True
    return False


class _NotUtf8Error(Exception):
    """A JSON file is not UTF-8 after all: it must be decoded with its detected encoding first."""


def _parsed_lines(data: bytes, first: int = 1, max_bytes: int | None = None) -> Iterator[tuple[int, Any]]:
    # (line number, record) per non-empty line of UTF-8 bytes, numbered from `first`; a line that is not JSON
    # yields its error, and so does a line over `max_bytes` (the limit of a JSONL file is per record).
    # Lines are split on b"\n" only: U+2028 and U+2029 may stand raw inside a JSON string.
    for number, line in enumerate(data.split(b"\n"), start=first):
        if max_bytes is not None and len(line) > max_bytes:
            yield number, _too_large(len(line), max_bytes, "record")
        elif line.strip():
            try:
                record = orjson.loads(line)
                yield number, json.loads(line) if _inexact(record) else record
            except orjson.JSONDecodeError as err:
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    raise _NotUtf8Error from err
                yield number, _SkipError(f"invalid JSON: {err}")


def _json_documents(
    data: bytes, rel: str, jsonl: bool, first: int = 1, max_bytes: int | None = None
) -> tuple[list[Document], list[Skipped]]:
    # UTF-8 bytes in: orjson parses them itself, so a clean file is never decoded to str as a whole.
    records: Iterable[tuple[int, Any]]
    if jsonl:
        records = _parsed_lines(data, first, max_bytes)
    else:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as err:
            # A .json file may also hold one object per line.
            if len([line for line in data.split(b"\n") if line.strip()]) < 2:
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError:
                    raise _NotUtf8Error from err
                return [], [Skipped(rel, f"invalid JSON: {err}")]
            return _json_documents(data, rel, True)
        items = value if isinstance(value, list) else [value]
        if any(_inexact(item) for item in items):
            items = json.loads(data)
            items = items if isinstance(items, list) else [items]
        records = enumerate(items, start=1)
    return read_records(records, rel)


def read_records(
    records: Iterable[tuple[int, Any]], rel: str, max_bytes: int | None = None
) -> tuple[list[Document], list[Skipped]]:
    """Numbered records of the file `rel` -> documents and skipped rows, by the rules of JSON input.

    A record is a JSON value (an object with a text field and maybe an id, or a string), or a row of any
    table as a dict (a Parquet file read on Spark); its number locates it (`rel:number`) and is its id when
    it has none. With `max_bytes`, a record whose text is longer in UTF-8 is skipped (a table's limit is per
    record, as a JSONL file's is per line).
    """
    docs: list[Document] = []
    skipped: list[Skipped] = []
    for number, record in records:
        where = f"{rel}:{number}"
        try:
            if isinstance(record, _SkipError):
                raise record
            doc_id, body = _record_text(record, "record")
            if not body or body.isspace():
                raise _SkipError("empty text")
            # A character is at most 4 bytes: shorter texts are within the limit without encoding them.
            if max_bytes is not None and len(body) > max_bytes // 4:
                size = len(body.encode("utf-8", "surrogatepass"))
                if size > max_bytes:
                    raise _too_large(size, max_bytes, "record")
        except _SkipError as skip:
            skipped.append(Skipped(where, str(skip)))
            continue
        docs.append(Document(doc_id or where, repair(body), source=where, published=_record_date(record)))
    return docs, skipped


def _read_json(
    data: bytes, rel: str, jsonl: bool, first: int = 1, max_bytes: int | None = None
) -> tuple[list[Document], list[Skipped]]:
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")) and b"\x00" not in data[:8192]:
        try:
            return _json_documents(data.removeprefix(b"\xef\xbb\xbf"), rel, jsonl, first, max_bytes)
        except _NotUtf8Error:
            pass
    # UTF-16, or a legacy encoding: decode as any text file, then parse the UTF-8 of that.
    try:
        text = _decode_bytes(data)
    except (ValueError, UnicodeDecodeError) as err:
        raise _SkipError(str(err)) from err
    return _json_documents(text.encode("utf-8", "replace"), rel, jsonl, first, max_bytes)


def read_file(path: Path, rel: str, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[list[Document], list[Skipped]]:
    """One file -> its documents (several for JSONL) and the rows it had to skip."""
    kind, gzipped = _kind(path.name)
    try:
        if not kind:
            raise _unsupported()
        if _jsonl_lines(path.name, gzipped):
            data = _read_bytes(path, False, None)
            if not data.strip():
                raise _SkipError("empty file")
            return _read_json(data, rel, True, 1, max_bytes)
        return _file_documents(_read_bytes(path, gzipped, max_bytes), path.name, kind, rel)
    except _SkipError as skip:
        return [], [Skipped(rel, str(skip))]


def _jsonl_lines(name: str, gzipped: bool) -> bool:
    # A plain (not gzipped) JSONL file: read record by record, its limit per record, and cut into parts.
    return not gzipped and name.lower().endswith((".jsonl", ".ndjson"))


def _read_part(path: Path, rel: str, part: FilePart, max_bytes: int) -> tuple[list[Document], list[Skipped]]:
    # The lines of a JSONL file from byte `part.start` to `part.end`, numbered from `part.line`.
    try:
        with path.open("rb") as handle:
            handle.seek(part.start)
            data = handle.read(part.end - part.start)
        if not data.strip():
            return [], []
        return _read_json(data, rel, True, part.line, max_bytes)
    except OSError as err:
        return [], [Skipped(f"{rel}:{part.line}", f"unreadable: {err.strerror or err}")]
    except _SkipError as skip:
        return [], [Skipped(f"{rel}:{part.line}", str(skip))]


def read_page(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> str | None:
    """An HTML file's page (gzipped or not), decoded as `read_file` decodes it before extracting the main
    text: what `dedup.score(text, html=...)` takes for the page-chrome signal. None for a file that is not
    HTML or that `read_file` would skip."""
    kind, gzipped = _kind(path.name)
    if kind != "html":
        return None
    try:
        return decode(_read_bytes(path, gzipped, max_bytes))
    except (_SkipError, ValueError, UnicodeDecodeError):
        return None


def read_data(
    data: bytes, name: str, rel: str, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[list[Document], list[Skipped]]:
    """A file's bytes, read elsewhere (by Spark, from an object store) -> what `read_file` gives for that file.

    `name` is the file's name or path (its suffixes say how to read it), `rel` its id in the report.
    """
    kind, gzipped = _kind(name)
    try:
        if not kind:
            raise _unsupported()
        if len(data) > max_bytes:
            raise _too_large(len(data), max_bytes)
        if gzipped:
            try:
                data = _gunzip(data, max_bytes)
            except (OSError, EOFError, zlib.error) as err:
                raise _SkipError(f"corrupt gzip: {getattr(err, 'strerror', None) or err}") from err
        return _file_documents(data, name, kind, rel)
    except _SkipError as skip:
        return [], [Skipped(rel, str(skip))]


def precheck(name: str, size: int, max_bytes: int = DEFAULT_MAX_BYTES, *, also: tuple[str, ...] = ()) -> str | None:
    """Why a file of this name and size would be skipped before its bytes are read, or None to read it.

    `also`: suffixes the caller reads itself (Parquet on Spark), supported too.
    """
    kind, _ = _kind(name)
    if not kind and not (also and name.lower().endswith(also)):
        return str(_unsupported())
    if size > max_bytes:
        return str(_too_large(size, max_bytes))
    return None


def _unsupported() -> _SkipError:
    return _SkipError(f"unsupported file type (supported: {', '.join(SUFFIXES)}, optionally .gz)")


def _file_documents(data: bytes, name: str, kind: str, rel: str) -> tuple[list[Document], list[Skipped]]:
    # A file's (decompressed) bytes -> its documents; raises _SkipError when the whole file is unusable.
    if not data.strip():
        raise _SkipError("empty file")
    if kind == "json":
        return _read_json(data, rel, name.lower().removesuffix(".gz").endswith((".jsonl", ".ndjson")))
    try:
        text = _decode_bytes(data)
    except (ValueError, UnicodeDecodeError) as err:
        raise _SkipError(str(err)) from err
    text = repair(text)
    chrome = ""
    published = None
    if kind == "html":
        published = parse_date(published_time(text))
        text, chrome = extract_html(text)
    if not text.strip():
        raise _SkipError("no text")
    return [Document(rel, text, chrome=chrome, source=rel, published=published)], []


@dataclass(frozen=True)
class FilePart:
    """Whole lines of a JSONL file: bytes `start` to `end`, the first of them line number `line`."""

    start: int
    end: int
    line: int


@dataclass(frozen=True)
class FileJob:
    """One input file to read, or one part of a large JSONL file: its path, its id in the report, its size
    (of the part), the size limit (of a record, for JSONL), and the part (None: the whole file)."""

    path: str
    rel: str
    size: int
    max_bytes: int
    part: FilePart | None = None


# A JSONL file larger than this is read in parts of about this size, each a job of its own: a dump of many
# gigabytes streams through the workers instead of sitting whole in one process's memory.
PART_BYTES = 16 * 1024 * 1024


def jsonl_parts(path: Path, size: int, part_bytes: int = PART_BYTES) -> list[FilePart]:
    """The parts of a JSONL file of `size` bytes: cut at the first line break after every `part_bytes`, with
    the line number each part starts at (one pass over the file, counting line breaks)."""
    parts: list[FilePart] = []
    start, line, position = 0, 1, 0
    with path.open("rb") as handle:
        while True:
            block = handle.read(part_bytes)
            if not block:
                break
            position += len(block)
            rest = handle.readline()  # to the end of the line the block stopped in
            position += len(rest)
            block += rest
            parts.append(FilePart(start, position, line))
            line += block.count(b"\n")
            start = position
    return parts or [FilePart(0, size, 1)]


def read_job(job: FileJob) -> tuple[list[Document], list[Skipped]]:
    """`read_file` (or its part of a JSONL file) that never raises: an unexpected failure becomes a `Skipped`
    row too."""
    try:
        if job.part is not None:
            return _read_part(Path(job.path), job.rel, job.part, job.max_bytes)
        return read_file(Path(job.path), job.rel, job.max_bytes)
    except Exception as err:  # noqa: BLE001 -- one broken file must never end a scan; it is reported instead
        return [], [Skipped(job.rel, f"failed to read: {type(err).__name__}: {err}")]


def is_html(job: FileJob) -> bool:
    """Whether the file is an HTML page (reading it means extracting its main text, the slow kind)."""
    return _kind(Path(job.path).name)[0] == "html"


@dataclass
class Corpus:
    """Documents read from paths (files and folders, recursively); `skipped` fills as they are read.

    `jobs()` lists the files to read (folders walked in sorted order) and records what it must skip on the
    way (hidden entries, unreadable folders, symlink loops, a file given twice); iterating reads them in that
    order.

    A file's id is its path as given, or within a folder its path relative to that folder (two folders'
    `index.txt` meet as `index.txt` and `index.txt#2` in a scan); with `prefixed` a folder's files keep the
    folder as given in front (`day1/index.txt`), ids that stay apart across runs too, as an index needs.
    """

    paths: Sequence[str | os.PathLike[str]]
    max_bytes: int = DEFAULT_MAX_BYTES
    prefixed: bool = False

    def __post_init__(self) -> None:
        self.skipped: list[Skipped] = []
        missing = [str(p) for p in self.paths if not os.path.lexists(p)]
        if missing:
            raise InputError(f"no such file or folder: {', '.join(missing)}")

    def jobs(self) -> list[FileJob]:
        """Every file to read, in a stable order; folder-level skips go to `skipped`."""
        self.skipped.clear()
        return list(self._walk())

    def _jobs(self, path: Path, rel: str, files: dict[tuple[int, int], str]) -> Iterator[FileJob]:
        # The jobs of one file, or none when it was met already (`files`: the id each file was first met as).
        try:
            info = path.stat()
        except OSError:
            size = 0  # read_file reports why
        else:
            key = (info.st_dev, info.st_ino)
            if key in files:
                self.skipped.append(Skipped(rel, f"the same file as {files[key]}: read once"))
                return
            files[key] = rel
            size = info.st_size
        if size > PART_BYTES and _jsonl_lines(path.name, _kind(path.name)[1]):
            try:
                parts = jsonl_parts(path, size, PART_BYTES)
            except OSError:
                parts = []  # read_file reports why
            if parts:
                for part in parts:
                    yield FileJob(str(path), rel, part.end - part.start, self.max_bytes, part)
                return
        yield FileJob(str(path), rel, size, self.max_bytes)

    def _walk(self) -> Iterator[FileJob]:
        folders: set[tuple[int, int]] = set()
        files: dict[tuple[int, int], str] = {}
        for root in self.paths:
            root_path = Path(root)
            prefix = f"{root_path.as_posix().rstrip('/')}/" if self.prefixed and root_path.is_dir() else ""
            yield from self._root_jobs(root_path, prefix, folders, files)

    def _root_jobs(
        self, root_path: Path, prefix: str, folders: set[tuple[int, int]], files: dict[tuple[int, int], str]
    ) -> Iterator[FileJob]:
        # The files under one path given, ids `prefix` + their path relative to it; `folders` and `files` are
        # the folders and files already met, from any path.
        if not root_path.is_dir():
            yield from self._jobs(root_path, _display(root_path.as_posix()), files)
            return

        def shown(path: Path) -> str:
            return _display(prefix + path.relative_to(root_path).as_posix())

        def unreadable(err: OSError) -> None:
            where = shown(Path(err.filename)) if err.filename else str(root_path)
            self.skipped.append(Skipped(where, f"unreadable folder: {err.strerror or err}"))

        for dirpath, dirnames, filenames in os.walk(root_path, onerror=unreadable, followlinks=True):
            here = Path(dirpath)
            try:
                info = here.stat()
            except OSError as err:
                self.skipped.append(Skipped(shown(here), f"unreadable: {err}"))
                dirnames[:] = []
                continue
            if (info.st_dev, info.st_ino) in folders:
                # A symlink to a folder already walked (a loop, or a second way in): its files are read once.
                self.skipped.append(Skipped(shown(here), "symlink to a folder already scanned (loop or alias)"))
                dirnames[:] = []
                continue
            folders.add((info.st_dev, info.st_ino))
            for name in sorted(dirnames):
                if name.startswith("."):
                    self.skipped.append(Skipped(shown(here / name), "hidden folder"))
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.startswith("."):
                    self.skipped.append(Skipped(shown(here / name), "hidden file"))
                    continue
                yield from self._jobs(here / name, shown(here / name), files)

    def read(self, jobs: Iterable[FileJob]) -> Iterator[Document]:
        """The documents of `jobs`, read here in order; what cannot be read goes to `skipped`."""
        for job in jobs:
            docs, skipped = read_job(job)
            self.skipped.extend(skipped)
            yield from docs

    def read_pages(self, jobs: Iterable[FileJob]) -> Iterator[tuple[Document, str | None]]:
        """`read`, each document with its page when it comes from an HTML file (as `read_page` gives it, for
        `dedup.score(text, html=page)` and its page-chrome signal), else None."""
        for job in jobs:
            page = read_page(Path(job.path), job.max_bytes) if is_html(job) else None
            for doc in self.read([job]):
                yield doc, page

    def __iter__(self) -> Iterator[Document]:
        return self.read(self.jobs())


def scanned_texts(
    paths: Sequence[str | os.PathLike[str]], documents: Sequence[Document] = (), max_bytes: int = DEFAULT_MAX_BYTES
) -> dict[str, str]:
    """The text of each document a local scan of `paths` and then `documents` reads, under the id the scan gives
    it (a repeated id renamed as `unique_ids` renames it): the texts an HTML report shows, read again after the
    scan so that the scan keeps reading in its worker processes."""
    corpus = Corpus(paths, max_bytes=max_bytes)
    read = [*corpus.read(corpus.jobs()), *documents]
    ids, _ = unique_ids([d.id for d in read])
    return {doc_id: d.text for doc_id, d in zip(ids, read, strict=True)}


# What the head of an HTML page holds, and no plain text begins with.
_HTML_MARKS = ("<html", "<!doctype html", "<body", "<article", "<head")


def _looks_like_html(text: str) -> bool:
    head = text[:2048].lstrip().lower()
    return head.startswith("<") and any(mark in head for mark in _HTML_MARKS)


def read_source(
    source: str, max_bytes: int = DEFAULT_MAX_BYTES, *, stdin: IO[bytes] | None = None
) -> list[tuple[Document, str | None]]:
    """The documents of one file, or of standard input when `source` is `-` (`stdin`, by default this process'),
    to score one by one: each with its HTML page when it comes from one (an HTML file, or standard input that
    looks like a page), else None.

    Unlike a scan, which skips what it cannot read, an input that gives no document raises `InputError`.
    """
    if source == "-":
        return [_read_stdin(sys.stdin.buffer if stdin is None else stdin, max_bytes)]
    path = Path(source)
    if not path.exists():
        if os.path.lexists(path):  # the name is there, but following it leads nowhere
            raise InputError(f"cannot read {source}: a symbolic link that loops or points to nothing")
        raise InputError(f"no such file: {source}")
    if path.is_dir():
        raise InputError(f"{source} is a folder: score one file at a time, or run dedup scan on the folder")
    documents, skipped = read_file(path, source, max_bytes)
    if not documents:
        reason = skipped[0].reason if skipped else "no text"
        raise InputError(f"cannot score {source}: {reason}")
    page = read_page(path, max_bytes)
    return [(doc, page) for doc in documents]


def read_stdin(stdin: IO[bytes], max_bytes: int) -> tuple[list[Document], list[Skipped]]:
    """Standard input as a scan reads it (`dedup scan -`): JSON lines, a record per line, when it starts as a
    JSON object (each record limited by `max_bytes`, as in a JSONL file), else one document, an HTML page's
    main text or the text (limited as a whole). Its id is `-`, a record's `-:n` when it has none."""
    data = stdin.read()
    if data.lstrip()[:1] == b"{":
        return _read_json(data, "-", True, 1, max_bytes)
    page = _looks_like_html(data[:2048].decode("utf-8", "replace"))
    return read_data(data, "-.html" if page else "-.txt", "-", max_bytes)


def _read_stdin(stdin: IO[bytes], max_bytes: int) -> tuple[Document, str | None]:
    data = stdin.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputError(f"standard input is larger than {max_bytes:,} bytes (raise it with --max-bytes)")
    if not data.strip():
        raise InputError("standard input is empty: nothing to score")
    try:
        text = decode(data)
    except ValueError as err:
        raise InputError(f"cannot read standard input: {err}") from err
    if _looks_like_html(text):
        main, chrome = extract_html(text)
        return Document("-", main, chrome=chrome, source="-", published=parse_date(published_time(text))), text
    return Document("-", text, source="-"), None


# A run of files is about this much work; an HTML page counts as 1/HTML_RUN of it, as extraction costs far more
# per byte than plain text.
RUN_BYTES = 2 * 1024 * 1024
HTML_RUN = 64


def file_runs(jobs: Sequence[FileJob]) -> list[list[FileJob]]:
    """`jobs` in order, cut into runs of about `RUN_BYTES` of work each: the unit a worker reads and featurizes."""
    runs: list[list[FileJob]] = []
    current: list[FileJob] = []
    weight = 0
    for job in jobs:
        current.append(job)
        weight += RUN_BYTES // HTML_RUN if is_html(job) else job.size
        if weight >= RUN_BYTES:
            runs.append(current)
            current, weight = [], 0
    if current:
        runs.append(current)
    return runs

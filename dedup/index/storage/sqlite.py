"""An index in one SQLite file, shared by the processes of one machine.

The file is in WAL mode: readers never wait for a writer, and a writer holds the lock only for one short
transaction (one `check_and_add`, or one batch of `add_many`), never across a crawl. A process killed at any
point leaves the file as of its last commit. The log is two tables: `docs` (one row per live document,
`seq` increasing, never reused) and `removed` (one row per removal, with what other processes need to forget
the document; `compact` drops all but the last, and a process that had not read them builds its state
again). A file is a dedup index when its SQLite header carries dedup's application id and its `meta` table
the index metadata; anything else is refused, never written to.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import orjson

from dedup.errors import IndexStoreError
from dedup.index.storage import Plan
from dedup.index.storage.records import (
    DTYPES,
    SCHEMA,
    Changes,
    Cursor,
    NewDoc,
    StateRows,
    StoredRows,
    TermChanges,
    TermRows,
    dump_meta,
    parse_meta,
)

__all__ = ["APPLICATION_ID", "SQLiteStore"]

T = TypeVar("T")

APPLICATION_ID = 0x44445550  # "DDUP" in the SQLite header: how a dedup index file is told from any other
_HEADER = b"SQLite format 3\x00"
_CHUNK = 500  # sequence numbers or ids per `IN (...)` query
_STATE = "bands, terms, segments, anchors"  # what a removal logs; an added document's state also has its sketch

_TABLES = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE docs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    url TEXT,
    words INTEGER NOT NULL,
    {", ".join(f"{field} BLOB NOT NULL" for field in DTYPES)}
);
CREATE TABLE removed (
    rseq INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER NOT NULL,
    bands BLOB NOT NULL,
    terms BLOB NOT NULL,
    segments BLOB NOT NULL,
    anchors BLOB NOT NULL
);
"""


def _state_rows(rows: list[tuple[Any, ...]], where: str, *, sketches: bool) -> StateRows:
    # Rows of (seq, bands, terms, segments, anchors[, sketch]).
    seqs, bands, terms, segments, anchors = ([r[i] for r in rows] for i in range(5))
    return StateRows.decode(seqs, bands, [r[5] for r in rows] if sketches else None, terms, segments, anchors, where)


class SQLiteStore:
    """A dedup index file (see the module's docstring). Use it through `dedup.Index`."""

    def __init__(self, path: str, conn: sqlite3.Connection, meta: dict[str, Any], timeout: float) -> None:
        self.location = path
        self.meta = meta
        self._conn = conn
        self._timeout = timeout
        self._lock = threading.RLock()  # one connection, shared by the threads of a process

    # -----------------------------------------------------------------------------------------------------
    # Opening

    @classmethod
    def open(cls, path: str, *, create: dict[str, Any] | None, timeout: float) -> SQLiteStore:
        """The index file at `path`, made with metadata `create` when there is none."""
        file = Path(path)
        if file.is_dir():
            raise IndexStoreError(f"{path} is a folder, not an index file -- give a file name such as crawl.index")
        if not file.exists():
            if create is None:
                raise IndexStoreError(f"no index at {path}")
            if not file.parent.is_dir():
                raise IndexStoreError(f"cannot create the index {path}: folder {file.parent} does not exist")
            _create(file, create)
        _check_header(file)
        with _errors(path, timeout):
            conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
            try:
                conn.execute("PRAGMA synchronous = NORMAL")  # in WAL mode: safe against crashes of the process
                conn.execute("PRAGMA cache_size = -65536")  # 64 MiB of pages per connection
                if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                row = conn.execute("SELECT value FROM meta WHERE key = 'index'").fetchone()
            except sqlite3.DatabaseError as err:
                conn.close()
                if "no such table" in str(err):
                    raise IndexStoreError(f"{path} is an SQLite database but not a dedup index (no metadata)") from err
                raise
        try:
            meta = parse_meta(None if row is None else row[0], path)
        except IndexStoreError:
            conn.close()
            raise
        return cls(path, conn, meta, timeout)

    # -----------------------------------------------------------------------------------------------------
    # Reads

    def changes(self, cursor: Cursor | None) -> Changes:
        """Log entries past `cursor` (every live document when None, or when the removals past it were
        compacted away)."""
        new_cursor, added, removed, reset = self._log(cursor, f"{_STATE}, sketch", _STATE)
        return Changes(
            new_cursor,
            _state_rows(added, self.location, sketches=True),
            _state_rows(removed, self.location, sketches=False),
            reset,
        )

    def term_changes(self, cursor: Cursor | None) -> TermChanges:
        """`changes`, reading only each document's term columns."""
        new_cursor, added, removed, reset = self._log(cursor, "terms", "terms")
        return TermChanges(
            new_cursor,
            TermRows.decode([r[0] for r in added], [r[1] for r in added], self.location),
            TermRows.decode([r[0] for r in removed], [r[1] for r in removed], self.location),
            reset,
        )

    def _log(
        self, cursor: Cursor | None, added_columns: str, removed_columns: str
    ) -> tuple[Cursor, list[tuple[Any, ...]], list[tuple[Any, ...]], bool]:
        # The cursor after the log past `cursor`, its added documents as rows of (seq, added_columns...), its
        # removals as rows of (seq, removed_columns...), and whether it starts again from every live document.
        with _errors(self.location, self._timeout):
            removed: list[tuple[Any, ...]] = []
            if cursor is not None:
                last_seq, last_removal = cursor
                removed = self._conn.execute(
                    f"SELECT rseq, seq, {removed_columns} FROM removed WHERE rseq > ? ORDER BY rseq", (last_removal,)
                ).fetchall()
                # Removals are numbered one after another, and `compact` keeps the last one: a gap after the
                # cursor means removals it had not read were compacted away. (SQLite may skip a number after a
                # failed insert: that costs one needless rebuild, never a missed removal.)
                if removed and removed[0][0] != last_removal + 1:
                    cursor, removed = None, []
            reset = cursor is None
            if cursor is None:
                last_removal = self._conn.execute("SELECT coalesce(max(rseq), 0) FROM removed").fetchone()[0]
                added = self._conn.execute(f"SELECT seq, {added_columns} FROM docs ORDER BY seq").fetchall()
                last_seq = 0
            else:
                added = self._conn.execute(
                    f"SELECT seq, {added_columns} FROM docs WHERE seq > ? ORDER BY seq", (last_seq,)
                ).fetchall()
        new_cursor = (max(last_seq, added[-1][0]) if added else last_seq, removed[-1][0] if removed else last_removal)
        return new_cursor, added, [r[1:] for r in removed], reset

    def fetch(self, seqs: Sequence[int], fields: Sequence[str]) -> StoredRows:
        """Stored documents by sequence number, with these array fields."""
        unknown = set(fields) - set(DTYPES)
        if unknown:
            raise ValueError(f"no such fields: {sorted(unknown)}")
        columns = ", ".join(["seq", "id", "url", "words", *fields])
        rows: list[tuple[Any, ...]] = []
        with _errors(self.location, self._timeout):
            for at in range(0, len(seqs), _CHUNK):
                chunk = list(seqs[at : at + _CHUNK])
                marks = ", ".join("?" * len(chunk))
                rows += self._conn.execute(f"SELECT {columns} FROM docs WHERE seq IN ({marks})", chunk).fetchall()
        blobs = {field: [r[4 + i] for r in rows] for i, field in enumerate(fields)}
        return StoredRows.decode(
            [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows], blobs, self.location
        )

    def find(self, ids: Sequence[str]) -> dict[str, int]:
        """Sequence numbers of stored ids."""
        found: dict[str, int] = {}
        with _errors(self.location, self._timeout):
            for at in range(0, len(ids), _CHUNK):
                chunk = list(ids[at : at + _CHUNK])
                marks = ", ".join("?" * len(chunk))
                found.update(self._conn.execute(f"SELECT id, seq FROM docs WHERE id IN ({marks})", chunk).fetchall())
        return found

    @contextlib.contextmanager
    def read(self) -> Iterator[SQLiteStore]:
        """One read transaction: the reads inside it see one state of the file."""
        with self._lock, _errors(self.location, self._timeout):
            self._conn.execute("BEGIN")
            try:
                yield self
            finally:
                self._conn.execute("COMMIT")

    # -----------------------------------------------------------------------------------------------------
    # Writes

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        # One write transaction: committed when the block ends, rolled back when it raises.
        with self._lock, _errors(self.location, self._timeout):
            self._conn.execute("BEGIN IMMEDIATE")  # waits up to `timeout` for another writer
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def write(self, plan: Plan[T], *, atomic: bool = True) -> T:
        """Run `plan` and commit its documents in one write transaction (always atomic here)."""
        with self._writing():
            result, docs = plan(self)
            self._insert(docs)
        return result

    def _insert(self, docs: Sequence[NewDoc]) -> None:
        fields = list(DTYPES)
        rows = []
        for doc in docs:
            blobs = doc.blobs()
            rows.append((doc.id, doc.url, doc.words, *(blobs[f] for f in fields)))
        self._conn.executemany(
            f"INSERT INTO docs (id, url, words, {', '.join(fields)}) VALUES (?, ?, ?, {', '.join('?' * len(fields))}) "
            "ON CONFLICT (id) DO NOTHING",
            rows,
        )

    def remove(self, doc_id: str) -> bool:
        """Remove one document, logging what other processes need to forget it."""
        with self._writing():
            row = self._conn.execute(f"SELECT seq, {_STATE} FROM docs WHERE id = ?", (doc_id,)).fetchone()
            if row is not None:
                self._conn.execute(f"INSERT INTO removed (seq, {_STATE}) VALUES (?, ?, ?, ?, ?)", row)
                self._conn.execute("DELETE FROM docs WHERE seq = ?", (row[0],))
        return row is not None

    def compact(self, covered: Cursor | None = None) -> int:
        """Drop every logged removal but the last, which marks where the log now starts (the rows' space is
        reused by later documents; the file does not shrink); with `covered` (a segment's cursor), only those
        before the last it covers, so that the log past the segment stays whole."""
        with self._writing():
            if covered is None:
                last = self._conn.execute("SELECT coalesce(max(rseq), 0) FROM removed").fetchone()[0]
            else:
                last = covered[1]
            dropped = self._conn.execute("DELETE FROM removed WHERE rseq < ?", (last,)).rowcount
        return int(dropped)

    def segment(self) -> dict[str, Any] | None:
        """The segment the index records (`dedup.index.segments`), or None."""
        with _errors(self.location, self._timeout):
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'segment'").fetchone()
        if row is None:
            return None
        try:
            record = orjson.loads(row[0])
        except orjson.JSONDecodeError:
            record = None
        if not isinstance(record, dict) or not isinstance(record.get("generation"), int):
            # Derived data only: the log gives the state, and the next compaction records a new segment.
            return None
        return record

    def record_segment(self, make: Callable[[dict[str, Any] | None], dict[str, Any] | None]) -> dict[str, Any] | None:
        """In one write transaction: `make(current record)` gives the new record (after putting its segment in
        place), or None to keep the current one; returns what is recorded then."""
        with self._writing():
            current = self.segment()
            record = make(current)
            if record is None:
                return current
            self._conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('segment', ?)",
                (orjson.dumps(record, option=orjson.OPT_SORT_KEYS),),
            )
        return record

    # -----------------------------------------------------------------------------------------------------
    # About the file

    def count(self) -> int:
        """Documents stored."""
        with self._lock, _errors(self.location, self._timeout):
            return int(self._conn.execute("SELECT count(*) FROM docs").fetchone()[0])

    def usage(self) -> dict[str, int]:
        """Bytes on disk: the file and its write-ahead log."""
        sizes = {}
        for name, suffix in (("file_bytes", ""), ("wal_bytes", "-wal")):
            with contextlib.suppress(OSError):
                sizes[name] = os.path.getsize(self.location + suffix)
        return sizes

    def log_entries(self) -> int:
        """Removals logged (`compact` keeps the last)."""
        with self._lock, _errors(self.location, self._timeout):
            return int(self._conn.execute("SELECT count(*) FROM removed").fetchone()[0])

    def verify(self) -> list[str]:
        """SQLite's full integrity check, the header and the schema."""
        problems: list[str] = []
        with self._lock, _errors(self.location, self._timeout):
            for (line,) in self._conn.execute("PRAGMA integrity_check").fetchall():
                if line != "ok":
                    problems.append(f"SQLite integrity check: {line}")
            if self._conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
                problems.append("the file's application id is not a dedup index's")
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA:
                problems.append(f"the file's schema version is {version}, expected {SCHEMA}")
        return problems

    def close(self) -> None:
        """Close the connection (the last one to close folds the write-ahead log into the file)."""
        with self._lock:
            self._conn.close()


def _create(file: Path, meta: dict[str, Any]) -> None:
    # Built aside and linked into place, so no one ever sees a half-made index, and a file that appeared
    # meanwhile (another process making the same index) is never overwritten.
    partial = file.with_name(f".{file.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial")
    try:
        with _errors(str(file), 5.0):
            conn = sqlite3.connect(partial, isolation_level=None)
            try:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.executescript(_TABLES)
                conn.execute("INSERT INTO meta (key, value) VALUES ('index', ?)", (dump_meta(meta),))
            finally:
                conn.close()
        try:
            os.link(partial, file)
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links
            if not file.exists():
                os.replace(partial, file)
    except OSError as err:
        raise IndexStoreError(f"cannot create the index {file}: {err.strerror or err}") from err
    finally:
        for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
            with contextlib.suppress(OSError):
                leftover.unlink()


def _check_header(file: Path) -> None:
    try:
        with file.open("rb") as handle:
            header = handle.read(100)
    except OSError as err:
        raise IndexStoreError(f"cannot read the index {file}: {err.strerror or err}") from err
    if len(header) < 100 or not header.startswith(_HEADER):
        what = "an empty file" if not header else "not an SQLite database"
        raise IndexStoreError(f"{file} is not a dedup index ({what}) -- give another path; it was left as it is")
    if int.from_bytes(header[68:72], "big") != APPLICATION_ID:
        raise IndexStoreError(
            f"{file} is an SQLite database but not a dedup index -- give another path; it was left as it is"
        )


@contextlib.contextmanager
def _errors(location: str, timeout: float) -> Iterator[None]:
    """SQLite's errors as `IndexStoreError`s that say what happened and what to do."""
    try:
        yield
    except sqlite3.OperationalError as err:
        text = str(err)
        if "locked" in text or "busy" in text:
            raise IndexStoreError(
                f"{location} stayed locked by another writer for more than {timeout:g} s -- "
                "open it with a longer timeout, or look for a process stuck in a write"
            ) from err
        raise IndexStoreError(f"{location}: {text}") from err
    except sqlite3.DatabaseError as err:
        raise IndexStoreError(
            f"{location} is damaged ({err}) -- `dedup index verify` reports what is wrong; restore it from a copy "
            "or build it again"
        ) from err

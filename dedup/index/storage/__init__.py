"""Where a crawler index keeps its documents: one small interface, two backends.

A store is an append-only log of documents (and of removals) with a few reads on it. The index asks it for
the log entries past a cursor (to bring its memory up to date), for stored documents by sequence number (to
measure candidates), for the sequence numbers of ids (idempotent adds), and to commit new documents atomically
after a plan has looked at the store -- under the store's write lock (SQLite) or retried until no one else
wrote in between (Redis) -- so that two crawlers adding copies at once always learn of each other.

- `dedup.index.storage.sqlite`: a file, shared by the processes of one machine (WAL, short transactions).
- `dedup.index.storage.redis`: a Redis server, shared by crawlers on many machines (`pip install "dedup[redis]"`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

from dedup.index.storage.records import Changes, Cursor, NewDoc, StoredRows, TermChanges

__all__ = ["Plan", "Reader", "Store", "is_url", "open_store"]

T = TypeVar("T")


class Reader(Protocol):
    """Reads on a store, consistent with each other inside one `Store.read` or `Store.write`."""

    def changes(self, cursor: Cursor | None) -> Changes:
        """Log entries past `cursor` (all live documents when None)."""
        ...

    def term_changes(self, cursor: Cursor | None) -> TermChanges:
        """The same entries as `changes`, with only the term columns of each document (what document
        frequencies need), read and decoded without the rest."""
        ...

    def fetch(self, seqs: Sequence[int], fields: Sequence[str]) -> StoredRows:
        """The stored documents of these sequence numbers, with these array fields (of `records.DTYPES`), in
        no particular order; those removed meanwhile are left out."""
        ...

    def find(self, ids: Sequence[str]) -> dict[str, int]:
        """Sequence numbers of the ids that are stored."""
        ...

    def segment(self) -> dict[str, Any] | None:
        """The segment the store records (`dedup.index.segments`: generation, cursor, token), or None."""
        ...


Plan = Callable[[Reader], tuple[T, Sequence[NewDoc]]]


class Store(Protocol):
    """A backend: where documents live, how they are committed, and what can be said about them."""

    location: str
    meta: dict[str, Any]

    def read(self) -> AbstractContextManager[Reader]:
        """A consistent view for a few reads."""
        ...

    def write(self, plan: Plan[T], *, atomic: bool = True) -> T:
        """Run `plan` on a view of the store and commit the documents it returns (ids already stored are
        skipped), all at once. With `atomic`, nothing else is committed between the plan's reads and the commit
        (the plan may be run more than once). Returns the plan's result."""
        ...

    def remove(self, doc_id: str) -> bool:
        """Remove a document; False when there is none of that id."""
        ...

    def compact(self, covered: Cursor | None = None) -> int:
        """Drop the log entries every process can do without (a process that had not read them yet builds its
        state again from the live documents, or from a segment covering them: with `covered`, a segment's cursor,
        only entries it covers go); returns how many were dropped."""
        ...

    def record_segment(self, make: Callable[[dict[str, Any] | None], dict[str, Any] | None]) -> dict[str, Any] | None:
        """Record a new segment, once `make(current record)` has put it in place, in one write transaction (None
        from `make`: keep the current one); returns the record kept. A store that keeps no segments refuses."""
        ...

    def count(self) -> int:
        """Documents stored."""
        ...

    def usage(self) -> dict[str, int]:
        """Bytes used, by what."""
        ...

    def log_entries(self) -> int:
        """Entries in the log (what `compact` shortens)."""
        ...

    def verify(self) -> list[str]:
        """Problems found by a full integrity check (none: the store is sound)."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


def is_url(location: str | os.PathLike[str]) -> bool:
    """Whether `location` names a Redis server rather than a file."""
    return isinstance(location, str) and location.startswith(("redis://", "rediss://", "unix://"))


def open_store(location: str | os.PathLike[str], *, create: dict[str, Any] | None, timeout: float) -> Store:
    """The store at `location` (a path, or a `redis://` URL), made with metadata `create` when missing.

    Raises `IndexStoreError` when it is missing and `create` is None, is not a dedup index, is damaged or
    cannot be reached.
    """
    if is_url(location):
        from dedup.index.storage.redis import RedisStore

        return RedisStore.open(str(location), create=create, timeout=timeout)
    from dedup.index.storage.sqlite import SQLiteStore

    return SQLiteStore.open(os.fspath(location), create=create, timeout=timeout)

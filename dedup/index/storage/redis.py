"""An index on a Redis server, shared by crawlers on many machines (`pip install "dedup[redis]"`).

The keys of one index share a hash tag, `{prefix}` (default `{dedup}`; `?prefix=name` in the URL picks
another), so a Redis Cluster keeps them on one node and scripts and transactions can span them:

- `{p}:meta`: the index metadata (JSON); `{p}:seq`: the last sequence number given out;
- `{p}:ids`: a hash from document id to sequence number;
- `{p}:doc:<seq>`: a hash per document (id, url, words, and its arrays as little-endian bytes);
- `{p}:log`: a stream of commits, `a` (the sequence numbers added) or `r` (one removal, with what other
  processes need to forget the document); `{p}:compacted`: the last entry `compact` dropped from it.

Documents are committed by a Lua script, so a batch is stored whole or not at all and an id is never stored
twice. `check_and_add` is optimistic: it WATCHes the log, reads, decides, and commits in MULTI/EXEC; when
another process committed in between, it reads again and decides again.
"""

from __future__ import annotations

import contextlib
import random
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from dedup.errors import IndexStoreError
from dedup.index.storage import Plan
from dedup.index.storage.records import (
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

__all__ = ["RedisStore"]

T = TypeVar("T")

_CHUNK = 1000  # documents per pipeline
_ATTEMPTS = 200  # tries of an atomic write before giving up (each waits a little longer)

_ADD = """
local added = {}
for i = 2, #ARGV, 10 do
  local id = ARGV[i]
  if redis.call('HEXISTS', KEYS[1], id) == 0 then
    local seq = redis.call('INCR', KEYS[2])
    redis.call('HSET', KEYS[1], id, seq)
    redis.call('HSET', ARGV[1] .. seq, 'id', id, 'url', ARGV[i + 1], 'words', ARGV[i + 2], 'bands', ARGV[i + 3],
               'terms', ARGV[i + 4], 'counts', ARGV[i + 5], 'shingles', ARGV[i + 6], 'segments', ARGV[i + 7],
               'sketch', ARGV[i + 8], 'anchors', ARGV[i + 9])
    added[#added + 1] = seq
  end
end
if #added > 0 then
  redis.call('XADD', KEYS[3], '*', 'op', 'a', 'seqs', table.concat(added, ','))
end
return #added
"""

_REMOVE = """
local seq = redis.call('HGET', KEYS[1], ARGV[2])
if not seq then return 0 end
local key = ARGV[1] .. seq
local f = redis.call('HMGET', key, 'bands', 'terms', 'segments', 'anchors')
redis.call('DEL', key)
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], '*', 'op', 'r', 'seq', seq,
           'bands', f[1] or '', 'terms', f[2] or '', 'segments', f[3] or '', 'anchors', f[4] or '')
return 1
"""

# Every log entry but the last (which keeps the log's end) goes; the last one gone is noted first, in the same
# script, so no reader ever sees entries missing without knowing.
_COMPACT = """
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last == 0 then return 0 end
local before = redis.call('XREVRANGE', KEYS[1], '(' .. last[1][1], '-', 'COUNT', 1)
if #before == 0 then return 0 end
redis.call('SET', KEYS[2], before[1][1])
return redis.call('XTRIM', KEYS[1], 'MINID', last[1][1])
"""

# Fields ARGV[3 .. 2 + ARGV[2]] of the documents of the sequence numbers after them, a row each (nils where there
# is no such document).
_READ = """
local n = tonumber(ARGV[2])
local fields = {}
for i = 1, n do fields[i] = ARGV[2 + i] end
local rows = {}
for i = 3 + n, #ARGV do
  rows[#rows + 1] = redis.call('HMGET', ARGV[1] .. ARGV[i], unpack(fields))
end
return rows
"""

# What a removal logs; an added document's state also has its sketch.
_STATE = (b"bands", b"terms", b"segments", b"anchors")


def _redis() -> Any:
    try:
        import redis
    except ImportError as err:
        raise IndexStoreError('a Redis index needs the redis client: pip install "dedup[redis]"') from err
    return redis


def _split(url: str) -> tuple[str, str, str]:
    """(URL for the client, URL to show with any password hidden, key prefix)."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((v for k, v in query if k == "prefix"), "dedup") or "dedup"
    if any(c in prefix for c in "{}"):
        raise IndexStoreError(f"prefix={prefix!r} in {url}: a prefix cannot contain braces")
    rest = urllib.parse.urlencode([(k, v) for k, v in query if k != "prefix"])
    client_url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, rest, parts.fragment))
    shown_netloc = parts.netloc
    if parts.password is not None:
        shown_netloc = shown_netloc.replace(f":{parts.password}@", ":***@")
    shown = urllib.parse.urlunsplit((parts.scheme, shown_netloc, parts.path, parts.query, ""))
    return client_url, shown, prefix


class RedisStore:
    """A dedup index on a Redis server (see the module's docstring). Use it through `dedup.Index`."""

    def __init__(self, client: Any, location: str, prefix: str, meta: dict[str, Any], timeout: float) -> None:
        self.location = location
        self.meta = meta
        self._client = client
        self._timeout = timeout
        tag = f"{{{prefix}}}"
        self._meta_key = f"{tag}:meta"
        self._ids = f"{tag}:ids"
        self._seq = f"{tag}:seq"
        self._log = f"{tag}:log"
        self._compacted = f"{tag}:compacted"  # the last log entry dropped by `compact`
        self._doc = f"{tag}:doc:"
        self._pattern = f"{tag}:*"
        self._add = client.register_script(_ADD)
        self._remove = client.register_script(_REMOVE)
        self._compact = client.register_script(_COMPACT)
        self._read = client.register_script(_READ)

    # -----------------------------------------------------------------------------------------------------
    # Opening

    @classmethod
    def open(cls, url: str, *, create: dict[str, Any] | None, timeout: float) -> RedisStore:
        """The index at `url`, made with metadata `create` when the server has none under its prefix."""
        redis = _redis()
        client_url, shown, prefix = _split(url)
        with _errors(shown):
            try:
                client = redis.Redis.from_url(client_url, socket_timeout=timeout, socket_connect_timeout=timeout)
            except ValueError as err:
                raise IndexStoreError(f"{shown} is not a Redis URL this client reads: {err}") from err
            client.ping()
            meta_key = f"{{{prefix}}}:meta"
            raw = client.get(meta_key)
            if raw is None:
                if next(iter(client.scan_iter(match=f"{{{prefix}}}:*", count=1000)), None) is not None:
                    client.close()
                    raise IndexStoreError(
                        f"{shown} holds keys under {{{prefix}}} but no index metadata: not a dedup index (or a damaged "
                        "one) -- pick another prefix with ?prefix=name; nothing was changed"
                    )
                if create is None:
                    client.close()
                    raise IndexStoreError(f"no index at {shown}")
                client.set(meta_key, dump_meta(create), nx=True)  # another process may have just made it
                raw = client.get(meta_key)
        try:
            meta = parse_meta(raw, shown)
        except IndexStoreError:
            client.close()
            raise
        return cls(client, shown, prefix, meta, timeout)

    # -----------------------------------------------------------------------------------------------------
    # Reads

    def changes(self, cursor: Cursor | None) -> Changes:
        """Log entries past `cursor`; with None, or when entries past it were compacted away, every live
        document (and the log's end as the cursor)."""
        new_cursor, added, removed, reset = self._entries(cursor)
        return Changes(
            new_cursor,
            self._state_rows(added),
            StateRows.decode(
                [r[0] for r in removed],
                [r[1][0] for r in removed],
                None,
                [r[1][1] for r in removed],
                [r[1][2] for r in removed],
                [r[1][3] for r in removed],
                self.location,
            ),
            reset,
        )

    def term_changes(self, cursor: Cursor | None) -> TermChanges:
        """`changes`, reading only each document's term columns."""
        new_cursor, added, removed, reset = self._entries(cursor)
        found = self._fields(added, (b"terms",))
        return TermChanges(
            new_cursor,
            TermRows.decode([s for s, _ in found], [v[0] or b"" for _, v in found], self.location),
            TermRows.decode([r[0] for r in removed], [r[1][1] for r in removed], self.location),
            reset,
        )

    def _entries(self, cursor: Cursor | None) -> tuple[Cursor, list[int], list[tuple[int, tuple[bytes, ...]]], bool]:
        # The cursor after the log past `cursor`, the sequence numbers it adds (every live document's when it
        # starts again), its removals with what they logged (`_STATE`), and whether it starts again.
        with _errors(self.location):
            if cursor is not None:
                # The mark is read after the entries: a compaction in between shows in it (the script trims and
                # marks at once), so no entry ever goes missing unnoticed.
                pipe = self._client.pipeline(transaction=False)
                pipe.xrange(self._log, min=f"({cursor[0]}-{cursor[1]}", max="+")
                pipe.get(self._compacted)
                entries, compacted = pipe.execute()
                if compacted is not None and cursor < _entry_id(compacted):
                    cursor = None
            if cursor is None:
                last = self._client.xrevrange(self._log, count=1)
                new_cursor = _entry_id(last[0][0]) if last else (0, 0)
                seqs = sorted(int(seq) for _, seq in self._client.hscan_iter(self._ids, count=10_000))
                return new_cursor, seqs, [], True
            if not entries:
                return cursor, [], [], False
            added: list[int] = []
            removed: list[tuple[int, tuple[bytes, ...]]] = []
            for _, fields in entries:
                op = fields.get(b"op")
                if op == b"a":
                    added.extend(int(s) for s in fields[b"seqs"].split(b","))
                elif op == b"r":
                    removed.append((int(fields[b"seq"]), tuple(fields.get(f, b"") for f in _STATE)))
                else:
                    raise IndexStoreError(f"{self.location}: the index log holds an entry it cannot read ({op!r})")
            return _entry_id(entries[-1][0]), added, removed, False

    def _fields(self, seqs: list[int], fields: tuple[bytes, ...]) -> list[tuple[int, list[bytes | None]]]:
        # These fields of the documents still there (one removed meanwhile is left out: its removal is in the log),
        # a chunk of documents in one call of a script: every process reads every document added, and a command
        # per document costs the client more than the reading.
        found: list[tuple[int, list[bytes | None]]] = []
        with _errors(self.location):
            for at in range(0, len(seqs), _CHUNK):
                chunk = seqs[at : at + _CHUNK]
                values = self._read(args=[self._doc, len(fields), *fields, *chunk])
                found += [(seq, row) for seq, row in zip(chunk, values, strict=True) if row[0] is not None]
        return found

    def _state_rows(self, seqs: list[int]) -> StateRows:
        found = self._fields(seqs, (*_STATE, b"sketch"))
        return StateRows.decode(
            [s for s, _ in found],
            [v[0] or b"" for _, v in found],
            [v[4] or b"" for _, v in found],
            [v[1] or b"" for _, v in found],
            [v[2] or b"" for _, v in found],
            [v[3] or b"" for _, v in found],
            self.location,
        )

    def fetch(self, seqs: Sequence[int], fields: Sequence[str]) -> StoredRows:
        """Stored documents by sequence number, with these array fields."""
        names = [b"id", b"url", b"words", *(f.encode() for f in fields)]
        rows: list[tuple[int, list[Any]]] = []
        with _errors(self.location):
            for at in range(0, len(seqs), _CHUNK):
                chunk = list(seqs[at : at + _CHUNK])
                pipe = self._client.pipeline(transaction=False)
                for seq in chunk:
                    pipe.hmget(f"{self._doc}{seq}", *names)
                rows += [
                    (seq, values) for seq, values in zip(chunk, pipe.execute(), strict=True) if values[0] is not None
                ]
        blobs = {field: [v[3 + i] or b"" for _, v in rows] for i, field in enumerate(fields)}
        return StoredRows.decode(
            [s for s, _ in rows], [v[0] for _, v in rows], [v[1] for _, v in rows], [v[2] for _, v in rows], blobs,
            self.location,
        )  # fmt: skip

    def find(self, ids: Sequence[str]) -> dict[str, int]:
        """Sequence numbers of stored ids."""
        if not ids:
            return {}
        with _errors(self.location):
            values = self._client.hmget(self._ids, list(ids))
        return {doc_id: int(seq) for doc_id, seq in zip(ids, values, strict=True) if seq is not None}

    def segment(self) -> dict[str, Any] | None:
        """None: on Redis every process folds the log itself (segments are files, shared by one host)."""
        return None

    def record_segment(self, make: Callable[[dict[str, Any] | None], dict[str, Any] | None]) -> dict[str, Any] | None:
        """Refused: Redis keeps no segments."""
        raise IndexStoreError(f"{self.location}: a Redis index keeps no segments")

    @contextlib.contextmanager
    def read(self) -> Iterator[RedisStore]:
        """Reads need no transaction here: a document removed between two reads is simply left out."""
        yield self

    # -----------------------------------------------------------------------------------------------------
    # Writes

    def write(self, plan: Plan[T], *, atomic: bool = True) -> T:
        """Run `plan` and commit its documents; with `atomic`, retried until no one else wrote meanwhile."""
        if not atomic:
            result, docs = plan(self)
            if docs:
                with _errors(self.location):
                    self._add(keys=[self._ids, self._seq, self._log], args=self._arguments(docs))
            return result
        redis = _redis()
        with _errors(self.location):
            for attempt in range(_ATTEMPTS):
                with self._client.pipeline(transaction=True) as pipe:
                    try:
                        pipe.watch(self._log)  # any commit by anyone appends to the log
                        result, docs = plan(self)
                        pipe.multi()
                        if docs:
                            self._add(keys=[self._ids, self._seq, self._log], args=self._arguments(docs), client=pipe)
                        pipe.execute()
                        return result
                    except redis.WatchError:
                        time.sleep(random.uniform(0, min(0.05, 0.0005 * 2**attempt)))
        raise IndexStoreError(
            f"{self.location}: other writers kept committing; gave up adding after {_ATTEMPTS} attempts"
        )

    def _arguments(self, docs: Sequence[NewDoc]) -> list[bytes | str | int]:
        args: list[bytes | str | int] = [self._doc]
        for doc in docs:
            blobs = doc.blobs()
            args += [doc.id, doc.url or "", doc.words, *(blobs[f] for f in ("bands", "terms", "counts"))]
            args += [blobs["shingles"], blobs["segments"], blobs["sketch"], blobs["anchors"]]
        return args

    def remove(self, doc_id: str) -> bool:
        """Remove one document, logging what other processes need to forget it."""
        with _errors(self.location):
            return bool(self._remove(keys=[self._ids, self._log], args=[self._doc, doc_id]))

    def compact(self, covered: Cursor | None = None) -> int:
        """Drop every log entry but the last (`covered` is for stores that keep segments; Redis keeps none)."""
        del covered
        with _errors(self.location):
            return int(self._compact(keys=[self._log, self._compacted]))

    # -----------------------------------------------------------------------------------------------------
    # About the index

    def count(self) -> int:
        """Documents stored."""
        with _errors(self.location):
            return int(self._client.hlen(self._ids))

    def usage(self) -> dict[str, int]:
        """Memory of the whole Redis server (it may hold other data too)."""
        with _errors(self.location):
            info = self._client.info("memory")
        return {"server_used_memory_bytes": int(info.get("used_memory", 0))}

    def log_entries(self) -> int:
        """Entries of the log: every commit, until `compact` keeps only the last."""
        with _errors(self.location):
            return int(self._client.xlen(self._log))

    def verify(self) -> list[str]:
        """Every id points at a document that reads back with that id; no document is left without an id; the
        log reads."""
        problems: list[str] = []
        with _errors(self.location):
            parse_meta(self._client.get(self._meta_key), self.location)
            ids = {k.decode(errors="replace"): int(v) for k, v in self._client.hscan_iter(self._ids, count=10_000)}
            by_seq = {seq: doc_id for doc_id, seq in ids.items()}
            seqs = sorted(by_seq)
            for at in range(0, len(seqs), _CHUNK):
                chunk = seqs[at : at + _CHUNK]
                pipe = self._client.pipeline(transaction=False)
                for seq in chunk:
                    pipe.hget(f"{self._doc}{seq}", "id")
                for seq, stored_id in zip(chunk, pipe.execute(), strict=True):
                    if stored_id is None:
                        problems.append(f"document {by_seq[seq]!r} has an id but no stored document")
                    elif stored_id.decode(errors="replace") != by_seq[seq]:
                        problems.append(f"document {seq} is stored as {stored_id!r} but indexed as {by_seq[seq]!r}")
            docs = sum(1 for _ in self._client.scan_iter(match=f"{self._doc}*", count=10_000))
            if docs != len(ids):
                problems.append(f"{docs} stored documents but {len(ids)} ids: some documents have no id")
            for entry_id, fields in self._client.xrange(self._log):
                if fields.get(b"op") not in (b"a", b"r"):
                    problems.append(f"log entry {entry_id!r} cannot be read")
        return problems

    def close(self) -> None:
        """Close the connections."""
        with contextlib.suppress(Exception):
            self._client.close()


def _entry_id(raw: bytes | str) -> Cursor:
    text = raw.decode() if isinstance(raw, bytes) else raw
    ms, _, n = text.partition("-")
    return int(ms), int(n)


@contextlib.contextmanager
def _errors(location: str) -> Iterator[None]:
    """The client's errors as `IndexStoreError`s that say what happened."""
    try:
        yield
    except IndexStoreError:
        raise
    except Exception as err:
        redis = _redis()
        if isinstance(err, redis.ConnectionError | redis.TimeoutError):
            raise IndexStoreError(f"cannot reach Redis at {location}: {err}") from err
        if isinstance(err, redis.RedisError):
            raise IndexStoreError(f"{location}: Redis said: {err}") from err
        raise

"""What each process keeps in memory of a crawler index, folded from the store's change log.

The store is the one source of truth: an append-only log of added documents (and of removals). Every process
folds that log into a few structures and brings them up to date with the entries it has not seen yet before
each call, so that a check reads from the store only the candidates it measures:

- document frequencies: one count per hashed term column (TF-IDF weights, the rewrite path);
- band tables, one per Jaccard candidate path: per band, every document's 32-bit band hash and slot (below),
  sorted, in the manner of a log-structured merge tree (a small unsorted tail, a recent sorted part, the main part);
- the passage table: a band table of one row holding an entry per (document, passage anchor), so that a document
  with any number of anchors is in the bucket of each, and each document's number of anchors (the passage path
  pairs documents sharing enough of them: `dedup.engine.passages.enough`);
- rewrite-path sketches: a byte of each MinHash value per document, to drop weak candidates as a scan does;
- segment counts: how many documents hold each line or sentence key (corpus-level farm signals).

Folding is idempotent: an entry applied twice, or a removal of a document never seen, changes nothing.

A process that only adds needs of all this the document frequencies (and the number of live documents): they
weigh the rewrite-path bands each new document is stored with. It folds the log into those alone (`Ahead`,
from each document's term columns, not decoding the rest), and leaves the rest of the fold for its next check,
which folds the log from where the whole state stopped, as if the frequencies alone had never been folded.

A state may start from a segment (`Base`, written by `dedup.index.segments`): the state at a point of the log,
memory-mapped and shared by every process of the host, over which each process folds only the log past that
point into its own, small part. Nothing is ever written into the segment.

Memory follows the live documents, not the log: each document folded in gets the next dense slot, and the
per-document arrays and band tables are indexed by slot, not by sequence number. Once removed documents hold
more slots than live ones, the live ones are numbered again from 0 in the same order (the tables stay sorted,
and the first member of a bucket is still the one added first), so removals give their memory back (over a
segment, removed documents stay in it until the next segment leaves them out).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from dedup.engine.passages import enough
from dedup.engine.tfidf import N_FEATURES
from dedup.errors import IndexStoreError
from dedup.index.storage.records import Cursor, StateRows, TermChanges, TermRows
from dedup.jit import Int, first_at_least, kernel
from dedup.text.ragged import Ragged

__all__ = ["BASE_ARRAYS", "Ahead", "BandTable", "Base", "IndexState", "SegmentCounts"]

# Documents in a band table's unsorted tail before a lookup sorts it into the recent part: small enough that a
# check scans the whole tail (bands x TAIL hashes) without slowing down.
TAIL = 2048
_MAX_SLOT = 2**32 - 1  # band tables keep slots in 32 bits
# Slots the per-document arrays keep at the least, and removed documents' slots tolerated before renumbering
# (below it, renumbering would cost more than the room it gives back).
_ROOM = 1024
# Documents per step when a segment is written (bounds the memory that takes).
_CHUNK = 65536
# Where a state writes its arrays when it is exported: `out(name, dtype, shape)` gives an array to fill.
_Sink = Callable[[str, np.dtype[Any], tuple[int, ...]], npt.NDArray[Any]]


# ---------------------------------------------------------------------------------------------------------
# Band tables


_SEQ = np.uint64(0xFFFFFFFF)  # a table entry is (band hash << 32) | slot
_SAME_SLOTS = np.zeros(0, dtype=np.int64)  # a merge that keeps every slot's number


@kernel
def _bucket(row: npt.NDArray[np.uint64], q: np.uint32) -> tuple[int, int]:
    # The range of a sorted row holding band hash q. Band hashes are well mixed, so q's bucket starts near
    # q / 2**32 of the way along the row: the search gallops out from there, a few probes close together, where a
    # bisection of the whole row would touch a score of pages of a large segment. Same result as a bisection.
    n = row.shape[0]
    if n == 0:
        return 0, 0
    low = np.uint64(q) << np.uint64(32)
    guess = np.int64((np.uint64(q) * np.uint64(n)) >> np.uint64(32))
    start = _gallop(row, low, guess)
    if q == np.uint32(0xFFFFFFFF):
        return start, n
    return start, _gallop(row, (np.uint64(q) + np.uint64(1)) << np.uint64(32), start)


@kernel
def _gallop(row: npt.NDArray[np.uint64], key: np.uint64, near: Int) -> int:
    # Where `key` goes in the sorted `row`, before any equal entries (`first_at_least`), searching outwards from
    # `near`.
    n = row.shape[0]
    lo = np.int64(0)
    hi = np.int64(n)
    step = np.int64(1)
    if near < n and row[near] < key:
        lo = np.int64(near + 1)
        while lo + step < n and row[lo + step - 1] < key:
            lo += step
            step *= 2
        hi = min(lo + step, n)
    else:
        hi = min(np.int64(near), np.int64(n))
        while hi - step > 0 and row[hi - step] >= key:
            hi -= step
            step *= 2
        lo = max(hi - step, np.int64(0))
    return int(lo) + first_at_least(row[lo:hi], key)


@kernel
def _lookup(
    levels: tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.uint64]],
    tail: npt.NDArray[np.uint64],
    tail_n: int,
    alive: npt.NDArray[np.bool_],
    query: npt.NDArray[np.uint32],
    rows: npt.NDArray[np.int64],
    max_bucket: int,
    exclude: int,
    out: npt.NDArray[np.int64],
) -> int:
    # Per query hash (looked up in row rows[i] of the table): the live members of its bucket, in the sorted
    # parts (`levels`: the segment's, this process's own, the recent one) and the tail. As in a scan, a bucket
    # that would hold more than max_bucket documents (the query included) gives only its first member, the one
    # added first (of lowest number). Counting stops at max_bucket members, so a hot bucket costs no more than a
    # full one: in a sorted part a bucket's entries are in the order of their numbers, so its first live entry
    # is that part's first member. A slot past `alive` (only a damaged segment holds one) counts as removed.
    count = 0
    slots = alive.shape[0]
    ranges = np.empty((len(levels), 2), dtype=np.int64)
    for i_query in range(query.shape[0]):
        band = rows[i_query]
        q = query[i_query]
        members = 0
        first = np.int64(-1)
        for k, level in enumerate(levels):
            lo, hi = _bucket(level[band], q)
            ranges[k, 0] = lo
            ranges[k, 1] = hi
            for i in range(lo, hi):
                s = np.int64(level[band, i] & _SEQ)
                if s < slots and alive[s] and s != exclude:
                    members += 1
                    if first < 0 or s < first:
                        first = s
                    if members >= max_bucket:
                        break
        for t in range(tail_n):
            if tail[band, t] >> np.uint64(32) == q:
                s = np.int64(tail[band, t] & _SEQ)
                if alive[s] and s != exclude:
                    members += 1
                    if first < 0 or s < first:
                        first = s
        if members == 0:
            continue
        if members + 1 > max_bucket:
            out[count] = first
            count += 1
            continue
        for k, level in enumerate(levels):
            for i in range(ranges[k, 0], ranges[k, 1]):
                s = np.int64(level[band, i] & _SEQ)
                if s < slots and alive[s] and s != exclude:
                    out[count] = s
                    count += 1
        for t in range(tail_n):
            if tail[band, t] >> np.uint64(32) == q:
                s = np.int64(tail[band, t] & _SEQ)
                if alive[s] and s != exclude:
                    out[count] = s
                    count += 1
    return count


@kernel
def _merge_renumbered(
    keys: npt.NDArray[np.uint64],
    more: npt.NDArray[np.uint64],
    alive: npt.NDArray[np.bool_],
    new: npt.NDArray[np.int64],
    out: npt.NDArray[np.uint64],
) -> None:
    # Each band: two sorted tables merged in one pass, removed documents dropped (and a slot past `alive`, which
    # only a damaged segment holds), each entry's slot replaced by `new[slot]` (an increasing map, so the rows
    # stay sorted) unless `new` is empty.
    n, m = keys.shape[1], more.shape[1]
    slots = alive.shape[0]
    for band in range(keys.shape[0]):
        i = 0
        t = 0
        w = 0
        while i < n or t < m:
            if t >= m or (i < n and keys[band, i] <= more[band, t]):
                key = keys[band, i]
                i += 1
            else:
                key = more[band, t]
                t += 1
            s = np.int64(key & _SEQ)
            if s < slots and alive[s] and w < out.shape[1]:
                out[band, w] = (key & ~_SEQ) | np.uint64(new[s]) if new.shape[0] else key
                w += 1


@kernel
def _live_entries(row: npt.NDArray[np.uint64], alive: npt.NDArray[np.bool_]) -> int:
    # Entries of a sorted row whose slot is live.
    count = 0
    for key in row:
        s = np.int64(key & _SEQ)
        if s < alive.shape[0] and alive[s]:
            count += 1
    return count


class BandTable:
    """One candidate path's buckets: for each band, every live document's band hash and number (a slot), packed
    in one uint64 per document, sorted, so that a bucket is a range of a row, in the order of addition.

    A table of one row is a plain bucket table: a document may have any number of entries in it (one per
    passage anchor), and a query any number of keys. Sizes (`len`, the tail, removals) count entries.

    As in a log-structured merge tree, documents come in through an unsorted tail; a lookup first sorts a tail
    longer than `TAIL` into a `recent` sorted part (a pass over that part), and `recent` is merged into the main
    table only once it is an eighth of it (a pass over the table). A bulk load pays for one merge when the next
    lookup comes, and a crawler adding one document at a time rarely waits for a pass over the whole table.
    Below all three lies `base`, a segment's sorted table (`dedup.index.segments`, memory-mapped and shared by
    the processes of a host): looked up, never written; removed documents stay in it, dead, until the next
    segment.
    """

    def __init__(self, width: int, base: npt.NDArray[np.uint64] | None = None) -> None:
        self.width = width
        self.base = np.zeros((width, 0), dtype=np.uint64) if base is None else base
        self.keys = np.zeros((width, 0), dtype=np.uint64)
        self.recent = np.zeros((width, 0), dtype=np.uint64)
        self.tail = np.zeros((width, 64), dtype=np.uint64)
        self.tail_n = 0
        self.dead = 0  # removed documents still in the sorted parts

    def __len__(self) -> int:
        return int(self.base.shape[1] + self.keys.shape[1] + self.recent.shape[1]) + self.tail_n

    def nbytes(self) -> int:
        """Memory held by the table's own arrays (not the segment's)."""
        return int(self.keys.nbytes + self.recent.nbytes + self.tail.nbytes)

    def add(self, seqs: npt.NDArray[np.int64], rows: npt.NDArray[np.uint32]) -> None:
        """Entries `seqs` with band hashes `rows` (one row of `width` each), into the tail: one per document, or,
        in a table of one row, any number of entries (one per key) with the same document number."""
        n = seqs.shape[0]
        if n == 0:
            return
        if self.tail_n + n > self.tail.shape[1]:
            grown = np.zeros((self.width, max(2 * self.tail.shape[1], self.tail_n + n)), dtype=np.uint64)
            grown[:, : self.tail_n] = self.tail[:, : self.tail_n]
            self.tail = grown
        packed = (rows.T.astype(np.uint64) << np.uint64(32)) | seqs.astype(np.uint64)
        self.tail[:, self.tail_n : self.tail_n + n] = packed
        self.tail_n += n

    def removed(self, count: int, alive: npt.NDArray[np.bool_]) -> None:
        """`count` of the table's entries were removed (their documents marked dead in `alive`): drop them once
        they are an eighth of it (those of the segment stay, dead, until the next one)."""
        self.dead += count
        if self.dead * 8 > max(self.keys.shape[1], TAIL):
            self.merge(alive, everything=True)

    def merge(self, alive: npt.NDArray[np.bool_], *, everything: bool = False) -> None:
        """Sort the tail into the recent part, and that into the table when it has grown (or `everything`)."""
        tail = np.sort(self.tail[:, : self.tail_n], axis=1)
        self.recent = _merged(self.recent, tail, alive)
        self.tail_n = 0
        if self.tail.shape[1] > 4 * TAIL:  # after a bulk load: give the room back
            self.tail = np.zeros((self.width, TAIL), dtype=np.uint64)
        if everything or self.recent.shape[1] * 8 > max(self.keys.shape[1], 8 * TAIL):
            self.keys = _merged(self.keys, self.recent, alive)
            self.recent = np.zeros((self.width, 0), dtype=np.uint64)
            self.dead = 0

    def lookup(
        self, query: npt.NDArray[np.uint32], alive: npt.NDArray[np.bool_], max_bucket: int, exclude: int
    ) -> npt.NDArray[np.int64]:
        """Numbers of the documents sharing a bucket with `query` (with repeats): its band hashes, one per band, or,
        in a table of one row, any number of keys."""
        if self.width == 1:
            rows = np.zeros(query.shape[0], dtype=np.int64)
        elif query.shape[0] == self.width:
            rows = np.arange(self.width, dtype=np.int64)
        else:
            raise ValueError(f"a query of {query.shape[0]} band hashes for a table of {self.width} bands")
        if self.tail_n > TAIL:
            self.merge(alive)
        out = np.empty(query.shape[0] * max(max_bucket, 1), dtype=np.int64)
        levels = (self.base, self.keys, self.recent)
        count = _lookup(levels, self.tail, self.tail_n, alive, query, rows, max_bucket, exclude, out)
        return out[:count]

    def above(self, alive: npt.NDArray[np.bool_], size: int) -> list[tuple[int, int, int]]:
        """Every bucket of more than `size` live entries: `(band, entries, first slot)` each, the first slot being
        that of the entry added first."""
        self.merge(alive, everything=True)
        found: list[tuple[int, int, int]] = []
        for band in range(self.width):
            row = self.keys[band]
            if self.base.shape[1]:  # one band at a time: the segment's and this process's entries, live ones
                row = _merged(self.base[band : band + 1], self.keys[band : band + 1], alive)[0]
            if row.shape[0] <= size:
                continue
            hashes = row >> np.uint64(32)
            starts = np.flatnonzero(np.concatenate(([True], hashes[1:] != hashes[:-1])))
            sizes = np.diff(np.append(starts, row.shape[0]))
            for at in np.flatnonzero(sizes > size).tolist():
                found.append((band, int(sizes[at]), int(row[starts[at]] & _SEQ)))
        return found

    def renumber(self, alive: npt.NDArray[np.bool_], new: npt.NDArray[np.int64]) -> None:
        """Drop removed documents and number the others `new[old]` (an increasing map: the table stays sorted).
        Only for a table without a segment (a segment's numbers change only with the next segment)."""
        self.merge(alive, everything=True)
        high = self.keys & ~_SEQ
        self.keys = high | new[(self.keys & _SEQ).astype(np.int64)].astype(np.uint64)

    def export(self, alive: npt.NDArray[np.bool_], new: npt.NDArray[np.int64], out: _Sink, name: str) -> None:
        """Write the live entries, each document numbered `new[old]`, as one sorted table into `out(name, ...)`."""
        self.merge(alive, everything=True)
        live = (_live_entries(self.base[0], alive) if self.base.shape[1] else 0) + self.keys.shape[1]
        _merge_renumbered(self.base, self.keys, alive, new, out(name, np.dtype("<u8"), (self.width, live)))


def _merged(
    keys: npt.NDArray[np.uint64], more: npt.NDArray[np.uint64], alive: npt.NDArray[np.bool_]
) -> npt.NDArray[np.uint64]:
    # Two sorted tables (the same documents in every band) as one, removed documents dropped.
    live = sum(_live_entries(part[0], alive) for part in (keys, more) if part.shape[0] and part.shape[1])
    out = np.empty((keys.shape[0], live), dtype=np.uint64)
    _merge_renumbered(keys, more, alive, _SAME_SLOTS, out)
    return out


# ---------------------------------------------------------------------------------------------------------
# Segment counts


def _merge_counts(
    a_keys: npt.NDArray[np.uint64],
    a_counts: npt.NDArray[np.int64],
    b_keys: npt.NDArray[np.uint64],
    b_counts: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    # Union of two sorted, distinct key lists with their counts summed; keys whose count falls to 0 dropped.
    keys = np.empty(a_keys.shape[0] + b_keys.shape[0], dtype=np.uint64)
    counts = np.empty(keys.shape[0], dtype=np.int64)
    w = _merge_counts_into(a_keys, a_counts, b_keys, b_counts, keys, counts)
    return keys[:w].copy(), counts[:w].copy()


@kernel
def _merge_counts_into(
    a_keys: npt.NDArray[np.uint64],
    a_counts: npt.NDArray[np.int64],
    b_keys: npt.NDArray[np.uint64],
    b_counts: npt.NDArray[np.int64],
    out_keys: npt.NDArray[np.uint64],
    out_counts: npt.NDArray[np.int64],
) -> int:
    # Union of two sorted, distinct key lists with their counts summed, keys whose count falls to 0 dropped,
    # into given arrays (of room enough, or of none: then only counted); returns how many.
    i = 0
    j = 0
    w = 0
    write = out_keys.shape[0] > 0
    while i < a_keys.shape[0] or j < b_keys.shape[0]:
        if j >= b_keys.shape[0] or (i < a_keys.shape[0] and a_keys[i] < b_keys[j]):
            k, c = a_keys[i], a_counts[i]
            i += 1
        elif i >= a_keys.shape[0] or b_keys[j] < a_keys[i]:
            k, c = b_keys[j], b_counts[j]
            j += 1
        else:
            k, c = a_keys[i], a_counts[i] + b_counts[j]
            i += 1
            j += 1
        if c != 0:
            if write:
                out_keys[w] = k
                out_counts[w] = c
            w += 1
    return w


class SegmentCounts:
    """How many documents hold each line or sentence key: a sorted table and a small sorted delta, over a
    segment's sorted table (`base_keys`, `base_counts`: memory-mapped, never written)."""

    def __init__(
        self, base_keys: npt.NDArray[np.uint64] | None = None, base_counts: npt.NDArray[np.int64] | None = None
    ) -> None:
        self.base_keys = np.zeros(0, dtype=np.uint64) if base_keys is None else base_keys
        self.base_counts = np.zeros(0, dtype=np.int64) if base_counts is None else base_counts
        self.keys = np.zeros(0, dtype=np.uint64)
        self.counts = np.zeros(0, dtype=np.int64)
        self.delta_keys = np.zeros(0, dtype=np.uint64)
        self.delta_counts = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.base_keys.shape[0] + self.keys.shape[0] + self.delta_keys.shape[0])

    def nbytes(self) -> int:
        """Memory held by the own arrays (not the segment's)."""
        return sum(a.nbytes for a in (self.keys, self.counts, self.delta_keys, self.delta_counts))

    def add(self, keys: npt.NDArray[np.uint64], sign: int) -> None:
        """Count each document's distinct `keys` (all documents' keys together) once more, or once less."""
        if keys.shape[0] == 0:
            return
        unique, counts = np.unique(keys, return_counts=True)
        self.delta_keys, self.delta_counts = _merge_counts(
            self.delta_keys, self.delta_counts, unique, counts.astype(np.int64) * sign
        )
        if self.delta_keys.shape[0] > max(65536, self.keys.shape[0] // 8):
            self.keys, self.counts = _merge_counts(self.keys, self.counts, self.delta_keys, self.delta_counts)
            self.delta_keys = np.zeros(0, dtype=np.uint64)
            self.delta_counts = np.zeros(0, dtype=np.int64)

    def get(self, keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        """The document count of each key (0 when none holds it)."""
        out = np.zeros(keys.shape[0], dtype=np.int64)
        parts = ((self.base_keys, self.base_counts), (self.keys, self.counts), (self.delta_keys, self.delta_counts))
        for table, counts in parts:
            if table.shape[0]:
                at = np.minimum(np.searchsorted(table, keys), table.shape[0] - 1)
                out += np.where(table[at] == keys, counts[at], 0)
        return out

    def export(self, out: _Sink) -> None:
        """Write the counts, as one sorted table, into `out("segment_keys", ...)` and `out("segment_counts", ...)`."""
        # This process's parts merged in its memory (they are small); the segment's merged with them straight into
        # the files, in two passes (counting, then writing), so that no second copy of it is held.
        keys, counts = _merge_counts(self.keys, self.counts, self.delta_keys, self.delta_counts)
        none_keys, none_counts = np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
        n = _merge_counts_into(self.base_keys, self.base_counts, keys, counts, none_keys, none_counts)
        out_keys = out("segment_keys", np.dtype("<u8"), (n,))
        out_counts = out("segment_counts", np.dtype("<i8"), (n,))
        if n:
            _merge_counts_into(self.base_keys, self.base_counts, keys, counts, out_keys, out_counts)


# ---------------------------------------------------------------------------------------------------------
# The state


def _resized(rows: npt.NDArray[Any], size: int) -> npt.NDArray[Any]:
    # The first `size` rows of `rows`, with zero rows after them when it has fewer.
    out = np.zeros((size, *rows.shape[1:]), dtype=rows.dtype)
    kept = min(size, rows.shape[0])
    out[:kept] = rows[:kept]
    return out


@dataclass(frozen=True)
class Base:
    """The state folded up to `cursor`, as a segment keeps it (`dedup.index.segments`: files memory-mapped,
    shared by the processes of a host, never written): every document in it live, numbered 0.. in the order of
    their sequence numbers `seq_of`; the arrays of `IndexState` for those slots, and the sorted tables."""

    generation: int
    cursor: Cursor
    seq_of: npt.NDArray[np.int64]
    sketches: npt.NDArray[np.uint8]
    anchor_counts: npt.NDArray[np.int32]
    df: npt.NDArray[np.int32]
    duplicate: npt.NDArray[np.uint64]
    rewrite: npt.NDArray[np.uint64]
    passages: npt.NDArray[np.uint64]
    segment_keys: npt.NDArray[np.uint64]
    segment_counts: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.seq_of.shape[0])

    def nbytes(self) -> int:
        """Bytes of its arrays (mapped: shared by the processes of a host, in its page cache)."""
        return sum(getattr(self, name).nbytes for name in BASE_ARRAYS)


# A segment's arrays (the fields of `Base` that are arrays), their dtypes and their dimensions.
BASE_ARRAYS: dict[str, tuple[str, int]] = {
    "seq_of": ("<i8", 1),
    "sketches": ("|u1", 2),
    "anchor_counts": ("<i4", 1),
    "df": ("<i4", 1),
    "duplicate": ("<u8", 2),
    "rewrite": ("<u8", 2),
    "passages": ("<u8", 2),
    "segment_keys": ("<u8", 1),
    "segment_counts": ("<i8", 1),
}


def _gather(base: npt.NDArray[Any], own: npt.NDArray[Any], slots: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
    # Rows of a per-document array by slot: the segment's below its size, this process's own past it.
    b = base.shape[0]
    if b == 0:
        return own[slots]
    low = slots < b
    if low.all():
        return base[slots]
    out = np.empty((slots.shape[0], *own.shape[1:]), dtype=own.dtype)
    out[low] = base[slots[low]]
    out[~low] = own[slots[~low] - b]
    return out


class Ahead:
    """The log past a state's cursor, folded into document frequencies only (what adding needs): `df` and
    `documents` are what it adds to the state's own, up to `cursor`. `seqs` are the live documents it counted in
    (sorted) and `gone` the state's documents it counted out, so that a removal counts out only a document
    counted in, as the state's own fold decides by slot.

    The state's own fold never reads it: a check drops it and folds the log from the state's cursor on
    (`IndexState.catch_up`), which gives the state that folding the whole log in one go gives."""

    def __init__(self, cursor: Cursor | None, last: int) -> None:
        self.cursor = cursor
        self.df = np.zeros(N_FEATURES, dtype=np.int32)
        self.documents = 0
        self.added = 0  # documents folded in (live or removed since)
        self.last = last  # the highest sequence number folded in, here or in the state
        self.gone: set[int] = set()
        self._seqs = np.zeros(_ROOM, dtype=np.int64)  # `seqs`, with room to grow into (appended at every fold)
        self._held = 0

    @property
    def seqs(self) -> npt.NDArray[np.int64]:
        """The live documents counted in, by sequence number, increasing."""
        return self._seqs[: self._held]

    def append(self, seqs: npt.NDArray[np.int64]) -> None:
        """Documents counted in, past all those before (increasing)."""
        top = self._held + int(seqs.shape[0])
        if top > self._seqs.shape[0]:
            self._seqs = _resized(self._seqs, max(top, 2 * self._seqs.shape[0]))
        self._seqs[self._held : top] = seqs
        self._held = top

    def holds(self, seqs: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Whether each document is counted in here."""
        held = self.seqs
        if not held.shape[0]:
            return np.zeros(seqs.shape[0], dtype=np.bool_)
        found: npt.NDArray[np.bool_] = held[np.minimum(np.searchsorted(held, seqs), held.shape[0] - 1)] == seqs
        return found

    def drop(self, seqs: npt.NDArray[np.int64]) -> None:
        """Documents counted out (each counted in here)."""
        kept = self.seqs[~np.isin(self.seqs, seqs)]
        self._held = int(kept.shape[0])
        self._seqs[: self._held] = kept

    def nbytes(self) -> int:
        """Memory held by its arrays."""
        return int(self.df.nbytes + self._seqs.nbytes) + 8 * len(self.gone)


class IndexState:
    """Document frequencies, band tables, the passage table and segment counts of the documents seen so far in
    the log. Each document folded in has a slot: its sequence number, `alive`, sketch and number of anchors are
    indexed by slot (sequence numbers increase with slots), and so are the band tables' entries.

    A state may start from a segment (`Base`): its documents take slots 0..len(base)-1, read from the mapped
    arrays, and the documents folded in after it take the next slots, in this process's own arrays (`seq_of`,
    `sketches`, `anchor_counts` hold slots from len(base) on). Nothing is ever written into the segment: the
    process keeps its own copy of the document frequencies (4 MiB) and of `alive` (a byte per document), its own
    parts of the tables, and numbers documents again only without a segment (the next segment does it)."""

    def __init__(self, duplicate_width: int, rewrite_width: int, sketch_width: int, base: Base | None = None) -> None:
        self.base = base
        b = 0 if base is None else len(base)
        self.cursor: tuple[int, int] | None = None if base is None else base.cursor
        self.documents = b  # live documents
        self.slots = b  # slots in use, live or removed
        self.df = np.zeros(N_FEATURES, dtype=np.int32) if base is None else np.array(base.df, dtype=np.int32)
        self.alive = np.zeros(b + _ROOM, dtype=np.bool_)
        self.alive[:b] = True
        self.seq_of = np.zeros(_ROOM, dtype=np.int64)
        self.sketches = np.zeros((_ROOM, sketch_width), dtype=np.uint8)
        self.anchor_counts = np.zeros(_ROOM, dtype=np.int32)
        self.duplicate = BandTable(duplicate_width, None if base is None else base.duplicate)
        self.rewrite = BandTable(rewrite_width, None if base is None else base.rewrite)
        self.passages = BandTable(1, None if base is None else base.passages)
        self.segments = SegmentCounts(*((None, None) if base is None else (base.segment_keys, base.segment_counts)))
        self._base_seq = np.zeros(0, dtype=np.int64) if base is None else base.seq_of
        self._base_sketches = np.zeros((0, sketch_width), dtype=np.uint8) if base is None else base.sketches
        self._base_anchors = np.zeros(0, dtype=np.int32) if base is None else base.anchor_counts
        self.ahead: Ahead | None = None

    @property
    def based(self) -> int:
        """Slots of the segment the state started from (0 without one)."""
        return int(self._base_seq.shape[0])

    @property
    def own_documents(self) -> int:
        """Documents folded in after the segment (live or removed since), into the whole state or only into its
        frequencies (`ahead`): the size of this process's own part once it is all folded."""
        return self.slots - self.based + (0 if self.ahead is None else self.ahead.added)

    @property
    def latest(self) -> Cursor | None:
        """Where in the log the state's frequencies stop: past the whole state's `cursor` when the log past it
        was folded into the frequencies only."""
        return self.cursor if self.ahead is None else self.ahead.cursor

    def nbytes(self) -> int:
        """Memory held by the state's own arrays (not the segment's, which the host's processes share)."""
        tables = sum(t.nbytes() for t in (self.duplicate, self.rewrite, self.passages)) + self.segments.nbytes()
        arrays = (self.df, self.seq_of, self.alive, self.sketches, self.anchor_counts)
        return tables + sum(a.nbytes for a in arrays) + (0 if self.ahead is None else self.ahead.nbytes())

    def frequencies(self, columns: npt.NDArray[np.int32]) -> tuple[npt.NDArray[np.int64], int]:
        """Document frequencies of these term columns, and the number of live documents, as far as the log was
        folded (into the whole state, or only into its frequencies)."""
        df = self.df[columns].astype(np.int64)
        if self.ahead is None:
            return df, self.documents
        return df + self.ahead.df[columns], self.documents + self.ahead.documents

    def fold_frequencies(self, changes: TermChanges) -> None:
        """Fold log entries past `latest` (not a restart from every live document: `reset` is refused) into the
        frequencies only, leaving the rest of the state where it is."""
        if changes.reset:
            raise ValueError("a log read again from its start is folded into the whole state (`add`), not ahead")
        if self.ahead is None:
            last = int(self.seqs(np.array([self.slots - 1], dtype=np.int64))[0]) if self.slots else 0
            self.ahead = Ahead(self.cursor, last)
        ahead = self.ahead
        self._ahead_add(ahead, changes.added)
        self._ahead_remove(ahead, changes.removed)
        ahead.cursor = changes.cursor

    def _ahead_add(self, ahead: Ahead, rows: TermRows) -> None:
        # As `add` picks the documents it folds in: the first entry of each, past the last one folded in.
        new = _first_of_each(rows.seqs) & (rows.seqs > ahead.last)
        if not new.any():
            return
        seqs = np.sort(rows.seqs[new])
        _count(ahead.df, _rows(rows.terms, new), 1)
        ahead.documents += int(seqs.shape[0])
        ahead.added += int(seqs.shape[0])
        ahead.append(seqs)
        ahead.last = int(seqs[-1])

    def _ahead_remove(self, ahead: Ahead, rows: TermRows) -> None:
        # As `remove` picks the documents it folds out: the first entry of each, of a document counted in and not
        # counted out yet (the state's, by slot, or one folded in ahead).
        if not len(rows):
            return
        slot, known = self.slots_of(rows.seqs)
        own = known & self.alive[np.where(known, slot, 0)]
        own &= np.array([seq not in ahead.gone for seq in rows.seqs.tolist()], dtype=np.bool_)
        counted = ahead.holds(rows.seqs)
        gone = _first_of_each(rows.seqs) & (own | counted)
        if not gone.any():
            return
        _count(ahead.df, _rows(rows.terms, gone), -1)
        ahead.documents -= int(gone.sum())
        ahead.gone.update(rows.seqs[gone & own].tolist())
        ahead.drop(rows.seqs[gone & counted])

    def catch_up(self) -> Cursor | None:
        """Drop what was folded into the frequencies only, so that the log is folded into the whole state from its
        `cursor` (returned) on: the state is then the one folding the whole log would give."""
        self.ahead = None
        return self.cursor

    def seqs(self, slots: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The sequence number of each slot."""
        return _gather(self._base_seq, self.seq_of, slots)

    def live(self) -> npt.NDArray[np.int64]:
        """Sequence numbers of the live documents, increasing."""
        b = self.based
        own = self.seq_of[: self.slots - b][self.alive[b : self.slots]]
        return np.concatenate([self._base_seq[self.alive[:b]], own]) if b else own

    def slots_of(self, seqs: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        """The slot of each sequence number, and whether it has one (folded in and not renumbered away since its
        removal); where it has none, the slot given is meaningless."""
        b = self.based
        slot = np.zeros(seqs.shape[0], dtype=np.int64)
        found = np.zeros(seqs.shape[0], dtype=np.bool_)
        for part, offset in ((self._base_seq, 0), (self.seq_of[: self.slots - b], b)):
            if part.shape[0]:
                at = np.minimum(np.searchsorted(part, seqs), part.shape[0] - 1)
                hit = ~found & (part[at] == seqs)
                slot[hit] = at[hit] + offset
                found |= hit
        return slot, found

    def sketches_of(self, seqs: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
        """The rewrite-path sketches of live documents (by sequence number)."""
        return _gather(self._base_sketches, self.sketches, self.slots_of(seqs)[0])

    def _resize(self, size: int) -> None:
        # Room for `size` slots in all.
        self.alive = _resized(self.alive, size)
        self.seq_of, self.sketches, self.anchor_counts = (
            _resized(a, size - self.based) for a in (self.seq_of, self.sketches, self.anchor_counts)
        )

    def add(self, rows: StateRows) -> None:
        """Fold in added documents (those already folded in are skipped)."""
        if not len(rows):
            return
        _, known = self.slots_of(rows.seqs)
        new = ~known & _first_of_each(rows.seqs)
        if self.slots:
            # A store's log gives documents in the order of their sequence numbers: one before the last folded
            # in and without a slot was folded in, removed and renumbered away (its entry applied again).
            new &= rows.seqs > self.seqs(np.array([self.slots - 1], dtype=np.int64))[0]
        if not new.any():
            return
        # Slots follow sequence numbers, so that `slots_of` can search them and the first member of a bucket
        # (the lowest slot) is the document added first.
        order = np.flatnonzero(new)[np.argsort(rows.seqs[new], kind="stable")]
        seqs = rows.seqs[order]
        top = self.slots + int(seqs.shape[0])
        if top > _MAX_SLOT:
            raise IndexStoreError(f"{top} documents folded in, past what the index supports ({_MAX_SLOT})")
        if top > self.alive.shape[0]:
            self._resize(max(top, self.based + 2 * self.seq_of.shape[0]))
        b = self.based
        slot = np.zeros(len(rows), dtype=np.int64)
        slot[order] = np.arange(self.slots, top, dtype=np.int64)
        self.seq_of[self.slots - b : top - b] = seqs
        self.slots = top
        self.alive[slot[new]] = True
        self.anchor_counts[slot[new] - b] = rows.anchors.sizes()[new]  # none for a document with no words
        self.documents += int(seqs.shape[0])
        _count(self.df, _rows(rows.terms, new), 1)
        self.segments.add(_rows(rows.segments, new).astype(np.uint64), 1)
        active = new & rows.active
        if rows.sketches.shape[1] == self.sketches.shape[1]:
            self.sketches[slot[active] - b] = rows.sketches[active]
        width = self.duplicate.width
        self.duplicate.add(slot[active], rows.bands[active, :width])
        self.rewrite.add(slot[active], rows.bands[active, width:])
        # One entry per (document, anchor).
        anchors = _rows(rows.anchors, active).astype(np.uint32, copy=False)
        self.passages.add(np.repeat(slot[active], rows.anchors.sizes()[active]), anchors.reshape(-1, 1))

    def remove(self, rows: StateRows) -> None:
        """Fold in removed documents (those not folded in, or already removed, are skipped)."""
        if not len(rows):
            return
        slot, known = self.slots_of(rows.seqs)
        gone = known & self.alive[slot] & _first_of_each(rows.seqs)
        if not gone.any():
            return
        self.alive[slot[gone]] = False
        self.documents -= int(gone.sum())
        _count(self.df, _rows(rows.terms, gone), -1)
        self.segments.add(_rows(rows.segments, gone).astype(np.uint64), -1)
        active = gone & rows.active
        documents = int(active.sum())
        self.duplicate.removed(documents, self.alive)
        self.rewrite.removed(documents, self.alive)
        self.passages.removed(int(rows.anchors.sizes()[active].sum()), self.alive)
        if not self.based and self.slots - self.documents > max(self.documents, _ROOM):
            self._renumber()

    def _renumber(self) -> None:
        # The live documents in slots 0.. in the same order; removed ones forgotten (a removal logged again
        # for one of them then finds no slot, and is skipped as one never seen).
        alive = self.alive[: self.slots]
        live = np.flatnonzero(alive)
        new = np.cumsum(alive, dtype=np.int64) - 1
        for table in (self.duplicate, self.rewrite, self.passages):
            table.renumber(self.alive, new)
        size = max(_ROOM, live.shape[0] + live.shape[0] // 2)
        self.seq_of, self.sketches, self.anchor_counts = (
            _resized(a[live], size) for a in (self.seq_of, self.sketches, self.anchor_counts)
        )
        self.alive = np.zeros(size, dtype=np.bool_)
        self.alive[: live.shape[0]] = True
        self.slots = int(live.shape[0])

    def export(self, out: _Sink) -> int:
        """Write the state as a segment keeps it (`Base`): removed documents left out, the live ones numbered 0..
        in the same order, each array into `out(name, dtype, shape)` (e.g. a file mapped for writing), a part at
        a time so that this process's memory does not hold a second copy of the index. Returns the number of
        documents written."""
        alive = self.alive[: self.slots]
        live = np.flatnonzero(alive)
        new = np.cumsum(alive, dtype=np.int64) - 1
        n = int(live.shape[0])
        per_document: list[tuple[str, npt.NDArray[Any], npt.NDArray[Any]]] = [
            ("seq_of", self._base_seq, self.seq_of),
            ("sketches", self._base_sketches, self.sketches),
            ("anchor_counts", self._base_anchors, self.anchor_counts),
        ]
        for name, base, own in per_document:
            target = out(name, np.dtype(BASE_ARRAYS[name][0]), (n, *own.shape[1:]))
            for at in range(0, n, _CHUNK):
                target[at : at + _CHUNK] = _gather(base, own, live[at : at + _CHUNK])
        out("df", np.dtype("<i4"), self.df.shape)[:] = self.df
        for name, table in (("duplicate", self.duplicate), ("rewrite", self.rewrite), ("passages", self.passages)):
            table.export(self.alive, new, out, name)
        self.segments.export(out)
        return n

    def prepare(self) -> None:
        """Sort long tails into the band tables now, as the next lookup would."""
        for table in (self.duplicate, self.rewrite, self.passages):
            if table.tail_n > TAIL:
                table.merge(self.alive)

    def settle(self) -> None:
        """Merge what is pending into the band tables now (rather than at the next lookup)."""
        for table in (self.duplicate, self.rewrite, self.passages):
            if table.tail_n > TAIL:
                table.merge(self.alive, everything=True)

    def candidates(
        self,
        duplicate: npt.NDArray[np.uint32],
        anchors: npt.NDArray[np.uint32],
        rewrite: npt.NDArray[np.uint32],
        max_bucket: tuple[int, int, int],
        exclude: int | None = None,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Sequence numbers (sorted, distinct) of the documents that are the query's candidates, per path
        (duplicate, passage, rewrite; `max_bucket` in that order), the document `exclude` (a sequence number)
        left out: those sharing a bucket with the query on a Jaccard path, and on the passage path those sharing
        enough of its `anchors` (sorted, distinct) by the scan's rule (`dedup.engine.passages.anchor_pairs`)."""
        skip = -1  # the compiled lookup takes a plain int; no slot is -1
        if exclude is not None:
            slot, known = self.slots_of(np.array([exclude], dtype=np.int64))
            if known[0]:
                skip = int(slot[0])
        # A document comes out of the lookup once per anchor bucket it shares with the query (an oversized bucket
        # gives its first member, once), so its count is how many anchors it shares, as a scan counts them.
        found, shared = np.unique(self.passages.lookup(anchors, self.alive, max_bucket[1], skip), return_counts=True)
        query_anchors = np.full(found.shape[0], anchors.shape[0], dtype=np.int64)
        anchor_counts = _gather(self._base_anchors, self.anchor_counts, found).astype(np.int64)
        passages = found[shared >= enough(query_anchors, anchor_counts)]
        # Slots increase with sequence numbers: sorted, distinct slots give sorted, distinct sequence numbers.
        return (
            self.seqs(np.unique(self.duplicate.lookup(duplicate, self.alive, max_bucket[0], skip))),
            self.seqs(passages),
            self.seqs(np.unique(self.rewrite.lookup(rewrite, self.alive, max_bucket[2], skip))),
        )

    def hot_buckets(self, max_bucket: tuple[int, int, int], limit: int) -> list[tuple[str, int, int, int]]:
        """The `limit` largest buckets holding more documents than a lookup counts (`max_bucket`, as for
        `candidates`), largest first, one per first member: `(path, band, documents, sequence number of the
        first)` each, `path` one of "duplicate", "passage", "rewrite". Such a bucket is mostly boilerplate (one
        page copied many times, or a template), and a check meets only its first member; a page copied many
        times fills a bucket in every band, and is named once."""
        tables = (("duplicate", self.duplicate), ("passage", self.passages), ("rewrite", self.rewrite))
        largest: dict[int, tuple[str, int, int, int]] = {}
        for (path, table), size in zip(tables, max_bucket, strict=True):
            for band, entries, slot in table.above(self.alive, size):
                seq = int(self.seqs(np.array([slot], dtype=np.int64))[0])
                if seq not in largest or entries > largest[seq][2]:
                    largest[seq] = (path, band, entries, seq)
        return sorted(largest.values(), key=lambda b: (-b[2], b[3]))[:limit]


def _count(df: npt.NDArray[np.int32], columns: npt.NDArray[np.generic], sign: int) -> None:
    # One more (or one less) document for each column listed (a column appears once per document).
    _add_to(df, columns.astype(np.int64, copy=False), np.int64(sign))


@kernel
def _add_to(df: npt.NDArray[np.int32], columns: npt.NDArray[np.int64], sign: np.int64) -> None:
    # A loop of scattered adds: a pass over the whole table (bincount) costs more than the columns of a batch of
    # thousands of documents, and `np.add.at` is several times slower than this loop.
    for c in columns:
        df[c] += sign


def _first_of_each(seqs: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    # True at the first occurrence of each sequence number (a log may carry one twice).
    first = np.zeros(seqs.shape[0], dtype=np.bool_)
    first[np.unique(seqs, return_index=True)[1]] = True
    return first


def _rows(ragged: Ragged[Any], chosen: npt.NDArray[np.bool_]) -> npt.NDArray[np.generic]:
    # The values of the chosen rows, concatenated.
    if chosen.all():
        return ragged.values
    mask = np.repeat(chosen, ragged.sizes())
    return ragged.values[mask]

"""What an index store keeps per document, and how: raw little-endian arrays of a fixed dtype, and JSON.

Nothing is ever pickled: every array field has one dtype, written with `tobytes()` in little-endian order and
read back with `np.frombuffer`, its length checked; the index's metadata is a JSON object. A store hands out
rows already checked, and raises `IndexStoreError` for any that do not decode.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from dedup.engine.tfidf import N_FEATURES
from dedup.errors import IndexStoreError
from dedup.text.ragged import Ragged

__all__ = [
    "DTYPES",
    "FORMAT",
    "SCHEMA",
    "Changes",
    "Cursor",
    "NewDoc",
    "StateRows",
    "StoredRows",
    "TermChanges",
    "TermRows",
    "dump_meta",
    "pack",
    "parse_meta",
    "ragged",
    "unpack",
]

FORMAT = "dedup-index"
# 2: documents keep their passage anchors. An index of an older format is refused when opened (`Index.open`):
# its documents lack what this version compares.
SCHEMA = 2
# Every array a store keeps, and its dtype: band hashes of both paths, term columns and counts, the shingle
# set, the line and sentence keys, a sketch of the rewrite-path signature (its values' low bytes), and the
# passage anchors (`dedup.engine.passages`: sorted, distinct shingle hashes).
DTYPES: dict[str, np.dtype[Any]] = {
    "bands": np.dtype("<u4"),
    "terms": np.dtype("<u4"),
    "counts": np.dtype("<u4"),
    "shingles": np.dtype("<u4"),
    "segments": np.dtype("<u8"),
    "sketch": np.dtype("<u1"),
    "anchors": np.dtype("<u4"),
}
# Fields whose values index an array, and its length.
BOUNDS = {"terms": N_FEATURES}
SETTINGS = (
    "k",
    "passage_window",
    "num_perm",
    "seed",
    "duplicate_threshold",
    "rewrite_threshold",
    "rewrite_top_terms",
)

# Where a store is in its log: (last document sequence number seen, last removal seen) for SQLite, the last
# stream entry id (milliseconds, counter) for Redis. Opaque outside the store that made it.
Cursor = tuple[int, int]


def pack(array: npt.NDArray[Any], field: str) -> bytes:
    """An array as the bytes of its field's dtype."""
    return np.ascontiguousarray(array, dtype=DTYPES[field]).tobytes()


def unpack(blob: bytes | None, field: str, where: str) -> npt.NDArray[Any]:
    """Bytes back to the field's array (native byte order); `IndexStoreError` when they cannot be one."""
    dtype = DTYPES[field]
    if not isinstance(blob, bytes | bytearray | memoryview) or len(blob) % dtype.itemsize:
        size = len(blob) if isinstance(blob, bytes | bytearray | memoryview) else type(blob).__name__
        raise IndexStoreError(f"{where}: field {field!r} is damaged ({size} bytes, not whole {dtype.str} values)")
    return _in_range(np.frombuffer(blob, dtype=dtype).astype(dtype.newbyteorder("="), copy=False), field, where)


def _in_range(values: npt.NDArray[Any], field: str, where: str) -> npt.NDArray[Any]:
    # Values that index an array (term columns) must be in its range: a damaged blob would otherwise make the
    # index allocate by its largest value (gigabytes) or index out of bounds, far from where the damage is.
    bound = BOUNDS.get(field)
    if bound is not None and values.shape[0] and int(values.max()) >= bound:
        raise IndexStoreError(f"{where}: field {field!r} is damaged (a value past {bound - 1})")
    return values


def ragged(blobs: Sequence[bytes], field: str, where: str) -> Ragged[Any]:
    """Many rows of one field, joined (one buffer, one pass)."""
    dtype = DTYPES[field]
    sizes = np.array(list(map(len, blobs)), dtype=np.int64)
    if (sizes % dtype.itemsize).any():
        raise IndexStoreError(f"{where}: field {field!r} of a document is damaged (not whole {dtype.str} values)")
    values = np.frombuffer(b"".join(blobs), dtype=dtype).astype(dtype.newbyteorder("="), copy=False)
    return Ragged.from_sizes(_in_range(values, field, where), sizes // dtype.itemsize)


@dataclass(frozen=True, slots=True)
class NewDoc:
    """A document to store: its id, where it came from, its size in words, and its arrays.

    `bands` holds both paths' band hashes (duplicate path first), or nothing for a document with no words;
    `anchors` its passage anchors (any number, none for a document with no words).
    Arrays of any integer or whole-valued dtype are written as their field's dtype (`DTYPES`), packed when the
    document is made (so that a store's write, under its lock, only copies bytes).
    """

    id: str
    url: str | None
    words: int
    bands: npt.NDArray[Any]
    terms: npt.NDArray[Any]
    counts: npt.NDArray[Any]
    shingles: npt.NDArray[Any]
    segments: npt.NDArray[Any]
    sketch: npt.NDArray[Any]
    anchors: npt.NDArray[Any]
    packed: dict[str, bytes] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "packed", {name: pack(getattr(self, name), name) for name in DTYPES})

    def blobs(self) -> dict[str, bytes]:
        """The array fields as bytes."""
        return self.packed


@dataclass(frozen=True)
class StoredRows:
    """Stored documents as a check measures them, row `i` for sequence number `seqs[i]`: their ids, urls and
    word counts, and the array fields asked for, each joined (`arrays["terms"].of(i)`)."""

    seqs: npt.NDArray[np.int64]
    ids: list[str]
    urls: list[str | None]
    words: npt.NDArray[np.int64]
    arrays: dict[str, Ragged[Any]]

    def __len__(self) -> int:
        return int(self.seqs.shape[0])

    def of(self, field: str, i: int) -> npt.NDArray[Any]:
        """Field `field` of row `i`."""
        return self.arrays[field].of(i)

    @staticmethod
    def decode(
        seqs: Sequence[int],
        ids: Sequence[object],
        urls: Sequence[object],
        words: Sequence[object],
        blobs: Mapping[str, Sequence[bytes]],
        where: str,
    ) -> StoredRows:
        """Rows as a store read them (ids and urls as str, or as UTF-8 bytes), checked and joined."""
        try:
            text_ids = [i.decode() if isinstance(i, bytes) else i for i in ids]
            text_urls = [(u.decode() if isinstance(u, bytes) else u) or None for u in urls]
            counts = np.array([int(w) for w in words], dtype=np.int64)  # type: ignore[call-overload]
        except (UnicodeDecodeError, ValueError, TypeError) as err:
            raise IndexStoreError(f"{where}: a stored document has a damaged id, url or word count") from err
        if not all(isinstance(i, str) for i in text_ids) or not all(u is None or isinstance(u, str) for u in text_urls):
            raise IndexStoreError(f"{where}: a stored document has a damaged id or url")
        arrays = {field: ragged(values, field, where) for field, values in blobs.items()}
        if "terms" in arrays and "counts" in arrays and not (arrays["terms"].ptr == arrays["counts"].ptr).all():
            raise IndexStoreError(f"{where}: a stored document has not as many term counts as terms")
        return StoredRows(np.asarray(seqs, dtype=np.int64).reshape(-1), text_ids, text_urls, counts, arrays)  # type: ignore[arg-type]


@dataclass(frozen=True)
class StateRows:
    """The part of stored documents that every process folds into memory, row `i` for sequence `seqs[i]`.

    `bands[i]` holds both paths' band hashes (duplicate path first), `sketches[i]` the rewrite-path sketch and
    `anchors.of(i)` the passage anchors; `active[i]` is False for a document with no words, which takes no part
    in candidate search (its rows are zero, it has no anchors). Removals carry no sketches (a width of 0).
    """

    seqs: npt.NDArray[np.int64]
    bands: npt.NDArray[np.uint32]
    sketches: npt.NDArray[np.uint8]
    active: npt.NDArray[np.bool_]
    terms: Ragged[Any]
    segments: Ragged[Any]
    anchors: Ragged[Any]

    def __len__(self) -> int:
        return int(self.seqs.shape[0])

    @staticmethod
    def decode(
        seqs: Sequence[int],
        bands: Sequence[bytes],
        sketches: Sequence[bytes] | None,
        terms: Sequence[bytes],
        segments: Sequence[bytes],
        anchors: Sequence[bytes],
        where: str,
    ) -> StateRows:
        """Rows as a store read them, checked and joined (every document with words has as many band hashes, and
        as long a sketch)."""
        if not len(seqs):  # what a check reads from the log nearly every time: spared building nine arrays
            return _NO_ROWS
        lengths = np.array(list(map(len, bands)), dtype=np.int64)
        active = lengths != 0
        return StateRows(
            np.asarray(seqs, dtype=np.int64).reshape(len(seqs)),
            _rows(bands, active, "bands", where),
            _rows(sketches if sketches is not None else [b""] * len(seqs), active, "sketch", where),
            active,
            ragged(terms, "terms", where),
            ragged(segments, "segments", where),
            ragged(anchors, "anchors", where),
        )

    @staticmethod
    def empty() -> StateRows:
        """No rows."""
        return _NO_ROWS


def _no_rows() -> StateRows:
    # The rows of an empty read, made once and read-only: shared by every read that finds nothing.
    def empty(field: str, ndim: int) -> npt.NDArray[Any]:
        array = np.zeros((0,) * ndim, dtype=DTYPES[field].newbyteorder("="))
        array.setflags(write=False)
        return array

    def no_rows(field: str) -> Ragged[Any]:
        return Ragged.from_sizes(empty(field, 1), np.zeros(0, dtype=np.int64))

    seqs, active = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.bool_)
    ragged_fields = (no_rows("terms"), no_rows("segments"), no_rows("anchors"))
    return StateRows(seqs, empty("bands", 2), empty("sketch", 2), active, *ragged_fields)


_NO_ROWS = _no_rows()


def _rows(blobs: Sequence[bytes], active: npt.NDArray[np.bool_], field: str, where: str) -> npt.NDArray[Any]:
    # Equal-length rows of one field for the active documents (zero rows for the others) as one 2-D array.
    dtype = DTYPES[field]
    sizes = set(np.unique(np.array(list(map(len, blobs)), dtype=np.int64)[active]).tolist())
    sizes.discard(0)
    if len(sizes) > 1 or any(size % dtype.itemsize for size in sizes):
        raise IndexStoreError(f"{where}: the {field} of some documents are damaged (of unequal lengths)")
    width = sizes.pop() // dtype.itemsize if sizes else 0
    rows = np.zeros((len(blobs), width), dtype=dtype.newbyteorder("="))
    if width:
        filled = active & np.array([len(b) != 0 for b in blobs], dtype=np.bool_)
        if (filled != active).any():
            raise IndexStoreError(f"{where}: some documents with words lack their {field}")
        rows[active] = np.frombuffer(b"".join(b for b in blobs if b), dtype=dtype).reshape(-1, width)
    return rows


@dataclass(frozen=True)
class Changes:
    """Log entries past a cursor: documents added and documents removed, and the cursor after them. With
    `reset`, `added` is every live document instead: the log past the cursor was compacted away, so what was
    built from the log so far must be built again from these."""

    cursor: Cursor
    added: StateRows
    removed: StateRows
    reset: bool = False


@dataclass(frozen=True)
class TermRows:
    """The term columns of stored documents, row `i` for sequence `seqs[i]`: all that document frequencies are
    folded from, read and decoded without the rest of each document."""

    seqs: npt.NDArray[np.int64]
    terms: Ragged[Any]

    def __len__(self) -> int:
        return int(self.seqs.shape[0])

    @staticmethod
    def decode(seqs: Sequence[int], terms: Sequence[bytes], where: str) -> TermRows:
        """Rows as a store read them, checked and joined."""
        if not len(seqs):
            return _NO_TERMS
        return TermRows(np.asarray(seqs, dtype=np.int64).reshape(len(seqs)), ragged(terms, "terms", where))


_NO_TERMS = TermRows(_NO_ROWS.seqs, _NO_ROWS.terms)


@dataclass(frozen=True)
class TermChanges:
    """Log entries past a cursor as `Changes` gives them, with only the term columns of each document."""

    cursor: Cursor
    added: TermRows
    removed: TermRows
    reset: bool = False


def dump_meta(meta: dict[str, Any]) -> bytes:
    """The index's metadata as JSON."""
    return orjson.dumps(meta, option=orjson.OPT_SORT_KEYS)


def parse_meta(raw: bytes | str | None, location: str) -> dict[str, Any]:
    """Stored metadata, checked: a dedup index of a schema this version reads, with all its settings (or of an
    older schema, with settings of its own: `Index.open` refuses it, saying what to do)."""
    if raw is None:
        raise IndexStoreError(f"{location} is not a dedup index (it has no index metadata)")
    try:
        meta = orjson.loads(raw)
    except orjson.JSONDecodeError:
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise IndexStoreError(f"{location} is not a dedup index (its metadata is not a dedup index's)")
    schema = meta.get("schema")
    if not isinstance(schema, int) or schema < 1:
        raise IndexStoreError(f"{location}: the index metadata is damaged (schema {schema!r})")
    if schema > SCHEMA:
        made_by = meta.get("created_by", "a newer dedup")
        raise IndexStoreError(
            f"{location} was made by dedup {made_by} in index format {schema}; this dedup reads format {SCHEMA} "
            "-- upgrade dedup to use it"
        )
    settings = meta.get("settings")
    # An older format kept fewer settings: it is read only to be refused, by `Index.open`, with what to do.
    wanted = SETTINGS if schema == SCHEMA else ()
    if not isinstance(settings, dict) or any(name not in settings for name in wanted):
        raise IndexStoreError(f"{location}: the index metadata is damaged (settings missing)")
    if not isinstance(meta.get("engine"), str):
        raise IndexStoreError(f"{location}: the index metadata is damaged (engine fingerprint missing)")
    return meta

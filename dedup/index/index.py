"""The crawler index: have we seen this text (or a copy or a rewrite of it) before, and is it farm output?

Many crawler processes share one index, for weeks: an SQLite file on one machine, or a Redis server for
crawlers on many. Each call runs the scan's own stages on one document and compares it with what the index
holds, as a scan of the index plus that document would:

    text -> features (normalize, shingles, passage anchors, MinHash, term counts; no lock held)
         -> catch up with the store's log (document frequencies, band and passage tables, line and sentence counts)
         -> rewrite-path bands from the index's document frequencies
         -> candidates: documents sharing a band on either Jaccard path, or enough passage anchors (the passage
            path: `passages.SHARED`, or all of the smaller document's); oversized buckets give their first member
         -> measure each: exact Jaccard, containment, TF-IDF cosine -> `classify` (the scan's thresholds)
         -> Verdict: matches best first, and the farm score with corpus signals from the index

On an index file, `compact` also writes a segment beside it (`dedup.index.segments`): the folded state, which
every process of the host maps, folding only the log past it, instead of each holding its own copy.

`check_and_add` does the comparing and the adding as one step under the store's write lock (or, on Redis,
retried until no one else wrote in between): of two crawlers adding copies at once, the one that commits
second always reports the first.

>>> import tempfile, os, dedup
>>> folder = tempfile.mkdtemp()
>>> with dedup.Index.open(os.path.join(folder, "crawl.index"), farm=False) as index:
...     story = "The council voted on Tuesday to rebuild the harbor bridge at a cost of 84 million dollars. " * 4
...     _ = index.add("a", story)
...     [(m.id, m.relation) for m in index.check("Breaking: " + story).matches], len(index)
([('a', 'duplicate')], 1)
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from dedup.config import IndexConfig, index_config
from dedup.engine.confirm import DUPLICATE, REWRITE, classify
from dedup.engine.tfidf import N_FEATURES, tfidf_rows
from dedup.errors import ConfigError, IndexStoreError, InputError
from dedup.index import segments
from dedup.index.features import (
    IndexFeatures,
    cosines,
    engine_fingerprint,
    featurize_index,
    overlap,
    path_bands,
    rewrite_bands,
    sketch_agreement,
    stored_keys,
)
from dedup.index.state import Base, IndexState
from dedup.index.storage import Reader, Store, is_url, open_store
from dedup.index.storage.records import FORMAT, SCHEMA, SETTINGS, Changes, NewDoc
from dedup.model import Document

if TYPE_CHECKING:
    from dedup.farm import FarmScore

__all__ = ["HOT_BUCKETS", "HotBucket", "Index", "IndexStats", "Match", "Verdict"]

# The largest boilerplate buckets `Index.stats` reports.
HOT_BUCKETS = 10

# Held while an index reattaches in a forked child, so that the child's threads do it once. Made anew in each
# child (as the standard library does for its own locks): one held by another thread at the fork stays held.
_reattaching = threading.Lock()


def _new_reattach_lock() -> None:
    global _reattaching  # noqa: PLW0603 -- the one lock of this module, replaced in a forked child
    _reattaching = threading.Lock()


os.register_at_fork(after_in_child=_new_reattach_lock)


@dataclass(frozen=True, slots=True)
class Match:
    """An indexed document related to the one checked: `relation` is `duplicate` or `rewrite`, with the three
    measures a scan reports for the pair, and the url it was added with."""

    id: str
    relation: str
    jaccard: float
    containment: float
    cosine: float
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "id": self.id,
            "relation": self.relation,
            "jaccard": self.jaccard,
            "containment": self.containment,
            "cosine": self.cosine,
            "url": self.url,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the index says of a text: its matches, best first (duplicates, then by Jaccard, containment and
    cosine), the farm score (None when scoring is off or the text has no words), and whether this call added it.
    """

    matches: tuple[Match, ...] = ()
    farm: FarmScore | None = None
    added: bool = False

    @property
    def seen(self) -> bool:
        """Whether the index holds a copy or a rewrite of the text."""
        return bool(self.matches)

    @property
    def duplicate(self) -> bool:
        """Whether the index holds a copy of the text."""
        return any(m.relation == DUPLICATE for m in self.matches)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: matches, farm (the scorer's JSON, or None), added."""
        return {
            "matches": [m.to_dict() for m in self.matches],
            "farm": None if self.farm is None else self.farm.to_dict(),
            "added": self.added,
        }


@dataclass(frozen=True, slots=True)
class HotBucket:
    """A bucket holding more documents than a check counts (the path's `max_bucket`): mostly boilerplate, one
    page copied many times or a site's template. A check meets only its first member, `first_id`, the document
    of the bucket added first."""

    path: str  # "duplicate", "passage" or "rewrite"
    band: int
    documents: int
    first_id: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"path": self.path, "band": self.band, "documents": self.documents, "first_id": self.first_id}


@dataclass(frozen=True)
class IndexStats:
    """An index at a glance: where it is, how many documents, its settings, the bytes it takes, the entries of
    its log (which `Index.compact` drops), and its largest boilerplate buckets (`HOT_BUCKETS` at most).
    `memory_bytes` is this process's own memory of the index; `segment` the generation of the segment it maps
    (None: none), whose `shared_bytes` the processes of the host share through the page cache."""

    location: str
    backend: str
    documents: int
    created_by: str
    settings: dict[str, Any]
    storage_bytes: dict[str, int]
    memory_bytes: int
    log_entries: int = 0
    hot_buckets: tuple[HotBucket, ...] = ()
    segment: int | None = None
    shared_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "location": self.location,
            "backend": self.backend,
            "documents": self.documents,
            "created_by": self.created_by,
            "settings": self.settings,
            "storage_bytes": self.storage_bytes,
            "memory_bytes": self.memory_bytes,
            "log_entries": self.log_entries,
            "hot_buckets": [b.to_dict() for b in self.hot_buckets],
            "segment": self.segment,
            "shared_bytes": self.shared_bytes,
        }


@dataclass(frozen=True)
class _Doc:
    """A document ready to compare: its features (one row) and the text they came from."""

    text: str
    features: IndexFeatures

    @property
    def words(self) -> int:
        return int(self.features.words[0])

    @property
    def terms(self) -> sp.csr_matrix:
        return self.features.terms


def _version() -> str:
    from dedup._version import __version__

    return __version__


class Index:
    """A persistent index of documents shared by crawler processes. Open it with `Index.open`."""

    def __init__(self, store: Store, config: IndexConfig) -> None:
        self._config = config
        self._closed = False
        self._duplicate_width = path_bands(config.duplicate_lsh, config.signature.num_perm)[0]
        self._rewrite_width = path_bands(config.rewrite_lsh, config.signature.num_perm)[0]
        self._inherited: list[Store] = []
        # Segments of the folded state beside an index file (`dedup.index.segments`); a Redis index keeps none.
        self._segments = None if is_url(store.location) else segments.folder_for(store.location)
        self._refused: tuple[int, str] | None = None  # a recorded segment found unusable, and why
        self._attach(store)

    def _attach(self, store: Store) -> None:
        # This process's connection, lock and state, read from the store. `_pid` names this process only once
        # they are complete: until then the other threads of a forked child wait in `_use`, instead of taking
        # the new lock first and checking against a state not read yet.
        self._store = store
        self._lock = threading.RLock()
        self._state = self._new_state()
        with self._lock, store.read() as reader:
            self._sync(reader)
        self._state.settle()  # the first check should not pay for folding in the whole index
        self._pid = os.getpid()

    def _new_state(self, base: Base | None = None) -> IndexState:
        return IndexState(self._duplicate_width, self._rewrite_width, self._config.signature.num_perm, base)

    def _after_fork(self) -> None:
        # A forked child cannot use its parent's connection (SQLite forbids it; a Redis socket would be shared)
        # nor trust its lock and state (another thread may have held the lock mid-update). It opens its own and
        # reads the state again, as `Index.open` would. The parent's connection is kept, never used or closed:
        # closing it here could disturb the parent's.
        self._inherited.append(self._store)
        self._attach(open_store(self.location, create=None, timeout=self._config.timeout))

    # -----------------------------------------------------------------------------------------------------
    # Opening

    @classmethod
    def open(cls, location: str | os.PathLike[str], *, create: bool = True, **settings: object) -> Index:
        """The index at `location`: a file path (SQLite, made when missing unless `create=False`) or a
        `redis://host:port/db` URL (`?prefix=name` keeps several indexes on one server).

        `settings` are those of `dedup.config.index_config` (`k`, `passage_window`, `num_perm`, `seed`,
        `duplicate_threshold`, `rewrite_threshold`, `rewrite_top_terms`, the confirmation thresholds, `max_bucket`,
        `batch_size`, `timeout`, `farm`). An index keeps the settings its signatures depend on: leave them out to
        use its own; giving other values raises `ConfigError`, as does an index made by a dedup that computes or
        stores them otherwise. A path or server that is not a dedup index, or is damaged, raises
        `IndexStoreError` and is left as it is.
        """
        config = index_config(**settings)
        structural = _structural(config)
        meta = {
            "format": FORMAT,
            "schema": SCHEMA,
            "created_by": _version(),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "engine": engine_fingerprint(),
            "settings": structural,
        }
        store = open_store(location, create=meta if create else None, timeout=config.timeout)
        try:
            config = _reconcile(store, settings, config)
            return cls(store, config)
        except BaseException:
            store.close()
            raise

    @property
    def config(self) -> IndexConfig:
        """The settings in use (the index's own where they shape what it stores)."""
        return self._config

    @property
    def location(self) -> str:
        """Where the index is (a path or a URL)."""
        return self._store.location

    # -----------------------------------------------------------------------------------------------------
    # Checking and adding

    def check(self, text: str, *, url: str | None = None, html: str | None = None) -> Verdict:
        """Compare `text` with the index without adding it. `html` is the page it came from (for the farm
        score's page-chrome signal); `url` is for symmetry with `add` and is not compared."""
        del url  # the index compares texts; a url is kept only with what is added
        doc = self._prepare(text, with_segments=self._config.farm)
        with self._use(), self._store.read() as reader:
            matches, matched, _ = self._match(reader, doc, exclude=None)
        return Verdict(matches, self._farm(doc, html, "", matches, matched), added=False)

    def check_and_add(self, doc_id: str, text: str, *, url: str | None = None, html: str | None = None) -> Verdict:
        """Compare `text` with the index and add it, as one step: a copy added by another process at the same
        time is either in this verdict or reports this one in its own. Adding an id the index holds changes
        nothing (the verdict compares the text with the others; `added` is False)."""
        _check_id(doc_id)
        doc = self._prepare(text)

        Keys = list[npt.NDArray[np.uint64]]

        def plan(reader: Reader) -> tuple[tuple[tuple[Match, ...], Keys, Keys | None], list[NewDoc]]:
            exclude = reader.find([doc_id]).get(doc_id)
            matches, matched, rewrite = self._match(reader, doc, exclude=exclude)
            if exclude is not None:
                itself = reader.fetch([exclude], ("segments",))
                return (matches, matched, [itself.of("segments", i) for i in range(len(itself))]), []
            return (matches, matched, None), [self._new_doc(doc_id, url, doc, rewrite)]

        with self._use():
            self._catch_up()
            matches, matched, itself = self._store.write(plan, atomic=True)
            self._maybe_segment(1 if itself is None else 0)
        farm = self._farm(doc, html, doc_id, matches, matched, itself)
        return Verdict(matches, farm, added=itself is None)

    def add(self, doc_id: str, text: str, *, url: str | None = None, html: str | None = None) -> Verdict:
        """Add a document (the same as `check_and_add`): idempotent for the same id, and returns what `check`
        would have said just before."""
        return self.check_and_add(doc_id, text, url=url, html=html)

    def add_many(
        self,
        documents: Iterable[Document | tuple[str, str] | tuple[str, str, str | None]],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Add documents in transactions of `batch_size`, without verdicts (the fast way to fill an index).

        Documents are `dedup.Document` (its `source` is kept as the url), `(id, text)` or `(id, text, url)`;
        ids the index holds, and repeats within the call, are skipped. `progress(n)` is called after each
        transaction with the number of documents it settled: those are stored, whatever happens next. Returns
        how many were added.
        """
        from dedup.jit import cores

        added = 0
        iterator = iter(documents)
        workers = cores()
        # The next batch is featurized (compiled kernels, no lock held) while this one is written.
        with self._use(), ThreadPoolExecutor(1) as ahead:
            batch = list(islice(iterator, self._config.batch_size))
            pending = ahead.submit(self._prepare_batch, batch, workers) if batch else None
            while pending is not None:
                prepared = pending.result()
                upcoming = list(islice(iterator, self._config.batch_size))
                pending = ahead.submit(self._prepare_batch, upcoming, workers) if upcoming else None
                added += self._add_batch(*prepared)
                if progress is not None:
                    progress(len(batch))
                batch = upcoming
        return added

    def _prepare_batch(
        self, batch: list[Document | tuple[str, str] | tuple[str, str, str | None]], workers: int
    ) -> tuple[list[str], list[str | None], IndexFeatures]:
        ids: list[str] = []
        texts: list[str] = []
        urls: list[str | None] = []
        seen: set[str] = set()
        for item in batch:
            if isinstance(item, Document):
                doc_id, text, url = item.id, item.text, item.source or None
            elif isinstance(item, tuple) and len(item) in (2, 3):
                doc_id, text, url = (*item, None)[:3]
            else:
                raise InputError(f"add_many takes dedup.Document objects or (id, text) pairs, not {item!r:.80}")
            _check_id(doc_id)
            _check_text(text)
            if doc_id not in seen:
                seen.add(doc_id)
                ids.append(doc_id)
                texts.append(text)
                urls.append(url)
        return ids, urls, featurize_index(texts, self._config, workers=workers)

    def _add_batch(self, ids: list[str], urls: list[str | None], features: IndexFeatures) -> int:
        # Adding needs of the state only the document frequencies (the new documents' rewrite-path bands are
        # weighed by them): the log is folded into those alone, and the rest waits for this process's next check.
        # The documents' stored form is computed before the write, from the frequencies as read then: the write
        # lock (SQLite's) is held only to skip ids stored meanwhile and to insert. Computing inside it would
        # serialize the writers on it, and stretch with every other process's work on the same cores.
        with self._store.read() as reader:
            self._sync_frequencies(reader)
            present = reader.find(ids)
        docs = self._stored_batch(ids, urls, features, [doc_id not in present for doc_id in ids])

        def plan(reader: Reader) -> tuple[int, list[NewDoc]]:
            present = reader.find([doc.id for doc in docs])
            new = [doc for doc in docs if doc.id not in present]
            return len(new), new

        added: int = self._store.write(plan, atomic=False)
        self._maybe_segment(added)
        return added

    def _stored_batch(
        self, ids: list[str], urls: list[str | None], features: IndexFeatures, keep: list[bool]
    ) -> list[NewDoc]:
        # The kept documents as stored, their rewrite-path bands weighed by the document frequencies this process
        # has folded, the batch counted in.
        rows = np.flatnonzero(np.array(keep, dtype=np.bool_))
        if not rows.shape[0]:
            return []
        terms = features.terms[rows]
        held, documents = self._state.frequencies(terms.indices)
        documents += rows.shape[0]
        batch_df = np.bincount(terms.indices, minlength=N_FEATURES)
        df = held + batch_df[terms.indices]
        bands, sketches = rewrite_bands(tfidf_rows(terms, df, documents), df, documents, self._config)
        segments = features.segments.distinct
        indptr, cols, values = terms.indptr, terms.indices, terms.data
        return [
            _stored_form(
                ids[d],
                urls[d],
                int(features.words[d]),
                features.duplicate_bands[d],
                (bands[i], sketches[i]),
                cols[indptr[i] : indptr[i + 1]],
                values[indptr[i] : indptr[i + 1]],
                features.shingles.of(d),
                segments.of(d),
                features.anchors.of(d),
            )
            for i, d in enumerate(rows.tolist())
        ]

    def remove(self, doc_id: str) -> bool:
        """Remove a document by id; False when the index has none of that id."""
        _check_id(doc_id)
        with self._use():
            return self._store.remove(doc_id)

    def compact(self) -> int:
        """Write the index's state as a new segment beside an index file (mapped by every process of the host,
        which each switch to it at their next call, folding only the log past it), then drop the log of removals
        it covers, which grows with every `remove` (run it now and then, e.g. daily); returns how many log entries
        went. Safe while other processes use the index: on Redis, one that had not yet read the entries builds
        its memory of the index again from the live documents, once, at its next call."""
        with self._use():
            if self._segments is None:
                return self._store.compact()
            with segments.writing(self._segments, wait=True):
                return self._compact_segments(self._segments)

    def _compact_segments(self, folder: Path) -> int:
        with self._store.read() as reader:
            self._sync(reader)
        base = self._state.base
        damage = [] if base is None else segments.check(folder, {"generation": base.generation})
        if base is not None and damage:  # the log gives the state; the damage is not copied on
            self._refused = (base.generation, damage[0])
            self._state = self._new_state()
            with self._store.read() as reader:
                self._sync(reader)
        record = self._write_segment(folder)
        dropped = self._store.compact((int(record["cursor"][0]), int(record["cursor"][1])))
        segments.prune(folder, int(record["generation"]))
        with self._store.read() as reader:
            self._sync(reader)  # this process too maps the new segment
        return dropped

    def _maybe_segment(self, written: int) -> None:
        # After a write: once this process's own part of the state (what was added since the segment) outgrows
        # `segments.GROWTH` of it (and `segments.AT_LEAST` documents), one process writes a new segment, which
        # all then map: each process's own memory stays a fraction of the index, and the segment writes add up
        # to a few times the index's size (each a fixed fraction larger than the last), as in an LSM tree.
        # `written`: documents just written, which this process's state folds in at its next read.
        state, folder = self._state, self._segments
        if folder is None or not segments.due(state.own_documents + written, state.based):
            return
        try:
            with segments.writing(folder, wait=False) as mine:
                if not mine:  # another process is writing one
                    return
                with self._store.read() as reader:
                    self._sync(reader)  # perhaps switched to a segment written meanwhile
                if segments.due(self._state.own_documents, self._state.based):
                    self._compact_segments(folder)
        except (OSError, IndexStoreError) as err:
            # The write that called this is committed: a segment that cannot be written now (a full disk, a
            # folder that cannot be written to) costs memory, not documents. `compact` raises it.
            warnings.warn(f"{self.location}: no segment written ({err})", RuntimeWarning, stacklevel=3)

    def _write_segment(self, folder: Path) -> dict[str, Any]:
        # The state as a segment, given the next generation and recorded in the store -- unless a segment at
        # least as far along the log was recorded meanwhile (by another process compacting): that one is kept.
        try:
            staged, manifest = segments.stage(folder, self._state, self._store.meta)
        except OSError as err:
            raise IndexStoreError(f"cannot write a segment of {self.location} into {folder}: {err}") from err
        ours = tuple(manifest["cursor"])

        def make(current: dict[str, Any] | None) -> dict[str, Any] | None:
            if current is not None and not all(a >= b for a, b in zip(ours, current["cursor"], strict=True)):
                shutil.rmtree(staged, ignore_errors=True)
                return None
            return segments.install(staged, manifest, (current["generation"] if current else 0) + 1)

        try:
            record = self._store.record_segment(make)
        finally:
            if staged.exists():  # not installed
                shutil.rmtree(staged, ignore_errors=True)
        if record is None:  # unreachable: `make` installs one when none is recorded
            raise IndexStoreError(f"{self.location}: no segment recorded")
        return record

    def __len__(self) -> int:
        with self._use():
            return self._store.count()

    def __contains__(self, doc_id: object) -> bool:
        if not isinstance(doc_id, str):
            return False
        with self._use(), self._store.read() as reader:
            return doc_id in reader.find([doc_id])

    # -----------------------------------------------------------------------------------------------------
    # The steps

    def _prepare(self, text: str, *, with_segments: bool = True) -> _Doc:
        _check_text(text)
        return _Doc(text, featurize_index([text], self._config, with_segments=with_segments))

    def _catch_up(self) -> None:
        # Fold the log in a read, before a write: a lagging process's backlog would otherwise be folded while it
        # holds the store's write lock (SQLite's, which every other writer waits for), and the write's own catch-up
        # is then only what was committed in between. The backlog is sorted into the band tables here too, as the
        # write's lookup would. (`_add_batch` folds the frequencies alone, and only before its write.)
        with self._store.read() as reader:
            self._sync(reader)
        self._state.prepare()

    def _follow_segment(self, reader: Reader) -> None:
        # Start again from the segment the store records when it is not the one in use: mapped, with only the log
        # past it to fold (and this process's own part of the state given back). One that cannot be used is
        # ignored, and not tried again; the log gives the state.
        record = reader.segment() if self._segments is not None else None
        if record is None or self._segments is None:
            return
        generation = record["generation"]
        base = self._state.base
        if (base is not None and base.generation == generation) or (self._refused and self._refused[0] == generation):
            return
        widths = (self._duplicate_width, self._rewrite_width, self._config.signature.num_perm)
        loaded, why = segments.load(self._segments, record, self._store.meta, widths)
        if loaded is None:
            self._refused = (generation, why)
            return
        self._state = self._new_state(loaded)

    def _sync_frequencies(self, reader: Reader) -> None:
        # The document frequencies brought up to date with the store's log, and nothing else (`IndexState.ahead`):
        # each entry's term columns read and folded, the rest of the state left for the next `_sync`.
        self._follow_segment(reader)
        changes = reader.term_changes(self._state.latest)
        if changes.reset:  # entries it had not read were compacted away: the whole state again, as `_sync` does
            self._sync(reader)
            return
        self._state.fold_frequencies(changes)

    def _sync(self, reader: Reader) -> None:
        self._follow_segment(reader)
        # The log past where the whole state stopped, including what was folded since into its frequencies only.
        changes: Changes = reader.changes(self._state.catch_up())
        width = self._duplicate_width + self._rewrite_width
        if changes.added.sketches.shape[1] not in (0, self._config.signature.num_perm):
            raise IndexStoreError(f"{self.location}: documents carry sketches of another width -- the index is damaged")
        for rows in (changes.added, changes.removed):
            if rows.bands.shape[1] not in (0, width):
                raise IndexStoreError(
                    f"{self.location}: documents carry {rows.bands.shape[1]} band hashes where its settings make "
                    f"{width} -- the index is damaged"
                )
        if changes.reset and self._state.cursor is not None:
            # Removals this process had not read were compacted away: build the state again, from every live document
            # (and not from this segment again, whose log that was).
            if self._state.base is not None:
                generation = self._state.base.generation
                self._refused = (generation, f"the log past segment {generation} was compacted away")
            self._state = self._new_state()
        self._state.add(changes.added)
        self._state.remove(changes.removed)
        self._state.cursor = changes.cursor

    def _match(
        self, reader: Reader, doc: _Doc, *, exclude: int | None
    ) -> tuple[tuple[Match, ...], list[npt.NDArray[np.uint64]], tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint8]]]:
        """The verdict's matches for `doc` (the index's document `exclude` left out), the segment keys of the
        matched documents, and the document's rewrite-path band hashes and sketch."""
        self._sync(reader)
        if doc.words == 0:
            return (), [], (np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.uint8))
        state, confirm = self._state, self._config.confirm
        stored_already = exclude is not None
        documents = state.documents + (0 if stored_already else 1)
        cols = doc.terms.indices
        df = state.df[cols].astype(np.int64) + (0 if stored_already else 1)
        bands, sketches = rewrite_bands(tfidf_rows(doc.terms, df, documents), df, documents, self._config)
        rewrite = (bands[0], sketches[0])
        duplicates, passages, rewrites = state.candidates(
            doc.features.duplicate_bands[0], doc.features.anchors.of(0), rewrite[0], self._max_buckets(), exclude
        )
        # As in a scan, the rewrite path's candidates whose signatures agree too little are dropped unmeasured
        # (the other paths' are all measured), and a document is a candidate when any path finds it: one sharing
        # too few anchors for the passage path is still compared when a band path finds it.
        agree = sketch_agreement(rewrite[1], state.sketches_of(rewrites)) >= self._config.rewrite_lsh.min_agreement
        seqs = np.union1d(np.union1d(duplicates, passages), rewrites[agree])
        # One read of the candidates; overlaps are measured only where the cosine allows either relation.
        rows = reader.fetch(seqs.tolist(), ("terms", "counts", "shingles", "segments"))
        if not stored_already:
            state.df[cols] += 1  # the query counted in, just for this (the index's lock is held)
        try:
            cosine = cosines(doc.terms, rows.arrays["terms"], rows.arrays["counts"], state.df, documents)
        finally:
            if not stored_already:
                state.df[cols] -= 1
        close = np.flatnonzero(cosine >= min(confirm.duplicate_cosine, confirm.rewrite_cosine))
        if not close.shape[0]:
            return (), [], rewrite
        jaccard, containment = overlap(doc.features.shingles.of(0), rows.arrays["shingles"].select(close))
        pairs = np.stack([np.zeros(close.shape[0], np.int64), close], axis=1)
        confirmed = classify(pairs, jaccard, containment, cosine[close], confirm)
        found = sorted(
            (
                Match(rows.ids[i], DUPLICATE if dup else REWRITE, round(j, 4), round(c, 4), round(cos, 4), rows.urls[i])
                for i, dup, j, c, cos in zip(
                    confirmed.pairs[:, 1].tolist(),
                    confirmed.duplicate.tolist(),
                    confirmed.jaccard.tolist(),
                    confirmed.containment.tolist(),
                    confirmed.cosine.tolist(),
                    strict=True,
                )
            ),
            key=lambda m: (m.relation != DUPLICATE, -m.jaccard, -m.containment, -m.cosine, m.id),
        )
        matched = [rows.of("segments", i) for i in confirmed.pairs[:, 1].tolist()]
        return tuple(found), matched, rewrite

    def _new_doc(
        self, doc_id: str, url: str | None, doc: _Doc, rewrite: tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint8]]
    ) -> NewDoc:
        return _stored_form(
            doc_id,
            url,
            doc.words,
            doc.features.duplicate_bands[0],
            rewrite,
            doc.terms.indices,
            doc.terms.data,
            doc.features.shingles.of(0),
            doc.features.segments.distinct.of(0),
            doc.features.anchors.of(0),
        )

    def _farm(
        self,
        doc: _Doc,
        html: str | None,
        doc_id: str,
        matches: Sequence[Match],
        matched: Sequence[npt.NDArray[np.uint64]],
        itself: Sequence[npt.NDArray[np.uint64]] | None = None,
    ) -> FarmScore | None:
        """The farm score, with the corpus signals of `dedup.farm` taken from the index by the farm's own rule
        (`contexts_from_counts`). `matched` and `itself` are the stored line and sentence keys of the matched
        documents and of the document's own stored row (when it was there already: it must not count as another
        document)."""
        if not self._config.farm or doc.words == 0:
            return None
        from dedup.farm import score
        from dedup.farm.corpus import KeyCounts, contexts_from_counts

        prints = doc.features.segments.prints[0]
        lines, sentences = stored_keys(prints)
        with self._lock:  # documents of the index holding each key
            line_held, sentence_held = self._state.segments.get(lines), self._state.segments.get(sentences)
            documents = self._state.documents
        for keys in itself or ():
            line_held = line_held - np.isin(lines, keys)
            sentence_held = sentence_held - np.isin(sentences, keys)
            documents -= 1
        # Phrasing counts only in documents outside this one's matches (its copies and rewrites say nothing
        # new): each of them a group of its own, and this document and its matches one more, for the farm's rule.
        outside = sentence_held
        for keys in matched:
            outside = outside - np.isin(sentences, keys)
        counts = KeyCounts(
            documents + 1, *_counted(prints.line_keys, line_held + 1), *_counted(prints.sentence_keys, outside + 1)
        )
        cluster = None
        if matches:
            relation = DUPLICATE if any(m.relation == DUPLICATE for m in matches) else REWRITE
            cluster = (relation, 0, 1 + len(matches))
        context = contexts_from_counts([prints], [cluster], counts)[0]
        try:
            return score(doc.text, html=html, context=context, doc_id=doc_id)
        except InputError:  # nothing the scorer can read (no words of prose)
            return None

    def _max_buckets(self) -> tuple[int, int, int]:
        # The most members a lookup counts per path (duplicate, passage, rewrite); the passage path's buckets are
        # bounded as the duplicate path's, as in a scan.
        duplicate = self._config.duplicate_lsh.max_bucket
        return duplicate, duplicate, self._config.rewrite_lsh.max_bucket

    # -----------------------------------------------------------------------------------------------------
    # About the index

    def stats(self) -> IndexStats:
        """Documents, settings, storage, this process's memory and the largest boilerplate buckets of the index."""
        with self._use():
            documents = self._store.count()
            usage = self._store.usage()
            log_entries = self._store.log_entries()
            with self._store.read() as reader:
                self._sync(reader)
                hot = self._state.hot_buckets(self._max_buckets(), HOT_BUCKETS)
                firsts = reader.fetch([seq for *_, seq in hot], ())
            memory = self._state.nbytes()
            base = self._state.base
        id_of = dict(zip(firsts.seqs.tolist(), firsts.ids, strict=True))
        # A first member removed between the fold and the read is left out (`fetch` skips it).
        buckets = tuple(HotBucket(path, band, size, id_of[seq]) for path, band, size, seq in hot if seq in id_of)
        meta = self._store.meta
        return IndexStats(
            self.location,
            "redis" if is_url(self.location) else "sqlite",
            documents,
            str(meta.get("created_by", "")),
            dict(meta["settings"]),
            usage,
            memory,
            log_entries,
            buckets,
            None if base is None else base.generation,
            0 if base is None else base.nbytes(),
        )

    def verify(self) -> tuple[str, ...]:
        """A full integrity check; the problems found (none: the index is sound and every document reads)."""
        problems: list[str] = []
        with self._use():
            try:
                problems.extend(self._store.verify())
                with self._store.read() as reader:
                    changes = reader.changes(None)
                    problems.extend(self._verify_rows(reader, changes))
                    record = reader.segment()
                if record is not None and self._segments is not None:
                    # Derived data: the log gives the state without it, and the next `compact` writes a new one.
                    fix = " -- `dedup index compact` writes a new one (the index works without it meanwhile)"
                    widths = (self._duplicate_width, self._rewrite_width, self._config.signature.num_perm)
                    why = segments.load(self._segments, record, self._store.meta, widths)[1]
                    found = [why] if why else segments.check(self._segments, record)
                    problems.extend(problem + fix for problem in found)
            except IndexStoreError as err:
                problems.append(str(err))
        return tuple(problems)

    def _verify_rows(self, reader: Reader, changes: Changes) -> list[str]:
        problems = []
        width = self._duplicate_width + self._rewrite_width
        if changes.added.bands.shape[1] not in (0, width):
            problems.append(f"documents carry {changes.added.bands.shape[1]} band hashes, expected {width}")
        seqs = changes.added.seqs.tolist()
        ids: set[str] = set()
        for at in range(0, len(seqs), 1000):
            chunk = seqs[at : at + 1000]
            rows = reader.fetch(chunk, ("shingles", "terms", "counts", "segments", "anchors"))
            if len(rows) != len(chunk):
                problems.append("some documents in the log cannot be read")
            for i, doc_id in enumerate(rows.ids):
                where = f"document {doc_id!r}"
                if doc_id in ids:
                    problems.append(f"{where} is stored twice")
                ids.add(doc_id)
                for name in ("shingles", "terms", "segments", "anchors"):
                    values = rows.of(name, i)
                    if values.shape[0] > 1 and not (values[1:] > values[:-1]).all():
                        problems.append(f"{where}: its {name} are not sorted and distinct")
                # Anchors are picked among the document's shingles.
                if not np.isin(rows.of("anchors", i), rows.of("shingles", i), assume_unique=True).all():
                    problems.append(f"{where}: some of its anchors are not among its shingles")
                if (rows.of("counts", i) == 0).any():
                    problems.append(f"{where}: a term count is 0")
                if rows.words[i] < 0:
                    problems.append(f"{where}: negative word count")
        return problems

    def close(self) -> None:
        """Release the store (idempotent)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._store.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Index({self.location!r})"

    def _use(self) -> _Using:
        if self._closed:
            raise IndexStoreError(f"the index {self.location} is closed")
        if os.getpid() != self._pid:
            with _reattaching:
                if os.getpid() != self._pid:  # not done meanwhile by another thread of this child
                    self._after_fork()
        return _Using(self._lock)


class _Using:
    """The index's lock, held for one call (an index object may be shared by the threads of a process)."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


# ---------------------------------------------------------------------------------------------------------
# Helpers


def _structural(config: IndexConfig) -> dict[str, Any]:
    return {
        "k": config.shingle.k,
        "passage_window": config.shingle.window,
        "num_perm": config.signature.num_perm,
        "seed": config.signature.seed,
        "duplicate_threshold": config.duplicate_lsh.threshold,
        "rewrite_threshold": config.rewrite_lsh.threshold,
        "rewrite_top_terms": config.confirm.rewrite_top_terms,
    }


def _reconcile(store: Store, given: dict[str, object], config: IndexConfig) -> IndexConfig:
    """The settings to use with an index: its own where they shape what it stores; refuse others."""
    meta = store.meta
    stored = meta["settings"]
    made_by = meta.get("created_by", "another version")
    # The engine and the format first: an index of an older format may lack settings this version keeps (and
    # its documents what they shape), and settings of another engine's index are not comparable anyway.
    if meta["engine"] != engine_fingerprint() or meta["schema"] != SCHEMA:
        # A released version has one fingerprint (tests/test_index_settings.py): the same version here means a
        # development build made the index, and no release reads it.
        other = f"use dedup {made_by} with it" if made_by != _version() else "it was made by a development build"
        raise ConfigError(
            f"{store.location} was built by dedup {made_by}, whose text normalization or hashing differs from this "
            f"dedup {_version()}'s (engine {meta['engine']} format {meta['schema']}, here {engine_fingerprint()} "
            f"format {SCHEMA}): its signatures cannot be compared with new ones -- build the index again with this "
            f"version ({other})"
        )
    differ = [name for name in SETTINGS if name in given and given[name] != stored[name]]
    if differ:
        was = ", ".join(f"{name}={stored[name]!r}" for name in differ)
        now = ", ".join(f"{name}={given[name]!r}" for name in differ)
        raise ConfigError(
            f"{store.location} was built with {was} and was opened with {now}: signatures made with other settings "
            f"cannot be compared -- leave {', '.join(differ)} out to use the index's own, or build a new index"
        )
    own = {name: stored[name] for name in SETTINGS}
    return index_config(**{**{k: v for k, v in given.items() if k not in SETTINGS}, **own})


def _stored_form(
    doc_id: str,
    url: str | None,
    words: int,
    duplicate: npt.NDArray[np.uint32],
    rewrite: tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint8]],
    cols: npt.NDArray[np.int32],
    counts: npt.NDArray[np.float32],
    shingles: npt.NDArray[np.uint32],
    segments: npt.NDArray[Any],
    anchors: npt.NDArray[np.uint32],
) -> NewDoc:
    # A document without words takes no part in candidate search: no band hashes, no sketch, no anchors.
    bands = np.concatenate([duplicate, rewrite[0]]) if words > 0 else np.zeros(0, dtype=np.uint32)
    sketch = rewrite[1] if words > 0 else np.zeros(0, dtype=np.uint8)
    anchors = anchors if words > 0 else np.zeros(0, dtype=np.uint32)
    return NewDoc(doc_id, url, words, bands, cols, counts, shingles, segments, sketch, anchors)


def _counted(
    keys: npt.NDArray[np.uint64], counts: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    # One document's keys (a key may recur in it, with the same count) as `KeyCounts` takes them: sorted, distinct.
    distinct, first = np.unique(keys, return_index=True)
    return distinct, counts[first]


def _check_id(doc_id: object) -> None:
    if not isinstance(doc_id, str) or not doc_id:
        raise InputError(f"a document id must be a non-empty str, not {doc_id!r}")


def _check_text(text: object) -> None:
    if not isinstance(text, str):
        raise InputError(f"a document's text must be a str, not {type(text).__name__}")
    if not text.strip():
        # As a scan skips an empty file and dedup.score refuses one: an empty document matches nothing.
        raise InputError("a document's text is empty: there is nothing to index or check")

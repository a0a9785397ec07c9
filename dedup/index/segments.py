"""Segments: the folded state of an index file, written beside it and memory-mapped by every process of the host.

A process's memory of an index (`dedup.index.state`) is folded from the store's log; folding a large log takes
long and every process would hold its own copy. A segment is that state written once, at a point of the log
(its cursor), as files that each process maps read-only: the host's page cache holds one copy for all of them,
opening reads no history, and a process keeps in its own memory only what the log added after the segment
(and a byte per document saying which are still live). Segments follow the log-structured merge tree of
O'Neil et al. 1996: an immutable sorted run below, a small private delta above, merged only by writing a new run.

Layout, for an index file `crawl.index`:

    crawl.index.segments/<generation>/   one `.npy` per array of `state.BASE_ARRAYS` (numpy's format, a fixed
                                         little-endian dtype each; read with `allow_pickle=False`)
                                         manifest.json: format, generation, token, cursor, engine fingerprint,
                                         settings, documents, and per array its dtype, shape and CRC-32

A segment is only a cache of the log: the store records the current generation (with its cursor and a random
token that the manifest repeats), and a segment that is missing, partial, of another index or of other settings,
or whose files do not match its manifest, is ignored and the state is folded from the log instead. Files are
written into a temporary folder, flushed to disk (`fsync`) and renamed into place before the store records them,
so a crash or a power loss leaves either the new segment whole or the old one recorded. `check` reads every
byte against the manifest's checksums (`Index.verify`); opening checks only what is cheap (the manifest, every
file's dtype, shape and size, the sequence numbers), and the lookups treat a document number past the segment
as removed, so a damaged byte elsewhere can cost a wrong candidate, never a crash.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sys
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from dedup.engine.tfidf import N_FEATURES
from dedup.index.state import BASE_ARRAYS, Base, IndexState

__all__ = [
    "AT_LEAST",
    "FORMAT",
    "GROWTH",
    "KEEP",
    "check",
    "due",
    "folder_for",
    "install",
    "load",
    "prune",
    "stage",
    "writing",
]

FORMAT = "dedup-index-segment-1"
# Generations kept: the current one and the one before it (a process may be opening it as it is replaced).
KEEP = 2
# A new segment is written by the first process that finds, after a write, that the documents added since the
# segment are at least AT_LEAST and a GROWTH fraction of those in it (`Index.compact` writes one any time).
AT_LEAST = 50_000
GROWTH = 0.25
_MANIFEST = "manifest.json"
_LOCK = ".writing"
_STAGED = ".staged-"


def folder_for(location: str) -> Path:
    """Where the segments of the index file `location` live."""
    return Path(f"{location}.segments")


def _name(generation: int) -> str:
    return f"{generation:08d}"


# ---------------------------------------------------------------------------------------------------------
# Writing


def due(own: int, based: int) -> bool:
    """Whether a process holding `own` documents of its own over a segment of `based` should write a new one."""
    return own >= AT_LEAST and own >= GROWTH * based


@contextlib.contextmanager
def writing(folder: Path, *, wait: bool) -> Iterator[bool]:
    """Hold the host's lock on writing segments into `folder`: True once held; without `wait`, False at once when
    another process holds it. A POSIX record lock (`lockf`): let go when the process dies, and not inherited by a
    child forked meanwhile (which would otherwise hold it for its whole life)."""
    folder.mkdir(exist_ok=True)
    fd = os.open(folder / _LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (BlockingIOError, PermissionError):  # held elsewhere (EAGAIN, or EACCES on some systems)
            yield False
            return
        yield True
    finally:
        os.close(fd)  # lets go of the lock


def stage(folder: Path, state: IndexState, meta: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """Write `state` as a segment into a new temporary folder under `folder`, flushed to disk; returns that
    folder and the manifest (its `generation` still 0: `install` gives it one)."""
    folder.mkdir(exist_ok=True)
    staged = folder / f"{_STAGED}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staged.mkdir()
    arrays: dict[str, dict[str, Any]] = {}
    opened: list[np.memmap[Any, Any]] = []

    def out(name: str, dtype: np.dtype[Any], shape: tuple[int, ...]) -> npt.NDArray[Any]:
        array = np.lib.format.open_memmap(staged / f"{name}.npy", mode="w+", dtype=dtype, shape=shape)
        opened.append(array)
        arrays[name] = {"dtype": dtype.str, "shape": list(shape)}
        return np.asarray(array)

    try:
        documents = state.export(out)
        for array in opened:
            array.flush()
        del opened[:]
        for name, entry in arrays.items():
            entry["crc32"] = _crc(staged / f"{name}.npy")
            _fsync(staged / f"{name}.npy")
        manifest = {
            "format": FORMAT,
            "generation": 0,
            "token": uuid.uuid4().hex,
            "cursor": list(state.cursor or (0, 0)),
            "engine": meta["engine"],
            "settings": meta["settings"],
            "documents": documents,
            "arrays": arrays,
        }
        _write_manifest(staged, manifest)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return staged, manifest


def install(staged: Path, manifest: dict[str, Any], generation: int) -> dict[str, Any]:
    """Give a staged segment its generation and move it into place; returns the record the store keeps."""
    manifest = {**manifest, "generation": generation}
    _write_manifest(staged, manifest)
    target = staged.parent / _name(generation)
    if target.exists():  # left by a compaction that died before the store recorded it: no one reads it
        shutil.rmtree(target)
    staged.rename(target)
    _fsync(staged.parent)
    return {"generation": generation, "cursor": manifest["cursor"], "token": manifest["token"]}


def prune(folder: Path, current: int) -> None:
    """Remove the generations older than the `KEEP` newest up to `current`, and staged folders of dead writers (a
    process that maps a removed segment keeps reading it: its files go once the last mapping does)."""
    with contextlib.suppress(OSError):
        for entry in folder.iterdir():
            old = entry.name.isdigit() and int(entry.name) <= current - KEEP
            abandoned = entry.name.startswith(_STAGED) and not _alive(entry.name[len(_STAGED) :].split("-")[0])
            if old or abandoned:
                shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    path = folder / _MANIFEST
    path.write_bytes(orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS))
    _fsync(path)
    _fsync(folder)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _crc(path: Path) -> int:
    crc = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            crc = zlib.crc32(block, crc)
    return crc


# ---------------------------------------------------------------------------------------------------------
# Reading


def load(
    folder: Path, record: dict[str, Any], meta: dict[str, Any], widths: tuple[int, int, int]
) -> tuple[Base | None, str]:
    """The segment the store's `record` names, its arrays memory-mapped, and "" -- or None and why it cannot be
    used (missing, partial, of another index or settings, damaged), in which case the log gives the state.
    `widths` are the duplicate path's bands, the rewrite path's and the sketch width the index's settings make."""
    name = f"segment {record.get('generation')!r}"
    try:
        return _mapped(folder, record, meta, widths), ""
    except FileNotFoundError:
        return None, f"{name} is missing"
    except (OSError, ValueError, KeyError, TypeError) as err:
        return None, f"{name} cannot be used: {err}"


def _mapped(folder: Path, record: dict[str, Any], meta: dict[str, Any], widths: tuple[int, int, int]) -> Base:
    # The recorded segment, mapped; ValueError saying what does not fit.
    if sys.byteorder != "little":
        raise ValueError("segments are little-endian and this machine is not")
    generation = int(record["generation"])
    where = folder / _name(generation)
    manifest = _manifest(where)
    expected = {
        "format": FORMAT,
        "generation": generation,
        "token": record.get("token"),
        "cursor": list(record.get("cursor", ())),
        "engine": meta["engine"],
        "settings": meta["settings"],
    }
    differ = [key for key, value in expected.items() if manifest.get(key) != value]
    if differ:
        raise ValueError(f"it is not the one the index records (its {', '.join(differ)} differ)")
    arrays = _arrays_of(where, manifest)
    _check_shapes(arrays, manifest, widths)
    cursor = (int(manifest["cursor"][0]), int(manifest["cursor"][1]))
    seqs = arrays["seq_of"]
    if seqs.shape[0] and not (seqs[0] >= 1 and seqs[-1] <= cursor[0] and (np.diff(seqs) > 0).all()):
        raise ValueError("its sequence numbers are damaged")
    if int(arrays["df"].min()) < 0:
        raise ValueError("its document frequencies are damaged")
    return Base(generation, cursor, **arrays)


def check(folder: Path, record: dict[str, Any]) -> list[str]:
    """Problems found by reading every byte of the recorded segment against its manifest (none: it is sound)."""
    try:
        where = folder / _name(int(record["generation"]))
        manifest = _manifest(where)
        problems = []
        for name, entry in manifest["arrays"].items():
            if _crc(where / f"{name}.npy") != entry["crc32"]:
                problems.append(f"segment {where.name}: {name}.npy is damaged (its checksum differs)")
        return problems
    except (OSError, ValueError, KeyError, TypeError) as err:
        return [f"segment {record.get('generation')!r} cannot be read ({err})"]


def _manifest(where: Path) -> dict[str, Any]:
    try:
        manifest = orjson.loads((where / _MANIFEST).read_bytes())
    except orjson.JSONDecodeError as err:
        raise ValueError(f"its manifest is damaged: {err}") from err
    if not isinstance(manifest, dict) or not isinstance(manifest.get("arrays"), dict):
        raise ValueError("its manifest is damaged")
    return manifest


def _arrays_of(where: Path, manifest: dict[str, Any]) -> dict[str, npt.NDArray[Any]]:
    # Each array mapped copy-on-write: pages are shared with the page cache (and every process of the host) as
    # long as nothing writes to them, and nothing does (a write would stay in this process, never reach the
    # file). Copy-on-write rather than read-only keeps one compiled version of each lookup kernel.
    arrays: dict[str, npt.NDArray[Any]] = {}
    for name, (dtype, ndim) in BASE_ARRAYS.items():
        entry = manifest["arrays"][name]
        path = where / f"{name}.npy"
        mapped = np.load(path, mmap_mode="c", allow_pickle=False)
        if mapped.dtype != np.dtype(dtype) or mapped.ndim != ndim or list(mapped.shape) != entry["shape"]:
            raise ValueError(f"{name}.npy is not the {dtype} array of shape {entry['shape']} its manifest says")
        if isinstance(mapped, np.memmap) and mapped.offset + mapped.nbytes != path.stat().st_size:
            raise ValueError(f"{name}.npy is not the size its shape makes")
        arrays[name] = np.asarray(mapped)
    return arrays


def _check_shapes(arrays: dict[str, npt.NDArray[Any]], manifest: dict[str, Any], widths: tuple[int, int, int]) -> None:
    # ValueError naming what does not fit together.
    documents = arrays["seq_of"].shape[0]
    bands = (arrays["duplicate"].shape, arrays["rewrite"].shape, arrays["passages"].shape)
    problems = {
        "its document count differs from its manifest's": documents != manifest.get("documents"),
        "its per-document arrays are of different lengths": arrays["anchor_counts"].shape[0] != documents
        or arrays["sketches"].shape[0] != documents,
        "its sketches or document frequencies are of another width": arrays["sketches"].shape[1] != widths[2]
        or arrays["df"].shape[0] != N_FEATURES,
        "its band tables are of other widths than the settings make": (bands[0][0], bands[1][0], bands[2][0])
        != (widths[0], widths[1], 1),
        "its band tables hold other documents": bands[0][1] > documents or bands[1][1] != bands[0][1],
        "its line and sentence counts are damaged": arrays["segment_keys"].shape != arrays["segment_counts"].shape,
    }
    found = [problem for problem, true in problems.items() if true]
    if found:
        raise ValueError("; ".join(found))

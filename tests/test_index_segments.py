"""Segments of an index file: the folded state written beside it by `compact`, memory-mapped by every process of
the host, with only the log past it folded into each process's own memory; a cache of the log, never the truth."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from dedup import Index, IndexStoreError
from dedup.index import segments
from dedup.index.state import BASE_ARRAYS, IndexState
from tests.test_index import copy_of, redis_url, story  # noqa: F401 -- redis_url: a fixture


def _mapped(folder: Path) -> set[tuple[str, int]]:
    """The segment files this process maps, by name and inode."""
    found = set()
    for line in Path("/proc/self/maps").read_text().splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and parts[5].startswith(str(folder)):
            found.add((parts[5], int(parts[4])))
    return found


def _generations(folder: Path) -> list[str]:
    """The segment folder's entries but its lock file."""
    return sorted(p.name for p in folder.iterdir() if p.name != ".writing")


def _verdicts(index: Index, n: int) -> list[dict[str, object]]:
    return [index.check(text).to_dict() for i in range(n) for text in (story(i), copy_of(story(i), 7))]


def _filled(location: str, n: int = 40) -> None:
    with Index.open(location) as index:
        index.add_many((f"s{i}", story(i)) for i in range(n))
        index.remove("s3")
        index.compact()


@pytest.fixture(autouse=True)
def _linux_maps() -> None:
    if not Path("/proc/self/maps").exists():
        pytest.skip("reads /proc/self/maps (Linux)")


def test_a_reopened_index_maps_its_segment_and_folds_only_the_log_past_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    location = str(tmp_path / "crawl.index")
    _filled(location)
    with Index.open(location) as index:
        index.add_many((f"t{i}", story(100 + i)) for i in range(5))
    folded: list[int] = []
    fold = IndexState.add
    monkeypatch.setattr(IndexState, "add", lambda self, rows: (folded.append(len(rows)), fold(self, rows))[1])
    with Index.open(location) as index:
        stats = index.stats()
        assert stats.segment == 1 and stats.documents == 44 and sum(folded) == 5
        assert {Path(name).name for name, _ in _mapped(segments.folder_for(location))} >= {"duplicate.npy", "df.npy"}
        # This process's own memory is the fixed part (document frequencies, 4 MiB) and the 5 documents past the
        # segment; the 39 in it are shared.
        assert stats.shared_bytes > 0 and stats.memory_bytes < 5 * 2**20
        assert [m.id for m in index.check(story(101)).matches] == ["t1"]
        assert [m.id for m in index.check(copy_of(story(7), 1)).matches] == ["s7"]
        assert index.check(story(3)).matches == ()


def _other_process(location: str, ready: multiprocessing.Queue, go: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    with Index.open(location, farm=False) as index:
        index.add("child", story(300))
        ready.put(sorted(_mapped(segments.folder_for(location))))
        go.get(timeout=60)
        ready.put([m.id for m in index.check(story(301)).matches])


def test_two_processes_share_one_segment_and_each_sees_the_others_adds(tmp_path: Path) -> None:
    location = str(tmp_path / "crawl.index")
    _filled(location)
    context = multiprocessing.get_context("fork")
    ready, go = context.Queue(), context.Queue()
    child = context.Process(target=_other_process, args=(location, ready, go))
    child.start()
    try:
        with Index.open(location, farm=False) as index:
            theirs = ready.get(timeout=120)
            assert theirs and sorted(_mapped(segments.folder_for(location))) == theirs  # the same files, inodes
            assert [m.id for m in index.check(story(300)).matches] == ["child"]
            index.add("parent", story(301))
            go.put(True)
            assert ready.get(timeout=60) == ["parent"]
    finally:
        child.join(60)
    assert child.exitcode == 0


def _damage_array(folder: Path) -> None:
    path = folder / "00000001" / "seq_of.npy"
    data = bytearray(path.read_bytes())
    data[-8:] = bytes(8)  # the last sequence number 0: out of order
    path.write_bytes(bytes(data))


def _truncate(folder: Path) -> None:
    path = folder / "00000001" / "duplicate.npy"
    path.write_bytes(path.read_bytes()[:-100])


def _flip_a_table_byte(folder: Path) -> None:
    path = folder / "00000001" / "rewrite.npy"
    data = bytearray(path.read_bytes())
    data[200] ^= 0xFF
    path.write_bytes(bytes(data))


def _edit_manifest(folder: Path, **changes: object) -> None:
    path = folder / "00000001" / "manifest.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({**manifest, **changes}))


@pytest.mark.parametrize(
    "damage",
    [
        _damage_array,
        _truncate,
        lambda f: (f / "00000001" / "manifest.json").write_text("{not json"),
        lambda f: _edit_manifest(f, token="another index's"),
        lambda f: _edit_manifest(f, settings={"k": 3}),
        lambda f: (f / "00000001" / "df.npy").unlink(),
        lambda f: [p.unlink() for p in (f / "00000001").iterdir()],
    ],
    ids=["sequence-numbers", "truncated", "manifest", "other-index", "other-settings", "file-missing", "all-gone"],
)
def test_a_damaged_or_missing_segment_is_ignored_and_the_log_gives_the_state(tmp_path: Path, damage: object) -> None:
    location, plain = str(tmp_path / "crawl.index"), str(tmp_path / "plain.index")
    _filled(location)
    with Index.open(plain) as index:
        index.add_many((f"s{i}", story(i)) for i in range(40))
        index.remove("s3")
        expected = _verdicts(index, 42)
    damage(segments.folder_for(location))  # type: ignore[operator]
    with Index.open(location) as index:
        assert index.stats().segment is None and _verdicts(index, 42) == expected
        assert index.verify()  # named, with the fix
        index.compact()  # writes a sound one
        assert index.stats().segment == 2 and index.verify() == ()
        assert _verdicts(index, 42) == expected


def test_a_damaged_byte_in_a_table_is_named_by_verify_and_a_new_compaction_repairs_it(tmp_path: Path) -> None:
    location = str(tmp_path / "crawl.index")
    _filled(location)
    _flip_a_table_byte(segments.folder_for(location))
    with Index.open(location) as index:
        assert any("rewrite.npy is damaged" in p and "dedup index compact" in p for p in index.verify())
        index.add("x", story(500))  # lookups still run (a wrong slot counts as removed)
        index.compact()
        assert index.verify() == () and [m.id for m in index.check(story(500)).matches] == ["x"]


def test_compaction_makes_a_new_generation_that_running_processes_switch_to(tmp_path: Path) -> None:
    location = str(tmp_path / "crawl.index")
    _filled(location)
    with Index.open(location) as first, Index.open(location) as second:
        first.add_many((f"t{i}", story(100 + i)) for i in range(30))
        second.check(story(0))
        assert second.stats().segment == 1 and second._state.own_documents == 30
        first.remove("s5")
        assert first.compact() >= 1 and first.stats().segment == 2
        assert [m.id for m in second.check(story(105)).matches] == ["t5"]
        # `second` switched at its call: the new segment mapped, nothing of its own left to fold.
        assert second.stats().segment == 2 and second._state.own_documents == 0
        assert second.check(story(5)).matches == () and len(second) == 68
        folder = segments.folder_for(location)
        first.compact()
        first.compact()
        assert _generations(folder) == ["00000003", "00000004"]  # the two newest kept
        assert _verdicts(second, 40) == _verdicts(first, 40)


def test_verdicts_and_farm_scores_are_the_same_with_and_without_segments(tmp_path: Path) -> None:
    with Index.open(tmp_path / "seg.index") as segmented, Index.open(tmp_path / "plain.index") as plain:
        for step in range(4):
            for index in (segmented, plain):
                index.add_many((f"s{step}-{i}", story(10 * step + i)) for i in range(10))
                index.add(f"c{step}", copy_of(story(10 * step), step))
                index.remove(f"s{step}-3")
            segmented.compact()
            with Index.open(tmp_path / "seg.index") as fresh:
                assert _verdicts(fresh, 40) == _verdicts(plain, 40) == _verdicts(segmented, 40)
        assert segmented.stats().hot_buckets == plain.stats().hot_buckets
        assert len(segmented) == len(plain) == 40


def _in_a_forked_child(index: Index) -> None:
    # Its first call opens its own connection and maps the segment again.
    assert [m.id for m in index.check(story(7)).matches] == ["s7"]
    assert index.add("kid", story(400)).added and index.stats().segment == 1


def test_an_index_mapping_a_segment_works_in_a_forked_child(tmp_path: Path) -> None:
    location = str(tmp_path / "crawl.index")
    _filled(location)
    with Index.open(location, farm=False) as index:
        assert index.stats().segment == 1
        child = multiprocessing.get_context("fork").Process(target=_in_a_forked_child, args=(index,))
        child.start()
        child.join(60)
        assert child.exitcode == 0
        assert [m.id for m in index.check(story(400)).matches] == ["kid"]


def _compact_and_die(location: str) -> None:
    def die(*args: object) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    segments.install = die  # type: ignore[assignment]
    with Index.open(location) as index:
        index.add("late", story(600))
        index.compact()


def test_a_process_killed_while_writing_a_segment_leaves_the_index_as_it_was(tmp_path: Path) -> None:
    location = str(tmp_path / "crawl.index")
    _filled(location)
    child = multiprocessing.get_context("fork").Process(target=_compact_and_die, args=(location,))
    child.start()
    child.join(120)
    assert child.exitcode == -signal.SIGKILL
    folder = segments.folder_for(location)
    assert any(p.name.startswith(".staged-") for p in folder.iterdir())  # what it was writing, left behind
    with Index.open(location) as index:
        assert index.stats().segment == 1 and index.verify() == ()
        assert [m.id for m in index.check(story(600)).matches] == ["late"]  # acknowledged before the kill
        index.compact()
    assert _generations(folder) == ["00000001", "00000002"]  # the dead writer's leftovers gone


def test_a_redis_index_keeps_no_segments(redis_url: str) -> None:  # noqa: F811 -- the fixture imported above
    with Index.open(f"{redis_url}?prefix=seg{os.getpid()}", farm=False) as index:
        index.add_many((f"s{i}", story(i)) for i in range(5))
        index.remove("s1")
        assert index.compact() >= 0 and index.stats().segment is None
        assert [m.id for m in index.check(story(2)).matches] == ["s2"]


def test_segment_arrays_are_little_endian_of_fixed_dtypes_and_never_pickled(tmp_path: Path) -> None:
    location = str(tmp_path / "crawl.index")
    _filled(location)
    folder = segments.folder_for(location) / "00000001"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["documents"] == 39 and manifest["cursor"][0] == 40
    for name, entry in manifest["arrays"].items():
        array = np.load(folder / f"{name}.npy", allow_pickle=False)
        assert array.dtype.str == entry["dtype"] and entry["dtype"][0] in "<|" and list(array.shape) == entry["shape"]


def test_a_writer_whose_own_part_outgrows_the_segment_writes_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(segments, "AT_LEAST", 10)
    location = str(tmp_path / "crawl.index")
    with Index.open(location, farm=False, batch_size=10) as writer, Index.open(location, farm=False) as reader:
        writer.add_many((f"s{i}", story(i)) for i in range(25))
        # 10 documents: segment 1; 20, a quarter more than 10: segment 2; 25: not yet (5 of its own).
        assert writer.stats().segment == 2 and writer._state.own_documents == 5
        for i in range(25, 37):
            writer.add(f"s{i}", story(i))
        assert writer.stats().segment == 3 and writer._state.own_documents == 7  # segment 3 at 30
        assert [m.id for m in reader.check(story(30)).matches] == ["s30"]
        assert reader.stats().segment == 3 and len(reader) == 37


def test_a_segment_whose_log_was_compacted_away_is_left_for_the_log(tmp_path: Path) -> None:
    location = str(tmp_path / "crawl.index")
    _filled(location)  # segment 1 covers the removal of s3
    with Index.open(location) as index:
        index.remove("s4")
        index.remove("s5")
    conn = sqlite3.connect(location)
    conn.execute("DELETE FROM removed WHERE rseq = (SELECT min(rseq) FROM removed WHERE seq > 0) + 1")  # s4's
    conn.commit()
    conn.close()
    with Index.open(location) as index:
        # The removal of s4 past the segment can no longer be read: the state comes from the live documents.
        assert index.stats().segment is None and len(index) == 37
        assert index.check(story(4)).matches == index.check(story(5)).matches == ()
        assert [m.id for m in index.check(story(6)).matches] == ["s6"] and index.stats().segment is None


def test_a_segment_that_cannot_be_written_costs_a_warning_never_an_add(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(segments, "AT_LEAST", 5)
    monkeypatch.setattr(segments, "stage", full_disk)
    with Index.open(tmp_path / "crawl.index", farm=False, batch_size=5) as index:
        with pytest.warns(RuntimeWarning, match="no segment written"):
            assert index.add_many((f"s{i}", story(i)) for i in range(10)) == 10
        assert len(index) == 10 and index.stats().segment is None
        with pytest.raises(IndexStoreError, match="cannot write a segment"):
            index.compact()


def test_nothing_is_written_into_the_mapped_segment(tmp_path: Path) -> None:
    # The arrays are mapped copy-on-write: a write would not reach the file, but would show as a difference
    # between what this process sees and the file.
    location = str(tmp_path / "crawl.index")
    _filled(location)
    with Index.open(location, max_bucket=3) as index:
        for i in range(5):
            index.add(f"copy{i}", copy_of(story(8), i))  # a hot bucket, over the segment's s8
        index.add_many((f"t{i}", story(200 + i)) for i in range(30))
        for doc_id in ("s1", "s2", "t4", "copy0"):
            index.remove(doc_id)
        _verdicts(index, 40)
        assert index.stats().hot_buckets
        base = index._state.base
        assert base is not None and base.generation == 1
        folder = segments.folder_for(location) / "00000001"
        for name in BASE_ARRAYS:
            assert np.array_equal(getattr(base, name), np.load(folder / f"{name}.npy")), name

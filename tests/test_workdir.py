"""Work folders of scans out of core: a killed scan's folder is removed by the next scan in the same place, a
running scan's never."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dedup
from dedup.cli.app import exit_on_sigterm
from dedup.config import OutOfCoreConfig, scan_config
from dedup.scan.outofcore import scan_out_of_core
from dedup.scan.pipeline import Batch
from dedup.scan.workdir import PREFIX, abandoned, work_folder

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def _age(folder: Path, seconds: float) -> None:
    # As if the folder's scan had started `seconds` ago.
    for path in (folder, *folder.iterdir()):
        then = time.time() - seconds
        os.utime(path, (then, then))


def _hanging_scan(target: Callable[..., None], work_dir: Path) -> multiprocessing.process.BaseProcess:
    # `target(work_dir, started)` in a child process, once it holds its work folder.
    context = multiprocessing.get_context("fork")
    started = context.Event()
    child = context.Process(target=target, args=(work_dir, started))
    child.start()
    assert started.wait(60)
    return child


def _scan_that_hangs(work_dir: Path, started: multiprocessing.synchronize.Event) -> None:
    # A scan out of core that never gets its first batch: it holds its work folder until it is killed.
    def batches() -> Iterator[Batch]:
        started.set()
        time.sleep(600)
        yield from ()

    scan_out_of_core(batches(), scan_config(), OutOfCoreConfig(work_dir=str(work_dir)))


def test_a_killed_scans_work_folder_is_removed_by_the_next_scan(tmp_path: Path) -> None:
    stuck = _hanging_scan(_scan_that_hangs, tmp_path)
    [left] = list(tmp_path.glob(f"{PREFIX}*"))
    os.kill(stuck.pid, signal.SIGKILL)  # nothing of the scan runs after this: no cleanup of its own
    stuck.join()
    assert left.is_dir()
    _age(left, 3600)

    result = dedup.scan(FIXTURES / "news", work_dir=tmp_path, score=False)

    assert result.documents
    assert list(tmp_path.iterdir()) == []


def test_a_running_scans_work_folder_is_never_taken_as_abandoned(tmp_path: Path) -> None:
    with work_folder(tmp_path) as folder:
        _age(folder, 3600)
        assert abandoned(tmp_path) == []
        dedup.scan(FIXTURES / "news", work_dir=tmp_path, score=False)  # another scan in the same place
        assert folder.is_dir()
    assert not folder.exists()


def test_a_folder_just_made_is_left_alone_until_its_scan_can_lock_it(tmp_path: Path) -> None:
    young = tmp_path / f"{PREFIX}starting"
    young.mkdir()
    (young / ".lock").touch()
    assert abandoned(tmp_path) == []
    assert abandoned(tmp_path, now=time.time() + 3600) == [young]


def test_folders_that_are_not_work_folders_are_never_touched(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / f"{PREFIX}without-a-lock").mkdir()
    _age(tmp_path / f"{PREFIX}without-a-lock", 3600)
    dedup.scan(FIXTURES / "news", work_dir=tmp_path, score=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{PREFIX}without-a-lock", "notes"]


def _terminated_scan(work_dir: Path, started: multiprocessing.synchronize.Event) -> None:
    exit_on_sigterm()  # as the `dedup` command does
    _scan_that_hangs(work_dir, started)


def test_a_scan_stopped_with_sigterm_removes_its_own_work_folder(tmp_path: Path) -> None:
    stopped = _hanging_scan(_terminated_scan, tmp_path)
    assert list(tmp_path.glob(f"{PREFIX}*"))
    os.kill(stopped.pid, signal.SIGTERM)
    stopped.join(60)
    assert stopped.exitcode == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []

"""Work folders of out-of-core scans: held by a lock while their scan runs, and removed by a later scan when the
scan that made one was killed.

A scan out of core writes its features to a folder of several gigabytes per million documents. A scan that ends,
fails or is interrupted removes its folder; a scan killed outright (SIGKILL, the machine's out-of-memory killer, a
power loss) cannot. Each folder therefore holds a lock file that its scan keeps locked (`fcntl.flock`, released
by the kernel when the process dies, whatever killed it), and every scan first removes the folders in its parent
folder whose lock it can take: no live scan holds them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["PREFIX", "abandoned", "work_folder"]

PREFIX = "dedup-scan-"
_LOCK = ".lock"
# A folder younger than this is never taken as abandoned: its scan may not have locked it yet (a folder is made,
# then its lock file), and a clock step should not turn a running scan's folder into a stale one.
_GRACE_SECONDS = 60.0


@contextlib.contextmanager
def work_folder(parent: str | os.PathLike[str] | None) -> Iterator[Path]:
    """A new work folder under `parent` (the system's temporary folder when None), locked while the block runs
    and removed at its end; the folders killed scans left there are removed first."""
    base = Path(parent) if parent is not None else Path(tempfile.gettempdir())
    for stale in abandoned(base):
        shutil.rmtree(stale, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=base))
    try:
        with (folder / _LOCK).open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def abandoned(parent: Path, now: float | None = None) -> list[Path]:
    """The work folders under `parent` that no running scan holds (their scan was killed)."""
    now = time.time() if now is None else now
    found: list[Path] = []
    try:
        candidates = sorted(parent.glob(f"{PREFIX}*"))
    except OSError:
        return found
    for folder in candidates:
        lock_path = folder / _LOCK
        try:
            if now - lock_path.stat().st_mtime < _GRACE_SECONDS:
                continue
            with lock_path.open("r") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held by a running scan (BlockingIOError), or not a work folder of ours
            continue
        found.append(folder)
    return found

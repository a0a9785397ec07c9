"""An index file damaged anywhere: opening, checking, stats and verify give `IndexStoreError` or a report,
never another exception, and never allocate far beyond the file's own size."""

from __future__ import annotations

import contextlib
import random
import resource
from pathlib import Path

import pytest

from dedup import ConfigError, Index, IndexStoreError

STORY = "The council met on {0} to vote on plan {0} for the harbor, the ferry and the {0} bridge repairs. "
TRIALS = 40


@pytest.fixture(scope="module")
def sound(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a small, sound index file."""
    path = tmp_path_factory.mktemp("sound") / "crawl.index"
    with Index.open(path, farm=False) as index:
        index.add_many((f"s{i}", STORY.format(i) * 6) for i in range(120))
    return path.read_bytes()


def _use(path: Path) -> None:
    with Index.open(path, farm=False) as index:
        index.stats()
        index.check(STORY.format(7) * 6)
        index.verify()


@pytest.mark.parametrize("trial", range(TRIALS))
def test_random_damage_is_an_index_store_error_or_a_report(sound: bytes, tmp_path: Path, trial: int) -> None:
    rng = random.Random(trial)
    data = bytearray(sound)
    at = rng.randrange(0, len(data) - 512)
    data[at : at + 512] = rng.randbytes(512)
    path = tmp_path / "crawl.index"
    path.write_bytes(bytes(data))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with contextlib.suppress(IndexStoreError, ConfigError):  # refused with a message; anything else fails
        _use(path)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib * 1024 < 200 * len(sound) + 64 * 2**20

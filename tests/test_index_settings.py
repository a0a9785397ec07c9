"""What an index keeps of its settings: each one that shapes stored signatures is refused when it differs."""

from __future__ import annotations

from pathlib import Path

import pytest

from dedup import ConfigError, Index
from dedup._version import __version__
from dedup.index.features import engine_fingerprint
from dedup.index.storage.records import SETTINGS

# A value other than the default for every setting an index keeps.
OTHER = {
    "k": 4,
    "passage_window": 12,
    "num_perm": 64,
    "seed": 2,
    "duplicate_threshold": 0.3,
    "rewrite_threshold": 0.3,
    "rewrite_top_terms": 16,
}

# The engine fingerprint of each released version: a change to normalization, hashing or what an index
# stores changes the fingerprint, and must come with a new version, so that the refusal of an old index
# names a version that can still read it.
ENGINES = {"0.2.0": "8bbb2e142cf8fe3613fc9e06"}


def test_every_kept_setting_has_another_value_to_try() -> None:
    assert set(OTHER) == set(SETTINGS)


@pytest.mark.parametrize("name", sorted(OTHER))
def test_each_setting_that_shapes_signatures_is_refused_when_it_differs(tmp_path: Path, name: str) -> None:
    location = str(tmp_path / "crawl.index")
    Index.open(location, farm=False).close()
    with pytest.raises(ConfigError, match=rf"was built with {name}=.*opened with {name}=.*leave {name} out"):
        Index.open(location, **{name: OTHER[name]})  # type: ignore[arg-type]
    with Index.open(location, farm=False) as index:  # its own settings, when none is given
        assert index.stats().settings[name] != OTHER[name]


def test_the_engine_fingerprint_is_the_one_recorded_for_this_version() -> None:
    assert engine_fingerprint() == ENGINES.get(__version__), (
        "the engine's fingerprint changed: indexes of the last release can no longer be opened, so this is a new "
        "version (dedup/_version.py) with its fingerprint recorded here"
    )

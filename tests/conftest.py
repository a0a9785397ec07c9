"""Shared fixtures: the bundled corpora, and the real data beside the checkout (skipped when absent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def news_dir() -> Path:
    """The synthetic news corpus with planted copies and rewrites."""
    return ROOT / "fixtures" / "news"


@pytest.fixture(scope="session")
def news_labels() -> dict[str, Any]:
    """The ground truth of the news corpus."""
    labels: dict[str, Any] = json.loads((ROOT / "fixtures" / "news.labels.json").read_text(encoding="utf-8"))
    return labels


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Real corpora in ../shared/data; tests that need them skip cleanly where they are absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


SHARED_SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.fixture(scope="session")
def shared_seeds() -> list[Path]:
    """The five content-farm seeds in ../shared/seeds; tests that need them skip where they are absent."""
    seeds = sorted(SHARED_SEEDS.glob("*.txt")) if SHARED_SEEDS.is_dir() else []
    if not seeds:
        pytest.skip(f"content-farm seeds not found at {SHARED_SEEDS}")
    return seeds

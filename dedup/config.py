"""Typed, frozen settings, one dataclass per pipeline stage, checked on construction."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from numbers import Real

from dedup.errors import ConfigError

__all__ = [
    "FRACTION",
    "INDEX_BATCH_SIZE",
    "NUM_PERM",
    "PASSAGE_WINDOW",
    "SEED",
    "SHINGLE_SIZE",
    "WORKERS",
    "ClusterConfig",
    "ConfirmConfig",
    "IndexConfig",
    "LSHConfig",
    "OutOfCoreConfig",
    "Range",
    "ScanConfig",
    "ShingleConfig",
    "SignatureConfig",
    "index_config",
    "parse_size",
    "scan_config",
]


@dataclass(frozen=True)
class Range:
    """The values a setting may take, bounds included; `high` None: no upper bound.

    >>> 16 in SHINGLE_SIZE, 17 in SHINGLE_SIZE
    (True, False)
    """

    low: float
    high: float | None = None

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, Real):  # numpy's numbers too
            return False
        number = float(value)
        return self.low <= number and (self.high is None or number <= self.high)


# The ranges of the settings a user chooses: checked here on construction, and offered by the `dedup` command.
SHINGLE_SIZE = Range(1, 16)
PASSAGE_WINDOW = Range(0, 1000)
NUM_PERM = Range(2, 1024)
SEED = Range(0, 2**32 - 1)
FRACTION = Range(0.0, 1.0)
WORKERS = Range(0)  # 0: all cores
INDEX_BATCH_SIZE = Range(1, 100_000)


def _check_fraction(name: str, value: float) -> None:
    if value not in FRACTION:
        raise ConfigError(f"{name}={value!r} is out of range -- it must be between {FRACTION.low} and {FRACTION.high}.")


@dataclass(frozen=True)
class ShingleConfig:
    """Word k-grams over normalized tokens (each character is a token in scripts written without spaces), and
    the passage anchors winnowed from them: any passage of `window + k - 1` words two documents share gives
    them a common anchor (`dedup.engine.passages`); `window` 0 finds no anchors.
    """

    k: int = 5
    # 20 k-grams: a shared passage of 24 words is always found, and an article of 300 words has about 30
    # anchors. On real articles, 10% excerpts are then found as duplicates 99% of the time, against 79% by
    # bands alone (bench/quality.py); windows from 16 to 24 found the same excerpts, with more anchors or fewer.
    window: int = 20

    def __post_init__(self) -> None:
        if self.k not in SHINGLE_SIZE:
            raise ConfigError(
                f"shingle size k={self.k!r} is out of range -- use a value from {SHINGLE_SIZE.low} to "
                f"{SHINGLE_SIZE.high} (5 is usual)."
            )
        if self.window not in PASSAGE_WINDOW:
            raise ConfigError(
                f"passage window={self.window!r} is out of range -- use {PASSAGE_WINDOW.low} (no passage anchors) to "
                f"{PASSAGE_WINDOW.high} (20 is usual)."
            )


@dataclass(frozen=True)
class SignatureConfig:
    """MinHash signatures with datasketch's `affine32` permutations for this `num_perm` and `seed`."""

    num_perm: int = 128
    seed: int = 1

    def __post_init__(self) -> None:
        if self.num_perm not in NUM_PERM:
            raise ConfigError(
                f"num_perm={self.num_perm!r} is out of range -- use {NUM_PERM.low} to {NUM_PERM.high} (128 is usual)."
            )
        if self.seed not in SEED:
            raise ConfigError(f"seed={self.seed!r} must be a non-negative integer below 2**32.")


@dataclass(frozen=True)
class LSHConfig:
    """LSH banding for one candidate path: bands and rows are chosen from the Jaccard `threshold`.

    `false_negative_weight` above 0.5 favours recall: the confirmation stage removes false positives,
    nothing restores a missed pair. `min_agreement` drops candidates whose signatures agree on fewer than
    that share of positions (their estimated Jaccard) before the costlier confirmation.
    """

    threshold: float
    false_negative_weight: float = 0.8
    max_bucket: int = 64
    min_agreement: float = 0.0

    def __post_init__(self) -> None:
        _check_fraction("threshold", self.threshold)
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"LSH threshold={self.threshold!r} must be strictly between 0 and 1.")
        _check_fraction("false_negative_weight", self.false_negative_weight)
        _check_fraction("min_agreement", self.min_agreement)
        if self.max_bucket < 2:
            raise ConfigError(f"max_bucket={self.max_bucket!r} must be at least 2.")


@dataclass(frozen=True)
class ConfirmConfig:
    """Thresholds that turn a candidate pair into a `duplicate`, a `rewrite`, or nothing.

    A pair is a `duplicate` when it shares copied text: its shingle Jaccard reaches `duplicate_jaccard`; or
    nearly all of the smaller document is in the larger (containment, overlap over the smaller set, from
    `excerpt_containment`: an excerpt, a wrapped copy); or part of it is (from `duplicate_containment`) and the
    two are about the same thing, as a rewrite is (cosine from `rewrite_cosine`). Two pages of one site that
    share only its header and footer are therefore not copies. Every duplicate has a TF-IDF cosine of at least
    `duplicate_cosine`. Otherwise a pair is a `rewrite` when its cosine reaches `rewrite_cosine`: the same
    content reworded.
    """

    duplicate_containment: float = 0.2
    # On real articles, excerpts and wrapped copies are contained whole (1.0); a site template shared by two
    # pages is a quarter to a half of the shorter one.
    excerpt_containment: float = 0.8
    duplicate_jaccard: float = 0.4
    duplicate_cosine: float = 0.3
    rewrite_cosine: float = 0.45
    rewrite_top_terms: int = 24

    def __post_init__(self) -> None:
        for name in (
            "duplicate_containment",
            "excerpt_containment",
            "duplicate_jaccard",
            "duplicate_cosine",
            "rewrite_cosine",
        ):
            _check_fraction(name, getattr(self, name))
        if not 4 <= self.rewrite_top_terms <= 256:
            raise ConfigError(f"rewrite_top_terms={self.rewrite_top_terms!r} must be from 4 to 256.")


@dataclass(frozen=True)
class ClusterConfig:
    """How a cluster's representative is chosen (the `longest` member or the `first` in input order), and by
    how much a member's claim to be the cluster's source must lead the next one's to be named its `source`
    (`dedup.engine.source`)."""

    representative: str = "longest"
    source_margin: float = 0.05

    def __post_init__(self) -> None:
        if self.representative not in ("longest", "first"):
            raise ConfigError(f"representative={self.representative!r} -- use 'longest' or 'first'.")
        if not 0.0 <= self.source_margin <= 1.0:
            raise ConfigError(
                f"source_margin={self.source_margin!r} must be from 0 to 1 (a lead in claim: coverage less the "
                "machine-prose prior)."
            )


@dataclass(frozen=True)
class ScanConfig:
    """Everything a batch scan needs, one slice per stage."""

    shingle: ShingleConfig = field(default_factory=ShingleConfig)
    signature: SignatureConfig = field(default_factory=SignatureConfig)
    # Excerpts have a low Jaccard with their source (a 20% excerpt: about 0.2), so the duplicate path aims
    # low too; on real articles 0.2 finds 96% of 20% excerpts where 0.3 found 80%.
    duplicate_lsh: LSHConfig = field(default_factory=lambda: LSHConfig(threshold=0.2, min_agreement=0.05))
    # Rewrites share few exact terms: a low threshold finds them, and the agreement floor drops the random
    # collisions that two-row bands let through (99% of confirmed rewrites on real data agree on >= 0.1).
    rewrite_lsh: LSHConfig = field(default_factory=lambda: LSHConfig(threshold=0.2, min_agreement=0.08))
    confirm: ConfirmConfig = field(default_factory=ConfirmConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    workers: int = 0
    batch_size: int = 2048
    # Score every document as content-farm output (dedup/farm); False for a pure deduplication run.
    score: bool = True

    def __post_init__(self) -> None:
        if self.workers not in WORKERS:
            raise ConfigError(f"workers={self.workers!r} must be 0 (all cores) or a positive count.")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size={self.batch_size!r} must be positive.")


_SETTINGS = {
    "k": ("shingle", "k"),
    "passage_window": ("shingle", "window"),
    "num_perm": ("signature", "num_perm"),
    "seed": ("signature", "seed"),
    "duplicate_threshold": ("duplicate_lsh", "threshold"),
    "rewrite_threshold": ("rewrite_lsh", "threshold"),
    "duplicate_containment": ("confirm", "duplicate_containment"),
    "excerpt_containment": ("confirm", "excerpt_containment"),
    "duplicate_jaccard": ("confirm", "duplicate_jaccard"),
    "duplicate_cosine": ("confirm", "duplicate_cosine"),
    "rewrite_cosine": ("confirm", "rewrite_cosine"),
    "rewrite_top_terms": ("confirm", "rewrite_top_terms"),
    "representative": ("cluster", "representative"),
    "source_margin": ("cluster", "source_margin"),
}


def scan_config(**settings: object) -> ScanConfig:
    """A `ScanConfig` from flat keyword settings (the names `dedup scan` options use).

    >>> scan_config(k=4, rewrite_cosine=0.6).shingle.k
    4
    """
    from dataclasses import replace

    unknown = sorted(set(settings) - set(_SETTINGS) - {"workers", "batch_size", "score"})
    if unknown:
        known = ", ".join(sorted([*_SETTINGS, "workers", "batch_size", "score"]))
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)} -- known settings are: {known}.")
    base = ScanConfig()
    stages: dict[str, dict[str, object]] = {}
    for name, value in settings.items():
        if name in _SETTINGS:
            stage, attr = _SETTINGS[name]
            stages.setdefault(stage, {})[attr] = value
    top: dict[str, object] = {stage: replace(getattr(base, stage), **values) for stage, values in stages.items()}
    top.update({k: settings[k] for k in ("workers", "batch_size", "score") if k in settings})
    return replace(base, **top)  # type: ignore[arg-type]


@dataclass(frozen=True)
class IndexConfig:
    """Everything a crawler index needs: the scan's stage slices, with the scan's defaults, and how it is used.

    `shingle`, `signature`, both LSH thresholds and `confirm.rewrite_top_terms` shape what the index stores, so an
    index keeps them and refuses others; the confirmation thresholds, `max_bucket`, `batch_size` (documents per
    `add_many` transaction), `timeout` (seconds to wait for another writer or the server) and `farm` apply per open.
    The LSH `min_agreement` filters of a scan are not used: the index measures every candidate exactly.
    """

    shingle: ShingleConfig = field(default_factory=ShingleConfig)
    signature: SignatureConfig = field(default_factory=SignatureConfig)
    duplicate_lsh: LSHConfig = field(default_factory=lambda: ScanConfig().duplicate_lsh)
    rewrite_lsh: LSHConfig = field(default_factory=lambda: ScanConfig().rewrite_lsh)
    confirm: ConfirmConfig = field(default_factory=ConfirmConfig)
    batch_size: int = 1000
    timeout: float = 30.0
    farm: bool = True

    def __post_init__(self) -> None:
        if self.batch_size not in INDEX_BATCH_SIZE:
            raise ConfigError(
                f"batch_size={self.batch_size!r} must be from {INDEX_BATCH_SIZE.low:,} to {INDEX_BATCH_SIZE.high:,} "
                "documents per transaction."
            )
        if not 0.0 < self.timeout <= 3600.0:
            raise ConfigError(f"timeout={self.timeout!r} must be a number of seconds above 0 and at most 3600.")


_UNITS = {"": 1, "B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}
# Below this a budget cannot hold one batch of features and the buffers of a merge.
MIN_MEMORY = 1 << 20


def parse_size(text: str) -> int:
    """Bytes from a size such as `512MB`, `4GB` or `1.5 GB` (units of 1024; `KiB`, `MiB`, `GiB` alike).

    >>> parse_size("4GB"), parse_size("512MiB"), parse_size("1.5 kb")
    (4294967296, 536870912, 1536)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(I?B)?\s*", text.upper())
    if match is None:
        raise ConfigError(f"memory={text!r} is not a size -- write a number and a unit, as 512MB or 4GB.")
    unit = match.group(2) + ("B" if match.group(2) or match.group(3) else "")
    return int(float(match.group(1)) * _UNITS[unit])


@dataclass(frozen=True)
class OutOfCoreConfig:
    """A scan whose features live in files under `work_dir` (a temporary folder when None), with at most about
    `memory` bytes of them in memory at once (`dedup.scan.outofcore`)."""

    memory: int = 4 << 30
    work_dir: str | None = None

    def __post_init__(self) -> None:
        if self.memory < MIN_MEMORY:
            raise ConfigError(
                f"memory={self.memory!r} bytes is too little -- give at least {MIN_MEMORY >> 20}MB (4GB is usual)."
            )


# Flat index setting -> the (stage, attribute) slots it sets; max_bucket bounds the buckets of both LSH paths.
_INDEX_SETTINGS: dict[str, tuple[tuple[str, str], ...]] = {
    **{name: (slot,) for name, slot in _SETTINGS.items() if slot[0] != "cluster"},
    "max_bucket": (("duplicate_lsh", "max_bucket"), ("rewrite_lsh", "max_bucket")),
}
_INDEX_TOP_LEVEL = ("batch_size", "timeout", "farm")


def index_config(**settings: object) -> IndexConfig:
    """An `IndexConfig` from flat keyword settings (the names `scan_config` takes, less the cluster ones, plus
    `max_bucket`, `batch_size`, `timeout` and `farm`).

    >>> index_config(k=4, rewrite_cosine=0.6).confirm.rewrite_cosine
    0.6
    """
    from dataclasses import replace

    unknown = sorted(set(settings) - set(_INDEX_SETTINGS) - set(_INDEX_TOP_LEVEL))
    if unknown:
        known = ", ".join(sorted([*_INDEX_SETTINGS, *_INDEX_TOP_LEVEL]))
        raise ConfigError(f"unknown index setting(s) {', '.join(unknown)} -- known settings are: {known}.")
    base = IndexConfig()
    stages: dict[str, dict[str, object]] = {}
    for name, value in settings.items():
        for stage, attr in _INDEX_SETTINGS.get(name, ()):
            stages.setdefault(stage, {})[attr] = value
    top: dict[str, object] = {stage: replace(getattr(base, stage), **values) for stage, values in stages.items()}
    top.update({k: settings[k] for k in _INDEX_TOP_LEVEL if k in settings})
    return replace(base, **top)  # type: ignore[arg-type]

"""The calibrated combiner: signal values -> log-odds contributions -> a probability.

A logistic model over standardised signals (Cox 1958; Platt 1999 scaling folded into its weights), so the
log-odds of a score is exactly its intercept plus one contribution per signal, each readable on its own:
`contribution = weight * clip((transform(value) - center) / scale, low, high)`. A contribution is measured
from the average training article (center), so it says how far this signal moved the verdict.

Its parameters ship in `params.json` beside this file, written by `bench/train_farm.py`. Signals the
training data cannot teach (page templates: generic headings, repeated titles, syndication footers, and
the corpus-level signals) carry weights set by hand (`"kind": "prior"`), each with its reason in the file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import numpy.typing as npt

from dedup.errors import ConfigError

__all__ = ["LEARNED", "PRIOR", "Params", "SignalParams", "contribution", "contributions", "load_params", "sigmoid"]

LEARNED = "learned"
PRIOR = "prior"
_TRANSFORMS = ("identity", "log1p")


@dataclass(frozen=True, slots=True)
class SignalParams:
    """How one signal enters the score (see the module docstring for the formula)."""

    kind: str
    transform: str
    center: float
    scale: float
    low: float
    high: float
    weight: float
    threshold: float

    def __post_init__(self) -> None:
        if self.kind not in (LEARNED, PRIOR):
            raise ConfigError(f"signal kind {self.kind!r} -- use {LEARNED!r} or {PRIOR!r}.")
        if self.transform not in _TRANSFORMS:
            raise ConfigError(f"transform {self.transform!r} -- use one of {', '.join(_TRANSFORMS)}.")
        if not self.scale > 0 or not self.low <= self.high:
            raise ConfigError(f"scale={self.scale!r} must be positive and low={self.low!r} <= high={self.high!r}.")


@dataclass(frozen=True, slots=True)
class Params:
    """The whole model: intercept, default flag threshold, the length below which style evidence is
    discounted, one `SignalParams` per signal code, the word weights of the older `style_words` signal (empty
    when the model does not use it), and the intercept and table size of the `machine_prose` model (its
    weights ship in `prose.npy`, see `dedup.farm.prose`)."""

    intercept: float
    threshold: float
    min_words: int
    signals: dict[str, SignalParams]
    vocabulary: dict[str, float]
    prose_intercept: float = 0.0
    prose_bits: int = 20

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"threshold={self.threshold!r} must be strictly between 0 and 1.")
        if self.min_words < 1:
            raise ConfigError(f"min_words={self.min_words!r} must be positive.")


def sigmoid(x: float) -> float:
    """The logistic function, safe for large |x|.

    >>> sigmoid(0.0), round(sigmoid(2.0), 4), sigmoid(-1000.0)
    (0.5, 0.8808, 0.0)
    """
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def contribution(p: SignalParams, value: float | None) -> float:
    """A signal's log-odds contribution; nothing when it could not be measured.

    >>> p = SignalParams("prior", "identity", 0.0, 1.0, 0.0, 3.0, 0.5, 1.0)
    >>> contribution(p, 2.0), contribution(p, 10.0), contribution(p, None)
    (1.0, 1.5, 0.0)
    """
    if value is None:
        return 0.0
    x = math.log1p(max(value, 0.0)) if p.transform == "log1p" else value
    z = min(max((x - p.center) / p.scale, p.low), p.high)
    return p.weight * z


def contributions(p: Params, codes: Sequence[str], values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """`contribution` over a matrix: one row per document, one column per signal of `codes` (NaN where
    not measured, which contributes nothing).

    >>> p = Params(0.0, 0.5, 50, {"a": SignalParams("prior", "identity", 0.0, 1.0, 0.0, 3.0, 0.5, 1.0)}, {})
    >>> contributions(p, ["a"], np.array([[2.0], [10.0], [np.nan]])).ravel().tolist()
    [1.0, 1.5, 0.0]
    """
    out = np.zeros(values.shape, dtype=np.float64)
    for j, code in enumerate(codes):
        sp = p.signals[code]
        x = values[:, j]
        if sp.transform == "log1p":
            x = np.log1p(np.maximum(x, 0.0))
        z = np.clip((x - sp.center) / sp.scale, sp.low, sp.high)
        out[:, j] = np.nan_to_num(sp.weight * z, nan=0.0)
    return out


def parse_params(raw: dict[str, object]) -> Params:
    """`Params` from the JSON object `bench/train_farm.py` writes."""
    signals = raw["signals"]
    if not isinstance(signals, dict):
        raise ConfigError("params: 'signals' must be an object of signal code -> parameters.")
    return Params(
        intercept=float(raw["intercept"]),  # type: ignore[arg-type]
        threshold=float(raw["threshold"]),  # type: ignore[arg-type]
        min_words=int(raw["min_words"]),  # type: ignore[call-overload]
        signals={
            code: SignalParams(
                kind=str(s["kind"]),
                transform=str(s["transform"]),
                center=float(s["center"]),
                scale=float(s["scale"]),
                low=float(s["low"]),
                high=float(s["high"]),
                weight=float(s["weight"]),
                threshold=float(s["threshold"]),
            )
            for code, s in signals.items()
        },
        vocabulary={str(w): float(x) for w, x in dict(raw.get("vocabulary") or {}).items()},  # type: ignore[call-overload]
        prose_intercept=float(raw.get("prose_intercept", 0.0)),  # type: ignore[arg-type]
        prose_bits=int(raw.get("prose_bits", 20)),  # type: ignore[call-overload]
    )


@lru_cache(maxsize=1)
def load_params() -> Params:
    """The shipped model, `dedup/farm/params.json` (read once per process; JSON, never pickle)."""
    text = resources.files("dedup.farm").joinpath("params.json").read_text(encoding="utf-8")
    raw: dict[str, object] = json.loads(text)
    return parse_params(raw)

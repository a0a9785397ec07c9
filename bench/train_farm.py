"""Train the content-farm scorer and write its parameters into the package (dedup/farm/params.json, prose.npy).

Reads ../shared/data/farm and ../shared/data/registers (beside the checkout; bench/farm_data.py cleans them
and groups rows by story) and exits cleanly when they are absent. Steps:

1. Stories are split by group: 20% held out for bench/farm_quality.py, never seen here. Of the rest, 25%
   of the stories are the calibration part.
2. `machine_prose`: a logistic regression (SGD, log loss, balanced classes) over hashed word unigrams and
   bigrams (`dedup.farm.prose`), fitted on the other 75%: human writing of every register against machine
   text of every generator.
3. The combiner: a logistic regression with balanced classes over the surface signals and `machine_prose`,
   each centered on its median over human text (a value in the human range contributes about nothing) and
   scaled by its human spread, fitted on the calibration part, whose prose scores come from a model that
   never saw those stories: its output is a probability under even prior odds.
4. The default threshold: leave one register out. For each register with human text, the whole recipe
   (steps 2-3) is run without that register, and its human texts are scored; the threshold is the lowest
   at which no register (of at least `MIN_REGISTER_HUMANS` human texts) has more than `TARGET_WORST_FPR`
   of its human texts flagged.
5. Signals the data cannot teach (page templates, corpus context) get the hand-set weights in `PRIORS`.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import farm_data
import numpy as np
import numpy.typing as npt
from farm_data import Rows

import dedup
from dedup.farm.combine import LEARNED, PRIOR
from dedup.farm.prose import prose_keys, terms
from dedup.farm.score import SIGNALS
from dedup.farm.signals import CODES, measured
from dedup.farm.text import parse

ROOT = Path(__file__).resolve().parent.parent
PARAMS = ROOT / "dedup" / "farm" / "params.json"
WEIGHTS = ROOT / "dedup" / "farm" / "prose.npy"
TEST_SHARE = 0.2
CALIBRATION_SHARE = 0.25
TARGET_WORST_FPR = 0.05
MIN_REGISTER_HUMANS = 30
MIN_WORDS = 50
CLIP = 4.0
PROSE_BITS = 20
PROSE_ALPHA = 2e-6
PROSE_EPOCHS = 15

# The surface signals: style statistics any article has, measured the same with or without line breaks.
BASE_SIGNALS = (
    "stock_phrases",
    "buzzwords",
    "transitions",
    "lexical_diversity",
    "burstiness",
    "numbers",
    "attribution",
    "names",
    "word_length",
    "punctuation",
    "first_person",
    "repeated_ngrams",
    "top_ngram",
)
LEARNED_SIGNALS = (*BASE_SIGNALS, "machine_prose")
# The signals the combiner weighs; the others are measured and shown but weigh nothing: left-out registers
# (textbooks, academic prose) carry transitions, buzzwords and few numbers or quotes as machine text does, so
# those signals raised the worst register's false positives more than they caught machine text
# (bench/results/farm_tried.md).
COMBINED = ("stock_phrases", "machine_prose")
# Counts and rates squeezed so one outlier cannot dominate; shares, ratios and log-odds stay linear.
LOG_SIGNALS = {
    "stock_phrases",
    "buzzwords",
    "numbers",
    "attribution",
    "names",
    "punctuation",
    "first_person",
}

# Page templates and corpus context: the training corpora are bare article bodies (no headings, footers or
# sister pages), so these weights are set by hand: log-odds per unit of the signal, capped. Each is chosen
# so the signal alone moves an average article by a stated amount, and only the farm-specific ones can
# flag on their own.
PRIORS: dict[str, dict[str, Any]] = {
    "generic_headings": {
        "weight": 0.6,
        "high": 5.0,
        "threshold": 1.0,
        "why": "each stock section heading ('The Background', 'Looking Ahead') +0.6 log-odds, at most 5",
    },
    "title_repetition": {
        "weight": 1.0,
        "high": 2.0,
        "threshold": 1.0,
        "why": "the title repeated in the body is a template's doing: +1 log-odds a repeat, at most 2",
    },
    "duplicate_lines": {
        "weight": 4.0,
        "high": 0.5,
        "threshold": 0.1,
        "why": "Gopher's duplicate-line share: half the text repeated gives +2 log-odds",
    },
    "boilerplate": {
        "weight": 1.0,
        "high": 1.0,
        "threshold": 0.1,
        "why": "ordinary page furniture ('Read more', 'Sign up'): every site has it, so at most +1 log-odds",
    },
    "farm_chrome": {
        "weight": 1.5,
        "high": 2.0,
        "threshold": 1.0,
        "why": "syndication / auto-publishing footers ('Original Story at'): +1.5 log-odds a line, at most 2 lines",
    },
    "page_chrome": {
        "weight": 0.5,
        "high": 1.0,
        "threshold": 0.5,
        "why": "HTML text outside the article: every site has some, so at most +0.5 log-odds",
    },
    "template_lines": {
        "weight": 1.0,
        "high": 1.0,
        "threshold": 0.1,
        "why": "lines shared with other pages of a corpus are site templates, like ordinary chrome: at most +1",
    },
    "shared_phrasing": {
        "weight": 3.0,
        "high": 1.0,
        "threshold": 0.1,
        "why": "sentences reused word for word across different stories: a third of them gives +1 log-odds",
    },
    "rewrite_cluster": {
        "weight": 0.7,
        "high": 3.0,
        "transform": "log1p",
        "threshold": 1.0,
        "why": "one story spun into many pages: +0.7 log-odds per doubling of the rewrites, at most about 2",
    },
    "duplicate_cluster": {
        "weight": 0.2,
        "high": 3.0,
        "transform": "log1p",
        "threshold": 1.0,
        "why": "verbatim copies are syndication as often as farming: +0.2 log-odds per doubling, at most 0.6",
    },
}


@dataclass
class Features:
    """Every row's prose terms (a sparse matrix, one row per text) and surface signal values (NaN where
    one could not be measured)."""

    terms: Any
    values: npt.NDArray[np.float64]

    def take(self, mask: npt.NDArray[np.bool_]) -> Features:
        return Features(self.terms[mask], self.values[mask])


def featurize(texts: list[str], bits: int = PROSE_BITS) -> Features:
    """The prose terms (as `dedup.farm.prose.terms` makes them) and surface signals of every text."""
    import scipy.sparse as sp

    values = np.full((len(texts), len(BASE_SIGNALS)), np.nan)
    indptr = [0]
    buckets: list[npt.NDArray[np.int64]] = []
    weights: list[npt.NDArray[np.float64]] = []
    for i, text in enumerate(texts):
        article = parse(text)
        t = terms(prose_keys(article), bits)
        buckets.append(t.buckets)
        weights.append(t.values)
        indptr.append(indptr[-1] + t.buckets.shape[0])
        # The kernel's measures alone: the surface signals do not depend on the shipped prose model.
        measures = dict(zip(CODES, measured(article, {}).measures(article), strict=True))
        for j, code in enumerate(BASE_SIGNALS):
            m = measures[code]
            if m is not None and m.value is not None:
                values[i, j] = m.value
    matrix = sp.csr_matrix(
        (np.concatenate(weights), np.concatenate(buckets), np.array(indptr)), shape=(len(texts), 1 << bits)
    )
    return Features(matrix, values)


def fit_prose(x: Any, machine: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.float32], float]:
    """The `machine_prose` weights and intercept: logistic loss by SGD (fixed seed), balanced classes."""
    from sklearn.linear_model import SGDClassifier

    model = SGDClassifier(
        loss="log_loss", alpha=PROSE_ALPHA, class_weight="balanced", max_iter=PROSE_EPOCHS, tol=None, random_state=0
    )
    model.fit(x, machine)
    return model.coef_[0].astype("<f4"), float(model.intercept_[0])


def transform(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Each column through its transform (log1p for counts and rates)."""
    out = values.copy()
    for j, code in enumerate(LEARNED_SIGNALS):
        if code in LOG_SIGNALS:
            out[:, j] = np.log1p(np.maximum(out[:, j], 0.0))
    return out


def standardised(
    values: npt.NDArray[np.float64], center: npt.NDArray[np.float64], scale: npt.NDArray[np.float64]
) -> Any:
    """What the combiner multiplies by its weights: each transformed value's distance from `center` in units of
    `scale`, clipped to +-`CLIP`; an unmeasured value (NaN) sits at the center."""
    return np.nan_to_num(np.clip((transform(values) - center) / scale, -CLIP, CLIP), nan=0.0)


@dataclass
class Fitted:
    """A fitted model in the form the package ships: the prose model and the combiner over the learned
    signals (the threshold is set afterwards, by `loro_threshold`)."""

    prose_weights: npt.NDArray[np.float32]
    prose_intercept: float
    center: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]
    weight: npt.NDArray[np.float64]
    intercept: float
    value_threshold: npt.NDArray[np.float64]
    threshold: float = 0.5

    def prose(self, f: Features) -> npt.NDArray[np.float64]:
        out: npt.NDArray[np.float64] = f.terms @ self.prose_weights.astype(np.float64) + self.prose_intercept
        return out

    def columns(self, f: Features) -> npt.NDArray[np.float64]:
        return np.column_stack([f.values, self.prose(f)])

    def logit(self, f: Features) -> npt.NDArray[np.float64]:
        out: npt.NDArray[np.float64] = (
            self.intercept + standardised(self.columns(f), self.center, self.scale) @ self.weight
        )
        return out

    def predict(self, f: Features) -> npt.NDArray[np.float64]:
        out: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-self.logit(f)))
        return out


def fit(f: Features, machine: npt.NDArray[np.bool_], calibrate: npt.NDArray[np.bool_]) -> Fitted:
    """The prose model on the rows outside `calibrate`, the combiner on those inside (module docstring)."""
    from sklearn.linear_model import LogisticRegression

    fitting = ~calibrate
    weights, intercept = fit_prose(f.terms[fitting], machine[fitting])
    partial = Fitted(weights, intercept, np.zeros(0), np.zeros(0), np.zeros(0), 0.0, np.zeros(0))
    values = partial.columns(f)
    t = transform(values)
    # Centered on human text the prose model never saw (its scores of its own training rows are too sure): a
    # contribution says how far a signal moved the text from typical human writing, and a text with no style
    # evidence at all (too short, not English) scores like it.
    human = calibrate & ~machine
    center = np.nanmedian(t[human], axis=0)
    scale = np.nanstd(t[human], axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    z = standardised(values, center, scale)
    z[:, [code not in COMBINED for code in LEARNED_SIGNALS]] = 0.0
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=5000)
    model.fit(z[calibrate], machine[calibrate])
    weight = model.coef_[0].astype(np.float64)
    low = np.nanpercentile(values[human], 5, axis=0)
    high = np.nanpercentile(values[human], 95, axis=0)
    return Fitted(
        weights, intercept, center, scale, weight, float(model.intercept_[0]), np.where(weight >= 0, high, low)
    )


def calibration_part(rows: Rows) -> npt.NDArray[np.bool_]:
    """The stories held back from the prose model for the combiner (25%, by a stable hash of the group)."""
    return farm_data.split(rows, CALIBRATION_SHARE, "calibration")


def human_registers(rows: Rows) -> list[str]:
    """The registers with human text, sorted."""
    return sorted(set(rows.register[~rows.machine].tolist()))


def leave_one_register_out(rows: Rows, f: Features, calibrate: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """Every row's score from the recipe run without its register (NaN for registers with no human text)."""
    out = np.full(len(rows), np.nan)
    for register in human_registers(rows):
        inside = rows.register == register
        fitted = fit(f.take(~inside), rows.machine[~inside], calibrate[~inside])
        out[inside] = fitted.predict(f.take(inside))
        print(f"  without {register}: fitted", flush=True)
    return out


def worst_fpr(rows: Rows, scores: npt.NDArray[np.float64], threshold: float) -> tuple[float, str]:
    """The highest human false-positive rate of a register (of enough human texts) at `threshold`."""
    worst = (0.0, "")
    for register in human_registers(rows):
        human = (rows.register == register) & ~rows.machine & ~np.isnan(scores)
        if human.sum() >= MIN_REGISTER_HUMANS:
            worst = max(worst, (float(np.mean(scores[human] >= threshold)), register))
    return worst


def loro_threshold(rows: Rows, scores: npt.NDArray[np.float64], target: float = TARGET_WORST_FPR) -> float:
    """The lowest threshold (in steps of 0.001) at which no register's left-out human FPR passes `target`."""
    for threshold in np.round(np.arange(0.5, 1.0, 0.001), 3).tolist():
        if worst_fpr(rows, scores, threshold)[0] <= target:
            return float(threshold)
    return 0.999


def params_json(fitted: Fitted, summary: dict[str, Any]) -> dict[str, Any]:
    """The JSON object `dedup.farm.combine.parse_params` reads."""
    signals: dict[str, Any] = {}
    for code in SIGNALS:
        if code in LEARNED_SIGNALS:
            j = LEARNED_SIGNALS.index(code)
            signals[code] = {
                "kind": LEARNED,
                "transform": "log1p" if code in LOG_SIGNALS else "identity",
                "center": round(float(fitted.center[j]), 6),
                "scale": round(float(fitted.scale[j]), 6),
                "low": -CLIP,
                "high": CLIP,
                "weight": round(float(fitted.weight[j]), 6),
                "threshold": round(float(fitted.value_threshold[j]), 4),
            }
        else:
            prior = PRIORS[code]
            signals[code] = {
                "kind": PRIOR,
                "transform": prior.get("transform", "identity"),
                "center": 0.0,
                "scale": 1.0,
                "low": 0.0,
                "high": prior["high"],
                "weight": prior["weight"],
                "threshold": prior["threshold"],
                "why": prior["why"],
            }
    return {
        "about": (
            "The content-farm scorer's combiner, written by bench/train_farm.py: log-odds = intercept + sum of "
            "weight * clip((transform(value) - center) / scale, low, high) over the signals (see "
            "dedup/farm/combine.py); 'machine_prose' is the log-odds of the hashed word and word-pair model "
            "whose weights are prose.npy (see dedup/farm/prose.py). 'learned' signals are fitted on "
            "../shared/data/farm and ../shared/data/registers; 'prior' ones are set by hand, for the reason given."
        ),
        "intercept": round(fitted.intercept, 6),
        "threshold": fitted.threshold,
        "min_words": MIN_WORDS,
        "prose_intercept": round(fitted.prose_intercept, 6),
        "prose_bits": PROSE_BITS,
        "trained": summary,
        "signals": signals,
        "vocabulary": {},
    }


def npy_bytes(weights: npt.NDArray[np.float32]) -> bytes:
    """`weights` as a .npy file of little-endian float32 (no pickle)."""
    out = io.BytesIO()
    np.save(out, weights.astype("<f4"), allow_pickle=False)
    return out.getvalue()


def train(rows: Rows, f: Features) -> tuple[Fitted, npt.NDArray[np.float64]]:
    """The shipped model fitted on `rows` (the training part), its threshold by leave one register out;
    also the left-out scores the threshold came from."""
    calibrate = calibration_part(rows)
    fitted = fit(f, rows.machine, calibrate)
    loro = leave_one_register_out(rows, f, calibrate)
    fitted.threshold = loro_threshold(rows, loro)
    return fitted, loro


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=PARAMS, help="where to write the parameters")
    parser.add_argument("--weights", type=Path, default=WEIGHTS, help="where to write the prose weights")
    args = parser.parse_args(argv)
    if not farm_data.available():
        print(f"skipped: training data not found at {farm_data.SHARED}")
        return 0
    started = time.perf_counter()
    rows = farm_data.load()
    held_out = farm_data.split(rows, TEST_SHARE, "test")
    part = rows.take(~held_out)
    f = featurize(part.texts)
    print(f"features of {len(part):,} rows: {time.perf_counter() - started:.0f}s", flush=True)
    fitted, loro = train(part, f)
    worst, register = worst_fpr(part, loro, fitted.threshold)
    summary = {
        "dedup": dedup.__version__,
        "rows": len(part),
        "human": int((~part.machine).sum()),
        "machine": int(part.machine.sum()),
        "held_out_rows": int(held_out.sum()),
        "dropped": dict(sorted(rows.dropped.items())),
        "split": (
            f"stories grouped by text (bench/farm_data.py), {TEST_SHARE:.0%} held out, "
            f"{CALIBRATION_SHARE:.0%} of the rest for the combiner (blake2b of seed and group)"
        ),
        "threshold_rule": (
            f"lowest threshold with every register's left-out human FPR <= {TARGET_WORST_FPR:.0%} "
            f"(registers of >= {MIN_REGISTER_HUMANS} human texts); worst: {register} {worst:.1%}"
        ),
    }
    args.output.write_text(json.dumps(params_json(fitted, summary), indent=1) + "\n", encoding="utf-8")
    args.weights.write_bytes(npy_bytes(fitted.prose_weights))
    print(f"trained on {summary['rows']:,} rows ({summary['human']:,} human, {summary['machine']:,} machine)")
    for code, w in sorted(zip(LEARNED_SIGNALS, fitted.weight.tolist(), strict=True), key=lambda kv: -abs(kv[1])):
        print(f"  {code:18s} weight {w:+.3f}")
    print(f"intercept {fitted.intercept:+.3f}, threshold {fitted.threshold} ({summary['threshold_rule']})")
    print(f"wrote {args.output} and {args.weights}; {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Train the content-farm scorer's combiner and write its parameters into the package (dedup/farm/params.json).

Reads ../shared/data/farm (beside the checkout) and exits cleanly when it is absent. Steps:

1. Rows flagged `short<50w`, `refusal` or `scrape_error` are dropped; mojibake is repaired (ftfy) on both
   classes, so no model can learn the encoding; texts whose sentences mostly start in lower case (scrapes
   that lost their capitals, nearly all of them human) are dropped, so none can learn the case either, and
   so are the few generations with no words at all.
2. Stories are split by `pair_id` (a human article and its machine rewrites share one), 80% to train and
   20% held out for bench/farm_quality.py: no story is on both sides.
3. On the training part: a logistic regression over the standardised learned signals, with balanced class
   weights (the score is a probability under even prior odds), fitted on 75% of it; Platt scaling on the
   other 25%, folded into the weights. The default threshold keeps the false-positive rate on the
   calibration part's human news at 3%, under the 5% target with a margin for unseen sources.
4. `style_words` is learned too: per-word weights over the words that at least 2% of the documents of every
   training corpus use (function words and other topic-neutral vocabulary), on sublinear term frequencies
   scaled to unit length (as TF-IDF without the IDF), cross-fitted for step 3.
5. Signals the data cannot teach (page templates, corpus context) get the hand-set weights in `PRIORS`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

import dedup
from dedup.farm.combine import LEARNED, PRIOR
from dedup.farm.score import SIGNALS, measure
from dedup.farm.text import Article, parse

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "farm"
PARAMS = ROOT / "dedup" / "farm" / "params.json"
DROP_FLAGS = {"short<50w", "refusal", "scrape_error"}
SEED = 20240611
TEST_SHARE = 0.2
CALIBRATION_SHARE = 0.25
TARGET_HUMAN_FPR = 0.03
MIN_WORDS = 50
CLIP = 4.0

# The learned signals: style statistics any article has, measured the same with or without line breaks.
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
# Word choice: weights over a topic-neutral vocabulary, learned here and shipped in params.json.
LEARNED_SIGNALS = (*BASE_SIGNALS, "style_words")
# A word is topic-neutral when this share of all documents uses it, and this share of every corpus's.
NEUTRAL_DF = 0.02
EVERY_CORPUS_DF = 0.02
STYLE_FOLDS = 5
STYLE_C = 0.5
# Counts and rates squeezed so one outlier cannot dominate; shares and ratios stay linear.
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
class Rows:
    """The cleaned corpus: texts with labels and grouping, and what was dropped on the way."""

    texts: list[str]
    machine: npt.NDArray[np.bool_]
    dataset: npt.NDArray[np.str_]
    generator: npt.NDArray[np.str_]
    group: npt.NDArray[np.str_]
    dropped: Counter[str]


def lowercased(a: Article) -> bool:
    """Whether most sentences start in lower case (a scrape that lost its capitals)."""
    if not a.sentences:
        return False
    lower = sum(a.cased[lo][0].islower() for lo, _ in a.sentences)
    return lower / len(a.sentences) > 0.5


def load_rows(data: Path = DATA) -> Rows:
    """Every usable row of ../shared/data/farm, cleaned as the module docstring says."""
    import ftfy

    texts: list[str] = []
    machine: list[bool] = []
    dataset: list[str] = []
    generator: list[str] = []
    group: list[str] = []
    dropped: Counter[str] = Counter()
    for path in sorted(data.glob("*.jsonl")):
        name = path.name.removesuffix(".jsonl")
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                flags = set(row.get("flags") or ())
                bad = sorted(flags & DROP_FLAGS)
                if bad:
                    dropped[bad[0]] += 1
                    continue
                # Both classes go through the same repair: fix_text also maps stray C1 controls (\x97).
                text = ftfy.fix_text(row["text"])
                article = parse(text)
                if not article.words:
                    dropped[f"no words ({row['label']})"] += 1
                    continue
                if lowercased(article):
                    dropped[f"lower-case scrape ({row['label']})"] += 1
                    continue
                texts.append(text)
                machine.append(row["label"] == "machine")
                dataset.append(name)
                generator.append(str(row.get("generator") or "human"))
                group.append(f"{name}:{row.get('pair_id') or row['id']}")
    return Rows(texts, np.array(machine), np.array(dataset), np.array(generator), np.array(group), dropped)


def split_of(group: str, share: float = TEST_SHARE, salt: str = "test") -> bool:
    """Whether a story (all rows of one `pair_id`) falls in the held-out part: a stable hash, no RNG state."""
    digest = hashlib.blake2b(f"{SEED}:{salt}:{group}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2**64 < share


@dataclass
class Features:
    """The base signals' values (NaN where one could not be measured) and each text's prose words."""

    values: npt.NDArray[np.float64]
    words: list[list[str]]

    def take(self, idx: npt.NDArray[np.int64]) -> Features:
        return Features(self.values[idx], [self.words[i] for i in idx.tolist()])


def featurize(texts: list[str]) -> Features:
    """The base signals, one row per text, and the words `style_words` is learned from."""
    out = np.full((len(texts), len(BASE_SIGNALS)), np.nan)
    words: list[list[str]] = []
    for i, text in enumerate(texts):
        article = parse(text)
        measures = measure(article)
        for j, code in enumerate(BASE_SIGNALS):
            m = measures[code]
            if m is not None and m.value is not None:
                out[i, j] = m.value
        words.append(article.words)
    return Features(out, words)


def neutral_vocabulary(
    words: list[list[str]],
    datasets: npt.NDArray[np.str_],
    share: float = NEUTRAL_DF,
    every: float = EVERY_CORPUS_DF,
) -> list[str]:
    """Words used by at least `share` of all documents and by at least `every` of the documents of every
    corpus: a topic word (a name, a place, an era's subject) is missing from some corpus, so what remains is
    how things are said, not what about."""
    overall: Counter[str] = Counter()
    keep: set[str] | None = None
    for d in sorted(set(datasets.tolist())):
        docs = [words[i] for i in np.flatnonzero(datasets == d).tolist()]
        df: Counter[str] = Counter()
        for doc in docs:
            df.update(set(doc))
        overall.update(df)
        present = {w for w, c in df.items() if c >= every * len(docs)}
        keep = present if keep is None else keep & present
    floor = share * len(words)
    return sorted(w for w in keep or () if overall[w] >= floor and not any(ch.isdigit() for ch in w))


def frequencies(words: list[list[str]], vocabulary: list[str]) -> Any:
    """Each text's vocabulary words as sublinear term frequencies (1 + log count), scaled to unit length
    and then by 100 (a sparse matrix): `dedup.farm.signals.style_words` computes the same."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.preprocessing import normalize

    counts = CountVectorizer(analyzer=lambda doc: doc, vocabulary=vocabulary).transform(words).astype(np.float64)
    counts.data = 1.0 + np.log(counts.data)
    return normalize(counts, norm="l2", copy=False) * 100.0


def style_weights(x: Any, machine: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """Per-word weights: a logistic regression on `frequencies`, whose linear score is `style_words`' value."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=STYLE_C, class_weight="balanced", max_iter=5000).fit(x, machine)
    weights: npt.NDArray[np.float64] = 100.0 * model.coef_[0]
    return weights


def style_values(features: Features, vocabulary: dict[str, float]) -> npt.NDArray[np.float64]:
    """`style_words` of each text under `vocabulary` (word -> weight), as `dedup.farm.signals` computes it."""
    words = list(vocabulary)
    out: npt.NDArray[np.float64] = frequencies(features.words, words) @ np.array([vocabulary[w] for w in words]) / 100.0
    return out


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
    """A fitted combiner over the learned signals, in the form params.json stores."""

    center: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]
    weight: npt.NDArray[np.float64]
    intercept: float
    threshold: float
    value_threshold: npt.NDArray[np.float64]
    vocabulary: dict[str, float]

    def columns(self, features: Features) -> npt.NDArray[np.float64]:
        """Every learned signal's value: the base signals and `style_words` under this fit's vocabulary."""
        return np.column_stack([features.values, style_values(features, self.vocabulary)])

    def logit(self, features: Features) -> npt.NDArray[np.float64]:
        z = standardised(self.columns(features), self.center, self.scale)
        out: npt.NDArray[np.float64] = self.intercept + z @ self.weight
        return out

    def predict(self, features: Features) -> npt.NDArray[np.float64]:
        out: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-self.logit(features)))
        return out


def learned_values(
    features: Features,
    machine: npt.NDArray[np.bool_],
    groups: npt.NDArray[np.str_],
    fitting: npt.NDArray[np.int64],
    vocabulary: list[str],
) -> tuple[npt.NDArray[np.float64], dict[str, float]]:
    """Every learned signal's value on every row, and the word weights learned on the `fitting` rows. The
    `style_words` values of the fitting rows are cross-fitted (each fold's from the other folds' weights), so
    a model fitted on them sees them as it will on new text."""
    x = frequencies(features.words, vocabulary)
    weights = style_weights(x[fitting], machine[fitting])
    style = x @ weights / 100.0
    fold = np.array([int(hashlib.blake2b(g.encode(), digest_size=2).hexdigest(), 16) % STYLE_FOLDS for g in groups])
    for k in range(STYLE_FOLDS):
        inside = fitting[fold[fitting] != k]
        outside = fitting[fold[fitting] == k]
        style[outside] = x[outside] @ style_weights(x[inside], machine[inside]) / 100.0
    shipped = {w: round(float(v), 5) for w, v in zip(vocabulary, weights.tolist(), strict=True)}
    return np.column_stack([features.values, style]), shipped


def calibration_part(groups: npt.NDArray[np.str_]) -> npt.NDArray[np.bool_]:
    """The stories held back from the regression for Platt scaling and the threshold (25%, by hash)."""
    return np.array([split_of(g, CALIBRATION_SHARE, "calibration") for g in groups.tolist()])


def fit(
    features: Features,
    machine: npt.NDArray[np.bool_],
    groups: npt.NDArray[np.str_],
    datasets: npt.NDArray[np.str_],
    target_fpr: float = TARGET_HUMAN_FPR,
) -> Fitted:
    """Word weights and logistic regression on 75% of the stories, Platt scaling and the threshold on the
    other 25%."""
    from sklearn.linear_model import LogisticRegression

    calibrate = calibration_part(groups)
    fitting = np.flatnonzero(~calibrate)
    vocabulary = neutral_vocabulary([features.words[i] for i in fitting.tolist()], datasets[fitting])
    values, shipped = learned_values(features, machine, groups, fitting, vocabulary)
    t = transform(values)
    # Centered on human news: a contribution says how far a signal moved the text from a typical human
    # article, and a text with no style evidence at all (too short, not English) scores like one.
    center = np.nanmean(t[~calibrate & ~machine], axis=0)
    scale = np.nanstd(t[~calibrate], axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    z = standardised(values, center, scale)
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=5000)
    model.fit(z[~calibrate], machine[~calibrate])
    raw = model.decision_function(z[calibrate])
    # Platt (1999): a one-feature logistic fit of the raw log-odds, balanced like the model itself.
    platt = LogisticRegression(C=1e6, class_weight="balanced", max_iter=5000)
    platt.fit(raw.reshape(-1, 1), machine[calibrate])
    a, b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
    weight = a * model.coef_[0]
    intercept = a * float(model.intercept_[0]) + b
    human = ~machine & ~calibrate
    low = np.nanpercentile(values[human], 5, axis=0)
    high = np.nanpercentile(values[human], 95, axis=0)
    fitted = Fitted(center, scale, weight, intercept, 0.5, np.where(weight >= 0, high, low), shipped)
    human_scores = fitted.predict(features.take(np.flatnonzero(calibrate & ~machine)))
    fitted.threshold = float(np.round(np.quantile(human_scores, 1.0 - target_fpr), 3))
    return fitted


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
            "dedup/farm/combine.py). 'learned' signals are fitted on ../shared/data/farm; 'prior' ones are set "
            "by hand, for the reason given."
        ),
        "intercept": round(fitted.intercept, 6),
        "threshold": fitted.threshold,
        "min_words": MIN_WORDS,
        "trained": summary,
        "signals": signals,
        "vocabulary": fitted.vocabulary,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=PARAMS, help="where to write the parameters")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"skipped: training data not found at {DATA}")
        return 0
    started = time.perf_counter()
    rows = load_rows()
    held_out = np.array([split_of(g) for g in rows.group.tolist()])
    train = ~held_out
    features = featurize([t for t, keep in zip(rows.texts, train.tolist(), strict=True) if keep])
    fitted = fit(features, rows.machine[train], rows.group[train], rows.dataset[train])
    summary = {
        "dedup": dedup.__version__,
        "rows": int(train.sum()),
        "human": int((~rows.machine[train]).sum()),
        "machine": int(rows.machine[train].sum()),
        "held_out_rows": int(held_out.sum()),
        "dropped": dict(sorted(rows.dropped.items())),
        "split": f"by pair_id, {TEST_SHARE:.0%} of stories held out (blake2b of seed and pair_id)",
        "threshold_rule": f"{TARGET_HUMAN_FPR:.0%} false positives on the calibration part's human news",
    }
    args.output.write_text(json.dumps(params_json(fitted, summary), indent=1) + "\n", encoding="utf-8")
    print(f"trained on {summary['rows']:,} rows ({summary['human']:,} human, {summary['machine']:,} machine)")
    print(f"dropped: {summary['dropped']}")
    for code, w in sorted(zip(LEARNED_SIGNALS, fitted.weight.tolist(), strict=True), key=lambda kv: -abs(kv[1])):
        print(f"  {code:18s} weight {w:+.3f}")
    leaning = sorted(fitted.vocabulary.items(), key=lambda kv: kv[1])
    print(f"style vocabulary: {len(leaning)} words; most human {leaning[:8]}; most machine {leaning[-8:]}")
    print(f"intercept {fitted.intercept:+.3f}, threshold {fitted.threshold}; wrote {args.output}")
    print(f"{time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

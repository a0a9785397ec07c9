"""Bolder recipes for the farm score's learned part, measured by the shipped protocol (issue 19).

Reads ../shared/data/farm and ../shared/data/registers through bench/farm_data.py (story groups, the same 20%
of stories held out as bench/train_farm.py) and prints one table row per recipe; the figures in
bench/results/farm_tried.md ("Wordfreq, boosted trees and additive boosting") come from it. Each recipe is
refitted from scratch for every register left out of the training part (registers of at least 30 human
texts) and the threshold is the lowest at which no left-out register's human FPR passes 5%; held-out AUC, TPR
and FPR are those of the recipe fitted on the whole training part, at that threshold; then each source is
left out of training and its human rows (all of them: none was trained on) are scored at the same
threshold, the gate a recipe must pass (no source of at least 30 human texts over 5%).

Recipes (`--recipes`, comma-separated; `--seeds`):
- `shipped`: the shipped recipe (machine_prose + stock_phrases, logistic combiner on the calibration part);
- `lr+wf`: the same combiner with the wordfreq features added;
- `lr+wflm`: ... with the machine-LM / wordfreq log-ratio features added;
- `gbm:COLS`, `gam:COLS`: LightGBM over the dense columns COLS (`base`, `prose`, `wf`, `lm`, joined by +),
  trees of any shape (exact TreeSHAP explanations) or one feature a tree (an additive model: each signal's
  part is a lookup, exactly);
- `len` (log of the word count) and `plen` (the prose log-odds times sqrt(words / 200), at most 2) as columns;
- a suffix `/x` fits the combiner on out-of-fold prose scores of the whole training part (4 folds of stories)
  instead of the 25% calibration part; `/h` refits the prose model with each register's most machine-like
  human texts (top 10% by out-of-fold log-odds) weighted 4x (hard negatives).

Wordfreq (Speer 2022; code Apache-2.0, data CC-BY-SA 4.0) is a human reference built from Wikipedia,
subtitles, news, books, web text, Reddit and Twitter, none of it our training sources.

Needs `pip install lightgbm wordfreq` (neither is a dependency of dedup). Features are cached under --cache
(plain .npy/.npz, no pickle); delete it to rebuild.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import farm_data
import numpy as np
import numpy.typing as npt
from train_farm import BASE_SIGNALS, CALIBRATION_SHARE, CLIP, LOG_SIGNALS, PROSE_ALPHA, PROSE_BITS, TEST_SHARE

CACHE = Path("/tmp/farmexp")
TARGET = 0.05
MIN_HUMANS = 30
FOLDS = 4
_ALPHA = re.compile(r"^[a-z][a-z'\-]*$")
# Zipf bands (log10 of frequency per billion words): rare, uncommon, common, very common, function words.
BANDS = (0.0, 1.0, 3.0, 4.0, 5.0, 6.0, 99.0)
WF_NAMES = (
    "wf_mean",
    "wf_std",
    "wf_q10",
    "wf_q25",
    "wf_q50",
    "wf_oov",
    "wf_b13",
    "wf_b34",
    "wf_b45",
    "wf_b56",
    "wf_b6",
    "wf_content",
)
LM_NAMES = ("lm_mean", "lm_pos_share", "lm_neg", "lm_pos")


@dataclass
class Data:
    machine: npt.NDArray[np.bool_]
    source: npt.NDArray[np.str_]
    register: npt.NDArray[np.str_]
    generator: npt.NDArray[np.str_]
    held: npt.NDArray[np.bool_]
    calib: npt.NDArray[np.bool_]
    fold: npt.NDArray[np.int64]
    terms: Any  # csr, prose 1-2-gram features
    base: npt.NDArray[np.float64]  # the 13 surface signals
    words: Any  # csr counts of alphabetic prose words over `vocab`
    zipf: npt.NDArray[np.float64]  # wordfreq Zipf of each vocab word (0: unknown)
    wf: npt.NDArray[np.float64]  # per-document wordfreq features
    group: npt.NDArray[np.int64]  # story group of each row (bench/farm_data.stories)


def wordfreq_features(words: Any, zipf: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per document: mean, spread and low quantiles of its words' Zipf frequencies, the share in each band,
    and the mean Zipf of its content words (Zipf < 5.5)."""
    out = np.full((words.shape[0], len(WF_NAMES)), np.nan)
    for i in range(words.shape[0]):
        lo, hi = words.indptr[i], words.indptr[i + 1]
        if hi == lo:
            continue
        z = np.repeat(zipf[words.indices[lo:hi]], words.data[lo:hi].astype(np.int64))
        hist = np.histogram(z, bins=BANDS)[0] / z.shape[0]
        content = z[z < 5.5]
        out[i] = [
            z.mean(),
            z.std(),
            *np.percentile(z, [10, 25, 50]),
            hist[0],
            hist[1],
            hist[2],
            hist[3],
            hist[4],
            hist[5],
            content.mean() if content.shape[0] else np.nan,
        ]
    return out


def build(cache: Path) -> None:
    import scipy.sparse as sp
    import wordfreq
    from train_farm import featurize

    from dedup.farm.text import parse

    started = time.perf_counter()
    rows = farm_data.load()
    print(f"loaded {len(rows):,} rows: {time.perf_counter() - started:.0f}s", flush=True)
    f = featurize(rows.texts, PROSE_BITS)
    print(f"featurized: {time.perf_counter() - started:.0f}s", flush=True)
    vocab: dict[str, int] = {}
    indptr, indices = [0], []
    for text in rows.texts:
        for w in parse(text).words:
            if _ALPHA.match(w):
                indices.append(vocab.setdefault(w, len(vocab)))
        indptr.append(len(indices))
    words = sp.csr_matrix(
        (np.ones(len(indices)), np.array(indices, dtype=np.int64), np.array(indptr)), shape=(len(rows), len(vocab))
    )
    words.sum_duplicates()
    freq = wordfreq.get_frequency_dict("en", wordlist="large")
    zipf = np.array([np.log10(freq[w] * 1e9) if freq.get(w, 0) > 0 else 0.0 for w in vocab])
    held = farm_data.split(rows, TEST_SHARE, "test")
    calib = farm_data.split(rows, CALIBRATION_SHARE, "calibration")
    fold = np.array([int(farm_data.share_of(k, "fold") * FOLDS) for k in rows.group_key], dtype=np.int64)
    cache.mkdir(parents=True, exist_ok=True)
    sp.save_npz(cache / "terms.npz", f.terms.tocsr())
    sp.save_npz(cache / "words.npz", words)
    np.savez(
        cache / "rows.npz",
        machine=rows.machine,
        source=rows.source,
        register=rows.register,
        generator=rows.generator,
        held=held,
        calib=calib,
        fold=fold,
        base=f.values,
        zipf=zipf,
        wf=wordfreq_features(words, zipf),
        group=np.unique(np.array(rows.group_key), return_inverse=True)[1].astype(np.int64),
    )
    print(f"cached in {cache}: {time.perf_counter() - started:.0f}s", flush=True)


def load(cache: Path) -> Data:
    import scipy.sparse as sp

    z = np.load(cache / "rows.npz", allow_pickle=False)
    return Data(
        z["machine"],
        z["source"],
        z["register"],
        z["generator"],
        z["held"],
        z["calib"],
        z["fold"],
        sp.load_npz(cache / "terms.npz").tocsr(),
        z["base"],
        sp.load_npz(cache / "words.npz").tocsr(),
        z["zipf"],
        z["wf"],
        z["group"],
    )


def sgd(
    x: Any, y: npt.NDArray[np.bool_], seed: int, weight: npt.NDArray[np.float64] | None = None
) -> tuple[npt.NDArray[np.float64], float]:
    """The prose model as bench/train_farm.py fits it, with the SGD seed as a parameter."""
    from sklearn.linear_model import SGDClassifier

    m = SGDClassifier(
        loss="log_loss", alpha=PROSE_ALPHA, class_weight="balanced", max_iter=15, tol=None, random_state=seed
    )
    m.fit(x, y, sample_weight=weight)
    return m.coef_[0].astype(np.float64), float(m.intercept_[0])


def lm_columns(d: Data, fitting: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """Per document, over its alphabetic prose words: the log-ratio of a machine unigram LM (add-0.5, fitted
    on the machine rows of `fitting`) to wordfreq's general-web frequency: mean, share of words where the
    machine LM is likelier, mean negative and mean positive part."""
    counts = np.asarray(d.words[fitting & d.machine].sum(axis=0)).ravel()
    logpm = np.log((counts + 0.5) / (counts.sum() + 0.5 * counts.shape[0]))
    logph = (np.where(d.zipf > 0, d.zipf, 1.0) - 9.0) * np.log(10.0)
    r = logpm - logph
    n = np.maximum(np.asarray(d.words.sum(axis=1)).ravel(), 1.0)
    out = np.column_stack(
        [
            d.words @ r / n,
            d.words @ (r > 0).astype(np.float64) / n,
            d.words @ np.minimum(r, 0) / n,
            d.words @ np.maximum(r, 0) / n,
        ]
    )
    out[np.asarray(d.words.sum(axis=1)).ravel() == 0] = np.nan
    return out


def columns(d: Data, parts: list[str], prose: npt.NDArray[np.float64], fitting: npt.NDArray[np.bool_]) -> Any:
    cols, names = [], []
    for part in parts:
        if part == "base":
            cols.append(d.base)
            names += list(BASE_SIGNALS)
        elif part == "stock":
            cols.append(d.base[:, [0]])
            names.append("stock_phrases")
        elif part == "prose":
            cols.append(prose[:, None])
            names.append("machine_prose")
        elif part == "len":
            cols.append(np.log(np.maximum(np.asarray(d.words.sum(axis=1)).ravel(), 1.0))[:, None])
            names.append("log_words")
        elif part == "plen":
            # The prose log-odds scaled by how much text it rests on: sqrt(words / 200), at most 2.
            n = np.asarray(d.words.sum(axis=1)).ravel()
            cols.append((prose * np.minimum(np.sqrt(n / 200.0), 2.0))[:, None])
            names.append("prose_by_length")
        elif part == "wf":
            cols.append(d.wf)
            names += list(WF_NAMES)
        elif part == "lm":
            cols.append(lm_columns(d, fitting))
            names += list(LM_NAMES)
        else:
            raise ValueError(f"unknown column set {part!r}")
    return np.column_stack(cols), names


def combiner(
    kind: str,
    x: npt.NDArray[np.float64],
    names: list[str],
    y: npt.NDArray[np.bool_],
    on: npt.NDArray[np.bool_],
    seed: int,
) -> npt.NDArray[np.float64]:
    """The combiner fitted on the rows `on`; its log-odds for every row."""
    if kind == "lr":
        from sklearn.linear_model import LogisticRegression

        t = x.copy()
        for j, name in enumerate(names):
            if name in LOG_SIGNALS:
                t[:, j] = np.log1p(np.maximum(t[:, j], 0.0))
        human = on & ~y
        center = np.nanmedian(t[human], axis=0)
        scale = np.nanstd(t[human], axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        z = np.nan_to_num(np.clip((t - center) / scale, -CLIP, CLIP), nan=0.0)
        m = LogisticRegression(C=1.0, class_weight="balanced", max_iter=5000)
        m.fit(z[on], y[on])
        out: npt.NDArray[np.float64] = m.decision_function(z)
        return out
    import lightgbm as lgb

    params: dict[str, Any] = {
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": 15,
        "min_data_in_leaf": 50,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "feature_fraction": 0.8,
        "lambda_l2": 1.0,
        "is_unbalance": True,
        "seed": seed,
        "num_threads": 1,
        "verbose": -1,
        "deterministic": True,
        "force_row_wise": True,
    }
    rounds = 300
    if kind == "gam":
        params |= {
            "interaction_constraints": [[j] for j in range(x.shape[1])],
            "num_leaves": 8,
            "feature_fraction": 1.0,
        }
        rounds = 600
    elif kind != "gbm":
        raise ValueError(f"unknown combiner {kind!r}")
    booster = lgb.train(params, lgb.Dataset(x[on], y[on].astype(np.float64)), rounds)
    out = booster.predict(x, raw_score=True)
    return np.asarray(out, dtype=np.float64)


def fit(d: Data, train: npt.NDArray[np.bool_], recipe: str, seed: int) -> npt.NDArray[np.float64]:
    """The recipe fitted on the rows `train`; its log-odds for every row."""
    spec, _, variant = recipe.partition("/")
    named = {"shipped": "lr:stock+prose", "lr+wf": "lr:stock+prose+wf", "lr+wflm": "lr:stock+prose+wf+lm"}
    kind, _, cols = named.get(spec, spec).partition(":")
    parts = cols.split("+")
    y = d.machine
    if variant == "x":
        # Out-of-fold prose log-odds (and LM columns) for every training row; the final prose model on all.
        w, b = sgd(d.terms[train], y[train], seed)
        prose = d.terms @ w + b
        x, names = columns(d, parts, prose, train)
        for k in range(FOLDS):
            inside = train & (d.fold == k)
            outside = train & (d.fold != k)
            wk, bk = sgd(d.terms[outside], y[outside], seed)
            xk, _ = columns(d, parts, d.terms @ wk + bk, outside)
            x[inside] = xk[inside]
        return combiner(kind, x, names, y, train, seed)
    fitting = train & ~d.calib
    if variant == "h":
        w, b = hard_negatives(d, fitting, seed)
    elif variant in ("p", "P", "q"):
        w, b = paired(d, fitting, seed, variant)
    elif variant.startswith("u"):
        w, b = unpaired_down(d, fitting, seed, float(variant[1:] or UNPAIRED_WEIGHT))
    else:
        w, b = sgd(d.terms[fitting], y[fitting], seed)
    x, names = columns(d, parts, d.terms @ w + b, fitting)
    return combiner(kind, x, names, y, train & d.calib, seed)


PAIRS_PER_GROUP = 8


def pair_rows(
    d: Data, fitting: npt.NDArray[np.bool_], seed: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(machine row, human row) index pairs of one story: every story group of `fitting` with both labels gives
    up to PAIRS_PER_GROUP pairs, chosen at random."""
    rng = np.random.default_rng(seed)
    idx = np.flatnonzero(fitting)
    order = idx[np.argsort(d.group[idx], kind="stable")]
    g = d.group[order]
    starts = np.r_[0, np.flatnonzero(np.diff(g)) + 1, g.shape[0]]
    ms, hs = [], []
    for a, b in itertools.pairwise(starts.tolist()):
        rows = order[a:b]
        m = rows[d.machine[rows]]
        h = rows[~d.machine[rows]]
        if m.shape[0] == 0 or h.shape[0] == 0:
            continue
        pairs = np.array([(i, j) for i in m for j in h])
        if pairs.shape[0] > PAIRS_PER_GROUP:
            pairs = pairs[rng.choice(pairs.shape[0], PAIRS_PER_GROUP, replace=False)]
        ms.append(pairs[:, 0])
        hs.append(pairs[:, 1])
    return np.concatenate(ms), np.concatenate(hs)


PAIR_WEIGHT = 1.0


def paired(d: Data, fitting: npt.NDArray[np.bool_], seed: int, variant: str) -> tuple[npt.NDArray[np.float64], float]:
    """The prose model taught from topic-matched pairs: each (machine, human) pair of one story gives the
    difference of their terms as a row labelled machine and its negation labelled human, so the words both
    share (the story's topic) cancel. `p`: pair rows added to the ordinary rows (weight PAIR_WEIGHT each);
    `P`: pair rows alone, the intercept then set so the fitting part's rows are balanced; `q`: as `p`, but the
    ordinary rows are only the texts of registers or sources with no pairs."""
    import scipy.sparse as sp

    y = d.machine
    mi, hi = pair_rows(d, fitting, seed)
    diff = d.terms[mi] - d.terms[hi]
    xp = sp.vstack([diff, -diff]).tocsr()
    yp = np.r_[np.ones(mi.shape[0], dtype=bool), np.zeros(mi.shape[0], dtype=bool)]
    if variant == "P":
        w, _ = sgd(xp, yp, seed)
        s = d.terms[fitting] @ w
        # Balanced intercept: the midpoint of the two classes' median scores.
        b = -0.5 * (float(np.median(s[y[fitting]])) + float(np.median(s[~y[fitting]])))
        return w, b
    base = fitting.copy()
    if variant == "q":
        paired_sources = set(d.source[mi].tolist())
        base &= ~np.isin(d.source, list(paired_sources))
    x = sp.vstack([d.terms[base], xp]).tocsr()
    yy = np.r_[y[base], yp]
    weight = np.r_[np.ones(int(base.sum())), np.full(yp.shape[0], PAIR_WEIGHT)]
    return sgd(x, yy, seed, weight)


UNPAIRED_WEIGHT = 0.3


def unpaired_down(
    d: Data, fitting: npt.NDArray[np.bool_], seed: int, unpaired: float
) -> tuple[npt.NDArray[np.float64], float]:
    """The prose model with the machine texts whose story has no human text weighted `unpaired` (every other
    row 1): a machine text on a topic no human text of the training part covers teaches the topic as machine."""
    y = d.machine
    has_human = np.zeros(int(d.group.max()) + 1, dtype=bool)
    has_human[d.group[fitting & ~y]] = True
    weight = np.where(y & ~has_human[d.group], unpaired, 1.0)
    return sgd(d.terms[fitting], y[fitting], seed, weight[fitting])


HARD_SHARE = 0.1
HARD_WEIGHT = 4.0


def hard_negatives(d: Data, fitting: npt.NDArray[np.bool_], seed: int) -> tuple[npt.NDArray[np.float64], float]:
    """The prose model refitted with each register's most machine-like human texts weighted up: the top
    `HARD_SHARE` of a register's human rows by out-of-fold prose log-odds (4 folds of stories) weigh
    `HARD_WEIGHT`, every other row 1."""
    y = d.machine
    oof = np.zeros(y.shape[0])
    for k in range(FOLDS):
        inside = fitting & (d.fold == k)
        outside = fitting & (d.fold != k)
        wk, bk = sgd(d.terms[outside], y[outside], seed)
        oof[inside] = d.terms[inside] @ wk + bk
    weight = np.ones(y.shape[0])
    for r in set(d.register[fitting & ~y].tolist()):
        h = fitting & ~y & (d.register == r)
        cut = np.quantile(oof[h], 1.0 - HARD_SHARE)
        weight[h & (oof >= cut)] = HARD_WEIGHT
    return sgd(d.terms[fitting], y[fitting], seed, weight[fitting])


def threshold(scores: npt.NDArray[np.float64], humans: list[npt.NDArray[np.bool_]]) -> float:
    """The lowest log-odds threshold at which every group of `humans` has at most TARGET of its texts at or above
    it."""
    t = -np.inf
    for h in humans:
        s = np.sort(scores[h])[::-1]
        m = int(np.floor(TARGET * s.shape[0] + 1e-9))
        if m < s.shape[0]:
            t = max(t, float(np.nextafter(s[m], np.inf)))
    return t


def auc(y: npt.NDArray[np.bool_], s: npt.NDArray[np.float64]) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s))


OLD = ("gpt-j", "gpt-neo", "opt-", "gpt2", "davinci")


def evaluate(d: Data, recipe: str, seed: int, with_loso: bool = True) -> dict[str, Any]:
    started = time.perf_counter()
    train = ~d.held
    full = fit(d, train, recipe, seed)
    loro = np.full(d.machine.shape[0], np.nan)
    groups = []
    for r in sorted(set(d.register[train & ~d.machine].tolist())):
        inside = train & (d.register == r)
        if (inside & ~d.machine).sum() < MIN_HUMANS:
            continue
        loro[inside] = fit(d, train & ~inside, recipe, seed)[inside]
        groups.append((r, inside & ~d.machine))
    t = threshold(loro, [h for _, h in groups])
    worst = max((float(np.mean(loro[h] >= t)), r) for r, h in groups)
    # Which registers bind: the threshold each alone would set, and the held-out TPR there.
    alone = sorted(((threshold(loro, [h]), r) for r, h in groups), reverse=True)
    held = d.held
    y = d.machine[held]
    s = full[held]
    gen = d.generator[held]
    old = np.array([g.lower().startswith(OLD) for g in gen])
    out: dict[str, Any] = {
        "recipe": recipe,
        "seed": seed,
        "auc": auc(y, s),
        "tpr": float(np.mean(s[y] >= t)),
        "fpr": float(np.mean(s[~y] >= t)),
        "p": float(1 / (1 + np.exp(-t))),
        "worst_register": worst,
        "old": float(np.mean((s >= t)[y & old])),
        "claude": float(np.mean((s >= t)[gen == "claude-instant"])),
        "gpt4o": float(np.mean((s >= t)[gen == "gpt-4o"])),
    }
    out["binding"] = [(r, float(1 / (1 + np.exp(-tr))), float(np.mean(s[y] >= tr))) for tr, r in alone]
    loso = []
    for src in sorted(set(d.source.tolist())):
        inside = d.source == src
        humans = int((inside & ~d.machine).sum())
        machines = int((inside & d.machine).sum())
        if (humans < MIN_HUMANS and machines == 0) or not with_loso:
            continue
        sc = fit(d, train & ~inside, recipe, seed)
        fpr = float(np.mean(sc[inside & ~d.machine] >= t)) if humans else float("nan")
        tpr = float(np.mean(sc[inside & d.machine & held] >= t)) if (inside & d.machine & held).any() else float("nan")
        loso.append((src, humans, fpr, tpr))
    out["loso"] = loso
    gate = [(src, fpr) for src, n, fpr, _ in loso if n >= MIN_HUMANS and fpr > TARGET]
    out["gate"] = gate
    out["seconds"] = time.perf_counter() - started
    return out


def row(o: dict[str, Any]) -> str:
    gate = "; ".join(f"{s} {f:.1%}" for s, f in o["gate"]) or ("none" if o["loso"] else "-")
    worst = max([(f, s) for s, n, f, _ in o["loso"] if n >= MIN_HUMANS], default=None)
    worst_src = "not run" if worst is None else f"{worst[1]} {worst[0]:.1%}"
    return (
        f"| {o['recipe']} | {o['seed']} | {o['auc']:.3f} | {o['tpr']:.1%} | {o['fpr']:.1%} | {o['p']:.3f} | "
        f"{o['worst_register'][1]} {o['worst_register'][0]:.1%} | {worst_src} | {gate} | "
        f"{o['old']:.1%} | {o['claude']:.1%} | {o['gpt4o']:.1%} | {o['seconds']:.0f} s |"
    )


def loso_row(o: dict[str, Any]) -> str:
    cells = " | ".join(
        (f"{fpr:.1%}" if n >= MIN_HUMANS else "-") + " / " + ("-" if np.isnan(tpr) else f"{tpr:.0%}")
        for _, n, fpr, tpr in o["loso"]
    )
    return f"| {o['recipe']} s{o['seed']} | {cells} |"


HEADER = (
    "| recipe | seed | held-out AUC | TPR at the LORO threshold | held-out human FPR | threshold | worst left-out "
    "register | worst left-out source (human FPR) | sources over 5% | old generators TPR | claude-instant | gpt-4o "
    "| time |\n|---|---:|---:|---:|---:|---:|---|---|---|---:|---:|---:|---:|"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["build", "run"])
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--recipes", default="shipped")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--no-loso", action="store_true", help="skip leave one source out (a quick screen)")
    parser.add_argument("--binding", action="store_true", help="print the threshold each register alone sets")
    parser.add_argument("--out", type=Path, help="append the markdown rows to this file too")
    args = parser.parse_args(argv)
    if not farm_data.available():
        print(f"skipped: training data not found at {farm_data.SHARED}")
        return 0
    if args.command == "build":
        build(args.cache)
        return 0
    d = load(args.cache)
    for recipe in args.recipes.split(","):
        for seed in [int(s) for s in args.seeds.split(",")]:
            o = evaluate(d, recipe, seed, not args.no_loso)
            lines = [row(o), "sources: " + ", ".join(s for s, *_ in o["loso"]), loso_row(o)]
            if args.binding:
                lines.append("| register | its own threshold | held-out TPR there |\n|---|---:|---:|")
                lines += [f"| {r} | {p:.3f} | {tpr:.1%} |" for r, p, tpr in o["binding"]]
            print("\n".join(lines), flush=True)
            if args.out:
                with args.out.open("a", encoding="utf-8") as handle:
                    handle.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Spins and their source: a scan of human originals mixed with machine spins of them.

A content farm spins one story into many pages. Scanned together, the original and its spins form a rewrite
cluster; the original is the victim, not the farm. This bench checks two promises of the content-farm score
(issue 19):

1. An original is flagged no more often in such a scan than when it is scored alone: being spun is never
   counted against the source.
2. The scan names each cluster's `source`, and names it right where the truth is known (the human original
   of a story's machine spins); `None` is allowed where it cannot be told, and counted.

Stories come from ../shared/data (beside the checkout; the bench exits cleanly when it is absent): a human
article with the machine texts made from it (`pair_id`) by a spinning method (paraphrase, rewrite, polish,
restyle, expand), from llmfake, SheepDog, iu_news and registers/ (ImBD, MixSet, iu_wiki). The same article
under several ids or corpora is one story (matched on its opening words). Originals shorter than 80 words and
scrapes that lost their capitals are left out, as in training. Up to three spins a story,
chosen by a stable hash. Texts carry no dates, so the source is told from the text alone.

Writes bench/results/farm_spins.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import dedup

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results" / "farm_spins.md"
MIN_WORDS = 80
SPINS_PER_STORY = 3
# The machine methods that retell a given human text (as opposed to writing anew from a headline or prompt).
SPIN_METHODS = {
    "llmfake": ("paraphrase_generation", "rewrite_generation"),
    "sheepdog": ("restyle", "adversarial restyle"),
    "iu_news": ("rephrase", "paraphrase", "rewrite"),
    "imbd": ("rewrite", "polish", "expand"),
    "mixset": ("rewrite", "polish_sentence", "polish_token"),
    "iu_wiki": ("paraphrase", "paraphrase_humanlike"),
}


@dataclass
class Story:
    corpus: str
    original: dedup.Document
    spins: list[dedup.Document]


def _stable(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def _lower_scrape(text: str) -> bool:
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]
    return bool(sentences) and sum(s[:1].islower() for s in sentences) / len(sentences) > 0.5


def _opening(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower())[:30])


def _rows(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _spins(row: dict[str, object]) -> bool:
    methods = SPIN_METHODS.get(str(row.get("source", "")), ())
    method = str(row.get("method") or "")
    return row.get("label") == "machine" and any(method.startswith(m) for m in methods)


def load_stories() -> list[Story]:
    """Every usable story: one human original, and up to SPINS_PER_STORY of its spins."""
    import ftfy

    rows: list[dict[str, object]] = []
    for folder in ("farm", "registers"):
        for path in sorted((DATA / folder).glob("*.jsonl")):
            for row in _rows(path):
                row["source"] = path.stem
                rows.append(row)
    originals: dict[str, dict[str, object]] = {}
    for row in rows:
        if row.get("label") == "human" and row.get("pair_id"):
            originals.setdefault(str(row["pair_id"]), row)
    spun: defaultdict[str, list[dict[str, object]]] = defaultdict(list)
    for row in rows:
        if _spins(row) and str(row.get("pair_id")) in originals:
            spun[str(row["pair_id"])].append(row)
    # One story per original text: the same article under several ids and corpora (llmfake and SheepDog share
    # PolitiFact articles) is one story, with the spins of all of them.
    by_text: dict[str, list[str]] = {}
    for pair_id in sorted(spun):
        by_text.setdefault(_opening(str(originals[pair_id]["text"])), []).append(pair_id)
    stories = []
    for pair_ids in by_text.values():
        pair_id = pair_ids[0]
        human = originals[pair_id]
        spins = [r for p in pair_ids for r in spun[p]]
        text = ftfy.fix_text(str(human["text"]))
        if len(text.split()) < MIN_WORDS or _lower_scrape(text):
            continue
        chosen = sorted(spins, key=lambda r: _stable(f"{pair_id}/{r['id']}"))[:SPINS_PER_STORY]
        corpus = str(chosen[0]["source"])
        original = dedup.Document(f"{corpus}/{human['id']}", text)
        copies = [dedup.Document(f"{corpus}/{r['id']}", ftfy.fix_text(str(r["text"]))) for r in chosen]
        stories.append(Story(corpus, original, copies))
    return stories


def held_out(stories: list[Story]) -> list[Story]:
    """The stories whose original is in a story group the shipped farm model was not trained on (the held-out
    part of bench/train_farm.py's split): its machine-prose probability, the prior of the source rule, is
    then an honest one."""
    import farm_data
    from train_farm import TEST_SHARE

    rows = farm_data.load()
    test = farm_data.split(rows, TEST_SHARE, "test")
    openings = {farm_data.opening(t) for t, keep in zip(rows.texts, test, strict=True) if keep}
    return [s for s in stories if farm_data.opening(s.original.text) in openings - {None}]


def pct(hits: int, n: int) -> str:
    return f"{100 * hits / n:.1f}% ({hits}/{n})" if n else "-"


def evaluate(stories: list[Story]) -> list[str]:
    """The tables: per corpus, flagged alone vs in the scan, and the source named per cluster."""
    alone = {s.original.id: dedup.score(s.original.text).flagged for s in stories}
    started = time.perf_counter()
    result = dedup.scan([d for s in stories for d in (s.original, *s.spins)])
    seconds = time.perf_counter() - started
    flagged = {d.id: bool(d.flagged) for d in result.documents}
    cluster_of = {m: c for c in result.clusters for m in c.members}
    counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for s in stories:
        c = counts[s.corpus]
        c["stories"] += 1
        c["alone"] += alone[s.original.id]
        c["scan"] += flagged[s.original.id]
        cluster = cluster_of.get(s.original.id)
        if cluster is None:
            continue
        c["clustered"] += 1
        source = getattr(cluster, "source", None)
        c["right" if source == s.original.id else "unknown" if source is None else "wrong"] += 1
    lines = [
        "| corpus | stories | original clustered with a spin | originals flagged alone | flagged in the scan "
        "| source right | source wrong | source not told | right where told |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    total: Counter[str] = Counter()
    for corpus in [*sorted(counts), "all"]:
        c = total if corpus == "all" else counts[corpus]
        if corpus != "all":
            total.update(c)
        told = c["right"] + c["wrong"]
        name = f"**{corpus}**" if corpus == "all" else corpus
        lines.append(
            f"| {name} | {c['stories']} | {pct(c['clustered'], c['stories'])} | {pct(c['alone'], c['stories'])} "
            f"| {pct(c['scan'], c['stories'])} | {pct(c['right'], c['clustered'])} | {pct(c['wrong'], c['clustered'])} "
            f"| {pct(c['unknown'], c['clustered'])} | {pct(c['right'], told)} |"
        )
    spins_flagged = sum(flagged[d.id] for s in stories for d in s.spins)
    spins = sum(len(s.spins) for s in stories)
    lines += [
        "",
        f"Spins flagged in the scan: {pct(spins_flagged, spins)}. The scan of {len(result.documents):,} documents "
        f"took {seconds:.1f} s.",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stories", type=int, default=0, help="at most this many stories (0: all)")
    parser.add_argument(
        "--all", action="store_true", help="every story, also those the farm model was trained on (default: held out)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"no data at {DATA}: nothing to measure", file=sys.stderr)
        return 0
    stories = load_stories()
    if not args.all:
        stories = held_out(stories)
    if args.stories:
        stories = sorted(stories, key=lambda s: _stable(s.original.id))[: args.stories]
    lines = [
        "# Spins and their source",
        "",
        f"`python bench/farm_spins.py{' --all' if args.all else ''}"
        f"{' --stories ' + str(args.stories) if args.stories else ''}`, dedup {dedup.__version__}. Human originals "
        f"scanned together with up to {SPINS_PER_STORY} machine spins each (see the script's docstring), "
        f"{'every story' if args.all else 'the stories held out of the farm model training'}.",
        "",
        *evaluate(stories),
        "",
    ]
    args.output.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

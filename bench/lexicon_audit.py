"""Does each entry of the farm lexicon earn its place? Counts in machine and human text of the shared data.

The stock phrases, buzzwords and sentence-opening transitions of `dedup/farm/lexicon.json` are meant to mark
machine and farm prose; an entry earns its place when it is found in machine text of ../shared/data (farm/ and
registers/, cleaned as `bench/farm_data.py` loads them) at least `MIN_RATIO` times as often, per million
words, as in human text, and at least `MIN_MACHINE` times in all (a single occurrence says nothing). Only the
stories bench/train_farm.py trains on are counted: choosing the lists is part of training, so the held-out
stories (bench/farm_quality.py, bench/farm_spins.py) stay unseen. The seeds are not counted either: they are
examples of the genre, not evidence for a list.

How an entry is counted follows how the scorer matches it: lower-cased word sequences (a word is a run of
letters and digits with inner apostrophes; hyphens split words); transitions only where they open a
sentence. Heading terms are counted in heading-like lines (short lines that do not end a sentence), and the
line patterns (`chrome_lines`, `farm_chrome_lines`) on lines of at most 40 words; the data are bare article
bodies, so those counts are reported but do not decide: a page's chrome is not in them.

Writes bench/results/lexicon-audit.md; `--prune` also rewrites lexicon.json without the entries that fail
(then retrain: `python bench/train_farm.py`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

import farm_data
from train_farm import TEST_SHARE

ROOT = Path(__file__).resolve().parent.parent
LEXICON = ROOT / "dedup" / "farm" / "lexicon.json"
RESULTS = ROOT / "bench" / "results" / "lexicon-audit.md"
MIN_RATIO = 2.0
MIN_MACHINE = 5
# The lists the rule decides (prose any article has); the others are reported only.
DECIDED = ("stock_phrases", "buzzwords", "transitions")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*\s+|\n+")
_BOUNDARY = "\x00"


def words(text: str) -> list[str]:
    """Lower-cased words as the scorer cuts them.

    >>> words("It's a well-known FACT: 3.2 million.")
    ["it's", 'a', 'well', 'known', 'fact', '3', '2', 'million']
    """
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def stream(text: str) -> tuple[str, int]:
    """The text as ` w1 w2 ... ` with a boundary token between sentences, and its number of words."""
    parts: list[str] = []
    n = 0
    for sentence in _SENTENCE_END.split(text):
        w = words(sentence)
        if w:
            parts.append(" ".join(w))
            n += len(w)
    return f" {_BOUNDARY} " + f" {_BOUNDARY} ".join(parts) + f" {_BOUNDARY} ", n


def heading_lines(text: str) -> str:
    """The text's heading-like lines (at most 8 words, not ending a sentence), as a word stream."""
    out = []
    for raw in text.splitlines():
        line = raw.strip().lstrip("#*").strip()
        w = words(line)
        if w and len(w) <= 8 and not line.endswith((".", "?", "!", ",", ";", ":")):
            out.append(" ".join(w))
    return " " + f" {_BOUNDARY} ".join(out) + " "


def audit(
    texts: list[str], machine: list[bool], lexicon: dict[str, list[str]]
) -> dict[str, list[tuple[str, int, int, float, float]]]:
    """Per list, each entry with its count and rate per million words in machine and human text."""
    streams: dict[bool, list[str]] = {True: [], False: []}
    headings: dict[bool, list[str]] = {True: [], False: []}
    short_lines: dict[bool, list[str]] = {True: [], False: []}
    total = Counter[bool]()
    for text, is_machine in zip(texts, machine, strict=True):
        s, n = stream(text)
        streams[is_machine].append(s)
        total[is_machine] += n
        headings[is_machine].append(heading_lines(text))
        short_lines[is_machine].extend(
            line.strip().lower() for line in text.splitlines() if line.strip() and len(line.split()) <= 40
        )
    joined = {m: "".join(v) for m, v in streams.items()}
    joined_headings = {m: "".join(v) for m, v in headings.items()}
    out: dict[str, list[tuple[str, int, int, float, float]]] = {}
    for name in (*DECIDED, "generic_heading_terms"):
        rows_out = []
        for entry in lexicon[name]:
            key = " ".join(words(entry))
            if name == "transitions":
                needle, hay = f" {_BOUNDARY} {key} ", joined
            elif name == "generic_heading_terms":
                needle, hay = f" {key} ", joined_headings
            else:
                needle, hay = f" {key} ", joined
            m, h = hay[True].count(needle), hay[False].count(needle)
            rows_out.append((entry, m, h, 1e6 * m / max(total[True], 1), 1e6 * h / max(total[False], 1)))
        out[name] = rows_out
    for name in ("chrome_lines", "farm_chrome_lines"):
        rows_out = []
        for pattern in lexicon[name]:
            compiled = re.compile(pattern)
            m = sum(1 for line in short_lines[True] if compiled.search(line))
            h = sum(1 for line in short_lines[False] if compiled.search(line))
            rows_out.append((pattern, m, h, 1e6 * m / max(total[True], 1), 1e6 * h / max(total[False], 1)))
        out[name] = rows_out
    out["_words"] = [("", total[True], total[False], 0.0, 0.0)]
    return out


def earns(m: int, machine_rate: float, human_rate: float) -> bool:
    """The rule: found in machine text often enough, and at least `MIN_RATIO` times as often as in human text."""
    return m >= MIN_MACHINE and machine_rate >= MIN_RATIO * human_rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prune", action="store_true", help="rewrite lexicon.json without the entries that fail")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not farm_data.available():
        print(f"no data at {farm_data.SHARED}: nothing to measure", file=sys.stderr)
        return 0
    lexicon = json.loads(LEXICON.read_text(encoding="utf-8"))
    rows = farm_data.load()
    held_out = farm_data.split(rows, TEST_SHARE, "test")
    texts = [t for t, out in zip(rows.texts, held_out.tolist(), strict=True) if not out]
    machine = rows.machine[~held_out].tolist()
    counts = audit(texts, machine, lexicon)
    _, machine_words, human_words, _, _ = counts.pop("_words")[0]
    lines = [
        "# Lexicon audit",
        "",
        f"`python bench/lexicon_audit.py{' --prune' if args.prune else ''}`: each entry of "
        "`dedup/farm/lexicon.json` counted in the machine and human text of ../shared/data (farm/ and registers/, "
        "the stories the farm model trains on, "
        f"{sum(machine):,} machine texts of {machine_words:,} words, {len(machine) - sum(machine):,} "
        f"human texts of {human_words:,} words; the script's docstring says how). An entry of "
        f"{', '.join(DECIDED)} earns its place when found at least {MIN_MACHINE} times in machine text and at "
        f"least {MIN_RATIO:g}x as often per million words as in human text; the others are reported only.",
        "",
    ]
    pruned: dict[str, list[str]] = {}
    for name, entries in counts.items():
        decided = name in DECIDED
        kept = [e for e in entries if not decided or earns(e[1], e[3], e[4])]
        failing = [e[0] for e in entries if decided and not earns(e[1], e[3], e[4])]
        if decided:
            pruned[name] = failing
        head = f"## {name}: {len(kept)} of {len(entries)} earn their place" if decided else f"## {name} (reported)"
        lines += [head, "", "| entry | machine | human | machine / M words | human / M words | ratio | verdict |"]
        lines += ["|---|---:|---:|---:|---:|---:|---|"]
        for entry, m, h, mr, hr in sorted(entries, key=lambda e: (-(e[3] + 1e-9) / (e[4] + 1e-3), e[0])):
            ratio = "inf" if hr == 0 and mr > 0 else "-" if hr == 0 else f"{mr / hr:.2f}"
            verdict = ("keep" if earns(m, mr, hr) else "prune") if decided else ""
            shown = entry.replace("|", "\\|")
            lines.append(f"| `{shown}` | {m:,} | {h:,} | {mr:.1f} | {hr:.1f} | {ratio} | {verdict} |")
        lines.append("")
    if args.prune:
        for name, failing in pruned.items():
            lexicon[name] = [e for e in lexicon[name] if e not in set(failing)]
        LEXICON.write_text(json.dumps(lexicon, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        lines += ["Pruned: " + "; ".join(f"{n}: {', '.join(f) or 'none'}" for n, f in pruned.items()), ""]
    args.output.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines[:8]))
    for name, failing in pruned.items():
        print(f"{name}: prune {len(failing)}: {failing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The farm scorer's data: ../shared/data/farm and ../shared/data/registers, cleaned, with stories grouped by text.

Used by bench/train_farm.py, bench/farm_quality.py and the model tests. Cleaning, in order: rows flagged
`short<50w`, `refusal` or `scrape_error` are dropped; encoding is repaired with ftfy on both classes (so no
model learns the mojibake); texts whose sentences mostly start in lower case (scrapes that lost their capitals,
nearly all human) are dropped, and so are texts with no words.

Stories are grouped by text, not by ids: one union-find over every row, joining
- rows that share a `pair_id` (within a farm file; across all of registers/, whose ids are global and whose
  ImBD pairs point into fastdetect's rows),
- rows that open with the same words (the first `OPENING_WORDS` words, lower-cased, letters and digits only):
  fastdetect_xsum carries each article about five times under different ids, llmfake and sheepdog share
  PolitiFact articles, continuations share their human opening.
Every split, threshold choice and reported figure uses these groups. Splits hash the group's smallest row key
(blake2b), so they are the same on any machine and in any order of the files.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from dedup.farm.text import Article, parse

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
FARM = SHARED / "farm"
REGISTERS = SHARED / "registers"
CLOUGH = SHARED / "neardup" / "clough_stevenson_docs.jsonl"
SEEDS = ROOT.parent / "shared" / "seeds"
DROP_FLAGS = {"short<50w", "refusal", "scrape_error"}
OPENING_WORDS = 15
SEED = 20240611
_WORD = re.compile(r"[a-z0-9]+")


@dataclass
class Rows:
    """The cleaned rows: text, label, where each came from, and its story group (an integer id)."""

    texts: list[str]
    machine: npt.NDArray[np.bool_]
    corpus: npt.NDArray[np.str_]  # "farm" or "registers"
    source: npt.NDArray[np.str_]  # the file, e.g. "llmfake", "detectrl"
    register: npt.NDArray[np.str_]  # farm rows: "news"
    generator: npt.NDArray[np.str_]  # human rows: "human"
    method: npt.NDArray[np.str_]
    group: npt.NDArray[np.int64]
    group_key: list[str]  # a stable name per row's group (its smallest row key), what splits hash
    dropped: Counter[str]

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, mask: npt.NDArray[np.bool_]) -> Rows:
        idx = np.flatnonzero(mask).tolist()
        return Rows(
            [self.texts[i] for i in idx],
            self.machine[mask],
            self.corpus[mask],
            self.source[mask],
            self.register[mask],
            self.generator[mask],
            self.method[mask],
            self.group[mask],
            [self.group_key[i] for i in idx],
            self.dropped,
        )


def available() -> bool:
    """Whether ../shared/data holds both corpora."""
    return FARM.is_dir() and REGISTERS.is_dir()


def lowercased(a: Article) -> bool:
    """Whether most sentences start in lower case (a scrape that lost its capitals)."""
    if not a.sentences:
        return False
    lower = sum(a.cased[lo][0].islower() for lo, _ in a.sentences)
    return lower / len(a.sentences) > 0.5


def opening(text: str, n: int = OPENING_WORDS) -> str | None:
    """The first `n` words, lower-cased, letters and digits only; None for a shorter text.

    >>> opening("The Mayor said: 'yes'. Then", 4)
    'the mayor said yes'
    """
    words = _WORD.findall(text[: 40 * n].lower())[:n]
    return " ".join(words) if len(words) == n else None


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def stories(keys: list[str], pair_keys: list[str | None], openings: list[str | None]) -> npt.NDArray[np.int64]:
    """Group rows (named by `keys`) that share a pair key or an opening; each group's id is its first row.

    >>> stories(["a", "b", "c", "d"], ["p", None, "p", None], ["x", "y", None, "y"]).tolist()
    [0, 1, 0, 1]
    """
    uf = _UnionFind(len(keys))
    for links in (pair_keys, openings):
        first: dict[str, int] = {}
        for i, link in enumerate(links):
            if link is None:
                continue
            j = first.setdefault(link, i)
            if j != i:
                uf.union(i, j)
    return np.array([uf.find(i) for i in range(len(keys))], dtype=np.int64)


def load(shared: Path = SHARED, *, limit: int | None = None) -> Rows:
    """Every usable row of farm/ and registers/, cleaned and grouped as the module docstring says.
    `limit`: at most this many rows per file (the first ones), for quick runs and tests."""
    import ftfy

    texts: list[str] = []
    fields: dict[str, list[str]] = {k: [] for k in ("corpus", "source", "register", "generator", "method", "key")}
    machine: list[bool] = []
    pair_keys: list[str | None] = []
    dropped: Counter[str] = Counter()
    for corpus in ("farm", "registers"):
        for path in sorted((shared / corpus).glob("*.jsonl")):
            name = path.name.removesuffix(".jsonl")
            with path.open(encoding="utf-8") as handle:
                for k, line in enumerate(handle):
                    if limit is not None and k >= limit:
                        break
                    row = json.loads(line)
                    bad = sorted(set(row.get("flags") or ()) & DROP_FLAGS)
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
                    is_machine = row["label"] == "machine"
                    texts.append(text)
                    machine.append(is_machine)
                    fields["corpus"].append(corpus)
                    fields["source"].append(name)
                    fields["register"].append(str(row.get("register") or "news"))
                    fields["generator"].append(str(row.get("generator") or "human") if is_machine else "human")
                    fields["method"].append(str(row.get("method") or ""))
                    fields["key"].append(f"{corpus}/{name}:{row['id']}")
                    pair = row.get("pair_id")
                    # registers/ pair ids are global (ImBD's point into fastdetect); farm/ ones are per file.
                    pair_keys.append(None if not pair else (f"r:{pair}" if corpus == "registers" else f"{name}:{pair}"))
    group = stories(fields["key"], pair_keys, [opening(t) for t in texts])
    # A group's stable name: its smallest row key, so a split does not depend on file order.
    smallest: dict[int, str] = {}
    for g, key in zip(group.tolist(), fields["key"], strict=True):
        if g not in smallest or key < smallest[g]:
            smallest[g] = key
    return Rows(
        texts,
        np.array(machine, dtype=np.bool_),
        np.array(fields["corpus"]),
        np.array(fields["source"]),
        np.array(fields["register"]),
        np.array(fields["generator"]),
        np.array(fields["method"]),
        group,
        [smallest[g] for g in group.tolist()],
        dropped,
    )


def share_of(key: str, salt: str) -> float:
    """A stable number in [0, 1) for a group and a purpose (`salt`): the same on any machine."""
    digest = hashlib.blake2b(f"{SEED}:{salt}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2**64


def split(rows: Rows, share: float, salt: str) -> npt.NDArray[np.bool_]:
    """Whether each row's story falls in a part holding `share` of the stories (by `share_of`)."""
    cache: dict[str, bool] = {}
    out = np.empty(len(rows), dtype=np.bool_)
    for i, key in enumerate(rows.group_key):
        if key not in cache:
            cache[key] = share_of(key, salt) < share
        out[i] = cache[key]
    return out


def read_jsonl_texts(path: Path) -> list[str]:
    """The `text` of every row of a JSONL file."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in handle if line.strip()]


def seed_texts() -> list[tuple[str, str]]:
    """The seeds as (file name, text), sorted by name."""
    return [(p.name, p.read_text(encoding="utf-8")) for p in sorted(SEEDS.glob("*.txt"))]

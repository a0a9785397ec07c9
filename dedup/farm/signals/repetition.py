"""Repetition signals: the same phrasing spun again and again (Gopher's quality filters, Rae et al. 2021).

Over the prose words' small ids (`Page.local`): the share of word characters inside word 5-grams that occur
more than once, and the share taken by the most frequent 3-gram. Evidence: the repeated runs, and the top
phrase's occurrences.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dedup.farm.signals.base import REPEATED, TOP, Out, Tables, Texts, local_ids, page_of, put
from dedup.jit import kernel

__all__ = ["GOPHER_DUPLICATE_N", "gram_counts", "repetition"]

GOPHER_DUPLICATE_N = 5


@kernel
def gram_counts(local: npt.NDArray[np.int64], n: np.int64) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For each word n-gram (by its first word): how often it occurs, and where it first occurs."""
    grams = local.shape[0] - n + 1
    if grams <= 0:  # the rolling key below reads the first n words
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    keys = np.empty(grams, dtype=np.uint64)
    # The key is the polynomial sum(x_k * B**(n - 1 - k)) mod 2**64 over the ids + 1: rolled from one gram
    # to the next (drop the first word's term, shift, add the new word), the same key in O(1) a gram.
    base = np.uint64(1_000_003)
    top = np.uint64(1)
    for _ in range(n - 1):
        top = top * base
    h = np.uint64(0)
    for k in range(n):
        h = h * base + np.uint64(local[k] + 1)
    keys[0] = h
    for i in range(1, grams):
        h = (h - np.uint64(local[i - 1] + 1) * top) * base + np.uint64(local[i + n - 1] + 1)
        keys[i] = h
    ids, distinct = local_ids(keys)
    total = np.zeros(distinct, dtype=np.int64)
    first_at = np.empty(distinct, dtype=np.int64)
    for i in range(grams):
        if total[ids[i]] == 0:
            first_at[ids[i]] = i
        total[ids[i]] += 1
    # Explicit loops, not `total[ids]`: numba compiles fancy indexing to a general, slower gather.
    out_total = np.empty(grams, dtype=np.int64)
    out_first = np.empty(grams, dtype=np.int64)
    for i in range(grams):
        out_total[i] = total[ids[i]]
        out_first[i] = first_at[ids[i]]
    return out_total, out_first


@kernel
def repetition(texts: Texts, t: Tables, outs: Out) -> None:
    """The repetition signals, one kernel for the family (each kernel is a compilation of its own):

    - `repeated_ngrams`: the share of word characters inside word 5-grams that occur more than once (Gopher,
      Rae et al. 2021); evidence: the repeated runs after their first occurrence;
    - `top_ngram`: the share of word characters taken by the most frequent word 3-gram (Gopher's top n-gram
      share), one phrase ("the meeting between") carrying the text; evidence: its occurrences, ties going
      to the phrase that comes first.
    """
    for which in range(texts.offsets.shape[0] - 1):
        page = page_of(texts, which)
        out = Out(outs.values[which], outs.counts[which], outs.ev, outs.ev_n)
        local, chars, pos = page.local, page.chars, page.pos
        n = local.shape[0]
        all_chars = 0
        for i in range(n):
            all_chars += chars[i]

        g = GOPHER_DUPLICATE_N
        if n >= g:
            total, first = gram_counts(local, np.int64(g))
            covered = np.zeros(n + 1, dtype=np.int64)
            later = np.zeros(n + 1, dtype=np.int64)
            for i in range(total.shape[0]):
                if total[i] > 1:
                    covered[i] += 1
                    covered[i + g] -= 1
                    if first[i] != i:
                        later[i] += 1
                        later[i + g] -= 1
            inside = 0
            run_start = -1
            runs = 0
            c = 0
            d = 0
            for i in range(n + 1):
                c += covered[i]
                d += later[i]
                if i < n and c > 0:
                    inside += chars[i]
                if i < n and d > 0:
                    if run_start < 0:
                        run_start = i
                elif run_start >= 0:
                    put(out, REPEATED, pos[run_start, 0], pos[i - 1, 1])
                    runs += 1
                    run_start = -1
            out.values[REPEATED] = inside / all_chars
            out.counts[REPEATED] = runs

        if n >= 3:
            total, first = gram_counts(local, np.int64(3))
            best = 0
            top = 0  # the first 3-gram that occurs `best` times
            for i in range(total.shape[0]):
                if total[i] > best:
                    best = total[i]
                    top = i
            if best < 2:
                out.values[TOP] = 0.0
            else:
                for i in range(total.shape[0]):
                    if first[i] == top:
                        put(out, TOP, pos[i, 0], pos[i + 2, 1])
                out.values[TOP] = best * (chars[top] + chars[top + 1] + chars[top + 2]) / all_chars
                out.counts[TOP] = best

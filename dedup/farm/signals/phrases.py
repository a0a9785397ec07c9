"""Lexicon signals: words and phrases from `lexicon.json` that spun, generated and SEO prose over-uses.

Phrases match on word keys, leftmost-longest and never overlapping (`match_phrases`); single words by their
lexicon flags. Values are per 1,000 prose words, or a share of sentences; evidence is the matches, in text
order.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dedup.farm.lexicon import BUZZWORD, FIRST_PERSON, STOCK_PHRASES, TRANSITIONS
from dedup.farm.signals.base import BUZZ, STOCK, Out, Phrases, Tables, Texts, page_of, put
from dedup.farm.signals.base import FIRST_PERSON as FIRST_PERSON_COLUMN
from dedup.farm.signals.base import TRANSITIONS as TRANSITIONS_COLUMN
from dedup.jit import kernel
from dedup.text.normalize import fmix64

__all__ = ["match_phrases", "phrases"]


@kernel
def match_phrases(
    ids: npt.NDArray[np.int32],
    lo: np.int64,
    stop: np.int64,
    hi: np.int64,
    k: np.int64,
    p: Phrases,
    found: npt.NDArray[np.int64],
) -> np.int64:
    """Phrases of list `k` in words `lo..hi - 1` that start before `stop`, leftmost-longest and not
    overlapping, as `(first, last + 1)` rows of `found` (room for `hi - lo`); returns how many.

    One loop with no calls that pass arrays inside: such a call costs more than matching a word."""
    mask = np.uint64(p.pair_keys.shape[0] - 1)
    n_found = np.int64(0)
    i = lo
    while i < stop:
        m = 0
        w = ids[i]
        if w != 0:
            if i + 1 < hi and ids[i + 1] != 0:
                key = fmix64(np.uint64((k << 56) | (np.int64(w) << 28) | np.int64(ids[i + 1])))
                at = key & mask
                while p.pair_ids[at] != 0 and p.pair_keys[at] != key:
                    at = (at + np.uint64(1)) & mask
                g = p.pair_ids[at]
                if g != 0:
                    for j in range(p.group_ptr[g - 1], p.group_ptr[g]):
                        n = p.lengths[j]
                        if i + n <= hi:
                            same = True
                            for w2 in range(2, n):
                                if ids[i + w2] != p.words[j, w2]:
                                    same = False
                                    break
                            if same:
                                m = n
                                break
            if m == 0 and p.singles[k, w]:
                m = 1
        if m:
            found[n_found, 0] = i
            found[n_found, 1] = i + m
            n_found += 1
            i += m
        else:
            i += 1
    return n_found


@kernel
def phrases(texts: Texts, t: Tables, outs: Out) -> None:
    """The lexicon signals, one kernel for the family (each kernel is a compilation of its own):

    - `stock_phrases`: stock phrases of spun and generated prose ("in conclusion", "serves as a reminder")
      per 1,000 words;
    - `buzzwords`: words generated and SEO prose over-uses ("pivotal", "underscores", "landscape") per 1,000
      words; `first_person`: "I", "we", "our" (people in their own voice) per 1,000 words;
    - `transitions`: the share of sentences that open with a connective ("Furthermore,", "Overall,").
    """
    for which in range(texts.offsets.shape[0] - 1):
        page = page_of(texts, which)
        out = Out(outs.values[which], outs.counts[which], outs.ev, outs.ev_n)
        ids, pos, scratch = page.ids, page.pos, page.scratch
        n = np.int64(ids.shape[0])

        found = match_phrases(ids, np.int64(0), n, n, np.int64(STOCK_PHRASES), t.phrases, scratch)
        for j in range(found):
            put(out, STOCK, pos[scratch[j, 0], 0], pos[scratch[j, 1] - 1, 1])
        out.values[STOCK] = 1000.0 * found / n if n else np.nan
        out.counts[STOCK] = found

        buzz = 0
        first = 0
        for i in range(n):
            f = t.word_flags[ids[i]]
            if f & BUZZWORD:
                put(out, BUZZ, pos[i, 0], pos[i, 1])
                buzz += 1
            if f & FIRST_PERSON:
                put(out, FIRST_PERSON_COLUMN, pos[i, 0], pos[i, 1])
                first += 1
        out.values[BUZZ] = 1000.0 * buzz / n if n else np.nan
        out.counts[BUZZ] = buzz
        out.values[FIRST_PERSON_COLUMN] = 1000.0 * first / n if n else np.nan
        out.counts[FIRST_PERSON_COLUMN] = first

        sentences = page.lay.sentences
        opening = 0
        for s in range(sentences.shape[0]):
            lo, hi = sentences[s, 0], sentences[s, 1]
            # Only a match at the sentence's first word counts.
            if match_phrases(ids, lo, min(lo + 1, hi), hi, np.int64(TRANSITIONS), t.phrases, scratch):
                put(out, TRANSITIONS_COLUMN, pos[lo, 0], pos[scratch[0, 1] - 1, 1])
                opening += 1
        out.values[TRANSITIONS_COLUMN] = opening / sentences.shape[0] if sentences.shape[0] else np.nan
        out.counts[TRANSITIONS_COLUMN] = opening

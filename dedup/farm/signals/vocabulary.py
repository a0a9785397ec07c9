"""The learned word-choice signal: how far the text's topic-neutral vocabulary leans toward generated text
(Mosteller & Wallace 1964), over the weights of the shipped model (`Tables.style_*`, from `style_table`).
"""

from __future__ import annotations

import math

import numpy as np

from dedup.farm.signals.base import STYLE, Out, Tables, Texts, page_of, put
from dedup.jit import kernel

__all__ = ["style_words"]


@kernel
def style_words(texts: Texts, t: Tables, outs: Out) -> None:
    """Word choice: the learned weights of the text's words from a topic-neutral vocabulary (words common in
    every training corpus), each word's `1 + log count` over the vector's length, summed. Evidence: the
    occurrences of the words that lean most toward generated text."""
    for which in range(texts.offsets.shape[0] - 1):
        page = page_of(texts, which)
        out = Out(outs.values[which], outs.counts[which], outs.ev, outs.ev_n)
        local, keys = page.local, page.keys
        weights, ranks = t.style_weights, t.style_ranks
        n = local.shape[0]
        if n == 0:
            continue
        mask = np.uint64(t.style_keys.shape[0] - 1)
        distinct = 0
        for i in range(n):
            distinct = max(distinct, local[i] + 1)
        count = np.zeros(distinct, dtype=np.int64)
        vocab = np.zeros(distinct, dtype=np.int64)
        for i in range(n):
            if count[local[i]] == 0:
                at = keys[i] & mask
                while t.style_ids[at] != 0 and t.style_keys[at] != keys[i]:
                    at = (at + np.uint64(1)) & mask
                vocab[local[i]] = t.style_ids[at]
            count[local[i]] += 1
        dot = 0.0
        norm = 0.0
        leaning = 0
        for w in range(distinct):
            v = vocab[w]
            if v:
                # log(1) is exactly 0: most words occur once, and the logarithm is the dearest step here.
                tf = 1.0 + math.log(count[w]) if count[w] > 1 else 1.0
                dot += tf * weights[v]
                norm += tf * tf
                if weights[v] > 0.0:
                    leaning += 1
        out.values[STYLE] = dot / math.sqrt(norm) if norm > 0.0 else 0.0
        out.counts[STYLE] = leaning
        room = out.ev.shape[1]
        if room == 0:
            continue
        # Evidence: the `room` occurrences first by the word's rank (highest weight first), then position, kept
        # sorted by that order as they come; shown in text order.
        chosen = np.empty(room, dtype=np.int64)
        m = 0
        for i in range(n):
            v = vocab[local[i]]
            if v and weights[v] > 0.0:
                order = ranks[v] * n + i
                if m == room and order >= chosen[m - 1]:
                    continue
                j = min(m, room - 1)
                while j > 0 and chosen[j - 1] > order:
                    chosen[j] = chosen[j - 1]
                    j -= 1
                chosen[j] = order
                m = min(m + 1, room)
        for i in range(m):
            chosen[i] %= n
        for i in range(1, m):
            at = chosen[i]
            j = i
            while j > 0 and chosen[j - 1] > at:
                chosen[j] = chosen[j - 1]
                j -= 1
            chosen[j] = at
        for i in range(m):
            put(out, STYLE, page.pos[chosen[i], 0], page.pos[chosen[i], 1])

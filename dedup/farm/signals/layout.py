"""Layout signals: how the page is built rather than how its prose reads.

Stock section headings, the title said again, lines that repeat an earlier line, and page furniture (chrome,
datelines, syndication footers), from the line kinds `dedup.farm.text` found. Values are counts or shares of
the text's line characters; evidence is the lines (or sentence openings) themselves.
"""

from __future__ import annotations

import numpy as np

from dedup.farm.lexicon import FUNCTION_WORD, HEADING_TERMS
from dedup.farm.signals.base import (
    BOILERPLATE,
    DUPLICATE_LINES,
    FARM_CHROME,
    HEADINGS,
    TITLE,
    Out,
    Tables,
    Texts,
    local_ids,
    page_of,
    put,
)
from dedup.farm.signals.phrases import match_phrases
from dedup.farm.text import K_CHROME, K_DATE, K_FARM_CHROME, K_HEADING, K_TITLE
from dedup.jit import kernel

__all__ = ["page_layout"]


@kernel
def page_layout(texts: Texts, t: Tables, outs: Out) -> None:
    """The layout signals, one kernel for the family (each kernel is a compilation of its own):

    - `generic_headings`: headings made of stock section names ("The Background", "Looking Ahead");
    - `title_repetition`: how often the title comes back, as the same line again or as a sentence that
      opens with its words (four or more);
    - `duplicate_lines`: the share of the text's line characters in lines that repeat an earlier line
      (Gopher's duplicate line fraction, Rae et al. 2021), title repeats aside;
    - `boilerplate`: the share of the text's line characters in chrome, dates and footers ("Read more",
      "Sign up", link lists, datelines); `farm_chrome`: the number of syndication and auto-publishing
      footer lines ("Original Story at", "The comments posted here are not from ...").
    """
    for which in range(texts.offsets.shape[0] - 1):
        page = page_of(texts, which)
        out = Out(outs.values[which], outs.counts[which], outs.ev, outs.ev_n)
        lay = page.lay
        l_pos, kinds, sentences = lay.l_pos, lay.kinds, lay.sentences
        lines = kinds.shape[0]

        headings = 0
        generic = 0
        for line in range(lines):
            if kinds[line] != K_HEADING:
                continue
            headings += 1
            lo, hi = l_pos[line, 3], l_pos[line, 4]
            found = match_phrases(lay.w_lex, lo, hi, hi, np.int64(HEADING_TERMS), t.phrases, page.scratch)
            # Stock when stock section terms make at least half of its content words ("The Background", "Regional
            # Dynamics", "Looking Ahead: Prospects for a Breakthrough"); one such word in a heading about something
            # ("Global Affiliate Network", a question that ends in "role") is not a template's.
            covered = np.int64(0)
            for r in range(found):
                covered += page.scratch[r, 1] - page.scratch[r, 0]
            content = np.int64(0)
            for i in range(lo, hi):
                if not t.word_flags[lay.w_lex[i]] & FUNCTION_WORD:
                    content += 1
            if found and 2 * covered >= content:
                put(out, HEADINGS, l_pos[line, 0], l_pos[line, 1])
                generic += 1
        out.values[HEADINGS] = generic
        out.counts[HEADINGS] = headings

        title = -1
        again = 0
        for line in range(lines):
            if kinds[line] == K_TITLE:
                if title < 0:
                    title = line
                else:
                    put(out, TITLE, l_pos[line, 0], l_pos[line, 1])
                    again += 1
        if title >= 0:
            t0, t1 = l_pos[title, 3], l_pos[title, 4]
            n = t1 - t0
            if n >= 4:
                for s in range(sentences.shape[0]):
                    lo, hi = sentences[s, 0], sentences[s, 1]
                    if hi - lo < n:
                        continue
                    same = True
                    for k in range(n):
                        if page.keys[lo + k] != lay.w_key[t0 + k]:
                            same = False
                            break
                    if same:
                        put(out, TITLE, page.pos[lo, 0], page.pos[lo + n - 1, 1])
                        again += 1
        out.values[TITLE] = again
        out.counts[TITLE] = again

        if lines:
            ids, distinct = local_ids(lay.l_key)
            seen = np.zeros(distinct, dtype=np.bool_)
            total = 0
            repeated = 0
            repeats = 0
            for line in range(lines):
                total += l_pos[line, 2]
                if kinds[line] == K_TITLE:
                    continue
                if seen[ids[line]]:
                    put(out, DUPLICATE_LINES, l_pos[line, 0], l_pos[line, 1])
                    repeated += l_pos[line, 2]
                    repeats += 1
                seen[ids[line]] = True
            out.values[DUPLICATE_LINES] = repeated / total
            out.counts[DUPLICATE_LINES] = repeats

        total = 0
        chrome = 0
        boilerplate = 0
        farm = 0
        for line in range(lines):
            total += l_pos[line, 2]
            kind = kinds[line]
            footer = kind == K_FARM_CHROME
            if footer:
                put(out, FARM_CHROME, l_pos[line, 0], l_pos[line, 1])
                farm += 1
            furniture = kind == K_CHROME or kind == K_DATE  # noqa: PLR1714 -- compiles to faster code than a set test
            if footer or furniture:
                put(out, BOILERPLATE, l_pos[line, 0], l_pos[line, 1])
                chrome += l_pos[line, 2]
                boilerplate += 1
        if total:
            out.values[BOILERPLATE] = chrome / total
        out.counts[BOILERPLATE] = boilerplate
        out.values[FARM_CHROME] = farm
        out.counts[FARM_CHROME] = farm

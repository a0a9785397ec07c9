"""Style signals: statistics of the prose that tell reported news from spun or generated text, whatever the
topic.

Rhythm and vocabulary (lexical diversity, burstiness, word length), how concrete and sourced the piece is
(figures and dates, quotations and attributions, names), and its punctuation. Values are rates per sentence
or per word, or plain statistics of the prose words; evidence is the words, sentences or marks behind them.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from dedup.farm.chars import DIGIT, UPPER, byte_set
from dedup.farm.lexicon import ATTRIBUTIONS, FUNCTION_WORD, MONTH, PRONOUN_I, WEEKDAY
from dedup.farm.signals.base import (
    ATTRIBUTION,
    BURST,
    DIVERSITY,
    NAMES,
    NUMBERS,
    PUNCTUATION,
    WORD_LENGTH,
    Out,
    Tables,
    Texts,
    page_of,
    put,
    put_in_order,
)
from dedup.farm.signals.phrases import match_phrases
from dedup.farm.text import K_PROSE
from dedup.jit import kernel
from dedup.text.utf8 import decode_utf8

__all__ = ["MATTR_WINDOW", "mattr", "rhythm", "sourcing"]

MATTR_WINDOW = 50
# The bytes that may start a mark `punctuation` counts: `;`, `:`, brackets, `-`, and the lead byte of the
# em and en dashes. A constant of the compiled code.
_PUNCTUATION_BYTES = byte_set(0x3B, 0x3A, 0x28, 0x29, 0x2D, 0xE2)


@kernel
def mattr(ids: npt.NDArray[np.int64], window: int | np.int64) -> tuple[float, int]:
    """Moving-average type-token ratio of a word sequence (Covington & McFall 2010), and the first window
    with the fewest types; the plain type-token ratio (window 0) when the sequence is not longer than a
    window. `ids` are small integers (`local_ids`).

    >>> mattr(np.array([0, 1, 0, 2, 2]), 3)  # windows [0 1 0] [1 0 2] [0 2 2]: 2, 3, 2 types
    (0.7777777777777778, 0)
    """
    n = ids.shape[0]
    if n == 0:
        return np.nan, 0
    top = 0
    for i in range(n):
        top = max(top, ids[i])
    seen = np.zeros(top + 1, dtype=np.int64)
    types = 0
    for i in range(min(n, window)):
        if seen[ids[i]] == 0:
            types += 1
        seen[ids[i]] += 1
    if n <= window:
        return types / n, 0
    total = types
    fewest = types
    at = 0
    for i in range(window, n):
        seen[ids[i - window]] -= 1
        if seen[ids[i - window]] == 0:
            types -= 1
        if seen[ids[i]] == 0:
            types += 1
        seen[ids[i]] += 1
        total += types
        if types < fewest:
            fewest = types
            at = int(i - window + 1)
    windows = n - window + 1
    return total / (windows * window), at


@kernel
def rhythm(texts: Texts, t: Tables, outs: Out) -> None:
    """How the prose runs, one kernel for these signals (each kernel is a compilation of its own):

    - `lexical_diversity`: the moving-average type-token ratio over 50-word windows (Covington & McFall
      2010), up to 50 words the plain type-token ratio; evidence: the least diverse window;
    - `burstiness`: the coefficient of variation of sentence lengths in words (standard deviation over
      mean), low for an even, machine rhythm; evidence: the shortest and the longest sentence;
    - `word_length`: the mean word length in characters, as generated prose leans on long abstract words
      ("significant", "collaboration"); evidence: the words of 12 characters or more.
    """
    for which in range(texts.offsets.shape[0] - 1):
        page = page_of(texts, which)
        out = Out(outs.values[which], outs.counts[which], outs.ev, outs.ev_n)
        pos, chars = page.pos, page.chars
        n = page.local.shape[0]
        if n:
            # A typed window, not the literal constant: one compiled signature for this call and Python's.
            value, at = mattr(page.local, np.int64(MATTR_WINDOW))
            out.values[DIVERSITY] = value
            out.counts[DIVERSITY] = max(1, n - MATTR_WINDOW + 1)
            put(out, DIVERSITY, pos[at, 0], pos[min(n, at + MATTR_WINDOW) - 1, 1])

        sentences = page.lay.sentences
        m = sentences.shape[0]
        if m >= 2:
            # The first shortest and the first longest sentence, in one pass (what argmin and argmax would pick).
            total = 0
            shortest = 0
            longest = 0
            for s in range(m):
                length = sentences[s, 1] - sentences[s, 0]
                total += length
                if length < sentences[shortest, 1] - sentences[shortest, 0]:
                    shortest = s
                if length > sentences[longest, 1] - sentences[longest, 0]:
                    longest = s
            mean = total / m
            variance = 0.0
            for s in range(m):
                variance += (sentences[s, 1] - sentences[s, 0] - mean) ** 2
            out.values[BURST] = math.sqrt(variance / m) / mean
            out.counts[BURST] = m
            first, last = min(shortest, longest), max(shortest, longest)
            put(out, BURST, pos[sentences[first, 0], 0], pos[sentences[first, 1] - 1, 1])
            if last != first:
                put(out, BURST, pos[sentences[last, 0], 0], pos[sentences[last, 1] - 1, 1])

        if n:
            long = 0
            letters = 0
            for i in range(n):
                letters += chars[i]
                if chars[i] >= 12:
                    put(out, WORD_LENGTH, pos[i, 0], pos[i, 1])
                    long += 1
            out.values[WORD_LENGTH] = letters / n
            out.counts[WORD_LENGTH] = long


@kernel
def sourcing(texts: Texts, t: Tables, outs: Out) -> None:
    """How concrete and sourced the piece is, per sentence, one kernel for these signals (each kernel is a
    compilation of its own):

    - `numbers`: figures ("84", "1,200", "5.6": digits, with `.,:/` between two digits) and dates (month and
      weekday names written with a capital);
    - `attribution`: quotations (12 characters or more between two quotation marks `"`, `“`, `”` on one
      line) and attributions ("said", "according to");
    - `names`: capitalised words inside sentences (not the first word, not a function word or "I"): names
      of people, places, bodies;
    - `punctuation`: colons, semicolons, brackets and dashes, the asides and lists of reported news, rare
      in generated prose; a dash is an em or en dash, `--`, or a hyphen with a space on each side.
    """
    for which in range(texts.offsets.shape[0] - 1):
        page = page_of(texts, which)
        out = Out(outs.values[which], outs.counts[which], outs.ev, outs.ev_n)
        buf, lo, flags = page.buf, page.lo, t.char_flags
        ids, pos, shape = page.ids, page.pos, page.shape
        l_pos, kinds, sentences = page.lay.l_pos, page.lay.kinds, page.lay.sentences
        n_sentences = sentences.shape[0]
        room = out.ev.shape[1]
        # Evidence of `numbers` and `attribution` comes from two passes each: gathered, then put in text order.
        found = np.empty((2 * room, 2), dtype=np.int64)

        n_found = np.int64(0)
        count = 0
        for i in range(ids.shape[0]):
            if t.word_flags[ids[i]] & (MONTH | WEEKDAY) and shape[i] & UPPER:
                if n_found < room:
                    found[n_found, 0] = pos[i, 0]
                    found[n_found, 1] = pos[i, 1]
                    n_found += 1
                count += 1
        figures = 0
        for line in range(kinds.shape[0]):
            if kinds[line] != K_PROSE:
                continue
            i = lo + l_pos[line, 0]
            e = lo + l_pos[line, 1]
            start = -1  # the start of the figure being read
            while i <= e:
                if start < 0:
                    # Outside a figure, ASCII bytes other than digits change nothing: skipped in a tight loop.
                    while i < e and buf[i] < 0x80 and not flags[buf[i]] & DIGIT:
                        i += 1
                    if i == e:
                        break
                if i < e:
                    b = buf[i]
                    cp, width = decode_utf8(buf, i, e)
                    digit = cp < flags.shape[0] and (flags[cp] & DIGIT) != 0
                else:
                    b, cp, width, digit = np.uint8(0), 0, 1, False
                if digit:
                    if start < 0:
                        start = i
                elif start >= 0:
                    # A joiner between two digits keeps the figure going.
                    if (b == 0x2E or b == 0x2C or b == 0x3A or b == 0x2F) and i + 1 < e:  # noqa: PLR1714 -- compiles to faster code than a set test
                        nxt = buf[i + 1]
                        if nxt < 0x80 and flags[nxt] & DIGIT:
                            i += 1
                            continue
                    if figures < room:
                        found[n_found, 0] = start - lo
                        found[n_found, 1] = i - lo
                        n_found += 1
                    figures += 1
                    start = -1
                i += width
        count += figures
        out.values[NUMBERS] = count / n_sentences if n_sentences else np.nan
        out.counts[NUMBERS] = count
        put_in_order(out, NUMBERS, found, n_found)

        n = np.int64(ids.shape[0])
        verbs = match_phrases(ids, np.int64(0), n, n, np.int64(ATTRIBUTIONS), t.phrases, page.scratch)
        n_found = np.int64(0)
        for j in range(min(verbs, room)):
            found[n_found, 0] = pos[page.scratch[j, 0], 0]
            found[n_found, 1] = pos[page.scratch[j, 1] - 1, 1]
            n_found += 1
        quotes = 0
        for line in range(kinds.shape[0]):
            if kinds[line] != K_PROSE:
                continue
            j = lo + l_pos[line, 0]
            e = lo + l_pos[line, 1]
            opened = -1  # byte offset of an open quotation mark
            between = 0  # characters since it
            while j < e:
                # ASCII bytes other than `"` only count as characters: a run of them at once.
                k = j
                while k < e and buf[k] < 0x80 and buf[k] != 0x22:
                    k += 1
                between += k - j
                j = k
                if j == e:
                    break
                cp, width = decode_utf8(buf, j, e)
                if cp == 0x22 or cp == 0x201C or cp == 0x201D:  # noqa: PLR1714 -- compiles to faster code than a set test
                    if opened >= 0 and between >= 12:
                        if quotes < room:
                            found[n_found, 0] = opened - lo
                            found[n_found, 1] = j + width - lo
                            n_found += 1
                        quotes += 1
                        opened = -1
                    else:
                        opened = j
                    between = 0
                else:
                    between += 1
                j += width
        out.values[ATTRIBUTION] = (verbs + quotes) / n_sentences if n_sentences else np.nan
        out.counts[ATTRIBUTION] = verbs + quotes
        put_in_order(out, ATTRIBUTION, found, n_found)

        named = 0
        for s in range(n_sentences):
            for i in range(sentences[s, 0] + 1, sentences[s, 1]):
                if shape[i] & UPPER and not t.word_flags[ids[i]] & (FUNCTION_WORD | PRONOUN_I):
                    put(out, NAMES, pos[i, 0], pos[i, 1])
                    named += 1
        out.values[NAMES] = named / n_sentences if n_sentences else np.nan
        out.counts[NAMES] = named

        marks = 0
        for line in range(kinds.shape[0]):
            if kinds[line] != K_PROSE:
                continue
            s = lo + l_pos[line, 0]
            e = lo + l_pos[line, 1]
            j = s
            while j < e:
                # One table test for the many bytes that start no mark (`byte_set`).
                while j < e and not _PUNCTUATION_BYTES[buf[j]]:
                    j += 1
                if j == e:
                    break
                b = buf[j]
                end = 0
                if b == 0x3B or b == 0x3A or b == 0x28 or b == 0x29:  # noqa: PLR1714 -- compiles to faster code than a set test
                    end = j + 1
                elif b == 0xE2 and j + 2 < e and buf[j + 1] == 0x80 and (buf[j + 2] == 0x94 or buf[j + 2] == 0x93):
                    end = j + 3  # an em or en dash
                elif b == 0x2D:
                    if j + 1 < e and buf[j + 1] == 0x2D:
                        end = j + 2
                    elif j > s and buf[j - 1] == 0x20 and j + 1 < e and buf[j + 1] == 0x20:
                        end = j + 1
                if end:
                    put(out, PUNCTUATION, j - lo, end - lo)
                    marks += 1
                    j = end
                else:
                    j += 1
        out.values[PUNCTUATION] = marks / n_sentences if n_sentences else np.nan
        out.counts[PUNCTUATION] = marks

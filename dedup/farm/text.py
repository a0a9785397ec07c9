"""Text -> its layout: lines by kind (title, heading, chrome, prose), prose words and sentences, with offsets.

Compiled passes over the UTF-8 bytes (`dedup.farm.chars` has the word rule); offsets are byte offsets until a
person asks for evidence, when `Article` turns them into character offsets into the text as given.

1. Lines are split on newlines and stripped of white space; blank lines only separate.
2. A line of at most 40 words is `farm_chrome` when it matches a syndication or auto-publishing footer
   ("Original Story at", "The comments posted here are not from ..."); else `date` when it is a bare date
   (1 to 7 words, all month or weekday names or numbers, with a name or two numbers); else, at most 12
   words, `chrome` when it matches ordinary page furniture ("Read more", "Sign up", "Image copyright") or
   is a list of links (`Home | News | Sport`). The patterns are regular expressions (`lexicon.json`): the
   only per-line step in Python, and only for such short lines.
3. Of the rest, the first line is the `title` and later lines `heading`s when they look like one (at most 24
   and 14 words, a capital or a digit first, no `.`, `,` or `;` at the end) and prose follows them; a later
   line with the title's words is the title again; everything else is `prose`.
4. Prose lines are cut into sentences after a run of `.`, `!` or `?` (and any closing quotes or brackets)
   followed by white space, except where the period follows a known abbreviation ("Mr.", "U.S.": the
   letters, digits and periods before it) or a single letter (an initial).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from dedup.farm.chars import (
    ALNUM,
    ALPHA,
    DIGIT,
    SPACE,
    UPPER,
    before,
    byte_set,
    char_offsets,
    flags_of,
    hash_span,
    scan_words,
    tables,
)
from dedup.farm.lexicon import MONTH, WEEKDAY, lexicon
from dedup.jit import Int, first_at_least, kernel
from dedup.text.normalize import fmix64, join_bytes
from dedup.text.utf8 import byte_view, decode_utf8

__all__ = [
    "CHROME",
    "DATE",
    "FARM_CHROME",
    "HEADING",
    "KINDS",
    "MAX_SCORED_CHARS",
    "PROSE",
    "TITLE",
    "Article",
    "Layout",
    "Line",
    "Lines",
    "Lookup",
    "Rows",
    "Words",
    "encode_batch",
    "layout",
    "layout_batch",
    "layout_encoded",
    "line_kinds",
    "lines_batch",
    "parse",
    "prose_batch",
    "scored_part",
]

TITLE, HEADING, CHROME, FARM_CHROME, DATE, PROSE = "title", "heading", "chrome", "farm_chrome", "date", "prose"
# Line kinds as the kernels store them (an index into KINDS).
KINDS = (PROSE, TITLE, HEADING, CHROME, FARM_CHROME, DATE)
K_PROSE, K_TITLE, K_HEADING, K_CHROME, K_FARM_CHROME, K_DATE = range(6)

MAX_HEADING_WORDS = 14
MAX_TITLE_WORDS = 24
# Footers and page furniture are short; longer lines are never tested against their patterns.
MAX_CHROME_WORDS = 12
MAX_FARM_CHROME_WORDS = 40
MAX_DATE_WORDS = 7
# Line flags found by the first pass.
_HEADING_LIKE, _TITLE_LIKE, _DATE_LIKE, _SEPARATORS = 1, 2, 4, 8
_LINK_SEPARATORS = frozenset("|\u2022\u00b7\u203a\u00bb")
_HEADING_LSTRIP = (0x22, 0x27, 0x201C, 0x2018, 0x23, 0x2A, 0x2D, 0x20)  # quotes, "#", "*", "-", space
# The bytes a sentence may end at: `.`, `!`, `?`. A constant of the compiled code.
_SENTENCE_MARKS = byte_set(0x2E, 0x21, 0x3F)


@dataclass(frozen=True, slots=True)
class Line:
    """A non-blank line: its stripped character span, kind and word count."""

    start: int
    end: int
    kind: str
    words: int


class Lookup(NamedTuple):
    """What the layout passes look characters and words up in: the flags and lower case of each code point
    (`chars.tables()`), the lexicon's word table, its words' flags and the abbreviations (`lexicon()`)."""

    flags: npt.NDArray[np.uint8]
    lower: npt.NDArray[np.int32]
    lex_keys: npt.NDArray[np.uint64]
    lex_ids: npt.NDArray[np.int32]
    lex_flags: npt.NDArray[np.int32]
    abbreviations: npt.NDArray[np.uint64]


class Words(NamedTuple):
    """Where pass 1 writes the words, a row each: key, lexicon id, byte span, characters, shape."""

    key: npt.NDArray[np.uint64]
    lex: npt.NDArray[np.int32]
    pos: npt.NDArray[np.int64]
    chars: npt.NDArray[np.int32]
    shape: npt.NDArray[np.uint8]


class Lines(NamedTuple):
    """Where pass 1 writes the non-blank lines, a row each: `pos` (start, end, characters, first word, last
    word + 1), flags, and the key of the line's exact bytes."""

    pos: npt.NDArray[np.int64]
    flags: npt.NDArray[np.uint8]
    key: npt.NDArray[np.uint64]


@kernel
def _strip(buf: npt.NDArray[np.uint8], s: int, e: int, flags: npt.NDArray[np.uint8]) -> tuple[int, int]:
    while s < e:
        cp, n = decode_utf8(buf, s, e)
        if not flags_of(cp, flags) & SPACE:
            break
        s += n
    while e > s:
        cp, n = before(buf, e, s)
        if not flags_of(cp, flags) & SPACE:
            break
        e -= n
    return s, e


@kernel
def _heading_like(buf: npt.NDArray[np.uint8], s: int, e: int, words: Int, flags: npt.NDArray[np.uint8]) -> int:
    # Line flags for "looks like a heading / a title": a capital or a digit first (after quotes, '#', '*',
    # '-' and spaces), no '.', ',' or ';' at the end.
    last = buf[e - 1]
    if words < 1 or last == 0x2E or last == 0x2C or last == 0x3B:  # noqa: PLR1714 -- compiles to faster code than a set test
        return 0
    i = s
    while i < e:
        cp, n = decode_utf8(buf, i, e)
        stripped = False
        for c in _HEADING_LSTRIP:
            if cp == c:
                stripped = True
        if not stripped:
            f = flags_of(cp, flags)
            if not (f & UPPER or f & DIGIT):
                return 0
            return (_HEADING_LIKE if words <= MAX_HEADING_WORDS else 0) | (
                _TITLE_LIKE if words <= MAX_TITLE_WORDS else 0
            )
        i += n
    return 0


@kernel
def lines_batch(
    buf: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    look: Lookup,
    word_rows: Words,
    line_rows: Lines,
    ptrs: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
) -> None:
    """Pass 1 over texts `buf[offsets[d]:offsets[d + 1]]`: every word (key, lexicon id, byte span,
    characters, shape) and every non-blank line (`l_pos` rows: start, end, characters, first word, last
    word + 1; flags; the key of its exact bytes). Text `d` owns word rows `w_ptr[d]:w_ptr[d + 1]` and line
    rows `l_ptr[d]:l_ptr[d + 1]` (`ptrs = (w_ptr, l_ptr)`); its offsets are relative to its start, its word rows
    to its first."""
    flags, lower = look.flags, look.lower
    lex_keys, lex_ids, lex_flags = look.lex_keys, look.lex_ids, look.lex_flags
    w_key, w_lex, w_pos, w_chars, w_shape = word_rows
    l_pos, l_flags, l_key = line_rows
    w_ptr, l_ptr = ptrs
    mask = np.uint64(lex_keys.shape[0] - 1)
    # An int64 from the start, so that `scan_words` is compiled for it alone (`jit.kernel` says why).
    nw: Int = np.int64(0)
    nl = 0
    for d in range(offsets.shape[0] - 1):
        w_ptr[d] = nw
        l_ptr[d] = nl
        wbase = nw
        lo, hi = offsets[d], offsets[d + 1]
        at = lo
        while at < hi:
            stop = at
            while stop < hi and buf[stop] != 0x0A:
                stop += 1
            s, e = _strip(buf, at, stop, flags)
            at = stop + 1
            if s == e:
                continue
            first = nw
            nw = scan_words(buf, s, e, flags, lower, w_key, w_pos, w_chars, w_shape, nw)
            named = 0
            numeric = 0
            separators = False
            for w in range(first, nw):
                key = w_key[w]
                slot = key & mask
                word = 0
                while lex_ids[slot] != 0:
                    if lex_keys[slot] == key:
                        word = lex_ids[slot]
                        break
                    slot = (slot + np.uint64(1)) & mask
                w_lex[w] = word
                w_pos[w, 0] -= lo
                w_pos[w, 1] -= lo
                if lex_flags[word] & (MONTH | WEEKDAY):
                    named += 1
                elif w_shape[w] & DIGIT:
                    numeric += 1
            chars = 0
            h = np.uint64(0xCBF29CE484222325)
            i = s
            while i < e:
                b = buf[i]
                h = (h ^ np.uint64(b)) * np.uint64(0x100000001B3)
                if (b & 0xC0) != 0x80:
                    chars += 1
                # '|', or the lead byte of the middle dot, the guillemet, the bullet or the single angle quote
                if b == 0x7C or b == 0xC2 or b == 0xE2:  # noqa: PLR1714 -- compiles to faster code than a set test
                    separators = True
                i += 1
            words = nw - first
            line_flags = _heading_like(buf, s, e, words, flags)
            if 1 <= words <= MAX_DATE_WORDS and named + numeric == words and (named >= 1 or numeric >= 2):
                line_flags |= _DATE_LIKE
            if separators:
                line_flags |= _SEPARATORS
            l_pos[nl, 0] = s - lo
            l_pos[nl, 1] = e - lo
            l_pos[nl, 2] = chars
            l_pos[nl, 3] = first - wbase
            l_pos[nl, 4] = nw - wbase
            l_flags[nl] = line_flags
            l_key[nl] = fmix64(h)
            nl += 1
    w_ptr[offsets.shape[0] - 1] = nw
    l_ptr[offsets.shape[0] - 1] = nl


@kernel
def _same_words(w_key: npt.NDArray[np.uint64], a0: int, a1: int, b0: int, b1: int) -> bool:
    if a1 - a0 != b1 - b0:
        return False
    for k in range(a1 - a0):  # noqa: SIM110 -- a loop, not a generator, in compiled code
        if w_key[a0 + k] != w_key[b0 + k]:
            return False
    return True


@kernel
def _sentence_end(buf: npt.NDArray[np.uint8], i: int, s: int, e: int, look: Lookup) -> tuple[int, int]:
    """At byte `i` of the line `buf[s:e]`, a run of `.!?`: `(where the run and its closing quotes end,
    whether a sentence ends there)`."""
    flags, lower, abbreviations = look.flags, look.lower, look.abbreviations
    j = i
    while j < e and (buf[j] == 0x2E or buf[j] == 0x21 or buf[j] == 0x3F):
        j += 1
    while j < e:  # closing quotes (straight and curly) and brackets
        cp, n = decode_utf8(buf, j, e)
        if cp == 0x22 or cp == 0x27 or cp == 0x201D or cp == 0x2019 or cp == 0x29 or cp == 0x5D:  # noqa: PLR1714 -- compiles to faster code than a set test
            j += n
        else:
            break
    if j >= e:
        return j, 0
    cp, _ = decode_utf8(buf, j, e)
    if not flags_of(cp, flags) & SPACE:
        return j, 0
    if buf[i] == 0x2E:
        # The letters, digits and periods before the period: an abbreviation or an initial ends nothing.
        k = i
        letters = 0
        alpha = False
        while k > s:
            cp, n = before(buf, k, s)
            f = flags_of(cp, flags)
            if not (f & ALNUM or cp == 0x2E):
                break
            k -= n
            letters += 1
            alpha = (f & ALPHA) != 0
        if letters == 1 and alpha:
            return j, 0
        if letters > 0:
            key = hash_span(buf, k, i, lower)
            at = first_at_least(abbreviations, key)
            if at < abbreviations.shape[0] and abbreviations[at] == key:
                return j, 0
    return j, 1


@kernel
def prose_batch(
    buf: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    look: Lookup,
    lay: Layout,
    l_flags: npt.NDArray[np.uint8],
    ptrs: Rows,
) -> None:
    """Pass 2 over a batch laid out by `lines_batch`, once `lay.kinds` says which lines are chrome, footers and
    dates: titles and headings into `lay.kinds`, each text's prose words (indices into its word rows) into
    `prose` and its sentences (`sentences` rows: first and last + 1 prose word, byte start, byte end), text
    `d`'s into rows `p_ptr[d]:p_ptr[d + 1]` and `s_ptr[d]:s_ptr[d + 1]` (`ptrs = (w_ptr, l_ptr, p_ptr, s_ptr)`;
    `lay.prose` and `lay.sentences` have room for every word)."""
    w_key, w_pos, l_pos, kinds, prose, sentences = lay.w_key, lay.w_pos, lay.l_pos, lay.kinds, lay.prose, lay.sentences
    w_ptr, l_ptr, p_ptr, s_ptr = ptrs
    np_ = 0
    ns = 0
    for d in range(offsets.shape[0] - 1):
        w0, w1 = w_ptr[d], w_ptr[d + 1]
        l0, l1 = l_ptr[d], l_ptr[d + 1]
        p_ptr[d] = np_
        s_ptr[d] = ns
        lo, pbase = offsets[d], np_
        keys, spans = w_key[w0:w1], w_pos[w0:w1]
        lines, line_flags, text_kinds = l_pos[l0:l1], l_flags[l0:l1], kinds[l0:l1]
        n_lines = text_kinds.shape[0]
        # Titles and headings: heading-like lines with prose after them.
        prose_after = np.zeros(n_lines, dtype=np.bool_)
        seen = False
        for i in range(n_lines - 1, -1, -1):
            prose_after[i] = seen
            if text_kinds[i] == K_PROSE and not line_flags[i] & _HEADING_LIKE:
                seen = True
        title = -1
        have_title = False
        for i in range(n_lines):
            words = lines[i, 4] - lines[i, 3]
            if text_kinds[i] != K_PROSE or not prose_after[i] or words == 0:
                have_title = have_title or text_kinds[i] == K_PROSE
                continue
            if title >= 0 and _same_words(keys, lines[i, 3], lines[i, 4], lines[title, 3], lines[title, 4]):
                text_kinds[i] = K_TITLE  # the title again, word for word
            elif not have_title and line_flags[i] & _TITLE_LIKE:
                text_kinds[i] = K_TITLE
                title = i
            elif have_title and line_flags[i] & _HEADING_LIKE:
                text_kinds[i] = K_HEADING
            have_title = True
        for i in range(n_lines):
            if text_kinds[i] != K_PROSE:
                continue
            s = lo + lines[i, 0]
            e = lo + lines[i, 1]
            w = lines[i, 3]
            w_end = lines[i, 4]
            cut_from = s
            j = s
            while cut_from < e:
                cut = e
                while j < e:
                    # To the next `.`, `!` or `?` in a tight loop: one table test a byte (`byte_set`).
                    while j < e and not _SENTENCE_MARKS[buf[j]]:
                        j += 1
                    if j == e:
                        break
                    j, ends = _sentence_end(buf, j, s, e, look)
                    if ends:
                        cut = j
                        break
                first = np_
                while w < w_end and lo + spans[w, 0] < cut:
                    prose[np_] = w
                    np_ += 1
                    w += 1
                if np_ > first:
                    sentences[ns, 0] = first - pbase
                    sentences[ns, 1] = np_ - pbase
                    sentences[ns, 2] = cut_from - lo
                    sentences[ns, 3] = cut - lo
                    ns += 1
                cut_from = cut
    p_ptr[offsets.shape[0] - 1] = np_
    s_ptr[offsets.shape[0] - 1] = ns


class Layout(NamedTuple):
    """One text's layout as the kernels leave it and read it: byte offsets, one row per word, line and
    sentence.

    `w_key`/`w_lex`/`w_pos`/`w_chars`/`w_shape`: every word of every line (key, lexicon id, byte span,
    characters, shape); `l_pos` rows: start, end, characters, first word, last word + 1, with `kinds`;
    `l_key`: each line's exact bytes, keyed; `prose`: the word rows of the prose, in order; `sentences` rows:
    first and last + 1 prose word, byte start, byte end.
    """

    w_key: npt.NDArray[np.uint64]
    w_lex: npt.NDArray[np.int32]
    w_pos: npt.NDArray[np.int64]
    w_chars: npt.NDArray[np.int32]
    w_shape: npt.NDArray[np.uint8]
    l_pos: npt.NDArray[np.int64]
    l_key: npt.NDArray[np.uint64]
    kinds: npt.NDArray[np.uint8]
    prose: npt.NDArray[np.int64]
    sentences: npt.NDArray[np.int64]

    @classmethod
    def empty(cls) -> Layout:
        """The layout of a batch of no text, its arrays of the types `layout_encoded` gives (so a kernel called
        with it is compiled for those)."""
        return cls(
            np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int32), np.empty((0, 2), dtype=np.int64),
            np.empty(0, dtype=np.int32), np.empty(0, dtype=np.uint8), np.empty((0, 5), dtype=np.int64),
            np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.uint8), np.empty(0, dtype=np.int64),
            np.empty((0, 4), dtype=np.int64),
        )  # fmt: skip

    def text(self, rows: Rows, d: int) -> Layout:
        """Text `d` of a batch laid out by `layout_batch` (`rows` as it returned them), as `layout` gives it."""
        w_ptr, l_ptr, p_ptr, s_ptr = (int(ptr[d]) for ptr in rows)
        w_end, l_end, p_end, s_end = (int(ptr[d + 1]) for ptr in rows)
        return Layout(
            self.w_key[w_ptr:w_end], self.w_lex[w_ptr:w_end], self.w_pos[w_ptr:w_end], self.w_chars[w_ptr:w_end],
            self.w_shape[w_ptr:w_end], self.l_pos[l_ptr:l_end], self.l_key[l_ptr:l_end], self.kinds[l_ptr:l_end],
            self.prose[p_ptr:p_end], self.sentences[s_ptr:s_end],
        )  # fmt: skip


def line_kinds(
    data: bytes, starts: npt.NDArray[np.int64], l_pos: npt.NDArray[np.int64], l_flags: npt.NDArray[np.uint8]
) -> npt.NDArray[np.uint8]:
    """Step 2 of the module docstring: footers, dates and chrome among the short lines (the rest: prose).
    Line `i` is `data[starts[i] + l_pos[i, 0] : starts[i] + l_pos[i, 1]]`."""
    kinds = np.zeros(l_pos.shape[0], dtype=np.uint8)
    words = l_pos[:, 4] - l_pos[:, 3]
    lex = lexicon()
    farm, chrome = lex.farm_chrome.search, lex.chrome.search
    short = np.flatnonzero((words >= 1) & (words <= MAX_FARM_CHROME_WORDS))
    for i, at, s, e, n, f in zip(
        short.tolist(),
        starts[short].tolist(),
        l_pos[short, 0].tolist(),
        l_pos[short, 1].tolist(),
        words[short].tolist(),
        l_flags[short].tolist(),
        strict=True,
    ):
        line = data[at + s : at + e].decode("utf-8", "surrogatepass")
        if farm(line):
            kinds[i] = K_FARM_CHROME
        elif f & _DATE_LIKE:
            kinds[i] = K_DATE
        elif n <= MAX_CHROME_WORDS and (chrome(line) or (f & _SEPARATORS and _is_link_list(line))):
            kinds[i] = K_CHROME
    return kinds


def _is_link_list(line: str) -> bool:
    # Three or more parts of 1 to 4 words between separators with spaces around them ("Home | News | Sport").
    parts: list[str] = []
    start = 0
    for k in range(1, len(line) - 1):
        if line[k] in _LINK_SEPARATORS and line[k - 1].isspace() and line[k + 1].isspace():
            parts.append(line[start : k - 1])
            start = k + 2
    parts.append(line[start:])
    return len(parts) >= 3 and all(0 < len(p.split()) <= 4 for p in parts)


# Where each text of a batch starts in a `Layout`'s rows: `(w_ptr, l_ptr, p_ptr, s_ptr)`, text `d` owning
# word rows `w_ptr[d]:w_ptr[d + 1]`, and so on for lines, prose words and sentences.
Rows = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]


def layout_encoded(data: bytes, offsets: npt.NDArray[np.int64]) -> tuple[Layout, Rows]:
    """`layout_batch` of texts already encoded (`encode_batch`): text `d` is `data[offsets[d]:offsets[d + 1]]`."""
    # The three passes over the texts: lines, their kinds, the prose.
    n = offsets.shape[0] - 1
    buf = byte_view(data)
    flags, lower = tables()
    lex = lexicon()
    room = len(data) // 2 + n + 1  # a word or a line takes a byte and a separator, or ends its text
    w_key = np.empty(room, dtype=np.uint64)
    w_lex = np.empty(room, dtype=np.int32)
    w_pos = np.empty((room, 2), dtype=np.int64)
    w_chars = np.empty(room, dtype=np.int32)
    w_shape = np.empty(room, dtype=np.uint8)
    l_pos = np.empty((room, 5), dtype=np.int64)
    l_flags = np.empty(room, dtype=np.uint8)
    l_key = np.empty(room, dtype=np.uint64)
    w_ptr, l_ptr, p_ptr, s_ptr = (np.zeros(n + 1, dtype=np.int64) for _ in range(4))
    look = Lookup(flags, lower, lex.words.keys, lex.words.ids, lex.flags, lex.abbreviations)
    lines_batch(
        buf, offsets, look, Words(w_key, w_lex, w_pos, w_chars, w_shape), Lines(l_pos, l_flags, l_key), (w_ptr, l_ptr)
    )
    nw, nl = int(w_ptr[-1]), int(l_ptr[-1])
    l_pos, l_flags = l_pos[:nl], l_flags[:nl]
    kinds = line_kinds(data, np.repeat(offsets[:-1], np.diff(l_ptr)), l_pos, l_flags)
    lay = Layout(
        w_key[:nw], w_lex[:nw], w_pos[:nw], w_chars[:nw], w_shape[:nw], l_pos, l_key[:nl], kinds,
        np.empty(nw, dtype=np.int64), np.empty((nw, 4), dtype=np.int64),
    )  # fmt: skip
    prose_batch(buf, offsets, look, lay, l_flags, (w_ptr, l_ptr, p_ptr, s_ptr))
    lay = lay._replace(prose=lay.prose[: int(p_ptr[-1])], sentences=lay.sentences[: int(s_ptr[-1])])
    return lay, (w_ptr, l_ptr, p_ptr, s_ptr)


def layout(data: bytes) -> Layout:
    """The layout of one text's UTF-8 bytes (`text.encode("utf-8", "surrogatepass")`)."""
    return layout_encoded(data, np.array([0, len(data)], dtype=np.int64))[0]


def layout_batch(texts: Sequence[str]) -> tuple[bytes, npt.NDArray[np.int64], Layout, Rows]:
    """Many texts laid out together, in one compiled pass per step: `(data, offsets, layout, rows)`, text `d`
    being `data[offsets[d]:offsets[d + 1]]` (UTF-8) and owning the rows `rows` give it. Each text's rows, word
    offsets and line offsets are relative to the text, as `layout` gives them for it alone.

    >>> data, offsets, lay, rows = layout_batch(["A Title Here\\n\\nThe mayor said so.", "Read more"])
    >>> w_ptr, l_ptr, p_ptr, s_ptr = rows
    >>> [KINDS[k] for k in lay.kinds.tolist()], l_ptr.tolist(), s_ptr.tolist()
    (['title', 'prose', 'chrome'], [0, 2, 3], [0, 1, 1])
    """
    data, offsets = encode_batch(texts)
    return (data, offsets, *layout_encoded(data, offsets))


def encode_batch(texts: Sequence[str]) -> tuple[bytes, npt.NDArray[np.int64]]:
    """Texts as one UTF-8 buffer `data` and their `offsets` in it (text `d` is `data[offsets[d]:offsets[d + 1]]`)."""
    return join_bytes([t.encode("utf-8", "surrogatepass") for t in texts])


@dataclass(frozen=True)
class Article:
    """A text and its layout. Words and sentences are those of the prose lines only.

    `words[i]` is the i-th prose word lower-cased (curly apostrophes made straight) and `cased[i]` the same
    word as written; a sentence is a `(first word, last word + 1)` range over them, at the character span
    `sentence_spans[k]`. Everything is found from `layout` (byte offsets) when first asked for.
    """

    text: str
    layout: Layout = field(repr=False)
    data: bytes = field(repr=False)
    memo: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def _chars(self) -> npt.NDArray[np.int64] | None:
        # Byte offset -> character offset; None for ASCII text, where they are the same.
        if len(self.data) == len(self.text):
            return None
        return char_offsets(np.frombuffer(self.data, dtype=np.uint8))

    def chars(self, offsets: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Byte offsets into the text's UTF-8 -> character offsets into `text`."""
        return offsets if self._chars is None else self._chars[offsets]

    @property
    def word_count(self) -> int:
        """How many prose words (`len(words)`, without making them)."""
        return int(self.layout.prose.shape[0])

    @property
    def line_chars(self) -> int:
        """The characters of all non-blank lines, stripped."""
        return int(self.layout.l_pos[:, 2].sum())

    @property
    def empty(self) -> bool:
        """Whether the text has no words at all, in any line."""
        return bool(self.layout.w_key.shape[0] == 0)

    @cached_property
    def lines(self) -> tuple[Line, ...]:
        """The non-blank lines, in order."""
        lay = self.layout
        ends = self.chars(lay.l_pos[:, :2]).tolist()
        words = (lay.l_pos[:, 4] - lay.l_pos[:, 3]).tolist()
        return tuple(Line(s, e, KINDS[k], n) for (s, e), k, n in zip(ends, lay.kinds.tolist(), words, strict=True))

    @property
    def title(self) -> Line | None:
        """The title line, when the text has one."""
        return next((line for line in self.lines if line.kind == TITLE), None)

    @cached_property
    def offsets(self) -> tuple[list[int], list[int]]:
        """Start and end character offsets of every prose word."""
        spans = self.chars(self.layout.w_pos[self.layout.prose])
        return spans[:, 0].tolist(), spans[:, 1].tolist()

    @cached_property
    def cased(self) -> list[str]:
        """The prose words as written."""
        return self._joined().split("\x00") if self.word_count else []

    @cached_property
    def words(self) -> list[str]:
        """The prose words lower-cased, curly apostrophes made straight."""
        if not self.word_count:
            return []
        # One lower() over the joined words, not one per word; the separator keeps the words apart even
        # where lower-casing changes a character's length.
        return self._joined().lower().replace("\u2019", "'").split("\x00")

    def _joined(self) -> str:
        # The prose words joined by NUL, cut out of the text by numpy (the text as UTF-32) in a few array
        # operations rather than a Python slice per word.
        starts, ends = (np.array(x, dtype=np.int64) for x in self.offsets)
        chars = np.frombuffer(self.text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        edge = np.zeros(chars.shape[0] + 1, dtype=np.int64)
        np.add.at(edge, starts, 1)
        np.add.at(edge, ends, -1)
        inside = np.cumsum(edge[:-1]) > 0
        out = np.append(chars, np.uint32(0))
        keep = np.append(inside, False)
        keep[ends[:-1]] = True  # the character after each word but the last becomes the separator
        out[ends[:-1]] = 0
        return str(out[keep].tobytes().decode("utf-32-le", "surrogatepass"))

    @cached_property
    def sentences(self) -> list[tuple[int, int]]:
        """Each prose sentence as a range of prose words."""
        return [(lo, hi) for lo, hi in self.layout.sentences[:, :2].tolist()]

    @cached_property
    def sentence_spans(self) -> list[tuple[int, int]]:
        """Each prose sentence's character span: from the end of the one before it to its own end."""
        return [(s, e) for s, e in self.chars(self.layout.sentences[:, 2:]).tolist()]

    def span(self, first: int, last: int) -> tuple[int, int]:
        """The character span of prose words `first..last - 1`."""
        starts, ends = self.offsets
        return starts[first], ends[last - 1]


# A farm verdict is about an article; past this many characters the rest of a text (a book, a log, a dump
# given as one document) adds no evidence but time and memory that grow with it, so it is not read.
MAX_SCORED_CHARS = 200_000


def scored_part(text: str) -> str:
    """The part of `text` the scorer reads: all of it, or its first `MAX_SCORED_CHARS` characters, cut at the
    last line break before the limit when that keeps at least half of them.

    >>> len(scored_part("a" * (MAX_SCORED_CHARS + 5))) == MAX_SCORED_CHARS
    True
    """
    if len(text) <= MAX_SCORED_CHARS:
        return text
    cut = text.rfind("\n", 0, MAX_SCORED_CHARS + 1)
    return text[: cut if cut >= MAX_SCORED_CHARS // 2 else MAX_SCORED_CHARS]


def parse(text: str) -> Article:
    """Lay out `text`: classify its lines, then find the words and sentences of its prose.

    >>> a = parse("A Title Here\\n\\nThe mayor said so. Then she left.\\n\\nRead more")
    >>> [line.kind for line in a.lines], a.sentences, a.words[:3]
    (['title', 'prose', 'chrome'], [(0, 4), (4, 7)], ['the', 'mayor', 'said'])
    """
    data = text.encode("utf-8", "surrogatepass")
    return Article(text, layout(data), data)

"""Text -> its layout: lines by kind (title, heading, chrome, prose), prose words and sentences, with offsets.

Every position is a character offset into the text as given, so a signal's evidence points at the exact
words that produced it. One pass over the lines, then one word scan per prose sentence:

1. Lines are split on newlines and stripped; blank lines only separate.
2. A line is `farm_chrome` when it matches a syndication or auto-publishing footer ("Original Story at",
   "The comments posted here are not from ..."), `chrome` when it matches ordinary page furniture ("Read
   more", "Sign up", "Image copyright") or is a list of links (`Home | News | Sport`), `date` when it is a
   bare date.
3. Of the rest, the first line is the `title` and later lines `heading`s when they look like one (at most 24
   and 14 words, capitalised, no sentence punctuation at the end) and prose follows them; a later line with
   the title's words is the title again; everything else is `prose`.
4. Prose lines are cut into sentences at `.`, `!` or `?` followed by a space, except after known
   abbreviations ("Mr.", "U.S.") and single initials.

Word offsets are found only when evidence asks for them (`Article.offsets`): scoring a scan needs none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from dedup.farm.lexicon import WORD, lexicon, pairs_of

__all__ = ["CHROME", "DATE", "FARM_CHROME", "HEADING", "PROSE", "TITLE", "Article", "Line", "parse"]

TITLE, HEADING, CHROME, FARM_CHROME, DATE, PROSE = "title", "heading", "chrome", "farm_chrome", "date", "prose"

MAX_HEADING_WORDS = 14
MAX_TITLE_WORDS = 24
# Footers and page furniture are short; longer lines are never tested against their patterns.
MAX_CHROME_WORDS = 12
MAX_FARM_CHROME_WORDS = 40
_LINE = re.compile(r"[^\n]+")
_SENTENCE_END = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*(?=\s)")
_LINK_SEPARATORS = re.compile(r"\s[|\u2022\u00b7\u203a\u00bb]\s")
_DIGITS = re.compile(r"^\d[\d:./-]*$")
_HEADING_END = (".", ",", ";")
_SEP = "\x00"


@dataclass(frozen=True, slots=True)
class Line:
    """A non-blank line: its stripped character span, kind and word count."""

    start: int
    end: int
    kind: str
    words: int


@dataclass(frozen=True)
class Article:
    """A text and its layout. Words and sentences are those of the prose lines only.

    `words[i]` is the i-th prose word lower-cased (curly apostrophes made straight) and `cased[i]` the same
    word as written; a sentence is a `(first word, last word + 1)` range over them, at the character span
    `sentence_spans[k]`.
    """

    text: str
    lines: tuple[Line, ...]
    words: list[str]
    cased: list[str]
    sentences: list[tuple[int, int]]
    sentence_spans: list[tuple[int, int]] = field(repr=False)

    @cached_property
    def prose_spans(self) -> list[tuple[int, int]]:
        """The character spans of the prose lines."""
        return [(line.start, line.end) for line in self.lines if line.kind == PROSE]

    @property
    def title(self) -> Line | None:
        """The title line, when the text has one."""
        return next((line for line in self.lines if line.kind == TITLE), None)

    @cached_property
    def offsets(self) -> tuple[list[int], list[int]]:
        """Start and end offsets of every prose word (found again, so only when evidence needs them)."""
        starts: list[int] = []
        ends: list[int] = []
        for start, end in self.sentence_spans:
            for match in WORD.finditer(self.text, start, end):
                starts.append(match.start())
                ends.append(match.end())
        return starts, ends

    @cached_property
    def ids(self) -> npt.NDArray[np.int64]:
        """Each prose word as a small integer, equal words equal: the input of the counting signals."""
        vocabulary = {w: i for i, w in enumerate(dict.fromkeys(self.words))}
        return np.array(list(map(vocabulary.__getitem__, self.words)), dtype=np.int64)

    @cached_property
    def lengths(self) -> npt.NDArray[np.int64]:
        """Each prose word's length in characters."""
        return np.array(list(map(len, self.words)), dtype=np.int64)

    @cached_property
    def pairs(self) -> list[str]:
        """Each prose word joined to the next: the keys of multi-word phrases."""
        return pairs_of(self.words)

    def span(self, first: int, last: int) -> tuple[int, int]:
        """The character span of prose words `first..last - 1`."""
        starts, ends = self.offsets
        return starts[first], ends[last - 1]


def _is_date(words: list[str]) -> bool:
    lex = lexicon()
    if not 1 <= len(words) <= 7:
        return False
    named = sum(w in lex.months or w in lex.weekdays for w in words)
    numeric = sum(bool(_DIGITS.match(w)) for w in words)
    return named + numeric == len(words) and (named >= 1 or numeric >= 2)


def _is_link_list(line: str) -> bool:
    parts = _LINK_SEPARATORS.split(line)
    return len(parts) >= 3 and all(0 < len(p.split()) <= 4 for p in parts)


def _heading_like(line: str, n_words: int, limit: int = MAX_HEADING_WORDS) -> bool:
    if not 1 <= n_words <= limit or line.endswith(_HEADING_END):
        return False
    first = line.lstrip("\"'\u201c\u2018#*- ")[:1]
    return first.isupper() or first.isdigit()


def _kind(line: str, words: list[str]) -> str:
    lex = lexicon()
    n = len(words)
    if n <= MAX_FARM_CHROME_WORDS and lex.farm_chrome.search(line):
        return FARM_CHROME
    if _is_date(words):
        return DATE
    if n <= MAX_CHROME_WORDS and (lex.chrome.search(line) or _is_link_list(line)):
        return CHROME
    return PROSE


def _lower(words: list[str]) -> list[str]:
    # One lower() over the joined words, not one per word; a separator keeps the words apart even where
    # lower-casing changes a character's length.
    return _SEP.join(words).lower().replace("\u2019", "'").split(_SEP)


def _cuts(text: str, start: int, end: int, abbreviations: frozenset[str]) -> list[int]:
    """Sentence ends inside the prose line `text[start:end]`, as offsets."""
    cuts: list[int] = []
    for match in _SENTENCE_END.finditer(text, start, end):
        k = match.start()
        if text[k] == ".":
            # The word before the period: an abbreviation or an initial does not end a sentence.
            j = k
            while j > start and (text[j - 1].isalnum() or text[j - 1] == "."):
                j -= 1
            before = text[j:k].lower()
            if before in abbreviations or (len(before) == 1 and before.isalpha()):
                continue
        cuts.append(match.end())
    cuts.append(end)
    return cuts


def parse(text: str) -> Article:
    """Lay out `text`: classify its lines, then find the words and sentences of its prose.

    >>> a = parse("A Title Here\\n\\nThe mayor said so. Then she left.\\n\\nRead more")
    >>> [line.kind for line in a.lines], a.sentences, a.words[:3]
    (['title', 'prose', 'chrome'], [(0, 4), (4, 7)], ['the', 'mayor', 'said'])
    """
    raw: list[tuple[int, int, list[str], str]] = []
    for match in _LINE.finditer(text):
        s, e = match.span()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            line = text[s:e]
            # Only short lines can be titles, headings or chrome: long ones need no word list here.
            short = line.count(" ") < MAX_FARM_CHROME_WORDS
            raw.append((s, e, _lower(WORD.findall(line)) if short else [], line))
    kinds = [_kind(line, words) if words else PROSE for _, _, words, line in raw]
    # Titles and headings: heading-like lines with prose after them (a multi-line text only).
    prose_after = [False] * len(raw)
    seen_prose = False
    for i in range(len(raw) - 1, -1, -1):
        prose_after[i] = seen_prose
        words, line = raw[i][2], raw[i][3]
        seen_prose = seen_prose or (kinds[i] == PROSE and not (words and _heading_like(line, len(words))))
    title: list[str] | None = None
    have_title = False
    for i, (_, _, words, line) in enumerate(raw):
        if kinds[i] != PROSE or not prose_after[i] or not words:
            have_title = have_title or kinds[i] == PROSE
            continue
        if words == title:
            kinds[i] = TITLE  # the title again, word for word
        elif not have_title and _heading_like(line, len(words), MAX_TITLE_WORDS):
            kinds[i], title = TITLE, words
        elif have_title and _heading_like(line, len(words)):
            kinds[i] = HEADING
        have_title = True  # after the first content line, heading-like lines are headings

    abbreviations = lexicon().abbreviations
    lines: list[Line] = []
    cased: list[str] = []
    sentences: list[tuple[int, int]] = []
    sentence_spans: list[tuple[int, int]] = []
    for (s, e, words, _), kind in zip(raw, kinds, strict=True):
        if kind != PROSE:
            lines.append(Line(s, e, kind, len(words)))
            continue
        first = len(cased)
        lo = s
        for cut in _cuts(text, s, e, abbreviations):
            found = WORD.findall(text, lo, cut)
            if found:
                sentences.append((len(cased), len(cased) + len(found)))
                sentence_spans.append((lo, cut))
                cased.extend(found)
            lo = cut
        lines.append(Line(s, e, kind, len(cased) - first))
    return Article(text, tuple(lines), _lower(cased) if cased else [], cased, sentences, sentence_spans)

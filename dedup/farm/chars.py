"""Characters and words as the content-farm scorer reads them, compiled: the tables and the word rule.

A word is a maximal run of letters, marks and digits (the tokenizer's classes, `dedup.text.normalize.class_table`)
that starts with a letter or a digit (a stray mark, such as the variation selector of an emoji, is none), with
inner apostrophes (`'` or `\u2019`, between two such characters) kept inside it: "Korea\u2019s" and "let's"
are one word each, "long-term" and "1,200" two. Its key is a stable 64-bit hash of its lower-cased code points
(the curly apostrophe as the straight one): FNV-1a over the code points, then the MurmurHash3 finalizer, so
the same word has the same key on every machine and in every process. Lexicon entries are hashed by the same
kernel, so a phrase matches exactly when its words' keys do.

Everything works on the UTF-8 bytes of a text; `char_offsets` turns byte offsets into character offsets for
the evidence a person reads.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from dedup.jit import Int, kernel
from dedup.text.normalize import class_table, fmix64
from dedup.text.utf8 import decode_utf8

__all__ = [
    "ALNUM",
    "ALPHA",
    "DIGIT",
    "LOWER",
    "MARK",
    "SPACE",
    "UPPER",
    "WORD",
    "byte_set",
    "char_offsets",
    "encode",
    "hash_span",
    "hash_words",
    "scan_words",
    "tables",
]

# Character flags (`tables()[0]`, one byte per code point).
WORD, DIGIT, UPPER, LOWER, SPACE, ALNUM, ALPHA, MARK = 1, 2, 4, 8, 16, 32, 64, 128
_BMP = 0x10000
_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3


@lru_cache(maxsize=1)
def tables() -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32]]:
    """Flags of every code point `class_table` covers (`WORD`, `DIGIT`, `UPPER`, `LOWER`, `SPACE`, `ALNUM`,
    `ALPHA`; case and spaces below 0x10000 only) and the lower case of each one below 0x10000 (itself where
    lower-casing is not one code point). Code points past the table are word characters without case."""
    classes = class_table()
    flags = np.where((classes >= 1) & (classes <= 3), WORD | ALNUM, 0).astype(np.uint8)
    flags |= np.where(classes == 2, DIGIT, 0).astype(np.uint8)
    flags[_BMP:] |= np.where(flags[_BMP:] & WORD, ALPHA, 0).astype(np.uint8)
    chars = [chr(cp) for cp in range(_BMP)]
    bmp = flags[:_BMP]
    bmp &= ~np.uint8(ALNUM)
    for flag, test in ((UPPER, str.isupper), (LOWER, str.islower), (SPACE, str.isspace), (ALNUM, str.isalnum)):
        bmp |= np.fromiter(map(test, chars), dtype=np.bool_, count=_BMP).astype(np.uint8) * np.uint8(flag)
    bmp |= np.fromiter(map(str.isalpha, chars), dtype=np.bool_, count=_BMP).astype(np.uint8) * np.uint8(ALPHA)
    marks = (unicodedata.category(c).startswith("M") for c in chars)
    bmp |= np.fromiter(marks, dtype=np.bool_, count=_BMP).astype(np.uint8) * np.uint8(MARK)
    lowered = [c.lower() for c in chars]
    lower = np.array([ord(low) if len(low) == 1 else cp for cp, low in enumerate(lowered)], dtype=np.int32)
    return flags, lower


def byte_set(*members: int) -> npt.NDArray[np.bool_]:
    """A read-only table of the 256 byte values, true for `members`: one load and test a byte in a compiled
    loop, where a chain of byte comparisons compiles to a jump table.

    >>> marks = byte_set(0x2E, 0x21)
    >>> bool(marks[ord(".")]), bool(marks[ord("a")])
    (True, False)
    """
    table = np.zeros(256, dtype=np.bool_)
    table[list(members)] = True
    table.setflags(write=False)
    return table


def encode(text: str) -> npt.NDArray[np.uint8]:
    """The UTF-8 bytes of `text` (lone surrogates kept, as `str.encode(..., "surrogatepass")` does)."""
    return np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)


def char_offsets(buf: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """For each byte offset `b` (0 to len(buf)), the character offset it falls at: `out[b]`.

    >>> char_offsets(encode("a\u00e9b")).tolist()  # 'é' is two bytes
    [0, 1, 2, 2, 3]
    """
    out = np.zeros(buf.shape[0] + 1, dtype=np.int64)
    np.cumsum((buf & 0xC0) != 0x80, out=out[1:])
    return out


@kernel
def before(buf: npt.NDArray[np.uint8], i: int, lo: int) -> tuple[int, int]:
    """The code point that ends just before byte `i` (not before `lo`) and its length in bytes."""
    j = i - 1
    while j > lo and (buf[j] & 0xC0) == 0x80 and i - j < 4:
        j -= 1
    cp, length = decode_utf8(buf, j, i)
    if length != i - j:  # not a whole code point: an invalid byte
        return 0xFFFD, 1
    return cp, length


@kernel
def flags_of(cp: int, flags: npt.NDArray[np.uint8]) -> int:
    """The flags of a code point (higher planes: a word character without case)."""
    if cp < flags.shape[0]:
        return int(flags[cp])
    return WORD | ALNUM | ALPHA


@kernel
def fold(h: np.uint64, cp: int, lower: npt.NDArray[np.int32]) -> np.uint64:
    """One lower-cased code point into an FNV-1a key."""
    c = lower[cp] if cp < lower.shape[0] else cp  # no reassigned argument: it compiles to much slower code
    return (h ^ np.uint64(c)) * np.uint64(_FNV_PRIME)


@kernel
def scan_words(
    buf: npt.NDArray[np.uint8],
    i: int,
    end: int,
    flags: npt.NDArray[np.uint8],
    lower: npt.NDArray[np.int32],
    keys: npt.NDArray[np.uint64],
    spans: npt.NDArray[np.int64],
    chars: npt.NDArray[np.int32],
    shapes: npt.NDArray[np.uint8],
    n: Int,
) -> Int:
    """The words of `buf[i:end]` into rows `n`, `n + 1`, ... of `keys`, `spans` (byte start and end),
    `chars` (characters) and `shapes` (`UPPER`/`LOWER`: the first character's case; `DIGIT`: all digits);
    returns the next free row. One state machine over the code points."""
    inside = False
    h = np.uint64(_FNV_OFFSET)
    shape = 0
    count = 0
    while i < end:
        cp, width = decode_utf8(buf, i, end)
        # The flags inline (what `flags_of` gives): this is the layout's hottest step.
        f = int(flags[cp]) if cp < flags.shape[0] else WORD | ALNUM | ALPHA
        if f & WORD:
            if not inside:
                if f & MARK:  # a mark continues a word, never starts one
                    i += width
                    continue
                inside = True
                h = np.uint64(_FNV_OFFSET)
                shape = (f & (UPPER | LOWER)) | (f & DIGIT)
                count = 0
                spans[n, 0] = i
            c = lower[cp] if cp < lower.shape[0] else cp
            h = (h ^ np.uint64(c)) * np.uint64(_FNV_PRIME)
            count += 1
            if not f & DIGIT:
                shape &= ~DIGIT
        elif inside:
            joined = False
            if (cp == 0x27 or cp == 0x2019) and i + width < end:  # noqa: PLR1714 -- compiles to faster code
                nxt, _ = decode_utf8(buf, i + width, end)
                after = int(flags[nxt]) if nxt < flags.shape[0] else WORD
                if after & WORD:
                    h = (h ^ np.uint64(0x27)) * np.uint64(_FNV_PRIME)
                    count += 1
                    shape &= ~DIGIT
                    joined = True
            if not joined:
                keys[n] = fmix64(h)
                spans[n, 1] = i
                chars[n] = count
                shapes[n] = shape
                n += 1
                inside = False
        i += width
    if inside:
        keys[n] = fmix64(h)
        spans[n, 1] = end
        chars[n] = count
        shapes[n] = shape
        n += 1
    return n


@kernel
def hash_span(buf: npt.NDArray[np.uint8], i: int, end: int, lower: npt.NDArray[np.int32]) -> np.uint64:
    """The key of the lower-cased characters `buf[i:end]`, every one of them (abbreviations such as "u.s")."""
    h = np.uint64(_FNV_OFFSET)
    while i < end:
        cp, n = decode_utf8(buf, i, end)
        h = fold(h, cp, lower)
        i += n
    return fmix64(h)


def hash_words(text: str) -> npt.NDArray[np.uint64]:
    """The keys of the words of `text`, in order: how lexicon entries are matched.

    >>> bool(hash_words("Let\u2019s go")[0] == hash_words("let's")[0]), len(hash_words("long-term, 1,200"))
    (True, 4)
    """
    buf = encode(text)
    room = buf.shape[0] // 2 + 1
    keys = np.empty(room, dtype=np.uint64)
    flags, lower = tables()
    n = scan_words(
        buf, 0, buf.shape[0], flags, lower, keys, np.empty((room, 2), np.int64), np.empty(room, np.int32),
        np.empty(room, np.uint8), 0,
    )  # fmt: skip
    return keys[:n].copy()

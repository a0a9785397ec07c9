"""Text -> normalized tokens.

The steps, in order:

1. Unicode NFKC, so that compatibility forms (full-width letters, ligatures, superscripts) compare equal.
2. Case folding (`str.casefold`), stronger than lowercasing for scripts such as German and Greek. The
   tokenizer folds ASCII letters itself as well, so ASCII text needs no step 1 or 2 before it.
3. Tokenization on the UTF-8 bytes: a token is a maximal run of letters, marks and digits; everything else
   (punctuation, symbols, whitespace, controls) separates tokens. Apostrophes separate too.
4. Numbers collapse: a run of digits, with any `.,:/` between digits, hashes as one `0`, so `4.5`, `12,000`
   and `2024/03/01` are the same token and fill-in-the-blank templates collide. Digits inside a word
   (`covid19`, `3rd`) collapse the same way within the word.
5. Dates collapse: month and weekday names (and their common abbreviations) hash as one date token.
6. Scripts written without spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar, Tibetan) make one
   token per character, so word k-grams over them are character k-grams.

Each token is reduced to a stable 64-bit hash (FNV-1a over its bytes, then the MurmurHash3 64-bit
finalizer): the same text gives the same hashes on every machine and in every process, unlike Python's
salted `hash()`.
"""

from __future__ import annotations

import contextlib
import os
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from dedup.jit import Int, first_at_least, kernel, spread
from dedup.text.ragged import Ragged, compact, offsets
from dedup.text.utf8 import decode_utf8

__all__ = [
    "Folding",
    "class_table",
    "date_folding",
    "encode_batch",
    "fmix64",
    "join_bytes",
    "normalize_text",
    "pack",
    "token_capacity",
    "token_hash",
    "token_spans",
    "tokenize",
    "tokenize_doc",
    "tokenizer_input",
]

# Character classes used by the tokenizer kernel.
_SEP, _WORD, _DIGIT, _SOLO, _JOIN = 0, 1, 2, 3, 4
# Code points above this are classified as word characters (rare scripts, CJK extension planes).
_TABLE_SIZE = 0x30000

_SOLO_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x0F00, 0x0FFF),  # Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x2FFFF),  # CJK extensions B-F
)

_DATE_WORDS = (
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec "
    "monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun"
)


def tokenizer_input(text: str) -> str:
    """What the tokenizer needs of `text`: `normalize_text` for non-ASCII text, ASCII text as it is.

    >>> tokenizer_input("Hello World"), tokenizer_input("Stra\u00dfe")
    ('Hello World', 'strasse')
    """
    return text if text.isascii() else normalize_text(text)


def normalize_text(text: str) -> str:
    """Apply NFKC and case folding (steps 1-2); tokenization does the rest.

    >>> normalize_text("\uff34\uff48\uff45 \ufb01nal STRASSE")  # full-width letters, an fi ligature
    'the final strasse'
    """
    if text.isascii():
        return text.lower()
    if not unicodedata.is_normalized("NFKC", text):  # the check is several times cheaper than the change
        text = unicodedata.normalize("NFKC", text)
    return text.casefold()


@lru_cache(maxsize=1)
def class_table() -> npt.NDArray[np.uint8]:
    """The tokenizer's character class of every code point below `_TABLE_SIZE` (one byte each)."""
    # Building the table asks unicodedata about every code point below _TABLE_SIZE, too slow for each start of a
    # process: keep it beside the compiled kernels, keyed by the Unicode version it came from, and build it
    # again when that cannot be read.
    cache = Path(__file__).parent / "__pycache__" / f"classes-{unicodedata.unidata_version}-{_TABLE_SIZE}.npy"
    with contextlib.suppress(OSError, ValueError):
        table: npt.NDArray[np.uint8] = np.load(cache, allow_pickle=False)
        if table.shape == (_TABLE_SIZE,) and table.dtype == np.uint8:
            return table
    table = _build_class_table()
    with contextlib.suppress(OSError):
        cache.parent.mkdir(exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(partial, table, allow_pickle=False)
        partial.replace(cache)  # atomic: concurrent scans never read a half-written file
    return table


def _build_class_table() -> npt.NDArray[np.uint8]:
    table = np.zeros(_TABLE_SIZE, dtype=np.uint8)
    for cp in range(_TABLE_SIZE):
        category = unicodedata.category(chr(cp))
        if category == "Nd":
            table[cp] = _DIGIT
        elif category[0] in "LMN":
            table[cp] = _WORD
    for lo, hi in _SOLO_RANGES:
        if lo < _TABLE_SIZE:
            table[lo : min(hi, _TABLE_SIZE - 1) + 1] = _SOLO
    for ch in ".,:/":
        table[ord(ch)] = _JOIN
    return table


@kernel
def fmix64(h: np.uint64) -> np.uint64:
    """MurmurHash3's 64-bit finalizer (Appleby 2011): a bijection that spreads every input bit over the key."""
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


@kernel
def _fold(
    h: np.uint64, fold_from: npt.NDArray[np.uint64], fold_to: np.uint64, fold_filter: npt.NDArray[np.bool_]
) -> np.uint64:
    # Tokens listed (sorted) in fold_from all become fold_to: how month and weekday names collapse.
    # fold_filter marks the low bits of the listed hashes, so nearly every other token skips the search.
    if fold_filter.shape[0] == 0 or not fold_filter[h & np.uint64(fold_filter.shape[0] - 1)]:
        return h
    i = first_at_least(fold_from, h)
    if i < fold_from.shape[0] and fold_from[i] == h:
        return fold_to
    return h


@kernel
def tokenize_doc(
    buf: npt.NDArray[np.uint8],
    start: int,
    end: int,
    table: npt.NDArray[np.uint8],
    fold_from: npt.NDArray[np.uint64],
    fold_to: np.uint64,
    fold_filter: npt.NDArray[np.bool_],
    out_hash: npt.NDArray[np.uint64],
    out_start: npt.NDArray[np.int32],
    out_end: npt.NDArray[np.int32],
    base: Int,
) -> int:
    """Tokens of the UTF-8 text `buf[start:end]` into `out_hash[base:]`; returns how many.

    Room for `token_capacity(end - start)` tokens must be there. Byte offsets (relative to `start`) go to
    `out_start`/`out_end` too, unless those are empty.
    """
    spans = out_start.shape[0] > 0
    fnv_offset = np.uint64(0xCBF29CE484222325)
    fnv_prime = np.uint64(0x100000001B3)
    n = base
    i = start
    in_tok = False
    in_num = False
    h = fnv_offset
    tok_start = 0
    while i < end:
        b0 = buf[i]
        cp, length = decode_utf8(buf, i, end)
        cls = table[cp] if cp < table.shape[0] else 1
        if cls == 4:  # joiner: part of a number only between two digits
            cls = 0
            if in_num and i + length < end:
                nxt, _ = decode_utf8(buf, i + length, end)
                if nxt < table.shape[0] and table[nxt] == 2:
                    cls = 5  # swallowed inside the number
        if cls == 1 or cls == 2:  # noqa: PLR1714 -- a tuple test compiles to slower code here
            if not in_tok:
                in_tok = True
                h = fnv_offset
                tok_start = i - start
            if cls == 2:
                if not in_num:
                    h = (h ^ np.uint64(48)) * fnv_prime  # the digit run hashes as one "0"
                    in_num = True
            else:
                in_num = False
                if length == 1:  # ASCII case folds here too, so ASCII text may skip str.lower()
                    h = (h ^ np.uint64(b0 + 32 if 65 <= b0 <= 90 else b0)) * fnv_prime
                else:
                    for j in range(length):
                        h = (h ^ np.uint64(buf[i + j])) * fnv_prime
        elif cls != 5:
            if in_tok:
                out_hash[n] = _fold(fmix64(h), fold_from, fold_to, fold_filter)
                if spans:
                    out_start[n] = tok_start
                    out_end[n] = i - start
                n += 1
                in_tok = False
                in_num = False
            if cls == 3:
                hs = fnv_offset
                for j in range(length):
                    hs = (hs ^ np.uint64(buf[i + j])) * fnv_prime
                out_hash[n] = fmix64(hs)
                if spans:
                    out_start[n] = i - start
                    out_end[n] = i - start + length
                n += 1
        i += length
    if in_tok:
        out_hash[n] = _fold(fmix64(h), fold_from, fold_to, fold_filter)
        if spans:
            out_start[n] = tok_start
            out_end[n] = end - start
        n += 1
    return int(n - base)


def token_capacity(nbytes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The most tokens UTF-8 texts of these byte lengths can hold.

    A word token takes a byte and needs a separator before the next word; a token of a script without
    spaces takes three bytes and needs none: either way at most one token per two bytes, plus one.
    """
    return nbytes // 2 + 1


@kernel
def _tokenize_range(
    buf: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    table: npt.NDArray[np.uint8],
    fold_from: npt.NDArray[np.uint64],
    fold_to: np.uint64,
    fold_filter: npt.NDArray[np.bool_],
    room: npt.NDArray[np.int64],
    out_hash: npt.NDArray[np.uint64],
    out_start: npt.NDArray[np.int32],
    out_end: npt.NDArray[np.int32],
    counts: npt.NDArray[np.int64],
    lo: int,
    hi: int,
) -> None:
    for d in range(lo, hi):
        counts[d] = tokenize_doc(
            buf,
            starts[d],
            starts[d + 1],
            table,
            fold_from,
            fold_to,
            fold_filter,
            out_hash,
            out_start,
            out_end,
            room[d],
        )


def join_bytes(parts: Sequence[bytes]) -> tuple[bytes, npt.NDArray[np.int64]]:
    """Byte strings -> one byte string and the offset of each in it (`offsets[i]:offsets[i+1]`)."""
    return b"".join(parts), offsets([len(x) for x in parts])


def pack(parts: Sequence[bytes]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Byte strings -> one buffer and the offset of each in it (`offsets[i]:offsets[i+1]`)."""
    data, starts = join_bytes(parts)
    return np.frombuffer(data, dtype=np.uint8), starts


def encode_batch(normalized: list[str]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Texts -> one UTF-8 buffer and the byte offsets of each text in it (`offsets[d]:offsets[d+1]`)."""
    buf, starts = pack([t.encode("utf-8", "surrogatepass") for t in normalized])
    if buf.shape[0] == 0:  # one byte to read, read-only like every other buffer (one compiled tokenizer)
        buf = np.frombuffer(b"\0", dtype=np.uint8)
    return buf, starts


@dataclass(frozen=True)
class Folding:
    """Tokens that all become one: `words` (sorted hashes) become `token`; `filter` marks their low bits."""

    words: npt.NDArray[np.uint64]
    token: np.uint64
    filter: npt.NDArray[np.bool_]

    @staticmethod
    def of(words: npt.NDArray[np.uint64], token: np.uint64, filter_bits: int = 12) -> Folding:
        """Folding of `words` into `token`, with a 2**filter_bits-entry pre-check."""
        mark = np.zeros(1 << filter_bits, dtype=np.bool_)
        mark[(words & np.uint64((1 << filter_bits) - 1)).astype(np.int64)] = True
        return Folding(np.unique(words), np.uint64(token), mark)


_NO_FOLDING = Folding(np.zeros(0, dtype=np.uint64), np.uint64(0), np.zeros(0, dtype=np.bool_))


def _raw_tokenize(
    normalized: list[str], folding: Folding = _NO_FOLDING, spans: bool = False, workers: int = 1
) -> tuple[Ragged[np.uint64], Ragged[np.int32]]:
    # The token hashes of each text and, with `spans`, their byte offsets (else no rows).
    buf, starts = encode_batch(normalized)
    nbytes = np.diff(starts)
    room = offsets(token_capacity(nbytes))
    scratch = np.empty(int(room[-1]), dtype=np.uint64)
    begins = np.empty(int(room[-1]) if spans else 0, dtype=np.int32)
    ends = np.empty_like(begins)
    counts = np.zeros(len(normalized), dtype=np.int64)
    table = class_table()

    def run(lo: int, hi: int) -> None:
        _tokenize_range(
            buf,
            starts,
            table,
            folding.words,
            folding.token,
            folding.filter,
            room,
            scratch,
            begins,
            ends,
            counts,
            lo,
            hi,
        )

    spread(run, nbytes, workers)
    hashes = Ragged.from_sizes(compact(scratch, room, counts), counts)
    if not spans:
        return hashes, Ragged.empty(np.int32)
    pairs = np.stack([compact(begins, room, counts), compact(ends, room, counts)], axis=1)
    return hashes, Ragged(pairs, hashes.ptr)


@lru_cache(maxsize=1)
def date_folding() -> Folding:
    """Month and weekday names, folded into one date token."""
    words = _raw_tokenize([_DATE_WORDS])[0].values
    date_token = _raw_tokenize(["\u2020date\u2020"])[0].values[0] ^ np.uint64(0x5DA7E)
    return Folding.of(words, date_token)


def tokenize(normalized: list[str], *, workers: int = 1) -> Ragged[np.uint64]:
    """The token hashes of each of a batch of `normalize_text` outputs (steps 3-6), a row per text.

    >>> batch = tokenize([normalize_text("Sales rose 4.5% on Monday."), normalize_text("sales rose 12% on friday")])
    >>> bool((batch.of(0) == batch.of(1)).all())
    True
    """
    return _raw_tokenize(normalized, date_folding(), False, workers)[0]


def token_spans(normalized: list[str], *, workers: int = 1) -> Ragged[np.int32]:
    """Where `tokenize`'s tokens are: a `(start, end)` row of byte offsets into each text's UTF-8 per token.

    >>> token_spans(["hi, you"]).of(0).tolist()
    [[0, 2], [4, 7]]
    """
    return _raw_tokenize(normalized, date_folding(), True, workers)[1]


def token_hash(word: str) -> int:
    """The stable hash of one word as `tokenize` computes it (for lexicons and tests)."""
    hashes = tokenize([normalize_text(word)]).values
    if hashes.shape[0] != 1:
        raise ValueError(f"{word!r} is not a single token (it normalizes to {hashes.shape[0]} tokens)")
    return int(hashes[0])

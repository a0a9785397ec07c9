"""Text -> normalized tokens.

The steps, in order:

1. Unicode NFKC, so that compatibility forms (full-width letters, ligatures, superscripts) compare equal.
2. Case folding (`str.casefold`), stronger than lowercasing for scripts such as German and Greek.
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
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from dedup._jit import kernel, parallel_kernel, prange

__all__ = ["TokenBatch", "normalize_text", "token_hash", "tokenize"]

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


def normalize_text(text: str) -> str:
    """Apply NFKC and case folding (steps 1-2); tokenization does the rest.

    >>> normalize_text("\uff34\uff48\uff45 \ufb01nal STRASSE")  # full-width letters, an fi ligature
    'the final strasse'
    """
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKC", text).casefold()


@lru_cache(maxsize=1)
def _class_table() -> npt.NDArray[np.uint8]:
    # Building the table asks unicodedata about 196,608 code points (0.2 s): keep it beside the compiled
    # kernels, keyed by the Unicode version it came from, and build it again when that cannot be read.
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
def _fmix64(h: np.uint64) -> np.uint64:
    # MurmurHash3 64-bit finalizer (Appleby 2011): a bijection that spreads every input bit.
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


@kernel
def _fold(h: np.uint64, fold_from: npt.NDArray[np.uint64], fold_to: np.uint64) -> np.uint64:
    # Tokens listed (sorted) in fold_from all become fold_to: how month and weekday names collapse.
    i = np.searchsorted(fold_from, h)
    if i < fold_from.shape[0] and fold_from[i] == h:
        return fold_to
    return h


@kernel
def _decode(buf: npt.NDArray[np.uint8], i: int, end: int) -> tuple[int, int]:
    # One UTF-8 code point at buf[i]: (code point, byte length). Invalid bytes decode as U+FFFD.
    b0 = buf[i]
    if b0 < 0x80:
        return int(b0), 1
    if b0 >= 0xF0 and i + 3 < end:
        return ((b0 & 0x07) << 18) | ((buf[i + 1] & 0x3F) << 12) | ((buf[i + 2] & 0x3F) << 6) | (buf[i + 3] & 0x3F), 4
    if b0 >= 0xE0 and i + 2 < end:
        return ((b0 & 0x0F) << 12) | ((buf[i + 1] & 0x3F) << 6) | (buf[i + 2] & 0x3F), 3
    if b0 >= 0xC0 and i + 1 < end:
        return ((b0 & 0x1F) << 6) | (buf[i + 1] & 0x3F), 2
    return 0xFFFD, 1


@kernel
def _scan_doc(
    buf: npt.NDArray[np.uint8],
    start: int,
    end: int,
    table: npt.NDArray[np.uint8],
    out_hash: npt.NDArray[np.uint64],
    out_start: npt.NDArray[np.int32],
    out_end: npt.NDArray[np.int32],
    base: int,
    write: bool,
    fold_from: npt.NDArray[np.uint64],
    fold_to: np.uint64,
) -> int:
    # Walk one document; emit (hash, byte start, byte end) per token when `write`; return the token count.
    fnv_offset = np.uint64(0xCBF29CE484222325)
    fnv_prime = np.uint64(0x100000001B3)
    n = 0
    i = start
    in_tok = False
    in_num = False
    h = fnv_offset
    tok_start = 0
    while i < end:
        cp, length = _decode(buf, i, end)
        cls = table[cp] if cp < table.shape[0] else 1
        if cls == 4:  # joiner: part of a number only between two digits
            cls = 0
            if in_num and i + length < end:
                nxt, _ = _decode(buf, i + length, end)
                if nxt < table.shape[0] and table[nxt] == 2:
                    cls = 5  # swallowed inside the number
        if cls in (1, 2):
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
                for j in range(length):
                    h = (h ^ np.uint64(buf[i + j])) * fnv_prime
        elif cls == 5:
            pass
        else:
            if in_tok:
                if write:
                    out_hash[base + n] = _fold(_fmix64(h), fold_from, fold_to)
                    out_start[base + n] = tok_start
                    out_end[base + n] = i - start
                n += 1
                in_tok = False
                in_num = False
            if cls == 3:
                if write:
                    hs = fnv_offset
                    for j in range(length):
                        hs = (hs ^ np.uint64(buf[i + j])) * fnv_prime
                    out_hash[base + n] = _fmix64(hs)
                    out_start[base + n] = i - start
                    out_end[base + n] = i - start + length
                n += 1
        i += length
    if in_tok:
        if write:
            out_hash[base + n] = _fold(_fmix64(h), fold_from, fold_to)
            out_start[base + n] = tok_start
            out_end[base + n] = end - start
        n += 1
    return n


@parallel_kernel
def _count_tokens(
    buf: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], table: npt.NDArray[np.uint8]
) -> npt.NDArray[np.int64]:
    n_docs = offsets.shape[0] - 1
    counts = np.zeros(n_docs, dtype=np.int64)
    dummy_h = np.zeros(0, dtype=np.uint64)
    dummy_i = np.zeros(0, dtype=np.int32)
    for d in prange(n_docs):
        counts[d] = _scan_doc(
            buf, offsets[d], offsets[d + 1], table, dummy_h, dummy_i, dummy_i, 0, False, dummy_h, np.uint64(0)
        )
    return counts


@parallel_kernel
def _fill_tokens(
    buf: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    table: npt.NDArray[np.uint8],
    ptr: npt.NDArray[np.int64],
    out_hash: npt.NDArray[np.uint64],
    out_start: npt.NDArray[np.int32],
    out_end: npt.NDArray[np.int32],
    fold_from: npt.NDArray[np.uint64],
    fold_to: np.uint64,
) -> None:
    for d in prange(offsets.shape[0] - 1):
        _scan_doc(
            buf, offsets[d], offsets[d + 1], table, out_hash, out_start, out_end, ptr[d], True, fold_from, fold_to
        )


@dataclass(frozen=True)
class TokenBatch:
    """The tokens of a batch of documents, flat: document `d` owns `hashes[ptr[d]:ptr[d+1]]`.

    `starts`/`ends` are byte offsets of each token in the document's normalized UTF-8 text.
    """

    hashes: npt.NDArray[np.uint64]
    starts: npt.NDArray[np.int32]
    ends: npt.NDArray[np.int32]
    ptr: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.ptr.shape[0] - 1)

    def counts(self) -> npt.NDArray[np.int64]:
        """Tokens per document."""
        return np.diff(self.ptr)

    def of(self, d: int) -> npt.NDArray[np.uint64]:
        """Token hashes of document `d`."""
        return self.hashes[self.ptr[d] : self.ptr[d + 1]]


def _raw_tokenize(
    normalized: list[str], fold_from: npt.NDArray[np.uint64] | None = None, fold_to: int = 0
) -> TokenBatch:
    encoded = [t.encode("utf-8", "surrogatepass") for t in normalized]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    buf = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    if buf.shape[0] == 0:
        buf = np.zeros(1, dtype=np.uint8)
    table = _class_table()
    counts: npt.NDArray[np.int64] = _count_tokens(buf, offsets, table)
    ptr = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    total = int(ptr[-1])
    hashes = np.empty(total, dtype=np.uint64)
    starts = np.empty(total, dtype=np.int32)
    ends = np.empty(total, dtype=np.int32)
    if fold_from is None:
        fold_from = np.zeros(0, dtype=np.uint64)
    _fill_tokens(buf, offsets, table, ptr, hashes, starts, ends, fold_from, np.uint64(fold_to))
    return TokenBatch(hashes, starts, ends, ptr)


@lru_cache(maxsize=1)
def _date_hashes() -> tuple[npt.NDArray[np.uint64], np.uint64]:
    hashes = np.unique(_raw_tokenize([_DATE_WORDS]).hashes)
    date_token = _raw_tokenize(["\u2020date\u2020"]).hashes[0] ^ np.uint64(0x5DA7E)
    return hashes, date_token


def tokenize(normalized: list[str]) -> TokenBatch:
    """Tokenize a batch of `normalize_text` outputs (steps 3-6).

    >>> batch = tokenize([normalize_text("Sales rose 4.5% on Monday."), normalize_text("sales rose 12% on friday")])
    >>> bool((batch.of(0) == batch.of(1)).all())
    True
    """
    date_words, date_token = _date_hashes()
    return _raw_tokenize(normalized, date_words, int(date_token))


def token_hash(word: str) -> int:
    """The stable hash of one word as `tokenize` computes it (for lexicons and tests)."""
    hashes = tokenize([normalize_text(word)]).hashes
    if hashes.shape[0] != 1:
        raise ValueError(f"{word!r} is not a single token (it normalizes to {hashes.shape[0]} tokens)")
    return int(hashes[0])

"""The memory bound of docs/hostile-inputs.md: reading, scoring and scanning one input of n bytes that holds d
documents takes at most `MULTIPLE * n + PER_DOCUMENT * d + ALLOWANCE` of memory beyond what the process held
before, whatever the input is shaped like. (A document costs the scan its signature, its features and its
result whatever its length, so an input of many tiny records is bounded by its count of records.)

Measured as the growth of the process's peak resident memory (Linux's VmHWM, reset before each input through
/proc/self/clear_refs), so memory that C libraries take (libxml2's trees, numpy's buffers) counts too.
"""

from __future__ import annotations

import contextlib
import random
import string
from collections.abc import Callable
from pathlib import Path

import pytest

import dedup
from dedup.io.sources import read_data

MULTIPLE = 40
PER_DOCUMENT = 8 << 10
ALLOWANCE = 128 << 20
SIZE = 1 << 20


def _kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) << 10
    raise LookupError(field)


def _can_reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _kib("VmHWM") > 0
    except (OSError, LookupError):
        return False


pytestmark = pytest.mark.skipif(not _can_reset_peak(), reason="needs Linux's /proc/self/clear_refs and VmHWM")


def _prose(size: int) -> str:
    rnd = random.Random(7)
    words = ["".join(rnd.choices(string.ascii_lowercase, k=rnd.randint(2, 9))) for _ in range(3000)]
    out: list[str] = []
    total = 0
    while total < size:
        sentence = " ".join(rnd.choices(words, k=rnd.randint(5, 25))).capitalize() + "."
        out.append(sentence)
        total += len(sentence) + 1
    return " ".join(out)


def _records(size: int) -> bytes:
    rnd = random.Random(11)
    words = ("".join(rnd.choices(string.ascii_lowercase, k=5)) for _ in range(3 * (size // 30)))
    return "".join(f'{{"text":"{a} {b} {c}"}}\n' for a, b, c in zip(words, words, words, strict=False)).encode()


# Inputs shaped to stress one part each: the tokenizer, the line and sentence layout, the HTML readers, the
# JSON readers, the shingles of a text with few distinct words.
SHAPES: dict[str, Callable[[int], tuple[str, bytes]]] = {
    "prose": lambda n: ("a.txt", _prose(n).encode()),
    "one word": lambda n: ("a.txt", b"a" * n),
    "a word and a space": lambda n: ("a.txt", b"x " * (n // 2)),
    "lines of two letters": lambda n: ("a.txt", b"ab\n" * (n // 3)),
    "one-letter sentences": lambda n: ("a.txt", b"A. " * (n // 3)),
    "punctuation": lambda n: ("a.txt", b"!?.," * (n // 4)),
    "Chinese without spaces": lambda n: ("a.txt", "\u4e2d\u6587\u5b57".encode() * (n // 9)),
    "HTML of tiny paragraphs": lambda n: ("a.html", b"<p>w</p>" * (n // 8)),
    "HTML nested deep": lambda n: ("a.html", b"<div>" * (n // 12) + b"text" + b"</div>" * (n // 12)),
    "HTML with one huge tag": lambda n: ("a.html", b"<p " + b"a='1' " * (n // 6) + b">text</p>"),
    "JSONL of tiny records": lambda n: ("a.jsonl", b'{"text":"a b"}\n' * (n // 15)),
    "JSONL of tiny distinct records": lambda n: ("a.jsonl", _records(n)),
    "JSONL of one long record": lambda n: ("a.jsonl", b'{"text":"' + _prose(n).encode() + b'"}\n'),
    "JSON nested deep": lambda n: ("a.json", b"[" * (n // 2) + b"]" * (n // 2)),
}


@pytest.fixture(scope="module")
def warmed() -> None:
    # Compiled kernels, models and libraries are loaded once per process, not per input.
    read_data(b"<html><body><p>Warm up the readers.</p></body></html>", "w.html", "w")
    dedup.score("A short text to load the scoring model and its kernels. " * 5)
    dedup.scan([dedup.Document("a", "one two three four five six"), dedup.Document("b", "one two three four five")])


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_reading_scoring_and_scanning_an_input_takes_a_bounded_multiple_of_its_size(warmed: None, shape: str) -> None:
    name, data = SHAPES[shape](SIZE)
    Path("/proc/self/clear_refs").write_text("5")
    before = _kib("VmRSS")
    documents, skipped = read_data(data, name, name)
    for doc in documents[:100]:  # the scan scores every document; these go through `dedup.score` as well
        with contextlib.suppress(dedup.InputError):
            dedup.score(doc.text)
    if documents:
        dedup.scan([*documents, dedup.Document("other", "another text about something else entirely")])
    grown = _kib("VmHWM") - before
    assert documents or skipped
    bound = MULTIPLE * len(data) + PER_DOCUMENT * len(documents) + ALLOWANCE
    assert grown <= bound, f"{shape}: {grown >> 20} MiB for {len(data) >> 10} KiB in {len(documents)} documents"

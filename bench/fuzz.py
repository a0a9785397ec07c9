"""Coverage-guided fuzzing of dedup's doors (atheris, libFuzzer for Python): the readers, the index's record
decoding and the content-farm scorer, for hours rather than the minute tests/test_fuzz.py spends on CI.

    pip install "dedup[fuzz]"
    python bench/fuzz.py readers -max_total_time=1800 -jobs=2 -workers=2 corpus/readers/
    python bench/fuzz.py score -runs=200000

Any exception other than the documented ones is a crash: libFuzzer saves the input (crash-*) and stops.
Each crash it finds becomes a regression test in tests/test_fuzz.py. The target name comes first; the rest
are libFuzzer's own options (-help=1 lists them).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import sys
from collections.abc import Callable
from types import ModuleType

import atheris

import dedup
import dedup.index.storage.records
import dedup.io.sources
import dedup.text.html
from dedup import IndexStoreError, InputError
from dedup.index.storage.records import DTYPES, parse_meta, ragged, unpack
from dedup.io.sources import SUFFIXES, read_data


def instrument(*modules: ModuleType) -> None:
    """Coverage for libFuzzer in the modules' plain Python functions. Not atheris.instrument_imports: numba
    cannot compile a kernel whose bytecode carries atheris's probes, so kernels stay as they are."""
    for module in modules:
        for name, value in list(vars(module).items()):
            if inspect.isfunction(value) and value.__module__ == module.__name__:
                setattr(module, name, atheris.instrument_func(value))


# The scoring module itself (the package's `score` attribute is its function, not the module).
SCORING = importlib.import_module("dedup.farm.score")
instrument(dedup.io.sources, dedup.text.html, SCORING, dedup.index.storage.records)

NAMES = [f"input{suffix}" for suffix in SUFFIXES] + [f"input{suffix}.gz" for suffix in SUFFIXES]
FIELDS = sorted(DTYPES)


def readers(data: bytes) -> None:
    """Any bytes, read as any supported file: documents with text and an id, or skipped rows with a reason."""
    if not data:
        return
    name = NAMES[data[0] % len(NAMES)]
    documents, skipped = read_data(data[1:], name, "input", max_bytes=1 << 20)
    for doc in documents:
        if not (isinstance(doc.id, str) and doc.id and isinstance(doc.text, str) and doc.text.strip()):
            raise AssertionError(f"a document without an id or text from {name}: {doc!r}")
    if not all(s.reason for s in skipped):
        raise AssertionError(f"a skipped row without a reason from {name}")


def score(data: bytes) -> None:
    """Any text: a score in [0, 1] whose evidence quotes the text, or InputError."""
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
    try:
        result = SCORING.score(text)  # the module's function, which `instrument` replaced
    except InputError:
        return
    if not 0.0 <= result.score <= 1.0:
        raise AssertionError(f"score {result.score} out of [0, 1]")
    for reason in result.reasons:
        for e in reason.evidence:
            if e.within == "text" and text[e.start : e.end] != e.quote:
                raise AssertionError(f"{reason.code}: evidence {e!r} does not quote the text")


def records(data: bytes) -> None:
    """Any stored blob or metadata: decoded, or IndexStoreError."""
    if not data:
        return
    field = FIELDS[data[0] % len(FIELDS)]
    for decode in (
        lambda: unpack(data[1:], field, "doc"),
        lambda: ragged([data[1:], data[1:4]], field, "doc"),
        lambda: parse_meta(data[1:], "crawl.index"),
    ):
        with contextlib.suppress(IndexStoreError):
            decode()


TARGETS: dict[str, Callable[[bytes], None]] = {"readers": readers, "score": score, "records": records}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: python bench/fuzz.py {{{','.join(TARGETS)}}} [libFuzzer options] [corpus folders]")
    target = TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

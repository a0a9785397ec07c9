"""Hostile bytes at every door: the readers, the index's record decoding and the scorer never raise anything
but their documented errors, whatever they are given.

Each property runs `DEDUP_FUZZ_EXAMPLES` examples (default 60: about a minute for the whole file on CI). A
long run: `DEDUP_FUZZ_EXAMPLES=20000 pytest tests/test_fuzz.py`; the coverage-guided harness for days of
fuzzing is bench/fuzz.py (atheris).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dedup
from dedup import IndexStoreError, InputError
from dedup.index.storage.records import DTYPES, parse_meta, ragged, unpack
from dedup.io.sources import SUFFIXES, read_data

EXAMPLES = int(os.environ.get("DEDUP_FUZZ_EXAMPLES", "60"))
fuzz = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NAMES = st.sampled_from([f"input{suffix}" for suffix in SUFFIXES] + [f"input{s}.gz" for s in SUFFIXES])
TAGS = ["<p>", "</p>", "<div>", "</div>", "<script>", "</script>", "<b>", "<html>", "<body>", "<!--", "-->", "&amp;"]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["id", "text", "url", "body"]), inner),
    max_leaves=8,
)


def assert_read(data: bytes, name: str) -> None:
    """What any reader promises: documents with text and an id, or skipped rows with a reason."""
    documents, skipped = read_data(data, name, "input", max_bytes=1 << 20)
    for doc in documents:
        assert isinstance(doc.id, str) and doc.id
        assert isinstance(doc.text, str) and doc.text.strip()
    assert all(s.reason for s in skipped)


@fuzz
@given(st.binary(max_size=4096), NAMES)
def test_any_bytes_under_any_name_give_documents_or_skipped_rows(data: bytes, name: str) -> None:
    assert_read(data, name)
    assert_read(gzip.compress(data), name + ".gz")


@fuzz
@given(st.lists(JSON, max_size=6), st.sampled_from(["feed.jsonl", "dump.json"]))
def test_any_json_values_give_documents_or_skipped_rows(values: list[object], name: str) -> None:
    lines = "\n".join(json.dumps(v) for v in values)
    assert_read(lines.encode("utf-8"), name)
    assert_read(json.dumps(values).encode("utf-8"), "dump.json")


@fuzz
@given(st.lists(st.sampled_from(TAGS) | st.text(max_size=40), max_size=40), st.sampled_from(["utf-8", "cp1252"]))
def test_any_tag_soup_gives_documents_or_skipped_rows(parts: list[str], encoding: str) -> None:
    assert_read("".join(parts).encode(encoding, "replace"), "page.html")


def test_a_page_whose_root_is_a_comment_is_read() -> None:
    # Found by the property above: lxml gave a comment as the page's root, and walking its text raised.
    assert_read(b"<body><!--", "page.html")
    assert_read(b"\x08<script></script>-->", "page.html")


@fuzz
@given(st.text(max_size=3000))
def test_any_text_scores_in_range_or_is_refused(text: str) -> None:
    try:
        result = dedup.score(text)
    except InputError:
        return
    assert 0.0 <= result.score <= 1.0 and dedup.score(text).score == result.score
    for reason in result.reasons:
        assert all(text[e.start : e.end] == e.quote for e in reason.evidence if e.within == "text")


@fuzz
@given(st.binary(max_size=256), st.sampled_from(sorted(DTYPES)))
def test_any_stored_blob_decodes_or_is_an_index_store_error(blob: bytes, field: str) -> None:
    for decode in (lambda: unpack(blob, field, "doc"), lambda: ragged([blob, blob[:3]], field, "doc")):
        with contextlib.suppress(IndexStoreError):
            decode()


@fuzz
@given(st.binary(max_size=512) | JSON.map(lambda v: json.dumps(v).encode("utf-8")))
def test_any_index_metadata_parses_or_is_an_index_store_error(raw: bytes) -> None:
    with contextlib.suppress(IndexStoreError):
        parse_meta(raw, "crawl.index")

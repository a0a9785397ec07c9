"""Reading inputs: every file becomes documents or a skipped row with a reason, and the scan goes on."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

import dedup
from dedup.sources import Corpus, decode, extract_html

ARTICLE = "The council voted on Tuesday to rebuild the harbor bridge at a cost of 84 million dollars. " * 5
PAGE = """<html><head><title>Bridge vote</title><style>p {{color: red}}</style><script>var x = 1;</script></head>
<body><header><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav></header>
<article><h1>Council approves bridge</h1>{paragraphs}</article>
<footer><p>Copyright 2026 Example Courier. All rights reserved.</p><a href="/privacy">Privacy policy</a></footer>
</body></html>"""


def read(folder: Path) -> tuple[dict[str, str], dict[str, str]]:
    corpus = Corpus([folder])
    documents = {d.id: d.text for d in corpus}
    return documents, {s.path: s.reason for s in corpus.skipped}


def test_folders_are_read_recursively_with_relative_slash_ids(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "top.txt").write_text(ARTICLE)
    (tmp_path / "a" / "b" / "deep.md").write_text("# Title\n\n" + ARTICLE)
    documents, skipped = read(tmp_path)
    assert set(documents) == {"top.txt", "a/b/deep.md"} and not skipped


def test_json_and_jsonl_give_one_document_per_record_gzipped_or_not(tmp_path: Path) -> None:
    records = [{"id": "r1", "text": "first"}, {"url": "https://example.org/2", "text": "second"}, {"text": "third"}]
    lines = "\n".join(json.dumps(r) for r in records) + "\n"
    (tmp_path / "feed.jsonl").write_text(lines)
    with gzip.open(tmp_path / "more.jsonl.gz", "wt") as handle:
        handle.write(json.dumps({"id": "g1", "text": "gzipped record"}) + "\n")
    (tmp_path / "list.json").write_text(json.dumps([{"id": "j1", "text": "in a list"}]))
    documents, skipped = read(tmp_path)
    assert set(documents) == {"r1", "https://example.org/2", "feed.jsonl:3", "g1", "j1"}
    assert not skipped


def test_bad_jsonl_lines_are_skipped_one_by_one(tmp_path: Path) -> None:
    (tmp_path / "feed.jsonl").write_text('{"id": "ok", "text": "fine"}\n{not json\n{"id": "x"}\n')
    documents, skipped = read(tmp_path)
    assert list(documents) == ["ok"]
    assert skipped["feed.jsonl:2"].startswith("invalid JSON")
    assert skipped["feed.jsonl:3"].startswith("record: no text field")


def test_html_gives_main_text_and_keeps_chrome_aside(tmp_path: Path) -> None:
    paragraphs = "".join(f"<p>{ARTICLE} Paragraph {i}.</p>" for i in range(3))
    text, chrome = extract_html(PAGE.format(paragraphs=paragraphs))
    assert "harbor bridge" in text and "All rights reserved" not in text and "var x" not in text
    assert "All rights reserved" in chrome and "harbor bridge" not in chrome


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("blob.txt", b"\x00\x01\x02binary\x00" * 100, "binary"),
        ("empty.txt", b"", "empty file"),
        ("blank.txt", b"  \n\t\n", "empty file"),
        ("picture.png", b"\x89PNG....", "unsupported file type"),
        ("broken.txt.gz", b"not gzip at all", "corrupt gzip"),
        (".hidden.txt", b"secret", "hidden file"),
    ],
)
def test_bad_files_are_skipped_with_a_reason_and_the_scan_goes_on(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    (tmp_path / "good.txt").write_text(ARTICLE)
    (tmp_path / name).write_bytes(content)
    documents, skipped = read(tmp_path)
    assert list(documents) == ["good.txt"]
    assert reason in skipped[name]


def test_a_fifo_is_skipped_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")
    _, skipped = read(tmp_path)
    assert skipped["pipe.txt"] == "not a regular file"


def test_an_unreadable_file_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked.txt"
    locked.write_text(ARTICLE)
    real_open = Path.open

    def refuse(self: Path, *args: object, **kwargs: object) -> object:
        if self.name == "locked.txt":
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", refuse)
    documents, skipped = read(tmp_path)
    assert not documents and "Permission denied" in skipped["locked.txt"]


def test_symlink_loops_and_broken_links_end_and_are_reported(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text(ARTICLE)
    (tmp_path / "loop").symlink_to(tmp_path)
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "missing.txt")
    documents, skipped = read(tmp_path)
    assert list(documents) == ["good.txt"]
    assert "symlink loop" in skipped["loop"]
    assert "unreadable" in skipped["dangling.txt"]


def test_files_over_the_size_limit_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text(ARTICLE * 10)
    corpus = Corpus([tmp_path], max_bytes=100)
    assert not list(corpus)
    assert "too large" in corpus.skipped[0].reason


def test_legacy_encodings_are_detected_and_mojibake_repaired() -> None:
    cp1252 = "Caf\u00e9 owners said \u201cit\u2019s over\u201d after the vote.".encode("cp1252") * 20
    assert "Caf\u00e9" in decode(cp1252) and "\u201cit\u2019s over\u201d" in decode(cp1252)
    assert decode("na\u00efve r\u00e9sum\u00e9".encode("utf-16")) == "na\u00efve r\u00e9sum\u00e9"
    assert decode("don\u00e2\u20ac\u2122t".encode()) == "don\u2019t"


def test_a_50_megabyte_file_is_read_and_scanned(tmp_path: Path) -> None:
    big = tmp_path / "book.txt"
    paragraph = " ".join(f"word{i % 997}x{i % 13}" for i in range(200)) + "\n"
    with big.open("w") as handle:
        for _ in range(50 * 1024 * 1024 // len(paragraph) + 1):
            handle.write(paragraph)
    assert big.stat().st_size >= 50 * 1024 * 1024
    result = dedup.scan(tmp_path)
    assert [d.id for d in result.documents] == ["book.txt"] and result.documents[0].words > 1_000_000


def test_nothing_is_silently_dropped(tmp_path: Path) -> None:
    names = {"a.txt": ARTICLE.encode(), "b.bin": b"\x00" * 10, "c.txt": b"", "d.html": b"<p>" + ARTICLE.encode()}
    for name, content in names.items():
        (tmp_path / name).write_bytes(content)
    result = dedup.scan(tmp_path)
    seen = [d.id for d in result.documents] + [s.path for s in result.skipped]
    assert sorted(seen) == sorted(names)


def test_a_missing_path_is_an_input_error() -> None:
    with pytest.raises(dedup.InputError, match="no such file"):
        dedup.scan("/no/such/path")

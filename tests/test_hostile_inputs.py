"""What real crawls contain: stray bytes, odd ids, ids reused many times. Nothing is lost or garbled."""

from __future__ import annotations

import gzip
import io
import itertools
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import dedup
from dedup.cli import app
from dedup.io import sources
from dedup.io.sources import Corpus, FileJob, decode, jsonl_parts, read_data, read_file, read_job
from dedup.model import unique_ids

NEWS = Path(__file__).resolve().parent.parent / "fixtures" / "news"
runner = CliRunner()


def test_a_stray_windows_1252_byte_leaves_the_rest_of_a_utf8_file_as_written() -> None:
    data = "Caf\u00e9 owners call it \u201cna\u00efve\u201d".encode() + b" \x96 and it\x92s not."
    assert decode(data) == "Caf\u00e9 owners call it \u201cna\u00efve\u201d \u2013 and it\u2019s not."


def test_a_stray_byte_in_plain_ascii_reads_as_windows_1252() -> None:
    assert decode(b"The mayor\x92s office said on Monday that the road will reopen.") == (
        "The mayor\u2019s office said on Monday that the road will reopen."
    )


def test_a_file_wholly_in_a_legacy_encoding_is_still_detected() -> None:
    text = "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440: \u043a\u0430\u043a \u0434\u0435\u043b\u0430?"
    assert decode(text.encode("cp1251")) == text


def test_an_html_page_with_a_stray_byte_keeps_its_accents(tmp_path: Path) -> None:
    body = "<p>Le caf\u00e9 du coin ferme ses portes apr\u00e8s trente ans de service.</p>".encode()
    page = b'<html><head><meta charset="utf-8"></head><body>' + body + b"<p>It\x92s true.</p></body></html>"
    (tmp_path / "page.html").write_bytes(page)
    documents, _ = read_file(tmp_path / "page.html", "page.html")
    assert "caf\u00e9" in documents[0].text and "apr\u00e8s" in documents[0].text


def test_json_ids_keep_their_json_text_exactly(tmp_path: Path) -> None:
    lines = [
        '{"id": 18446744073709551616, "text": "one"}',
        '{"id": 18446744073709551617, "text": "two"}',
        '{"id": 10000000000000000000000000000000000000000, "text": "three"}',
        '{"id": true, "text": "four"}',
        '{"id": [1, "a"], "text": "five"}',
        '{"id": 7, "text": "six"}',
    ]
    (tmp_path / "feed.jsonl").write_text("\n".join(lines), encoding="utf-8")
    documents, skipped = read_file(tmp_path / "feed.jsonl", "feed.jsonl")
    assert not skipped
    assert [d.id for d in documents] == [
        "18446744073709551616",
        "18446744073709551617",
        "10000000000000000000000000000000000000000",
        "true",
        '[1,"a"]',
        "7",
    ]


def test_a_json_array_with_big_integer_ids_keeps_them_exact(tmp_path: Path) -> None:
    (tmp_path / "dump.json").write_text(
        '[{"id": 18446744073709551616, "text": "a"}, {"id": 18446744073709551617, "text": "b"}]', encoding="utf-8"
    )
    documents, _ = read_file(tmp_path / "dump.json", "dump.json")
    assert [d.id for d in documents] == ["18446744073709551616", "18446744073709551617"]


def test_a_hundred_thousand_recrawls_of_one_url_are_all_kept_under_their_own_ids() -> None:
    # A rename that tried every suffix from #2 again for each copy would take hours here.
    renamed, count = unique_ids(["https://example.org/"] * 100_000)
    assert count == 99_999 and len(set(renamed)) == 100_000
    assert renamed[-1] == "https://example.org/#100000"


def test_a_renamed_id_never_takes_the_name_of_another_document() -> None:
    assert unique_ids(["a", "a#2", "a", "a"]) == (["a", "a#2", "a#3", "a#4"], 2)


def test_a_text_field_that_is_not_text_is_named_in_the_skip(tmp_path: Path) -> None:
    (tmp_path / "odd.jsonl").write_text('{"id": "a", "text": 12345}\n', encoding="utf-8")
    _, skipped = read_file(tmp_path / "odd.jsonl", "odd.jsonl")
    assert [s.reason for s in skipped] == ["record: its 'text' field holds a int, not text"]


def _two_days(tmp_path: Path) -> tuple[Path, Path]:
    day1, day2 = tmp_path / "day1", tmp_path / "day2"
    day1.mkdir()
    day2.mkdir()
    (day1 / "index.txt").write_text("The harbor bridge vote was delayed by a week. " * 12, encoding="utf-8")
    (day2 / "index.txt").write_text("A new bakery opened on Mill Street this morning. " * 12, encoding="utf-8")
    return day1, day2


def test_files_of_the_same_name_in_two_folders_of_one_scan_stay_two_documents(tmp_path: Path) -> None:
    day1, day2 = _two_days(tmp_path)
    result = dedup.scan([day1, day2])
    assert [d.id for d in result.documents] == ["index.txt", "index.txt#2"]
    assert result.summary is not None and result.summary.renamed_ids == 1


def test_the_index_keeps_pages_of_the_same_name_from_two_folders_in_one_run_or_two(tmp_path: Path) -> None:
    day1, day2 = _two_days(tmp_path)
    together, apart = tmp_path / "together.index", tmp_path / "apart.index"
    assert runner.invoke(app, ["index", "add", str(day1), str(day2), "--index", str(together)]).exit_code == 0
    for day in (day1, day2):
        assert runner.invoke(app, ["index", "add", str(day), "--index", str(apart)]).exit_code == 0
    for path in (together, apart):
        with dedup.Index.open(path) as index:
            assert index.stats().documents == 2


def test_a_file_given_twice_is_read_once_and_the_repeat_is_listed(tmp_path: Path) -> None:
    page = tmp_path / "a.txt"
    page.write_text("The library will open on Sundays from next month, the council said. " * 8, encoding="utf-8")
    result = dedup.scan([page, page])
    assert [d.id for d in result.documents] == [page.as_posix()]
    assert not result.pairs
    assert [s.reason for s in result.skipped] == [f"the same file as {page.as_posix()}: read once"]


def test_a_report_never_overwrites_the_file_it_scans(tmp_path: Path) -> None:
    feed = tmp_path / "in.jsonl"
    original = '{"id": "a", "text": "The ferry timetable changes on Monday."}\n'
    feed.write_text(original, encoding="utf-8")
    done = runner.invoke(app, ["scan", str(feed), "-f", "jsonl", "-o", str(feed)])
    assert done.exit_code == 2 and "would overwrite" in done.output
    assert feed.read_text(encoding="utf-8") == original


def test_the_spark_engine_without_pyspark_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if dedup[spark] were not installed
    done = runner.invoke(app, ["scan", str(NEWS), "--engine", "spark"])
    assert done.exit_code == 1
    assert 'pip install "dedup[spark]"' in done.output and "Traceback" not in done.output


def test_a_jsonl_dump_larger_than_the_size_limit_is_read_record_by_record(tmp_path: Path) -> None:
    records = [
        {"id": f"r{i}", "text": f"Record {i} of a large dump, about the harbor and the town."} for i in range(500)
    ]
    lines = [json.dumps(r) for r in records]
    lines[250] = json.dumps({"id": "big", "text": "word " * 400})  # one record over the limit
    (tmp_path / "dump.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = dedup.scan([tmp_path], max_bytes=1000, score=False)
    assert len(result.documents) == 499
    assert [(s.path, s.reason.split(":")[0]) for s in result.skipped] == [("dump.jsonl:251", "record too large")]


def test_a_large_jsonl_file_is_read_in_parts_that_keep_every_record_and_its_line(tmp_path: Path) -> None:
    lines = [json.dumps({"text": f"Line {i} says something about the weather in the valley."}) for i in range(3000)]
    dump = tmp_path / "dump.jsonl"
    dump.write_text("\n".join(lines) + "\n", encoding="utf-8")
    parts = jsonl_parts(dump, dump.stat().st_size, part_bytes=10_000)
    assert len(parts) > 10 and parts[0].start == 0 and parts[-1].end == dump.stat().st_size
    assert all(a.end == b.start for a, b in itertools.pairwise(parts))
    documents = [d for part in parts for d in read_job(FileJob(str(dump), "dump.jsonl", 0, 10_000, part))[0]]
    assert [d.id for d in documents] == [f"dump.jsonl:{i}" for i in range(1, 3001)]
    assert documents[1234].text == json.loads(lines[1234])["text"]


def test_a_scan_of_a_jsonl_file_in_parts_finds_what_a_scan_of_it_whole_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    story = (NEWS / "originals" / "harbor-bridge-vote.txt").read_text(encoding="utf-8")
    lines = [
        json.dumps({"text": f"Note {i}: the ferry to the island leaves at {i % 12 + 1} o'clock."}) for i in range(400)
    ]
    lines[10] = lines[390] = json.dumps({"text": story})
    (tmp_path / "feed.jsonl").write_text("\n".join(lines), encoding="utf-8")
    whole = dedup.scan([tmp_path], score=False)
    monkeypatch.setattr(sources, "PART_BYTES", 2_000)
    assert len(Corpus([tmp_path]).jobs()) > 5
    parted = dedup.scan([tmp_path], score=False)
    assert [d.id for d in parted.documents] == [d.id for d in whole.documents]
    assert [(p.a, p.b) for p in parted.pairs] == [(p.a, p.b) for p in whole.pairs]
    assert ("feed.jsonl:11", "feed.jsonl:391") in [(p.a, p.b) for p in parted.pairs]


# Hostile inputs and what dedup gives for each: the table in docs/hostile-inputs.md is made from these, and
# the test below fails, printing the table, when what dedup does and what the page says part.
HOSTILE = [
    ("an empty file", "a.txt", b""),
    ("a binary file (NUL bytes)", "a.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
    ("an unsupported type", "report.pdf", b"%PDF-1.7 ..."),
    ("UTF-8 with one stray windows-1252 byte", "a.txt", "Caf\u00e9 \u2013 ".encode() + b"it\x92s open"),
    ("a windows-1252 file", "a.txt", "Cr\u00e8me br\u00fbl\u00e9e, na\u00efve caf\u00e9s".encode("cp1252")),
    ("UTF-16 with a byte-order mark", "a.txt", "Grand opening today".encode("utf-16")),
    ("text encoded twice (mojibake)", "a.txt", "caf\u00e9 don\u2019t".encode().decode("cp1252").encode()),
    ("a gzip bomb (1 MB of zeros in 1 KB)", "a.txt.gz", gzip.compress(b"0" * (1 << 20))),
    ("a corrupt gzip file", "a.txt.gz", b"\x1f\x8b\x08\x00garbage"),
    ("a page that is only a comment", "a.html", b"<body><!--"),
    ("a page with a control character", "a.html", b"<p>Tide\x08 tables for the week.</p>"),
    ("a page nested 3,000 levels deep", "a.html", b"<div>" * 3000 + b"Deep text here." + b"</div>" * 3000),
    ("a JSONL line that is not JSON", "a.jsonl", b'{"text": "fine"}\n{"text": oops}\n'),
    ("a JSONL record whose text is a number", "a.jsonl", b'{"id": "x", "text": 12345}\n'),
    ("a JSON id past 64 bits", "a.jsonl", b'{"id": 18446744073709551617, "text": "big id"}\n'),
    ("a JSON id that is true", "a.jsonl", b'{"id": true, "text": "boolean id"}\n'),
    ("a JSON array of bare strings", "a.json", b'["one text", "another text"]'),
]


def outcome(data: bytes, name: str) -> str:
    documents, skipped = read_data(data, name, name, max_bytes=100_000)
    said = [f"document `{d.id}`: {d.text[:24]!r}" for d in documents]
    said += [f"skipped `{s.path}`: {_reason(s.reason)}" for s in skipped]
    return "; ".join(said)


def _reason(reason: str) -> str:
    # The reason without what the parser or zlib adds (their wording changes between versions).
    short = reason.split(" (", maxsplit=1)[0]
    return short.split(":")[0] if short.startswith(("invalid JSON", "corrupt gzip")) else short


def hostile_table() -> str:
    rows = [f"| {what} | `{name}` | {outcome(data, name)} |" for what, name, data in HOSTILE]
    return "\n".join(["| input | file | what dedup gives |", "|---|---|---|", *rows])


def test_the_hostile_inputs_page_says_what_dedup_does_with_each() -> None:
    page = (NEWS.parent.parent / "docs" / "hostile-inputs.md").read_text(encoding="utf-8")
    table = hostile_table()
    assert table in page, f"docs/hostile-inputs.md is out of date; its table is now:\n\n{table}\n"


def test_skipped_records_are_listed_by_number_not_as_text(tmp_path: Path) -> None:
    lines = ['{"text": "ok"}'] + ["not json"] * 11
    (tmp_path / "feed.jsonl").write_text("\n".join(lines), encoding="utf-8")
    result = dedup.scan([tmp_path], score=False)
    assert [s.path for s in result.skipped] == [f"feed.jsonl:{n}" for n in range(2, 13)]


def test_an_index_add_that_reads_nothing_makes_no_index_file(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    index = tmp_path / "crawl.index"
    done = runner.invoke(app, ["index", "add", str(tmp_path / "empty.txt"), "--index", str(index), "-q"])
    assert done.exit_code == 1 and not index.exists()


def test_score_jsonl_is_one_object_a_line_for_one_article_or_many() -> None:
    farm = NEWS.parent / "farm"
    one = runner.invoke(app, ["score", str(farm / "wire-story.txt"), "-f", "jsonl"])
    two = runner.invoke(app, ["score", str(farm / "wire-story.txt"), str(farm / "templated-farm.txt"), "-f", "jsonl"])
    assert one.exit_code == two.exit_code == 0
    assert [json.loads(line)["id"] for line in one.stdout.splitlines()] == [str(farm / "wire-story.txt")]
    assert len(two.stdout.splitlines()) == 2 and all(json.loads(line)["score"] >= 0 for line in two.stdout.splitlines())


def test_scoring_a_symlink_loop_says_so(tmp_path: Path) -> None:
    loop = tmp_path / "loop.txt"
    loop.symlink_to(loop)
    done = runner.invoke(app, ["score", str(loop)])
    assert done.exit_code == 1 and "loops or points to nothing" in done.output


def test_a_scan_reads_json_lines_from_standard_input_and_lists_what_it_skipped() -> None:
    lines = [
        '{"id": "a", "text": "The ferry leaves at noon."}',
        "not json",
        '{"id": "b", "text": "The ferry leaves at noon."}',
    ]
    done = runner.invoke(app, ["scan", "-", "-f", "json"], input="\n".join(lines))
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert [d["id"] for d in report["documents"]] == ["a", "b"]
    assert [s["path"] for s in report["skipped"]] == ["-:2"] and report["summary"]["skipped"] == 1


def test_a_scan_reads_a_text_from_standard_input_beside_files() -> None:
    story = (NEWS / "originals" / "harbor-bridge-vote.txt").read_text(encoding="utf-8")
    done = runner.invoke(app, ["scan", "-", str(NEWS / "originals"), "-f", "json"], input=story)
    assert done.exit_code == 0, done.output
    pairs = json.loads(done.stdout)["pairs"]
    assert [(p["a"], p["b"], p["relation"]) for p in pairs] == [("-", "harbor-bridge-vote.txt", "duplicate")]


def test_the_library_scans_a_binary_stream_as_the_cli_scans_standard_input(tmp_path: Path) -> None:
    (tmp_path / "c.txt").write_text("The ferry leaves at noon from the north pier.", encoding="utf-8")
    feed = io.BytesIO(b'{"id": "a", "text": "The ferry leaves at noon."}\n{oops\n{"id": "b", "text": "x y z"}\n')
    result = dedup.scan([tmp_path, feed])
    assert sorted(d.id for d in result.documents) == ["a", "b", "c.txt"]
    assert [s.path for s in result.skipped] == ["-:2"] and result.summary is not None
    assert result.summary.skipped == 1


def test_a_page_of_more_tags_than_any_article_is_read_as_its_visible_text_without_article_extraction() -> None:
    from dedup.text.html import MAX_TAGS, extract_html

    menu = "<nav><a>Home</a></nav><script>var x = 1;</script>"
    page = f"<html><body>{menu}<p>First words.</p>{'<i>x</i>' * MAX_TAGS}</body></html>"
    main, chrome = extract_html(page)
    assert main.startswith("Home\nFirst words.") and "var x" not in main
    assert chrome == ""


def test_a_text_longer_than_an_article_is_scored_on_its_first_part_and_says_so() -> None:
    from dedup.farm.text import MAX_SCORED_CHARS

    para = "The council met on Tuesday and voted to repave the harbor road before the winter storms.\n"
    text = para * (MAX_SCORED_CHARS // len(para) + 50)
    head = text[: text.rfind("\n", 0, MAX_SCORED_CHARS + 1)]
    long = dedup.score(text)
    assert long.score == dedup.score(head).score
    assert long.note == f"scored the first {len(head):,} of {len(text):,} characters"
    scanned = dedup.scan([dedup.Document("long", text), dedup.Document("other", "A different story altogether.")])
    assert scanned.documents[0].farm_score == pytest.approx(long.score)

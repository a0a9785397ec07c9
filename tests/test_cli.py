"""The `dedup` command: options in, the library called, results printed, errors as exit codes."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import string
from importlib.metadata import version as installed_version
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

import dedup
from dedup.cli import app
from dedup.io.report.scan import SHOWN_CLUSTERS, SHOWN_MEMBERS, SHOWN_SKIPPED
from dedup.model import ScanSummary

ROOT = Path(__file__).resolve().parent.parent
NEWS = ROOT / "fixtures" / "news"
NEWS_DOCUMENTS = 38
STAGES = {"featurize", "tfidf", "candidates", "confirm", "cluster"}
ARTICLE = "The council voted on Tuesday to rebuild the harbor bridge at a cost of 84 million dollars. " * 5

runner = CliRunner()


def dedup_cli(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def scan_news(*options: str | Path) -> Result:
    result = dedup_cli("scan", NEWS, "--quiet", *options)
    assert result.exit_code == 0, result.output
    return result


def assert_clean_failure(result: Result, message: str) -> None:
    """Exit 1 with `error: <message>` on stderr, and no traceback anywhere."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert f"error: {message}" in result.stderr
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def news_report() -> dict[str, object]:
    report: dict[str, object] = json.loads(scan_news("--format", "json").stdout)
    return report


def test_scan_of_the_news_fixtures_prints_a_table_of_duplicate_and_rewrite_clusters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    result = dedup_cli("scan", "fixtures/news")
    assert result.exit_code == 0, result.output
    assert "duplicate" in result.stdout and "rewrite" in result.stdout
    assert f"{NEWS_DOCUMENTS} documents, 0 skipped" in result.stdout
    assert "fixtures/news" not in result.stdout  # members are named relative to the scanned folder


def test_json_output_has_documents_pairs_clusters_skipped_and_summary(news_report: dict[str, object]) -> None:
    assert set(news_report) == {"documents", "pairs", "clusters", "skipped", "summary"}
    assert news_report["skipped"] == []


def test_json_documents_have_id_words_cluster_and_farm_score(news_report: dict[str, object]) -> None:
    documents = news_report["documents"]
    assert isinstance(documents, list) and len(documents) == NEWS_DOCUMENTS
    for doc in documents:
        assert set(doc) == {"id", "words", "cluster", "farm_score", "flagged", "reasons"}
        assert 0.0 <= doc["farm_score"] <= 1.0 and isinstance(doc["flagged"], bool)
        assert isinstance(doc["id"], str) and isinstance(doc["words"], int) and doc["words"] > 0
        assert doc["cluster"] is None or isinstance(doc["cluster"], str)
    ids = {doc["id"] for doc in documents}
    assert "copies/tram-line-extension.txt.gz" in ids and "html/westfold-library-cuts.htm" in ids


def test_json_pairs_have_both_ids_a_relation_and_three_measures(news_report: dict[str, object]) -> None:
    pairs = news_report["pairs"]
    assert isinstance(pairs, list) and pairs
    ids = {doc["id"] for doc in news_report["documents"]}  # type: ignore[attr-defined]
    for pair in pairs:
        assert set(pair) == {"a", "b", "relation", "jaccard", "containment", "cosine"}
        assert pair["a"] in ids and pair["b"] in ids and pair["a"] < pair["b"]
        assert pair["relation"] in {"duplicate", "rewrite"}
        assert all(0.0 <= pair[m] <= 1.0 for m in ("jaccard", "containment", "cosine"))
    assert {p["relation"] for p in pairs} == {"duplicate", "rewrite"}


def test_json_clusters_have_id_relation_members_a_representative_and_a_source_among_them(
    news_report: dict[str, object],
) -> None:
    clusters = news_report["clusters"]
    assert isinstance(clusters, list) and clusters
    membership = {doc["id"]: doc["cluster"] for doc in news_report["documents"]}  # type: ignore[attr-defined]
    for c in clusters:
        assert set(c) == {"id", "relation", "members", "representative", "source"}
        assert c["relation"] in {"duplicate", "rewrite"}
        assert len(c["members"]) >= 2 and c["representative"] in c["members"]
        assert c["source"] is None or c["source"] in c["members"]
        assert all(membership[m] == c["id"] for m in c["members"])
    assert sum(len(c["members"]) for c in clusters) == sum(v is not None for v in membership.values())


def test_json_summary_has_seconds_per_stage_and_the_settings_used(news_report: dict[str, object]) -> None:
    summary = news_report["summary"]
    assert isinstance(summary, dict)
    assert set(summary["seconds"]) >= STAGES
    assert all(isinstance(s, float | int) and s >= 0 for s in summary["seconds"].values())
    assert summary["settings"]["shingle"]["k"] == 5
    assert summary["documents"] == NEWS_DOCUMENTS and summary["skipped"] == 0


def test_json_summary_keeps_its_keys_in_order_and_names_spark_only_for_a_spark_scan(
    news_report: dict[str, object],
) -> None:
    from dataclasses import replace

    summary = news_report["summary"]
    assert isinstance(summary, dict)
    keys = ["version", "documents", "skipped", "renamed_ids", "words", "candidates", "pairs", "clusters"]
    keys += ["clustered_documents", "threads", "seconds", "total_seconds", "settings"]
    assert list(summary) == keys
    assert list(summary["candidates"]) == ["duplicate_path", "passage_path", "rewrite_path", "total", "measured"]
    assert list(summary["pairs"]) == list(summary["clusters"]) == ["duplicate", "rewrite"]
    local = dedup.scan([dedup.Document("a", ARTICLE), dedup.Document("b", ARTICLE)]).summary
    assert local is not None and "engine" not in local.to_dict()
    on_spark = replace(local, master="local[2]").to_dict()
    assert list(on_spark)[:4] == ["version", "engine", "master", "documents"]
    assert on_spark["engine"] == "spark" and on_spark["master"] == "local[2]"


def test_options_reach_the_settings_in_the_summary() -> None:
    options = ("--shingle-size", "4", "--num-perm", "64", "--workers", "1", "--excerpt-containment", "0.9")
    report = json.loads(scan_news("-f", "json", *options).stdout)
    assert report["summary"]["settings"]["shingle"]["k"] == 4
    assert report["summary"]["settings"]["signature"]["num_perm"] == 64
    assert report["summary"]["settings"]["confirm"]["excerpt_containment"] == 0.9


def test_jsonl_output_is_one_json_record_per_line_tagged_with_its_type(news_report: dict[str, object]) -> None:
    lines = scan_news("--format", "jsonl").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    kinds = [r["type"] for r in records]
    assert set(kinds) == {"document", "pair", "cluster", "summary"}
    assert kinds.count("document") == NEWS_DOCUMENTS and kinds[-1] == "summary" and kinds.count("summary") == 1
    assert kinds.count("pair") == len(news_report["pairs"])  # type: ignore[arg-type]


def test_csv_output_has_a_header_and_one_row_per_document() -> None:
    text = scan_news("--format", "csv").stdout
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["id", "words", "cluster", "relation", "representative", "farm_score", "flagged", "reasons"]
    assert len(rows) == NEWS_DOCUMENTS + 1 and all(len(r) == 8 for r in rows)
    clustered = [r for r in rows[1:] if r[2]]
    assert clustered and all(r[3] in {"duplicate", "rewrite"} and r[4] for r in clustered)


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_quoted(tmp_path: Path) -> None:
    hostile = '=HYPERLINK("http://example.invalid","open me")'
    records = [{"id": hostile, "text": ARTICLE}, {"id": "@SUM(A1)", "text": ARTICLE}, {"id": "plain", "text": ARTICLE}]
    corpus = tmp_path / "records.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    result = dedup_cli("scan", corpus, "--quiet", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert sorted(r["id"] for r in rows) == sorted(["'" + hostile, "'@SUM(A1)", "plain"])
    assert {r["representative"] for r in rows} == {"'" + hostile}  # the copies' cluster, represented by the first
    # JSON keeps the ids as they are: only the spreadsheet format needs the guard.
    ids = {d["id"] for d in json.loads(dedup_cli("scan", corpus, "-q", "-f", "json").stdout)["documents"]}
    assert hostile in ids


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_output_file_receives_the_report_and_stdout_stays_empty(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"report.{fmt}"
    result = scan_news("--format", fmt, "--output", target)
    assert result.stdout == ""
    text = target.read_text(encoding="utf-8")
    if fmt == "json":
        assert len(json.loads(text)["documents"]) == NEWS_DOCUMENTS
    elif fmt == "jsonl":
        assert sum(json.loads(line)["type"] == "document" for line in text.splitlines()) == NEWS_DOCUMENTS
    else:
        assert len(list(csv.DictReader(io.StringIO(text)))) == NEWS_DOCUMENTS


def test_table_output_file_is_plain_text(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    result = scan_news("--output", target)
    assert result.stdout == ""
    text = target.read_text(encoding="utf-8")
    assert "duplicate" in text and "rewrite" in text and "\x1b[" not in text


def test_a_table_piped_to_another_program_keeps_each_member_and_its_measures_on_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Not a terminal (`dedup scan ... | less`): 120 columns, not rich's 80, which wraps paths and crops columns.
    monkeypatch.delenv("COLUMNS", raising=False)
    lines = scan_news().stdout.splitlines()
    assert any("originals/orchestra-strike-ends.txt" in line and "1.00 / 1.00 / 1.00" in line for line in lines)
    assert max(map(len, lines)) <= 120


def test_the_table_explains_its_measures_beneath_it_and_counts_in_words(tmp_path: Path) -> None:
    # The legend sits under the table it explains, so the summary line stays one line in 120 columns.
    (tmp_path / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "b.txt").write_text("Breaking: " + ARTICLE, encoding="utf-8")
    lines = dedup_cli("scan", tmp_path, "--quiet").stdout.splitlines()
    legend = next(i for i, line in enumerate(lines) if "J / C / cos: shingle Jaccard" in line)
    assert lines[legend - 1].startswith("└")  # the cluster table's last border
    assert lines[-1].startswith("2 documents, 0 skipped, 1 duplicate and 0 rewrite pairs, 1 cluster, ")


def test_the_table_lists_the_largest_clusters_and_the_first_skipped_rows_and_says_how_many_more(
    tmp_path: Path,
) -> None:
    rng = random.Random(7)
    vocabulary = ["".join(rng.choices(string.ascii_lowercase, k=7)) for _ in range(5000)]

    def story() -> str:
        return " ".join(rng.choices(vocabulary, k=80))

    stories = [story() for _ in range(110)]
    records = [{"id": f"s{i}-{copy}", "text": text} for i, text in enumerate(stories[:-1]) for copy in range(2)]
    records += [{"id": f"big-{copy}", "text": stories[-1]} for copy in range(SHOWN_MEMBERS + 5)]
    lines = [json.dumps(r) for r in records] + ["not json"] * (SHOWN_SKIPPED + 10)
    (tmp_path / "feed.jsonl").write_text("\n".join(lines))
    table = dedup_cli("scan", tmp_path, "-q", "--no-score").stdout
    assert f"the {SHOWN_CLUSTERS} largest of 110" in table
    assert table.index("big-") < table.index("s0-")  # largest first
    assert "... and 5 more (--format json lists all)" in table  # 25 members, 20 shown
    assert f"Skipped, the first {SHOWN_SKIPPED} of {SHOWN_SKIPPED + 10}" in table
    assert "110 clusters" in table


def test_a_scan_with_no_clusters_says_so_in_one_line() -> None:
    lines = dedup_cli("scan", NEWS / "originals", "--quiet", "--no-score").stdout.splitlines()
    assert lines[0] == "No duplicate or rewrite clusters: every document is unique."
    assert not any("J / C / cos" in line for line in lines)


def test_a_missing_path_exits_non_zero_with_a_clear_error_and_no_traceback() -> None:
    result = dedup_cli("scan", "/no/such/folder")
    assert_clean_failure(result, "no such file or folder: /no/such/folder")
    assert result.stdout == ""


def test_an_output_file_in_a_missing_folder_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    result = dedup_cli("scan", NEWS, "-q", "-f", "json", "-o", tmp_path / "no" / "such" / "report.json")
    assert_clean_failure(result, "")
    assert str(tmp_path / "no" / "such") in result.stderr


def test_a_folder_of_only_bad_files_exits_non_zero_and_still_reports_the_skipped_rows(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01" * 50)
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / "feed.jsonl").write_text('{"id": "x"}\n{oops\n')
    result = dedup_cli("scan", tmp_path, "--format", "json", "--quiet")
    assert_clean_failure(result, "no document could be read (5 inputs skipped)")
    report = json.loads(result.stdout)
    assert report["documents"] == []
    assert {s["path"]: s["reason"].split(":")[0] for s in report["skipped"]} == {
        "blob.txt": "binary file (NUL bytes)",
        "empty.txt": "empty file",
        "feed.jsonl:1": "record",
        "feed.jsonl:2": "invalid JSON",
        "photo.jpg": "unsupported file type (supported",
    }


def test_a_folder_of_only_bad_files_lists_them_in_the_table_too(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    result = dedup_cli("scan", tmp_path, "--quiet")
    assert_clean_failure(result, "no document could be read (1 input skipped)")
    assert "empty.txt" in result.stdout and "empty file" in result.stdout


def test_bad_files_next_to_good_ones_are_listed_and_the_scan_succeeds(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text(ARTICLE)
    (tmp_path / "copy.txt").write_text(ARTICLE)
    (tmp_path / "blob.txt").write_bytes(b"\x00" * 10)
    result = dedup_cli("scan", tmp_path, "-f", "json", "-q")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert sorted(d["id"] for d in report["documents"]) == ["copy.txt", "good.txt"]
    assert [s["path"] for s in report["skipped"]] == ["blob.txt"]
    assert [c["members"] for c in report["clusters"]] == [["copy.txt", "good.txt"]]


def test_a_file_name_that_is_not_utf8_does_not_crash_the_report(tmp_path: Path) -> None:
    with open(os.fsencode(tmp_path) + b"/caf\xe9.txt", "w") as handle:
        handle.write(ARTICLE)
    (tmp_path / "other.txt").write_text("Fishermen in the northern bay rejected the new quota. " * 5)
    result = dedup_cli("scan", tmp_path, "-f", "json", "-q")
    assert result.exit_code == 0, repr(result.exception)
    assert len(json.loads(result.stdout)["documents"]) == 2


def test_ids_and_paths_with_square_brackets_are_printed_verbatim_in_the_table(tmp_path: Path) -> None:
    # Rich would read "[bold]" as a style and "[/b]" as a closing tag with nothing open (an error).
    records = [{"id": name, "text": ARTICLE} for name in ("[bold]first", "second[/b]")]
    (tmp_path / "feed.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    (tmp_path / "[red]blank.txt").write_text("")
    result = dedup_cli("scan", tmp_path, "-q")
    assert result.exit_code == 0, repr(result.exception)
    for name in ("[bold]first", "second[/b]", "[red]blank.txt"):
        assert name in result.stdout


def test_an_invalid_option_value_is_a_usage_error() -> None:
    result = dedup_cli("scan", NEWS, "--shingle-size", "0")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_an_unknown_format_is_a_usage_error() -> None:
    result = dedup_cli("scan", NEWS, "--format", "xml")
    assert result.exit_code == 2 and "xml" in result.output


def commands(group: typer.core.TyperGroup, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    """Every command under `group` with the words that call it, groups too, depth first."""
    found: list[tuple[tuple[str, ...], object]] = []
    for name, command in group.commands.items():
        found.append(((*path, name), command))
        if isinstance(command, typer.core.TyperGroup):
            found += commands(command, (*path, name))
    return found


def test_every_command_has_help_that_exits_zero() -> None:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    everything = commands(group)
    index_commands = {("index", name) for name in ("add", "check", "stats", "verify", "remove", "compact")}
    assert {words for words, _ in everything} == {("scan",), ("score",), ("explain",), ("index",), *index_commands}
    for words, command in everything:
        summary = (command.help or "").strip()  # type: ignore[attr-defined]
        assert summary, f"`dedup {' '.join(words)}` has no help text"
        result = dedup_cli(*words, "--help")
        assert result.exit_code == 0, words
        shown = " ".join(result.stdout.split())  # as wrapped to the terminal's width
        assert shown.startswith(f"Usage: dedup {' '.join(words)} ") and summary.splitlines()[0] in shown, words
        listing = dedup_cli(*words[:-1], "--help").stdout.splitlines()  # the group's list of its commands
        assert any(line.split()[:4] == [words[-1], *summary.split()[:3]] for line in listing if line.strip()), words


def test_options_offer_the_library_defaults_and_ranges() -> None:
    from dedup.config import FRACTION, NUM_PERM, SHINGLE_SIZE, IndexConfig, ScanConfig

    help_text = " ".join(dedup_cli("scan", "--help").stdout.split())
    default = ScanConfig()
    assert f"[default: {default.shingle.k}; {SHINGLE_SIZE.low}<=x<={SHINGLE_SIZE.high}]" in help_text
    assert f"[default: {default.signature.num_perm}; {NUM_PERM.low}<=x<={NUM_PERM.high}]" in help_text
    assert f"[default: {default.confirm.rewrite_cosine}; {FRACTION.low}<=x<={FRACTION.high}]" in help_text
    assert f"[default: {default.duplicate_lsh.threshold}]" in help_text
    add_help = " ".join(dedup_cli("index", "add", "--help").stdout.split())
    assert f"[default: {IndexConfig().batch_size};" in add_help


def test_a_setting_the_library_refuses_is_a_usage_error_that_names_the_fix() -> None:
    for option, value, message in [
        ("--duplicate-threshold", "1", "strictly between 0 and 1"),
        ("--representative", "middle", "use 'longest' or 'first'"),
    ]:
        result = dedup_cli("scan", NEWS, "-q", option, value)
        assert result.exit_code == 2, (option, result.output)
        assert message in " ".join(result.output.split()) and "Traceback" not in result.output


def test_help_prints_install_extras_verbatim() -> None:
    # Help texts are plain text: read as rich markup, "[spark]" would vanish from the install command.
    assert 'pip install "dedup[spark]"' in " ".join(dedup_cli("scan", "--help").stdout.split())


def test_no_arguments_shows_the_help() -> None:
    result = dedup_cli()
    assert "Usage" in result.output and "scan" in result.output
    assert "Traceback" not in result.output


def test_version_prints_the_version() -> None:
    result = dedup_cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"dedup {dedup.__version__}"
    assert dedup.__version__ == installed_version("dedup")


def test_the_command_itself_writes_its_whole_report_and_keeps_its_exit_code(tmp_path: Path) -> None:
    # `python -m dedup` is the console script (`dedup.cli.run`).
    import subprocess
    import sys

    command = [sys.executable, "-m", "dedup", "scan"]
    done = subprocess.run([*command, str(NEWS), "--format", "json"], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    expected = json.loads(json.dumps(dedup.scan([NEWS]).to_dict()))
    assert {k: v for k, v in json.loads(done.stdout).items() if k != "summary"} == {
        k: v for k, v in expected.items() if k != "summary"
    }
    out = tmp_path / "report.jsonl"
    assert subprocess.run([*command, str(NEWS), "-f", "jsonl", "-o", str(out)], check=False).returncode == 0
    assert json.loads(out.read_text(encoding="utf-8").splitlines()[-1])["type"] == "summary"
    missing = subprocess.run([*command, str(tmp_path / "nothing-here")], capture_output=True, check=False)
    assert missing.returncode == 1
    assert b"no such file or folder" in missing.stderr and b"Traceback" not in missing.stderr


def test_json_and_jsonl_reports_carry_exactly_the_to_dict_contract() -> None:
    from dedup.io.report.scan import render
    from dedup.model import ScanResult

    result = dedup.scan([NEWS, ROOT / "fixtures" / "farm"])
    data = json.loads(json.dumps(result.to_dict()))  # tuples as lists, as JSON has them
    assert json.loads(render(result, "json")) == data
    records = [json.loads(line) for line in render(result, "jsonl").splitlines()]
    for kind in ("document", "pair", "cluster"):
        plural = f"{kind}s"
        assert [{k: v for k, v in r.items() if k != "type"} for r in records if r["type"] == kind] == data[plural]
    assert records[-1] == {"type": "summary", **data["summary"]}
    assert render(ScanResult((), (), (), ()), "jsonl") == b'{"type":"summary"}\n'


def test_large_reports_write_each_pair_exactly_as_orjson_writes_a_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    # Past PRETTY_LIMIT documents the pairs are written from columns, not from Pair objects: byte for byte the same.
    import orjson

    from dedup.io.report import scan as report

    result = dedup.scan([NEWS, ROOT / "fixtures" / "farm"])
    assert {p.relation for p in result.pairs} == {"duplicate", "rewrite"}
    monkeypatch.setattr(report, "PRETTY_LIMIT", 0)
    compact = report.render(result, "json")
    assert json.loads(compact) == json.loads(json.dumps(result.to_dict()))
    assert b'"pairs":' + orjson.dumps(list(result.pairs)) + b',"clusters":' in compact
    lines = report.render(result, "jsonl").splitlines()
    assert [line for line in lines if line.startswith(b'{"type":"pair"')] == [
        b'{"type":"pair",' + orjson.dumps(p)[1:] for p in result.pairs
    ]


def test_pair_rows_written_from_columns_escape_ids_as_json_does(monkeypatch: pytest.MonkeyPatch) -> None:
    from itertools import pairwise

    import orjson

    from dedup import Pair, Pairs, ScanResult
    from dedup.io.report import scan as report

    ids = ['say "hi"', "back\\slash", "caf\u00e9/\u65b0\u805e", "tab\there", "\U0001f4f0 news"]
    pairs = Pairs.of(
        Pair(a, b, "duplicate" if k % 2 else "rewrite", 0.5, 1.0, 0.12346) for k, (a, b) in enumerate(pairwise(ids))
    )
    result = ScanResult((), pairs, (), ())
    monkeypatch.setattr(report, "PRETTY_LIMIT", -1)
    compact = report.render(result, "json")
    assert b'"pairs":' + orjson.dumps(list(pairs)) + b"," in compact
    assert orjson.loads(compact)["pairs"][0] == {
        "a": 'say "hi"', "b": "back\\slash", "relation": "rewrite", "jaccard": 0.5, "containment": 1.0, "cosine": 0.1235
    }  # fmt: skip


def test_a_spark_scan_writes_to_the_uri_given_with_its_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    spark = pytest.importorskip("dedup.spark")
    written: list[str] = []

    class Written:
        summary = ScanSummary(1, 0, 0, 3, {}, {"duplicate": 0, "rewrite": 0}, {}, 0, 1, {}, 0.0, {})

        def write_jsonl(self, folder: str) -> None:
            written.append(folder)

    monkeypatch.setattr(spark, "spark_session", lambda _session, _master: (None, False))
    monkeypatch.setattr(spark, "scan_spark", lambda *_args, **_options: Written())
    done = scan_news("--engine", "spark", "-f", "jsonl", "-o", "s3a://bucket/report/")
    assert written == ["s3a://bucket/report/"] and "written to s3a://bucket/report/" in done.output


def test_a_local_scan_refuses_a_uri_as_its_output_file() -> None:
    done = dedup_cli("scan", NEWS, "-q", "-o", "s3a://bucket/report.json")
    assert done.exit_code == 2 and "only --engine spark" in done.output


def test_scan_align_gives_each_rewrite_pair_its_sentence_alignment(monkeypatch: pytest.MonkeyPatch) -> None:
    from dedup.io.report import scan as report

    data = json.loads(scan_news("--format", "json", "--align", "--no-score").stdout)
    rewrites = [p for p in data["pairs"] if p["relation"] == "rewrite"]
    assert rewrites and all(p["alignment"]["coverage"] > 0 for p in rewrites)
    assert all("alignment" not in p for p in data["pairs"] if p["relation"] == "duplicate")
    plain = json.loads(scan_news("--format", "json", "--no-score").stdout)
    assert all("alignment" not in p for p in plain["pairs"])
    # Written from columns past PRETTY_LIMIT, the same rows.
    monkeypatch.setattr(report, "PRETTY_LIMIT", 0)
    assert json.loads(scan_news("--format", "json", "--align", "--no-score").stdout)["pairs"] == data["pairs"]
    lines = [json.loads(x) for x in scan_news("--format", "jsonl", "--align", "--no-score").stdout.splitlines()]
    assert [{k: v for k, v in x.items() if k != "type"} for x in lines if x["type"] == "pair"] == data["pairs"]


def test_scan_align_on_spark_is_refused_before_any_work() -> None:
    result = dedup_cli("scan", NEWS, "--align", "--engine", "spark", "--format", "json")
    assert result.exit_code == 2 and "--align" in result.output

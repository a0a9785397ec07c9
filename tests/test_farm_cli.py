"""`dedup score`: a file or standard input in, a verdict with its reasons out, clean errors for bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from dedup.cli import app
from dedup.farm import SIGNALS

ROOT = Path(__file__).resolve().parent.parent
FARM = ROOT / "fixtures" / "farm"
runner = CliRunner()


def dedup_score(*args: str | Path, stdin: bytes | str | None = None) -> Result:
    return runner.invoke(app, ["score", *(str(a) for a in args)], input=stdin)


def assert_clean_failure(result: Result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.output


def test_score_prints_the_verdict_the_reasons_and_their_evidence() -> None:
    result = dedup_score(FARM / "templated-farm.txt")
    assert result.exit_code == 0, result.output
    shown = " ".join(result.stdout.split())  # the table wraps to the terminal's width
    assert "FLAGGED as content-farm output" in shown
    assert "stock_phrases" in shown and "generic_headings" in shown
    assert "'The Background'" in shown  # evidence is quoted


def test_score_of_a_wire_story_says_not_flagged() -> None:
    result = dedup_score(FARM / "wire-story.txt")
    assert result.exit_code == 0, result.output
    assert "not flagged" in result.stdout


def test_score_json_is_the_documented_contract() -> None:
    result = dedup_score(FARM / "templated-farm.txt", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["id"].endswith("templated-farm.txt")
    assert data["flagged"] is True and 0.0 <= data["score"] <= 1.0
    assert len(data["reasons"]) == len(SIGNALS)
    text = (FARM / "templated-farm.txt").read_text(encoding="utf-8")
    for reason in data["reasons"]:
        for e in reason["evidence"]:
            assert text[e["start"] : e["end"]] == e["text"]


def test_score_reads_standard_input_and_detects_html() -> None:
    text = (FARM / "templated-farm.txt").read_text(encoding="utf-8")
    assert json.loads(dedup_score("-", "--format", "json", stdin=text).stdout)["flagged"] is True
    html = (FARM / "farm-page.html").read_text(encoding="utf-8")
    data = json.loads(dedup_score("-", "--format", "json", stdin=html).stdout)
    page = next(r for r in data["reasons"] if r["code"] == "page_chrome")
    assert data["flagged"] is True and page["value"] is not None


def test_score_of_an_html_file_uses_its_main_text_and_page_chrome() -> None:
    data = json.loads(dedup_score(FARM / "farm-page.html", "--format", "json").stdout)
    assert data["flagged"] is True
    footer = next(r for r in data["reasons"] if r["code"] == "farm_chrome")
    assert footer["value"] == 2.0 and {e["within"] for e in footer["evidence"]} == {"html"}


def test_a_gzipped_html_page_is_scored_with_its_page_chrome_too(tmp_path: Path) -> None:
    page = tmp_path / "farm-page.html.gz"
    page.write_bytes(gzip.compress((FARM / "farm-page.html").read_bytes()))
    data = json.loads(dedup_score(page, "--format", "json").stdout)
    plain = json.loads(dedup_score(FARM / "farm-page.html", "--format", "json").stdout)
    assert next(r for r in data["reasons"] if r["code"] == "page_chrome")["value"] is not None
    assert data["score"] == plain["score"]


def test_threshold_option_sets_the_verdict() -> None:
    data = json.loads(dedup_score(FARM / "wire-story.txt", "--format", "json", "--threshold", "0").stdout)
    assert data["threshold"] == 0.0 and data["flagged"] is True
    assert dedup_score(FARM / "wire-story.txt", "--threshold", "2").exit_code == 2  # out of range: usage error


def test_a_jsonl_file_gives_one_score_per_record(tmp_path: Path) -> None:
    records = [{"id": "wire", "text": (FARM / "wire-story.txt").read_text(encoding="utf-8")}]
    records.append({"id": "farm", "text": (FARM / "templated-farm.txt").read_text(encoding="utf-8")})
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    data = json.loads(dedup_score(path, "--format", "json").stdout)
    assert [(d["id"], d["flagged"]) for d in data] == [("wire", False), ("farm", True)]


def test_several_files_give_one_score_each() -> None:
    wire, farm = FARM / "wire-story.txt", FARM / "templated-farm.txt"
    data = json.loads(dedup_score(wire, farm, "--format", "json").stdout)
    assert [(d["id"], d["flagged"]) for d in data] == [(str(wire), False), (str(farm), True)]
    table = dedup_score(wire, farm).stdout
    assert f"{wire}: score" in table and f"{farm}: score" in table


def test_an_unreadable_file_among_several_is_an_error_and_the_others_are_still_scored(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    result = dedup_score(FARM / "wire-story.txt", empty, FARM / "templated-farm.txt", "--format", "json")
    assert_clean_failure(result, f"cannot score {empty}: empty file")
    assert [d["flagged"] for d in json.loads(result.stdout)] == [False, True]


def test_a_missing_file_is_a_clean_error(tmp_path: Path) -> None:
    assert_clean_failure(dedup_score(tmp_path / "nope.txt"), "no such file")


def test_a_folder_is_a_clean_error(tmp_path: Path) -> None:
    assert_clean_failure(dedup_score(tmp_path), "is a folder")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "empty file"),
        ("binary.txt", bytes(range(256)) * 4, "binary"),
        ("report.pdf", b"%PDF-1.4 some text", "unsupported file type"),
        ("corrupt.txt.gz", b"not gzip at all", "corrupt gzip"),
    ],
)
def test_unreadable_files_are_clean_errors(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert_clean_failure(dedup_score(path), message)


def test_empty_and_binary_standard_input_are_clean_errors() -> None:
    assert_clean_failure(dedup_score("-", stdin=""), "standard input is empty")
    assert_clean_failure(dedup_score("-", stdin=b"\x00\x01\x02\x03" * 20), "cannot read standard input")


def test_punctuation_only_input_is_a_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "dots.txt"
    path.write_text("... --- !!!", encoding="utf-8")
    assert_clean_failure(dedup_score(path), "nothing to score")


def test_short_foreign_and_large_inputs_get_a_result(tmp_path: Path) -> None:
    short = tmp_path / "short.txt"
    short.write_text("Five words and no more.", encoding="utf-8")
    result = dedup_score(short)
    assert result.exit_code == 0 and "only 5 words" in result.stdout
    foreign = tmp_path / "foreign.txt"
    foreign.write_text("El consejo aprobó el martes la construcción de un nuevo puente sobre el río. " * 6, "utf-8")
    assert "does not read as English" in dedup_score(foreign).stdout
    large = tmp_path / "large.txt.gz"
    with gzip.open(large, "wt", encoding="utf-8") as handle:
        handle.write((FARM / "wire-story.txt").read_text(encoding="utf-8") * 3000)  # about 5 MB
    data = json.loads(dedup_score(large, "--format", "json").stdout)
    assert 0.0 <= data["score"] <= 1.0


def test_score_has_help() -> None:
    result = runner.invoke(app, ["score", "--help"])
    assert result.exit_code == 0
    assert "--threshold" in result.stdout and "--format" in result.stdout


def test_scan_table_lists_the_flagged_documents_and_no_score_drops_them() -> None:
    scored = runner.invoke(app, ["scan", str(FARM), "--quiet"])
    assert scored.exit_code == 0, scored.output
    shown = " ".join(scored.stdout.split())
    assert "Content-farm scores: 2 of 4 documents flagged" in shown
    assert "templated-farm.txt" in shown and "farm_chrome" in shown
    plain = runner.invoke(app, ["scan", str(FARM), "--quiet", "--no-score"])
    assert plain.exit_code == 0 and "Content-farm" not in plain.stdout


def test_scan_table_says_in_one_line_when_no_document_is_flagged() -> None:
    result = runner.invoke(
        app, ["scan", str(FARM / "wire-story.txt"), str(FARM / "wire-story-with-chrome.txt"), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert "Content-farm scores: 0 of 2 documents flagged." in result.stdout
    assert "top reasons" not in result.stdout  # no table of headers over nothing

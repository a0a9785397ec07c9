"""`dedup index`: add, check, stats, verify and remove from the shell, with `scan`'s output formats."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from dedup.cli import app
from dedup.io.report.scan import SHOWN_CHECKED, SHOWN_MEMBERS

ROOT = Path(__file__).resolve().parent.parent
NEWS = ROOT / "fixtures" / "news"
ORIGINALS = NEWS / "originals"
COPIES = NEWS / "copies"
COPIES_DOCUMENTS = 9


def in_folder(folder: Path, name: str) -> str:
    """The id the index commands give a file of `folder`: its path as given (so two folders' files never meet)."""
    return f"{folder.as_posix()}/{name}"


runner = CliRunner()


def dedup_cli(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def ok(*args: str | Path) -> Result:
    result = dedup_cli(*args)
    assert result.exit_code == 0, result.output
    return result


def assert_clean_failure(result: Result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.output


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    """An index holding the news fixtures' originals."""
    index = tmp_path / "crawl.index"
    ok("index", "add", ORIGINALS, "--index", index, "--quiet")
    return index


def test_index_add_fills_an_index_and_says_how_many_were_added(tmp_path: Path) -> None:
    index = tmp_path / "crawl.index"
    result = ok("index", "add", ORIGINALS, "--index", index, "-q", "--format", "json")
    summary = json.loads(result.stdout)["summary"]
    assert summary["added"] == summary["read"] == summary["index_documents"] == 14
    again = json.loads(ok("index", "add", ORIGINALS, "-i", index, "-q", "-f", "json").stdout)["summary"]
    assert (again["added"], again["present"]) == (0, 14)
    assert "14 documents added" in ok("index", "add", ORIGINALS, "-i", tmp_path / "other.index", "-q").stdout


def test_index_check_reports_each_document_with_its_matches_and_farm_score(filled: Path) -> None:
    report = json.loads(ok("index", "check", COPIES, "--index", filled, "-q", "--format", "json").stdout)
    assert set(report) == {"documents", "skipped", "summary"}
    by_id = {d["id"]: d for d in report["documents"]}
    assert len(by_id) == report["summary"]["documents"] == COPIES_DOCUMENTS
    match = by_id[in_folder(COPIES, "brannock-symphony-deal.txt")]["matches"][0]
    assert match["id"] == in_folder(ORIGINALS, "orchestra-strike-ends.txt") and match["relation"] == "duplicate"
    teaser = by_id[in_folder(COPIES, "tarlow-downed-lines-teaser.txt")]["matches"]  # through the passage path
    assert [(m["id"], m["relation"]) for m in teaser] == [(in_folder(ORIGINALS, "ice-storm-outages.txt"), "duplicate")]
    assert set(match) == {"id", "relation", "jaccard", "containment", "cosine", "url"}
    assert all(d["farm"] is None or 0.0 <= d["farm"]["score"] <= 1.0 for d in by_id.values())
    assert all(d["farm"]["id"] == doc_id for doc_id, d in by_id.items() if d["farm"] is not None)
    assert all(not d["added"] for d in by_id.values())
    assert report["summary"]["index_documents"] == 14  # checking adds nothing


def test_index_check_of_an_html_page_scores_it_with_its_page_chrome_as_dedup_score_does(filled: Path) -> None:
    page = ROOT / "fixtures" / "farm" / "farm-page.html"
    checked = json.loads(ok("index", "check", page, "--index", filled, "-q", "--format", "json").stdout)
    farm = checked["documents"][0]["farm"]
    scored = json.loads(ok("score", page, "--format", "json").stdout)
    reasons = {r["code"]: r for r in farm["reasons"]}
    assert reasons["page_chrome"]["value"] is not None and reasons["farm_chrome"]["value"] == 2.0
    # Nothing in the index shares its text, so the corpus signals add nothing and the scores agree.
    assert farm["score"] == pytest.approx(scored["score"]) and farm["flagged"] is scored["flagged"] is True


def test_index_check_jsonl_csv_and_table(filled: Path) -> None:
    lines = [
        json.loads(line) for line in ok("index", "check", COPIES, "-i", filled, "-q", "-f", "jsonl").stdout.splitlines()
    ]
    assert [r["type"] for r in lines].count("verdict") == COPIES_DOCUMENTS and lines[-1]["type"] == "summary"
    rows = list(
        csv.reader(io.StringIO(ok("index", "check", COPIES, "-i", filled, "-q", "-f", "csv", "--no-farm").stdout))
    )
    assert rows[0] == ["id", "match", "relation", "jaccard", "containment", "cosine", "farm_score", "flagged"]
    assert any(r[1] == in_folder(ORIGINALS, "orchestra-strike-ends.txt") and r[2] == "duplicate" for r in rows[1:])
    assert all(r[6] == "" for r in rows[1:])  # --no-farm
    table = ok("index", "check", COPIES, "-i", filled, "-q").stdout
    assert "duplicate" in table and f"{COPIES_DOCUMENTS} documents checked against 14 indexed" in table
    assert "J / C / cos: shingle Jaccard, containment and TF-IDF cosine against the match" in table


def test_the_check_table_lists_the_first_documents_and_the_best_matches_and_says_how_many_more(
    tmp_path: Path,
) -> None:
    text = (ORIGINALS / "orchestra-strike-ends.txt").read_text(encoding="utf-8")
    index = tmp_path / "crawl.index"
    copies = tmp_path / "copies.jsonl"
    copies.write_text("\n".join(json.dumps({"id": f"copy{i}", "text": text}) for i in range(SHOWN_MEMBERS + 3)))
    ok("index", "add", copies, "--index", index, "-q")
    pages = tmp_path / "pages.jsonl"
    pages.write_text("\n".join(json.dumps({"id": f"page{i}", "text": text}) for i in range(SHOWN_CHECKED + 2)))
    table = ok("index", "check", pages, "--index", index, "-q").stdout
    assert f"the first {SHOWN_CHECKED} of {SHOWN_CHECKED + 2} documents" in table
    assert f"page{SHOWN_CHECKED - 1} " in table and f"page{SHOWN_CHECKED} " not in table
    assert table.count("... and 3 more (--format json lists all)") == SHOWN_CHECKED


def test_bad_files_are_skipped_and_counted_as_in_a_scan(filled: Path, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (folder / "story.txt").write_text((ORIGINALS / "harbor-bridge-vote.txt").read_text(encoding="utf-8"))
    report = json.loads(ok("index", "check", folder, "-i", filled, "-q", "-f", "json").stdout)
    assert [s["path"] for s in report["skipped"]] == [in_folder(folder, "empty.txt"), in_folder(folder, "photo.jpg")]
    assert report["summary"]["skipped"] == 2 and report["documents"][0]["matches"][0]["jaccard"] == 1.0
    added = json.loads(ok("index", "add", folder, "-i", filled, "-q", "-f", "json").stdout)
    assert added["summary"]["skipped"] == 2 and len(added["skipped"]) == 2


def test_index_stats_verify_remove_and_compact(filled: Path) -> None:
    stats = json.loads(ok("index", "stats", "--index", filled, "--format", "json").stdout)
    assert stats["documents"] == 14 and stats["backend"] == "sqlite" and stats["settings"]["num_perm"] == 128
    assert "documents" in ok("index", "stats", "-i", filled).stdout
    assert "ok:" in ok("index", "verify", "-i", filled).stdout
    removed = (in_folder(ORIGINALS, "harbor-bridge-vote.txt"), in_folder(ORIGINALS, "bakery-chain-expansion.txt"))
    assert ok("index", "remove", *removed, "nope", "-i", filled).stdout.strip() == ("2 removed, 1 not in the index")
    stats = json.loads(ok("index", "stats", "-i", filled, "-f", "json").stdout)
    assert stats["documents"] == 12 and stats["log_entries"] == 2
    assert (
        ok("index", "compact", "-i", filled).stdout.strip() == "wrote segment 1; dropped 1 of the index's log entries"
    )
    assert json.loads(ok("index", "stats", "-i", filled, "-f", "json").stdout)["log_entries"] == 1


def test_the_index_can_come_from_the_environment(filled: Path) -> None:
    result = runner.invoke(app, ["index", "stats", "-f", "json"], env={"DEDUP_INDEX": str(filled)})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["documents"] == 14


def test_checking_against_a_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    assert_clean_failure(dedup_cli("index", "check", COPIES, "-i", tmp_path / "none.index", "-q"), "no index at")
    assert not (tmp_path / "none.index").exists()


@pytest.mark.parametrize(
    "command", [("check", str(COPIES)), ("stats",), ("verify",), ("remove", "some-id"), ("compact",)]
)
def test_every_command_on_a_missing_index_fails_the_same_clear_way(command: tuple[str, ...], tmp_path: Path) -> None:
    assert_clean_failure(dedup_cli("index", *command, "-i", tmp_path / "none.index"), "no index at")


def test_a_foreign_file_as_index_is_a_clear_error_and_is_left_as_it_is(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    assert_clean_failure(dedup_cli("index", "add", ORIGINALS, "-i", notes, "-q"), "is not a dedup index")
    assert notes.read_text() == "my notes\n"


def test_nothing_readable_is_an_error(filled: Path, tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    result = dedup_cli("index", "check", tmp_path / "empty.txt", "-i", filled, "-q", "-f", "json")
    assert_clean_failure(result, "no document could be read (1 input skipped)")


@pytest.mark.parametrize("command", ["add", "check", "stats", "verify", "remove", "compact"])
def test_every_index_command_has_help(command: str) -> None:
    result = ok("index", command, "--help")
    assert "--index" in result.stdout and "Example" in result.stdout

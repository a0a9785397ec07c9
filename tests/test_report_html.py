"""The HTML report (`dedup scan --format html`, `dedup score --format html`) as a file, and `dedup explain`:
one self-contained page whose data no document text can break out of."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from dedup.cli import app
from dedup.io.report.html import CHUNK, render_html
from dedup.model import Cluster, DocumentResult, Pair, ScanResult

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
HOSTILE = "<script>document.title = 'pwned'</script><!-- <img src=x onerror=alert(1)> </SCRIPT >"
runner = CliRunner()


def dedup_cli(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def data_of(page: str, block: str = "dedup-data") -> object:
    found = re.search(rf'<script type="application/json" id="{block}">(.*?)</script>', page, re.S)
    assert found is not None, f"no {block} block"
    return json.loads(found.group(1))


def small_result() -> ScanResult:
    documents = (
        DocumentResult("a", 12, "c1", 0.2, False),
        DocumentResult("b", 10, "c1", 0.97, True, (("stock_phrases", 2.5, "12 stock phrases"),)),
        DocumentResult("c", 3, None, 0.1, False),
    )
    pairs = [Pair("a", "b", "duplicate", 0.5, 0.9, 0.8)]
    return ScanResult(documents, pairs, (Cluster("c1", "duplicate", ("a", "b"), "a"),), ())


def test_the_page_is_one_file_with_its_script_and_style_inline_and_nothing_from_the_network() -> None:
    page = render_html(small_result(), {"a": "first text", "b": "second text", "c": "third"}).decode("utf-8")
    assert "<style>" in page and "function sharedPassages" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "default-src 'none'" in page  # the page may not load anything from anywhere


def test_document_text_cannot_close_its_block_or_open_a_comment() -> None:
    page = render_html(small_result(), {"a": HOSTILE, "b": HOSTILE, "c": "</script><script>alert(1)</script>"})
    text = page.decode("utf-8")
    # The only script elements are the page's own: the data blocks, the code, the texts.
    assert text.lower().count("<script") == text.lower().count("</script") == 3
    assert "<!--" not in text
    texts = data_of(text, "dedup-texts-0")
    assert isinstance(texts, list)
    assert texts[0][0] == HOSTILE  # the text itself is kept, exactly


def test_the_page_s_own_script_and_style_hold_no_tag_that_would_end_them_early() -> None:
    from importlib.resources import files

    for name in ("report.js", "report.css"):
        source = files("dedup.io.report").joinpath(name).read_text(encoding="utf-8").lower()
        assert "</" not in source and "<!--" not in source and "<script" not in source, name


def test_clusters_are_listed_largest_first_as_document_numbers_with_measures_against_the_representative() -> None:
    documents = tuple(DocumentResult(i, 5, "big" if i in "abc" else "small") for i in "abcde")
    clusters = (
        Cluster("small", "rewrite", ("d", "e"), "d"),
        Cluster("big", "duplicate", ("a", "b", "c"), "b", source="c"),
    )
    pairs = [Pair("a", "b", "duplicate", 0.5, 0.6, 0.7), Pair("d", "e", "rewrite", 0.0, 0.1, 0.5)]
    data = data_of(render_html(ScanResult(documents, pairs, clusters, ()), {}).decode("utf-8"))
    assert isinstance(data, dict)
    big, small = data["clusters"]
    assert big == ["big", "duplicate", [1, 0, 2], 2, [None, [5000, 6000, 7000], None]]
    assert small[0] == "small"
    assert data["charts"]["sizes"][:2] == [["2", 1], ["3", 1]]


def test_texts_come_in_blocks_of_chunk_documents() -> None:
    n = CHUNK + 3
    documents = tuple(DocumentResult(f"d{i}", 1, None) for i in range(n))
    page = render_html(ScanResult(documents, [], (), ()), {f"d{i}": f"text {i}" for i in range(n)}).decode("utf-8")
    assert data_of(page, "dedup-texts-1") == [[f"text {i}", [], None] for i in range(CHUNK, n)]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report") / "report.html"
    result = dedup_cli("scan", FIXTURES / "news", FIXTURES / "report", "--format", "html", "-o", out, "--quiet")
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_dedup_scan_format_html_writes_every_document_with_its_text(report: str) -> None:
    data = data_of(report)
    assert isinstance(data, dict)
    assert len(data["ids"]) == data["summary"]["documents"] == 40
    hostile = data["ids"].index("hostile-notice.txt")
    texts = data_of(report, "dedup-texts-0")
    assert isinstance(texts, list)
    assert "<script>document.title" in texts[hostile][0]
    details = [row[2] for row in texts if row[2] is not None]
    assert details and all(r[5] is not None for d in details for r in d["reasons"])


def test_dedup_score_format_html_shows_each_article_with_its_evidence() -> None:
    result = dedup_cli("score", FIXTURES / "farm" / "templated-farm.txt", "--format", "html")
    assert result.exit_code == 0, result.output
    data, texts = data_of(result.stdout), data_of(result.stdout, "dedup-texts-0")
    assert isinstance(data, dict) and isinstance(texts, list)
    assert data["kind"] == "score" and data["flagged"] == [0]
    text, _, details = texts[0]
    spans = [span for reason in details["reasons"] for span in reason[5]]
    assert spans and all(0 <= s < e <= len(text) for s, e in spans)


def test_dedup_explain_prints_the_verdict_the_measures_the_paths_and_the_passages() -> None:
    news = FIXTURES / "news"
    result = dedup_cli(
        "explain", news / "originals/landlord-fraud-verdict.txt", news / "copies/farraday-verdict-excerpt.txt"
    )
    assert result.exit_code == 0, result.output
    for part in ("DUPLICATE", "excerpt_containment", "passage_path", "shared passage", "Jury Finds Kellsport"):
        assert part in result.stdout


def test_dedup_explain_of_two_ids_of_a_report_shows_what_the_scan_found(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    assert dedup_cli("scan", FIXTURES / "news", "--format", "json", "-o", report, "--quiet").exit_code == 0
    result = dedup_cli(
        "explain", "wire-006", "originals/fishing-quota-dispute.txt", "--report", report, "--root",
        FIXTURES / "news", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["relation"] == "duplicate"
    assert data["scan"]["pair"]["relation"] == "duplicate"
    assert data["passages"]


def test_dedup_explain_of_an_id_not_in_the_report_is_an_error(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    assert dedup_cli("scan", FIXTURES / "news", "--format", "json", "-o", report, "--quiet").exit_code == 0
    result = dedup_cli("explain", "wire-006", "nothing.txt", "--report", report, "--root", FIXTURES / "news")
    assert result.exit_code == 1
    assert "no document 'nothing.txt' in the report" in result.stderr


def test_a_renamed_id_shows_the_text_of_its_own_document(tmp_path: Path) -> None:
    for folder, text in (("one", "The first text about the harbour."), ("two", "The second text, on the tram.")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "index.txt").write_text(text, encoding="utf-8")
    out = tmp_path / "report.html"
    result = dedup_cli("scan", tmp_path / "one", tmp_path / "two", "--format", "html", "-o", out, "--quiet")
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    data, texts = data_of(page), data_of(page, "dedup-texts-0")
    assert isinstance(data, dict) and isinstance(texts, list)
    shown = {doc_id: row[0] for doc_id, row in zip(data["ids"], texts, strict=True)}
    assert shown == {"index.txt": "The first text about the harbour.", "index.txt#2": "The second text, on the tram."}


def test_standard_input_is_scanned_and_shown_in_the_page(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    lines = '{"id": "piped", "text": "A text that came down a pipe to the scan."}\n{"id": "empty", "text": ""}\n'
    result = runner.invoke(app, ["scan", "-", "--format", "html", "-o", str(out), "--quiet"], input=lines)
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    data, texts = data_of(page), data_of(page, "dedup-texts-0")
    assert isinstance(data, dict) and isinstance(texts, list)
    assert data["ids"] == ["piped"] and texts[0][0] == "A text that came down a pipe to the scan."
    assert data["summary"]["skipped"] == len(data["skipped"]) == 1


def test_dedup_explain_of_a_rewrite_prints_its_aligned_sentences_side_by_side() -> None:
    news = FIXTURES / "news"
    result = dedup_cli(
        "explain", news / "originals/rowing-regatta-upset.txt", news / "rewrites/rowing-regatta-upset-spin1.txt"
    )
    assert result.exit_code == 0, result.output
    assert "REWRITE" in result.stdout and "aligned sentence pairs cover" in result.stdout


def test_a_rewrite_member_carries_its_alignment_with_the_representative() -> None:
    from dedup.model import AlignedSpan, Alignment

    documents = tuple(DocumentResult(i, 5, "c") for i in "de")
    alignment = Alignment((AlignedSpan(0, 4, 10, 14, 0.5),), 0.75, 1.0, (2, 3))
    result = ScanResult(
        documents, [Pair("d", "e", "rewrite", 0.0, 0.1, 0.5)], (Cluster("c", "rewrite", ("d", "e"), "e"),), ()
    )
    data = data_of(render_html(result.with_alignments({("d", "e"): alignment}), {}).decode("utf-8"))
    assert isinstance(data, dict)
    # Members are listed representative first; spans are given representative's side first.
    assert data["clusters"][0][5] == [[1, 0.75, 1.0, [[10, 14, 0, 4, 0.5]]]]
    plain = data_of(render_html(result, {}).decode("utf-8"))
    assert isinstance(plain, dict) and len(plain["clusters"][0]) == 5  # nothing aligned: no sixth field

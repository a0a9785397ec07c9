"""The HTML report in a real browser (headless Chromium): what a reader sees, checked in the rendered DOM.

Skipped where Chromium is not installed (`.ci/run` installs Debian's `chromium`).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import lxml.html
import pytest
from typer.testing import CliRunner

from dedup.cli import app

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
TITLE = "dedup scan report"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")


def rendered(page: Path, view: str, profile: Path) -> lxml.html.HtmlElement:
    """The DOM of `page#view` once its scripts have run."""
    assert CHROMIUM is not None
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={profile}",
        "--virtual-time-budget=10000", "--dump-dom", f"{page.as_uri()}#{view}",
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout
    return lxml.html.fromstring(out)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The fixture report: the news corpus, the farm pages and the hostile notices; and its document ids."""
    out = tmp_path_factory.mktemp("browser") / "report.html"
    inputs = [FIXTURES / "news", FIXTURES / "farm", FIXTURES / "report"]
    result = CliRunner().invoke(app, ["scan", *map(str, inputs), "--format", "html", "-o", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    block = re.search(r'id="dedup-data">(.*?)</script>', out.read_text(encoding="utf-8"), re.S)
    assert block is not None
    return out, json.loads(block.group(1))["ids"]


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    return tmp_path / "profile"


def text_of(node: lxml.html.HtmlElement) -> str:
    return str(node.text_content())


def find(node: lxml.html.HtmlElement, tag: str, cls: str = "", **attributes: str) -> list[lxml.html.HtmlElement]:
    """The `tag` elements under `node` of class `cls`, with these attribute values (XPath: no CSS selector
    library needed)."""
    tests = [f"contains(concat(' ', normalize-space(@class), ' '), ' {c} ')" for c in cls.split()]
    tests += [f"@{name.replace('_', '-')}='{value}'" for name, value in attributes.items()]
    where = f"[{' and '.join(tests)}]" if tests else ""
    found: list[lxml.html.HtmlElement] = node.xpath(f".//{tag}{where}")
    return found


def test_the_first_view_shows_the_summary_charts_and_every_cluster(
    report: tuple[Path, list[str]], profile: Path
) -> None:
    page, _ = report
    dom = rendered(page, "", profile)
    # (Not `data-first-render`, bench/report_bench.py's mark: it is set on the first animation frame, which
    # headless chromium's --dump-dom does not always run before it dumps; about one run in three here.)
    assert dom.body.get("data-view") == "main"
    summary = text_of(dom.get_element_by_id("summary"))
    assert "documents" in summary and "duplicate pairs" in summary
    assert len(dom.xpath("//*[local-name()='svg']")) == 2
    clusters = find(dom, "div", "cluster")
    assert len(clusters) == 16
    sizes = [int(text_of(find(c, "span", "size")[0]).split()[0]) for c in clusters]
    assert sizes == sorted(sizes, reverse=True)


def test_a_pair_shows_both_texts_side_by_side_with_the_shared_passages_highlighted(
    report: tuple[Path, list[str]], profile: Path
) -> None:
    page, ids = report
    source = ids.index("originals/landlord-fraud-verdict.txt")
    excerpt = ids.index("copies/farraday-verdict-excerpt.txt")
    dom = rendered(page, f"pair={source},{excerpt}", profile)
    assert dom.body.get("data-view") == "pair"
    left, right = find(dom, "div", "side")
    assert left.get("data-side") == "a" and right.get("data-side") == "b"
    passages = [text_of(m) for m in find(left, "mark", "passage")]
    assert passages and passages == [text_of(m) for m in find(right, "mark", "passage")]
    assert "Jury Finds Kellsport Landlord" in passages[0]
    measures = text_of(find(dom, "table", "thresholds")[0])
    assert "excerpt_containment" in measures and "met" in measures


def test_a_document_shows_its_farm_score_and_every_reason_with_the_evidence_highlighted(
    report: tuple[Path, list[str]], profile: Path
) -> None:
    page, ids = report
    dom = rendered(page, f"doc={ids.index('templated-farm.txt')}", profile)
    assert dom.body.get("data-view") == "document"
    assert "(flagged)" in text_of(find(dom, "p", "doc-facts")[0])
    reasons = [row.get("data-reason") for row in dom.xpath("//table[@class='reason-table']//tr[@data-reason]")]
    assert "machine_prose" in reasons and "stock_phrases" in reasons
    marks = find(dom, "mark", "evidence")
    assert any(m.get("data-reason") == "stock_phrases" for m in marks)
    assert any("In conclusion" in text_of(m) for m in marks)


def test_a_hostile_document_shows_its_markup_as_text_and_runs_nothing(
    report: tuple[Path, list[str]], profile: Path
) -> None:
    page, ids = report
    hostile, copy = ids.index("hostile-notice.txt"), ids.index("hostile-notice-copy.txt")
    for view in (f"pair={hostile},{copy}", f"doc={hostile}", ""):
        dom = rendered(page, view, profile)
        assert dom.find(".//title").text == TITLE  # the notice's script would have renamed the page
        app_node = dom.get_element_by_id("app")
        assert not app_node.xpath(".//script | .//img | .//iframe | .//*[@onerror]")
        if view:
            shown = text_of(app_node)
            assert '<script>document.title = "pwned"; window.dedupPwned = true;</script>' in shown
            assert '<img src="x" onerror=' in shown


def test_the_score_page_shows_the_article_with_its_evidence_and_reasons(tmp_path: Path, profile: Path) -> None:
    result = CliRunner().invoke(app, ["score", str(FIXTURES / "farm" / "templated-farm.txt"), "--format", "html"])
    assert result.exit_code == 0, result.output
    page = tmp_path / "score.html"
    page.write_text(result.stdout, encoding="utf-8")
    dom = rendered(page, "", profile)
    assert dom.body.get("data-view") == "document"
    assert find(dom, "mark", "evidence")
    assert find(dom, "tr", data_reason="machine_prose")


def test_a_search_finds_documents_by_their_text_and_keeps_only_their_clusters(
    report: tuple[Path, list[str]], profile: Path
) -> None:
    page, _ = report
    dom = rendered(page, "search=berth four", profile)
    found = [text_of(a) for a in dom.xpath("//div[@class='doc-item']/a")]
    assert sorted(found) == ["hostile-notice-copy.txt", "hostile-notice.txt"]
    (cluster,) = find(dom, "div", "cluster")
    assert text_of(find(cluster, "span", "rep")[0]) == "hostile-notice.txt"


def test_a_cluster_opens_into_its_members_with_their_measures_and_a_link_to_compare_each(
    report: tuple[Path, list[str]], profile: Path
) -> None:
    page, ids = report
    hostile, copy = ids.index("hostile-notice.txt"), ids.index("hostile-notice-copy.txt")
    block = re.search(r'id="dedup-data">(.*?)</script>', page.read_text(encoding="utf-8"), re.S)
    assert block is not None
    (cluster_id,) = [c[0] for c in json.loads(block.group(1))["clusters"] if hostile in c[2]]
    dom = rendered(page, f"cluster={cluster_id}", profile)
    assert dom.body.get("data-view") == "cluster"
    rows = dom.xpath("//table[@class='member-table']//tr[td]")
    assert [text_of(row.xpath("td")[1]) for row in rows] == ["hostile-notice.txt", "hostile-notice-copy.txt"]
    assert text_of(rows[0].xpath("td")[0]).startswith("representative")
    assert re.fullmatch(r"\d\.\d\d / \d\.\d\d / \d\.\d\d", text_of(rows[1].xpath("td")[3]))
    assert [a.get("href") for a in find(dom, "a", "compare")] == [f"#pair={hostile},{copy}"]


def test_a_rewrite_pair_shows_its_aligned_sentences_on_both_sides(
    report: tuple[Path, list[str]], profile: Path
) -> None:
    page, ids = report
    source = ids.index("originals/glacier-moss-study.txt")
    spin = ids.index("rewrites/glacier-moss-study-spin1.txt")
    dom = rendered(page, f"pair={spin},{source}", profile)
    assert dom.body.get("data-view") == "pair"
    assert "aligned sentence pairs cover" in text_of(find(dom, "p", "alignment")[0])
    left, right = find(dom, "div", "side")
    ours, theirs = find(left, "mark", "aligned"), find(right, "mark", "aligned")
    assert len(ours) == len(theirs) >= 5
    assert "Ostrand" in text_of(ours[0]) and "Ostrand" in text_of(theirs[0])
    # Each mark names the sentence it corresponds to on the other side.
    assert [m.get("data-p") for m in ours] == [m.get("data-p") for m in theirs]

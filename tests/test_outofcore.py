"""The scan out of core (`--memory`, `--work-dir`): the in-memory scan's report byte for byte, its features in a
work folder that is removed at the end, bad files still skipped and counted."""

from __future__ import annotations

import io
import random
import re
import shutil
import typing
from pathlib import Path

import pytest
from typer.testing import CliRunner

import dedup
from dedup import Document, ScanResult
from dedup.cli import app
from dedup.config import OutOfCoreConfig, parse_size
from dedup.errors import ConfigError, InputError
from dedup.io import sources
from dedup.io.report import scan as report_scan
from dedup.io.report.scan import render, write_stream
from dedup.model import ResultStream
from dedup.scan import outofcore, parallel

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
_TIMINGS = re.compile(rb'"(?:seconds|total_seconds)":\s*(?:\{[^}]*\}|[-0-9.eE+]+)')


def report(result: ScanResult, fmt: str = "json") -> bytes:
    """The report with its timings blanked: everything else must match byte for byte."""
    return _TIMINGS.sub(b"", render(result, fmt))


def streamed(paths: Path | list[Document], fmt: str, **settings: object) -> tuple[bytes, ScanResult]:
    """The report an out-of-core scan writes as it reads its result from the work folder (timings blanked), and
    the result the scan returns beside it."""
    out = io.BytesIO()

    def write(stream: ResultStream) -> None:
        write_stream(stream, fmt, out)

    result = dedup.scan(paths, memory="1MB", report=write, **settings)
    return _TIMINGS.sub(b"", out.getvalue()), result


@pytest.fixture
def tiny_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """A budget of a few records: every band, anchor set, pair range and key set is split on disk into many
    partitions, features are processed a row or two at a time and read a few rows per map."""
    monkeypatch.setattr(outofcore, "MIN_PART", 64)
    monkeypatch.setattr(outofcore, "PARTS_PER_BUDGET", 1 << 20)
    monkeypatch.setattr(outofcore, "GATHER_ROWS", 3)


@pytest.mark.parametrize("score", [True, False])
def test_out_of_core_gives_the_in_memory_report_on_the_fixtures(tiny_budget: None, score: bool) -> None:
    in_memory = dedup.scan(FIXTURES, score=score)
    out_of_core = dedup.scan(FIXTURES, score=score, memory="1MB")
    assert out_of_core.clusters and out_of_core.pairs
    assert report(out_of_core) == report(in_memory)


def test_out_of_core_with_the_default_budget_gives_the_same_report(news_dir: Path) -> None:
    assert report(dedup.scan(news_dir, memory="4GB", workers=1)) == report(dedup.scan(news_dir, workers=1))


def test_out_of_core_over_worker_processes_gives_the_same_report(
    news_dir: Path, tiny_budget: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(sources, "RUN_BYTES", 4096)  # many small runs, each with its farm features
    assert parallel.worth_a_pool(sources.Corpus([news_dir]).jobs(), 2)
    assert report(dedup.scan(news_dir, workers=2, memory="1MB")) == report(dedup.scan(news_dir, workers=2))


def test_documents_with_dates_and_repeated_ids_give_the_same_report(news_dir: Path, tiny_budget: None) -> None:
    # Dates name a cluster's source; a repeated id is renamed: both must survive the trip through files.
    texts = sorted(p for p in news_dir.rglob("*.txt"))
    documents = [
        Document("same-id" if i % 5 == 0 else p.stem, p.read_text(), published=None if i % 3 else 86_400.0 * i)
        for i, p in enumerate(texts)
    ]
    in_memory = dedup.scan(documents)
    out_of_core = dedup.scan(documents, memory="1MB")
    assert in_memory.summary is not None and in_memory.summary.renamed_ids > 0
    assert report(out_of_core) == report(in_memory)


def test_bad_files_are_skipped_and_counted_out_of_core(tmp_path: Path, tiny_budget: None) -> None:
    for i in range(6):
        (tmp_path / f"story-{i}.txt").write_text(f"story {i} " + "the harbour council met again today " * 20)
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01" * 50)
    (tmp_path / "feed.jsonl").write_text('{"id": "a", "text": "a short wire story about tides"}\n{oops\n')
    result = dedup.scan(tmp_path, memory="1MB")
    assert {s.path for s in result.skipped} == {"blob.txt", "feed.jsonl:2"}
    assert result.summary is not None and result.summary.skipped == 2
    assert len(result.documents) == 7
    assert report(result) == report(dedup.scan(tmp_path))


def test_features_go_to_a_work_folder_that_is_removed_at_the_end(news_dir: Path, tmp_path: Path) -> None:
    seen: list[str] = []

    def progress(_: int) -> None:
        seen.extend(p.name for p in tmp_path.rglob("*"))

    dedup.scan(news_dir, work_dir=tmp_path, progress=progress)
    assert any(name.startswith("dedup-scan-") for name in seen)
    assert any(name.startswith("signatures") for name in seen)
    assert list(tmp_path.iterdir()) == []


def test_an_empty_corpus_out_of_core_is_an_empty_report(tmp_path: Path) -> None:
    assert report(dedup.scan(tmp_path, memory="64MB")) == report(dedup.scan(tmp_path))


def test_sizes_parse_and_bad_budgets_say_which_value() -> None:
    assert parse_size("512MB") == 512 << 20
    assert parse_size("4 GiB") == 4 << 30
    assert parse_size("2048") == 2048
    with pytest.raises(ConfigError, match="'lots'"):
        parse_size("lots")
    with pytest.raises(ConfigError, match="too little"):
        OutOfCoreConfig(memory=1000)
    with pytest.raises(InputError, match="not a folder"):
        dedup.scan(FIXTURES / "news", work_dir=FIXTURES / "news.labels.json")
    with pytest.raises(ConfigError, match="engine='local'"):
        dedup.scan(FIXTURES / "news", engine="spark", memory="1GB")


def test_cli_memory_gives_the_same_json_and_rejects_a_bad_size(news_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    plain, budgeted = tmp_path / "plain.json", tmp_path / "budgeted.json"
    work = tmp_path / "work"
    work.mkdir()
    args = ["scan", str(news_dir), "--format", "json", "--quiet", "--workers", "1", "--output"]
    assert runner.invoke(app, [*args, str(plain)]).exit_code == 0
    done = runner.invoke(app, [*args, str(budgeted), "--memory", "256MB", "--work-dir", str(work)])
    assert done.exit_code == 0, done.output
    assert _TIMINGS.sub(b"", budgeted.read_bytes()) == _TIMINGS.sub(b"", plain.read_bytes())
    bad = runner.invoke(app, ["scan", str(news_dir), "--memory", "4 gigs"])
    assert bad.exit_code == 2
    assert "4 gigs" in bad.output and "512MB or 4GB" in bad.output


def test_a_copy_of_the_fixtures_in_a_work_folder_path_with_spaces(tmp_path: Path) -> None:
    # The work folder is any folder the user names, spaces and all.
    work = tmp_path / "my work folder"
    work.mkdir()
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "farm", corpus)
    assert report(dedup.scan(corpus, work_dir=work)) == report(dedup.scan(corpus))


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
@pytest.mark.parametrize("score", [True, False])
def test_a_report_written_as_the_scan_reads_it_is_the_rendered_report(
    news_dir: Path, tiny_budget: None, monkeypatch: pytest.MonkeyPatch, fmt: str, score: bool
) -> None:
    # The compact JSON of large corpora is the one written part by part: a corpus of a few documents is indented.
    monkeypatch.setattr(report_scan, "PRETTY_LIMIT", 0)
    written, returned = streamed(news_dir, fmt, score=score)
    assert written == report(dedup.scan(news_dir, score=score), fmt)
    # What was written is not also held: the result returned keeps the skipped inputs and the summary only.
    assert returned.summary is not None and returned.summary.documents > 0
    assert not returned.documents and not returned.pairs and not returned.clusters


def test_a_small_corpus_streamed_is_indented_as_rendered(news_dir: Path, tiny_budget: None) -> None:
    written, _ = streamed(news_dir, "json")
    assert written == report(dedup.scan(news_dir))
    assert written.startswith(b'{\n  "documents"')


def test_a_hub_of_copies_gives_the_same_report_with_a_budget_of_a_few_pairs(tiny_budget: None) -> None:
    # One text copied 120 times is a bucket of 120 in every band and thousands of pairs: it is read in runs of
    # buckets, confirmed, sorted and clustered a few pairs at a time.
    rng = random.Random(7)
    words = [f"w{rng.randrange(5000)}" for _ in range(3000)]
    base = " ".join(words[:300])
    copies = [Document(f"copy-{i:03d}", base if i % 2 else base + f" and note {i}") for i in range(120)]
    others = [Document(f"other-{i:02d}", " ".join(rng.sample(words, 200))) for i in range(40)]
    documents = copies + others
    in_memory = dedup.scan(documents, score=False)
    assert in_memory.summary is not None and in_memory.summary.pairs["duplicate"] > 1000
    assert report(dedup.scan(documents, score=False, memory="1MB")) == report(in_memory)
    written, _ = streamed(documents, "jsonl", score=False)
    assert written == report(in_memory, "jsonl")


def test_with_little_disk_left_the_pairs_are_confirmed_a_group_at_a_time_with_the_same_report(
    tiny_budget: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every pair's second row is written beside it before it is confirmed; when those files would take more
    # than half the disk left, a group of them is written and confirmed at a time, the ranges of second rows
    # read again for each group.
    reads = []
    rows = outofcore.RaggedColumn.rows

    def counted(self: outofcore.RaggedColumn, lo: int, hi: int) -> object:
        reads.append((lo, hi))
        return rows(self, lo, hi)

    monkeypatch.setattr(outofcore.RaggedColumn, "rows", counted)
    in_memory = report(dedup.scan(FIXTURES, score=False))
    assert report(dedup.scan(FIXTURES, score=False, memory="1MB")) == in_memory
    plenty = len(reads)
    reads.clear()
    monkeypatch.setattr(outofcore, "_disk_left", lambda folder: 2048)
    assert report(dedup.scan(FIXTURES, score=False, memory="1MB")) == in_memory
    assert len(reads) > plenty


def test_a_report_handed_over_needs_a_scan_out_of_core(news_dir: Path) -> None:
    with pytest.raises(ConfigError, match="memory= or work_dir="):
        dedup.scan(news_dir, report=print)


def test_a_streamed_report_stopped_while_written_leaves_nothing_under_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dedup.cli import common

    def half_written(stream: object, fmt: str, out: typing.IO[bytes]) -> None:
        out.write(b'{"documents":[')
        raise KeyboardInterrupt  # as SIGTERM's SystemExit or Ctrl-C would, in the middle of the report

    monkeypatch.setattr(common, "write_stream", half_written)
    output = tmp_path / "report.json"
    with pytest.raises(KeyboardInterrupt):
        common.write_streamed(None, "json", output)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []

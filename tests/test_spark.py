"""`dedup scan --engine spark`: the same scan on Apache Spark gives exactly the local engine's results.

The Spark tests share one `local[2]` session and skip, saying why, only where PySpark or Java is missing.
Each full scan costs Spark tens of seconds, so each scan here checks several things.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import dedup
from dedup.cli import app
from dedup.config import scan_config
from dedup.model import Document, ScanResult, Skipped
from dedup.report import render
from dedup.sources import read_data, read_file

ROOT = Path(__file__).resolve().parent.parent
NEWS = ROOT / "fixtures" / "news"
CONFIG = replace(scan_config(), score=False)  # a Spark scan does not score yet: compare like with like


@pytest.fixture(scope="module")
def spark() -> Any:
    """One local[2] session for every Spark test, stopped at the end."""
    pytest.importorskip("pyspark", reason='PySpark is not installed (pip install "dedup[spark]")')
    pytest.importorskip("pyarrow", reason='pyarrow is not installed (pip install "dedup[spark]")')
    if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java runtime for Spark (apt-get install default-jre-headless)")
    from dedup.spark import spark_session

    session, _ = spark_session(master="local[2]")
    session.sparkContext.setLogLevel("ERROR")
    # Test corpora are tiny: two shuffle partitions and no broadcast jobs make the fewest, shortest jobs.
    session.conf.set("spark.sql.shuffle.partitions", "2")
    session.conf.set("spark.sql.autoBroadcastJoinThreshold", "-1")
    yield session
    session.stop()


def local_scan(inputs: Any) -> ScanResult:
    return dedup.scan(inputs, score=False, workers=1)


def assert_same_scan(spark_result: ScanResult, local: ScanResult) -> None:
    """Same documents (ids, words, clusters), pairs (ids, relation, measures), clusters and skipped rows, and
    the same counts in the summary."""
    ours, theirs = spark_result.to_dict(), local.to_dict()
    for key in ("documents", "pairs", "clusters", "skipped"):
        assert ours[key] == theirs[key], key
    for key in ("documents", "skipped", "renamed_ids", "words", "candidates", "pairs", "clusters"):
        assert ours["summary"][key] == theirs["summary"][key], key
    assert ours["summary"]["clustered_documents"] == theirs["summary"]["clustered_documents"]


# --- without Spark: the bytes-in reader Spark uses is the local reader -------------------------------------------

ARTICLE = "The council voted on Tuesday to rebuild the harbor bridge at a cost of 84 million dollars. "


def bad_and_good_files() -> dict[str, bytes]:
    """A folder's worth of inputs, good and bad, by relative path."""
    records = [
        {"id": "r1", "text": ARTICLE * 4},
        {"id": "r1", "text": ARTICLE * 3 + "A second record claims the same id."},
        {"id": "r3"},
        {"url": "https://example.com/a", "text": "Another story entirely, about the weather in the hills. " * 6},
    ]
    jsonl = b"\n".join(json.dumps(r).encode() for r in records) + b"\n{not json\n"
    return {
        "story.txt": (ARTICLE * 4).encode(),
        "copy/story-copy.md": ("Breaking: " + ARTICLE * 4).encode(),
        "feed.jsonl": jsonl,
        "feed2.jsonl.gz": gzip.compress(jsonl),
        "legacy.txt": ("Caf\xe9 owners say the na\xefve plan " * 10).encode("cp1252"),
        "broken.txt.gz": b"\x1f\x8b\x08 not really gzip",
        "binary.txt": b"\x00\x01\x02 binary",
        "empty.md": b"   \n",
        "picture.png": b"\x89PNG",
        ".hidden.txt": b"hidden text",
    }


def write_files(folder: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


@pytest.mark.parametrize("rel", sorted(r for r in bad_and_good_files() if not r.startswith(".")))
def test_read_data_gives_for_a_files_bytes_what_read_file_gives_for_the_file(tmp_path: Path, rel: str) -> None:
    path = write_files(tmp_path, bad_and_good_files()) / rel
    assert read_data(path.read_bytes(), path.name, rel) == read_file(path, rel)


def test_read_data_skips_bytes_over_the_limit_as_read_file_does(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * 100)
    assert read_data(b"x" * 100, "big.txt", "big.txt", max_bytes=99) == read_file(path, "big.txt", 99)


# --- on Spark ---------------------------------------------------------------------------------------------------


def test_the_components_of_a_long_chain_and_a_pair_point_at_their_smallest_node(spark: Any) -> None:
    from dedup.spark.components import components

    edges = [(i, i + 1) for i in range(20)] + [(41, 40), (50, 51), (51, 40)]
    found = components(spark.createDataFrame(edges, "u long, v long")).collect()
    roots = {r.node: r.root for r in found}
    assert roots == {**{i: 0 for i in range(21)}, 40: 40, 41: 40, 50: 40, 51: 40}


def test_dedup_scan_engine_spark_writes_the_local_jsonl_report_line_for_line(spark: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["scan", str(NEWS), "--engine", "spark", "--format", "jsonl", "--output", str(out)]
    )
    assert "scores are not computed on Spark" in result.output
    assert result.exit_code == 0, result.output
    lines = "".join(p.read_text(encoding="utf-8") for p in sorted(out.glob("part-*"))).splitlines()
    expected = render(local_scan(NEWS), "jsonl").splitlines()
    assert lines[:-1] == expected[:-1]  # every document, pair, cluster and skipped row, in the same order
    ours, theirs = json.loads(lines[-1]), json.loads(expected[-1])
    assert ours["type"] == "summary" and ours["engine"] == "spark"
    for key in ("documents", "skipped", "renamed_ids", "words", "candidates", "pairs", "clusters"):
        assert ours[key] == theirs[key], key
    assert (
        CliRunner().invoke(app, ["scan", str(NEWS), "--engine", "spark", "-f", "jsonl", "-o", str(out)]).exit_code == 1
    )


def test_bad_files_on_spark_are_skipped_counted_and_listed_as_locally_and_parquet_is_read(
    spark: Any, tmp_path: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = bad_and_good_files()
    here = write_files(tmp_path / "here", files)
    # The same folder again, read through Hadoop's file system (as s3a:// would be): its ids clash with the
    # first folder's and get the local `#2` suffixes.
    there = write_files(tmp_path / "there", files)
    table = tmp_path / "table.parquet"
    rows = [
        {"id": "p1", "text": ARTICLE * 3 + "From a table."},
        {"id": None, "text": "A row without an id is named by its file and row number, like a JSONL line. " * 3},
        {"id": "p3", "text": None},
    ]
    pq.write_table(pa.Table.from_pylist(rows), table)
    in_memory = Document("mem", "Breaking: " + ARTICLE * 4)

    result = dedup.scan([here, f"file://{there}", table, in_memory], engine="spark", spark=spark, score=False)

    as_documents = [Document("p1", rows[0]["text"]), Document(f"{table}:2", rows[1]["text"])]
    local = local_scan([here, there, *as_documents, in_memory])
    no_text = Skipped(f"{table}:3", "record: no text field (expected one of text, content, body)")
    expected = replace(local, skipped=tuple(sorted([*local.skipped, no_text], key=lambda s: s.path)))
    expected.summary["skipped"] += 1
    assert_same_scan(result, expected)
    assert result.summary["renamed_ids"] > 0 and result.pairs and result.clusters
    assert {"binary.txt", "broken.txt.gz", "empty.md", "feed.jsonl:3", "feed.jsonl:5"} <= {
        s.path for s in result.skipped
    }


def test_a_spark_scan_collects_to_the_local_result_and_writes_parquet(spark: Any, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from dedup.spark import scan_spark

    documents = [
        Document("b", ARTICLE * 5),
        Document("a", ARTICLE * 5),
        Document("a", "An unrelated note on gardening, the tomatoes and the long dry summer. " * 4),
    ]
    scan = scan_spark(documents, CONFIG, spark=spark)
    result = scan.collect()
    assert_same_scan(result, local_scan(documents))
    assert [c.members for c in result.clusters] == [("a", "b")]

    out = tmp_path / "out.parquet"
    scan.write_parquet(str(out))
    assert pq.read_table(out / "documents").to_pylist() == [
        {"id": "b", "words": result.documents[0].words, "cluster": result.clusters[0].id},
        {"id": "a", "words": result.documents[1].words, "cluster": result.clusters[0].id},
        {"id": "a#2", "words": result.documents[2].words, "cluster": None},
    ]
    assert pq.read_table(out / "clusters").to_pylist() == [
        {"id": result.clusters[0].id, "relation": "duplicate", "members": ["a", "b"], "representative": "a"}
    ]
    pair = result.pairs[0]
    assert pq.read_table(out / "pairs").to_pylist() == [
        {"a": "a", "b": "b", "relation": "duplicate", "jaccard": 1.0, "containment": 1.0, "cosine": pair.cosine}
    ]
    assert json.loads((next((out / "summary").glob("part-*"))).read_text(encoding="utf-8"))["documents"] == 3


def test_engine_names_and_spark_options_are_checked() -> None:
    with pytest.raises(dedup.ConfigError, match="engine='dask'"):
        dedup.scan([Document("a", "text")], engine="dask")
    with pytest.raises(dedup.ConfigError, match="engine='spark' only"):
        dedup.scan([Document("a", "text")], master="local[2]")
    runner = CliRunner()
    assert runner.invoke(app, ["scan", str(NEWS), "--output", "out.parquet"]).exit_code == 2
    assert runner.invoke(app, ["scan", str(NEWS), "--master", "local[2]"]).exit_code == 2

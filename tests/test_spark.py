"""`dedup scan --engine spark`: the same scan on Apache Spark gives exactly the local engine's results, content-farm
scores included.

The Spark tests share one `local[2]` session and skip, saying why, only where PySpark or Java is missing.
Each full scan costs Spark seconds, so each scan here checks several things.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import shutil
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import dedup
from dedup.cli import app
from dedup.config import scan_config
from dedup.farm.corpus import KeyCounts, corpus_contexts, count_pairs, key_pairs, sentence_groups
from dedup.farm.scan import farm_features
from dedup.io.report.scan import render
from dedup.io.sources import read_data, read_file
from dedup.model import Document, ScanResult, Skipped

ROOT = Path(__file__).resolve().parent.parent
NEWS = ROOT / "fixtures" / "news"
FARM = ROOT / "fixtures" / "farm"
CONFIG = scan_config()


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


def local_scan(inputs: Any, score: bool = True) -> ScanResult:
    return dedup.scan(inputs, score=score, workers=1)


def assert_same_scan(spark_result: ScanResult, local: ScanResult) -> None:
    """Same documents (ids, words, clusters, farm scores to the last bit, verdicts and reasons), pairs (ids,
    relation, measures), clusters and skipped rows, and the same counts in the summary."""
    assert spark_result.documents == local.documents
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


def test_a_parquet_date_or_timestamp_column_gives_each_row_its_date(tmp_path: Path) -> None:
    import datetime as dt

    pa = pytest.importorskip("pyarrow", reason='pyarrow is not installed (pip install "dedup[spark]")')

    from dedup.spark.inputs import parquet_records

    # A split of a Parquet table as Spark's reader gives it: the record columns and each row's index.
    midnight = dt.datetime(2024, 3, 4, tzinfo=dt.UTC)
    batch = pa.record_batch(
        {
            "row": pa.array([0, 1], pa.int64()),
            "id": ["a", "b"],
            "text": [ARTICLE, ARTICLE],
            "published": pa.array([midnight, None], pa.timestamp("us", tz="UTC")),
            "date": pa.array([None, dt.date(2024, 3, 4)], pa.date32()),
        }
    )
    out = pa.Table.from_batches(parquet_records([batch], file=3, rel="rows.parquet", max_bytes=1_000, config=CONFIG))
    assert out.column("id").to_pylist() == ["a", "b"]
    assert out.column("position").to_pylist() == [3 << 32, (3 << 32) + 1]
    assert out.column("published").to_pylist() == [midnight.timestamp(), midnight.timestamp()]


def test_farm_features_cross_spark_columns_bit_for_bit() -> None:
    pa = pytest.importorskip("pyarrow", reason='pyarrow is not installed (pip install "dedup[spark]")')

    from dedup.spark.farm import farm_arrays, farm_arrow_fields, features_of

    documents = [Document(p.name, p.read_text(encoding="utf-8")) for p in sorted(FARM.glob("*.txt"))]
    features = farm_features([*documents, Document("empty", "")])
    batch = pa.RecordBatch.from_arrays(farm_arrays(features), schema=pa.schema(farm_arrow_fields()))
    again = features_of(pa.Table.from_batches([batch.slice(0, 2), batch.slice(2)]))
    for field in dataclasses.fields(features):
        ours, theirs = getattr(again, field.name), getattr(features, field.name)
        if isinstance(theirs, np.ndarray):
            assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs, equal_nan=True), field.name
        else:
            for a, b in zip(ours, theirs, strict=True):
                for f in dataclasses.fields(b):
                    assert np.array_equal(getattr(a, f.name), getattr(b, f.name)), f.name


def test_corpus_contexts_from_counts_made_elsewhere_are_the_in_memory_ones() -> None:
    # As a Spark job does it: the (key, document) and (key, group) pairs counted apart, only the line keys that
    # reach the threshold kept, and each document's context made from those counts and its own keys alone.
    texts = [(FARM / name).read_text(encoding="utf-8") for name in ("templated-farm.txt", "wire-story.txt")]
    texts += [texts[0].replace("Port Veyra", town) for town in ("Calder Sound", "Ostry", "Brill")]
    prints = farm_features([Document(str(i), t) for i, t in enumerate(texts)]).prints
    clusters = [("rewrite", 0, 2), None, ("rewrite", 0, 2), None, ("duplicate", 1, 1)]
    (line_keys, line_docs), (sentence_keys, sentence_docs) = key_pairs(prints)
    lines = count_pairs(line_keys, line_docs)
    sentences = count_pairs(sentence_keys, (sentence_groups(clusters) * 7 + 3)[sentence_docs])  # any group ids
    shared = KeyCounts(len(prints), lines[0][lines[1] >= 3], lines[1][lines[1] >= 3], *sentences)
    expected = corpus_contexts(prints, clusters)
    assert any(c.template_lines for c in expected) and any(c.shared_sentences for c in expected)
    for d in range(len(prints)):
        assert corpus_contexts(prints[d : d + 1], clusters[d : d + 1], counts=shared) == expected[d : d + 1]


def test_spark_hash_is_the_hash_spark_partitions_a_long_column_by() -> None:
    from dedup.spark.arrow import routes, spark_hash

    assert [spark_hash(v) for v in (0, 42, -1, 2**40 + 7)] == [-1670924195, 1316951768, -939490007, 995648648]
    assert sorted(spark_hash(int(r)) % 5 for r in routes(5)) == [0, 1, 2, 3, 4]


def pages_sharing_passages() -> list[Document]:
    """Eight pages of random prose (about 80 anchors each) and an empty one. Pages 0 to 6 carry one passage of
    site furniture (three anchors in buckets of seven); 2 and 5 a quote of 40 words; 1 and 4 a line of 24
    (window + k - 1 words: one anchor in common); page 7 is page 3's words shuffled around a line of 24 page 3
    has too (the same terms, one anchor in common)."""
    rng = np.random.default_rng(22)
    syllables = ("ka", "lo", "mi", "nu", "pe", "ro", "su", "ti")
    vocabulary = [a + b + c for a in syllables for b in syllables for c in ("ban", "del", "fur", "jat")]

    def prose(n: int) -> list[str]:
        return [str(w) for w in rng.choice(vocabulary, n)]

    furniture, quote, line, kept = prose(40), prose(40), prose(24), prose(24)
    extra = {1: line, 2: quote, 3: kept, 4: line, 5: quote}
    pages = [[*prose(400), *furniture, *prose(100), *extra.get(i, []), *prose(300)] for i in range(7)]
    rest = [str(w) for w in rng.permutation([*pages[3][:540], *pages[3][564:]])]
    pages.append([*rest[:100], *kept, *rest[100:]])
    return [*(Document(f"page-{9 - i}", " ".join(words)) for i, words in enumerate(pages)), Document("empty", "")]


def test_every_member_of_a_cluster_gets_one_row_marked_source_where_it_may_be_the_source() -> None:
    pa = pytest.importorskip("pyarrow", reason='pyarrow is not installed (pip install "dedup[spark]")')
    from dedup.spark.stages import memberships

    ranks = pa.list_(pa.int64())
    clusters = pa.RecordBatch.from_arrays(
        [
            pa.array([7, 3, 0]),
            pa.array(["c0", "c1", "c2"]),
            pa.array(["rewrite", "duplicate", "rewrite"]),
            pa.array([[7], [5], [0, 2]], ranks),
            pa.array([[7, 8], [3, 5, 9], [0, 1, 2]], ranks),
        ],
        names=["root", "id", "relation", "unspun", "ranks"],
    )
    # A batch may be a slice of a larger one (its lists' offsets not starting at 0).
    rows = pa.Table.from_batches(list(memberships([clusters.slice(1)]))).to_pylist()
    assert rows == [
        {"rank": 3, "cluster": "c1", "relation": "duplicate", "size": 3, "root": 3},
        {"rank": 5, "cluster": "c1", "relation": "source", "size": 3, "root": 3},
        {"rank": 9, "cluster": "c1", "relation": "duplicate", "size": 3, "root": 3},
        {"rank": 0, "cluster": "c2", "relation": "source", "size": 3, "root": 0},
        {"rank": 1, "cluster": "c2", "relation": "rewrite", "size": 3, "root": 0},
        {"rank": 2, "cluster": "c2", "relation": "source", "size": 3, "root": 0},
    ]


def test_passage_buckets_split_over_partitions_give_the_local_passage_pairs() -> None:
    # The pair stages as Spark runs them, each partition apart: band_rows; bucket on each partition of keys;
    # screen on each partition of pairs with the documents they name (their signatures and anchors as a count,
    # as engine._confirm sends them), then evaluate on each partition of the pairs kept with their features.
    # Against the local scan, every candidate confirmed (cosine thresholds 0), so the pairs are the candidates:
    # the passage rule summed over partitions of buckets, oversized buckets' hubs, inactive documents left out,
    # and a pair another path finds kept whatever its shared anchors.
    pa = pytest.importorskip("pyarrow", reason='pyarrow is not installed (pip install "dedup[spark]")')
    import pyarrow.compute as pc

    from dedup.config import ConfirmConfig
    from dedup.engine.lsh import bands
    from dedup.engine.passages import SHARED, anchor_pairs
    from dedup.engine.tfidf import N_FEATURES
    from dedup.scan.pipeline import rewrite_max_df, scan_documents
    from dedup.spark import stages
    from dedup.spark.arrow import gather, routes, unpack
    from dedup.spark.inputs import _features_batch
    from dedup.text.ragged import Ragged

    config = replace(
        CONFIG,
        duplicate_lsh=replace(CONFIG.duplicate_lsh, max_bucket=3),
        confirm=ConfirmConfig(duplicate_cosine=0.0, rewrite_cosine=0.0),
        workers=1,
    )
    documents = pages_sharing_passages()
    n = len(documents)
    ids = [d.id for d in documents]
    rank = np.argsort(np.array(ids, dtype=object), kind="stable").argsort(kind="stable")
    source = _features_batch(list(range(n)), documents, config)
    df = np.zeros(N_FEATURES, dtype=np.int64)
    for part in stages.frequencies([source]):
        df[part.column("col").to_numpy()] += part.column("df").to_numpy()
    derived = stages.derive([source], df=df, documents=n, max_df=rewrite_max_df(n), config=config)
    table = pa.Table.from_batches(derived).append_column("rank", pa.array(rank)).append_column("id", pa.array(ids))
    anchors, ptr = unpack(table.column("anchors"), np.uint32)
    num_perm = config.signature.num_perm
    duplicate_bands = bands(config.duplicate_lsh.threshold, num_perm, config.duplicate_lsh.false_negative_weight)
    rewrite_bands = bands(config.rewrite_lsh.threshold, num_perm, config.rewrite_lsh.false_negative_weight)
    parts = routes(3)
    keys = pa.Table.from_batches(
        stages.band_rows(
            table.to_batches(),
            config=config,
            duplicate_bands=duplicate_bands,
            rewrite_bands=rewrite_bands,
            routes=parts,
        )
    )
    found = []
    for route in parts.tolist():
        found += stages.bucket(
            keys.filter(pc.equal(keys.column("route"), route)).to_batches(),
            duplicate_bands=duplicate_bands,
            rewrite_bands=rewrite_bands,
            config=config,
            documents=n,
            routes=parts,
        )
    pairs = pa.Table.from_batches(found)
    copies = table.append_column("anchor_count", pa.array(np.diff(ptr))).drop_columns(["position", "words", "anchors"])

    def with_documents(rows: Any, route: int, columns: list[str]) -> Any:
        # A partition's pair rows and the documents they name, with these columns, as engine._with_documents.
        mine = rows.filter(pc.equal(rows.column("route"), route))
        wanted = np.unique(np.concatenate(list(gather(mine, {"a": np.int64, "b": np.int64}).values())))
        sent = copies.select(columns).filter(pc.is_in(copies.column("rank"), pa.array(wanted)))
        sent = sent.append_column("route", pa.array(np.full(sent.num_rows, route)))
        return pa.concat_tables([mine, sent], promote_options="default").to_batches()

    small = [c.split()[0] for c in stages.SCREEN_DOCUMENT_SCHEMA.split(", ")]
    screened = pa.Table.from_batches(
        [b for route in parts.tolist() for b in stages.screen(with_documents(pairs, route, small), config, n, parts)]
    )
    ours, tally = set(), np.zeros(len(stages.TALLY), dtype=np.int64)
    for counts in screened.column("tally").to_pylist():
        if counts is not None:
            tally[:-1] += counts
    full = [c.split()[0] for c in stages.EVALUATE_DOCUMENT_SCHEMA.split(", ")]
    for route in parts.tolist():
        for out in pa.Table.from_batches(stages.evaluate(with_documents(screened, route, full), config)).to_pylist():
            if out["tally"] is None:
                ours.add((out["a_id"], out["b_id"], out["relation"]))
            else:
                tally[-1] += out["tally"][0]
    local = scan_documents(documents, config)
    assert dict(zip(stages.TALLY, tally.tolist(), strict=True)) == local.summary.candidates
    assert ours == {(p.a, p.b, p.relation) for p in local.pairs}

    # What the corpus is there for, by id (ranks are positions in sorted ids; a pair's first id is the smaller).
    assert SHARED == 2  # anchors a pair needs (both pages have more)
    named = sorted(ids)
    rows = gather(pairs, {"a": np.int64, "b": np.int64, "paths": np.uint8, "shared": np.int32})
    # Each passage pair's rows (one per partition of buckets that found it): how many buckets there gave it.
    counts: dict[tuple[str, str], list[int]] = {}
    for a, b, paths, count in zip(*rows.values(), strict=True):
        if paths & (1 << stages.PASSAGE_PATH):
            counts.setdefault((named[a], named[b]), []).append(int(count))
    words = table.column("words").to_numpy()
    local_passage = anchor_pairs(Ragged(anchors, ptr), 3, words > 0, rank).tolist()
    kept = {(min(ids[i], ids[j]), max(ids[i], ids[j])) for i, j in local_passage}
    reported = {(a, b) for a, b, _ in ours}

    def partitions(x: str, y: str) -> list[int]:
        # The partition of buckets of each anchor pages x and y share.
        mine, theirs = (set(anchors[ptr[i] : ptr[i + 1]].tolist()) for i in (ids.index(x), ids.index(y)))
        return sorted(key % len(parts) for key in mine & theirs)

    # page-5 and page-8 (the line) share four anchors, but three are the furniture's, whose buckets pair only
    # their hub: one bucket gives them, and the rule drops them.
    assert partitions("page-5", "page-8") == [0, 1, 1, 2] and counts[("page-5", "page-8")] == [1]
    assert ("page-5", "page-8") not in kept | reported
    # page-4 and page-7 (the quote): two buckets in two partitions give them, neither enough alone.
    assert counts[("page-4", "page-7")] == [1, 1] and ("page-4", "page-7") in kept & reported
    # The furniture's buckets pair their hub, page-3, with each other page (and no two others): page-9's three
    # anchors in common are in three partitions, each giving the pair once.
    assert partitions("page-3", "page-9") == [0, 1, 2] and counts[("page-3", "page-9")] == [1, 1, 1]
    assert {("page-3", f"page-{k}") for k in range(4, 10)} <= kept & reported and ("page-4", "page-5") not in counts
    # page-2 is page-6's words shuffled around a line they share: one anchor, no passage pair, but the rewrite
    # path's (the same terms), so reported whatever its shared anchors.
    assert counts[("page-2", "page-6")] == [1] and ("page-2", "page-6") in reported - kept


# --- on Spark ---------------------------------------------------------------------------------------------------


def test_the_components_of_a_long_chain_and_a_pair_point_at_their_smallest_node(spark: Any) -> None:
    from dedup.spark.components import components

    edges = [(i, i + 1) for i in range(20)] + [(41, 40), (50, 51), (51, 40)]
    # Spread over partitions so that no component lies in one: the rounds, not the contraction, join them.
    frame = spark.createDataFrame(edges, "u long, v long").repartition(3)
    found = components(frame, 3).collect()
    roots = {r.node: r.root for r in found}
    assert roots == {**{i: 0 for i in range(21)}, 40: 40, 41: 40, 50: 40, 51: 40}
    assert len(found) == len(roots)


def test_dedup_scan_engine_spark_writes_the_local_jsonl_report_line_for_line(spark: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["scan", str(NEWS), str(FARM), "--engine", "spark", "--format", "jsonl", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    lines = "".join(p.read_text(encoding="utf-8") for p in sorted(out.glob("part-*"))).splitlines()
    expected = render(local_scan([NEWS, FARM]), "jsonl").decode("utf-8").splitlines()
    # Every document (with its farm score, verdict and reasons), pair, cluster and skipped row, in order.
    assert lines[:-1] == expected[:-1]
    assert any(json.loads(line).get("flagged") for line in lines[:-1])
    ours, theirs = json.loads(lines[-1]), json.loads(expected[-1])
    assert ours["type"] == "summary" and ours["engine"] == "spark"
    for key in ("documents", "skipped", "renamed_ids", "words", "candidates", "pairs", "clusters"):
        assert ours[key] == theirs[key], key
    assert (
        CliRunner().invoke(app, ["scan", str(NEWS), "--engine", "spark", "-f", "jsonl", "-o", str(out)]).exit_code == 1
    )


def test_an_output_uri_with_an_authority_is_written_where_it_names(spark: Any, tmp_path: Path) -> None:
    # `file://localhost/x` names the file /x of this machine, as `file:///x` does (RFC 8089).
    out = tmp_path / "report"
    uri = f"file://localhost{out}"
    result = CliRunner().invoke(app, ["scan", str(NEWS), "--engine", "spark", "--no-score", "-f", "jsonl", "-o", uri])
    assert result.exit_code == 0, result.output
    lines = "".join(p.read_text(encoding="utf-8") for p in sorted(out.glob("part-*"))).splitlines()
    assert lines[:-1] == render(local_scan(NEWS, score=False), "jsonl").decode("utf-8").splitlines()[:-1]
    tables = tmp_path / "report.parquet"
    result = CliRunner().invoke(app, ["scan", str(NEWS), "--engine", "spark", "-o", f"file://localhost{tables}"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tables.iterdir()) == ["clusters", "documents", "pairs", "skipped", "summary"]
    # A report is never written over what is there, whichever name the URI gives the folder.
    result = CliRunner().invoke(app, ["scan", str(NEWS), "--engine", "spark", "-f", "jsonl", "-o", f"file://{out}"])
    assert result.exit_code == 1


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

    result = dedup.scan([here, f"file://{there}", table, in_memory], engine="spark", spark=spark)

    as_documents = [Document("p1", rows[0]["text"]), Document(f"{table}:2", rows[1]["text"])]
    local = local_scan([here, there, *as_documents, in_memory])
    no_text = Skipped(f"{table}:3", "record: no text field (expected one of text, content, body)")
    assert local.summary is not None
    skipped = tuple(sorted([*local.skipped, no_text], key=lambda s: s.path))
    expected = replace(local, skipped=skipped, summary=replace(local.summary, skipped=local.summary.skipped + 1))
    assert_same_scan(result, expected)
    assert result.summary.renamed_ids > 0 and result.pairs and result.clusters
    assert {"binary.txt", "broken.txt.gz", "empty.md", "feed.jsonl:3", "feed.jsonl:5"} <= {
        s.path for s in result.skipped
    }


def test_a_spark_scan_collects_to_the_local_result_and_writes_parquet(spark: Any, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from dedup.spark import scan_spark

    page = (FARM / "farm-page.html").read_text(encoding="utf-8")
    documents = [
        # Copies of one text: their dates tell the source, and travel with each document on Spark.
        Document("b", ARTICLE * 5, published=1_709_600_000.0),
        Document("a", ARTICLE * 5, published=1_709_510_400.0),
        Document("a", "An unrelated note on gardening, the tomatoes and the long dry summer. " * 4),
        Document("page", page[:200], chrome=page[200:]),  # the page furniture counts in its farm score
    ]
    scan = scan_spark(documents, CONFIG, spark=spark)
    result = scan.collect()
    assert_same_scan(result, local_scan(documents))
    assert [c.members for c in result.clusters] == [("a", "b")]
    unscored = scan_spark(documents, replace(CONFIG, score=False), spark=spark).collect()
    assert_same_scan(unscored, local_scan(documents, score=False))

    out = tmp_path / "out.parquet"
    scan.write_parquet(str(out))
    rows = pq.read_table(out / "documents").to_pylist()
    assert [(r["id"], r["words"], r["cluster"], r["farm_score"], r["flagged"]) for r in rows] == [
        (d.id, d.words, d.cluster, d.farm_score, d.flagged) for d in result.documents
    ]
    assert [tuple(x.values()) for x in rows[3]["reasons"]] == list(result.documents[3].reasons)
    assert pq.read_table(out / "clusters").to_pylist() == [
        {
            "id": result.clusters[0].id,
            "relation": "duplicate",
            "members": ["a", "b"],
            "representative": "a",
            "source": "a",
        }
    ]
    pair = result.pairs[0]
    assert pq.read_table(out / "pairs").to_pylist() == [
        {"a": "a", "b": "b", "relation": "duplicate", "jaccard": 1.0, "containment": 1.0, "cosine": pair.cosine}
    ]
    assert json.loads((next((out / "summary").glob("part-*"))).read_text(encoding="utf-8"))["documents"] == 4
    scan.unpersist()


def test_a_hot_bucket_gives_the_local_pairs_spread_over_every_partition(spark: Any) -> None:
    # 300 copies of one page among 300 distinct pages: every band of the copies is one bucket far over
    # max_bucket, whose pairs (its member of lowest rank with each other one, as locally) would all meet in
    # that member's partition if routed by their first document.
    from dedup.spark import scan_spark

    rng = np.random.default_rng(24)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))

    def words() -> str:
        return " ".join("".join(rng.choice(letters, 6)) for _ in range(120))

    distinct = [Document(f"page-{i:03d}", words()) for i in range(300)]
    boilerplate = words()
    copies = [Document(f"copy-{i:03d}", boilerplate) for i in range(300)]
    documents = [d for pair in zip(distinct, copies, strict=True) for d in pair]
    assert CONFIG.duplicate_lsh.max_bucket < len(copies)

    scan = scan_spark(documents, CONFIG, spark=spark)
    result = scan.collect()
    assert_same_scan(result, local_scan(documents))
    assert [len(c.members) for c in result.clusters] == [300]
    assert {p.a for p in result.pairs} == {"copy-000"} and len(result.pairs) == 299
    rows = scan.pair_rows
    assert len(rows) == spark.sparkContext.defaultParallelism and sum(rows) >= 299
    assert max(rows) <= 1.5 * min(rows), rows
    scan.unpersist()


def test_a_parquet_table_over_max_bytes_is_read_whole_by_row_group_the_limit_per_record(
    spark: Any, tmp_path: Path
) -> None:
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    from dedup.spark import scan_spark

    rng = np.random.default_rng(2)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))

    def words(n: int) -> str:
        return " ".join("".join(rng.choice(letters, 6)) for _ in range(n))

    texts = [words(80) for _ in range(40)]
    texts += [texts[i] for i in range(0, 40, 4)]  # copies, some named by their row number only
    texts.insert(7, words(1_000))  # one record over the limit
    rows = [{"id": None if i % 9 == 0 else f"row-{i:02d}", "text": t} for i, t in enumerate(texts)]
    table = tmp_path / "table.parquet"
    pq.write_table(pa.Table.from_pylist(rows), table, row_group_size=8)
    max_bytes = 4_096
    assert pq.ParquetFile(table).metadata.num_row_groups > 4 and table.stat().st_size > 4 * max_bytes
    # Splits of about one row group each: the file is read by several tasks.
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(table.stat().st_size // 4))
    try:
        assert spark.read.parquet(str(table)).rdd.getNumPartitions() > 1
        broken = tmp_path / "broken.parquet"
        broken.write_bytes(b"PAR1" + b"\0" * 64)
        # Nanosecond timestamps, which Spark's reader refuses: the file is read whole by pyarrow instead.
        nanos = tmp_path / "nanos.parquet"
        noon = dt.datetime(2024, 3, 4, 12, tzinfo=dt.UTC)
        late = {"id": "late", "text": words(80), "published": pa.array([noon], pa.timestamp("ns", tz="UTC"))}
        pq.write_table(pa.table({k: v if k == "published" else [v] for k, v in late.items()}), nanos)
        inputs = [str(table), str(broken), str(nanos)]
        result = scan_spark(inputs, CONFIG, spark=spark, max_bytes=max_bytes).collect()
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")

    documents = [Document(r["id"] or f"{table}:{i + 1}", r["text"]) for i, r in enumerate(rows) if i != 7]
    documents.append(Document("late", str(late["text"]), published=noon.timestamp()))
    local = local_scan(documents)
    size = len(texts[7].encode())
    too_large = Skipped(
        f"{table}:8", f"record too large: {size:,} bytes (limit {max_bytes:,}; raise it with --max-bytes)"
    )
    assert local.summary is not None
    unreadable = next(s for s in result.skipped if s.path == str(broken))
    assert unreadable.reason.startswith("failed to read: ")
    expected = replace(local, skipped=(unreadable, too_large), summary=replace(local.summary, skipped=2))
    assert_same_scan(result, expected)
    assert len(result.documents) == len(rows) and result.pairs


def test_a_checkpoint_dir_takes_the_scans_checkpoints_and_gives_the_same_report(spark: Any, tmp_path: Path) -> None:
    documents = [
        Document("b", ARTICLE * 5),
        Document("a", ARTICLE * 5),
        Document("c", "Breaking: " + ARTICLE * 5),
        Document("d", "An unrelated note on gardening, the tomatoes and the long dry summer. " * 4),
    ]
    folder = tmp_path / "checkpoints"
    result = dedup.scan(documents, engine="spark", spark=spark, checkpoint_dir=str(folder))
    assert_same_scan(result, local_scan(documents))
    assert [c.members for c in result.clusters] == [("a", "b", "c")]
    # Spark writes each checkpointed table under a folder of its own in the checkpoint folder.
    assert list(folder.glob("*/rdd-*/part-*"))


def test_engine_names_and_spark_options_are_checked() -> None:
    with pytest.raises(dedup.ConfigError, match="engine='dask'"):
        dedup.scan([Document("a", "text")], engine="dask")
    with pytest.raises(dedup.ConfigError, match="engine='spark' only"):
        dedup.scan([Document("a", "text")], master="local[2]")
    runner = CliRunner()
    assert runner.invoke(app, ["scan", str(NEWS), "--output", "out.parquet"]).exit_code == 2
    assert runner.invoke(app, ["scan", str(NEWS), "--master", "local[2]"]).exit_code == 2
    assert runner.invoke(app, ["scan", str(NEWS), "--checkpoint-dir", "checkpoints"]).exit_code == 2
    with pytest.raises(dedup.ConfigError, match="engine='spark' only"):
        dedup.scan([Document("a", "text")], checkpoint_dir="checkpoints")


def test_a_local_session_runs_its_python_workers_on_this_interpreter(spark: Any) -> None:
    # Not the first python3 on PATH, which lacks dedup when a virtual environment's dedup runs unactivated.
    assert spark.sparkContext.getConf().get("spark.pyspark.python") == sys.executable

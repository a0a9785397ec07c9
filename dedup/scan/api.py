"""The library's front door: `scan` over paths or documents."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable
from itertools import chain

from dedup.config import OutOfCoreConfig, parse_size, scan_config
from dedup.errors import ConfigError, InputError
from dedup.io.sources import DEFAULT_MAX_BYTES, Corpus, read_stdin
from dedup.jit import cores
from dedup.model import Document, ResultStream, ScanResult, Skipped
from dedup.scan.outofcore import scan_out_of_core
from dedup.scan.parallel import FilePool, worth_a_pool
from dedup.scan.pipeline import Batch, featurize_batches, scan_batches

__all__ = ["scan"]

# A binary stream (standard input's `sys.stdin.buffer`) is read as `dedup scan -` reads it.
Input = str | os.PathLike[str] | Document | io.IOBase


def scan(
    inputs: Input | Iterable[Input],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Callable[[int], None] | None = None,
    engine: str = "local",
    spark: object = None,
    master: str | None = None,
    checkpoint_dir: str | None = None,
    memory: int | str | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    report: Callable[[ResultStream], object] | None = None,
    **settings: object,
) -> ScanResult:
    """Find duplicate and rewrite clusters among files, folders (recursively), `Document` objects and binary
    streams (such as `sys.stdin.buffer`: JSON lines when it starts with a JSON object, else one document).

    `settings` are the scan options by name (`k`, `num_perm`, `seed`, `duplicate_threshold`,
    `rewrite_threshold`, `duplicate_containment`, `excerpt_containment`, `duplicate_jaccard`, `duplicate_cosine`,
    `rewrite_cosine`, `rewrite_top_terms`, `representative`, `workers`, `batch_size`, and `score=False` to skip
    the content-farm scores); unknown names raise `ConfigError`. Files larger than `max_bytes` are skipped;
    `progress` is called with the number of documents read since its last call. Unreadable inputs are listed
    in `ScanResult.skipped`; a missing path raises `InputError`.

    `engine="spark"` runs the same scan on Apache Spark (`pip install "dedup[spark]"`), in the session `spark`
    or one started on `master` (e.g. `"local[*]"`), and returns the same result; paths may then be any URI
    Spark reads (s3a://, hdfs://). `checkpoint_dir`, a folder every executor reaches, makes its checkpoints
    reliable (a lost executor no longer fails the scan). For results too large to collect, use
    `dedup.spark.scan_spark`.

    `memory` (bytes, or a size such as `"4GB"`) or `work_dir` runs the local scan out of core: features are
    written to files in a temporary folder under `work_dir` (the system's by default) and about `memory` bytes
    of them (4GB by default) are in memory at a time; the result is the same (`dedup.scan.outofcore`). With
    `report` as well, the result is handed to it part by part (`ResultStream`: what `write_stream` of
    `dedup.io.report.scan` writes) and the result returned keeps only the skipped inputs and the summary, so that
    no part of it grows with the corpus in memory.
    """
    config = scan_config(**settings)
    out_of_core = None
    if memory is not None or work_dir is not None:
        if engine != "local":
            raise ConfigError("memory= and work_dir= apply to engine='local' only -- Spark spills on its own.")
        budget = parse_size(memory) if isinstance(memory, str) else memory
        folder = None if work_dir is None else os.fspath(work_dir)
        out_of_core = OutOfCoreConfig(work_dir=folder) if budget is None else OutOfCoreConfig(budget, folder)
        if folder is not None and not os.path.isdir(folder):
            raise InputError(f"work_dir={folder!r} is not a folder -- create it, or leave it out for a temporary one")
    if report is not None and out_of_core is None:
        raise ConfigError("report= needs a scan out of core -- pass memory= or work_dir= too.")
    if engine not in ("local", "spark"):
        raise ConfigError(f"engine={engine!r} -- use 'local' or 'spark'.")
    if engine == "local" and (spark is not None or master is not None or checkpoint_dir is not None):
        raise ConfigError(
            "spark=, master= and checkpoint_dir= apply to engine='spark' only -- pass engine='spark' too."
        )
    items = [inputs] if isinstance(inputs, str | os.PathLike | Document | io.IOBase) else list(inputs)
    paths = [i for i in items if isinstance(i, str | os.PathLike)]
    documents = [i for i in items if isinstance(i, Document)]
    streams = [i for i in items if isinstance(i, io.IOBase)]
    if len(paths) + len(documents) + len(streams) != len(items):
        odd = next(i for i in items if not isinstance(i, str | os.PathLike | Document | io.IOBase))
        raise InputError(f"cannot scan a {type(odd).__name__}: pass paths, dedup.Document objects or a stream")
    piped: list[Skipped] = []
    for piped_input in streams:
        read, skips = read_stdin(piped_input, max_bytes)  # type: ignore[arg-type]
        documents += read
        piped += skips
    # A text passed where a path goes would otherwise read as a missing file.
    text = next((p for p in paths if isinstance(p, str) and len(p.split()) > 2 and not os.path.lexists(p)), None)
    if text is not None:
        raise InputError(f"no such file or folder: {text[:60]!r} -- to scan texts, pass dedup.Document(id, text)")
    for doc in documents:
        if not isinstance(doc.id, str) or not isinstance(doc.text, str):
            raise InputError(
                f"document {doc.id!r}: id and text must be str, not {type(doc.id).__name__} and "
                f"{type(doc.text).__name__}"
            )
    if engine == "spark":
        from dedup.spark import scan_spark

        on_spark = [*paths, *documents]
        result = scan_spark(
            on_spark,
            config,
            spark=spark,
            master=master,
            max_bytes=max_bytes,
            progress=progress,
            checkpoint_dir=checkpoint_dir,
        )
        return result.collect().with_skipped(piped)
    workers = config.workers or cores()

    def corpus_stages(batches: Iterable[Batch], skipped: list[Skipped]) -> ScanResult:
        if out_of_core is None:
            return scan_batches(batches, config, skipped=skipped, progress=progress)
        return scan_out_of_core(batches, config, out_of_core, skipped=skipped, progress=progress, report=report)

    if not paths:
        return corpus_stages(featurize_batches(documents, config), piped)
    corpus = Corpus(paths, max_bytes=max_bytes)
    jobs = corpus.jobs()
    corpus.skipped += piped
    if worth_a_pool(jobs, workers):
        # Out of core, each batch's farm features come with it, to be written away: workers keeping every
        # document's text until the end would hold the corpus in memory.
        with FilePool(jobs, config, workers, corpus.skipped, farm_later=out_of_core is None) as pool:
            return corpus_stages(chain(pool.batches(), featurize_batches(documents, config)), corpus.skipped)
    stream = chain(corpus.read(jobs), documents)
    return corpus_stages(featurize_batches(stream, config), corpus.skipped)

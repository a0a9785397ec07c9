"""The library's front door: `scan` over paths or documents."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable
from itertools import chain

from dedup.config import scan_config
from dedup.errors import ConfigError, InputError
from dedup.io.sources import DEFAULT_MAX_BYTES, Corpus, read_stdin
from dedup.jit import cores
from dedup.model import Document, ScanResult, Skipped
from dedup.scan.parallel import FilePool, worth_a_pool
from dedup.scan.pipeline import featurize_batches, scan_batches, scan_documents

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
    """
    config = scan_config(**settings)
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
    if not paths:
        return scan_documents(documents, config, skipped=piped, progress=progress)
    corpus = Corpus(paths, max_bytes=max_bytes)
    jobs = corpus.jobs()
    corpus.skipped += piped
    if worth_a_pool(jobs, workers):
        with FilePool(jobs, config, workers, corpus.skipped) as pool:
            batches = chain(pool.batches(), featurize_batches(documents, config))
            return scan_batches(batches, config, skipped=corpus.skipped, progress=progress)
    stream = chain(corpus.read(jobs), documents)
    return scan_documents(stream, config, skipped=corpus.skipped, progress=progress)

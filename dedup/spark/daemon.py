"""PySpark's Python worker daemon with dedup's stages loaded before it forks workers.

Each Python worker would otherwise import numpy, scipy, scikit-learn and numba and load the compiled kernels
for itself (seconds each, on every executor, for every worker Spark starts); and the objects it inherits are
frozen out of the garbage collector, which a reused worker runs after every task. Set it with
`spark.python.daemon.module=dedup.spark.daemon` (sessions dedup starts do); the workers are forked from a
process holding all of it. The kernels use no threading layer, so forking after loading them is safe.
"""

from __future__ import annotations

__all__ = ["warm_up"]


def warm_up() -> None:
    """Import and run every per-partition stage once, on a tiny input, so their kernels are loaded."""
    import numpy as np

    from dedup.config import ScanConfig
    from dedup.engine.confirm import overlaps
    from dedup.engine.lsh import agreement, band_keys
    from dedup.engine.signature import minhash
    from dedup.engine.tfidf import document_frequencies, pair_cosines, tfidf, top_terms
    from dedup.model import Document
    from dedup.scan.pipeline import featurize_batch
    from dedup.spark import inputs, stages  # noqa: F401 -- what the workers run

    config = ScanConfig(workers=1, score=False)
    batch = featurize_batch([Document("a", "warm up the kernels"), Document("b", "warm up the stages")], config)
    features = batch.features
    df = document_frequencies(features.terms)
    matrix = tfidf(features.terms, df, len(batch))
    top = top_terms(matrix, config.confirm.rewrite_top_terms, 100, df=df)
    pairs = np.array([[0, 1]], dtype=np.int64)
    agreement(minhash(top, config.signature), pairs)
    band_keys(features.signatures, 2, 2)
    pair_cosines(matrix, pairs)
    overlaps(features.shingles, pairs)


if __name__ == "__main__":
    import contextlib
    import gc
    import sys
    import traceback

    from pyspark import daemon

    # The daemon tells Spark its port on stdout: nothing else may be written there.
    with contextlib.redirect_stdout(sys.stderr):
        try:
            warm_up()
        except Exception:  # noqa: BLE001 -- a failed warm-up only costs time: the workers load what they need
            traceback.print_exc()
    # A reused worker runs gc.collect() after every task, over every object it inherited (the kernels, NumPy,
    # SciPy: about 0.1 s each time); frozen, those are never scanned again, and stay shared with the daemon.
    gc.collect()
    gc.freeze()
    daemon.manager()

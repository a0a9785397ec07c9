"""dedup: find near-duplicates, rewrites and content-farm pieces in a corpus.

>>> import dedup
>>> result = dedup.scan([dedup.Document("a", "the same words " * 20), dedup.Document("b", "the same words " * 20)])
>>> [(c.relation, c.members) for c in result.clusters]
[('duplicate', ('a', 'b'))]
"""

from __future__ import annotations

import logging

from dedup._version import __version__
from dedup.config import (
    ClusterConfig,
    ConfirmConfig,
    IndexConfig,
    LSHConfig,
    ScanConfig,
    ShingleConfig,
    SignatureConfig,
    scan_config,
)
from dedup.engine.align import align_rewrites
from dedup.errors import ConfigError, DedupError, IndexStoreError, InputError
from dedup.farm import CorpusContext, Evidence, FarmScore, Reason, score
from dedup.index import Index, IndexStats, Match, Verdict
from dedup.model import AlignedSpan, Alignment, Cluster, Document, DocumentResult, Pair, Pairs, ScanResult, Skipped
from dedup.scan.api import scan

__all__ = [
    "AlignedSpan",
    "Alignment",
    "Cluster",
    "ClusterConfig",
    "ConfigError",
    "ConfirmConfig",
    "CorpusContext",
    "DedupError",
    "Document",
    "DocumentResult",
    "Evidence",
    "FarmScore",
    "Index",
    "IndexConfig",
    "IndexStats",
    "IndexStoreError",
    "InputError",
    "LSHConfig",
    "Match",
    "Pair",
    "Pairs",
    "Reason",
    "ScanConfig",
    "ScanResult",
    "ShingleConfig",
    "SignatureConfig",
    "Skipped",
    "Verdict",
    "__version__",
    "align_rewrites",
    "scan",
    "scan_config",
    "score",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())

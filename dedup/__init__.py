"""dedup: find near-duplicates, rewrites and content-farm pieces in a corpus.

>>> import dedup
>>> result = dedup.scan([dedup.Document("a", "the same words " * 20), dedup.Document("b", "the same words " * 20)])
>>> [(c.relation, c.members) for c in result.clusters]
[('duplicate', ('a', 'b'))]
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

from dedup.api import scan
from dedup.config import (
    ClusterConfig,
    ConfirmConfig,
    LSHConfig,
    ScanConfig,
    ShingleConfig,
    SignatureConfig,
    scan_config,
)
from dedup.errors import ConfigError, DedupError, InputError
from dedup.model import Cluster, Document, DocumentResult, Pair, ScanResult, Skipped

__all__ = [
    "Cluster",
    "ClusterConfig",
    "ConfigError",
    "ConfirmConfig",
    "DedupError",
    "Document",
    "DocumentResult",
    "InputError",
    "LSHConfig",
    "Pair",
    "ScanConfig",
    "ScanResult",
    "ShingleConfig",
    "SignatureConfig",
    "Skipped",
    "__version__",
    "scan",
    "scan_config",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())

"""The crawler index: a persistent, shared near-duplicate index that many crawler processes check and add to.

`index` is the public class, `features` computes what a document stores, `state` holds the in-memory
buckets, `storage` keeps them in SQLite or Redis behind one small protocol.
"""

from dedup.index.index import HotBucket, Index, IndexStats, Match, Verdict

__all__ = ["HotBucket", "Index", "IndexStats", "Match", "Verdict"]

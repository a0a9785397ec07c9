"""The exceptions dedup raises: one root, a few children that say whose fault it is."""

from __future__ import annotations

__all__ = ["ConfigError", "DedupError", "IndexStoreError", "InputError"]


class DedupError(Exception):
    """Root of every error dedup raises on purpose; the CLI maps it to a non-zero exit."""


class ConfigError(DedupError, ValueError):
    """A setting is out of range or inconsistent with another; the message names the fix."""


class InputError(DedupError):
    """An input cannot be used at all (missing path, nothing readable); per-file faults are skipped instead."""


class IndexStoreError(DedupError):
    """A crawler index cannot be used: not a dedup index, damaged, unreachable, or locked for too long."""

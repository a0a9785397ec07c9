"""Compiled kernels: whether a fresh install's first call will compile (what the CLI warns about)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from dedup._jit import cached


def test_a_kernel_is_cached_once_its_first_call_has_compiled_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "fresh_kernels.py"
    source.write_text(
        "from dedup._jit import kernel\n\n@kernel\ndef double(x):\n    return 2 * x\n",
        encoding="utf-8",
    )
    spec = importlib.util.spec_from_file_location("fresh_kernels", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "fresh_kernels", module)
    spec.loader.exec_module(module)
    assert not cached(module.double)  # never compiled: its first call will compile it
    assert module.double(21) == 42
    assert cached(module.double)


def test_what_is_not_a_cached_kernel_does_not_count_as_cold() -> None:
    assert cached(len, object())

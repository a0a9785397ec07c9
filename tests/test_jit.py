"""Compiled kernels: whether a fresh install's first call will compile (what the CLI warns about)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from dedup.jit import cached


def fresh_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> ModuleType:
    """`source` imported as a module of its own, its kernels never compiled or cached before."""
    path = tmp_path / "fresh_kernels.py"
    path.write_text("import numpy as np\nfrom dedup.jit import kernel\n\n" + source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("fresh_kernels", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "fresh_kernels", module)
    spec.loader.exec_module(module)
    return module


def test_a_kernel_is_cached_once_its_first_call_has_compiled_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = fresh_module(tmp_path, monkeypatch, "@kernel\ndef double(x):\n    return 2 * x\n")
    assert not cached(module.double)  # never compiled: its first call will compile it
    assert module.double(21) == 42
    assert cached(module.double)


def test_a_kernel_called_with_different_constants_is_compiled_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Numba would type each constant as its own literal type and compile `put` once per value.
    source = """
@kernel
def put(a, k):
    a[k] += 1

@kernel
def caller(a):
    put(a, 0)
    put(a, 1)
    n = 0
    for i in range(3):
        put(a, n)
        n += 1
"""
    module = fresh_module(tmp_path, monkeypatch, source)
    counts = np.zeros(4, dtype=np.int64)
    module.caller(counts)
    assert counts.tolist() == [2, 2, 1, 0]
    assert len(module.put.signatures) == 1


def test_what_is_not_a_cached_kernel_does_not_count_as_cold() -> None:
    assert cached(len, object())

"""Compiled kernels: one compiled version each, and whether a run will compile them (what the CLI warns about)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import numba
import numpy as np
import pytest

import dedup
import dedup.jit
from dedup.jit import compile_aside, compiled_before, ready, remember_compiled


def fresh_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> ModuleType:
    """`source` imported as a module of its own, its kernels never compiled before."""
    path = tmp_path / "fresh_kernels.py"
    path.write_text("import numpy as np\nfrom dedup.jit import kernel\n\n" + source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("fresh_kernels", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "fresh_kernels", module)
    spec.loader.exec_module(module)
    return module


def test_a_kernel_called_with_int64_counters_is_compiled_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = """
@kernel
def put(a, k):
    a[k] += 1
    return k + 1

@kernel
def caller(a):
    n = np.int64(0)
    for i in range(3):
        n = put(a, n)
    put(a, np.int64(1))
"""
    module = fresh_module(tmp_path, monkeypatch, source)
    counts = np.zeros(4, dtype=np.int64)
    module.caller(counts)
    assert counts.tolist() == [1, 2, 1, 0]
    assert len(module.put.signatures) == 1


def test_a_marker_says_whether_kernels_ran_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path / "cache"))
    module = fresh_module(tmp_path, monkeypatch, "@kernel\ndef double(x):\n    return 2 * x\n")
    assert not compiled_before(module.double)
    assert module.double(21) == 42
    remember_compiled(module.double)
    assert compiled_before(module.double)
    source = Path(module.double.py_func.__code__.co_filename)
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # an edited kernel compiles again
    assert not compiled_before(module.double)


def test_an_unwritable_marker_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("", encoding="utf-8")
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(blocked / "cache"))  # a folder under a file
    module = fresh_module(tmp_path, monkeypatch, "@kernel\ndef one():\n    return 1\n")
    remember_compiled(module.one)
    assert not compiled_before(module.one)


def test_a_kernel_compiled_aside_is_loaded_here_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(dedup.jit, "_busy", lambda: False)  # a core to spare, whatever else this machine runs
    module = fresh_module(tmp_path, monkeypatch, "@kernel\ndef triple(x):\n    return 3 * x\n")
    started = compile_aside(lambda: module.triple(1), module.triple)
    ready(module.triple)
    assert module.triple(2) == 6
    if started:  # a second process compiled it (two cores, no other thread here): this one did not
        assert sum(module.triple.stats.cache_hits.values()) == 1
        assert not module.triple.stats.cache_misses


def test_a_kernel_whose_compilation_aside_failed_is_compiled_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path / "cache"))
    module = fresh_module(tmp_path, monkeypatch, "@kernel\ndef triple(x):\n    return 3 * x\n")

    monkeypatch.setattr(dedup.jit, "_busy", lambda: False)

    def broken() -> None:
        raise RuntimeError("no room to compile")

    compile_aside(broken, module.triple)
    ready(module.triple)
    assert module.triple(2) == 6
    assert "Traceback" not in capfd.readouterr().err  # the user's terminal shows nothing of it


def test_nothing_is_compiled_aside_on_a_busy_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dedup.jit, "_busy", lambda: True)
    module = fresh_module(tmp_path, monkeypatch, "@kernel\ndef triple(x):\n    return 3 * x\n")
    assert not compile_aside(lambda: module.triple(1), module.triple)
    assert module.triple(2) == 6


def _kernels(*packages: str) -> dict[str, object]:
    found: dict[str, object] = {}
    for name, module in list(sys.modules.items()):
        if name.startswith(packages):
            for value in vars(module).values():
                if hasattr(value, "signatures") and hasattr(value, "py_func"):  # a compiled kernel
                    found[f"{value.py_func.__module__}.{value.py_func.__qualname__}"] = value
    return found


def test_each_kernel_is_compiled_once(tmp_path: Path) -> None:
    # Compiling a kernel is most of a fresh install's first run: each is compiled for one set of argument types,
    # and the scan, the scorer and the index share the farm's.
    docs = [
        dedup.Document(str(i), f"The council met on Monday {i} and voted 4.5% more for roads. " * 20) for i in range(6)
    ]
    dedup.scan(docs, workers=1)
    with dedup.Index.open(str(tmp_path / "a.index")) as index:
        index.add("a", docs[0].text)
        index.check(docs[1].text)
    dedup.score("# A title\n\nIn conclusion, it is worth noting that the council met. " * 5)
    several = {
        name: k.signatures  # type: ignore[attr-defined]
        for name, k in _kernels("dedup.text", "dedup.engine", "dedup.index", "dedup.farm", "dedup.jit").items()
        if len(k.signatures) > 1  # type: ignore[attr-defined]
    }
    assert several == {}

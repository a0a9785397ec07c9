"""The `dedup` command: options in, the library called, results printed, errors as exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import typer
from typer.testing import CliRunner

import dedup
from dedup.cli import app

runner = CliRunner()


def test_scan_prints_a_table_of_clusters(news_dir: Path) -> None:
    result = runner.invoke(app, ["scan", str(news_dir), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "duplicate" in result.output and "rewrite" in result.output and "37 documents" in result.output


def test_json_output_follows_the_contract(news_dir: Path) -> None:
    result = runner.invoke(app, ["scan", str(news_dir), "--format", "json", "--quiet"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert set(data) == {"documents", "pairs", "clusters", "skipped", "summary"}
    assert all(set(d) == {"id", "words", "cluster"} for d in data["documents"])
    assert all(set(p) == {"a", "b", "relation", "jaccard", "containment", "cosine"} for p in data["pairs"])
    assert all(set(c) == {"id", "relation", "members", "representative"} for c in data["clusters"])
    assert {"seconds", "settings", "documents"} <= set(data["summary"])
    assert data["summary"]["settings"]["shingle"]["k"] == 5


def test_jsonl_and_csv_outputs_parse(news_dir: Path) -> None:
    jsonl = runner.invoke(app, ["scan", str(news_dir), "-f", "jsonl", "-q"])
    records = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert {r["type"] for r in records} == {"document", "pair", "cluster", "summary"}
    table = list(csv.DictReader(io.StringIO(runner.invoke(app, ["scan", str(news_dir), "-f", "csv", "-q"]).stdout)))
    assert len(table) == 37 and set(table[0]) == {"id", "words", "cluster", "relation", "representative"}


def test_output_file_receives_the_report(news_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    result = runner.invoke(app, ["scan", str(news_dir), "-f", "json", "-o", str(target), "-q"])
    assert result.exit_code == 0 and result.stdout == ""
    assert len(json.loads(target.read_text())["documents"]) == 37


def test_missing_path_is_a_clear_error_without_traceback() -> None:
    result = runner.invoke(app, ["scan", "/no/such/folder"])
    assert result.exit_code == 1
    assert "error: no such file or folder: /no/such/folder" in result.output
    assert "Traceback" not in result.output


def test_a_folder_of_only_bad_files_reports_them_and_fails(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01" * 50)
    result = runner.invoke(app, ["scan", str(tmp_path), "-f", "json", "-q"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert {s["path"] for s in report["skipped"]} == {"empty.txt", "blob.txt"}


def test_invalid_option_value_is_a_usage_error() -> None:
    result = runner.invoke(app, ["scan", ".", "--shingle-size", "0"])
    assert result.exit_code == 2


def test_every_command_has_help() -> None:
    group = typer.main.get_command(app)
    commands = group.commands  # type: ignore[attr-defined]
    assert commands
    for name in commands:
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, name
        assert "Example" in result.output, name


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and dedup.__version__ in result.output

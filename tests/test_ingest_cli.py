"""`python ingest.py` as a user runs it: a subprocess on a tmp store, in a tmp directory without .env."""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import INGEST, LECTURES, corpus_rows, dump_store, free_port, run_cli, write_jsonl

ALL_BAD = [{"video_id": "nope", "text": "x", "start_second": 0, "end_second": 1}]


def ingest(store: Path, cwd: Path, *args: str | Path, **env: str):
    return run_cli([INGEST, *args], store, cwd, env=env)


def stats(store: Path, cwd: Path) -> dict[str, Any]:
    ran = run_cli(["-m", "rag", "stats", "--json"], store, cwd)
    assert ran.code == 0, ran.err
    return ran.json()


def test_bundled_sample_twice(tmp_path: Path) -> None:
    store = tmp_path / "store"
    first = ingest(store, tmp_path, "--json")
    assert first.code == 0, first.err
    report = first.json()  # stdout is exactly one JSON object: no progress bar mixed in
    assert report["videos"] == 2 and report["segments"] == 100 and report["skipped"] == []
    assert report["chunks_embedded"] == report["chunks"] > 0

    second = ingest(store, tmp_path, "--json")
    assert second.code == 0, second.err
    again = second.json()
    assert again["chunks_embedded"] == 0 and again["chunks_removed"] == 0
    assert again["chunks_unchanged"] == report["chunks"]

    st = stats(store, tmp_path)
    assert st["videos"] == 2 and st["chunks"] == report["chunks"]
    assert st["store"] == str(store)
    assert not (tmp_path / "storage").exists(), "RAG_STORE_DIR decides where the store goes"


@pytest.mark.skipif(not LECTURES.is_dir(), reason=f"the shared lecture corpus is not at {LECTURES}")
def test_lecture_captions_with_manifest_titles(tmp_path: Path) -> None:
    """All eight SRT lectures, titled from manifest.json. Each file is cut to its first cues so the test
    stays fast; the full files go through the same loader."""
    lectures = tmp_path / "lectures"
    lectures.mkdir()
    shutil.copy(LECTURES / "manifest.json", lectures / "manifest.json")
    for srt in sorted(LECTURES.glob("*.srt")):
        blocks = srt.read_bytes().split(b"\r\n\r\n")
        (lectures / srt.name).write_bytes(b"\r\n\r\n".join(blocks[:25]) + b"\r\n")
    manifest = {e["video_id"]: e["title"] for e in json.loads((LECTURES / "manifest.json").read_text())}
    assert len(manifest) == 8

    store = tmp_path / "store"
    ran = ingest(store, tmp_path, lectures, "--json")
    assert ran.code == 0, ran.err
    report = ran.json()
    assert report["videos"] == 8 and report["skipped"] == []
    assert stats(store, tmp_path)["videos"] == 8
    assert dump_store(store, tmp_path)["titles"] == manifest


def test_bad_rows_skipped_then_strict_changes_nothing(tmp_path: Path) -> None:
    store = tmp_path / "store"
    rows = corpus_rows(videos=2, segments=6, words=8, seed=7)
    rows[2] = {**rows[2], "video_id": "not-a-video-id"}
    mixed = write_jsonl(tmp_path / "mixed.jsonl", rows)

    ran = ingest(store, tmp_path, mixed, "--json")
    assert ran.code == 0, ran.err
    report = ran.json()
    assert report["segments"] == 11
    assert len(report["skipped"]) == 1
    skipped = report["skipped"][0]
    assert skipped["line"] == 3 and skipped["source"] == str(mixed) and "video_id" in skipped["reason"]
    before = dump_store(store, tmp_path)
    assert before["ids"] and sorted(before["keyword"]) == sorted(before["ids"])

    human = ingest(store, tmp_path, mixed)  # without --json: a summary on stderr names the line
    assert human.code == 0 and human.out == ""
    assert re.search(r"mixed\.jsonl, line 3: field 'video_id'", human.err), human.err

    fresh = write_jsonl(tmp_path / "fresh.jsonl", corpus_rows(videos=1, segments=6, seed=8, first_video=5))
    strict = ingest(store, tmp_path, fresh, mixed, "--strict", "--json")
    assert strict.code == 1
    assert strict.out == ""
    assert "mixed.jsonl, line 3" in strict.err and "Traceback" not in strict.err

    # nothing ingestable, even with --reset: exit 1 and the store is not wiped
    nothing = ingest(store, tmp_path, write_jsonl(tmp_path / "bad.jsonl", ALL_BAD), "--reset", "--json")
    assert nothing.code == 1 and "nothing ingestable" in nothing.err

    after = dump_store(store, tmp_path)
    assert after["ids"] == before["ids"] and after["revision"] == before["revision"]


def test_missing_sources_and_unknown_flags(tmp_path: Path) -> None:
    store = tmp_path / "store"
    missing = ingest(store, tmp_path, tmp_path / "nope.jsonl", "--json")
    assert missing.code == 1
    assert "nope.jsonl" in missing.err and "no such file" in missing.err and "Traceback" not in missing.err
    assert not (store / "chroma.sqlite3").exists()

    unknown = ingest(store, tmp_path, "--frobnicate")
    assert unknown.code == 2 and "--frobnicate" in unknown.err and "usage:" in unknown.err

    config = ingest(store, tmp_path, "--json", RAG_CHUNK_TOKENS="5")
    assert config.code == 2 and "chunk_tokens" in config.err and "Traceback" not in config.err

    bad_collection = ingest(store, tmp_path, "--collection", "x", "--json")
    assert bad_collection.code == 2 and "collection" in bad_collection.err


def test_store_unreachable(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "a.jsonl", corpus_rows(videos=1, segments=3))
    ran = ingest(
        tmp_path / "store", tmp_path, src, RAG_CHROMA_HOST="127.0.0.1", RAG_CHROMA_PORT=str(free_port())
    )
    assert ran.code == 1
    assert "error: the vector store at http://127.0.0.1:" in ran.err and "chroma run" in ran.err
    assert "Traceback" not in ran.err


def test_exit_codes_are_documented() -> None:
    doc = ast.get_docstring(ast.parse(INGEST.read_text())) or ""
    block = doc[doc.index("Exit codes") :]
    for code in ("0", "1", "2", "130"):
        assert re.search(rf"^\s*{code}\s", block, re.M), f"exit code {code} is not documented"
    assert "--strict" in block and "--reset" in block

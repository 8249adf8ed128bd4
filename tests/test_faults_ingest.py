"""Ingestion under faults: SIGKILL mid-run, two writers on one store, the embedding model changed.

The corpus is generated from the bundled sample's text, so these tests need nothing outside the checkout.
"""

from __future__ import annotations

import copy
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    INGEST,
    PYTHON,
    ROOT,
    RenamedModel,
    cli_env,
    corpus_rows,
    dump_store,
    run_cli,
    store_ids,
    write_jsonl,
)

import rag

VIDEOS, SEGMENTS = 8, 60
FLUSH = 4  # chunks per write in the killed runs, so a run makes many writes a kill can land between
SEED = 20240611

# ingest.py itself, with a smaller flush size: the production 256 would make one write of this corpus.
WRAPPER = f"""
import runpy, sys
sys.path.insert(0, {str(ROOT)!r})
import rag.indexing
rag.indexing.FLUSH_CHUNKS = {FLUSH}
sys.argv[0] = {str(INGEST)!r}
runpy.run_path({str(INGEST)!r}, run_name="__main__")
"""


def version(base: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """Version k edits every other video (alternating with k), so consecutive versions differ in every
    video: each run has the whole corpus to redo, half of it replacing chunks with stale ones to delete."""
    rows = copy.deepcopy(base)
    for v in range(VIDEOS):
        if (v + k) % 2:
            continue
        seg = rows[v * SEGMENTS + 10 + 11 * k]
        seg["text"] = f"version {k} " + seg["text"] + " and" * (6 + 9 * k)  # longer: windows shift
    return rows


@dataclass
class Corpus:
    versions: list[Path]
    clean_ids: list[str]  # of the last version, from a clean uninterrupted run
    startup: float  # seconds a run takes with nothing to embed
    work: float  # seconds more a clean run takes


def start_ingest(store: Path, cwd: Path, source: Path, small_flush: bool = True) -> subprocess.Popen[str]:
    args = ["-c", WRAPPER] if small_flush else [str(INGEST)]
    return subprocess.Popen(
        [PYTHON, *args, str(source), "--json"],
        cwd=cwd, env=cli_env(store), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def finish(proc: subprocess.Popen[str], timeout: float = 300) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"ingest did not finish within {timeout} s: {err[-2000:]}")
    return proc.returncode, out, err


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    base_dir = tmp_path_factory.mktemp("fault-corpus")
    base = corpus_rows(videos=VIDEOS, segments=SEGMENTS, words=8, seed=SEED)
    versions = [write_jsonl(base_dir / f"v{k}.jsonl", version(base, k)) for k in range(4)]
    store = base_dir / "clean"
    t0 = time.monotonic()
    code, out, err = finish(start_ingest(store, base_dir, versions[-1]))
    work = time.monotonic() - t0
    assert code == 0, err
    t0 = time.monotonic()
    code, out, err = finish(start_ingest(store, base_dir, versions[-1]))
    startup = time.monotonic() - t0
    assert code == 0, err
    assert '"chunks_embedded": 0' in out
    dump = dump_store(store, base_dir)
    assert len(dump["ids"]) > 3 * VIDEOS and sorted(dump["keyword"]) == sorted(dump["ids"])
    print(f"fault corpus: {len(dump['ids'])} chunks; a run: {startup:.1f} s + {work - startup:.1f} s of work")
    return Corpus(versions, sorted(dump["ids"]), startup, max(work - startup, 1.0))


def test_sigkill_at_random_points_then_finish(corpus: Corpus, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    store = tmp_path / "store"
    outcomes = []
    for k, source in enumerate(corpus.versions):  # each run is killed; each version differs from the last
        delay = corpus.startup + rng.uniform(0.05, 0.6) * corpus.work
        proc = start_ingest(store, tmp_path, source)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
        code, _, err = finish(proc, timeout=60)
        outcomes.append(code)
        print(
            f"run {k}: killed after {delay:.1f} s" if code < 0 else f"run {k}: finished before {delay:.1f} s"
        )
        assert code in (0, -signal.SIGKILL), f"run {k} failed: {err[-2000:]}"

    after_kills = dump_store(store, tmp_path)  # a reader after a crash: keyword index agrees with Chroma
    assert sorted(after_kills["keyword"]) == sorted(after_kills["ids"])
    assert len(after_kills["ids"]) == len(set(after_kills["ids"]))

    code, _, err = finish(start_ingest(store, tmp_path, corpus.versions[-1], small_flush=False))
    assert code == 0, err
    final = dump_store(store, tmp_path)
    assert len(final["ids"]) == len(set(final["ids"])), "no duplicate chunks"
    assert sorted(final["ids"]) == corpus.clean_ids, "the finished store equals a clean run"
    assert sorted(final["keyword"]) == corpus.clean_ids
    assert not final["revision"].startswith("writing-")
    assert outcomes.count(-signal.SIGKILL) >= 2, f"too few kills landed mid-run: {outcomes}"


def expected_ids(source: Path, embedder: Any) -> list[str]:
    """The chunk ids a complete ingest of `source` must leave: chunking alone decides them."""
    from rag.chunking import ChunkParams, chunk_segments
    from rag.loaders import load

    settings = rag.Settings(_env_file=None)
    params = ChunkParams(settings.chunk_tokens, settings.chunk_overlap)
    return sorted(c.id for c in chunk_segments(load([str(source)]).segments, embedder.count_tokens, params))


def test_second_ingest_on_the_same_store_fails_fast(tmp_path: Path, embedder: Any) -> None:
    source = write_jsonl(tmp_path / "a.jsonl", corpus_rows(videos=2, segments=60, seed=11))
    store = tmp_path / "store"
    first = start_ingest(store, tmp_path, source)
    lock = store / ".ingest.lock"
    try:
        deadline = time.monotonic() + 120
        while not (lock.exists() and lock.read_text().strip() == str(first.pid)):
            assert first.poll() is None, first.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "the first ingest never took the lock"
            time.sleep(0.02)
        os.kill(first.pid, signal.SIGSTOP)  # hold it inside its write phase, whatever the machine's speed
        try:
            t0 = time.monotonic()
            second = run_cli([INGEST, source, "--json"], store, tmp_path, timeout=120)
            assert second.code == 1
            assert "another ingest" in second.err and str(first.pid) in second.err
            assert "Traceback" not in second.err and second.out == ""
            assert time.monotonic() - t0 < 60
        finally:
            os.kill(first.pid, signal.SIGCONT)
        code, _, err = finish(first)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert code == 0, err
    dump = dump_store(store, tmp_path)
    assert sorted(dump["ids"]) == expected_ids(source, embedder), "the first ingest completed correctly"
    assert sorted(dump["keyword"]) == sorted(dump["ids"])


def test_embedding_model_changed_between_runs(
    make_lectern: Callable[..., rag.Lectern], embedder: Any, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "a.jsonl", corpus_rows(videos=2, segments=20, seed=3))
    built = make_lectern(embedder_=RenamedModel(embedder, name="other-model", dim=384))
    built.ingest([str(source)])
    before = store_ids(built)
    assert before

    calls: list[int] = []

    class Watching(RenamedModel):
        def embed(self, texts: Sequence[str]) -> Any:
            calls.append(len(texts))
            return super().embed(texts)

    current = make_lectern(embedder_=Watching(embedder, name=embedder.name))
    with pytest.raises(rag.ModelMismatchError) as err:
        current.ingest([str(source)])
    msg = str(err.value)
    assert "other-model" in msg and "--reset" in msg and embedder.name in msg
    assert calls == [], "found at start, before any embedding work"
    assert store_ids(built) == before

    # the CLI says the same, as one line on stderr, with exit code 1
    ran = run_cli([INGEST, source, "--json"], tmp_path / "store", tmp_path)
    assert ran.code == 1
    assert "other-model" in ran.err and "--reset" in ran.err and "Traceback" not in ran.err
    assert "dimension" not in ran.err.lower().replace("(384 dimensions)", "")

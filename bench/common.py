"""Shared by the bench scripts: machine description, timing helpers, settings, the stand-in embedder.

Bench scripts are run as files (`python bench/x.py`), so this is imported as `common` from bench/.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import sys
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from importlib import metadata
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
LECTURES = Path(__file__).resolve().parents[2] / "shared" / "data" / "lectures"
FULL_SIZE = 208_619
QUICK_SIZE = 11_298
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# A benchmark must not pick up a developer's .env or keys: the answers are extractive unless a script
# points the LLM at the scripted fake server itself.
for _var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "RAG_OPENAI_API_KEY", "RAG_OPENAI_BASE_URL"):
    os.environ.pop(_var, None)


# -- the machine ----------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    import psutil

    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_avg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "onnxruntime": _version("onnxruntime"),
        "chromadb": _version("chromadb"),
        "llama-index-core": _version("llama-index-core"),
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def print_machine() -> dict[str, Any]:
    info = machine()
    print("machine: " + "; ".join(f"{k}={v}" for k, v in info.items()), flush=True)
    if os.getloadavg()[0] > 0.5 * (os.cpu_count() or 1):
        print("  note: the machine is loaded (see load_avg): timings are noisy", flush=True)
    return info


def write_json(path: str | None, figures: dict[str, Any]) -> None:
    """--json PATH: the figures for bench/run_quick.py's summary table."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(figures, indent=1, default=str), encoding="utf-8")


# -- timing -----------------------------------------------------------------------------------------


@contextmanager
def timer() -> Iterator[list[float]]:
    """with timer() as t: ...; t[0] is the elapsed seconds afterwards."""
    box = [0.0]
    t0 = time.perf_counter()
    try:
        yield box
    finally:
        box[0] = time.perf_counter() - t0


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else float("nan")


def ms(values: Sequence[float]) -> str:
    """p50/p95 of seconds, as milliseconds."""
    return f"p50 {pct(values, 50) * 1000:7.1f} ms  p95 {pct(values, 95) * 1000:7.1f} ms"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


# -- settings and data ------------------------------------------------------------------------------


def settings(store_dir: Path, **overrides: Any) -> Any:
    import rag

    return rag.Settings(store_dir=store_dir, _env_file=None, **overrides)


def real_sources() -> list[str]:
    """The lecture SRTs when ../shared is there, else the bundled 100-row sample."""
    import rag

    if LECTURES.is_dir() and any(LECTURES.glob("*.srt")):
        return [str(LECTURES)]
    return [str(rag.BUNDLED_SAMPLE)]


def rss_tree(pid: int) -> int:
    """Resident bytes of a process and all its children."""
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        with suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total


# -- the stand-in embedder --------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")
STANDIN_BUCKETS = 4096


class StandinEmbedder:
    """A fast, clearly fake embedder for building large indexes quickly: NOT all-MiniLM-L6-v2.

    embed() hashes each lower-cased word (and word pair) into one of 4,096 buckets and projects the
    counts with a fixed seeded Gaussian matrix to 384 dimensions, then L2-normalises: texts sharing words
    get similar vectors, which is all a latency benchmark needs. count_tokens uses the real tokenizer, so
    chunks are exactly the ones the real model would get.
    """

    name = "standin-hash-384"
    dim = 384

    def __init__(self) -> None:
        from rag.embeddings import load_tokenizer

        try:  # count as LocalMiniLM.count_tokens does: not truncated
            self.tokenizer = load_tokenizer(truncate=False)
        except TypeError:
            self.tokenizer = load_tokenizer()
        rng = np.random.default_rng(384)
        self._proj = (rng.standard_normal((STANDIN_BUCKETS, self.dim)) / np.sqrt(self.dim)).astype(np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def _features(self, text: str) -> list[int]:
        words = _WORD.findall(text.lower())
        feats = [zlib.crc32(w.encode()) % STANDIN_BUCKETS for w in words]
        feats += [zlib.crc32(f"{a} {b}".encode()) % STANDIN_BUCKETS for a, b in pairwise(words)]
        return feats

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vecs = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            buckets, counts = np.unique(self._features(text), return_counts=True)
            if len(buckets):
                vecs[row] = np.log1p(counts.astype(np.float32)) @ self._proj[buckets]
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.maximum(norms, 1e-12)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def store_dir(size: int, embed_name: str, seed: int = 0) -> Path:
    """Where the bench keeps the store built from corpus-SIZE-sSEED with one embedder."""
    return OUT / "stores" / f"{size}-{embed_name}-s{seed}"


def build_store(
    corpus: Path, store_dir: Path, embedder: Any, *, rebuild: bool = False
) -> tuple[Any, dict[str, Any]]:
    """A Lectern over `corpus` in `store_dir`, built once (a marker file records a finished build).

    A store that is there already is brought up to date by an incremental ingest, so a change in rag/'s
    chunking since it was built re-embeds what changed instead of measuring a stale index.
    """
    import rag

    marker = store_dir / "bench-built.json"
    lectern = rag.Lectern(settings(store_dir), embedder=embedder)
    reuse = marker.exists() and not rebuild
    t0 = time.perf_counter()
    report = lectern.ingest([str(corpus)], reset=not reuse)
    seconds = round(time.perf_counter() - t0, 2)
    info = json.loads(marker.read_text()) if reuse else {"ingest_seconds": seconds}
    info.update(corpus=str(corpus), embedder=embedder.name, segments=report.segments, videos=report.videos)
    info.update(chunks=report.chunks)
    marker.write_text(json.dumps(info))
    info.update(reused=reuse, update_seconds=seconds, updated_chunks=report.chunks_embedded)
    return lectern, info

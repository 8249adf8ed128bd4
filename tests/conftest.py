"""Shared fixtures: one real ONNX model per session, Lecterns on tmp stores, CLI runs, a `chroma run` server.

Nothing here reads a developer's .env, RAG_*/OPENAI_* variables or ./storage: every Settings is built with
_env_file=None on a tmp store, the environment is scrubbed for each test, and subprocesses run in a tmp
working directory with a clean environment.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `rag` is not installed into the venv, it runs from the checkout
    sys.path.insert(0, str(ROOT))

import rag  # noqa: E402
from rag.config import LOCAL_EMBED_MODEL  # noqa: E402

PYTHON = sys.executable
INGEST = ROOT / "ingest.py"
SAMPLE = ROOT / "data" / "youtube-transcriptions-sample.jsonl"
LECTURES = Path(__file__).resolve().parents[2] / "shared" / "data" / "lectures"
QUIET = {"ANONYMIZED_TELEMETRY": "False", "CHROMA_TELEMETRY": "False", "TOKENIZERS_PARALLELISM": "false"}


def _scrubbed(environ: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if not k.startswith(("RAG_", "OPENAI_"))}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's RAG_*/OPENAI_* variables must not change what a test sees."""
    for key in list(os.environ):
        if key.startswith(("RAG_", "OPENAI_")):
            monkeypatch.delenv(key)
    for key, value in QUIET.items():
        monkeypatch.setenv(key, value)


# -- the model --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def embedder() -> Any:
    from rag.embeddings import LocalMiniLM

    return LocalMiniLM()


class StoreIdentity:
    """Just the name and dimension a Store checks: enough to open and read a store without the model."""

    name = LOCAL_EMBED_MODEL
    dim = 384


class RenamedModel:
    """The real model under another name: what a store sees when RAG_EMBED_MODEL changes."""

    def __init__(self, inner: Any, name: str = "other-model", dim: int = 384) -> None:
        self.inner, self.name, self.dim = inner, name, dim

    def embed(self, texts: Sequence[str]) -> Any:
        return self.inner.embed(texts)

    def embed_query(self, text: str) -> Any:
        return self.inner.embed_query(text)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.inner.count_tokens(texts)


def settings_for(store_dir: Path, **kw: Any) -> rag.Settings:
    return rag.Settings(store_dir=store_dir, _env_file=None, **kw)


@pytest.fixture
def make_lectern(tmp_path: Path, embedder: Any) -> Callable[..., rag.Lectern]:
    """make_lectern(store_dir=None, embedder_=None, **settings): a Lectern on a tmp store, shared model."""

    def make(store_dir: Path | None = None, embedder_: Any = None, **kw: Any) -> rag.Lectern:
        return rag.Lectern(
            settings_for(store_dir or tmp_path / "store", **kw), embedder=embedder_ or embedder
        )

    return make


def store_ids(lectern: rag.Lectern) -> list[str]:
    return sorted(c.id for c in lectern.store.iter_chunks())


def keyword_ids(lectern: rag.Lectern) -> list[str]:
    return sorted(c.id for c in lectern.keyword().chunks)


# -- corpora ----------------------------------------------------------------------------------------


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    return path


def sample_words() -> list[str]:
    with open(SAMPLE, encoding="utf-8") as fh:
        return " ".join(json.loads(line)["text"] for line in fh).split()


def video_id(n: int) -> str:
    return f"vid{n:08d}"  # 11 characters of [A-Za-z0-9_-]: a valid YouTube id


def corpus_rows(
    videos: int, segments: int, words: int = 8, seed: int = 0, first_video: int = 0
) -> list[dict[str, Any]]:
    """Pinecone-schema rows cut from the bundled sample's text: `videos` x `segments` short segments."""
    rng = random.Random(seed)
    vocab = sample_words()
    rows = []
    for v in range(first_video, first_video + videos):
        vid, t = video_id(v), 0.0
        offset = rng.randrange(len(vocab))
        for s in range(segments):
            n = rng.randint(max(1, words - 3), words + 3)
            text = " ".join(vocab[(offset + s * words + k) % len(vocab)] for k in range(n))
            dur = rng.choice([2.0, 2.5, 3.0, 4.0])
            rows.append(
                {
                    "video_id": vid, "text": text, "start_second": t, "end_second": t + dur,
                    "title": f"Lecture {v}", "url": f"https://youtu.be/{vid}",
                }
            )  # fmt: skip
            t += dur
    return rows


# -- subprocesses -----------------------------------------------------------------------------------


def cli_env(store_dir: Path, **extra: str) -> dict[str, str]:
    env = _scrubbed(dict(os.environ))
    env.update(QUIET)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env["RAG_STORE_DIR"] = str(store_dir)
    env.update(extra)
    return env


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_cli(
    args: Sequence[str | Path],
    store_dir: Path,
    cwd: Path,
    timeout: float = 240,
    env: Mapping[str, str] | None = None,
) -> Ran:
    """Runs `python <args>` with a clean environment in `cwd` (no .env there), on `store_dir`."""
    p = subprocess.run(
        [PYTHON, *map(str, args)],
        cwd=cwd,
        env=cli_env(store_dir, **(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Ran(p.returncode, p.stdout, p.stderr)


DUMP = """
import json, sys
sys.path.insert(0, {root!r})
import rag
from rag.config import Settings

class Identity:
    name, dim = {name!r}, 384

lectern = rag.Lectern(Settings(store_dir={store!r}, _env_file=None), embedder=Identity())
chunks = list(lectern.store.iter_chunks())
titles = {{c.video_id: c.title for c in chunks}}
kw = [c.id for c in lectern.keyword().chunks]
ids = [c.id for c in chunks]
print(json.dumps({{"ids": ids, "keyword": kw, "titles": titles, "revision": lectern.store.revision()}}))
"""


def dump_store(store_dir: Path, cwd: Path) -> dict[str, Any]:
    """Chunk ids, keyword ids and revision, read by a fresh process (an embedded store has one writer)."""
    code = DUMP.format(root=str(ROOT), name=LOCAL_EMBED_MODEL, store=str(store_dir))
    ran = run_cli(["-c", code], store_dir, cwd, timeout=120)
    assert ran.code == 0, ran.err
    return ran.json()


# -- a real `chroma run` server ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChromaServer:
    def __init__(self, path: Path, port: int, log: Path) -> None:
        self.path, self.port, self.log = path, port, log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        chroma = Path(PYTHON).with_name("chroma")
        env = _scrubbed(dict(os.environ))
        env.update(QUIET)
        with open(self.log, "ab") as log:
            args = ["run", "--host", "127.0.0.1", "--port", str(self.port), "--path", str(self.path)]
            self.proc = subprocess.Popen([str(chroma), *args], env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"chroma run exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"chroma run did not answer its heartbeat within {timeout} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.proc = None


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    chroma = Path(PYTHON).with_name("chroma")
    if not chroma.exists():
        pytest.skip(f"no chroma CLI at {chroma}")
    base = tmp_path_factory.mktemp("chroma-server")
    server = ChromaServer(base / "data", free_port(), base / "chroma.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def ingested(
    tmp_path_factory: pytest.TempPathFactory, embedder: Any, name: str, sources: list[Path], **kw: Any
) -> Path:
    """A store holding `sources`, ingested once per session under `name` and shared read-only."""
    root = tmp_path_factory.getbasetemp() / name
    if not (root / "ready").exists():
        settings = rag.Settings(store_dir=root / "s", _env_file=None, openai_api_key=None, **kw)
        rag.Lectern(settings, embedder=embedder).ingest([str(s) for s in sources])
        (root / "ready").touch()
    return root / "s"


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Path:
    return ingested(tmp_path_factory, embedder, "lectern-sample", [SAMPLE])

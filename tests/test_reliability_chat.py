"""The chat under load and when its `chroma run` server dies: real Chroma, real app, the scripted LLM only.

1. Ten users ask at once, each through its own gradio_client: everyone gets their own, complete answer.
   Beyond the queue bound, the extra users are told the app is busy while the admitted ones finish.
2. The chat served by `python -m ui` over a `chroma run` server: the server is SIGKILLed (a clear error
   reaches the client, the app stays up), restarted on the same path and port (answers again, no app restart).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

from conftest import PYTHON, SAMPLE, ChromaServer, cli_env, free_port, settings_for
from fakes.openai_server import FakeOpenAI, Reply
from gradio_client import Client
from gradio_client.exceptions import AppError
from gradio_client.utils import QueueError

import rag
from ui.app import build_app, launch_options

QUESTION = "Does ImageNet pre-training help on medical images? (ticket {token})"
USERS = 10
_QUESTION_RE = re.compile(r"^Question: (.*)$", re.M)
_EXCERPT_RE = re.compile(r"^\[1\] \([^)]*\) (.*)$", re.M)
_TICKET_RE = re.compile(r"\(ticket (\w+)\)")


def echo_responder(token_delay: float = 0.02) -> Callable[[dict[str, Any]], Reply]:
    """Answers each request with the ticket from its own question, plus a sentence excerpt [1] supports."""

    def respond(request: dict[str, Any]) -> Reply:
        user = str(request["messages"][-1]["content"])
        question = _QUESTION_RE.search(user)
        ticket = _TICKET_RE.search(question.group(1)) if question else None
        excerpt = _EXCERPT_RE.search(user)
        words = " ".join(excerpt.group(1).split()[:14]) if excerpt else "nothing"
        mine = ticket.group(1) if ticket else "NONE"
        text = f"This is the answer for ticket {mine}. The lecture says {words} [1]."
        return Reply(text=text, token_delay=token_delay)

    return respond


def llm_settings(fake: FakeOpenAI) -> dict[str, Any]:
    return {
        "openai_api_key": "test", "openai_base_url": fake.base_url, "llm_model": "fake-gpt",
        "llm_max_retries": 0,
    }  # fmt: skip


@contextlib.contextmanager
def serve(lectern: rag.Lectern, concurrency: int, max_queue: int) -> Iterator[str]:
    """The app as `python -m ui` serves it (same queue and launch options), on a free loopback port."""
    app = build_app(lectern)
    app.queue(default_concurrency_limit=concurrency, max_size=max_queue).launch(
        server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
        **launch_options(),
    )  # fmt: skip
    try:
        yield str(app.local_url)
    finally:
        app.close()


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Path:
    store = tmp_path_factory.mktemp("reliability") / "store"
    with pytest.MonkeyPatch.context() as mp:  # module scope: the autouse env scrub has not run yet
        for key in [k for k in os.environ if k.startswith(("RAG_", "OPENAI_"))]:
            mp.delenv(key)
        assert rag.Lectern(settings_for(store), embedder=embedder).ingest([str(SAMPLE)]).videos == 2
    return store


# -- 1. load ----------------------------------------------------------------------------------------


def test_ten_concurrent_users_each_get_their_own_complete_answer(sample_store: Path, embedder: Any) -> None:
    tokens = [f"u{i}x{os.urandom(3).hex()}" for i in range(USERS)]
    with FakeOpenAI(echo_responder(0.02)) as fake:
        lectern = rag.Lectern(settings_for(sample_store, **llm_settings(fake)), embedder=embedder)
        defaults = lectern.settings
        with serve(lectern, defaults.ui_concurrency, defaults.ui_max_queue) as url:
            start = threading.Barrier(USERS)

            def user(token: str) -> dict[str, Any]:
                try:
                    client = Client(url, verbose=False)
                except BaseException:
                    start.abort()  # the other users stop waiting for this one
                    raise
                start.wait(timeout=120)  # every client is connected: now they all ask at once
                return client.predict(QUESTION.format(token=token), [], 4, None, api_name="/ask")

            with ThreadPoolExecutor(USERS) as pool:
                futures = [pool.submit(user, t) for t in tokens]
                results = [f.result(timeout=180) for f in futures]  # re-raises any user's exception
        answer_requests = [r for r in fake.requests if "Question:" in r["messages"][-1]["content"]]
    assert len(answer_requests) == USERS
    for token, result in zip(tokens, results, strict=True):
        assert result["question"] == QUESTION.format(token=token)
        assert result["mode"] == "llm" and result["interrupted"] is False, result
        assert f"ticket {token}." in result["answer"], result["answer"]
        assert [t for t in tokens if t in result["answer"]] == [token]  # nobody else's answer
        assert result["citations"] and "[1]" in result["answer"]
        assert result["answer"].rstrip().endswith("[1].")  # the whole stream arrived


def test_users_beyond_the_queue_bound_are_told_the_app_is_busy(sample_store: Path, embedder: Any) -> None:
    jobs_count, max_queue = 6, 2
    # Words both ImageNet windows hold, whichever ranks first, so the support check keeps the citation.
    with FakeOpenAI(default=Reply(text="Training on ImageNet helps [1].", delay=3.0)) as slow:
        lectern = rag.Lectern(settings_for(sample_store, **llm_settings(slow)), embedder=embedder)
        with serve(lectern, concurrency=1, max_queue=max_queue) as url:
            clients = [Client(url, verbose=False) for _ in range(jobs_count)]
            jobs = [c.submit(QUESTION.format(token=f"q{i}"), api_name="/ask") for i, c in enumerate(clients)]
            answered, busy = [], []
            for job in jobs:
                try:
                    answered.append(job.result(timeout=120))
                except QueueError as exc:
                    busy.append(str(exc))
    # One runs and `max_queue` wait; the rest are refused (one more may be refused if the first job had not
    # left the waiting line yet when the last ones arrived).
    assert len(answered) + len(busy) == jobs_count
    assert max_queue <= len(answered) <= max_queue + 1, (answered, busy)
    assert busy and set(busy) == {"Queue is full! Please try again."}
    for result in answered:
        assert result["mode"] == "llm" and result["interrupted"] is False and result["citations"], result


# -- 2. the chroma server dies and comes back ------------------------------------------------------------


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 150) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"python -m ui exited with {proc.returncode}: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"python -m ui did not serve {url} within {timeout} s: {log.read_text()[-3000:]}")


@contextlib.contextmanager
def ui_process(store: Path, cwd: Path, **env: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`python -m ui` in a clean environment; yields (process, url)."""
    port = free_port()
    log = cwd / "ui.log"
    extra = {"RAG_UI_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False", **env}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [PYTHON, "-m", "ui"], cwd=cwd, env=cli_env(store, **extra), stdout=out, stderr=subprocess.STDOUT
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_http(url, proc, log)
        yield proc, url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


def assert_answered(result: dict[str, Any]) -> None:
    assert result["mode"] == "llm" and result["interrupted"] is False, result
    assert result["citations"] and "ticket" in result["answer"], result


@pytest.mark.server
def test_chat_survives_a_killed_chroma_server(tmp_path: Path, embedder: Any) -> None:
    server = ChromaServer(tmp_path / "chroma", free_port(), tmp_path / "chroma.log")
    server.start()
    try:
        store = tmp_path / "store"  # the keyword cache; the chunks live in the server
        remote = {"chroma_host": "127.0.0.1", "chroma_port": server.port}
        assert rag.Lectern(settings_for(store, **remote), embedder=embedder).ingest([str(SAMPLE)]).videos == 2
        with FakeOpenAI(echo_responder(0.0)) as fake, ui_process(
            store, tmp_path, RAG_CHROMA_HOST="127.0.0.1", RAG_CHROMA_PORT=str(server.port),
            OPENAI_API_KEY="test", OPENAI_BASE_URL=fake.base_url, RAG_LLM_MODEL="fake-gpt",
            RAG_LLM_MAX_RETRIES="0",
        ) as (app, url):  # fmt: skip
            client = Client(url, verbose=False)
            assert_answered(client.predict(QUESTION.format(token="before"), [], 4, None, api_name="/ask"))

            assert server.proc is not None
            server.proc.kill()  # SIGKILL: no clean shutdown
            server.proc.wait(timeout=30)
            with pytest.raises(AppError) as err:
                client.predict(QUESTION.format(token="down"), [], 4, None, api_name="/ask")
            message = str(err.value)
            assert "vector store" in message and "chroma run" in message, message
            assert f"127.0.0.1:{server.port}" in message
            assert "Traceback" not in message and 'File "' not in message
            assert app.poll() is None  # the app process is still up ...
            with urllib.request.urlopen(url, timeout=10) as resp:
                assert resp.status == 200  # ... and still serving the page

            server.start()  # same path, same port; the app is not restarted
            asked_before = len(fake.requests)
            assert_answered(client.predict(QUESTION.format(token="after"), [], 4, None, api_name="/ask"))
            assert len(fake.requests) == asked_before + 1
            assert app.poll() is None
    finally:
        server.stop()

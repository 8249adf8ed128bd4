"""Concurrent chat users against `python -m ui` (a subprocess on 127.0.0.1) with a scripted LLM.

The LLM is tests/fakes/openai_server.py's FakeOpenAI streaming at a fixed pace (--token-delay s per word):
by default a ~40-word answer quoting the excerpts it was sent, with [n] citations (--reply fixed: one
canned answer whatever the question, the worst case for citation checking). Each of N users asks --chats
questions one after the other.

Two clients:
  chat (default): the browser's own protocol (POST /gradio_api/queue/join, then the SSE stream) on the
      chat's streaming event; time to first token = the first update after the "Searching…" placeholder.
      gradio_client cannot drive this event: the UI marks it api_visibility="private".
  api: gradio_client on the public /ask endpoint, which returns only the whole answer.
A user is "busy" when Gradio refuses the request because the queue is full (HTTP 503, or gradio_client's
"queue is full"); --max-queue/--concurrency set the server's bounds (RAG_UI_MAX_QUEUE, RAG_UI_CONCURRENCY).

    python bench/load_bench.py                      # N = 1, 10, 25
    python bench/load_bench.py --users 10 --client api
    python bench/load_bench.py --soak 1000          # 1,000 chats by 10 users; RSS after 100, 250, … 1,000
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import corpus
import retrieval_bench

QUESTION_BOX = "lectern-question"  # elem_id of the chat's question box in ui/app.py
_SOURCE = re.compile(r"^\[(\d+)\] \(.*?, [\d:]+-[\d:]+\) (.*)$", re.M)
ANSWER = (
    "The lecturer explains that the model is trained by gradient descent on a loss function [1]. "
    "Each step moves the weights a little against the gradient, and the learning rate sets how far [2]. "
    "Training stops when the loss on held-out data no longer improves [1]."
)


def grounded(token_delay: float) -> Any:
    """A responder that answers from the excerpts it is sent, citing them, as a good model would: about
    40 words quoting the first three sources. (--reply fixed sends ANSWER whatever the excerpts say, which
    fails the lexical support check and takes the slower embedding fallback in rag.citations.)"""
    from fakes.openai_server import Reply

    def respond(request: dict[str, Any]) -> Any:
        prompt = str(request["messages"][-1].get("content", ""))
        if "Standalone question:" in prompt:  # the follow-up rewrite: answer with the last question
            last = prompt.split("Last question:", 1)[-1].split("\n", 1)[0].strip()
            return Reply(text=last or "What is this about?", token_delay=token_delay)
        said = []
        for n, text in _SOURCE.findall(prompt)[:3]:
            words = text.split()
            said.append(f"The lecturer says {' '.join(words[len(words) // 3 :][:10])} [{n}].")
        return Reply(text=" ".join(said) or ANSWER, token_delay=token_delay)

    return respond


class ChatUser:
    """One browser tab: its own session, one question at a time, over Gradio's queue protocol."""

    def __init__(self, base: str, fn_index: int, trigger: int, client: str, followups: bool = False) -> None:
        import httpx

        self.base, self.fn_index, self.trigger, self.client = base, fn_index, trigger, client
        self.followups = followups
        self.http = httpx.Client(timeout=120)
        self.session = uuid.uuid4().hex[:11]
        self.gc: Any = None

    def ask(self, question: str) -> dict[str, Any]:
        if self.client == "api" and self.gc is None:
            from gradio_client import Client

            self.gc = Client(self.base, verbose=False)  # reads /config: not part of a question's time
        t0 = time.perf_counter()
        if self.client == "api":
            return self._api(question, t0)
        # A new session per question is a new conversation; with --followups one tab keeps asking, so
        # every question after its first is condensed with the history by the LLM before retrieval.
        session = self.session if self.followups else uuid.uuid4().hex[:11]
        body: dict[str, object] = {"data": [question, [], None, 5, []], "event_data": None,
                "fn_index": self.fn_index, "trigger_id": self.trigger, "session_hash": session}  # fmt: skip
        joined = self.http.post(f"{self.base}gradio_api/queue/join", json=body)
        if joined.status_code == 503:
            return {"busy": True}
        if joined.status_code != 200:
            return {"error": f"join HTTP {joined.status_code}"}
        first, updates = None, 0
        url = f"{self.base}gradio_api/queue/data?session_hash={session}"
        with self.http.stream("GET", url) as resp:
            for line in resp.iter_lines():
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                kind = msg.get("msg")
                if kind == "process_generating":
                    updates += 1
                    if updates == 2 and first is None:  # the first one is the "Searching…" placeholder
                        first = time.perf_counter() - t0
                elif kind == "process_completed":
                    full = time.perf_counter() - t0
                    out = json.dumps(msg.get("output", ""))
                    if not msg.get("success") or "lectern-error" in out:
                        return {"error": out[:200]}
                    return {"ttft": first if first is not None else full, "full": full}
                elif kind == "close_stream":
                    break
        return {"error": "stream ended without process_completed"}

    def _api(self, question: str, t0: float) -> dict[str, Any]:
        try:
            got = self.gc.predict(question, api_name="/ask")
        except Exception as exc:
            if "queue is full" in str(exc).lower() or "503" in str(exc):
                return {"busy": True}
            return {"error": str(exc)[:200]}
        full = time.perf_counter() - t0
        return {"full": full, "ttft": None, "mode": got.get("mode") if isinstance(got, dict) else None}


def chat_event(base: str) -> tuple[int, int]:
    """fn_index and trigger id of the chat's streaming event: the submit of the question box."""
    with urllib.request.urlopen(f"{base}config", timeout=10) as resp:
        config = json.load(resp)
    box = next(
        (c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == QUESTION_BOX), None
    )
    for dep in config["dependencies"]:
        if box is not None and [box, "submit"] in dep.get("targets", []):
            return int(dep["id"]), box
    raise SystemExit(f"no submit event on #{QUESTION_BOX} in the UI's /config: has ui/app.py changed?")


class Server:
    """`python -m ui` on a free port over the quick store, the fake LLM in this process."""

    def __init__(self, args: argparse.Namespace) -> None:
        sys.path.insert(0, str(common.ROOT / "tests"))
        import memory_bench
        from fakes.openai_server import FakeOpenAI, Reply

        from rag.embeddings import LocalMiniLM

        where = args.store or common.store_dir(common.QUICK_SIZE, LocalMiniLM.name, args.seed)
        if args.store is None and not (where / "bench-built.json").exists():
            print("building the 11,298-segment store with the real model (once) …", flush=True)
            common.build_store(corpus.ensure(common.QUICK_SIZE, args.seed), where, LocalMiniLM())
        fixed = Reply(text=ANSWER, token_delay=args.token_delay)
        script = grounded(args.token_delay) if args.reply == "grounded" else None
        self.fake = FakeOpenAI(script, default=fixed).start()
        port = memory_bench.free_port()
        env = {**os.environ, "RAG_STORE_DIR": str(where), "RAG_UI_PORT": str(port),
               "OPENAI_API_KEY": "sk-fake", "OPENAI_BASE_URL": self.fake.base_url, "RAG_LLM_MODEL": "fake",
               "RAG_UI_CONCURRENCY": str(args.concurrency), "RAG_UI_MAX_QUEUE": str(args.max_queue),
               "GRADIO_ANALYTICS_ENABLED": "False"}  # fmt: skip
        self.log = open(common.OUT / "load_bench_server.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen([sys.executable, "-m", "ui"], env=env, cwd=common.ROOT, stdout=self.log,
                                     stderr=subprocess.STDOUT)  # fmt: skip
        self.base = f"http://127.0.0.1:{port}/"
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 180:
            try:
                with urllib.request.urlopen(self.base, timeout=2):
                    break
            except OSError:
                if self.proc.poll() is not None:
                    raise SystemExit(f"python -m ui exited; see {self.log.name}") from None
                time.sleep(0.25)
        self.startup = time.perf_counter() - t0
        self.fn_index, self.trigger = chat_event(self.base)

    def rss_gb(self) -> float:
        return common.rss_tree(self.proc.pid) / 2**30

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.fake.stop()
        self.log.close()


def run_users(
    server: Server,
    n: int,
    chats: int,
    qs: list[str],
    client: str,
    followups: bool = False,
    on_done: Any = None,
) -> list[dict]:
    results: list[dict[str, Any]] = []
    lock = threading.Lock()
    todo = iter(qs)

    def user() -> None:
        u = ChatUser(server.base, server.fn_index, server.trigger, client, followups)
        for _ in range(chats):
            with lock:
                q = next(todo, None)
            if q is None:
                return
            r = u.ask(q)
            with lock:
                results.append(r)
                if on_done is not None:
                    on_done(len(results))

    threads = [threading.Thread(target=user) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def summarise(n: int, results: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    ok = [r for r in results if "full" in r]
    ttft = [r["ttft"] for r in ok if r.get("ttft") is not None]
    busy = sum(1 for r in results if r.get("busy"))
    errors = [r["error"] for r in results if "error" in r]
    first = (
        f"TTFT p50 {common.pct(ttft, 50):5.2f} s p95 {common.pct(ttft, 95):5.2f} s" if ttft else "TTFT n/a"
    )
    full = [r["full"] for r in ok]
    print(
        f"N={n:3d}: {len(results)} chats in {seconds:5.1f} s; {first};"
        f" full p50 {common.pct(full, 50):5.2f} s p95 {common.pct(full, 95):5.2f} s;"
        f" errors {len(errors)}; busy {busy}"
    )
    for e in sorted(set(errors))[:3]:
        print(f"    error: {e}")
    return {
        "users": n, "chats": len(results), "errors": len(errors), "busy": busy,
        "ttft_p50_s": common.pct(ttft, 50), "ttft_p95_s": common.pct(ttft, 95),
        "full_p50_s": common.pct(full, 50), "full_p95_s": common.pct(full, 95),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", default="1,10,25", help="comma-separated N (default %(default)s)")
    ap.add_argument("--chats", type=int, default=4, help="questions per user (default %(default)s)")
    ap.add_argument("--client", choices=["chat", "api"], default="chat")
    ap.add_argument(
        "--reply", choices=["grounded", "fixed"], default="grounded", help="the fake LLM's answer"
    )
    ap.add_argument("--token-delay", type=float, default=0.02, help="fake LLM seconds per word")
    ap.add_argument("--concurrency", type=int, default=16, help="RAG_UI_CONCURRENCY (default %(default)s)")
    ap.add_argument("--max-queue", type=int, default=32, help="RAG_UI_MAX_QUEUE (default %(default)s)")
    ap.add_argument("--followups", action="store_true", help="each user keeps one conversation going")
    ap.add_argument("--soak", type=int, default=0, help="then run this many chats by 10 users")
    ap.add_argument("--store", type=Path, help="serve this store (real model) instead of the 11,298 one")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)
    figures: dict[str, Any] = {"machine": common.print_machine()}
    if not (common.ROOT / "ui" / "app.py").exists():
        print("TODO: ui/app.py is not there yet; nothing to load-test")
        return 0
    server = Server(args)
    try:
        print(
            f"server up in {server.startup:.1f} s (pid {server.proc.pid}); client {args.client};"
            f" concurrency {args.concurrency}, max queue {args.max_queue};"
            f" fake LLM: {args.reply} reply, {args.token_delay} s/word"
        )
        path = corpus.ensure(common.QUICK_SIZE, args.seed)
        users = [int(x) for x in args.users.split(",") if x.strip()]
        need = 5 + sum(n * args.chats for n in users) + args.soak
        qs = retrieval_bench.questions(path, need, args.seed + 7)
        run_users(server, 1, 5, qs[:5], args.client)  # warm-up
        qs = qs[5:]
        figures["runs"] = []
        for n in users:
            t0 = time.perf_counter()
            res = run_users(server, n, args.chats, qs[: n * args.chats], args.client, args.followups)
            qs = qs[n * args.chats :]
            figures["runs"].append(summarise(n, res, time.perf_counter() - t0))
        print(f"server RSS {server.rss_gb():.2f} GB")
        if args.soak:
            marks: dict[int, float] = {}
            checkpoints = {100, args.soak, *(args.soak * i // 4 for i in (1, 2, 3))}

            def on_done(count: int) -> None:
                if count in checkpoints:
                    marks[count] = server.rss_gb()

            t0 = time.perf_counter()
            res = run_users(server, 10, args.soak, qs[: args.soak], args.client, args.followups, on_done)
            summarise(10, res, time.perf_counter() - t0)
            line = ", ".join(f"after {k:,}: {v:.2f} GB" for k, v in sorted(marks.items()))
            print(f"soak: server RSS {line}")
            figures["soak_rss_gb"] = marks
    finally:
        server.stop()
    common.write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Peak memory (RSS of the process and its children, sampled every 20 ms) and startup time.

1. ingestion of the quick subset (bench/ingest_bench.py --quick's corpus) with the real model, in a child
   process; --full ingests all 208,619 segments with the stand-in embedder (--real: the real model, ~1 h);
2. the chat's serving core in-process, in a child: Lectern(...).warm_up() and a few searches and
   extractive answers, on the quick store (real model) and with --full-index on the 208,619-segment store,
   which is built by the STAND-IN embedder: there the child also loads the real model so its memory counts,
   while queries use the stand-in (a store records its model; the real one may not query it);
3. the real `python -m ui` server on the quick store: startup to first HTTP 200, and peak RSS while it
   answers a few questions through the public /ask API. --ui-store DIR does the same on any store built
   with the real model, e.g. the full 208,619-segment index (`RAG_STORE_DIR=DIR python ingest.py
   bench/out/corpus-208619-s0.jsonl`, ~12 min here).

Targets: chat server peak RSS <= 1.5 GB with the full index; startup <= 10 s.

    python bench/memory_bench.py --quick          # 1 and 2 and 3 on the quick store
    python bench/memory_bench.py --full-index     # also 2 on the 208,619-segment store
    python bench/memory_bench.py --no-ingest --ui-store bench/out/stores/208619-all-MiniLM-L6-v2-s0
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import corpus

GB = 2**30
HERE = Path(__file__).resolve()


# -- children ---------------------------------------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    """Runs inside the measured process; prints READY <seconds since start> and DONE."""
    t0 = time.perf_counter()
    import rag
    from rag.embeddings import LocalMiniLM

    standin = common.StandinEmbedder() if args.standin else None
    lectern = rag.Lectern(common.settings(Path(args.store)), embedder=standin)
    if args.child == "ingest":
        report = lectern.ingest([args.corpus], reset=True)
        print(f"DONE {time.perf_counter() - t0:.2f} {report.chunks}", flush=True)
        return
    real = None
    if standin is not None and args.with_real_model:
        real = LocalMiniLM()  # not queried: loaded so that its memory is counted
        real.embed_query("warm up")
    lectern.warm_up()
    lectern.search("what is a neural network")
    print(f"READY {time.perf_counter() - t0:.2f}", flush=True)
    for q in [
        "how do we train the model",
        "what is reinforcement learning",
        "the loss function gradient",
    ] * 7:
        lectern.search(q)
        lectern.ask(q + "?")
    print(f"DONE {time.perf_counter() - t0:.2f} {real is not None}", flush=True)


# -- the parent -------------------------------------------------------------------------------------


def watch(cmd: list[str], env: dict[str, str] | None = None, until: Any = None) -> dict[str, Any]:
    """Run cmd, sampling its tree's RSS every 20 ms; `until(proc, lines, t0)` may end it early (True)."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=common.ROOT
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(x.rstrip("\n") for x in proc.stdout), daemon=True)  # type: ignore[union-attr]
    reader.start()
    t0, peak, ready_at, ready_rss = time.perf_counter(), 0, None, 0
    while proc.poll() is None:
        peak = max(peak, common.rss_tree(proc.pid))
        if ready_at is None and any(x.startswith("READY") for x in lines):
            ready_at, ready_rss = time.perf_counter() - t0, common.rss_tree(proc.pid)
        if until is not None and until(proc, lines, t0):
            break
        time.sleep(0.02)
    wall = time.perf_counter() - t0
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    reader.join(5)
    if proc.returncode not in (0, -15) or not any(x.startswith(("DONE", "READY", "*")) for x in lines):
        print(f"  {cmd[1:]} exited {proc.returncode}:\n    " + "\n    ".join(lines[-15:]))
    return {
        "peak_gb": peak / GB,
        "ready_s": ready_at,
        "ready_gb": ready_rss / GB,
        "wall_s": wall,
        "lines": lines,
    }


def me(*extra: str) -> list[str]:
    return [sys.executable, str(HERE), *extra]


def ingestion(full: bool, real: bool, seed: int) -> dict[str, Any]:
    import ingest_bench

    n = common.FULL_SIZE if full else ingest_bench.QUICK_SEGMENTS
    path = corpus.ensure(n, seed)
    standin = full and not real
    with tempfile.TemporaryDirectory(prefix="lectern-mem-") as tmp:
        flags = ["--standin"] if standin else []
        got = watch(me("--child", "ingest", "--corpus", str(path), "--store", tmp, *flags))
    done = next((x for x in got["lines"] if x.startswith("DONE")), "DONE ? ?").split()
    label = " [STAND-IN embedder]" if standin else ""
    print(
        f"ingest {n:,} segments ({done[2]} chunks){label}:"
        f" peak RSS {got['peak_gb']:.2f} GB, {got['wall_s']:.0f} s"
    )
    return {f"ingest_{n}_peak_gb": got["peak_gb"]}


def in_process(size: int, seed: int) -> dict[str, Any]:
    from rag.embeddings import LocalMiniLM

    standin = size > 50_000
    emb = common.StandinEmbedder() if standin else LocalMiniLM()
    where = common.store_dir(size, emb.name, seed)
    _lectern, built = common.build_store(corpus.ensure(size, seed), where, emb)
    del _lectern, emb
    flags = ["--standin", "--with-real-model"] if standin else []
    got = watch(me("--child", "serve", "--store", str(where), *flags))
    label = " [STAND-IN index and queries + the real model loaded]" if standin else " [real model]"
    ok = got["peak_gb"] <= 1.5 and (got["ready_s"] or 99) <= 10
    print(
        f"serving core, {size:,} segments / {built['chunks']:,} chunks{label}:"
        f" ready in {got['ready_s'] or float('nan'):.1f} s at {got['ready_gb']:.2f} GB;"
        f" peak RSS {got['peak_gb']:.2f} GB after 42 questions  {common.verdict(ok)}"
    )
    return {f"serve_{size}_peak_gb": got["peak_gb"], f"serve_{size}_ready_s": got["ready_s"]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ui_server(seed: int, store: Path | None = None) -> dict[str, Any]:
    from rag.embeddings import LocalMiniLM

    where = store or common.store_dir(common.QUICK_SIZE, LocalMiniLM.name, seed)
    if store is None and not (where / "bench-built.json").exists():
        common.build_store(corpus.ensure(common.QUICK_SIZE, seed), where, LocalMiniLM())
    size = _segments(where)
    port = free_port()
    env = {
        **os.environ,
        "RAG_STORE_DIR": str(where),
        "RAG_UI_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    url = f"http://127.0.0.1:{port}/"
    state: dict[str, Any] = {}

    def until(proc: subprocess.Popen[str], lines: list[str], t0: float) -> bool:
        if "ready" not in state:
            try:
                with urllib.request.urlopen(url, timeout=1) as resp:
                    if resp.status == 200:
                        state["ready"] = time.perf_counter() - t0
                        state["asking"] = _ask_in_thread(url, state)
            except OSError:
                pass
            return time.perf_counter() - t0 > 120
        return not state["asking"].is_alive()

    got = watch([sys.executable, "-m", "ui"], env=env, until=until)
    ready = state.get("ready")
    if ready is None:
        print("python -m ui did not answer within 120 s:\n" + "\n".join(got["lines"][-15:]))
        return {}
    ok = got["peak_gb"] <= 1.5 and ready <= 10
    print(
        f"python -m ui, {size} [real model]: HTTP 200 after {ready:.1f} s;"
        f" peak RSS {got['peak_gb']:.2f} GB after {state.get('asked', 0)} /ask calls  {common.verdict(ok)}"
    )
    key = "ui_quick" if store is None else "ui_store"
    return {f"{key}_peak_gb": got["peak_gb"], f"{key}_ready_s": ready, f"{key}_size": size}


def _segments(store: Path) -> str:
    """What the store holds, from the bench's marker or the chunk count."""
    import json

    marker = store / "bench-built.json"
    info = json.loads(marker.read_text()) if marker.exists() else {}
    if "segments" in info:
        return f"{info['segments']:,} segments / {info.get('chunks', 0):,} chunks"
    import rag

    return f"{rag.Lectern(common.settings(store)).store.count():,} chunks"


def _ask_in_thread(url: str, state: dict[str, Any]) -> Any:
    def run() -> None:
        from gradio_client import Client

        client = Client(url, verbose=False)
        for q in ["how do we train the model", "what is reinforcement learning"] * 5:
            client.predict(q, api_name="/ask")
            state["asked"] = state.get("asked", 0) + 1

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="the default: quick-subset ingestion, quick store")
    ap.add_argument("--full", action="store_true", help="also ingest all 208,619 segments (stand-in)")
    ap.add_argument("--real", action="store_true", help="with --full: the real model (about an hour)")
    ap.add_argument("--full-index", action="store_true", help="also serve the 208,619-segment index")
    ap.add_argument("--no-ui", action="store_true", help="skip the `python -m ui` measurement")
    ap.add_argument("--ui-store", type=Path, help="run `python -m ui` on this store instead of the quick one")
    ap.add_argument("--no-ingest", action="store_true", help="skip the quick ingestion and serving-core runs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--child", choices=["ingest", "serve"], help=argparse.SUPPRESS)
    ap.add_argument("--store", help=argparse.SUPPRESS)
    ap.add_argument("--corpus", help=argparse.SUPPRESS)
    ap.add_argument("--standin", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--with-real-model", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args)
        return 0
    figures: dict[str, Any] = {"machine": common.print_machine()}
    print("targets: chat server peak RSS <= 1.5 GB with the full index, startup <= 10 s")
    if not args.no_ingest:
        figures.update(ingestion(False, False, args.seed))
    if args.full:
        figures.update(ingestion(True, args.real, args.seed))
    if not args.no_ingest:
        figures.update(in_process(common.QUICK_SIZE, args.seed))
    if args.full_index:
        figures.update(in_process(common.FULL_SIZE, args.seed))
    else:
        print("(the 208,619-segment index: --full-index)")
    if not args.no_ui:
        figures.update(ui_server(args.seed, args.ui_store))
    common.write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

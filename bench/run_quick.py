"""`make bench`: the quick benchmark set, then one summary table.

Runs, each as its own process (so one's memory and threads do not colour the next):
  bench/ingest_bench.py --quick
  bench/retrieval_bench.py --sizes 11298
  bench/memory_bench.py --quick          (in-process serving core; `python -m ui` when ui/app.py exists)
  bench/load_bench.py --users 1,10       (when ui/app.py exists)
Stores and corpora are cached in bench/out/ (gitignored); the first run builds them.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import ingest_bench

HERE = Path(__file__).resolve().parent
STEPS = [
    ("ingest", ["ingest_bench.py", "--quick"]),
    ("retrieval", ["retrieval_bench.py", "--sizes", str(common.QUICK_SIZE)]),
    ("memory", ["memory_bench.py", "--quick"]),
    ("load", ["load_bench.py", "--users", "1,10"]),
]


def run_step(name: str, argv: list[str], timeout: float) -> tuple[dict[str, Any], float]:
    out = common.OUT / f"quick-{name}.json"
    out.unlink(missing_ok=True)
    print(f"\n### {name}: python bench/{' '.join(argv)}", flush=True)
    t0 = time.perf_counter()
    try:
        subprocess.run([sys.executable, str(HERE / argv[0]), *argv[1:], "--json", str(out)], timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"### {name}: stopped after {timeout:.0f} s")
    seconds = time.perf_counter() - t0
    return (json.loads(out.read_text()) if out.exists() else {}), seconds


def row(figure: str, value: Any, unit: str, target: str = "") -> tuple[str, ...]:
    """A table row; a target like "<= 30" or ">= 2" is checked against the value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (figure, "-", target, "not run")
    ok = ""
    if target[:2] in ("<=", ">="):
        limit = float(target.split()[1])
        ok = common.verdict(value <= limit if target.startswith("<=") else value >= limit)
    return (figure, f"{value:,.2f} {unit}".strip(), target, ok)


def table(res: dict[str, dict[str, Any]]) -> list[tuple[str, ...]]:
    ing, mem, load = res.get("ingest", {}), res.get("memory", {}), res.get("load", {})
    ret = (res.get("retrieval", {}).get("sizes") or [{}])[0]
    q, n_ing = common.QUICK_SIZE, ingest_bench.QUICK_SEGMENTS
    rows = [
        row("ingest: model alone (a)", ing.get("model_chunks_per_s"), "chunks/s"),
        row("ingest: Lectern (b)", ing.get("lectern_chunks_per_s"), "chunks/s"),
        row("ingest: (a)/(b)", ing.get("a_over_b"), "", "<= 1.10"),
        row("re-ingest: share of first run", ing.get("reingest_share"), "", "<= 0.05"),
        row("re-ingest: chunks embedded", ing.get("reingest_embedded"), "", "<= 0"),
        row("Lectern / LlamaIndex tutorial", ing.get("lectern_over_tutorial"), "x", ">= 2"),
        row(f"search p50 ({q:,} segments)", ret.get("search_p50_ms"), "ms", "<= 30"),
        row("search p95", ret.get("search_p95_ms"), "ms", "<= 80"),
        row("search p50 / floor p50", ret.get("search_over_floor"), "x", "<= 1.5"),
        row("extractive ask p95", ret.get("ask_p95_ms"), "ms", "<= 150"),
        row(f"ingest peak RSS ({n_ing:,} segments)", mem.get(f"ingest_{n_ing}_peak_gb"), "GB"),
        row(f"serving core peak RSS ({q:,})", mem.get(f"serve_{q}_peak_gb"), "GB", "<= 1.5"),
        row("serving core ready", mem.get(f"serve_{q}_ready_s"), "s", "<= 10"),
        row(f"python -m ui peak RSS ({q:,})", mem.get("ui_quick_peak_gb"), "GB", "<= 1.5"),
        row("python -m ui ready", mem.get("ui_quick_ready_s"), "s", "<= 10"),
    ]
    for run in load.get("runs", []):
        n = run["users"]
        rows.append(row(f"chat N={n}: time to first token p95", run["ttft_p95_s"], "s"))
        rows.append(row(f"chat N={n}: full answer p95", run["full_p95_s"], "s"))
        rows.append(row(f"chat N={n}: errors", run["errors"], "", "<= 0"))
        rows.append(row(f"chat N={n}: told busy", run["busy"], ""))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated subset of: " + ", ".join(n for n, _ in STEPS))
    ap.add_argument("--timeout", type=float, default=600, help="per step, seconds (default %(default)s)")
    args = ap.parse_args(argv)
    info = common.print_machine()
    wanted = set(args.only.split(",")) if args.only else {n for n, _ in STEPS}
    results: dict[str, dict[str, Any]] = {}
    took: dict[str, float] = {}
    t0 = time.perf_counter()
    for name, step in STEPS:
        if name not in wanted:
            continue
        if name == "load" and not (common.ROOT / "ui" / "app.py").exists():
            print("\n### load: skipped, ui/app.py is not there yet (TODO)")
            continue
        results[name], took[name] = run_step(name, step, args.timeout)
    rows = [("figure", "value", "target", ""), *table(results)]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    steps = ", ".join(f"{k} {v:.0f} s" for k, v in took.items())
    print(f"\n=== summary ({time.perf_counter() - t0:.0f} s: {steps})")
    print("machine: " + "; ".join(f"{k}={v}" for k, v in info.items()))
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print(
        "the 1.5 GB target is for the full index: see retrieval_bench.py (both sizes) and"
        " memory_bench.py --full-index"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

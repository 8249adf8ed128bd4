"""`python -m rag`: search, ask, eval and stats over the store: a contract other tools script against."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .config import load_settings
from .errors import InputError, LecternError
from .evaluation import Scores, calibration, evaluate, read_questions
from .models import Answer, watch_url
from .pipeline import Lectern
from .prompts import format_time
from .retrieval import Retrieval


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rag", description="Ask questions of recorded lectures.")
    sub = p.add_subparsers(dest="command", required=True)
    for name, help_ in (
        ("search", "find the moments that match a question"),
        ("ask", "answer with citations"),
    ):
        s = sub.add_parser(name, help=help_)
        s.add_argument("question", nargs="?", help="the question (or use --stdin)")
        s.add_argument("--k", type=int, default=5, help="how many moments to retrieve (default 5)")
        s.add_argument("--video", action="append", metavar="ID", help="only this video (repeatable)")
        s.add_argument("--json", action="store_true", help="print JSON")
        s.add_argument("--stdin", action="store_true", help='JSON Lines on stdin: {"question", "history"}')
    e = sub.add_parser("eval", help="score retrieval and answers on a question set")
    e.add_argument("questions", type=Path, nargs="+", help="question files (JSON Lines), scored together")
    e.add_argument("--k", type=int, default=5)
    e.add_argument("--retrieval", choices=["hybrid", "dense", "bm25"], default="hybrid")
    e.add_argument("--no-answers", action="store_true", help="score retrieval only (faster)")
    e.add_argument("--json", action="store_true")
    e.add_argument("--misses", action="store_true", help="list the questions not found at rank 1")
    e.add_argument(
        "--calibrate", action="store_true", help="also print refusal rates for a range of RAG_MIN_RELEVANCE"
    )
    st = sub.add_parser("stats", help="what the store holds")
    st.add_argument("--json", action="store_true")
    return p


def search_json(question: str, r: Retrieval) -> dict[str, Any]:
    hits = [
        {
            "rank": h.rank,
            "video_id": h.video_id,
            "title": h.chunk.title,
            "start": int(h.chunk.start),
            "end": int(-(-h.chunk.end // 1)),
            "url": watch_url(h.video_id, h.chunk.start),
            "text": h.chunk.text,
            "score": round(h.score, 6),
        }
        for h in r.hits
    ]
    return {"question": question, "hits": hits}


def answer_json(a: Answer) -> dict[str, Any]:
    out = a.as_dict()
    if a.error:
        out["error"] = a.error
    return out


def _inputs(args: argparse.Namespace) -> Iterator[tuple[str, list[str]]]:
    if not args.stdin:
        if not args.question:
            raise SystemExit("error: give a QUESTION or --stdin")
        yield args.question, []
        return
    for n, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            q, history = d["question"], d.get("history") or []
            strings = isinstance(history, list) and all(isinstance(h, str) for h in history)
            if not isinstance(q, str) or not strings:
                raise TypeError("question must be a string and history a list of strings")
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError("stdin", f"not a question line ({exc})", n) from None
        yield q, history


def _print_hits(r: Retrieval) -> None:
    for h in r.hits:
        span = f"{format_time(h.chunk.start)}-{format_time(h.chunk.end)}"
        print(f"{h.rank}. {h.chunk.title or h.video_id}  {span}")
        print(f"   {watch_url(h.video_id, h.chunk.start)}")
        print(f"   {h.chunk.text[:240]}")


def _print_answer(a: Answer) -> None:
    print(a.answer)
    if a.error:
        print(f"\n(note: {a.error})")
    for c in a.citations:
        print(f"[{c.n}] {c.title or c.video_id} {format_time(c.start)}  {c.url}\n    “{c.quote}”")


def _run_questions(lectern: Lectern, args: argparse.Namespace) -> None:
    for question, history in _inputs(args):
        if args.command == "search":
            r = lectern.search(question, k=args.k, history=history, video_ids=args.video)
            if args.json or args.stdin:
                print(json.dumps(search_json(question, r), ensure_ascii=False))
            else:
                _print_hits(r)
        else:
            a = lectern.ask(question, k=args.k, history=history, video_ids=args.video)
            if args.json or args.stdin:
                print(json.dumps(answer_json(a), ensure_ascii=False))
            else:
                _print_answer(a)
        sys.stdout.flush()


def _run_eval(args: argparse.Namespace) -> None:
    # One list alone is scored as it ranks, without the late-interaction re-ranking of the hybrid default.
    single = {"rerank_top": 0}
    weights = {
        "hybrid": {}, "dense": {"bm25_weight": 0.0, **single}, "bm25": {"dense_weight": 0.0, **single}
    }[args.retrieval]  # fmt: skip
    lectern = Lectern(load_settings(**weights))
    questions = [q for path in args.questions for q in read_questions(path)]
    scores = evaluate(lectern, questions, k=args.k, answers=not args.no_answers)
    summary = {"retrieval": args.retrieval, "k": args.k, **scores.summary()}
    if args.json:
        print(json.dumps(summary))
    else:
        for key, value in summary.items():
            print(f"{key:44} {value}")
    if args.misses:
        print("\n".join(scores.misses), file=sys.stderr)
    if args.calibrate:
        _print_calibration(scores, args.json)


def _print_calibration(scores: Scores, as_json: bool) -> None:
    rows = calibration(scores, [t / 100 for t in range(50, 201)])
    if as_json:
        print(json.dumps({"calibration": rows}))
        return
    print(f"\n{'min_relevance':>14} {'refused right':>14} {'false refusals':>15}")
    for r in rows:
        print(f"{r['min_relevance']:>14.2f} {r['refusal_accuracy']:>14.3f} {r['false_refusal_rate']:>15.3f}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "eval":
            _run_eval(args)
        elif args.command == "stats":
            stats = Lectern(load_settings()).stats()
            print(json.dumps(stats) if args.json else "\n".join(f"{k:12} {v}" for k, v in stats.items()))
        else:
            _run_questions(Lectern(load_settings()), args)
    except LecternError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        return 0
    return 0

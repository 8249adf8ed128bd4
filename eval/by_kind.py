"""Hit@1 and hit@5 of each question set by the kind of question (paraphrase, lexical, followup), and
over all the sets: where follow-ups stand against the rest (README, Status).

    RAG_STORE_DIR=/tmp/evalfinal .venv/bin/python eval/by_kind.py [SET ...]   (default: every eval/*.jsonl)

Retrieval only, k = 5, as `python -m rag eval --no-answers` counts a hit (a follow-up is searched with its
history, as the CLI does).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

from rag.config import load_settings
from rag.evaluation import is_hit, read_questions
from rag.pipeline import Lectern

EVAL = Path(__file__).resolve().parent


def main() -> None:
    sets = [Path(a) for a in sys.argv[1:]] or sorted(EVAL.glob("*.jsonl"))
    lectern = Lectern(load_settings())
    total: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    print(f"{'set':22} {'kind':12} questions  hit@1  hit@5")
    for path in sets:
        with path.open(encoding="utf-8") as fh:
            kinds = {row["id"]: row["kind"] for row in map(json.loads, fh)}
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for q in read_questions(path):
            if not q.video_id:
                continue
            hits = lectern.search(q.question, k=5, history=q.history).hits
            rank = next((i for i, h in enumerate(hits, 1) if is_hit(h, q)), 0)
            for c in (counts[kinds[q.id]], total[kinds[q.id]]):
                c[0] += 1
                c[1] += rank == 1
                c[2] += 0 < rank <= 5
        for kind, (n, one, five) in sorted(counts.items()):
            print(f"{path.name:22} {kind:12} {n:9}  {one:5}  {five:5}")
    for kind, (n, one, five) in sorted(total.items()):
        print(f"{'all':22} {kind:12} {n:9}  {one:5}  {five:5}   hit@1 {one / n:.3f}")


if __name__ == "__main__":
    main()

"""How many questions of each set name a lecture or a speaker, and whether the search they lead to holds
the right video (rag/naming.py; eval/EXPERIMENTS.md).

    RAG_STORE_DIR=/tmp/evalfinal .venv/bin/python eval/named.py [SET ...]   (default: every eval/*.jsonl)

Counts answerable questions only, after a follow-up is rewritten into its standalone query, as
`python -m rag eval` does.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rag.config import load_settings
from rag.evaluation import read_questions
from rag.naming import named_lectures, named_speakers
from rag.pipeline import Lectern

EVAL = Path(__file__).resolve().parent


def main() -> None:
    sets = [Path(a) for a in sys.argv[1:]] or sorted(EVAL.glob("*.jsonl"))
    lectern = Lectern(load_settings())
    kw = lectern.keyword()
    totals = [0, 0, 0, 0, 0]
    print(f"{'set':22} answerable  lecture (right video in)  speaker only (right video in)")
    for path in sets:
        counts = [0, 0, 0, 0, 0]
        for q in read_questions(path):
            if not q.video_id:
                continue
            query = lectern.answerer.standalone(q.question, q.history) if q.history else q.question
            counts[0] += 1
            lecture = named_lectures(query, kw.names)
            if lecture is not None:
                counts[1] += 1
                counts[2] += q.video_id in lecture.videos
                if q.video_id not in lecture.videos:
                    print(f"  {q.id}: names {sorted(lecture.videos)}, answered in {q.video_id}: {query}")
                continue
            speaker = named_speakers(query, kw.speakers)
            if speaker is not None:
                counts[3] += 1
                counts[4] += q.video_id in speaker.videos | speaker.also
        totals = [t + c for t, c in zip(totals, counts, strict=True)]
        print(
            f"{path.name:22} {counts[0]:10}  {counts[1]:7} ({counts[2]})"
            + " " * 17
            + f"{counts[3]:5} ({counts[4]})"
        )
    print(
        f"{'all':22} {totals[0]:10}  {totals[1]:7} ({totals[2]})" + " " * 17 + f"{totals[3]:5} ({totals[4]})"
    )


if __name__ == "__main__":
    main()

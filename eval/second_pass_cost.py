"""What the retriever's second pass costs: search latency of the eval questions with and without it.

    RAG_STORE_DIR=/tmp/evalfinal .venv/bin/python eval/second_pass_cost.py

Searches each question of both sets once (query embeddings not yet cached) and prints how many took the
second pass (the dense query again, without the names of the lecture found) and the median search time
of each group. Whether a question took it is re-derived from its final top hit's title, which is the first
pass's top lecture unless the second pass changed it.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from rag.config import load_settings
from rag.evaluation import read_questions
from rag.pipeline import Lectern
from rag.retrieval import dense_query, without_names

EVAL = Path(__file__).resolve().parent


def main() -> None:
    lectern = Lectern(load_settings())
    lectern.search("a warm-up question about networks", k=5)  # loads the model and the keyword index
    questions = read_questions(EVAL / "questions.jsonl") + read_questions(EVAL / "heldout.jsonl")
    times: dict[bool, list[float]] = {True: [], False: []}
    for q in questions:
        began = time.perf_counter()
        got = lectern.search(q.question, k=5, history=q.history)
        ms = (time.perf_counter() - began) * 1000
        text = dense_query(got.query)
        if got.hits:
            times[without_names(text, got.hits[0].chunk.title) != text].append(ms)
    print(f"{len(questions)} questions, {len(times[True])} with a second pass")
    for took, label in ((False, "one pass"), (True, "two passes")):
        print(f"{label:10} median search {statistics.median(times[took]):.1f} ms over {len(times[took])}")


if __name__ == "__main__":
    main()

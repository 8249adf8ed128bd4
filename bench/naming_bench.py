"""What finding the lectures a question names costs per query (rag/naming.py), against many lectures.

    .venv/bin/python bench/naming_bench.py [--videos 2068]

The names are the real lecture titles and speakers (../shared/data/lectures/manifest.json, else the bundled
sample's two titles) cycled to --videos lectures with a session number, as bench/corpus.py names the
videos of its 208,619-row stand-in corpus (2,068 videos): many names share most of their words, the worst
case for matching. Prints the median time per call for questions that name no lecture, one, and one by
its speaker, and the speakers a question names without "lecture" or "talk" (`named_speakers`, the fallback
when no lecture is named), after one warm-up call (names and speakers are indexed once and cached).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

from rag.naming import named_lectures, named_speakers

QUESTIONS = {
    "names none": "Why does the vanishing gradient problem make long-term dependencies hard to learn?",
    "names a lecture": "In the deep RL lecture, why is the reward so hard to define for a human life?",
    "names a speaker": "What did Hassabis's public talk say about AlphaGo's move 37?",
    "speaker, no talk": "What does Hassabis say about AlphaGo's move 37?",
}


def titles() -> list[str]:
    manifest = common.LECTURES / "manifest.json"
    if manifest.exists():
        return [f"{e['title']} {e.get('speaker_or_channel', '')}" for e in json.loads(manifest.read_text())]
    sample = common.ROOT / "data" / "youtube-transcriptions-sample.jsonl"
    return sorted({json.loads(line)["title"] for line in sample.open(encoding="utf-8")})


def speakers() -> list[str]:
    manifest = common.LECTURES / "manifest.json"
    if manifest.exists():
        return [e.get("speaker_or_channel", "") for e in json.loads(manifest.read_text())]
    return [""]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--videos", type=int, default=2068)
    p.add_argument("--repeat", type=int, default=200)
    args = p.parse_args()
    base = titles()
    names = {f"v{i:010d}": f"{base[i % len(base)]} (session {i})" for i in range(args.videos)}
    people = speakers()
    channels = {f"v{i:010d}": people[i % len(people)] for i in range(args.videos)}
    print(f"{args.videos} lectures, names from {len(base)} real titles")
    for label, question in QUESTIONS.items():
        for finder, known in ((named_lectures, names), (named_speakers, channels)):
            named = finder(question, known)  # warm-up: indexes every name once
            times = []
            for _ in range(args.repeat):
                began = time.perf_counter()
                finder(question, known)
                times.append(time.perf_counter() - began)
            found = len(named.videos) if named else 0
            print(
                f"{label:16} {finder.__name__:15} {statistics.median(times) * 1000:7.3f} ms"
                f"   ({found} lectures matched)"
            )


if __name__ == "__main__":
    main()

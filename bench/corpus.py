"""A synthetic corpus in the jamescalam/youtube-transcriptions schema, recombined from real transcripts.

Sentences of the real lectures (../shared/data/lectures/*.srt when present, else the bundled 100-row
sample) are resampled into ~N/100 synthetic videos: each video draws runs of consecutive sentences, mostly
from one "topic" lecture, and cuts the words into short segments (5-10 words, 3-6 s), like the real
208,619-row dataset. Deterministic from --seed.

    python bench/corpus.py                      # 208,619 rows -> bench/out/corpus-208619-s0.jsonl
    python bench/corpus.py -n 11298 --out /tmp/c.parquet
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import string
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

ID_CHARS = string.ascii_letters + string.digits + "-_"
_END = re.compile(r"[.!?][\"')\]]*$")
SEGMENTS_PER_VIDEO = (60, 141)  # uniform, mean ~100
WORDS_PER_SEGMENT = (5, 11)  # uniform, 5..10
FIELDS = ("title", "published", "url", "video_id", "channel_id", "id", "text", "start", "end")


def _sentences(words: list[str], rng: np.random.Generator) -> list[list[str]]:
    """Split at sentence ends; unpunctuated runs become pieces of 12-25 words."""
    out: list[list[str]] = []
    cur: list[str] = []
    for w in words:
        cur.append(w)
        if _END.search(w) or len(cur) >= 40:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    pieces: list[list[str]] = []
    for s in out:
        while len(s) > 30:
            cut = int(rng.integers(12, 26))
            pieces.append(s[:cut])
            s = s[cut:]
        pieces.append(s)
    return pieces


def read_sources(sources: list[str], seed: int) -> list[Source]:
    """(title, sentences) per real video, in video id order."""
    from rag.loaders import load

    loaded = load(sources)
    by_video: dict[str, list[Any]] = {}
    for seg in loaded.segments:
        by_video.setdefault(seg.video_id, []).append(seg)
    rng = np.random.default_rng(seed)
    out = []
    for vid in sorted(by_video):
        segs = sorted(by_video[vid], key=lambda s: s.start)
        words = " ".join(s.text for s in segs).split()
        out.append((segs[0].title or vid, _sentences(words, rng)))
    if not out:
        raise SystemExit(f"no segments in {sources}")
    return out


def _ids(rng: np.random.Generator, n: int, length: int, prefix: str = "") -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        new = prefix + "".join(ID_CHARS[i] for i in rng.integers(0, len(ID_CHARS), length))
        if new not in seen:
            seen.add(new)
            out.append(new)
    return out


Source = tuple[str, list[list[str]]]  # title, sentences


def _video_words(sources: list[Source], topic: int, need: int, rng: np.random.Generator) -> list[str]:
    """At least `need` words: runs of 3-12 consecutive sentences, 80% from the topic lecture."""
    words: list[str] = []
    while len(words) < need:
        src = topic if rng.random() < 0.8 else int(rng.integers(len(sources)))
        sents = sources[src][1]
        i = int(rng.integers(len(sents)))
        for s in sents[i : i + int(rng.integers(3, 13))]:
            words.extend(s)
    return words


def generate(n: int = common.FULL_SIZE, seed: int = 0, sources: list[str] | None = None) -> list[dict]:
    rng = np.random.default_rng(seed)
    real = read_sources(sources or common.real_sources(), seed)
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.append(int(rng.integers(*SEGMENTS_PER_VIDEO)))
    sizes[-1] -= sum(sizes) - n
    if sizes[-1] <= 0:
        sizes.pop()
    video_ids = _ids(rng, len(sizes), 11)
    channels = _ids(rng, 40, 22, "UC")
    epoch = dt.datetime(2018, 1, 1, tzinfo=dt.UTC)
    rows: list[dict[str, Any]] = []
    for v, (vid, size) in enumerate(zip(video_ids, sizes, strict=True)):
        topic = int(rng.integers(len(real)))
        lengths = rng.integers(*WORDS_PER_SEGMENT, size)
        words = _video_words(real, topic, int(lengths.sum()), rng)
        title = f"{real[topic][0]} (session {v + 1})"
        published = (epoch + dt.timedelta(seconds=int(rng.integers(0, 5 * 365 * 86400)))).strftime(
            "%Y-%m-%d %H:%M:%S UTC"
        )
        channel = channels[int(rng.integers(len(channels)))]
        t, pos = 0.0, 0
        for k in lengths:
            text = " ".join(words[pos : pos + int(k)])
            pos += int(k)
            start = round(t, 2)
            end = round(start + float(np.clip(k * 0.5 + rng.normal(0, 0.6), 3.0, 6.0)), 2)
            row: dict[str, Any] = dict(title=title, published=published, url=f"https://youtu.be/{vid}")
            row.update(video_id=vid, channel_id=channel, id=f"{vid}-t{start}", text=text)
            row.update(start=start, end=end)
            rows.append(row)
            t = end + float(rng.uniform(0.0, 0.3))
    return rows


def write(rows: list[dict[str, Any]], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    if out.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), tmp)
    else:
        with open(tmp, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(out)  # never a half-written corpus under the cached name


def ensure(n: int, seed: int = 0, suffix: str = ".jsonl") -> Path:
    """The cached corpus of n rows in bench/out/, generated on first use."""
    path = common.OUT / f"corpus-{n}-s{seed}{suffix}"
    if not path.exists():
        write(generate(n, seed), path)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--segments", type=int, default=common.FULL_SIZE, help="rows (default %(default)s)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, help=".jsonl or .parquet (default bench/out/corpus-N-sSEED.jsonl)")
    args = ap.parse_args(argv)
    common.print_machine()
    out = args.out or common.OUT / f"corpus-{args.segments}-s{args.seed}.jsonl"
    t0 = time.perf_counter()
    rows = generate(args.segments, args.seed)
    write(rows, out)
    seconds = time.perf_counter() - t0
    videos = len({r["video_id"] for r in rows})
    words = np.mean([len(r["text"].split()) for r in rows])
    dur = np.mean([r["end"] - r["start"] for r in rows])
    print(f"sources: {common.real_sources()}")
    print(f"rows {len(rows):,}  videos {videos:,}  bytes {out.stat().st_size:,}  seconds {seconds:.1f}")
    print(f"mean words/segment {words:.1f}  mean seconds/segment {dur:.2f}  -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

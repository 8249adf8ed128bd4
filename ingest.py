#!/usr/bin/env python3
"""Ingest lecture transcripts into Lectern's store: a thin shell over rag's public API.

    python ingest.py [SOURCE ...] [--reset] [--strict] [--collection NAME] [--json]

SOURCE: .jsonl/.json/.csv/.parquet rows (pinecone/yt-transcriptions or jamescalam/youtube-transcriptions
schema), .srt/.vtt caption files or a directory of them, or hf:NAME[:SPLIT]. No SOURCE: the bundled sample.
Exit codes:
    0   ok (rows that could not be read are skipped and reported, unless --strict)
    1   bad input: a SOURCE that does not exist or cannot be read, a bad row under --strict, nothing
        ingestable; or the store: unreachable, locked by another ingest, built with another embedding
        model (rebuild with --reset). Sources are read and checked before anything is written.
    2   usage or configuration: an unknown option, an invalid RAG_* setting
    130 interrupted (Ctrl-C): the next run finishes what this one started
"""

from __future__ import annotations

import argparse
import json
import sys

import rag


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="ingest.py", description="Ingest lecture transcripts into Lectern.")
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="files, directories or hf:NAME[:SPLIT]")
    p.add_argument("--reset", action="store_true", help="delete the collection first, then ingest")
    p.add_argument("--strict", action="store_true", help="fail on the first bad row instead of skipping it")
    p.add_argument("--collection", help="collection name (default: RAG_COLLECTION or 'lectern')")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object on stdout")
    return p.parse_args(argv)


def summary(report: rag.IngestReport) -> str:
    lines = [
        f"Ingested {report.videos} video(s), {report.segments} segment(s) -> {report.chunks} chunk(s): "
        f"{report.chunks_embedded} embedded, {report.chunks_unchanged} unchanged, "
        f"{report.chunks_removed} removed, in {report.seconds:.1f} s."
    ]
    if report.skipped:
        lines.append(f"Skipped {len(report.skipped)} row(s) or cue(s):")
        lines += [f"  {s.source}, line {s.line}: {s.reason}" for s in report.skipped[:20]]
        if len(report.skipped) > 20:
            lines.append(f"  ... and {len(report.skipped) - 20} more (use --json for the full list)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = rag.load_settings(collection=args.collection)
        lectern = rag.Lectern(settings)
        report = lectern.ingest(args.sources, reset=args.reset, strict=args.strict, progress=not args.json)
    except rag.LecternError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: the next run finishes what this one started", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        print(summary(report), file=sys.stderr)
    if report.segments == 0:
        print("error: nothing ingestable in the given sources", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

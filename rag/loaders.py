"""Reads transcripts from files, folders and Hugging Face datasets into validated Segments.

Every row or cue is checked; a bad one becomes a Skipped (or, with strict=True, an InputError) that
names the source, the line and the field, so bad data never surfaces as a traceback. The rows of
JSON, JSON Lines, CSV, Parquet and datasets are read here and handed to rag.rows, which checks each;
rag.captions turns SRT and VTT lines into cues, which are checked like any other row.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path

from rag import captions
from rag.errors import DependencyError, InputError
from rag.models import is_video_id
from rag.rows import MAX_TEXT, Loaded, RowError, Sink

SUPPORTED = (".jsonl", ".json", ".csv", ".parquet", ".srt", ".vtt")
MANIFEST = "manifest.json"
NAME_RULE = "file name must start with the 11-character YouTube video id, like dQw4w9WgXcQ.en.vtt"
# Columns worth reading from Parquet; url and thumbnail are never trusted, so never read.
FIELDS = ("video_id", "text", "start_second", "end_second", "start", "end", "title", "channel_id")


def supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED and path.name != MANIFEST


def load(sources: Sequence[str], *, strict: bool = False) -> Loaded:
    """Reads every source in order: a file, a directory of files, or hf:NAME[:SPLIT]."""
    sink = _Reading(strict)
    for source in map(str, [sources] if isinstance(sources, str) else sources):
        if source.startswith("hf:"):
            _read_hf(source, sink)
            continue
        for path, name in _expand(source):
            _read_file(path, name, sink)
    return sink.loaded


class _Reading(Sink):
    """One load() call's Sink, which also reads each caption folder's manifest.json, once."""

    def __init__(self, strict: bool) -> None:
        super().__init__(strict)
        self._manifests: dict[Path, dict[str, tuple[str, str]]] = {}

    def manifest(self, directory: Path) -> dict[str, tuple[str, str]]:
        if directory not in self._manifests:
            path = directory / MANIFEST
            try:
                entries = _parse_manifest(path) if path.is_file() else {}
            except RowError as error:
                entries = {}
                self.skip(str(path), error.line, error.reason)
            self._manifests[directory] = entries
        return self._manifests[directory]


def _expand(source: str) -> list[tuple[Path, str]]:
    """The files behind one source, each with the name problems are reported under."""
    path = Path(source)
    try:
        if not source.strip() or not path.exists():
            raise InputError(source, "no such file or directory")
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file() and supported(p))
            if not files:
                raise InputError(source, f"no supported files in this directory ({', '.join(SUPPORTED)})")
            return [(p, str(p)) for p in files]
    except (OSError, ValueError) as error:
        raise InputError(source, f"cannot read: {getattr(error, 'strerror', None) or error}") from None
    if path.name == MANIFEST:
        raise InputError(source, "manifest.json gives caption titles; it holds no transcript")
    if not supported(path):
        kind = path.suffix or "(none)"
        raise InputError(source, f"unsupported file type {kind}: supported are {', '.join(SUPPORTED)}")
    return [(path, source)]


def _read_file(path: Path, source: str, sink: _Reading) -> None:
    suffix = path.suffix.lower()
    if suffix != ".parquet":
        problem = _sniff(path)
        if problem:
            sink.skip(source, 0, problem)
            return
    if suffix in (".srt", ".vtt"):
        video_id = path.name.split(".", 1)[0]
        if not is_video_id(video_id):
            raise InputError(source, NAME_RULE)
    sink.loaded.sources.append(source)
    try:
        count = _READERS[suffix](path, source, sink)
    except OSError as error:
        sink.skip(source, 0, f"cannot read: {error.strerror or error}")
        return
    if count == 0:
        sink.skip(source, 0, "empty file")


def _sniff(path: Path) -> str | None:
    try:
        with path.open("rb") as file:
            head = file.read(8192)
    except OSError as error:
        return f"cannot read: {error.strerror or error}"
    if b"\x00" in head:
        try:  # final=False: the 8 KB cut may split a character
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except UnicodeDecodeError:
            return "not a text file"
    return None


def _decode(raw: bytes) -> str:
    # Not UTF-8: most likely Windows-1252; Latin-1 decodes any byte, so it never fails.
    for encoding in ("utf-8", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            pass
    return raw.decode("latin-1")


def _text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based number, text with its line ending) for each line, decoded one line at a time."""
    with path.open("rb") as file:
        for number, raw in enumerate(file, 1):
            yield number, _decode(raw.removeprefix(codecs.BOM_UTF8) if number == 1 else raw)


def _same(row: object) -> object:
    return row


def _json_row(text: str, whole_file: bool = False) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        line = error.lineno if whole_file else 0  # else the caller knows the file line
        raise RowError(f"invalid JSON: {error.msg} (column {error.colno})", line) from None
    except RecursionError:
        raise RowError("invalid JSON: nested too deeply") from None
    except ValueError as error:  # e.g. an integer with more digits than Python will parse
        raise RowError(f"invalid JSON: {error}") from None


def _take_lines(lines: Iterable[tuple[int, str]], source: str, sink: Sink) -> int:
    count = 0
    for number, line in lines:
        if line.strip():
            count += 1
            sink.take(source, number, _json_row, line)
    return count


def _read_json(path: Path, source: str, sink: Sink) -> int:
    first = next((line.lstrip() for _, line in _text_lines(path) if line.strip()), "")
    if not first.startswith("["):  # JSON Lines content: stream it
        return _take_lines(_text_lines(path), source, sink)
    try:
        rows = _json_row(_decode(path.read_bytes().removeprefix(codecs.BOM_UTF8)), whole_file=True)
    except RowError as error:
        sink.skip(source, error.line, error.reason)
        return 1
    assert isinstance(rows, list)  # the text starts with "[" and parsed
    for index, row in enumerate(rows, 1):
        sink.take(source, index, _same, row)
    return len(rows)


def _read_csv(path: Path, source: str, sink: Sink) -> int:
    reader = csv.reader(line for _, line in _text_lines(path))
    try:
        header = [name.strip() for name in next((r for r in reader if any(map(str.strip, r))), [])]
    except csv.Error as error:
        sink.skip(source, reader.line_num, f"malformed CSV header: {error}")
        return 1
    count = 0
    while True:
        line = reader.line_num + 1  # where the next record starts; a quoted field may span lines
        try:
            values = next(reader)
        except StopIteration:
            return count
        except csv.Error as error:
            count += 1
            sink.skip(source, line, _csv_problem(error))
            continue
        if any(value.strip() for value in values):
            count += 1
            sink.take(source, line, _csv_row, header, values)


def _csv_problem(error: csv.Error) -> str:
    if "field larger than field limit" in str(error):
        limit = csv.field_size_limit()
        return f"a field is longer than {limit} characters, more than the {MAX_TEXT} a segment may hold"
    return f"malformed CSV: {error}"


def _csv_row(header: list[str], values: list[str]) -> dict[str, str]:
    if len(values) > len(header):
        raise RowError(f"{len(values)} fields, but the header names {len(header)}")
    return dict(zip(header, values, strict=False))


def _read_parquet(path: Path, source: str, sink: Sink) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    count = 0
    if path.stat().st_size == 0:
        return 0
    try:
        file = pq.ParquetFile(path)
        columns = [name for name in file.schema_arrow.names if name in FIELDS]
        for batch in file.iter_batches(batch_size=4096, columns=columns):
            for row in batch.to_pylist():
                count += 1
                sink.take(source, count, _same, row)
    except (pa.ArrowException, ValueError, TypeError) as error:
        where = "not a readable Parquet file" if count == 0 else "rows from here on are unreadable"
        sink.skip(source, count + 1 if count else 0, f"{where}: {_brief(error)}")
        return max(count, 1)
    return count


def _read_hf(source: str, sink: Sink) -> None:
    name, _, split = source.removeprefix("hf:").partition(":")
    if not name.strip():
        raise InputError(source, "expected hf:NAME or hf:NAME:SPLIT")
    try:
        import datasets
    except ImportError:
        raise DependencyError(
            f"{source}: reading Hugging Face datasets needs the 'datasets' package: pip install 'lectern[hf]'"
        ) from None
    sink.loaded.sources.append(source)
    count = 0
    try:
        rows = datasets.load_dataset(name, split=split or "train")
        for count, row in enumerate(rows, 1):
            sink.take(source, count, _same, row)
    except InputError:
        raise
    except Exception as error:  # the hub client fails in many ways; the user needs one clear line
        where = f"reading stopped at row {count + 1}" if count else f"could not load dataset {name!r}"
        hint = "check the name and split; offline, only datasets already in the local cache can be read"
        raise InputError(source, f"{where}: {_brief(error)}; {hint}") from None


def _brief(error: BaseException) -> str:
    """The error's type and first line, without the traceback or the wall of text some libraries add."""
    message = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {message[:200]}".rstrip(": ")


def _parse_manifest(path: Path) -> dict[str, tuple[str, str]]:
    try:
        entries = _json_row(_decode(path.read_bytes().removeprefix(codecs.BOM_UTF8)), whole_file=True)
    except OSError as error:
        raise RowError(f"manifest ignored: {error.strerror or error}") from None
    except RowError as error:
        raise RowError(f"manifest ignored: {error.reason}", error.line) from None
    if not isinstance(entries, list):
        raise RowError("manifest ignored: expected a JSON list of objects")
    return captions.titles(entries)


def _caption_base(path: Path, sink: _Reading) -> dict[str, object]:
    video_id = path.name.split(".", 1)[0]
    title, channel = sink.manifest(path.parent).get(video_id, ("", ""))
    return {"video_id": video_id, "title": title, "channel_id": channel}


def _cue_row(base: dict[str, object], start: float, end: float, text: str) -> dict[str, object]:
    return {**base, "start": start, "end": end, "text": text}


def _read_captions(path: Path, source: str, sink: _Reading, *, vtt: bool) -> int:
    base, count = _caption_base(path, sink), 0
    for cue in captions.cues(_text_lines(path), vtt=vtt):
        count += 1
        if isinstance(cue, captions.Problem):
            sink.skip(source, cue.line, cue.reason)
        else:
            sink.take(source, cue.line, _cue_row, base, cue.start, cue.end, cue.text)
    return count


_READERS: dict[str, Callable[[Path, str, _Reading], int]] = {
    ".jsonl": lambda path, source, sink: _take_lines(_text_lines(path), source, sink),
    ".json": _read_json,
    ".csv": _read_csv,
    ".parquet": _read_parquet,
    ".srt": partial(_read_captions, vtt=False),
    ".vtt": partial(_read_captions, vtt=True),
}

"""SRT and WebVTT captions to cues (timing, plain text, YouTube's rolling repeats removed), and the
titles a caption folder's manifest.json gives them.

Pure functions over numbered text lines and parsed JSON; rag.loaders reads the files and validates each
cue as a row. A cue with a bad timing line comes out as a Problem rather than an exception, so the rest
of the file still loads. `clean` and `show` live here, not in rag.loaders, because captions need them too
and imports point one way: rag.rows uses them for every row it checks.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

from rag.models import is_video_id

TIMING_RULE = "HH:MM:SS,mmm --> HH:MM:SS,mmm"

_INVISIBLE = re.compile(
    "[\u200b-\u200d\u202a-\u202e\u2060\u2066-\u2069\ufeff\U000e0000-\U000e007f\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
)
# A tag starts with a letter or is a <00:00:01.014> word time, so "x < y and z > w" survives.
_TAG = re.compile(r"</?(?:[A-Za-z][^<>]*|[0-9:.]+)>|\{\\[^{}]*\}")
_TS = r"(?:([0-9]{1,6}):)?([0-5]?[0-9]):([0-5]?[0-9])(?:[.,]([0-9]{1,3}))?"
_TIMING = re.compile(rf"\s*{_TS}\s*-->\s*{_TS}(?:[ \t].*)?")
_WORD_TIME = re.compile(r"<[0-9:.]+>")
_VTT_META = ("WEBVTT", "NOTE", "STYLE", "REGION")


class Cue(NamedTuple):
    line: int  # of the timing line: where a problem with the cue is reported
    start: float
    end: float
    text: str  # may be blank; the loader reports that like any blank row


class Problem(NamedTuple):
    line: int
    reason: str


def clean(text: str) -> str:
    """Collapses whitespace and drops invisible characters that could hide text from a reader."""
    return " ".join(_INVISIBLE.sub("", text).split())


def show(value: object) -> str:
    """A repr short enough to quote in a one-line problem."""
    try:
        shown = repr(value)
    except ValueError:  # an int too long to print
        shown = f"<{type(value).__name__}>"
    return shown if len(shown) <= 40 else shown[:37] + "..."


def titles(entries: list[object]) -> dict[str, tuple[str, str]]:
    """(title, channel) by video id, from the entries of a caption folder's manifest.json."""
    found = {}
    for entry in entries:
        if isinstance(entry, dict) and is_video_id(entry.get("video_id")):
            title, channel = entry.get("title"), entry.get("speaker_or_channel")
            found[entry["video_id"]] = (
                clean(title) if isinstance(title, str) else "",
                clean(channel) if isinstance(channel, str) else "",
            )
    return found


def cues(lines: Iterable[tuple[int, str]], *, vtt: bool) -> Iterator[Cue | Problem]:
    """A Cue or Problem for each cue block of (number, text) lines, in order, minus rolling repeats.

    The first cue is never a rolling repeat, so a file with any cue block yields at least one item:
    counting the items tells an empty file.
    """
    emitted, rolling = [""], False
    for block in _blocks(lines, loose=not vtt):
        if vtt and (block[0][1].split() or [""])[0] in _VTT_META:
            continue
        timed = _cue(block)
        if isinstance(timed, Problem):
            yield timed
            continue
        line, start, end, texts = timed
        # Only captions with word times roll; in others a repeated line is a speaker repeating himself.
        rolling = rolling or any(_WORD_TIME.search(text) for text in texts)
        shown = [text for text in map(_caption_line, texts) if text]
        fresh = _unrolled(shown, emitted) if rolling else shown
        if shown and not fresh:
            continue  # all of it was just said: a rolling repeat
        emitted = fresh or emitted
        yield Cue(line, start, end, " ".join(fresh))


def _blocks(lines: Iterable[tuple[int, str]], *, loose: bool) -> Iterator[list[tuple[int, str]]]:
    """Groups lines into blank-line separated blocks. WebVTT counts only empty lines as blank:
    YouTube's cues hold lines of a single space."""
    block: list[tuple[int, str]] = []
    for number, raw in lines:
        line = raw.rstrip("\r\n")
        if not (line.strip() if loose else line):
            yield from _nonblank(block)
            block = []
        else:
            block.append((number, line))
    yield from _nonblank(block)


def _nonblank(block: list[tuple[int, str]]) -> Iterator[list[tuple[int, str]]]:
    # In WebVTT a line of spaces belongs to its cue; a block of nothing else is no cue.
    if any(line.strip() for _, line in block):
        yield block


def _cue(block: list[tuple[int, str]]) -> tuple[int, float, float, list[str]] | Problem:
    """(timing line number, start, end, text lines) of a block: [identifier], timing, text..."""
    first, second = block[0][1], block[1][1] if len(block) > 1 else ""
    # A first line without an arrow is a cue number or identifier, unless it is the broken timing line.
    at = 1 if "-->" not in first and ("-->" in second or (second and first.strip().isdecimal())) else 0
    number, timing = block[at]
    match = _TIMING.fullmatch(timing)
    if not match:
        return Problem(number, f"timing line {show(timing)} is not like {TIMING_RULE}")
    return number, _seconds(match.groups()[:4]), _seconds(match.groups()[4:]), [t for _, t in block[at + 1 :]]


def _seconds(parts: Sequence[str | None]) -> float:
    hours, minutes, seconds, fraction = parts
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + int(seconds or 0) + float(f"0.{fraction or 0}")


def _caption_line(text: str) -> str:
    # Tags go first, so an escaped "&lt;b&gt;" stays as visible text.
    return clean(html.unescape(_TAG.sub("", text)))


def _unrolled(shown: list[str], emitted: list[str]) -> list[str]:
    """The lines of a cue not yet said. YouTube's auto-captions roll: each cue repeats the line
    already shown above the new one, and a 10 ms cue then repeats the new line alone."""
    if shown == emitted:
        return []
    fresh: list[str] = []
    last = emitted[-1]
    for text in shown:
        if text != last:
            fresh.append(text)
            last = text
    return fresh

"""Answers, citations and status as HTML. Pure functions: no Gradio, nothing but `rag`'s public API.

Every string that came from a transcript, a title, a quote, the model or the user goes through `text()`
before it reaches markup; every link is built here from a validated video id and whole seconds.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping

import rag

PLAYER_ID = "lectern-player"
FRAME_ID = "lectern-player-frame"
NOW_PLAYING_ID = "lectern-now-playing"

# Zero-width, bidi-override and Unicode tag characters can hide or reorder text: never show them.
_INVISIBLE = re.compile(
    "[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]"
)
_MARK = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_QUOTE_SENTENCE = re.compile(r"\S.*?(?:[.!?]+(?=\s|$)|$)", re.S)  # a full stop inside "x.com" ends nothing
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_STOP_WORDS = """the and for are but not you all any can had her was one our out has him his how its may
new now see who did get she too use that with have this will your from they been were said each which
their what there when about into than them then these some would like just also does very what's it's"""
_STOP = frozenset(_STOP_WORDS.split())
MAX_MARK_WORDS = 24


def text(value: object) -> str:
    """Inert HTML text: invisible characters dropped, everything markup-significant escaped."""
    return html.escape(_INVISIBLE.sub("", str(value)), quote=True)


def multiline(value: str) -> str:
    return text(value).replace("\r\n", "\n").replace("\n", "<br>")


def time_range(c: rag.Citation) -> str:
    end = f"–{rag.format_time(c.end)}" if c.end > c.start else ""
    return f"{rag.format_time(c.start)}{end}"


def _linkable(c: rag.Citation) -> bool:
    return rag.is_video_id(c.video_id)


def chip(c: rag.Citation, *, label: str | None = None) -> str:
    """Plays the moment in the page's player (the page script intercepts the click); a plain watch link
    without script. Gradio's chat sanitizer keeps class and href, so the script reads the href."""
    shown = (
        label if label is not None else f'<span class="lectern-chip-n">{c.n}</span>{rag.format_time(c.start)}'
    )
    if not _linkable(c):
        return f'<span class="lectern-chip lectern-chip-dead">{shown}</span>'
    hint = text(f"Play “{c.title or 'lecture'}” from {rag.format_time(c.start)} in the player")
    url = text(rag.watch_url(c.video_id, c.start))
    return (
        f'<a class="lectern-chip" href="{url}" title="{hint}" target="_blank" rel="noopener noreferrer">'
        f"{shown}</a>"
    )


def open_link(c: rag.Citation, label: str = "↗") -> str:
    """The same moment on YouTube, in a new tab."""
    if not _linkable(c):
        return ""
    url = text(rag.watch_url(c.video_id, c.start))
    hint = text(f"Open {rag.format_time(c.start)} on YouTube (new tab)")
    return (
        f'<a class="lectern-open" href="{url}" target="_blank" rel="noopener noreferrer" title="{hint}" '
        f'aria-label="{hint}">{label}</a>'
    )


def with_chips(raw: str, citations: Iterable[rag.Citation]) -> str:
    """Escape `raw`, turning [n] markers into chips for the numbers that are real citations only."""
    by_n = {c.n: c for c in citations}
    out: list[str] = []
    pos = 0
    for m in _MARK.finditer(raw):
        out.append(multiline(raw[pos : m.start()]))
        cites = [by_n[n] for n in (int(x) for x in m.group(1).split(",")) if n in by_n]
        out.append("".join(chip(c) + open_link(c) for c in cites) if cites else text(m.group(0)))
        pos = m.end()
    out.append(multiline(raw[pos:]))
    return "".join(out)


def user_message(question: str) -> str:
    return multiline(question)


def streaming_message(partial: str) -> str:
    # Numbers in the stream point at retrieval order and are renumbered at the end: hide them until then.
    shown = re.sub(r"\s*" + _MARK.pattern, "", partial)
    caret = '<span class="lectern-caret">▍</span>'
    return f'<div class="lectern-answer lectern-streaming">{multiline(shown)}{caret}</div>'


def pending_message() -> str:
    searching = '<span class="lectern-muted">Searching the lectures…</span>'
    return f'<div class="lectern-answer lectern-streaming">{searching}</div>'


def answer_message(answer: rag.Answer) -> str:
    badges = []
    if answer.mode == "refused":
        badges.append('<span class="lectern-badge lectern-badge-refused">Not covered</span>')
    elif answer.mode == "extractive":
        badges.append('<span class="lectern-badge">Quoted from the lectures</span>')
    if answer.interrupted:
        badges.append('<span class="lectern-badge lectern-badge-warn">Interrupted</span>')
    notes = []
    if answer.error and not answer.interrupted:
        notes.append(f"Note: {answer.error}.")
    if answer.unsupported:
        n = len(answer.unsupported)
        plural = "s" if n > 1 else ""
        notes.append(f"{n} sentence{plural} could not be matched to a lecture moment; shown without a link.")
    head = f'<div class="lectern-badges">{"".join(badges)}</div>' if badges else ""
    foot = "".join(f'<div class="lectern-note">{text(n)}</div>' for n in notes)
    body = with_chips(answer.answer, answer.citations)
    return f'<div class="lectern-answer lectern-mode-{text(answer.mode)}">{head}<div>{body}</div>{foot}</div>'


def error_message(message: str) -> str:
    return (
        '<div class="lectern-answer lectern-error">'
        f'<span class="lectern-badge lectern-badge-warn">Error</span><div>{text(message)}</div></div>'
    )


EMPTY_INDEX = (
    "No lectures are indexed yet. Run <code>python ingest.py</code> to index the bundled sample "
    "(or <code>python ingest.py your-transcripts.jsonl</code>), then reload this page."
)


def empty_index_message() -> str:
    return f'<div class="lectern-answer lectern-empty">{EMPTY_INDEX}</div>'


# -- sources panel ------------------------------------------------------------------------------------


def _words(s: str) -> set[str]:
    return {w.casefold()[:6] for w in _WORD.findall(s) if len(w) > 2 and w.casefold() not in _STOP}


def citing_text(answer: rag.Answer, n: int) -> str:
    """What the citation is evidence for: the answer's sentences that cite it, else the question."""
    if answer.mode == "llm":
        hits = [s for s in _SENTENCE.split(answer.answer) if n in _numbers(s)]
        if hits:
            return _MARK.sub(" ", " ".join(hits))
    return answer.question


def _numbers(sentence: str) -> set[int]:
    return {int(x) for m in _MARK.finditer(sentence) for x in m.group(1).split(",")}


def _best_span(quote: str, target: set[str]) -> tuple[int, int] | None:
    """Character span of the quote that supports the target: its best sentence when the transcript is
    punctuated, else the tightest run of matching words (speech recognition rarely adds full stops)."""
    sentences = [(m.start(), m.end()) for m in _QUOTE_SENTENCE.finditer(quote)]
    if len(sentences) > 1:
        scored = [(len(_words(quote[a:b]) & target), -a, a, b) for a, b in sentences]
        best = max(scored)
        return (best[2], best[3]) if best[0] else None
    words = [(m.start(), m.end(), m.group().casefold()[:6]) for m in _WORD.finditer(quote)]
    hits = [i for i, w in enumerate(words) if w[2] in target]
    if not hits:
        return None
    best_run = (0, hits[0], hits[0])
    for i, first in enumerate(hits):
        last = max(h for h in hits[i:] if h - first < MAX_MARK_WORDS)
        count = sum(1 for h in hits[i:] if h <= last)
        best_run = max(best_run, (count, first, last), key=lambda r: (r[0], -r[1]))
    return words[best_run[1]][0], words[best_run[2]][1]


def highlighted_quote(quote: str, target: str) -> str:
    span = _best_span(quote, _words(target))
    if span is None:
        return text(quote)
    a, b = span
    return f"{text(quote[:a])}<mark>{text(quote[a:b])}</mark>{text(quote[b:])}"


def _thumbnail(c: rag.Citation) -> str:
    if not _linkable(c):
        return '<span class="lectern-thumb"></span>'
    src = text(rag.thumbnail_url(c.video_id))
    img = f'<img src="{src}" alt="" loading="lazy" referrerpolicy="no-referrer">'
    return chip(c, label=f'{img}<span class="lectern-thumb-time">{rag.format_time(c.start)}</span>').replace(
        'class="lectern-chip"', 'class="lectern-chip lectern-thumb"', 1
    )


def source_card(c: rag.Citation, answer: rag.Answer) -> str:
    title = text(c.title or "Untitled lecture")
    # A refusal's nearest moments support nothing: show them plain.
    quote = (
        text(c.quote) if answer.mode == "refused" else highlighted_quote(c.quote, citing_text(answer, c.n))
    )
    return (
        f'<div class="lectern-card">{_thumbnail(c)}<div class="lectern-card-body">'
        f'<div class="lectern-card-title"><span class="lectern-card-n">{c.n}</span>{title}</div>'
        f'<div class="lectern-card-time">{time_range(c)}</div>'
        f'<blockquote class="lectern-quote">{quote}</blockquote>'
        f'<div class="lectern-card-actions">{chip(c, label=f"▶ Play {rag.format_time(c.start)}")}'
        f"{open_link(c, 'Open on YouTube ↗')}</div></div></div>"
    )


def sources_panel(answer: rag.Answer | None) -> str:
    if answer is None or not answer.citations:
        return (
            '<div class="lectern-sources"><div class="lectern-sources-head">Sources</div>'
            '<div class="lectern-muted">The moments an answer cites appear here, with the quoted transcript.'
            "</div></div>"
        )
    heading = "Nearest moments (not an answer)" if answer.mode == "refused" else "Sources"
    cards = "".join(source_card(c, answer) for c in answer.citations)
    n = len(answer.citations)
    return (
        f'<div class="lectern-sources"><div class="lectern-sources-head">{heading}'
        f'<span class="lectern-muted"> · {n} moment{"s" if n > 1 else ""}</span></div>{cards}</div>'
    )


# -- status line and player ---------------------------------------------------------------------------


def status_line(mode: str, stats: Mapping[str, object]) -> str:
    if mode.startswith("llm"):
        model = mode.partition("(")[2].rstrip(")") or "language model"
        badge = f'<span class="lectern-badge lectern-badge-llm">LLM answers · {text(model)}</span>'
    else:
        badge = '<span class="lectern-badge">Offline: extractive answers (no language model)</span>'
    videos, chunks = _count(stats.get("videos")), _count(stats.get("chunks"))
    if not chunks:
        return f'<div class="lectern-status">{badge}<span class="lectern-warn">{EMPTY_INDEX}</span></div>'
    index = f"{videos} lecture{'s' if videos != 1 else ''} · {chunks} passages indexed"
    return f'<div class="lectern-status">{badge}<span>{index}</span></div>'


def status_error(message: str) -> str:
    return f'<div class="lectern-status"><span class="lectern-warn">{text(message)}</span></div>'


def _count(value: object) -> int:
    return value if isinstance(value, int) else 0


def player() -> str:
    return (
        f'<div class="lectern-player-box"><div class="lectern-player-frame">'
        f'<iframe id="{FRAME_ID}" title="Lecture player" src="about:blank" '
        'allow="autoplay; encrypted-media; picture-in-picture; fullscreen" allowfullscreen '
        'referrerpolicy="strict-origin-when-cross-origin"></iframe>'
        '<div class="lectern-player-empty"><div class="lectern-player-icon">▶</div>'
        "<div>Click a timestamp to play that moment here</div></div></div>"
        f'<div id="{NOW_PLAYING_ID}" class="lectern-now-playing"></div></div>'
    )

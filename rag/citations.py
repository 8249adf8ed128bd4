"""From a retrieved chunk and a sentence to the exact moment that supports it.

A chunk spans up to a minute or two; a citation must open the lecture where the answer is spoken, so each
citation points at the segment inside the chunk whose words best match the cited sentence. Numbers in model
output are mapped by position in the list of sources Lectern built, and links come only from stored ids.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .keyword import terms
from .models import Chunk, Citation

IdfFn = Callable[[str], float]
EmbedFn = Callable[[Sequence[str]], np.ndarray]
Seg = tuple[float, float, str]  # a segment inside a chunk: start, end, text

_MARK = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\(((?:[^()]|\([^()]*\))*)\)")  # one level of (nested) parens
_URL = re.compile(r"(?:(?:https?|javascript|data|vbscript|file):|www\.)[^\s)\]>\"']*", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")  # "<script ...>", "</b>"; "x < y and z > w" survives
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\U000e0000-\U000e007f]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
QUOTE_CHARS = 320
MIN_LEXICAL_SUPPORT = 0.25
MIN_EMBED_SUPPORT = 0.35
SHORTLIST = 8  # segments per chunk compared by embedding when locating a citation


@dataclass(frozen=True, slots=True)
class Moment:
    start: int
    end: int
    quote: str
    score: float


def _lexical(query_terms: set[str], text: str, idf: IdfFn) -> float:
    return sum(idf(t) for t in query_terms & set(terms(text)))


def _shortlist(segs: Sequence[Seg], text: str, idf: IdfFn) -> tuple[list[int], list[float]]:
    """Indices of the segments whose words best match `text` (at most SHORTLIST), and every joint score."""
    q = set(terms(text))
    scores = [_lexical(q, s[2], idf) for s in segs]
    # A sentence often runs over a cue boundary: let the next segment add a little to the score.
    joint = [sc + 0.5 * (scores[i + 1] if i + 1 < len(scores) else 0.0) for i, sc in enumerate(scores)]
    return sorted(range(len(segs)), key=lambda i: (-joint[i], i))[:SHORTLIST], joint


def locate_all(chunks: Sequence[Chunk], text: str, idf: IdfFn, embed: EmbedFn | None = None) -> list[Moment]:
    """For each chunk, the segment that best supports `text`, with its neighbour's words as context.

    Word overlap (idf-weighted) shortlists the segments; with an embedding function, the shortlisted one
    most similar to `text` wins, all chunks' shortlists embedded in one model call. On both question sets
    that put the citation within 10 s of the answer for 57 of 89 correct top hits, against 52 by word
    overlap alone; embedding every segment gained 2 more but made an extractive answer ~2.5x slower
    (eval/EXPERIMENTS.md).
    """
    segs = [c.segments() for c in chunks]
    picks = [_shortlist(s, text, idf) for s in segs]
    sims: list[list[float]] = [[] for _ in chunks]
    if embed is not None and chunks:
        vecs = embed([text, *(segs[k][i][2] for k, (short, _) in enumerate(picks) for i in short)])
        flat = iter((vecs[1:] @ vecs[0]).tolist())
        sims = [[next(flat) for _ in short] for short, _ in picks]
    return [_moment(s, short, joint, sim) for s, (short, joint), sim in zip(segs, picks, sims, strict=True)]


def locate(chunk: Chunk, text: str, idf: IdfFn, embed: EmbedFn | None = None) -> Moment:
    return locate_all([chunk], text, idf, embed)[0]


def _moment(segs: Sequence[Seg], short: list[int], joint: list[float], sims: list[float]) -> Moment:
    best = short[0]
    if sims:
        best = short[max(range(len(short)), key=lambda j: (round(sims[j], 4), -j))]
    start, end, quote = segs[best]
    if best + 1 < len(segs) and len(quote) < QUOTE_CHARS // 2:
        end, quote = segs[best + 1][1], f"{quote} {segs[best + 1][2]}"
    if len(quote) > QUOTE_CHARS:
        quote = quote[:QUOTE_CHARS].rsplit(" ", 1)[0] + "…"
    return Moment(math.floor(start), math.ceil(end), quote, joint[best])


def citation(n: int, chunk: Chunk, moment: Moment) -> Citation:
    return Citation(n, chunk.video_id, chunk.title, moment.start, max(moment.end, moment.start), moment.quote)


def clean_model_text(text: str) -> str:
    """Model output may echo injected transcript text: no links, no schemes, no HTML tags, no invisible
    characters."""
    text = _INVISIBLE.sub("", text)
    text = _MD_LINK.sub(lambda m: m.group(1), text)
    text = _TAG.sub("", text)
    return re.sub(r"[ \t]{2,}", " ", _URL.sub("", text))


def quote_in_answer(quote: str) -> str:
    """A transcript quote inside answer text: cleaned like model text, and its square brackets can no
    longer pass for the answer's own citation marks."""
    return clean_model_text(quote).replace("[", "(").replace("]", ")").strip()


def split_sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text) if s.strip()]


def cited_numbers(sentence: str) -> list[int]:
    out: list[int] = []
    for m in _MARK.finditer(sentence):
        out.extend(int(x) for x in m.group(1).split(","))
    return out


def strip_marks(sentence: str) -> str:
    return re.sub(r"\s+([.,;:!?])", r"\1", " ".join(_MARK.sub("", sentence).split()))


def supported(sentence: str, chunk: Chunk, idf: IdfFn, embed: EmbedFn | None = None) -> bool:
    """Does the cited chunk say something like the sentence? Lexical first, embedding as the fallback."""
    words = set(terms(strip_marks(sentence)))
    if not words:
        return True  # nothing checkable ("Yes [1].")
    shared = words & set(terms(chunk.text))
    weight = sum(idf(t) for t in words) or 1.0
    if sum(idf(t) for t in shared) / weight >= MIN_LEXICAL_SUPPORT:
        return True
    if embed is None:
        return False
    vecs = embed([strip_marks(sentence), chunk.text])
    return float(vecs[0] @ vecs[1]) >= MIN_EMBED_SUPPORT


@dataclass(slots=True)
class Resolved:
    text: str
    citations: list[Citation]
    unsupported: list[str]


def resolve(answer: str, sources: Sequence[Chunk], idf: IdfFn, embed: EmbedFn | None = None) -> Resolved:
    """Map the model's [n] to sources by position, check support, renumber by first appearance.

    Numbers that match no source are dropped; a sentence whose citation has no support in its source loses
    it and is listed as unsupported. The same source cited by two sentences may yield two moments.
    """
    out_sentences: list[str] = []
    citations: list[Citation] = []
    keys: dict[tuple[str, int], int] = {}
    unsupported: list[str] = []
    for sentence in split_sentences(clean_model_text(answer)):
        body = strip_marks(sentence)
        marks: list[int] = []
        for n in cited_numbers(sentence):
            if not 1 <= n <= len(sources):
                continue
            chunk = sources[n - 1]
            if not supported(body, chunk, idf, embed):
                unsupported.append(body)
                continue
            moment = locate(chunk, body, idf, embed)
            key = (chunk.video_id, moment.start)
            if key not in keys:
                keys[key] = len(citations) + 1
                citations.append(citation(keys[key], chunk, moment))
            if keys[key] not in marks:
                marks.append(keys[key])
        suffix = "".join(f"[{m}]" for m in marks)
        if suffix and body[-1:] in ".!?":
            out_sentences.append(f"{body[:-1]} {suffix}{body[-1]}")
        else:
            out_sentences.append(f"{body} {suffix}".strip())
    return Resolved(" ".join(out_sentences), citations, sorted(set(unsupported), key=unsupported.index))

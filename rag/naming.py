"""Which lectures a question names: "the RNN lecture", "the intro lecture's", "Hassabis's talk".

A student who watched the lectures often says which one they mean, and then expects the answer from it.
Searched as words, the lecture's name does little against the question's topic words, which another talk
of the same series may say as often; embedded, it pulls towards wherever a lecture names its own topic.
So a question that names lectures is searched in them only. A name counts only when every one of its
words matches the lecture's title or speaker: as written, as the start of a title word ("intro" for
"Introduction"), or as an acronym of neighbouring title words ("RL" for "Reinforcement Learning"). A name
that matches nothing, or every lecture, changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from .keyword import singular

_TOKEN = re.compile(r"[\w'’&-]+")
_DETERMINER = frozenset({"the", "his", "her", "their"})
_POSSESSIVE = re.compile(r"([A-Z][\w-]*)['’]s$")  # "Hassabis's", "Fridman’s"
_POSSESSIVE_END = re.compile(r"['’]s\b")
_NOUN = re.compile(r"(?:lecture|talk)s?(?:['’]s)?$", re.IGNORECASE)  # "lecture", "talk's"
_VERB_NEXT = frozenset({"about", "to", "with", "through", "over"})
_WORD = re.compile(r"[a-z0-9]+")
# Words that say nothing about which lecture: left in, they would make a name match none.
_GENERIC = frozenset({"a", "an", "and", "of", "on", "to", "in", "about", "first", "last", "same", "whole"})


def _names_in(question: str) -> list[tuple[int, int]]:
    """Where each lecture the question refers to is named, as (start, end) offsets: "deep RL" in "the deep
    RL lecture", "Hassabis's public" in "Hassabis's public talk". The name is what stands between the
    nearest determiner or possessive and "lecture" or "talk", at most five words back."""
    tokens = list(_TOKEN.finditer(question))
    out = []
    for i, token in enumerate(tokens):
        if not _NOUN.fullmatch(token.group()):
            continue
        if i + 1 < len(tokens) and tokens[i + 1].group().lower() in _VERB_NEXT:
            continue  # "what does the model talk about": a verb, not a lecture
        for j in range(i - 1, max(i - 7, -1), -1):
            owner = _POSSESSIVE.match(tokens[j].group())
            if owner or tokens[j].group().lower() in _DETERMINER:
                first = j if owner else j + 1
                if first < i:
                    out.append((tokens[first].start(), tokens[i - 1].end()))
                break
    return out


@lru_cache(maxsize=8192)  # every query reads every lecture's name: tokenise each once
def _words(text: str) -> tuple[str, ...]:
    return tuple(singular(w) for w in _WORD.findall(text.lower()))


def _matches(word: str, name: tuple[str, ...]) -> bool:
    if word in name:
        return True
    if len(word) >= 4 and any(n.startswith(word) for n in name):
        return True
    if 2 <= len(word) <= 5:  # an acronym of neighbouring words: "rl", "rnn", "cnn"
        return any("".join(n[0] for n in name[i : i + len(word)]) == word for i in range(len(name)))
    return False


@dataclass(frozen=True, slots=True)
class Named:
    videos: set[str]  # the lectures the question names
    spans: list[tuple[int, int]]  # where in the question they are named

    def without_names(self, question: str) -> str:
        """The question without the words that name a lecture ("the deep RL lecture" -> "the lecture"):
        once the search is limited to it, they say nothing about where in it the answer is."""
        for start, end in sorted(self.spans, reverse=True):
            question = question[:start] + question[end:]
        return re.sub(r"\s{2,}", " ", question).strip()


def named_lectures(question: str, names: Mapping[str, str]) -> Named | None:
    """The lectures whose name (title and speaker, in `names` by video id) matches every word of a lecture
    the question names; None when it names none, or none or all of them match."""
    found: set[str] = set()
    spans = []
    for start, end in _names_in(question):
        words = [w for w in _words(_POSSESSIVE_END.sub("", question[start:end])) if w not in _GENERIC]
        matching = {v for v, name in names.items() if words and all(_matches(w, _words(name)) for w in words)}
        if matching:
            found |= matching
            spans.append((start, end))
    return Named(found, spans) if found and len(found) < len(names) else None

"""Which lectures a question names: "the RNN lecture", "the intro lecture's", "Hassabis's talk", or
"according to Lex Fridman".

A student who watched the lectures often says which one they mean, and then expects the answer from it.
Searched as words, the lecture's name does little against the question's topic words, which another talk
of the same series may say as often; embedded, it pulls towards wherever a lecture names its own topic.
So a question that names lectures is searched in them only. A name counts only when every one of its
words matches the lecture's title or speaker: as written, as the start of a title word ("intro" for
"Introduction"), or as an acronym of neighbouring title words ("RL" for "Reinforcement Learning"). A name
that matches nothing, or every lecture, changes nothing. A question that names no lecture but names a
speaker ("according to Lex Fridman", "Hassabis says") is searched in that speaker's talks.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from .keyword import plain_words, singular

_TOKEN = re.compile(r"[\w'’&-]+")
_DETERMINER = frozenset({"the", "his", "her", "their"})
_POSSESSIVE = re.compile(r"([A-Z][\w-]*)['’]s$")  # "Hassabis's", "Fridman’s"
_POSSESSIVE_END = re.compile(r"['’]s\b")
_NOUN = re.compile(r"(?:lecture|talk)s?(?:['’]s)?$", re.IGNORECASE)  # "lecture", "talk's"
_VERB_NEXT = frozenset({"about", "to", "with", "through", "over"})
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
        talk = token.group().lower().startswith("talk")
        if talk and i + 1 < len(tokens) and tokens[i + 1].group().lower() in _VERB_NEXT:
            continue  # "what does the model talk about": a verb, not a lecture
        for j in range(i - 1, max(i - 7, -1), -1):
            owner = _POSSESSIVE.match(tokens[j].group())
            if owner or tokens[j].group().lower() in _DETERMINER:
                first = j if owner else j + 1
                if first < i:
                    out.append((tokens[first].start(), tokens[i - 1].end()))
                break
    return out


def _words(text: str) -> list[str]:
    return [singular(w) for w in plain_words(text)]


class _Index:
    """Every word of the lectures' names, and every acronym of neighbouring words, to the lectures that
    have it: a word is looked up, not compared with each of thousands of names."""

    def __init__(self, names: tuple[tuple[str, str], ...]) -> None:
        self.words: dict[str, set[str]] = defaultdict(set)
        self.acronyms: dict[str, set[str]] = defaultdict(set)
        for vid, name in names:
            words = _words(name)
            for i, word in enumerate(words):
                self.words[word].add(vid)
                for n in range(2, 6):  # "rl", "rnn", "cnn": the initials of 2 to 5 neighbouring words
                    if i + n <= len(words):
                        self.acronyms["".join(w[0] for w in words[i : i + n])].add(vid)

    def having(self, word: str) -> set[str]:
        """The lectures whose name has `word` as written, as a word's start (4 letters or more), or as an
        acronym of neighbouring words."""
        found = set(self.words.get(word, ()))
        if len(word) >= 4:
            for other, vids in self.words.items():
                if other.startswith(word):
                    found |= vids
        return found | self.acronyms.get(word, set())


@lru_cache(maxsize=4)  # the names of a store change only with ingestion: index them once
def _index(names: tuple[tuple[str, str], ...]) -> _Index:
    return _Index(names)


@dataclass(frozen=True, slots=True)
class Named:
    videos: set[str]  # the lectures the question names
    spans: list[tuple[int, int]]  # where in the question they are named
    also: frozenset[str] = frozenset()  # searched too, though not named: talks whose speaker is unknown

    def strip(self, question: str) -> str:
        """The question without the words that name a lecture ("the deep RL lecture" -> "the lecture"):
        once the search is limited to it, they say nothing about where in it the answer is."""
        for start, end in sorted(self.spans, reverse=True):
            question = question[:start] + question[end:]
        return re.sub(r"\s+([?.!,;:])", r"\1", re.sub(r"\s{2,}", " ", question)).strip(" ,")


def named_lectures(question: str, names: Mapping[str, str]) -> Named | None:
    """The lectures whose name (title and speaker, in `names` by video id) matches every word of a lecture
    the question names; None when it names none, or none or all of them match."""
    places = _names_in(question)
    if not places:
        return None
    index = _index(tuple(names.items()))
    found: set[str] = set()
    spans = []
    for start, end in places:
        words = [w for w in _words(_POSSESSIVE_END.sub("", question[start:end])) if w not in _GENERIC]
        matching = set.intersection(*(index.having(w) for w in words)) if words else set()
        if matching:
            found |= matching
            spans.append((start, end))
    return Named(found, spans) if found and len(found) < len(names) else None


# A speaker is the run of two to four capitalised words that opens the ingested channel: "Lex Fridman (MIT),
# ..." gives "Lex Fridman"; "Nobel laureates 2016 (...)" and a channel id give none.
_PERSON = re.compile(r"\s*((?:[A-Z][\w'’-]+\s+){1,3}[A-Z][\w'’-]+)(?=[\s(,;]|$)")
_CAPITALISED = re.compile(r"[A-Z][\w'’-]*")


@dataclass(frozen=True, slots=True)
class _Speakers:
    by_surname: dict[str, set[str]]  # "Fridman" -> the videos Lex Fridman speaks in
    given: dict[str, set[str]]  # "Fridman" -> {"Lex"}: the words before it that belong to the name
    unknown: set[str]  # videos with no channel: their speaker may be anyone


@lru_cache(maxsize=4)  # as `_index`: the speakers of a store change only with ingestion
def _speakers(speakers: tuple[tuple[str, str], ...]) -> _Speakers:
    by_surname: dict[str, set[str]] = defaultdict(set)
    given: dict[str, set[str]] = defaultdict(set)
    for vid, channel in speakers:
        person = _PERSON.match(channel)
        if person:
            *first, last = person.group(1).split()
            by_surname[last].add(vid)
            given[last].add(" ".join(first))
    return _Speakers(by_surname, given, {vid for vid, channel in speakers if not channel.strip()})


_TITLE = frozenset({"Professor", "Prof", "Doctor", "Dr", "Mr", "Mrs", "Ms", "Sir", "Dame"})
_WORD_BEFORE = re.compile(r"\b([A-Z][\w'’-]*)(\.)? $")  # the capitalised word just before, "Dr." too


def _someone_else(before: str, given: set[str]) -> bool:
    """Whether the name just before a surname is another given name: "Benjamin Bloom" is not Paul Bloom,
    and searching Paul Bloom's talks only would leave out wherever the answer is. A question's first word
    ("Does Hassabis ...") and a title ("Professor Kagan") are not given names."""
    name = _WORD_BEFORE.search(before)
    if not name or name.start() == 0 or name.group(2) or name.group(1) in _TITLE or name.group(1).isupper():
        return False
    return not _POSSESSIVE_END.search(name.group(1)) and name.group(1) not in {g.split()[-1] for g in given}


def named_speakers(question: str, speakers: Mapping[str, str]) -> Named | None:
    """The talks whose speaker the question names, by surname, capitalised as names are: "according to
    Lex Fridman", "Hassabis says". Only the speaker who opens a channel counts: an interviewer named
    later in it ("interviewed by Lex Fridman") is not the one who answers. Videos whose speaker is
    unknown stay searched, since the name may be theirs. None when no speaker is named, or every video
    would stay."""
    index = _speakers(tuple(speakers.items()))
    found: set[str] = set()
    spans: list[tuple[int, int]] = []
    for word in _CAPITALISED.finditer(question):
        surname = _POSSESSIVE_END.sub("", word.group())
        vids = index.by_surname.get(surname)
        if not vids or _someone_else(question[: word.start()], index.given[surname]):
            continue
        found |= vids
        start = word.start()
        for first in index.given[surname]:
            if question[:start].endswith(first + " "):
                start -= len(first) + 1
                break
        title = _WORD_BEFORE.search(question[:start])  # "Professor Bloom", "Dr. Kagan": the title goes too
        if title and title.group(1) in _TITLE:
            start = title.start()
        # "according to Lex Fridman" says who, not where: with the name gone, nothing is left to embed
        lead = re.search(r",?\s*according to $", question[:start], re.IGNORECASE)
        spans.append((lead.start() if lead else start, word.end()))
    if not found or len(found | index.unknown) == len(speakers):
        return None
    return Named(found, spans, frozenset(index.unknown - found))

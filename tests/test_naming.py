"""Which lectures a question names, and what is left of the question once they are known."""

from __future__ import annotations

import pytest

from rag.naming import named_lectures, named_speakers

NAMES = {
    "njKP3FqW3Sk": "MIT 6.S191 (2020): Introduction to Deep Learning",
    "CznICCPa63Q": "MIT 6.S191: Deep Sequence Modeling with Recurrent Neural Networks Harini Suresh",
    "s5qqjyGiBdc": "MIT 6.S191 guest lecture: Deep Reinforcement Learning Lex Fridman (MIT)",
    "0X-NdPtFKq0": "Public Lecture with Google DeepMind's Demis Hassabis",
    "d-bvsJWmqlc": "Demis Hassabis: creativity and AI – The Rothschild Foundation Lecture",
    "9FrHGAd_yto": "Introduction to Ancient Greek History, Lecture 1 Donald Kagan",
    "azOmzumh0vQ": "MIT AI: Deep Learning (Yoshua Bengio) interviewed by Lex Fridman",
}


@pytest.mark.parametrize(
    ("question", "videos", "left"),
    [
        # an acronym of neighbouring title words
        ("In the deep RL lecture, what is a policy?", {"s5qqjyGiBdc"}, "In the lecture, what is a policy?"),
        ("Why does the RNN lecture's model forget?", {"CznICCPa63Q"}, "Why does the lecture's model forget?"),
        # the start of a title word: every introduction matches, and the search stays among them
        ("Does the intro lecture say so?", {"njKP3FqW3Sk", "9FrHGAd_yto"}, "Does the lecture say so?"),
        # the nearest determiner, not the first: "the Q&A of" is not part of the name
        ("In the Q&A of his public lecture?", {"0X-NdPtFKq0"}, "In the Q&A of his lecture?"),
        # a possessive names the speaker; with a title word it narrows to one talk
        ("What did Hassabis's talk say?", {"0X-NdPtFKq0", "d-bvsJWmqlc"}, "What did talk say?"),
        ("What did Hassabis's public talk say?", {"0X-NdPtFKq0"}, "What did talk say?"),
        ("In the public lecture with Hassabis?", {"0X-NdPtFKq0"}, "In the lecture with Hassabis?"),
        ("What did Fridman's talk say?", {"s5qqjyGiBdc", "azOmzumh0vQ"}, "What did talk say?"),
    ],
)  # fmt: skip
def test_a_named_lecture_is_found_and_its_name_left_out(question: str, videos: set[str], left: str) -> None:
    named = named_lectures(question, NAMES)
    assert named is not None
    assert named.videos == videos
    assert named.strip(question) == left


@pytest.mark.parametrize(
    "question",
    [
        "What is a perceptron?",  # names no lecture
        "What did the lecture say about dropout?",  # "the lecture" names none in particular
        "What did the Friday guest lecture say?",  # "Friday" matches no lecture: a name must match whole
        "In the 'will I pass this class' example, what was predicted?",  # "class" is not a lecture word here
        "What does the deep learning lecture say?",  # every lecture would match: no narrowing
        "What does the Bengio interview talk about?",  # "talk" the verb, after a name that matches
    ],
)
def test_no_lecture_named_changes_nothing(question: str) -> None:
    names = {k: v for k, v in NAMES.items() if "Deep Learning" in v}
    assert named_lectures(question, names) is None


# -- speakers --------------------------------------------------------------------------------------
SPEAKERS = {
    "s5qqjyGiBdc": "Lex Fridman (MIT), Alexander Amini YouTube channel",
    "azOmzumh0vQ": "Yoshua Bengio interviewed by Lex Fridman (MIT AI series)",
    "0X-NdPtFKq0": "Demis Hassabis (DeepMind); RTS/IET public lecture",
    "d-bvsJWmqlc": "Demis Hassabis (DeepMind); Royal Academy of Arts",
    "ACl_pcHmp8E": "Nobel laureates 2016 (Oliver Hart, Bengt Holmstrom), host Zeinab Badawi; Nobel Minds",
    "4wtl3q87Rn8": "Paul Bloom (Yale University, PSYC 110); YaleCourses",
    "njKP3FqW3Sk": "",  # the sample's rows carry no channel: its speaker is unknown
    "UCx": "UCfzlCWGWYyIQ0aLC5w48gBQ",  # a channel id names nobody
}
HASSABIS = {"0X-NdPtFKq0", "d-bvsJWmqlc", "njKP3FqW3Sk"}


@pytest.mark.parametrize(
    ("question", "videos", "left"),
    [
        # the speaker who opens a channel, not the interviewer named after them
        ("What else can an agent have, according to Lex Fridman?", {"s5qqjyGiBdc", "njKP3FqW3Sk"},
         "What else can an agent have?"),
        ("Hassabis says teams study AI like brains. How?", HASSABIS, "says teams study AI like brains. How?"),
        ("What is Hassabis's slide title about?", HASSABIS, "What is slide title about?"),
        ("How did Demis Hassabis pay for his computer?", HASSABIS, "How did pay for his computer?"),
        ("What did Fridman ask Bengio?", {"s5qqjyGiBdc", "azOmzumh0vQ", "njKP3FqW3Sk"}, "What did ask?"),
        # a title or a question's first word before the surname is not someone else's given name
        ("What did Professor Bloom say?", {"4wtl3q87Rn8", "njKP3FqW3Sk"}, "What did say?"),
        ("Why, according to Dr. Paul Bloom, is it?", {"4wtl3q87Rn8", "njKP3FqW3Sk"}, "Why, is it?"),
        ("Does Hassabis think so?", HASSABIS, "Does think so?"),
    ],
)  # fmt: skip
def test_a_named_speaker_is_searched_in_their_talks(question: str, videos: set[str], left: str) -> None:
    named = named_speakers(question, SPEAKERS)
    assert named is not None
    assert named.videos | named.also == videos
    assert named.also == {"njKP3FqW3Sk"}  # searched, as its speaker is unknown, but not named
    assert named.strip(question) == left


@pytest.mark.parametrize(
    "question",
    [
        "What is a perceptron?",
        "What did Oliver Hart say about contracts?",  # on a panel, not the speaker who opens the channel
        "Why does the hassabis agent explore?",  # a name is written capitalised
        "What did Zeinab Badawi ask?",  # the host, named last
        "What did Benjamin Bloom say about mastery learning?",  # another Bloom than Paul Bloom
        "Is Samy Bengio's work on this cited?",  # another Bengio than Yoshua
    ],
)
def test_no_speaker_named_changes_nothing(question: str) -> None:
    assert named_speakers(question, SPEAKERS) is None


def test_a_speaker_of_every_video_narrows_nothing() -> None:
    both = {"a": "Demis Hassabis", "b": "Demis Hassabis (DeepMind)"}
    assert named_speakers("What did Hassabis say?", both) is None

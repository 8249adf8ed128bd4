"""The chat's event handlers over one shared, thread-safe `rag.Lectern`. Per-user state arrives as
arguments (gr.State, the chat history the browser sends back); nothing mutable is shared between sessions."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import gradio as gr

import rag

from . import render

log = logging.getLogger("lectern.ui")

MAX_QUESTION_CHARS = 2000
MAX_K = 20
MAX_HISTORY = 20
Messages = list[dict[str, str]]

# The bundled sample's lectures and questions they answer well; other indexes get generic openers.
SAMPLE_EXAMPLES = {
    "njKP3FqW3Sk": [
        "How is deep learning different from classical machine learning?",
        "How does a neural network learn from its mistakes?",
    ],
    "o3y1w6-Xhjg": [
        "Does ImageNet pre-training help on medical images?",
        "Why does transfer learning speed up convergence?",
    ],
}
GENERIC_EXAMPLES = [
    "What are the main ideas of this lecture?",
    "How does the speaker define the key terms?",
    "Which examples does the lecturer use?",
]


def example_questions(video_ids: Sequence[str]) -> list[str]:
    picked = [q for vid, qs in SAMPLE_EXAMPLES.items() if vid in video_ids for q in qs]
    return picked or GENERIC_EXAMPLES


def clean_video_ids(value: object) -> list[str]:
    items = value if isinstance(value, list | tuple) else []
    return [v for v in items if rag.is_video_id(v)]


def clean_k(value: object, default: int) -> int:
    try:
        k = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return default
    return min(max(k, 1), MAX_K)


def clean_history(value: object) -> list[str]:
    """Earlier questions, oldest first: a list of strings, or that list as a JSON string."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except ValueError:
            raise gr.Error("history must be a JSON list of earlier questions") from None
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(h, str) for h in value):
        raise gr.Error("history must be a list of earlier questions (strings)")
    return [h[:MAX_QUESTION_CHARS] for h in value if h.strip()][-MAX_HISTORY:]


class Chat:
    """Event handlers bound to the shared Lectern; every per-user value arrives as an argument."""

    def __init__(self, lectern: rag.Lectern) -> None:
        self.lectern = lectern

    def status(self) -> tuple[str, Any]:
        try:
            videos = self.lectern.videos()
            line = render.status_line(self.lectern.mode, self.lectern.stats())
        except rag.LecternError as exc:
            return render.status_error(str(exc)), gr.skip()
        return line, gr.Dropdown(choices=filter_choices(videos))

    def respond(
        self,
        question: str,
        messages: Messages | None,
        asked: list[str] | None,
        k: float,
        video_ids: list[str],
    ) -> Iterator[tuple[Messages, Any, str, list[str]]]:
        """Stream one answer into the chat: (chat messages, sources panel, input box, earlier questions)."""
        question = (question or "").strip()[:MAX_QUESTION_CHARS]
        messages, asked = list(messages or []), list(asked or [])
        if not question:
            yield messages, gr.skip(), "", asked
            return
        messages.append({"role": "user", "content": render.user_message(question)})
        for reply, sources, answered in self._replies(question, asked, k, video_ids):
            chat = [*messages, {"role": "assistant", "content": reply}]
            yield chat, sources, "", [*asked, question] if answered else asked

    def _replies(
        self, question: str, asked: list[str], k: float, video_ids: list[str]
    ) -> Iterator[tuple[str, Any, bool]]:
        """(assistant message, sources panel or skip, answered) as the answer grows."""
        yield render.pending_message(), gr.skip(), False
        answer: rag.Answer | None = None
        partial = ""
        try:
            stream = self.lectern.ask_stream(
                question, k=clean_k(k, self.lectern.settings.k), history=asked[-MAX_HISTORY:],
                video_ids=clean_video_ids(video_ids) or None,
            )  # fmt: skip
            for item in stream:
                if isinstance(item, rag.Answer):
                    answer = item
                else:
                    partial += item
                    yield render.streaming_message(partial), gr.skip(), False
        except rag.LecternError as exc:
            yield render.error_message(str(exc)), render.sources_panel(None), False
            return
        except Exception:  # keep the chat usable; the details belong in the server log, not the page
            log.exception("answering %r failed", question)
            yield (
                render.error_message("Something went wrong; see the server log."),
                render.sources_panel(None),
                False,
            )
            return
        yield self._final(answer), render.sources_panel(answer), answer is not None

    def _final(self, answer: rag.Answer | None) -> str:
        if answer is None:
            return render.error_message("No answer came back.")
        if answer.mode == "refused" and not answer.citations and self._index_empty():
            return render.empty_index_message()
        return render.answer_message(answer)

    def _index_empty(self) -> bool:
        try:
            return not self.lectern.stats().get("chunks")
        except rag.LecternError:
            return False

    def ask_api(
        self,
        question: str,
        history: list[str] | str | None = None,
        k: int | None = None,
        video_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        """Ask the indexed lectures a question.

        Args:
            question: the question.
            history: earlier questions of this conversation, oldest first (a list, or a JSON list string).
            k: how many transcript moments to retrieve (1-20; default from settings).
            video_ids: restrict the search to these YouTube video ids (default: all lectures).
        Returns:
            {"question", "mode": "llm"|"extractive"|"refused", "answer" (text with [n] markers),
             "citations": [{"n", "video_id", "title", "start", "end", "url", "quote"}], "interrupted"}
        """
        question = (question or "").strip()
        if not question:
            raise gr.Error("question is empty")
        if len(question) > MAX_QUESTION_CHARS:
            raise gr.Error(f"question is longer than {MAX_QUESTION_CHARS} characters")
        k_value = clean_k(k, self.lectern.settings.k) if k is not None else None
        try:
            answer = self.lectern.ask(
                question,
                k=k_value,
                history=clean_history(history),
                video_ids=clean_video_ids(video_ids) or None,
            )
        except rag.LecternError as exc:
            raise gr.Error(str(exc)) from None
        return answer.as_dict()


def filter_choices(videos: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    titles = [t or vid for vid, t in videos]
    return [
        (t if titles.count(t) == 1 else f"{t} ({vid})", vid)
        for (vid, _), t in zip(videos, titles, strict=True)
    ]

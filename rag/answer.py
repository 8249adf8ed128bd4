"""Answers: an LLM (through llama-index's OpenAI classes) when a key is set, extractive quotes otherwise,
and a plain refusal when retrieval finds nothing relevant enough. The only module that imports openai."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from . import prompts
from .citations import EmbedFn, IdfFn, citation, locate_all, quote_in_answer, resolve
from .config import Settings
from .errors import LLMError
from .models import Answer, Citation, Hit
from .retrieval import Retrieval

_PRONOUN = re.compile(r"\b(it|its|this|that|these|those|they|them|their|he|she|his|her|one|ones)\b", re.I)
_OPENER = re.compile(r"^\s*(and|but|so|also|then|what about|how about|and what|why is that)\b", re.I)


def is_followup(question: str) -> bool:
    return bool(_OPENER.search(question) or _PRONOUN.search(question)) or len(question.split()) <= 3


def rule_standalone(question: str, history: Sequence[str]) -> str:
    """Offline follow-up rewrite: lean on the previous question when this one cannot stand alone."""
    if history and is_followup(question):
        return f"{history[-1]} {question}"
    return question


class LLM:
    """A thin adapter over llama-index's OpenAI / OpenAILike: explicit timeout and retries, our errors."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.model = settings.llm_model
        self._llm: Any = None

    def _client(self) -> Any:
        if self._llm is None:
            s = self.settings
            key = s.openai_api_key.get_secret_value() if s.openai_api_key else ""
            common: dict[str, Any] = dict(
                model=s.llm_model, api_key=key, timeout=s.llm_timeout, max_retries=s.llm_max_retries,
                temperature=s.llm_temperature, max_tokens=s.llm_max_tokens,
            )  # fmt: skip
            if s.openai_base_url:
                from llama_index.llms.openai_like import OpenAILike

                self._llm = OpenAILike(
                    api_base=s.openai_base_url, is_chat_model=True, context_window=8192, **common
                )
            else:
                from llama_index.llms.openai import OpenAI

                self._llm = OpenAI(**common)
        return self._llm

    @staticmethod
    def _messages(system: str, user: str) -> list[Any]:
        from llama_index.core.llms import ChatMessage

        return [ChatMessage(role="system", content=system), ChatMessage(role="user", content=user)]

    def complete(self, system: str, user: str) -> str:
        # Streamed and joined: llama-index wraps chat() in its own retry loop around the openai client's,
        # so llm_max_retries=2 meant six requests (and six timeouts); a stream is retried by the client only.
        return "".join(delta for delta, _ in self.stream(system, user))

    def stream(self, system: str, user: str) -> Iterator[tuple[str, str | None]]:
        """(delta, finish_reason) pairs; finish_reason stays None unless the server ended the answer."""
        try:
            for resp in self._client().stream_chat(self._messages(system, user)):
                yield resp.delta or "", _finish_reason(resp.raw)
        except Exception as exc:
            raise self.explain(exc) from exc

    def explain(self, exc: Exception) -> LLMError:
        import httpx
        import openai

        where = self.settings.openai_base_url or "the OpenAI API"
        if isinstance(exc, openai.RateLimitError):
            msg = (
                f"the language model is rate-limited (HTTP 429) after {self.settings.llm_max_retries} retries"
            )
        elif isinstance(exc, openai.APITimeoutError):
            msg = f"the language model timed out: no answer within {self.settings.llm_timeout:g} s"
        elif isinstance(exc, openai.APIConnectionError):
            msg = f"cannot reach the language model at {where}"
        elif isinstance(exc, openai.AuthenticationError):
            msg = "the language model rejected the API key (HTTP 401): check OPENAI_API_KEY"
        elif isinstance(exc, openai.APIStatusError):
            msg = f"the language model server failed (HTTP {exc.status_code})"
        elif isinstance(exc, httpx.TransportError):
            msg = "the connection to the language model dropped before the answer was complete"
        elif isinstance(exc, ValueError):
            msg = "the language model sent a response that is not valid JSON"
        else:
            msg = f"the language model failed: {type(exc).__name__}"
        return LLMError(msg)


def _finish_reason(raw: Any) -> str | None:
    choices = getattr(raw, "choices", None) if raw is not None else None
    if choices is None and isinstance(raw, dict):
        choices = raw.get("choices")
    if not choices:
        return None
    first = choices[0]
    return first.get("finish_reason") if isinstance(first, dict) else getattr(first, "finish_reason", None)


class Answerer:
    def __init__(self, settings: Settings, idf: IdfFn, embed: EmbedFn | None) -> None:
        self.settings = settings
        self.idf = idf
        self.embed = embed
        self.llm = LLM(settings) if settings.use_llm else None

    def warm_up(self) -> None:
        if self.llm is not None:
            self.llm._client()  # importing llama-index's OpenAI classes takes ~2 s: not on the first question

    @property
    def mode(self) -> str:
        return f"llm ({self.settings.llm_model})" if self.llm else "extractive (no language model)"

    def standalone(self, question: str, history: Sequence[str]) -> str:
        # A question that stands on its own needs no rewrite: skipping the LLM call saves ~1 s to first token.
        if not history or not is_followup(question):
            return question
        if self.llm is not None:
            try:
                rewritten = self.llm.complete(
                    prompts.CONDENSE_SYSTEM, prompts.condense_user(question, history)
                )
                if rewritten.strip():
                    return rewritten.strip().splitlines()[0][:500]
            except LLMError:
                pass  # retrieval still works with the rule; the answer step will report the LLM's state
        return rule_standalone(question, history)

    def relevant(self, retrieval: Retrieval) -> bool:
        return bool(retrieval.hits) and retrieval.relevance >= self.settings.min_relevance

    def refusal(self, question: str, retrieval: Retrieval, note: str = "") -> Answer:
        # No embedding here: the nearest moments of a refusal are pointers, not support for a claim.
        cites = _cited(retrieval.hits, retrieval.query or question, self.idf, None)
        text = prompts.refusal_named(retrieval.named) if retrieval.named else prompts.REFUSAL
        if cites:
            text += " " + prompts.REFUSAL_NEAREST + " " + " ".join(f"[{c.n}]" for c in cites)
        return Answer(question, "refused", text, cites, error=note)

    def extractive(self, question: str, hits: Sequence[Hit], error: str = "", asked: str = "") -> Answer:
        cites = _cited(hits, asked or question, self.idf, self.embed)
        lines = [f"{i}. “{quote_in_answer(c.quote)}” [{c.n}]" for i, c in enumerate(cites, 1)]
        return Answer(
            question, "extractive", prompts.EXTRACTIVE_INTRO + "\n\n" + "\n".join(lines), cites, error=error
        )

    def stream(self, question: str, retrieval: Retrieval) -> Iterator[str | Answer]:
        """Text deltas as they arrive, then the final Answer (always last)."""
        if not self.relevant(retrieval):
            yield self.refusal(question, retrieval)
            return
        if self.llm is None:
            yield self.extractive(question, retrieval.hits, asked=retrieval.query)
            return
        yield from self._llm_stream(question, retrieval)

    def _llm_stream(self, question: str, retrieval: Retrieval) -> Iterator[str | Answer]:
        assert self.llm is not None
        chunks = [h.chunk for h in retrieval.hits]
        sources = [prompts.source_block(i, c.title, c.start, c.end, c.text) for i, c in enumerate(chunks, 1)]
        asked = retrieval.query or question  # a follow-up, rewritten to stand alone
        parts: list[str] = []
        finish: str | None = None
        error = ""
        try:
            for delta, reason in self.llm.stream(prompts.ANSWER_SYSTEM, prompts.answer_user(asked, sources)):
                finish = reason or finish
                if delta:
                    parts.append(delta)
                    yield delta
        except LLMError as exc:
            error = str(exc)
        text = "".join(parts)
        if not text.strip():
            # Nothing arrived: quotes still answer the question, with the model's failure stated.
            yield self.extractive(
                question, retrieval.hits, error or "the language model sent an empty answer", asked
            )
            return
        if prompts.NOT_COVERED in text and len(text.strip()) < len(prompts.NOT_COVERED) + 20:
            yield self.refusal(question, retrieval)
            return
        interrupted = finish in (None, "length")
        if finish == "length" and not error:
            error = f"the answer reached the {self.settings.llm_max_tokens}-token limit (RAG_LLM_MAX_TOKENS)"
        elif interrupted and not error:
            error = "the language model's stream ended before the answer was complete"
        resolved = resolve(text, chunks, self.idf, self.embed)
        notes = [prompts.UNCITED] if not resolved.citations else []
        notes += [f"{prompts.INTERRUPTED}: {error}"] if interrupted else []
        answer_text = resolved.text + "".join(f"\n\n({note}.)" for note in notes)
        yield Answer(
            question, "llm", answer_text, resolved.citations, interrupted, resolved.unsupported, error
        )


def _cited(hits: Sequence[Hit], text: str, idf: IdfFn, embed: EmbedFn | None) -> list[Citation]:
    """Citations [1]..[3] of the first three hits, each at the segment of the hit's best window that best
    matches `text` (the question: see Hit.focus)."""
    windows = [h.window for h in hits[:3]]
    moments = locate_all(windows, text, idf, embed)
    return [citation(i, c, m) for i, (c, m) in enumerate(zip(windows, moments, strict=True), 1)]

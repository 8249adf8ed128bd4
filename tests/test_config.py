"""Settings from RAG_*/OPENAI_* variables and .env; bad values become one readable ConfigError."""

from __future__ import annotations

from pathlib import Path

import pytest

import rag
from rag.config import LOCAL_EMBED_MODEL


@pytest.fixture(autouse=True)
def _no_dotenv_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """load_settings reads ./.env: run in an empty directory so a developer's .env never leaks in."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults() -> None:
    s = rag.load_settings()
    assert s.store_dir == Path("storage") and s.collection == "lectern"
    assert s.embed_model == LOCAL_EMBED_MODEL
    fields = rag.Settings.model_fields
    assert (s.chunk_tokens, s.chunk_overlap) == (
        fields["chunk_tokens"].default,
        fields["chunk_overlap"].default,
    )
    assert 0 <= s.chunk_overlap < s.chunk_tokens <= 254  # 254 pieces + [CLS] + [SEP] = what the model reads
    assert s.chroma_host is None and s.store_location == "storage"
    assert not s.use_llm and s.openai_api_key is None


def test_environment_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = {
        "RAG_STORE_DIR": str(tmp_path / "s"), "RAG_COLLECTION": "talks", "RAG_CHUNK_TOKENS": "200",
        "RAG_CHUNK_OVERLAP": "40", "RAG_K": "7", "RAG_CHROMA_HOST": "127.0.0.1", "RAG_CHROMA_PORT": "8123",
        "RAG_EMBED_BATCH_SIZE": "8", "RAG_MIN_RELEVANCE": "0.5", "RAG_UI_SHARE": "false",
        "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "RAG_LLM_MODEL": "local",
    }  # fmt: skip
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    s = rag.load_settings()
    assert s.store_dir == tmp_path / "s" and s.collection == "talks"
    assert (s.chunk_tokens, s.chunk_overlap, s.k, s.embed_batch_size) == (200, 40, 7, 8)
    assert s.store_location == "http://127.0.0.1:8123"
    assert s.min_relevance == 0.5 and s.ui_share is False
    assert s.use_llm and s.openai_api_key is not None and s.openai_api_key.get_secret_value() == "sk-test"
    assert "sk-test" not in repr(s)
    assert s.openai_base_url == "http://127.0.0.1:9/v1" and s.llm_model == "local"


def test_rag_prefixed_openai_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_OPENAI_API_KEY", "sk-alias")
    monkeypatch.setenv("RAG_OPENAI_BASE_URL", "http://localhost:1/v1")
    s = rag.load_settings()
    assert s.use_llm and s.openai_base_url == "http://localhost:1/v1"


def test_empty_key_means_no_llm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "")
    assert not rag.load_settings().use_llm


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(
        "RAG_COLLECTION=from-dotenv\nRAG_K=3\nOPENAI_API_KEY=sk-dotenv\nUNRELATED=1\n", encoding="utf-8"
    )
    s = rag.load_settings()
    assert s.collection == "from-dotenv" and s.k == 3 and s.use_llm
    monkeypatch.setenv("RAG_K", "9")  # the environment wins over .env
    assert rag.load_settings().k == 9
    # and an explicit _env_file=None ignores it: what the tests use
    assert rag.Settings(_env_file=None).collection == "lectern"


def test_overrides_win_and_none_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_COLLECTION", "from-env")
    assert rag.load_settings(collection="cli").collection == "cli"
    assert rag.load_settings(collection=None).collection == "from-env"


@pytest.mark.parametrize(
    "var, value, field",
    [
        ("RAG_CHUNK_TOKENS", "8", "chunk_tokens"),
        ("RAG_CHUNK_TOKENS", "300", "chunk_tokens"),  # the model reads at most 256 pieces
        ("RAG_CHUNK_TOKENS", "many", "chunk_tokens"),
        ("RAG_K", "0", "k"),
        ("RAG_CHROMA_PORT", "http", "chroma_port"),
        ("RAG_COLLECTION", "a", "collection"),
        ("RAG_COLLECTION", "bad name!", "collection"),
        ("RAG_MIN_RELEVANCE", "7", "min_relevance"),
        ("RAG_COVERAGE_WEIGHT", "-1", "coverage_weight"),
        ("RAG_EMBED_BATCH_SIZE", "0", "embed_batch_size"),
        ("RAG_UI_SHARE", "perhaps", "ui_share"),
    ],
)
def test_invalid_values_are_a_readable_config_error(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, field: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(rag.ConfigError) as err:
        rag.load_settings()
    msg = str(err.value)
    assert field in msg and msg.startswith("invalid settings")
    assert "pydantic" not in msg.lower() and "errors.pydantic.dev" not in msg and "\n" not in msg
    assert err.value.exit_code == 2


def test_invalid_value_in_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("RAG_K=lots\n", encoding="utf-8")
    with pytest.raises(rag.ConfigError, match="k"):
        rag.load_settings()


def test_several_problems_are_listed_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_K", "0")
    monkeypatch.setenv("RAG_CHUNK_TOKENS", "1")
    with pytest.raises(rag.ConfigError) as err:
        rag.load_settings()
    msg = str(err.value)
    assert "k:" in msg and "chunk_tokens:" in msg


def test_overlap_must_be_smaller_than_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_CHUNK_TOKENS", "64")
    monkeypatch.setenv("RAG_CHUNK_OVERLAP", "64")
    with pytest.raises(rag.ConfigError, match="overlap"):
        rag.load_settings()


def test_a_replaced_setting_is_an_error_naming_its_successor(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("RAG_MIN_SIMILARITY=0.3\n")
    with pytest.raises(rag.ConfigError) as err:
        rag.load_settings()
    assert "RAG_MIN_SIMILARITY was replaced by RAG_MIN_RELEVANCE" in str(err.value)
    (tmp_path / ".env").write_text("")
    monkeypatch.setenv("rag_min_similarity", "0.3")  # environment names are case-insensitive too
    with pytest.raises(rag.ConfigError):
        rag.load_settings()
    monkeypatch.delenv("rag_min_similarity")
    assert rag.load_settings().min_relevance == 1.26


@pytest.mark.parametrize(
    "env, threshold",
    [
        ({}, 1.26),  # calibrated with the gate's match term
        ({"RAG_MATCH_WEIGHT": "0"}, 0.76),  # without it, the threshold calibrated without it
        ({"RAG_EMBED_MODEL": "openai:text-embedding-3-small"}, 0.76),  # no token states: no match term
        ({"RAG_MATCH_WEIGHT": "0", "RAG_MIN_RELEVANCE": "0.75"}, 0.75),  # set explicitly: kept
        ({"RAG_MIN_RELEVANCE": "1.3"}, 1.3),
    ],
)
def test_the_default_threshold_follows_the_gate(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], threshold: float
) -> None:
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert rag.load_settings().min_relevance == threshold

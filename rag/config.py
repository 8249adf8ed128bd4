"""One typed settings object, read from the environment (RAG_*, OPENAI_*) and .env; built at the edges."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_EMBED_MODEL = "all-MiniLM-L6-v2"
# The refusal threshold calibrated without the gate's match term (eval/README.md, held-out 11's rule).
MIN_RELEVANCE_WITHOUT_MATCH = 0.76
BUNDLED_SAMPLE = Path(__file__).resolve().parent.parent / "data" / "youtube-transcriptions-sample.jsonl"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAG_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Store
    store_dir: Path = Path("storage")
    collection: str = Field("lectern", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$")
    chroma_host: str | None = None  # set to use a `chroma run` server instead of the embedded store
    chroma_port: int = 8000

    # Embeddings: the bundled local model, or "openai:<model>" (e.g. openai:text-embedding-3-small)
    embed_model: str = LOCAL_EMBED_MODEL
    embed_batch_size: int = Field(32, ge=1, le=1024)
    embed_threads: int = Field(0, ge=0)  # 0 = one per core

    # Chunking, in the embedding model's word pieces (all-MiniLM-L6-v2 reads at most 256)
    chunk_tokens: int = Field(192, ge=16, le=254)
    chunk_overlap: int = Field(48, ge=0, le=200)

    # Retrieval
    k: int = Field(5, ge=1, le=50)
    candidates: int = Field(30, ge=1, le=500)  # per retriever, before fusion
    rrf_k: int = Field(5, ge=1)
    merge_cap: float = Field(3.0, ge=1)  # merged overlapping windows hold at most this many windows' text
    dense_weight: float = Field(1.0, ge=0)
    bm25_weight: float = Field(1.0, ge=0)
    # The BM25 top goes first when its score is this many times any other passage's; 0 switches it off.
    keyword_lead: float = Field(1.5, ge=0)
    # The first rerank_top windows re-ranked by late interaction (MaxSim over MiniLM token states, weighted
    # rerank_weight against their fused order; rag/rerank.py); 0 switches it off.
    rerank_top: int = Field(3, ge=0, le=50)
    rerank_weight: float = Field(2.0, ge=0)
    # Refusal gate: relevance = best dense similarity + coverage_weight * the share of the question's
    # idf-weighted words found in the best of the first coverage_hits hits + match_weight * how well the
    # first coverage_hits windows match those words in context (rerank.word_match: it sees paraphrase,
    # which coverage misses). Below min_relevance, nothing retrieved answers it: refuse. Coverage's weight
    # and hits were chosen over the tuning set and held-out 1 to 5 (eval/gate_sweep.py), match's weight
    # and the threshold over every set read before held-out 12 (eval/gate_match.py): the threshold refuses
    # most with at most 4% of the answerable questions refused (`python -m rag eval SETS --calibrate`), a
    # margin under the 5% target that blind sets have used up. Without the match term (match_weight 0, or
    # OpenAI embeddings, which have no token states) the default is MIN_RELEVANCE_WITHOUT_MATCH.
    coverage_weight: float = Field(0.75, ge=0, le=5)
    match_weight: float = Field(1.0, ge=0, le=5)
    coverage_hits: int = Field(3, ge=1, le=50)
    min_relevance: float = Field(1.26, ge=-1, le=6)

    # LLM (OpenAI or any OpenAI-compatible server); without a key, answers are extractive
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("openai_api_key", "OPENAI_API_KEY", "RAG_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        None, validation_alias=AliasChoices("openai_base_url", "OPENAI_BASE_URL", "RAG_OPENAI_BASE_URL")
    )
    llm_model: str = "gpt-4o-mini"
    llm_timeout: float = Field(60.0, gt=0)
    llm_max_retries: int = Field(2, ge=0, le=10)
    llm_temperature: float = Field(0.1, ge=0, le=2)
    # A small local model can loop until its context is full (SmolLM2 wrote for minutes): cap each answer.
    llm_max_tokens: int = Field(768, ge=16, le=32768)

    # Chat UI
    ui_host: str = "127.0.0.1"
    ui_port: int = 7860
    ui_concurrency: int = Field(16, ge=1)
    ui_max_queue: int = Field(32, ge=1)
    ui_share: bool = False

    @model_validator(mode="after")
    def _threshold_for_the_gate(self) -> Settings:
        # 1.26 assumes the match term (0 to 1, 0.59 on average over the read sets) is in relevance; without
        # it nearly every question would fall below and be refused. One set explicitly is kept as it is.
        no_match = self.match_weight == 0 or self.embed_model != LOCAL_EMBED_MODEL
        if no_match and "min_relevance" not in self.model_fields_set:
            self.min_relevance = MIN_RELEVANCE_WITHOUT_MATCH
        return self

    @model_validator(mode="after")
    def _overlap_inside_window(self) -> Settings:
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than "
                f"chunk_tokens ({self.chunk_tokens})"
            )
        return self

    @property
    def use_llm(self) -> bool:
        return self.openai_api_key is not None and bool(self.openai_api_key.get_secret_value())

    @property
    def store_location(self) -> str:
        if self.chroma_host:
            return f"http://{self.chroma_host}:{self.chroma_port}"
        return str(self.store_dir)


# Settings that no longer exist. Unknown keys are ignored (a .env may hold other tools' settings), so an
# old name would silently stop doing anything: say what replaced it instead.
REPLACED = {
    "RAG_MIN_SIMILARITY": "RAG_MIN_RELEVANCE (the refusal gate now adds word coverage to similarity; "
    "see .env.example)",
}


def _replaced_settings_in_use() -> list[str]:
    import os

    from dotenv import dotenv_values

    names = {k.upper() for k in os.environ} | {k.upper() for k in dotenv_values(".env")}
    return [f"{old} was replaced by {new}" for old, new in REPLACED.items() if old in names]


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and .env, with a readable error instead of a pydantic dump."""
    from pydantic import ValidationError

    from .errors import ConfigError

    if replaced := _replaced_settings_in_use():
        raise ConfigError(f"invalid settings ({'; '.join(replaced)})")
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid settings ({problems}); see .env.example") from None

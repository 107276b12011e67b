"""The one typed place for settings: env prefix MEMOS_, defaults from configs/defaults.toml."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULTS_FILE = Path(__file__).with_name("defaults.toml")


class Settings(BaseSettings):
    """Server, pipeline and client settings; invalid values are rejected at construction."""

    model_config = SettingsConfigDict(env_prefix="MEMOS_", extra="ignore", frozen=True)

    host: str
    port: int = Field(ge=1, le=65535)
    data_dir: Path
    max_body_bytes: int = Field(ge=1024)
    max_import_bytes: int = Field(ge=1024)
    max_image_bytes: int = Field(ge=1024)
    max_image_pixels: int = Field(ge=1)
    image_thumbnail_px: int = Field(ge=16, le=2048)
    image_ocr: bool
    ocr_timeout_s: float = Field(gt=0)
    max_content_chars: int = Field(ge=1)
    max_batch_items: int = Field(ge=1, le=100_000)
    wait_timeout_s: float = Field(gt=0)
    sweep_interval_s: float = Field(gt=0, le=86_400)
    cleanup_wait_max: int = Field(ge=0, le=100_000)
    ui_session_hours: float = Field(gt=0, le=24 * 30)
    metrics: bool
    metrics_auth: Literal["auto", "admin", "none"]
    access_log: bool

    url: str
    agent: str
    api_key: str = Field(repr=False)

    ray_address: str
    ray_num_cpus: int = Field(ge=0)
    ray_object_store_mb: int = Field(ge=64)
    ray_data_resource: str
    ray_shard_resource: str

    n_shards: int = Field(ge=1, le=1024)
    batch_max_items: int = Field(ge=1)
    batch_linger_ms: int = Field(ge=0)
    max_in_flight_batches: int = Field(ge=1)
    intake_backlog_max: int = Field(ge=0)
    embed_actors: int = Field(ge=1)
    embed_batch_size: int = Field(ge=1)
    embed_threads: int = Field(ge=0)
    embed_nice: int = Field(ge=0, le=19)
    embed_device: Literal["auto", "cpu", "cuda"]
    embed_gpus: float = Field(ge=0)
    reindex_actors: int = Field(ge=0)
    extract_nice: int = Field(ge=0, le=19)
    near_duplicate_threshold: float = Field(gt=0, le=1)
    near_duplicate_max_cube: int = Field(ge=0)
    lance_compact_every: int = Field(ge=1)
    purge_after_s: float = Field(gt=0, le=3600)

    world_model: bool
    world_skip_roles: list[str]
    skill_min_support: int = Field(ge=1)
    llm_url: str
    llm_model: str
    llm_api_key: str = Field(repr=False)

    embed_model: str
    embed_engine: Literal["onnx", "torch"]
    model_cache_dir: str
    query_threads: int = Field(ge=1)

    search_candidates: int = Field(ge=1)
    rrf_k: int = Field(ge=1)
    bm25_weight: float = Field(ge=0)
    vector_weight: float = Field(ge=0)
    bm25_context: bool
    bm25_content_boost: float = Field(ge=0)
    recency_half_life_days: float = Field(ge=0)
    mmr_lambda: float = Field(ge=0, le=1)
    time_weight: float = Field(ge=0)
    session_share: float = Field(ge=0)
    speaker_weight: float = Field(ge=0)
    strip_speakers: bool
    query_segment_words: int = Field(ge=0, le=4096)
    context_before: int = Field(ge=0, le=20)
    context_after: int = Field(ge=0, le=20)
    context_gap_s: int = Field(ge=0)
    hot_vectors_max_mb: int = Field(ge=0)
    hot_ivf_min_rows: int = Field(ge=1)
    hot_ivf_probes: int = Field(ge=1)
    ann_min_rows: int = Field(ge=1)
    ann_nprobes: int = Field(ge=1)
    ann_refine_factor: int = Field(ge=0)
    query_cache_size: int = Field(ge=0)
    prefetch: bool
    prefetch_half_life_s: float = Field(gt=0)
    prefetch_top_cubes: int = Field(ge=1)
    prefetch_pool_max: int = Field(ge=0)

    hub: bool
    hub_name: str
    hub_announce: bool
    public_url: str
    team_interfaces: str
    team_sync_interval_s: float = Field(ge=0)
    team_page_size: int = Field(ge=1, le=5_000)
    tls_cert_file: str
    tls_key_file: str

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("ray_shard_resource")
    @classmethod
    def _per_shard(cls, value: str) -> str:
        if value and "{shard}" not in value:
            raise ValueError("ray_shard_resource must contain {shard} (e.g. memos_shard_{shard})")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        extra = _extra_config_file()
        if extra is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=extra))
        sources.append(TomlConfigSettingsSource(settings_cls, toml_file=DEFAULTS_FILE))
        return tuple(sources)

    @property
    def models_dir(self) -> Path:
        return Path(self.model_cache_dir).expanduser().resolve() if self.model_cache_dir else self.data_dir / "models"

    def with_overrides(self, **changes: Any) -> "Settings":
        """A copy with some fields replaced, validated like a fresh construction."""
        return Settings(**{**self.model_dump(), **changes})


def _extra_config_file() -> Path | None:
    import os

    name = os.environ.get("MEMOS_CONFIG", "")
    return Path(name) if name else None

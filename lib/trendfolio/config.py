"""Every ``TRENDFOLIO_*`` setting, read and checked in one place (SPEC §11)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from trendfolio import rules
from trendfolio.errors import ConfigError

# Stage 5's weighting schemes (SPEC §4: score = r/mcap by default; equal and return-only).
Weighting = Literal["score", "equal", "return"]
# SPEC §8 and §9: where the API and the dashboard listen unless told otherwise.
API_PORT = 8000
DASHBOARD_PORT = 8050
_PLACEHOLDERS = {"changeme", "password", "secret", "admin", "postgres", "dev-secret-key-12345"}


class Settings(BaseSettings):
    """Configuration from the environment; an invalid value fails fast naming the variable."""

    model_config = SettingsConfigDict(env_prefix="TRENDFOLIO_", extra="ignore", frozen=True)

    home: Path = Path(".trendfolio")
    database_url: SecretStr | None = None
    readonly_database_url: SecretStr | None = None
    kafka_bootstrap: str | None = None
    kafka_group: str = "trendfolio-consumer"
    # Static group membership (e.g. the pod name of a StatefulSet): unique per running consumer.
    kafka_instance_id: str | None = None
    spark_master: str | None = None
    source: str = "yfinance"
    universe: str = "seed"
    api_key: SecretStr | None = None
    # Browser origins allowed to call the API, comma-separated; empty means no CORS headers.
    cors_origins: str = ""
    # Where the dashboard reads everything from (it never touches the database).
    api_url: str = Field(default=f"http://127.0.0.1:{API_PORT}", pattern=r"^https?://[^\s/]+")
    yahoo_rate_per_s: float = Field(default=0.5, gt=0, le=20)
    yahoo_burst: int = Field(default=3, ge=1, le=50)
    yahoo_max_tries: int = Field(default=5, ge=1, le=20)
    yahoo_backoff_s: float = Field(default=2.0, gt=0, le=300)
    yahoo_timeout_s: float = Field(default=20.0, gt=0, le=300)
    trend_period: int = Field(default=rules.TREND_PERIOD, ge=2, le=250)
    trend_threshold: float = rules.TREND_THRESHOLD
    max_weight: float | None = Field(default=None, gt=0, le=1)
    weighting: Weighting = "score"
    consumer_batch_size: int = Field(default=5000, ge=1, le=1_000_000)
    consumer_batch_ms: int = Field(default=500, ge=1, le=60_000)
    # PostgreSQL connections writing at once, each for its own partition numbers
    consumer_writers: int = Field(default=3, ge=1, le=32)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Prometheus Pushgateway (host:port or URL) that each stage pushes its metrics to at its end.
    pushgateway_url: str | None = None

    @field_validator("api_key", "database_url", "readonly_database_url")
    @classmethod
    def _no_placeholder(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and v.get_secret_value().strip().lower() in _PLACEHOLDERS:
            raise ValueError("a placeholder value is not allowed; set a real secret")
        return v

    @field_validator("source")
    @classmethod
    def _known_source(cls, v: str) -> str:
        if v in ("yfinance", "sample") or (v.startswith("csv:") and len(v) > 4):
            return v
        raise ValueError(f"unknown source {v!r}: use yfinance, csv:DIR or sample")

    @field_validator("kafka_bootstrap", "spark_master", "pushgateway_url")
    @classmethod
    def _blank_is_none(cls, v: str | None) -> str | None:
        return v or None

    @property
    def pg_home(self) -> Path:
        return self.home / "postgres"

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]


def _describe(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        field = str(e["loc"][0]) if e["loc"] else "?"
        parts.append(f"TRENDFOLIO_{field.upper()}: {e['msg']}")
    return "; ".join(parts)


def load_settings(**overrides: object) -> Settings:
    """Read the environment (plus explicit overrides from the command line)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as err:
        raise ConfigError(f"invalid setting: {_describe(err)}") from None


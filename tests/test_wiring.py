"""``trendfolio.wiring``: embedded or real, decided from the Settings passed in."""

from __future__ import annotations

from pathlib import Path

import pytest

from trendfolio import wiring
from trendfolio.bus import InProcessBus, KafkaBus
from trendfolio.config import Settings, load_settings
from trendfolio.errors import ConfigError
from trendfolio.sources.csv_source import CsvSource
from trendfolio.sources.sample import SampleSource
from trendfolio.sources.yfinance_source import YFinanceSource


def settings(**values: object) -> Settings:
    return Settings(**values)  # type: ignore[arg-type]


def test_a_configured_database_is_used_as_it_is() -> None:
    url = "postgresql://trendfolio:s3cr3t-value@db.example:5432/trendfolio"
    assert wiring.database_url(settings(database_url=url)) == url


def test_the_embedded_database_lives_under_the_home(tmp_path: Path) -> None:
    url = wiring.database_url(settings(home=tmp_path))
    try:
        assert url.startswith("postgresql://") and "127.0.0.1" in url
        assert (tmp_path / "postgres").is_dir()
    finally:
        from trendfolio.db.server import stop_started_servers

        stop_started_servers()


async def test_the_bus_is_kafka_only_when_a_bootstrap_is_set() -> None:
    bus = await wiring.open_bus(settings(), "postgresql://x@127.0.0.1/db")
    assert isinstance(bus, InProcessBus) and bus.database_url == "postgresql://x@127.0.0.1/db"
    assert not isinstance(bus, KafkaBus)


def test_each_source_from_its_spec(tmp_path: Path) -> None:
    assert isinstance(wiring.open_source(settings(source="sample")), SampleSource)
    (tmp_path / "prices.csv").write_text("ticker,date,open,high,low,close,adj_close,volume\n")
    assert isinstance(wiring.open_source(settings(source=f"csv:{tmp_path}")), CsvSource)


def test_yahoo_is_polite_as_the_settings_passed_in_say(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # the environment says otherwise: only the Settings given count
    monkeypatch.setenv("TRENDFOLIO_YAHOO_MAX_TRIES", "9")
    monkeypatch.setenv("TRENDFOLIO_HOME", str(tmp_path / "elsewhere"))
    given = settings(source="yfinance", home=tmp_path / "home", yahoo_max_tries=2,
                     yahoo_rate_per_s=4.0)
    source = wiring.open_source(given)
    assert isinstance(source, YFinanceSource)
    try:
        session = source._session
        assert session._polite_retry.max_tries == 2
        assert session._polite_limiter.rate_per_s == 4.0
        assert session._polite_cache is not None
        assert session._polite_cache.root.is_relative_to(tmp_path / "home")
    finally:
        source.close()


def test_spark_runs_locally_unless_a_master_is_set() -> None:
    assert wiring.spark_master(settings()) == "local[2]"
    assert wiring.spark_master(settings(spark_master="spark://127.0.0.1:7077")) == (
        "spark://127.0.0.1:7077")


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("TRENDFOLIO_SOURCE", "ftp://x", "unknown source 'ftp://x'"),
    ("TRENDFOLIO_SOURCE", "csv:", "unknown source 'csv:'"),
    ("TRENDFOLIO_WEIGHTING", "inverse_volatility", "TRENDFOLIO_WEIGHTING"),
])
def test_a_value_the_code_cannot_honour_fails_at_start_up(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=message):
        load_settings()

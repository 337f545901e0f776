import pytest

from trendfolio.config import load_settings
from trendfolio.errors import ConfigError


def test_defaults_have_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("TRENDFOLIO_API_KEY", "TRENDFOLIO_DATABASE_URL", "TRENDFOLIO_KAFKA_BOOTSTRAP"):
        monkeypatch.delenv(var, raising=False)
    s = load_settings()
    assert s.api_key is None and s.database_url is None and s.kafka_bootstrap is None
    assert s.trend_period == 20 and s.trend_threshold == 0.0 and s.universe == "seed"


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("TRENDFOLIO_TREND_PERIOD", "zero"),
        ("TRENDFOLIO_TREND_PERIOD", "1"),
        ("TRENDFOLIO_MAX_WEIGHT", "1.5"),
        ("TRENDFOLIO_YAHOO_RATE_PER_S", "-1"),
        ("TRENDFOLIO_LOG_LEVEL", "LOUD"),
        ("TRENDFOLIO_WEIGHTING", "magic"),
        ("TRENDFOLIO_API_KEY", "changeme"),
    ],
)
def test_invalid_values_fail_fast_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=var):
        load_settings()


def test_blank_kafka_bootstrap_means_embedded_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRENDFOLIO_KAFKA_BOOTSTRAP", "")
    assert load_settings().kafka_bootstrap is None

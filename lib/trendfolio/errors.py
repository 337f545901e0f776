"""Exceptions that carry enough context to act on, and the exit code each one maps to."""


class TrendfolioError(Exception):
    """A failure the user can act on; ``exit_code`` is what the CLI returns."""

    exit_code = 1


class UsageError(TrendfolioError):
    """Bad input from the user: a malformed date, an unknown stage, a bad setting."""

    exit_code = 2


class ConfigError(UsageError):
    """An invalid ``TRENDFOLIO_*`` setting."""


class SourceError(TrendfolioError):
    """A data source could not deliver data for a ticker."""

    def __init__(self, message: str, *, ticker: str | None = None) -> None:
        super().__init__(f"{ticker}: {message}" if ticker else message)
        self.ticker = ticker


class UnknownTicker(SourceError):
    """The source has no data at all for the ticker (a CSV without it, outside the sample).

    Unlike an outage or an empty answer from Yahoo, asking again will not help: a stage treats
    such a holding as absent from the market it reads.
    """


class SourceUnavailable(SourceError):
    """The source cannot be reached at all (no network, Yahoo refusing every request)."""

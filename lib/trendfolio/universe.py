"""The ETF universe, kept as data (``data/universes/*.csv`` or a user's own file)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from trendfolio.errors import UsageError

BUILTIN_UNIVERSES = ("seed", "spdr")
_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n", ""}


@dataclass(frozen=True)
class Etf:
    ticker: str
    is_benchmark: bool
    is_reference: bool
    sector_name: str | None
    name: str

    @property
    def is_sector(self) -> bool:
        return self.sector_name is not None

    @property
    def etf_type(self) -> str:
        """The seed's ``etf_type`` column: benchmark, sector or both."""
        if self.is_benchmark and self.is_sector:
            return "both"
        return "benchmark" if self.is_benchmark else "sector"


@dataclass(frozen=True)
class Universe:
    name: str
    etfs: tuple[Etf, ...]

    @property
    def tickers(self) -> list[str]:
        return [e.ticker for e in self.etfs]

    @property
    def reference(self) -> str:
        return next(e.ticker for e in self.etfs if e.is_reference)

    @property
    def benchmarks(self) -> list[str]:
        return [e.ticker for e in self.etfs if e.is_benchmark]

    @property
    def sectors(self) -> list[str]:
        return [e.ticker for e in self.etfs if e.is_sector]

    def get(self, ticker: str) -> Etf | None:
        return next((e for e in self.etfs if e.ticker == ticker), None)


def _flag(value: str, *, where: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise UsageError(f"{where}: expected true/false, got {value!r}")


def parse_universe(name: str, text: str) -> Universe:
    """Parse a universe file: ``ticker,is_benchmark,is_reference,sector_name,name``."""
    rows = list(csv.DictReader(text.splitlines()))
    need = {"ticker", "is_benchmark", "sector_name"}
    if not rows or not need <= set(rows[0]):
        raise UsageError(f"universe {name}: needs the columns {sorted(need)}")
    etfs: list[Etf] = []
    seen: set[str] = set()
    for i, row in enumerate(rows, start=2):
        where = f"universe {name} line {i}"
        ticker = row["ticker"].strip().upper()
        if not ticker or ticker in seen:
            raise UsageError(f"{where}: empty or repeated ticker {ticker!r}")
        seen.add(ticker)
        sector = (row.get("sector_name") or "").strip() or None
        etfs.append(
            Etf(
                ticker=ticker,
                is_benchmark=_flag(row["is_benchmark"], where=where),
                is_reference=_flag(row.get("is_reference") or "", where=where),
                sector_name=sector,
                name=(row.get("name") or ticker).strip(),
            )
        )
    refs = [e.ticker for e in etfs if e.is_reference]
    if len(refs) != 1:
        raise UsageError(f"universe {name}: exactly one reference ETF needed, found {refs}")
    for e in etfs:
        if not e.is_benchmark and not e.is_sector:
            raise UsageError(f"universe {name}: {e.ticker} is neither a benchmark nor a sector")
    return Universe(name=name, etfs=tuple(etfs))


def load_universe(spec: str) -> Universe:
    """Load ``seed``, ``spdr`` or a path to a user's CSV file of the same shape."""
    if spec in BUILTIN_UNIVERSES:
        text = (resources.files("trendfolio") / "data" / "universes" / f"{spec}.csv").read_text()
        return parse_universe(spec, text)
    path = Path(spec)
    if not path.is_file():
        raise UsageError(
            f"unknown universe {spec!r}: use one of {', '.join(BUILTIN_UNIVERSES)} "
            "or a CSV file path"
        )
    return parse_universe(path.stem, path.read_text())

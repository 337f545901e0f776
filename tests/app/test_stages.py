"""The stage table: every stage of the catalogue bound to the function that runs it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from trendfolio import stages as catalog
from trendfolio.errors import UsageError
from trendfolio_app.stages import STAGES, CollectStage, SparkStage, pipeline_stages, stage_by_name
from trendfolio_collector import stages as collector


def test_every_catalogued_stage_is_bound_once_with_its_kind() -> None:
    assert [s.info for s in STAGES] == sorted(catalog.ALL, key=lambda s: s.number)
    for s in STAGES:
        assert isinstance(s, CollectStage if s.info.kind == "collect" else SparkStage), s


def test_the_table_holds_the_functions_themselves() -> None:
    from trendfolio_jobs import allocation, etf_analytics, monthly, trending

    bound = {s.info.name: s.collect if isinstance(s, CollectStage) else s.compute for s in STAGES}
    assert bound == {
        "benchmark": collector.stage_benchmark,
        "sector": collector.stage_sector,
        "trending": trending.run_trending_range,
        "holdings": collector.stage_holdings,
        "allocation": allocation.run_allocation_range,
        "monthly": monthly.run_monthly_range,
        "top-holdings": etf_analytics.run_top_holdings_range,
        "monthly-returns": etf_analytics.run_monthly_returns_range,
        "etf-holdings": collector.stage_etf_holdings,
    }


def test_names_numbers_and_lists() -> None:
    assert stage_by_name("3") is stage_by_name("trending")
    assert [s.info for s in pipeline_stages()] == list(catalog.PIPELINE)
    assert [s.info.name for s in pipeline_stages(" sector, allocation ")] == ["sector", "allocation"]
    with pytest.raises(UsageError, match="unknown stage 'oops': use one of benchmark, sector"):
        pipeline_stages("benchmark,oops")


def test_without_pyspark_the_collectors_still_run_and_spark_stages_say_what_is_missing() -> None:
    """The collector's image has no PySpark: it must still run stages 1, 2 and 4."""
    probe = textwrap.dedent("""
        import sys
        sys.modules["pyspark"] = None  # as if the spark extra were not installed
        from trendfolio.errors import UsageError
        from trendfolio_app.stages import stage_by_name
        print(stage_by_name("benchmark").info.name)
        try:
            stage_by_name("trending")
        except UsageError as exc:
            print(exc)
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[0] == "benchmark"
    assert out[1].startswith("stage trending is a Spark job and this installation has no PySpark")

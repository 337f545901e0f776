"""Every ordering of ``trendfolio.rules`` gives Spark the order Python gives, missing values
last, and the cut to the first ``keep``."""

from __future__ import annotations

import random
from typing import Any

import pytest
from pyspark.sql import SparkSession

from trendfolio import rules
from trendfolio.rules import Key, Ranking
from trendfolio_jobs.ranking import keep_first, order_columns, position

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

RANKINGS = [v for v in vars(rules).values() if isinstance(v, Ranking)]


def test_every_ordering_of_the_rules_is_checked() -> None:
    assert len(RANKINGS) == 8


def rows_for(ranking: Ranking, rng: random.Random) -> list[dict[str, Any]]:
    """Rows in three groups with ties and missing values on every key but the last, which is
    unique within a group (missing once) so that the order is total."""
    *leading, last = ranking.keys
    rows = []
    for group in range(3):
        n = rng.randint(1, 25)
        tails: list[Any] = [f"T{i:02d}" if not last.descending else float(i) for i in range(n)]
        tails[rng.randrange(n)] = None
        rng.shuffle(tails)
        for i, tail in enumerate(tails):
            row: dict[str, Any] = {"g": group, "id": f"{group}-{i}", last.field: tail}
            for key in leading:
                values = [1.0, 2.5, -3.0, None] if key.descending else ["A", "B", None]
                row[key.field] = rng.choice(values)
            rows.append(row)
    return rows


def schema(ranking: Ranking) -> str:
    fields = [f"{k.field} {'double' if k.descending else 'string'}" for k in ranking.keys]
    return ", ".join(["g int", "id string", *fields])


@pytest.mark.parametrize("ranking", RANKINGS, ids=[r.name for r in RANKINGS])
def test_spark_orders_and_keeps_as_python_does(spark: SparkSession, ranking: Ranking) -> None:
    rng = random.Random(ranking.name)
    rows = rows_for(ranking, rng)
    names = ["g", "id", *(k.field for k in ranking.keys)]
    frame = spark.createDataFrame([tuple(r[c] for c in names) for r in rows], schema(ranking))
    placed = frame.withColumn("place", position(ranking, ["g"])).collect()
    for group in range(3):
        mine = [r for r in rows if r["g"] == group]
        python = [r["id"] for r in sorted(mine, key=ranking.sort_key(rules.field_of))]
        spark_order = [r.id for r in sorted(placed, key=lambda r: r.place) if r.g == group]
        assert spark_order == python, (ranking.name, group)
    if ranking.keep is not None:
        kept = keep_first(frame, ranking, ["g"]).collect()
        expected = {
            r["id"]
            for group in range(3)
            for r in ranking.apply([r for r in rows if r["g"] == group], rules.field_of)
        }
        assert {r.id for r in kept} == expected
        assert kept and set(kept[0].asDict()) == set(names)  # no helper column left behind


def test_missing_values_sort_last_in_both_directions(spark: SparkSession) -> None:
    ranking = Ranking("test", (Key("x", descending=True), Key("t")))
    frame = spark.createDataFrame(
        [(None, "A"), (1.0, None), (1.0, "B"), (2.0, "C")], "x double, t string"
    )
    got = [(r.x, r.t) for r in frame.orderBy(*order_columns(ranking)).collect()]
    assert got == [(2.0, "C"), (1.0, "B"), (1.0, None), (None, "A")]


def test_columns_name_the_frame_s_columns_for_the_rule_s_fields(spark: SparkSession) -> None:
    frame = spark.createDataFrame(
        [("D", 1, 2.0), ("D", 2, 5.0), ("D", 3, 5.0), ("E", 4, 1.0)],
        "day string, n int, weight double",
    )
    kept = keep_first(
        frame,
        Ranking("two heaviest", (Key("w", descending=True), Key("k")), keep=2),
        ["day"],
        columns={"w": "weight", "k": "n"},
        position_column="place",
    ).collect()
    assert sorted((r.day, r.place, r.n) for r in kept) == [("D", 1, 2), ("D", 2, 3), ("E", 1, 4)]


def test_keep_first_needs_a_ranking_that_keeps_a_number(spark: SparkSession) -> None:
    frame = spark.createDataFrame([(1,)], "x int")
    with pytest.raises(ValueError, match="keeps every row"):
        keep_first(frame, rules.RETURN_RANK, ["x"])

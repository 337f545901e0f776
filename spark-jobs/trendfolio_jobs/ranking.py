"""SPEC §4's orderings (:class:`trendfolio.rules.Ranking`) in Spark: sort columns, windows and
"keep the first n" filters, so a job orders rows exactly as the Python side does.

Missing values sort last, as in :meth:`Ranking.sort_key`: descending keys with
``desc_nulls_last`` (what a plain ``desc`` does), ascending ones with ``asc_nulls_last`` (a
plain ``asc`` would put them first). A Ranking names its fields; ``columns`` maps a field to the
frame's column where the two differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame, Window, WindowSpec
from pyspark.sql import functions as F

from trendfolio.rules import Ranking

_POSITION = "_position"


def order_columns(ranking: Ranking, columns: Mapping[str, str] = {}) -> list[Column]:
    """``ranking``'s keys as sort columns, most significant first."""
    out = []
    for key in ranking.keys:
        column = F.col(columns.get(key.field, key.field))
        out.append(column.desc_nulls_last() if key.descending else column.asc_nulls_last())
    return out


def window(
    ranking: Ranking,
    partition_by: Sequence[str],
    columns: Mapping[str, str] = {},
    first: Sequence[Column] = (),
) -> WindowSpec:
    """A window over ``partition_by`` in ``ranking``'s order, after the sort columns ``first``
    (for an order a stage adds before the rule's own, e.g. picks before other rows)."""
    return Window.partitionBy(*partition_by).orderBy(*first, *order_columns(ranking, columns))


def position(
    ranking: Ranking, partition_by: Sequence[str], columns: Mapping[str, str] = {}
) -> Column:
    """Each row's place (1, 2, ...) in ``ranking``'s order within its partition."""
    return F.row_number().over(window(ranking, partition_by, columns))


def keep_first(
    frame: DataFrame,
    ranking: Ranking,
    partition_by: Sequence[str],
    columns: Mapping[str, str] = {},
    position_column: str | None = None,
) -> DataFrame:
    """The first ``ranking.keep`` rows of each partition in ``ranking``'s order, with their
    place in a column ``position_column`` when one is named."""
    if ranking.keep is None:
        raise ValueError(f"the {ranking.name} ranking keeps every row: nothing to cut")
    name = position_column or _POSITION
    kept = frame.withColumn(name, position(ranking, partition_by, columns)).where(
        F.col(name) <= ranking.keep
    )
    return kept if position_column else kept.drop(name)

"""Every SQL statement the API runs: constants with bound parameters, never assembled."""

from __future__ import annotations

DATE_KNOWN = "SELECT EXISTS (SELECT 1 FROM analytics_03_trending_etfs WHERE as_of_date = $1)"
LATEST_TRENDING_DATE = "SELECT max(as_of_date) FROM analytics_03_trending_etfs WHERE period = $1"

STATUS_LATEST_BY_PERIOD = """
SELECT period_days, max(as_of_date) AS as_of_date
FROM analytics_05_portfolio_allocation GROUP BY period_days"""
STATUS_DATES = """
SELECT DISTINCT as_of_date FROM analytics_03_trending_etfs ORDER BY as_of_date DESC LIMIT $1"""
STATUS_LATEST_REBALANCE = "SELECT max(rebalance_date) FROM analytics_08_monthly_portfolio"
STATUS_SETTINGS = "SELECT key, value FROM pipeline_settings"
STATUS_STAGES = """
SELECT DISTINCT ON (stage) stage, as_of_date, status, finished_at, rows_written
FROM pipeline_runs WHERE status = 'success'
ORDER BY stage, as_of_date DESC, finished_at DESC NULLS LAST"""

ETF_LIST = """
SELECT ticker, etf_name, etf_type, sector_name, is_reference
FROM collected_00_meta_etf ORDER BY ticker"""
ETF_META = """
SELECT ticker, etf_name, etf_type, sector_name, is_reference
FROM collected_00_meta_etf WHERE ticker = $1"""

TRENDING = """
SELECT t.etf_ticker, m.etf_name, m.etf_type, m.sector_name, t.return_pct, t.spy_return_pct,
       t.rank, t.is_trending,
       (SELECT o.close_price FROM collected_01_daily_etf_ohlc o
        WHERE o.ticker = t.etf_ticker AND o.trade_date <= t.as_of_date
        ORDER BY o.trade_date DESC LIMIT 1) AS close_price
FROM analytics_03_trending_etfs t
LEFT JOIN collected_00_meta_etf m ON m.ticker = t.etf_ticker
WHERE t.as_of_date = $1 AND t.period = $2
ORDER BY t.rank NULLS LAST, t.etf_ticker"""

# One round trip: resolve the date (the latest for the period, or the asked one if the pipeline
# ran for it), then the rows; a row with a NULL ticker means "known date, empty portfolio".
PORTFOLIO = """
WITH d AS (
    SELECT CASE WHEN $1::date IS NULL
                THEN (SELECT max(as_of_date) FROM analytics_05_portfolio_allocation
                      WHERE period_days = $2)
                ELSE $1::date END AS day,
           ($1::date IS NULL OR EXISTS (SELECT 1 FROM analytics_03_trending_etfs
                                        WHERE as_of_date = $1::date)) AS known)
SELECT d.known, p.as_of_date, p.ticker, p.company_name, p.sector, p.market_cap,
       p.market_cap_estimated, p.return_pct, p.sector_avg, p.is_trending, p.rank,
       p.portfolio_weight, p.allocation_reason, p.period_days, p.etf_ticker, p.etf_return_pct,
       p.is_point_in_time, p.created_at
FROM d LEFT JOIN analytics_05_portfolio_allocation p
       ON p.as_of_date = d.day AND p.period_days = $2
ORDER BY p.portfolio_weight DESC, p.rank, p.ticker"""

# The latest top-holdings analytics dated <= D for each ETF (non-trending ETFs refresh weekly).
CARD_HOLDINGS = """
SELECT h.etf_ticker, h.holding_ticker, h.holding_name, h.market_cap, h.total_return,
       h.rank_position, h.as_of_date
FROM analytics_09_etf_top_holdings h
JOIN (SELECT etf_ticker, max(as_of_date) AS as_of_date FROM analytics_09_etf_top_holdings
      WHERE time_period = $2 AND as_of_date <= $1 GROUP BY etf_ticker) latest
  ON latest.etf_ticker = h.etf_ticker AND latest.as_of_date = h.as_of_date
WHERE h.time_period = $2 AND h.rank_position <= $3
ORDER BY h.etf_ticker, h.rank_position"""

TOP_HOLDINGS = """
SELECT h.etf_ticker, h.etf_type, h.sector_name, h.time_period, h.as_of_date, h.holding_ticker,
       h.holding_name, h.holding_sector, h.rank_position, h.avg_return, h.total_return,
       h.volatility, h.avg_volume, h.current_price, h.market_cap
FROM analytics_09_etf_top_holdings h
JOIN (SELECT time_period, max(as_of_date) AS as_of_date FROM analytics_09_etf_top_holdings
      WHERE etf_ticker = $1 AND ($2::date IS NULL OR as_of_date <= $2)
        AND ($3::int IS NULL OR time_period = $3)
      GROUP BY time_period) latest
  ON latest.time_period = h.time_period AND latest.as_of_date = h.as_of_date
WHERE h.etf_ticker = $1
ORDER BY h.time_period, h.rank_position"""

MONTHLY_DATE_KNOWN = (
    "SELECT EXISTS (SELECT 1 FROM analytics_08_monthly_portfolio WHERE rebalance_date = $1)"
)
MONTHLY = """
SELECT rebalance_date, valid_until, ticker, company_name, sector, final_rank, final_weight,
       score, source_periods, return_20d, market_cap, allocation_reason, created_at
FROM analytics_08_monthly_portfolio
WHERE rebalance_date = coalesce($1, (SELECT max(rebalance_date)
                                     FROM analytics_08_monthly_portfolio))
ORDER BY final_rank, ticker"""
MONTHLY_AT_OR_BEFORE = """
SELECT max(rebalance_date) FROM analytics_08_monthly_portfolio
WHERE $1::date IS NULL OR rebalance_date <= $1"""

# analytics_10 stores monthly_return as a fraction (0.0526); the API answers percent (5.26).
MONTHLY_RETURNS = """
SELECT r.etf_ticker, r.month, r.month_open, r.month_close,
       100 * r.monthly_return AS monthly_return, r.is_complete,
       m.etf_type, m.sector_name
FROM analytics_10_etf_monthly_returns r
LEFT JOIN collected_00_meta_etf m ON m.ticker = r.etf_ticker
WHERE r.as_of_date = (SELECT max(as_of_date) FROM analytics_10_etf_monthly_returns
                      WHERE $1::date IS NULL OR as_of_date <= $1)
ORDER BY r.etf_ticker, r.month"""

ETF_BARS = """
SELECT ticker, trade_date, close_price, adj_close, price_change_percent
FROM collected_01_daily_etf_ohlc
WHERE ticker = $1 AND ($2::date IS NULL OR trade_date <= $2)
ORDER BY trade_date DESC LIMIT $3"""

STOCK_EXISTS = "SELECT EXISTS (SELECT 1 FROM collected_06_daily_stock_history WHERE ticker = $1)"
ETF_EXISTS = "SELECT EXISTS (SELECT 1 FROM collected_01_daily_etf_ohlc WHERE ticker = $1)"
STOCK_HISTORY = """
SELECT ticker, company_name, sector, trade_date, close_price, adj_close, low_price, high_price,
       volume, market_cap
FROM collected_06_daily_stock_history
WHERE ticker = $1 AND ($2::date IS NULL OR trade_date >= $2)
  AND ($3::date IS NULL OR trade_date <= $3)
ORDER BY trade_date DESC LIMIT $4"""
ETF_HISTORY = """
SELECT o.ticker, m.etf_name AS company_name, coalesce(m.sector_name, m.etf_type) AS sector,
       o.trade_date, o.close_price, o.adj_close, o.low_price, o.high_price, o.volume,
       NULL::bigint AS market_cap
FROM collected_01_daily_etf_ohlc o LEFT JOIN collected_00_meta_etf m ON m.ticker = o.ticker
WHERE o.ticker = $1 AND ($2::date IS NULL OR o.trade_date >= $2)
  AND ($3::date IS NULL OR o.trade_date <= $3)
ORDER BY o.trade_date DESC LIMIT $4"""

# Closes for the monthly-vs-SPY chart: stocks (collected_06) and the reference ETF (collected_01).
STOCK_CLOSES = """
SELECT ticker, trade_date, close_price, adj_close FROM collected_06_daily_stock_history
WHERE ticker = ANY($1::text[]) AND trade_date BETWEEN $2 AND $3"""
ETF_CLOSES = """
SELECT ticker, trade_date, close_price, adj_close FROM collected_01_daily_etf_ohlc
WHERE ticker = $1 AND trade_date BETWEEN $2 AND $3"""
LATEST_ETF_BAR = "SELECT max(trade_date) FROM collected_01_daily_etf_ohlc WHERE ticker = $1"
REFERENCE_ETF = """
SELECT ticker FROM collected_00_meta_etf WHERE is_reference ORDER BY ticker LIMIT 1"""

HEALTH = "SELECT 1"

# Backtests (`trendfolio backtest`). A run counts once its metrics are written, so a run still
# being stored is never served as the newest one. The caveats (a jsonb list) come as text[].
BACKTEST_RUN = """
SELECT r.id, r.start_date, r.end_date, r.universe, r.source, r.is_sample, r.cost_bps, r.lag,
       r.sessions, r.point_in_time, r.elapsed_seconds, r.created_at,
       ARRAY(SELECT jsonb_array_elements_text(r.caveats)) AS caveats
FROM backtest_runs r
WHERE ($1::bigint IS NULL OR r.id = $1)
  AND EXISTS (SELECT 1 FROM backtest_metrics m WHERE m.run_id = r.id)
ORDER BY r.created_at DESC, r.id DESC LIMIT 1"""
BACKTEST_RUNS = """
SELECT r.id, r.start_date, r.end_date, r.universe, r.source, r.is_sample, r.cost_bps, r.lag,
       r.sessions, r.point_in_time, r.elapsed_seconds, r.created_at
FROM backtest_runs r
WHERE EXISTS (SELECT 1 FROM backtest_metrics m WHERE m.run_id = r.id)
ORDER BY r.created_at DESC, r.id DESC LIMIT $1"""
BACKTEST_METRICS = """
SELECT strategy, total_return, cagr, volatility, sharpe, max_drawdown, turnover_per_year, trades,
       hit_rate
FROM backtest_metrics WHERE run_id = $1"""
BACKTEST_EQUITY = """
SELECT strategy, trade_date, equity, drawdown, turnover
FROM backtest_equity WHERE run_id = $1 ORDER BY trade_date, strategy"""
BACKTEST_POINT_IN_TIME = """
SELECT as_of_date, picks, holdings_dated_ok, caps_dated_ok, recorded_in_time, oldest_snapshot,
       newest_cap, last_recorded_at
FROM backtest_point_in_time WHERE run_id = $1 ORDER BY as_of_date"""
BACKTEST_PICKS = """
SELECT period_days, horizon, picks, mean_pick_return, mean_etf_return, mean_excess,
       median_excess, beat_etf_share
FROM backtest_pick_returns WHERE run_id = $1 ORDER BY period_days, horizon"""

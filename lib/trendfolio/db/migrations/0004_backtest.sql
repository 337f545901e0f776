-- Walk-forward backtests (`trendfolio backtest`): one row per run with its parameters and
-- caveats, then per strategy its metrics and daily equity, the point-in-time report per signal
-- date and the pick leg's forward returns. Runs are kept (the API serves the newest by default).
CREATE TABLE backtest_runs (
    id               bigserial PRIMARY KEY,
    start_date       date NOT NULL,
    end_date         date NOT NULL CHECK (end_date > start_date),
    universe         varchar(64) NOT NULL,
    source           varchar(255) NOT NULL,
    is_sample        boolean NOT NULL DEFAULT false,
    cost_bps         double precision NOT NULL CHECK (cost_bps >= 0),
    lag              integer NOT NULL CHECK (lag >= 1),
    sessions         integer NOT NULL,
    -- true only when every signal date used holdings and market caps dated on or before it
    -- and recorded (stored) on or before it
    point_in_time    boolean NOT NULL,
    caveats          jsonb NOT NULL DEFAULT '[]'::jsonb,
    elapsed_seconds  double precision,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_backtest_runs_created ON backtest_runs (created_at DESC);

-- strategy: '5d', '10d', '20d', 'monthly', 'SPY'; every figure a fraction, not percent.
CREATE TABLE backtest_metrics (
    run_id             bigint NOT NULL REFERENCES backtest_runs (id) ON DELETE CASCADE,
    strategy           varchar(16) NOT NULL,
    total_return       double precision,
    cagr               double precision,
    volatility         double precision,
    sharpe             double precision,
    max_drawdown       double precision,
    turnover_per_year  double precision,
    trades             integer NOT NULL,
    hit_rate           double precision,
    PRIMARY KEY (run_id, strategy)
);

-- equity after costs (1 at the close of the first session), its drawdown from the running peak
-- (≤ 0), the day's return, and the turnover of a trade made at that close (null: no trade).
CREATE TABLE backtest_equity (
    run_id        bigint NOT NULL REFERENCES backtest_runs (id) ON DELETE CASCADE,
    strategy      varchar(16) NOT NULL,
    trade_date    date NOT NULL,
    equity        double precision NOT NULL,
    drawdown      double precision NOT NULL,
    daily_return  double precision,
    turnover      double precision,
    PRIMARY KEY (run_id, strategy, trade_date)
);

-- per signal date: how many picks it had and whether the holdings snapshots and market caps
-- behind them were dated, and recorded, on or before it.
CREATE TABLE backtest_point_in_time (
    run_id              bigint NOT NULL REFERENCES backtest_runs (id) ON DELETE CASCADE,
    as_of_date          date NOT NULL,
    picks               integer NOT NULL,
    holdings_dated_ok   boolean NOT NULL,
    caps_dated_ok       boolean NOT NULL,
    recorded_in_time    boolean NOT NULL,
    oldest_snapshot     date,
    newest_cap          date,
    last_recorded_at    timestamptz,
    PRIMARY KEY (run_id, as_of_date)
);

-- the pick leg alone: forward `horizon`-session returns of each pick against its source ETF,
-- aggregated per portfolio period; picks whose horizon runs past the end are not counted.
CREATE TABLE backtest_pick_returns (
    run_id            bigint NOT NULL REFERENCES backtest_runs (id) ON DELETE CASCADE,
    period_days       integer NOT NULL,
    horizon           integer NOT NULL,
    picks             integer NOT NULL,
    mean_pick_return  double precision,
    mean_etf_return   double precision,
    mean_excess       double precision,
    median_excess     double precision,
    beat_etf_share    double precision,
    PRIMARY KEY (run_id, period_days, horizon)
);

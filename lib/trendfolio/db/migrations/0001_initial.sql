-- Trendfolio schema v1. The seed's table and column names are kept so its SQL keeps working;
-- columns the rules need are added (adjusted close, currency, source ETF, SPY return).

CREATE TABLE collected_00_meta_etf (
    ticker        varchar(16) PRIMARY KEY,
    etf_type      varchar(20) NOT NULL CHECK (etf_type IN ('benchmark', 'sector', 'both')),
    sector_name   varchar(100),
    etf_name      varchar(255),
    is_reference  boolean NOT NULL DEFAULT false,
    universe      varchar(64) NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_meta_etf_type ON collected_00_meta_etf (etf_type);
CREATE INDEX idx_meta_sector ON collected_00_meta_etf (sector_name);

CREATE TABLE collected_01_daily_etf_ohlc (
    id                    bigserial PRIMARY KEY,
    ticker                varchar(16) NOT NULL,
    trade_date            date NOT NULL,
    open_price            numeric(18, 6),
    high_price            numeric(18, 6),
    low_price             numeric(18, 6),
    close_price           numeric(18, 6) NOT NULL CHECK (close_price > 0),
    adj_close             numeric(18, 6) CHECK (adj_close > 0),
    volume                bigint CHECK (volume >= 0),
    price_change_percent  numeric(12, 6),
    source                varchar(64),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (ticker, trade_date)
);
CREATE INDEX idx_etf_ohlc_date ON collected_01_daily_etf_ohlc (trade_date DESC);

CREATE TABLE collected_04_etf_holdings (
    id               bigserial PRIMARY KEY,
    etf_ticker       varchar(16) NOT NULL,
    holding_ticker   varchar(32) NOT NULL,
    holding_name     varchar(255),
    holding_percent  numeric(14, 8) NOT NULL CHECK (holding_percent >= 0),
    holding_shares   numeric(24, 4),
    holding_value    numeric(24, 2),
    holding_currency varchar(8),
    as_of_date       date NOT NULL,
    is_point_in_time boolean NOT NULL DEFAULT true,
    source           varchar(64),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (etf_ticker, holding_ticker, as_of_date)
);
CREATE INDEX idx_holdings_etf_date ON collected_04_etf_holdings (etf_ticker, as_of_date DESC);

CREATE TABLE collected_06_daily_stock_history (
    id                    bigserial PRIMARY KEY,
    ticker                varchar(32) NOT NULL,
    company_name          varchar(255),
    sector                varchar(100) NOT NULL DEFAULT 'Unknown',
    currency              varchar(8),
    trade_date            date NOT NULL,
    open_price            numeric(18, 6),
    high_price            numeric(18, 6),
    low_price             numeric(18, 6),
    close_price           numeric(18, 6) NOT NULL CHECK (close_price > 0),
    adj_close             numeric(18, 6) CHECK (adj_close > 0),
    volume                bigint CHECK (volume >= 0),
    price_change_percent  numeric(12, 6),
    market_cap            bigint,
    source                varchar(64),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (ticker, trade_date)
);
CREATE INDEX idx_stock_hist_date ON collected_06_daily_stock_history (trade_date DESC);
CREATE INDEX idx_stock_hist_sector ON collected_06_daily_stock_history (sector);

-- Market-cap and shares-outstanding observations, each dated; mcap(T, D) reads the latest <= D.
CREATE TABLE collected_07_stock_fundamentals (
    id                 bigserial PRIMARY KEY,
    ticker             varchar(32) NOT NULL,
    as_of_date         date NOT NULL,
    market_cap         numeric(24, 2) CHECK (market_cap > 0),
    shares_outstanding numeric(24, 2) CHECK (shares_outstanding > 0),
    source             varchar(64),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (ticker, as_of_date)
);

CREATE TABLE analytics_03_trending_etfs (
    id              bigserial PRIMARY KEY,
    etf_ticker      varchar(16) NOT NULL,
    as_of_date      date NOT NULL,
    period          integer NOT NULL CHECK (period > 0),
    return_pct      double precision,
    spy_return_pct  double precision,
    is_trending     boolean NOT NULL DEFAULT false,
    rank            integer,
    price_basis     varchar(8),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (etf_ticker, as_of_date, period)
);
CREATE INDEX idx_trending_date ON analytics_03_trending_etfs (as_of_date DESC);

CREATE TABLE analytics_05_portfolio_allocation (
    id                   bigserial PRIMARY KEY,
    as_of_date           date NOT NULL,
    ticker               varchar(32) NOT NULL,
    company_name         varchar(255),
    sector               varchar(100) NOT NULL DEFAULT 'Unknown',
    market_cap           bigint,
    market_cap_estimated boolean NOT NULL DEFAULT false,
    return_pct           double precision,
    sector_avg           double precision,
    is_trending          boolean NOT NULL DEFAULT true,
    rank                 integer NOT NULL,
    portfolio_weight     double precision NOT NULL CHECK (portfolio_weight > 0 AND portfolio_weight <= 1),
    allocation_reason    varchar(255),
    period_days          integer NOT NULL,
    etf_ticker           varchar(16) NOT NULL,
    etf_return_pct       double precision,
    is_point_in_time     boolean NOT NULL DEFAULT true,
    created_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (as_of_date, ticker, period_days)
);
CREATE INDEX idx_alloc_date ON analytics_05_portfolio_allocation (as_of_date DESC, period_days);

CREATE TABLE analytics_08_monthly_portfolio (
    id               bigserial PRIMARY KEY,
    ticker           varchar(32) NOT NULL,
    company_name     varchar(255),
    sector           varchar(100),
    final_rank       integer NOT NULL,
    final_weight     double precision NOT NULL,
    score            double precision NOT NULL,
    source_periods   varchar(50),
    return_20d       double precision,
    market_cap       bigint,
    allocation_reason text,
    rebalance_date   date NOT NULL,
    valid_until      date NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (ticker, rebalance_date)
);

CREATE TABLE analytics_09_etf_top_holdings (
    id              bigserial PRIMARY KEY,
    etf_ticker      varchar(16) NOT NULL,
    etf_type        varchar(20),
    sector_name     varchar(100),
    holding_ticker  varchar(32) NOT NULL,
    holding_name    varchar(255),
    holding_sector  varchar(100),
    time_period     integer NOT NULL,
    rank_position   integer NOT NULL,
    avg_return      double precision,
    total_return    double precision,
    volatility      double precision,
    avg_volume      bigint,
    current_price   double precision,
    market_cap      bigint,
    as_of_date      date NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (etf_ticker, as_of_date, time_period, holding_ticker)
);

CREATE TABLE analytics_10_etf_monthly_returns (
    id             bigserial PRIMARY KEY,
    etf_ticker     varchar(16) NOT NULL,
    month          date NOT NULL,
    month_open     double precision,
    month_close    double precision,
    monthly_return double precision,
    is_complete    boolean NOT NULL,
    as_of_date     date NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (etf_ticker, month, as_of_date)
);

-- Every message that failed validation or could not be written, with where it came from.
CREATE TABLE logs_consumer_error (
    id           bigserial PRIMARY KEY,
    topic        varchar(255) NOT NULL,
    "partition"  integer NOT NULL,
    "offset"     bigint NOT NULL,
    message_key  text,
    raw_value    text,
    raw_bytes    bytea,
    error_msg    text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (topic, "partition", "offset")
);
CREATE INDEX idx_consumer_error_received ON logs_consumer_error (received_at DESC);

CREATE TABLE pipeline_runs (
    id           bigserial PRIMARY KEY,
    stage        varchar(64) NOT NULL,
    as_of_date   date NOT NULL,
    universe     varchar(64),
    source       varchar(255),
    status       varchar(16) NOT NULL CHECK (status IN ('running', 'success', 'failed', 'skipped')),
    rows_written bigint NOT NULL DEFAULT 0,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    duration_s   double precision,
    error        text,
    details      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX idx_pipeline_runs_stage ON pipeline_runs (stage, as_of_date DESC, started_at DESC);

-- What the data set is: sample data is labelled wherever it is shown.
CREATE TABLE pipeline_settings (
    key        varchar(64) PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

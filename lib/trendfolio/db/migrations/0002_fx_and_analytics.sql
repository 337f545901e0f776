-- Daily FX rates: a holding quoted in another currency (EWY's KRW stocks) has its market cap
-- converted to USD with the rate dated on the as-of date, or is left out.
CREATE TABLE collected_11_fx_rates (
    id            bigserial PRIMARY KEY,
    currency      varchar(8) NOT NULL,
    trade_date    date NOT NULL,
    usd_per_unit  double precision NOT NULL CHECK (usd_per_unit > 0),
    source        varchar(64),
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (currency, trade_date)
);

-- ETF top-holdings analytics are computed per as-of date and period; the ETF's price basis
-- and whether its snapshot was point-in-time are kept with each row.
ALTER TABLE analytics_09_etf_top_holdings ADD COLUMN is_point_in_time boolean NOT NULL DEFAULT true;
ALTER TABLE analytics_09_etf_top_holdings ADD COLUMN holding_weight double precision;
ALTER TABLE analytics_08_monthly_portfolio ADD COLUMN etf_tickers varchar(100);
CREATE INDEX idx_monthly_rebalance ON analytics_08_monthly_portfolio (rebalance_date DESC);
CREATE INDEX idx_top_holdings_date ON analytics_09_etf_top_holdings (as_of_date DESC, time_period);
CREATE INDEX idx_monthly_returns_date ON analytics_10_etf_monthly_returns (as_of_date DESC);

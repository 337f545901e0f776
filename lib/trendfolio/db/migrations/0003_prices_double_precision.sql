-- Prices as IEEE doubles, exactly as the sources report them.
--
-- Yahoo, the CSV files and Spark all carry prices as doubles; numeric(18, 6) rounded them to six
-- decimals on the way in and cost a float-to-numeric conversion per price on every write (about
-- half of the consumer's insert time). The column names stay the seed's, so its SQL still works.
-- price_change_percent stays numeric(12, 6): it is computed and rounded here, for reading.
ALTER TABLE collected_01_daily_etf_ohlc
    ALTER COLUMN open_price  TYPE double precision,
    ALTER COLUMN high_price  TYPE double precision,
    ALTER COLUMN low_price   TYPE double precision,
    ALTER COLUMN close_price TYPE double precision,
    ALTER COLUMN adj_close   TYPE double precision;

ALTER TABLE collected_06_daily_stock_history
    ALTER COLUMN open_price  TYPE double precision,
    ALTER COLUMN high_price  TYPE double precision,
    ALTER COLUMN low_price   TYPE double precision,
    ALTER COLUMN close_price TYPE double precision,
    ALTER COLUMN adj_close   TYPE double precision;

"""One router per resource family: health, stocks, dashboard, ETF holdings."""

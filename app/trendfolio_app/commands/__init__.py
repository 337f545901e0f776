"""One module per ``trendfolio`` command; ``trendfolio_app.cli`` parses and dispatches."""

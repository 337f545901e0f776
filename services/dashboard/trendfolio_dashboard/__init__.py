"""The Trendfolio dashboard (SPEC §9): Plotly Dash reading only from the API."""

"""Data sources behind one interface (``base.Source``): ``yfinance`` (live), ``csv:DIR``
(recorded) and ``sample``; ``trendfolio.wiring.open_source`` picks one."""

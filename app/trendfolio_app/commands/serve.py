"""``trendfolio serve api|dashboard``: uvicorn or waitress in the foreground."""

from __future__ import annotations

from trendfolio.config import API_PORT, DASHBOARD_PORT, Settings
from trendfolio_app.commands.common import check_port


def serve(settings: Settings, what: str, host: str, port: int | None) -> int:
    if port is not None:
        check_port("--port", port)
    # Imported here: each needs its own extra (api, dashboard), and an image has only its own.
    if what == "api":
        from trendfolio_api.app import serve as serve_api

        serve_api(settings, host, port or API_PORT)
    else:
        from trendfolio_dashboard.app import serve as serve_dashboard

        serve_dashboard(settings, host, port or DASHBOARD_PORT)
    return 0

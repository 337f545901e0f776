"""``python -m trendfolio_app`` is the ``trendfolio`` command."""

import sys

from trendfolio_app.cli import main

sys.exit(main())

"""The Spark image's application file: the ``trendfolio`` command line, run by spark-submit.

A SparkApplication runs ``local:///opt/trendfolio/stage.py`` with the arguments
``stage NAME --date D``, so a Spark stage on the operator runs exactly the code that
``trendfolio stage NAME --date D`` runs anywhere else.
"""

from __future__ import annotations

import sys

from trendfolio_app.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

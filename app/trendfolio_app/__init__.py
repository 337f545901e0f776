"""The application: the ``trendfolio`` command and the stage runner, on top of the domain
library (``trendfolio``), the services and the Spark jobs. Nothing imports this package.
"""

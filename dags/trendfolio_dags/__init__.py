"""Task-building code shared by the Trendfolio DAG files (`trendfolio_daily.py`, ...).

The DAG files only say *what* runs *when*; this package says *how* a stage runs: as a
KubernetesPodOperator / SparkKubernetesOperator task (runner ``kubernetes``, the default) or as
the same ``trendfolio stage NAME --date {{ ds }}`` command in a local subprocess (runner
``local``, for ``airflow standalone`` on a laptop).
"""

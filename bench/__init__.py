"""Benchmarks: each ``bench/bench_*.py`` module has ``run() -> list[Row]``.

Every row reports a figure for our code and for a baseline measured in the same run, so the
ratio means something on whatever machine runs it. ``python -m bench [NAME ...]`` runs them.
"""

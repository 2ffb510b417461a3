"""Postestimation: predictions, Stata's ``estat`` tables, tests and model comparison."""

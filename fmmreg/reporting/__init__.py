"""Reporting: Stata-style text, HTML, Markdown and LaTeX tables, number formatting, plots."""

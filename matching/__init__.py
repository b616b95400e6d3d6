"""Matching: pure functions from listings and challenges (plain data) to ranked, explained matches.

No DuckDB, Prefect or Streamlit here: callers load the data and store the results.
"""

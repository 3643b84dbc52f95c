"""Evaluation on VITAL: the tasks and their items (tasks.py, vital.py), the runner and its results
store, scoring and its metrics, comparisons, the report, and fetching the data (data.py)."""

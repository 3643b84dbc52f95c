"""Evaluation on VITAL: reading items in the VITAL schema (more to come: metrics, baselines, runner)."""

"""Structures and lists in, verdicts with evidence out. Pure functions."""

"""Precursor Watch: identify, detect and screen synthetic-drug precursor chemicals."""

__version__ = "0.1.0"

"""The analyst web UI."""

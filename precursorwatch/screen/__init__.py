"""Shipments and parties: manifests, chemical mentions, HS codes, watchlists, red flags."""

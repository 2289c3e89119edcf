"""HTTP routes of the exchange; the work is done in `precursorwatch.exchange.service`."""

"""HTTP routes of the exchange; the work is done in the module of each kind of record
(`notifications`, `incidents`, `alerts`, `permit_store`) and in `service` for what they share."""

"""The control lists as cited data, loaded into immutable typed objects."""

"""The catalogue: events and their ticket types, listed for buyers and created by organisers."""

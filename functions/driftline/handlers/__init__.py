"""Lambda entry points: one module per trigger; each parses its input, builds adapters and calls the service."""

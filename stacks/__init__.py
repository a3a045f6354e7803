"""The driftline CDK app: one stack composed of small constructs (tables, functions, schedule)."""

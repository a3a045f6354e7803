"""boto3 implementations of driftline's ports. Each adapter takes its client as an argument and maps SDK errors to
domain errors, chaining the cause."""

"""The pure core of driftline: models and the comparison. Nothing here performs I/O, logs or reads the environment."""

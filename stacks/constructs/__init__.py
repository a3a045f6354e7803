"""Reusable building blocks of the driftline stack."""

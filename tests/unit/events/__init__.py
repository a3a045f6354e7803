"""Unit tests of the event path: triage and what each event touched (pure, no sockets)."""

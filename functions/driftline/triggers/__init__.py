"""Triggers: what an incoming CloudTrail event or registry stream record means, decided before the detector runs."""

"""Drifts as AWS Security Hub (CSPM) findings in ASFF: the mapping, the publication plan and the sink."""

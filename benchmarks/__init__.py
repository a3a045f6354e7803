"""Benchmarks: what a reconcile costs at IAM's quota scale, against a moto server on loopback (`make bench`)."""

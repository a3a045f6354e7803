"""The core between triggers and adapters: ports, the evaluation pipeline, ledger sync and enforcement."""

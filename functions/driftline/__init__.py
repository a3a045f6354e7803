"""driftline: keeps live IAM users, roles and access keys honest against an authoritative registry."""

__version__ = "0.1.0"

"""The operator CLI (not shipped to Lambda): scan, demo, and the registry file format."""

"""Integration tests of the IAM event handler on moto: real IAM changes, then the CloudTrail event."""

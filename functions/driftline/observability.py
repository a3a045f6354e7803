"""The single Powertools Logger and Metrics of the functions (service name and namespace come from the
environment: POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="driftline")
metrics = Metrics(namespace="Driftline", service="driftline")

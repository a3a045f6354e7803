"""Hub and spoke: the member accounts the hub judges, as the items of its state machine's Distributed Map.

The organisation's ACTIVE accounts (AWS Organizations ``ListAccounts``), or those anywhere under the organisational
units of ``DRIFTLINE_ORGANIZATION_UNITS`` (nested units included); each once, sorted by id. Writes nothing. A
failure of Organizations raises: the state machine's run fails visibly, with nothing judged.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from driftline.compose import ContainerClients, hub_settings, organization_members
from driftline.observability import logger, metrics

CLIENTS = ContainerClients()  # built by the first invocation of an execution environment, then reused


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    settings = hub_settings()
    accounts = organization_members(CLIENTS(), settings.organization_units)
    metrics.add_metric(name="MemberAccounts", unit=MetricUnit.Count, value=len(accounts))
    if not accounts:
        logger.warning("the organisation lists no active account", extra={"units": list(settings.organization_units)})
    else:
        logger.info("member accounts", extra={"accounts": len(accounts), "units": list(settings.organization_units)})
    return {"accounts": [m.model_dump() for m in accounts]}

"""What every driftline StackSet shares: service-managed, automatic deployment, and role names that stay "Driftline".

CloudFormation names a stack instance ``StackSet-<name>-<id>``, and the roles it creates after the stack. driftline's
roles must start with ``Driftline``: the central registry admits ``role/Driftline*`` only, and the exclusions and the
enforcement policy protect that prefix. ``name_roles`` names every role of a StackSet stack explicitly,
``Driftline-<logical id>-<Region>`` (unique per account and Region, at most 64 characters).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from aws_cdk import Aws, Fn, Token
from aws_cdk import aws_iam as iam
from cdk_stacksets import (
    Capability,
    DeploymentType,
    OperationPreferences,
    RegionConcurrencyType,
    StackSet,
    StackSetStack,
    StackSetTarget,
    StackSetTemplate,
)
from constructs import Construct

ROLE_PREFIX = "Driftline-"
LONGEST_REGION = 14  # "ap-southeast-4", "ap-northeast-3": the Region suffix of a role name
ROLE_NAME_LIMIT = 64


def role_name_stem(logical_id: str) -> str:
    """``Driftline-<logical id>``, shortened with a hash of the full id so that it stays unique and leaves room for
    ``-<Region>`` within IAM's 64 characters."""
    room = ROLE_NAME_LIMIT - LONGEST_REGION - 1 - len(ROLE_PREFIX)
    if len(logical_id) <= room:
        return ROLE_PREFIX + logical_id
    digest = hashlib.sha256(logical_id.encode()).hexdigest()[:8]
    return f"{ROLE_PREFIX}{logical_id[: room - 9]}-{digest}"


def name_roles(template: StackSetStack) -> None:
    """Names each unnamed role of a StackSet stack after driftline (see the module's docstring). Called once the
    stack is built: cdk-stacksets renders the template before aspects would reach it."""
    for node in template.node.find_all():
        # An unnamed L2 role carries a lazy physical name (a token that renders to nothing): name it; a literal name
        # (the spokes' fixed roles) stays.
        if isinstance(node, iam.CfnRole) and (node.role_name is None or Token.is_unresolved(node.role_name)):
            node.role_name = Fn.join("-", [role_name_stem(template.get_logical_id(node)), Aws.REGION])


def driftline_stack_set(
    scope: Construct,
    construct_id: str,
    *,
    template: StackSetStack,
    name: str,
    description: str,
    targets: Sequence[str],
    regions: Sequence[str],
    delegated_admin: bool,
) -> StackSet:
    """A service-managed StackSet of ``template`` in ``regions`` of every account under ``targets`` (OUs or the
    root), deployed automatically to accounts that join them later and removed from accounts that leave."""
    return StackSet(
        scope,
        construct_id,
        stack_set_name=name,
        description=description,
        template=StackSetTemplate.from_stack_set_stack(template),
        target=StackSetTarget.from_organizational_units(organizational_units=list(targets), regions=list(regions)),
        deployment_type=DeploymentType.service_managed(
            delegated_admin=delegated_admin, auto_deploy_enabled=True, auto_deploy_retain_stacks=False
        ),
        capabilities=[Capability.IAM, Capability.NAMED_IAM],
        managed_execution=True,
        operation_preferences=OperationPreferences(
            region_concurrency_type=RegionConcurrencyType.PARALLEL,
            max_concurrent_percentage=25,
            failure_tolerance_percentage=10,
        ),
    )

"""What enforcement needs in every account, in report mode too: the deny-everything managed policy, and the
break-glass list published for the CLI.

``DriftlineRevoked`` (path ``/driftline/``) denies every action on every resource. Attached to a revoked user or
role it leaves nobody able to act as the identity, sessions already issued included (a session's permissions are the
role's current policies); detaching it undoes it. It is the only policy enforce mode may attach or set as a
boundary (``permissions.enforcement_statements``). The break-glass list goes to SSM as a JSON list of name globs, so
``driftline enforce`` from a workstation honours the deployment's list, not only its own ``--break-glass``.
"""

from __future__ import annotations

import json

from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ..config import DriftlineConfig
from ..constants import BREAK_GLASS_PARAMETER, DENY_POLICY_NAME, DENY_POLICY_PATH


class EnforcementResources(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: DriftlineConfig) -> None:
        super().__init__(scope, construct_id)
        self.deny_policy = iam.ManagedPolicy(
            self,
            "DenyEverythingPolicy",
            managed_policy_name=DENY_POLICY_NAME,
            path=DENY_POLICY_PATH,
            description="driftline: attached to a revoked identity, denies it every action (detach to undo)",
            statements=[
                iam.PolicyStatement(sid="DriftlineRevoked", effect=iam.Effect.DENY, actions=["*"], resources=["*"])
            ],
        )
        self.break_glass = ssm.StringParameter(
            self,
            "BreakGlassParameter",
            parameter_name=BREAK_GLASS_PARAMETER,
            description="driftline: name globs of break-glass principals that enforcement never touches",
            string_value=json.dumps(list(config.break_glass_principals)),
        )

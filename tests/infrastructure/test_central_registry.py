"""A central registry opened to the organisation (``driftline:organizationId``): its own KMS key, a table policy
that lets each member's driftline roles read their own partition only, and a stream policy.

moto evaluates neither resource policies nor key policies, so the policies are checked as the template states them:
their shape, and what they allow, by a small evaluator of exactly the policy grammar they use (Allow, a ``*``
principal, StringEquals, ArnLike and ForAllValues:StringEquals with the ``${aws:PrincipalAccount}`` variable),
over the requests a member makes and the ones an attacker in the organisation would try.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

import pytest

from stacks.config import ConfigError, DriftlineConfig, cdk_json_context
from stacks.constants import REGISTRY_READ_ACTIONS
from tests.infrastructure.helpers import as_list, join, of_type
from tests.infrastructure.synth import EXISTING, ROOT, Synthesized, synthesize

pytestmark = pytest.mark.infra

ORG = "o-a1b2c3d4e5"
MEMBER, OTHER_MEMBER = "222233334444", "555566667777"
MEMBER_ROLE = f"arn:aws:iam::{MEMBER}:role/Driftline-IamEventFunctionRole-1A2B3C"


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk.out.central"), {"driftline:organizationId": ORG})


def _rendered(value: Any) -> Any:
    """The document with intrinsics rendered as text (``${AWS::Partition}`` read as ``aws``)."""
    if isinstance(value, dict) and ("Fn::Join" in value or "Ref" in value):
        return join(value).replace("${AWS::Partition}", "aws").replace("${AWS::Region}", "eu-west-1")
    if isinstance(value, dict):
        return {k: _rendered(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rendered(v) for v in value]
    return value


@dataclass(frozen=True)
class Request:
    action: str
    principal_arn: str = MEMBER_ROLE
    org: str | None = ORG
    leading_keys: tuple[str, ...] = (MEMBER,)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def account(self) -> str:
        return self.principal_arn.split(":")[4]

    def context(self) -> dict[str, list[str]]:
        found = {"aws:PrincipalArn": [self.principal_arn], "aws:PrincipalAccount": [self.account]}
        if self.org:
            found["aws:PrincipalOrgID"] = [self.org]
        found["dynamodb:LeadingKeys"] = list(self.leading_keys)
        return found | {k: [v] for k, v in self.extra.items()}


def _values(condition_values: Any, request: Request) -> list[str]:
    return [str(v).replace("${aws:PrincipalAccount}", request.account) for v in as_list(condition_values)]


def allows(statement: dict[str, Any], request: Request) -> bool:
    """Whether one Allow statement of the grammar above allows ``request`` (anything else: a test error)."""
    assert statement["Effect"] == "Allow" and statement.get("Principal") in ({"AWS": "*"}, "*")
    if request.action not in as_list(statement["Action"]):
        return False
    context = request.context()
    for operator, tests in statement.get("Condition", {}).items():
        for key, expected in tests.items():
            wanted, have = _values(expected, request), context.get(key, [])
            if operator == "StringEquals":
                ok = len(have) == 1 and have[0] in wanted
            elif operator == "ArnLike":
                ok = len(have) == 1 and any(fnmatchcase(have[0], w) for w in wanted)
            elif operator == "ForAllValues:StringEquals":
                ok = all(v in wanted for v in have)
            else:
                raise AssertionError(f"operator {operator} is outside the evaluated grammar")
            if not ok:
                return False
    return True


def _replica(central: Synthesized) -> dict[str, Any]:
    props = central.resources[central.logical_id(central.stack.registry.table)]["Properties"]
    (replica,) = props["Replicas"]
    return dict(replica)


def _table_statements(central: Synthesized) -> list[dict[str, Any]]:
    return [_rendered(s) for s in _replica(central)["ResourcePolicy"]["PolicyDocument"]["Statement"]]


@pytest.mark.parametrize(
    ("request_", "allowed"),
    [
        (Request("dynamodb:Query"), True),  # a member's function reads its own partition
        (Request("dynamodb:BatchGetItem", leading_keys=(MEMBER, MEMBER)), True),
        (Request("dynamodb:Query", leading_keys=(OTHER_MEMBER,)), False),  # another account's identity names
        (Request("dynamodb:BatchGetItem", leading_keys=(MEMBER, OTHER_MEMBER)), False),  # one foreign key in a batch
        (Request("dynamodb:Query", org="o-zzzzzzzzzz"), False),  # outside the organisation
        (Request("dynamodb:Query", org=None), False),  # an anonymous or non-organisation principal
        (Request("dynamodb:Query", principal_arn=f"arn:aws:iam::{MEMBER}:role/Admin"), False),  # not driftline's
        (Request("dynamodb:PutItem"), False),  # no write, even in its own partition
        (Request("dynamodb:Scan", leading_keys=()), False),  # a Scan names no partition: never granted
    ],
    ids=[
        "own-query",
        "own-batch",
        "other-partition",
        "mixed-batch",
        "other-org",
        "no-org",
        "other-role",
        "write",
        "scan",
    ],
)
def test_the_table_policy_lets_a_member_read_its_own_partition_only(
    central: Synthesized, request_: Request, allowed: bool
) -> None:
    statements = _table_statements(central)
    assert any(allows(s, request_) for s in statements) is allowed


def test_the_evaluator_sees_a_missing_partition_condition(central: Synthesized) -> None:
    """The check can fail: the same statement without its LeadingKeys condition would let a member read another
    account's partition."""
    (statement,) = _table_statements(central)
    loose = json.loads(json.dumps(statement))
    del loose["Condition"]["ForAllValues:StringEquals"]
    assert allows(loose, Request("dynamodb:Query", leading_keys=(OTHER_MEMBER,)))


def test_the_table_is_encrypted_with_its_own_key_that_members_may_only_decrypt_through_dynamodb(
    central: Synthesized,
) -> None:
    (key_id,) = of_type(central.resources, "AWS::KMS::Key")
    key = central.resources[key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    assert key_id in json.dumps(_replica(central)["SSESpecification"]["KMSMasterKeyId"])
    statements = [_rendered(s) for s in key["KeyPolicy"]["Statement"]]
    members = [s for s in statements if s.get("Principal") in ({"AWS": "*"}, "*")]
    (member,) = members
    assert sorted(as_list(member["Action"])) == ["kms:Decrypt", "kms:DescribeKey"]
    via = Request("kms:Decrypt", extra={"kms:ViaService": "dynamodb.eu-west-1.amazonaws.com"})
    assert allows(member, via)
    assert not allows(member, Request("kms:Decrypt"))  # not through DynamoDB
    assert not allows(member, Request("kms:Encrypt", extra={"kms:ViaService": "dynamodb.eu-west-1.amazonaws.com"}))
    assert not allows(member, Request("kms:Decrypt", org="o-zzzzzzzzzz", extra=via.extra))


def test_the_stream_policy_admits_driftline_roles_of_the_organisation_to_read_only(central: Synthesized) -> None:
    (statement,) = [
        _rendered(s)
        for s in _replica(central)["ReplicaStreamSpecification"]["ResourcePolicy"]["PolicyDocument"]["Statement"]
    ]
    assert sorted(as_list(statement["Action"])) == [
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
    ]
    assert allows(statement, Request("dynamodb:GetRecords", leading_keys=()))
    assert not allows(statement, Request("dynamodb:GetRecords", leading_keys=(), org="o-zzzzzzzzzz"))


def test_without_an_organisation_the_registry_stays_closed(synthesized: Synthesized) -> None:
    """cdk.json's defaults: the AWS managed key, no table or stream policy, no KMS key of its own."""
    replica = synthesized.resources[synthesized.logical_id(synthesized.stack.registry.table)]["Properties"]["Replicas"]
    assert all("ResourcePolicy" not in r and "KMSMasterKeyId" not in r.get("SSESpecification", {}) for r in replica)
    assert not [
        k for k, v in of_type(synthesized.resources, "AWS::KMS::Key").items() if "registry" in json.dumps(v).lower()
    ]


def test_the_read_actions_granted_are_the_registry_readers(central: Synthesized) -> None:
    (statement,) = _table_statements(central)
    assert sorted(as_list(statement["Action"])) == sorted(REGISTRY_READ_ACTIONS)


def test_an_organisation_with_an_existing_registry_is_refused() -> None:
    """A member pointing at an existing registry does not open anything: setting both is a clear error."""
    context = cdk_json_context(ROOT / "cdk.json") | EXISTING | {"driftline:organizationId": ORG}
    with pytest.raises(ConfigError, match="organizationId"):
        DriftlineConfig.from_context(context)


def test_an_organisation_id_is_checked() -> None:
    context = cdk_json_context(ROOT / "cdk.json") | {"driftline:organizationId": "my-org"}
    with pytest.raises(ConfigError, match="o-a1b2c3d4e5"):
        DriftlineConfig.from_context(context)


def test_cfn_lint_reports_no_errors_on_the_central_template(central: Synthesized, tmp_path_factory: Any) -> None:
    from cfnlint.api import lint_file  # type: ignore[import-untyped]

    path = tmp_path_factory.mktemp("lint") / "central.template.json"
    path.write_text(json.dumps(central.template.to_json()))
    errors = [f"{m.rule.id} {m.message}" for m in lint_file(path, config={"regions": ["us-east-1"]})]
    assert [e for e in errors if e.startswith("E")] == []


# -- the stream read once, forwarded to the members ------------------------------------------------------------
LABEL = "2026-01-15T10:00:00.000"
MEMBER_EVENTS = {
    "driftline:registryTableArn": "arn:aws:dynamodb:us-east-1:111122223333:table/driftline-registry",
    "driftline:registryEvents": True,
}


@pytest.fixture(scope="module")
def member(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk.out.member"), MEMBER_EVENTS)


def test_the_central_stack_forwards_the_stream_to_the_organisations_default_buses(central: Synthesized) -> None:
    """One fan-out function on the registry's stream (the central registry-change function is the other reader:
    two in all, whatever the number of members), allowed to put events only on default buses of the organisation's
    accounts; its errors and its dead-letter queue are alarmed."""
    fanout = central.stack.registry_fanout
    assert fanout is not None
    props = central.resources[central.logical_id(fanout.handler.function)]["Properties"]
    assert props["Handler"] == "driftline.handlers.on_registry_fanout.handler"
    mappings = of_type(central.resources, "AWS::Lambda::EventSourceMapping")
    readers = {json.dumps(m["Properties"]["FunctionName"]) for m in mappings.values()}
    assert len(mappings) == 2 and len(readers) == 2
    statements = [
        _rendered(s)
        for res in of_type(central.resources, "AWS::IAM::Policy").values()
        for s in as_list(res["Properties"]["PolicyDocument"]["Statement"])
        if s.get("Sid") == "ForwardToMemberBuses"
    ]
    (forward,) = statements
    assert forward["Action"] == "events:PutEvents"
    assert forward["Resource"] == "arn:aws:events:eu-west-1:*:event-bus/default"
    assert forward["Condition"] == {"StringEquals": {"aws:ResourceOrgID": ORG}}
    assert {"RegistryFanOutFunctionErrors", "RegistryFanOutDeadLetterQueueDepth"} <= set(
        central.stack.monitoring.alarms
    )


def test_a_member_takes_forwarded_changes_from_its_default_bus_and_reads_no_stream(member: Synthesized) -> None:
    """registryEvents: no event source mapping and no stream read; the registry-change function runs the event
    handler, fed by a rule matching driftline's registry source from the central account only, with a DLQ; the
    default bus admits PutEvents from the central account for that source only."""
    assert of_type(member.resources, "AWS::Lambda::EventSourceMapping") == {}
    function = member.function_props("RegistryChangeFunction")
    assert function["Handler"] == "driftline.handlers.on_registry_change.handle_event"
    rule = member.resources[member.logical_id(member.stack.registry_changes.rule)]["Properties"]
    assert rule["EventPattern"] == {
        "source": ["driftline.registry"],
        "detail-type": ["Registry Entry Changed"],
        "account": ["111122223333"],
    }
    assert "DeadLetterConfig" in rule["Targets"][0]
    (policy,) = of_type(member.resources, "AWS::Events::EventBusPolicy").values()
    statement = _rendered(policy["Properties"]["Statement"])
    assert statement["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    assert statement["Action"] == "events:PutEvents"
    assert statement["Condition"] == {"StringEquals": {"events:source": "driftline.registry"}}
    streams = [
        s
        for res in of_type(member.resources, "AWS::IAM::Policy").values()
        for s in as_list(res["Properties"]["PolicyDocument"]["Statement"])
        if s.get("Sid") == "ReadRegistryStream"
    ]
    assert streams == []


def test_cfn_lint_reports_no_errors_on_the_member_template(member: Synthesized, tmp_path_factory: Any) -> None:
    from cfnlint.api import lint_file

    path = tmp_path_factory.mktemp("lint") / "member.template.json"
    path.write_text(json.dumps(member.template.to_json()))
    errors = [f"{m.rule.id} {m.message}" for m in lint_file(path, config={"regions": ["us-east-1"]})]
    assert [e for e in errors if e.startswith("E")] == []


@pytest.mark.parametrize(
    "context",
    [
        {"driftline:registryEvents": True},  # no central registry named
        MEMBER_EVENTS
        | {"driftline:registryStreamArn": f"{MEMBER_EVENTS['driftline:registryTableArn']}/stream/{LABEL}"},
    ],
    ids=["no-table", "with-stream"],
)
def test_registry_events_need_a_central_table_and_no_stream(context: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="registryEvents"):
        DriftlineConfig.from_context(cdk_json_context(ROOT / "cdk.json") | context)

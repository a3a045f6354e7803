"""The CloudTrail-via-EventBridge event corpus (``tests/events/cloudtrail/*.json``) and its loader.

Each file is one event exactly as EventBridge delivers it to a Lambda target: the envelope (``version``, ``id``,
``detail-type``, ``source``, ``account``, ``time``, ``region``, ``resources``) around the CloudTrail record in
``detail``. Shapes follow real captured IAM events (AWS-FACTS section 1): identifiers in lowerCamelCase under
``requestParameters``/``responseElements``, ``responseElements`` null for calls that return nothing, createDate as
``"Aug 1, 2024 1:33:28 PM"``, no secret in CreateAccessKey, failed calls with ``errorCode`` and no
``responseElements``.

File names are ``<service>.<eventName>[.<variant>].json``. Variants: ``self`` (a user acting on its own key, so no
``userName``), ``root`` / ``assumed-role`` / ``aws-service`` (other callers), ``access-denied`` (a failed call),
``omitted`` (CloudTrail truncated the policy document), ``request-omitted`` (synthetic: the whole of
``requestParameters`` truncated, so the event names nobody).

The SSH key, service-specific credential, signing certificate, permissions boundary, UpdateLoginProfile,
SetDefaultPolicyVersion, UpdateUser and UpdateRole events, and ``UpdateAccessKey.access-denied``, follow the API's
parameter names in CloudTrail's lowerCamelCase (``SSHPublicKeyId`` becomes ``sSHPublicKeyId``, ``NewUserName``
``newUserName``, ``MaxSessionDuration`` ``maxSessionDuration``, an integer); no captured sample of them was found, so,
as AWS-FACTS section 1 says of UpdateAccessKey, record one when you can. The handler accepts both ``sSHPublicKeyId``
and ``sshPublicKeyId``. ``CreateServiceLinkedRole`` follows the CloudTrail entry in the Amazon EFS User Guide
("Logging Amazon EFS API calls with AWS CloudTrail"): an IAM user's call that the service made (``invokedBy``),
``aWSServiceName`` in the request and the role's name, which the service chooses, only in ``responseElements``.

Identifiers are ``{{placeholders}}``, filled at load time, so every test gets fresh event ids and the names and
keys of its own account. A string that is exactly one placeholder takes the value as is (``None`` becomes JSON
null); a placeholder inside a longer string is replaced by its text.
"""

from __future__ import annotations

import json
import random
import re
import string
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

CORPUS_DIR = Path(__file__).resolve().parent / "cloudtrail"
ACCOUNT = "123456789012"
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")

READ_ONLY_DOCUMENT = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]},
    indent=4,
)
TRUST_DOCUMENT = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    },
    indent=2,
)

_ID_CHARS = string.ascii_uppercase + string.digits


def new_id(prefix: str, rng: random.Random | None = None) -> str:
    """An IAM unique id or access key id: ``prefix`` plus upper-case letters and digits, 20 characters in all."""
    pick = rng or random
    return prefix + "".join(pick.choice(_ID_CHARS) for _ in range(20 - len(prefix)))


def new_key_id(rng: random.Random | None = None) -> str:
    return new_id("AKIA", rng)


def cloudtrail_time(when: datetime) -> str:
    """``eventTime`` as CloudTrail writes it: UTC, whole seconds, ``Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def create_date(when: datetime) -> str:
    """``createDate`` inside ``responseElements`` as CloudTrail writes it: ``Aug 1, 2024 1:33:28 PM``."""
    when = when.astimezone(UTC)
    hour = when.hour % 12 or 12
    return f"{when:%b} {when.day}, {when.year} {hour}:{when:%M:%S} {'AM' if when.hour < 12 else 'PM'}"


def names() -> list[str]:
    """Every corpus event, by file stem (``iam.CreateUser``, ``iam.CreateAccessKey.self``…)."""
    return sorted(path.stem for path in CORPUS_DIR.glob("*.json"))


def event_name_of(name: str) -> str:
    """The CloudTrail eventName a corpus file carries (the second part of its stem)."""
    return name.split(".")[1]


def template(name: str) -> Any:
    """The corpus file as stored, placeholders unfilled."""
    return json.loads((CORPUS_DIR / f"{name}.json").read_text())


def placeholders(name: str) -> set[str]:
    return set(PLACEHOLDER.findall((CORPUS_DIR / f"{name}.json").read_text()))


def defaults(**overrides: object) -> dict[str, object]:
    """Placeholder values: fixed names, fresh ids and now, then ``overrides``; derived values follow the overrides
    (``policy_arn`` from ``account`` and ``policy``, ``create_date`` from ``event_time``…)."""
    values: dict[str, object] = {
        "account": ACCOUNT,
        "event_id": str(uuid.uuid4()),
        "request_id": str(uuid.uuid4()),
        "envelope_id": str(uuid.uuid4()),
        "user": "alice",
        "new_user": "alice-renamed",  # UpdateUser's newUserName
        "user_id": new_id("AIDA"),
        "role": "app-role",
        "role_id": new_id("AROA"),
        "role_path": "/",
        "max_session_duration": 43200,  # UpdateRole: 12 hours, IAM's maximum (seconds, an integer)
        "linked_service": "elasticfilesystem.amazonaws.com",  # CreateServiceLinkedRole's aWSServiceName
        "linked_role": "AWSServiceRoleForAmazonElasticFileSystem",  # the name only responseElements carries
        "group": "developers",
        "policy": "read-only",
        "inline_policy": "s3-read",
        "policy_document": READ_ONLY_DOCUMENT,
        "trust_policy": TRUST_DOCUMENT,
        "key_id": new_key_id(),
        "ssh_key_id": new_id("APKA"),
        "credential_id": new_id("ACCA"),
        "certificate_id": new_id("CERT") + "EXAMPLE0123456789",
        "status": "Inactive",
        "caller": "admin",
        "caller_id": new_id("AIDA"),
        "caller_key": new_key_id(),
        "caller_role": "ops-admin",
        "caller_role_id": new_id("AROA"),
        "session": "ops@example.com",
        "session_key": new_id("ASIA"),
        "tag_key": "team",
        "tag_value": "payments",
        "bucket": "driftline-corpus-bucket",
    }
    values.update(overrides)
    when = values.get("event_time") or datetime.now(UTC)
    if isinstance(when, datetime):
        values["event_time"] = cloudtrail_time(when)
        values.setdefault("create_date", create_date(when))
        values.setdefault("session_start", cloudtrail_time(when))
    else:
        parsed = datetime.fromisoformat(str(when).replace("Z", "+00:00"))
        values.setdefault("create_date", create_date(parsed))
        values.setdefault("session_start", str(when))
    values.setdefault("policy_arn", f"arn:aws:iam::{values['account']}:policy/{values['policy']}")
    values.setdefault("trust_policy_encoded", quote(str(values["trust_policy"]), safe=""))
    linked_trust = TRUST_DOCUMENT.replace("lambda.amazonaws.com", str(values["linked_service"]))
    values.setdefault("linked_trust_policy_encoded", quote(linked_trust, safe=""))
    return values


def _fill(node: Any, values: Mapping[str, object]) -> Any:
    if isinstance(node, dict):
        return {key: _fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(value, values) for value in node]
    if isinstance(node, str):
        whole = PLACEHOLDER.fullmatch(node)
        if whole:
            return values[whole.group(1)]
        return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), node)
    return node


def fill(name: str, values: Mapping[str, object]) -> dict[str, Any]:
    """Corpus event ``name`` with every placeholder taken from ``values`` (KeyError names a missing one)."""
    filled: dict[str, Any] = _fill(template(name), values)
    return filled


def load(name: str, **overrides: object) -> dict[str, Any]:
    """Corpus event ``name`` filled from ``defaults(**overrides)``."""
    return fill(name, defaults(**overrides))

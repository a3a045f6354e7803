"""Per drift type: ASFF finding types, remediation advice and the compliance requirements it maps to (data only).

Types follow the ASFF taxonomy (namespace/category/classifier). Requirements cite NIST CSF 2.0 (PR.AA: identity
management, authentication and access control; DE.CM: continuous monitoring) and the OWASP Non-Human Identities
Top 10 (2025) where a risk there matches.
"""

from __future__ import annotations

from typing import NamedTuple

from driftline.domain.drift import DriftType

BEST_PRACTICES = "Software and Configuration Checks/AWS Security Best Practices"
IAM_DOCS = "https://docs.aws.amazon.com/IAM/latest/UserGuide"


class Advice(NamedTuple):
    types: tuple[str, ...]
    recommendation: str
    url: str
    requirements: tuple[str, ...]


CATALOG: dict[DriftType, Advice] = {
    DriftType.REVOKED_CREDENTIAL_USED: Advice(
        (BEST_PRACTICES, "TTPs/Persistence", "Unusual Behaviors/User"),
        "Treat as an incident: attach a deny-everything policy to the identity now (it also ends live sessions), "
        "deactivate the credential, and review CloudTrail for what it did after its revocation.",
        f"{IAM_DOCS}/id_credentials_access-keys.html#rotating_access_keys_console",
        ("NIST CSF 2.0/PR.AA-01", "NIST CSF 2.0/DE.CM-03", "OWASP NHI Top 10 2025/NHI1"),
    ),
    DriftType.UNENFORCED_REVOCATION: Advice(
        (BEST_PRACTICES,),
        "Leave nobody able to act as the identity: attach a deny-everything policy (driftline's DriftlineRevoked, or "
        "run driftline enforce) and deactivate its access keys, SSH keys, service-specific credentials and "
        "certificates; for a role, the deny or a trust policy that admits nobody. Revoking older sessions alone is "
        "not enough: the trust policy's principals can start new ones.",
        f"{IAM_DOCS}/reference_policies_evaluation-logic.html",
        ("NIST CSF 2.0/PR.AA-01", "NIST CSF 2.0/PR.AA-05", "OWASP NHI Top 10 2025/NHI1"),
    ),
    DriftType.EXPIRED_BUT_ACTIVE: Advice(
        (BEST_PRACTICES,),
        "Renew the registry entry with a new expiry if the identity is still needed; otherwise revoke it and "
        "remove its credentials.",
        f"{IAM_DOCS}/id_credentials_access-keys.html",
        ("NIST CSF 2.0/PR.AA-01", "OWASP NHI Top 10 2025/NHI1"),
    ),
    DriftType.EXCESS_ENTITLEMENT: Advice(
        (BEST_PRACTICES, "Effects/Data Exposure"),
        "Detach the unapproved policies or groups, or approve them in the registry through the access review.",
        f"{IAM_DOCS}/best-practices.html#grant-least-privilege",
        ("NIST CSF 2.0/PR.AA-05", "OWASP NHI Top 10 2025/NHI5"),
    ),
    DriftType.EXCESS_TRUST: Advice(
        (BEST_PRACTICES, "TTPs/Persistence"),
        "Remove the unapproved principal from the role's trust policy (UpdateAssumeRolePolicy), or approve it in the "
        "registry through the access review. A principal added to a trust policy is a classic persistence technique.",
        f"{IAM_DOCS}/id_roles_update-role-trust-policy.html",
        ("NIST CSF 2.0/PR.AA-05", "OWASP NHI Top 10 2025/NHI6"),
    ),
    DriftType.UNREGISTERED_IDENTITY: Advice(
        (BEST_PRACTICES,),
        "Find an owner and register the identity, or remove it (deactivate its keys first).",
        f"{IAM_DOCS}/id_users_manage.html",
        ("NIST CSF 2.0/PR.AA-01", "NIST CSF 2.0/ID.AM-08"),
    ),
    DriftType.STALE_CREDENTIAL: Advice(
        (BEST_PRACTICES,),
        "Rotate the access key, or remove credentials and roles that are no longer used.",
        f"{IAM_DOCS}/id_credentials_finding-unused.html",
        ("NIST CSF 2.0/PR.AA-01", "OWASP NHI Top 10 2025/NHI7"),
    ),
    DriftType.MISSING_ENTITLEMENT: Advice(
        (BEST_PRACTICES,),
        "Apply the approved entitlement in IAM (the grant did not propagate), or remove it from the registry.",
        f"{IAM_DOCS}/access_policies_manage-attach-detach.html",
        ("NIST CSF 2.0/PR.AA-05",),
    ),
    DriftType.MISSING_TRUST: Advice(
        (BEST_PRACTICES,),
        "Add the approved principal back to the role's trust policy, or remove it from the registry.",
        f"{IAM_DOCS}/id_roles_update-role-trust-policy.html",
        ("NIST CSF 2.0/PR.AA-05",),
    ),
    DriftType.MISSING_IDENTITY: Advice(
        (BEST_PRACTICES,),
        "Provision the identity, or mark the registry entry revoked if it is no longer wanted.",
        f"{IAM_DOCS}/id_users_create.html",
        ("NIST CSF 2.0/PR.AA-01",),
    ),
}

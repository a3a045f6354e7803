"""Deployment configuration: the ``driftline:*`` CDK context, validated once at synth.

``cdk.json`` holds the defaults (the single source of them); ``cdk synth -c driftline:gracePeriodMinutes=30``
overrides one. Values given on the command line arrive as strings, so numbers are parsed and lists may be given as
JSON (``["a","b"]``) or comma-separated text. A bad value stops the synth with a ``ConfigError`` naming the key.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from constructs import Construct
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

CONTEXT_PREFIX = "driftline:"

_RATE = re.compile(r"^rate\((?P<value>[1-9]\d*) (?P<unit>minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((\S+ ){5}\S+\)$")


class ConfigError(ValueError):
    """The CDK context holds a value driftline cannot deploy with."""


class DriftlineConfig(BaseModel):
    """The validated ``driftline:*`` context. Field aliases are the context keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schedule_expression: str = Field(alias="driftline:scheduleExpression")
    grace_period_minutes: int = Field(alias="driftline:gracePeriodMinutes", ge=0, le=7 * 24 * 60)
    max_key_age_days: int = Field(alias="driftline:maxKeyAgeDays", gt=0, le=3650)
    max_unused_days: int = Field(alias="driftline:maxUnusedDays", gt=0, le=3650)
    excluded_name_patterns: tuple[str, ...] = Field(alias="driftline:excludedNamePatterns")
    excluded_path_prefixes: tuple[str, ...] = Field(alias="driftline:excludedPathPrefixes")

    @field_validator("schedule_expression")
    @classmethod
    def _schedule(cls, value: str) -> str:
        rate = _RATE.match(value)
        if rate:
            # EventBridge wants "rate(1 hour)" but "rate(2 hours)": the unit is singular exactly for 1.
            if (rate["value"] == "1") != (not rate["unit"].endswith("s")):
                raise ValueError(f"use a singular unit for 1 and a plural one otherwise, got {value!r}")
            return value
        if _CRON.match(value):
            return value
        raise ValueError(f"expected an EventBridge expression like 'rate(1 hour)' or 'cron(0 * * * ? *)': {value!r}")

    @field_validator("grace_period_minutes", "max_key_age_days", "max_unused_days", mode="before")
    @classmethod
    def _no_bool(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("expected a whole number, got a boolean")
        return value

    @field_validator("excluded_name_patterns", "excluded_path_prefixes", mode="before")
    @classmethod
    def _list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part for part in text.split(",") if part.strip()]
        return value

    @field_validator("excluded_name_patterns", "excluded_path_prefixes")
    @classmethod
    def _items(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        items = tuple(item.strip() for item in value)
        for item in items:
            if not item or "," in item:
                # The function receives the list comma-joined in one environment variable.
                raise ValueError(f"entries must be non-empty and contain no comma, got {item!r}")
        return items

    @field_validator("excluded_path_prefixes")
    @classmethod
    def _paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for prefix in value:
            if not prefix.startswith("/"):
                raise ValueError(f"IAM path prefixes start with '/', got {prefix!r}")
        return value

    @classmethod
    def context_keys(cls) -> tuple[str, ...]:
        return tuple(str(field.alias) for field in cls.model_fields.values())

    @classmethod
    def from_context(cls, context: dict[str, Any]) -> DriftlineConfig:
        """Validate the ``driftline:*`` entries of ``context``; raise ``ConfigError`` listing every problem."""
        ours = {key: value for key, value in context.items() if key.startswith(CONTEXT_PREFIX)}
        try:
            return cls.model_validate(ours)
        except (ValidationError, json.JSONDecodeError) as exc:
            raise ConfigError(_describe(exc, ours)) from exc

    @classmethod
    def from_scope(cls, scope: Construct) -> DriftlineConfig:
        return cls.from_context(dict(scope.node.get_all_context()))


def _describe(exc: ValidationError | json.JSONDecodeError, given: dict[str, Any]) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"Invalid driftline CDK context: a list value is not valid JSON ({exc.msg})"
    lines = ["Invalid driftline CDK context (defaults are in cdk.json; override with -c key=value):"]
    for error in exc.errors():
        key = str(error["loc"][0]) if error["loc"] else "?"
        if error["type"] == "missing":
            lines.append(f"  - {key}: missing (is cdk.json's context loaded?)")
        elif error["type"] == "extra_forbidden":
            lines.append(f"  - {key}: unknown key; known keys are {', '.join(DriftlineConfig.context_keys())}")
        else:
            lines.append(f"  - {key} = {given.get(key)!r}: {error['msg']}")
    return "\n".join(lines)


def cdk_json_context(path: Path) -> dict[str, Any]:
    """The ``context`` block of ``cdk.json``, so that ``python app.py`` synthesizes exactly like ``cdk synth``."""
    document = json.loads(path.read_text(encoding="utf-8"))
    context = document.get("context", {})
    if not isinstance(context, dict):
        raise ConfigError(f"{path}: 'context' must be an object")
    return context

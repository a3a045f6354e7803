"""Mapping botocore errors of IAM calls to driftline's errors, in one place."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from driftline.domain.errors import IamReadError

T = TypeVar("T")


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


@contextmanager
def iam_call(operation: str) -> Iterator[None]:
    """Raise IamReadError naming the operation and AWS's error code (retries already happened in botocore)."""
    try:
        yield
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", "")
        raise IamReadError(f"IAM {operation} failed with {error_code(exc)}: {message}") from exc
    except BotoCoreError as exc:
        raise IamReadError(f"IAM {operation} failed: {exc}") from exc


def absent_if_missing(call: Callable[[], T], operation: str) -> T | None:
    """Run ``call``; None when IAM answers NoSuchEntity (the identity does not exist), IamReadError otherwise."""
    try:
        return call()
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return None
        with iam_call(operation):
            raise

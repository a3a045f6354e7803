"""Text that came from outside: JSON from AWS is UTF-8, so a lone surrogate (``\\ud800``) cannot have come from
CloudTrail or DynamoDB. Such input is rejected at the door: written anywhere later (a log line, a DynamoDB item, a
finding) it would raise far from where it entered."""

from __future__ import annotations

import json
from typing import Any


def valid_unicode(value: Any) -> bool:
    """Whether every string in ``value`` (keys included, at any depth) encodes to UTF-8."""
    try:
        json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        return False
    except (TypeError, ValueError, RecursionError):
        return True  # not JSON-shaped: the caller's own checks answer that
    return True

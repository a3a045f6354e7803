"""Hypothesis strategies for malformed and random events: random JSON trees, non-objects, and mutations of real
corpus events (keys deleted, values replaced by the wrong type, huge strings, whole subtrees replaced).

Speed matters (ten thousand examples per run): most examples are built by ``random.Random(seed)`` from one
hypothesis-drawn seed and leaf, so an example costs two draws and stays reproducible."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

from hypothesis import strategies as st

from tests.events import corpus

# Every corpus event, filled once, as JSON text: a mutation starts from a fresh parse of a real shape.
SEED_TEXTS: list[str] = [json.dumps(corpus.load(name, event_id=f"fuzz-{name}")) for name in corpus.names()]

TRICKY_STRINGS = [
    "",
    " ",
    "AKIA",
    "null",
    "2026-13-45T99:99:99Z",
    "2026-11-25T10:00:00",  # no timezone
    "Aug 1, 2024 1:33:28 PM",
    "aws.iam",
    "iam.amazonaws.com",
    "AWS API Call via CloudTrail",
    "CreateUser",
    '{"omitted": true}',
    "HIDDEN_DUE_TO_SECURITY_REASONS",
    # times at the edge of what datetime can hold: plus a grace period they overflow (issue #13)
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00+05:00",
    "2200-01-01T00:00:00Z",
    "1999-12-31T23:59:59Z",
    # lone surrogates: not valid Unicode, so not from AWS; they break any later UTF-8 write
    "\ud800",
    "alice\udcff",
]
HUGE_LENGTHS = [129, 4_096, 262_144, 300_000]  # around the model's limit (128) and EventBridge's (256 KB)

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(TRICKY_STRINGS),
)
json_trees = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["detail", "eventName", "userName", "x", ""]) | st.text(max_size=4), children, max_size=3
        )
    ),
    max_leaves=5,
)
non_objects = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20), st.lists(st.integers(), max_size=3)
)


def random_leaf(rng: random.Random) -> Any:
    pick = rng.randrange(9)
    if pick == 0:
        return None
    if pick == 1:
        return rng.random() < 0.5
    if pick == 2:
        return rng.randint(-(2**40), 2**40)
    if pick == 3:
        return rng.choice([0.0, -1.5, 1e308, float("inf"), float("-inf"), float("nan")])
    if pick == 4:
        top = 0xDFFF if rng.random() < 0.2 else 0x2FFF  # sometimes into the surrogate range
        return "".join(chr(rng.randrange(32, top)) for _ in range(rng.randrange(12)))
    if pick == 5:
        return "x" * rng.choice(HUGE_LENGTHS)
    return rng.choice(TRICKY_STRINGS)


def random_tree(rng: random.Random, depth: int = 3) -> Any:
    if depth == 0 or rng.random() < 0.5:
        return random_leaf(rng)
    if rng.random() < 0.5:
        return [random_tree(rng, depth - 1) for _ in range(rng.randrange(4))]
    return {random_leaf_key(rng): random_tree(rng, depth - 1) for _ in range(rng.randrange(4))}


def random_leaf_key(rng: random.Random) -> str:
    return rng.choice(["", "userName", "detail", "eventName", "x", "omitted", "accessKeyId", "🔑"])


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value below ``node`` (dict keys and list indexes)."""
    found: list[tuple[Any, ...]] = []
    items: list[tuple[Any, Any]] = []
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    for key, value in items:
        path = (*prefix, key)
        found.append(path)
        found.extend(paths(value, path))
    return found


def mutate(event: Any, rng: random.Random, graft: Any, leaf: Any, count: int) -> Any:
    """Apply ``count`` random edits to ``event`` in place: delete a key, or replace a value by a wrong-typed leaf,
    a huge string, a random tree, or the hypothesis-drawn ``graft`` / ``leaf``."""
    for _ in range(count):
        where = paths(event)
        if not where:
            break
        path = rng.choice(where)
        parent = event
        for part in path[:-1]:
            parent = parent[part]
        operation = rng.randrange(6)
        if operation == 0:
            del parent[path[-1]]
        elif operation == 1:
            parent[path[-1]] = leaf
        elif operation == 2:
            parent[path[-1]] = copy.deepcopy(graft)  # a copy: grafting into itself would loop
        elif operation == 3:
            parent[path[-1]] = "x" * rng.choice(HUGE_LENGTHS)
        else:
            parent[path[-1]] = random_tree(rng)
    return event


seeds = st.integers(min_value=0, max_value=2**32 - 1)


@st.composite
def seeded_events(draw: st.DrawFn) -> Any:
    """One malformed event from a drawn seed: mostly a mutated corpus event, else a corpus envelope around a random
    detail, a random JSON tree, or a value that is not an object at all."""
    rng = random.Random(draw(seeds))
    leaf = draw(leaves)
    family = rng.randrange(10)
    if family == 0:
        return random_tree(rng, depth=4)
    if family == 1:
        return rng.choice([leaf, [leaf], random_leaf(rng)])
    if family <= 7:
        return mutate(json.loads(rng.choice(SEED_TEXTS)), rng, random_tree(rng), leaf, rng.randint(1, 4))
    event = json.loads(rng.choice(SEED_TEXTS))
    detail = random_tree(rng, depth=4)
    real = json.loads(rng.choice(SEED_TEXTS))["detail"]
    if isinstance(detail, dict) or rng.random() < 0.7:
        detail = {key: real[key] for key in real if rng.random() < 0.7} | (detail if isinstance(detail, dict) else {})
    event["detail"] = detail
    return event


# Hypothesis-built trees and non-objects (structured shrinking), and, weighing most, seeded events (cheap: two draws
# each), most of them mutated real events, which get furthest into the parser and the rules.
malformed_events = st.one_of(json_trees, non_objects, *[seeded_events()] * 6)


# The corpus events driftline processes, for mutants meant to get past triage and into an evaluation.
HANDLED_TEXTS: list[str] = [
    text
    for text in SEED_TEXTS
    if (event := json.loads(text))["source"] == "aws.iam"
    and "errorCode" not in event["detail"]
    and event["detail"]["eventName"] not in ("ListUsers", "CreatePolicyVersion")
]
MILD_ROOTS = ("requestParameters", "responseElements", "userIdentity")


@st.composite
def mild_mutants(draw: st.DrawFn) -> Any:
    """A handled corpus event edited only below ``requestParameters``, ``responseElements`` or ``userIdentity`` (so
    it often still passes triage), with a fresh eventID half the time (else a redelivery of an earlier one)."""
    rng = random.Random(draw(seeds))
    leaf = draw(leaves)
    event = json.loads(rng.choice(HANDLED_TEXTS))
    detail = event["detail"]
    if rng.random() < 0.5:
        detail["eventID"] = f"mild-{rng.getrandbits(64):016x}"
    if rng.random() < 0.1:  # a time at the edge of the range, often with a revoked caller (the seeded ops-admin)
        detail["eventTime"] = rng.choice(["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+05:00", "2199-12-31T23:59:59Z"])
    for _ in range(rng.randint(1, 2)):
        root = rng.choice(MILD_ROOTS)
        if not isinstance(detail.get(root), dict):
            continue
        where = [(root, *path) for path in paths(detail[root])] or [(root,)]
        path = rng.choice(where)
        parent = detail
        for part in path[:-1]:
            parent = parent[part]
        if rng.random() < 0.3:
            del parent[path[-1]]
        else:
            parent[path[-1]] = rng.choice([leaf, random_leaf(rng), random_tree(rng, depth=2), "x" * 129])
    return event


# -- DynamoDB stream records of the registry -------------------------------------------------------------------------
STREAM_DIR = corpus.CORPUS_DIR.parent
STREAM_TEXTS: list[str] = [
    json.dumps(record)
    for path in sorted(STREAM_DIR.glob("dynamodb_stream_*.json"))
    for record in json.loads(path.read_text())["Records"]
]
WRONG_ATTRIBUTES = [
    {"N": "not a number"},
    {"N": "1e99999"},
    {"S": 5},
    {"S": None},
    {"L": "x"},
    {"M": []},
    {"BOOL": "yes"},
    {"NULL": False},
    {"SS": [1, 2]},
    {"X": "unknown type"},
    {},
    {"S": "a", "N": "1"},
    {"S": "9999-12-31T23:59:59Z"},
    {"S": "\ud800"},
]


@st.composite
def malformed_stream_records(draw: st.DrawFn) -> Any:
    """A registry stream record mutated at any level: keys deleted, values of the wrong Python type, DynamoDB
    attribute values of the wrong or an unknown type, edge times and lone surrogates in images."""
    rng = random.Random(draw(seeds))
    leaf = draw(leaves)
    record = json.loads(rng.choice(STREAM_TEXTS))
    for _ in range(rng.randint(1, 3)):
        where = paths(record)
        if not where:
            break
        path = rng.choice(where)
        parent = record
        for part in path[:-1]:
            parent = parent[part]
        operation = rng.randrange(5)
        if operation == 0:
            del parent[path[-1]]
        elif operation == 1:
            parent[path[-1]] = copy.deepcopy(rng.choice(WRONG_ATTRIBUTES))
        elif operation == 2:
            parent[path[-1]] = leaf
        elif operation == 3:
            parent[path[-1]] = random_tree(rng, depth=2)
        else:
            parent[path[-1]] = rng.choice(TRICKY_STRINGS)
    return record

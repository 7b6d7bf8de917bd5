"""The JSON Schemas callers send (an export's, a profile's): checked once, the same way."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from core.errors import InvalidRequest
from core.text import json_problem

MAX_SCHEMA_BYTES = 100_000


def check_json_schema(value: dict[str, Any]) -> None:
    """InvalidRequest unless `value` is a storable JSON Schema of at most MAX_SCHEMA_BYTES."""
    problem = json_problem(value, root="schema")
    if problem:
        raise InvalidRequest(problem)
    if len(json.dumps(value)) > MAX_SCHEMA_BYTES:
        raise InvalidRequest(f"schema is larger than {MAX_SCHEMA_BYTES} bytes")
    try:
        jsonschema.validators.validator_for(value).check_schema(value)
    except jsonschema.SchemaError as exc:
        raise InvalidRequest(f"schema is not a valid JSON Schema: {exc.message}") from exc

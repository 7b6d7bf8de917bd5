"""Drive an official Python mem0ai client (run with that client's interpreter, e.g. 1.0.11).

Reads jobs from stdin, one JSON object per line:

    {"api_key": "...", "host": "http://...", "calls": [
        {"method": "add", "args": ["I like tea"], "kwargs": {"user_id": "u", "infer": false}},
        {"method": "get", "args": [{"$ref": "0.results.0.id"}]},
        {"method": "project.get"}
    ]}

For each job it builds `MemoryClient(api_key=..., host=..., **options)` (`options` is optional,
e.g. the org_id and project_id 1.0.x accepts), performs the calls in order and
writes one line `@@RESULT {"client": {...}, "results": [...]}` to stdout. `client` holds what the
constructor learnt from /v1/ping/ (or the error it raised). Each result is the value the method
returned, or {"error": <exception class name>, "message": str(exception)}. `{"$ref": "i.key.0"}`
anywhere in args or kwargs is replaced by that path into the result of call i.

Only the standard library and mem0 are imported: this runs outside memdash's environment.
"""

import json
import sys

from mem0 import MemoryClient

MARKER = "@@RESULT "


def resolve(value, results):
    if isinstance(value, dict):
        if set(value) == {"$ref"}:
            index, *path = str(value["$ref"]).split(".")
            target = results[int(index)]
            for step in path:
                target = target[int(step)] if isinstance(target, list) else target[step]
            return target
        return {key: resolve(item, results) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, results) for item in value]
    return value


def error_of(exc):
    return {"error": type(exc).__name__, "message": str(exc)}


def run_job(job):
    try:
        client = MemoryClient(api_key=job["api_key"], host=job["host"], **job.get("options", {}))
    except Exception as exc:  # the constructor pings: a bad key raises here
        return {"client": error_of(exc), "results": []}
    info = {
        "org_id": client.org_id,
        "project_id": client.project_id,
        "user_email": client.user_email,
    }
    results = []
    for call in job.get("calls", []):
        try:
            target = client
            for name in call["method"].split("."):
                target = getattr(target, name)
            args = resolve(call.get("args", []), results)
            kwargs = resolve(call.get("kwargs", {}), results)
            results.append(target(*args, **kwargs))
        except Exception as exc:
            results.append(error_of(exc))
    return {"client": info, "results": results}


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        reply = run_job(json.loads(line))
        sys.stdout.write(MARKER + json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

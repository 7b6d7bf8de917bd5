"""A scripted, OpenAI-compatible chat server on loopback: the only fake in the test suite.

The pipeline benchmark (bench's `benchmark_pipeline`) runs on it too, as an LLM that answers
instantly.

memdash's real `openai` client talks to it over HTTP exactly as to a provider. Tests script
replies per pipeline step, recognised by the `# Task:` line each system prompt starts with:

    llm.on("extract facts", when="allergic to nuts", reply={"facts": [...]})
    llm.on("update memories", reply={"memory": [...]})
    llm.on("extract facts", status=500)              # a provider error
    llm.on("extract facts", raw="{not json")          # malformed output
    llm.on("extract facts", delay=3, reply=...)       # a slow reply

Without a matching script the server answers sensible defaults: no facts; ADD every new fact;
no categories; an empty object for an export's schema and for a user profile; a one-line
summary. Every request is recorded in `llm.calls`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TASK_LINE = re.compile(r"^# Task: (.+)$", re.MULTILINE)


@dataclass
class Script:
    task: str
    when: str | None
    reply: Any = None
    raw: str | None = None
    status: int = 200
    delay: float = 0.0
    times: int | None = None


@dataclass
class Call:
    task: str
    system: str
    user: str
    model: str


@dataclass
class FakeLLM:
    scripts: list[Script] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    # --- scripting --------------------------------------------------------------------------

    def on(
        self,
        task: str,
        *,
        when: str | None = None,
        reply: Any = None,
        raw: str | None = None,
        status: int = 200,
        delay: float = 0.0,
        times: int | None = None,
    ) -> None:
        """Script the next replies for a step. Later scripts win over earlier ones."""
        with self.lock:
            self.scripts.insert(0, Script(task, when, reply, raw, status, delay, times))

    def reset(self) -> None:
        with self.lock:
            self.scripts.clear()
            self.calls.clear()

    def calls_for(self, task: str) -> list[Call]:
        return [c for c in self.calls if c.task == task]

    # --- serving ----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        # A bound AF_INET socket reports its address as text (typeshed's bytes is for the address
        # passed in).
        assert isinstance(host, str)
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeLLM:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                status, payload = fake.answer(body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def answer(self, body: dict[str, Any]) -> tuple[int, Any]:
        messages = body.get("messages") or []
        system = next((m["content"] for m in messages if m.get("role") == "system"), "")
        user = next((m["content"] for m in messages if m.get("role") == "user"), "")
        match = TASK_LINE.search(system)
        task = match.group(1).strip() if match else "unknown"
        with self.lock:
            self.calls.append(Call(task, system, user, body.get("model", "")))
            script = next(
                (s for s in self.scripts if s.task == task and (s.when is None or s.when in user)),
                None,
            )
            if script and script.times is not None:
                script.times -= 1
                if script.times <= 0:
                    self.scripts.remove(script)
        if script and script.delay:
            time.sleep(script.delay)
        if script and script.status != 200:
            return script.status, {
                "error": {"message": f"scripted failure {script.status}", "type": "server_error"}
            }
        if script and script.raw is not None:
            content = script.raw
        else:
            reply = (
                script.reply if script and script.reply is not None else default_reply(task, user)
            )
            content = json.dumps(reply(user) if callable(reply) else reply)
        return 200, completion(content, body.get("model", "fake"), prompt=system + user)


def default_reply(task: str, user: str) -> dict[str, Any]:
    if task == "update memories":
        facts = json.loads(user.split("NEW FACTS:", 1)[1])
        return {
            "memory": [{"event": "ADD", "text": f["text"]} for f in facts if not f.get("forget")]
        }
    if task == "categorize memories":
        return {"categories": []}
    if task == "fill export schema":
        return {}
    if task == "summarise memories":
        return {"summary": "A summary of the memories."}
    if task == "write user profile":
        return {}
    return {"facts": []}


def completion(content: str, model: str, prompt: str = "") -> dict[str, Any]:
    # Token counts estimated at 4 characters per token, the usual rule of thumb for English.
    prompt_tokens, completion_tokens = max(1, len(prompt) // 4), max(1, len(content) // 4)
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }

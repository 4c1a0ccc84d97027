"""Settings for ticketsystem. Every value comes from the environment (see .env.example).

Two modes, chosen by DJANGO_ENV:
- ``development`` (default): the embedded defaults (SQLite in DATA_DIR, in-memory channel
  layer, secrets generated once into DATA_DIR) so `make run` needs no servers. DEBUG stays off
  unless DEBUG=true.
- ``production``: nothing is generated or assumed. A missing or weak secret, empty
  ALLOWED_HOSTS or non-HTTPS cookies stop the process with a one-line reason.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from urllib.parse import urlparse

from ticketsystem.edgeconfig import edge_settings
from ticketsystem.env import (
    ConfigError,
    dev_secret,
    envbool,
    envint,
    envlist,
    envredis,
    envsecret,
    envstr,
    random_key,
)
from ticketsystem.i18nconfig import i18n_settings
from ticketsystem.logconfig import logging_config
from ticketsystem.loginconfig import login_settings
from ticketsystem.mailconfig import mail_settings
from ticketsystem.searchconfig import search_settings
from ticketsystem.serving import body_settings, database_config

BASE_DIR = Path(__file__).resolve().parent.parent
VERSION = "0.1.0"


def _refuse(reason: str) -> None:
    """Stop the process with one line on stderr (no traceback): configuration fails closed."""
    sys.exit(f"ticketsystem: refusing to start: {reason}")


def _make_dir(path: Path, name: str) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _refuse(f"{name}={path} cannot be created: {exc.strerror}")


try:
    DJANGO_ENV = envstr("DJANGO_ENV", "development").lower()
    if DJANGO_ENV not in {"development", "production"}:
        raise ConfigError(f"DJANGO_ENV must be development or production, not {DJANGO_ENV!r}")
    PRODUCTION = DJANGO_ENV == "production"

    DATA_DIR = Path(envstr("DATA_DIR", str(BASE_DIR / "data"))).resolve()
    DEBUG = envbool("DEBUG", False)

    SECRET_KEY = envsecret("SECRET_KEY")
    FIELD_ENCRYPTION_KEYS = envsecret("FIELD_ENCRYPTION_KEYS")
    BLIND_INDEX_KEY = envsecret("BLIND_INDEX_KEY")
    AUDIT_HMAC_KEY = envsecret("AUDIT_HMAC_KEY")
    if not PRODUCTION:
        SECRET_KEY = SECRET_KEY or dev_secret(
            DATA_DIR, "SECRET_KEY", lambda: secrets.token_urlsafe(50)
        )
        FIELD_ENCRYPTION_KEYS = FIELD_ENCRYPTION_KEYS or dev_secret(
            DATA_DIR, "FIELD_ENCRYPTION_KEYS", lambda: f"dev1:{random_key()}"
        )
        BLIND_INDEX_KEY = BLIND_INDEX_KEY or dev_secret(DATA_DIR, "BLIND_INDEX_KEY", random_key)
        AUDIT_HMAC_KEY = AUDIT_HMAC_KEY or dev_secret(DATA_DIR, "AUDIT_HMAC_KEY", random_key)
    globals().update(search_settings(production=PRODUCTION, data_dir=DATA_DIR))

    ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost")
    CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

    DATABASE_URL = envsecret("DATABASE_URL")
    REDIS_URL = envredis("REDIS_URL")
    SECURE_COOKIES = envbool("SECURE_COOKIES", PRODUCTION)
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", PRODUCTION)
    SECURE_HSTS_SECONDS = envint(
        "SECURE_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0, minimum=0, maximum=63_072_000
    )
    TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=5)
    CONN_MAX_AGE = envint("DB_CONN_MAX_AGE", 0, minimum=0, maximum=86_400)

    EMAIL_HOST = envstr("EMAIL_HOST", "")
    # Without an SMTP host, mail (security notifications, alerts) is written to the log.
    EMAIL_BACKEND = (
        "django.core.mail.backends.smtp.EmailBackend"
        if EMAIL_HOST
        else "django.core.mail.backends.console.EmailBackend"
    )
    EMAIL_PORT = envint("EMAIL_PORT", 587, minimum=1, maximum=65_535)
    EMAIL_HOST_USER = envstr("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = envsecret("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", True)
    DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "helpdesk@localhost")
    SERVER_EMAIL = DEFAULT_FROM_EMAIL
    TIME_ZONE = envstr("TIME_ZONE", "UTC")
    LOG_LEVEL = envstr("LOG_LEVEL", "INFO").upper()
    SECURITY_LOG_FILE = envstr("SECURITY_LOG_FILE", "")
    TICKETS_PER_PAGE = envint("TICKETS_PER_PAGE", 50, minimum=1, maximum=500)
except ConfigError as exc:
    _refuse(str(exc))

if PRODUCTION:
    from ticketsystem.production import production_problems

    _problems = production_problems(globals())
    if _problems:
        _refuse(_problems[0])

# --- Applications -------------------------------------------------------------------------

INSTALLED_APPS = [
    "daphne",
    "accounts.admin_apps.OTPAdminConfig",  # django.contrib.admin with an OTP-protected site
    "accounts",  # before auth: its changepassword command replaces Django's
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_otp",
    "axes",
    "csp",
    "ticketsystem",
    "tickets",
    "audit",
    "ops",
]

MIDDLEWARE = [
    "ticketsystem.middleware.BodySizeLimitMiddleware",  # 413 before anything reads a body
    "ticketsystem.middleware.HeaderNulMiddleware",  # nothing may see a NUL header
    "ticketsystem.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Security headers come before WhiteNoise so static files carry them too.
    "accounts.middleware.SecurityHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.second_factor.OTPMiddleware",  # django-otp's, checked with the user's query
    "django.contrib.messages.middleware.MessageMiddleware",
    # Session timeouts and the "verified second factor required" gate for every view.
    "accounts.middleware.SessionSecurityMiddleware",
    # Must stay last (django-axes): turns a lockout into the 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ticketsystem.urls"
ASGI_APPLICATION = "ticketsystem.asgi.application"
WSGI_APPLICATION = "ticketsystem.wsgi.application"

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
                "ticketsystem.context_processors.site",
            ],
            "builtins": ["ticketsystem.formtags"],  # {% form_field %}, {% form_errors %}
        },
    },
]
FORM_RENDERER = "ticketsystem.formrender.FastWidgetRenderer"  # plain widgets built in Python

# --- Data ---------------------------------------------------------------------------------

if DATABASE_URL:
    try:
        # Pooled under gunicorn, per request elsewhere (ticketsystem/serving.py).
        DATABASES = {"default": database_config(DATABASE_URL, conn_max_age=CONN_MAX_AGE)}
    except ValueError as exc:
        _refuse(f"DATABASE_URL is not a valid database URL ({exc})")
    except ConfigError as exc:
        _refuse(str(exc))
else:
    _make_dir(DATA_DIR, "DATA_DIR")
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "ticketsystem.sqlite3",
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes (INCLUDE) are PostgreSQL-only; SQLite builds them without the extra columns.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": envstr("CACHE_KEY_PREFIX", "ticketsystem"),
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Authentication -----------------------------------------------------------------------

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "accounts.validators.MaximumLengthValidator", "OPTIONS": {"max_length": 128}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Database sessions with a user column, so a user's sessions can be listed and revoked.
SESSION_ENGINE = "accounts.session_store"
try:
    # Enforced on the server by accounts/session_policy.py, for requests and websockets.
    SESSION_ABSOLUTE_SECONDS = envint(
        "SESSION_ABSOLUTE_SECONDS", 8 * 3600, minimum=60, maximum=30 * 86_400
    )
    SESSION_IDLE_SECONDS = envint("SESSION_IDLE_SECONDS", 30 * 60, minimum=60, maximum=30 * 86_400)
except ConfigError as exc:
    _refuse(str(exc))
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
if SECURE_COOKIES:
    # The __Host- prefix pins the cookie to this exact host, path / and HTTPS.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# --- Accounts: 2FA, lockout, sessions, security headers -----------------------------------
# Documented in docs/authentication.md; every variable is listed in .env.example.
from csp.constants import NONE, SELF  # noqa: E402

try:
    globals().update(login_settings())  # ticketsystem/loginconfig.py
except ConfigError as exc:
    _refuse(str(exc))

OTP_LOGIN_URL = LOGIN_URL
OTP_TOTP_SYNC = True

# Content-Security-Policy (django-csp): no inline script or style anywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # the 2FA QR code is a data: URI
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "upgrade-insecure-requests": SECURE_COOKIES,
    },
}
PERMISSIONS_POLICY = (
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), "
    "gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), usb=()"
)

# --- HTTP security ------------------------------------------------------------------------

SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if TRUSTED_PROXY_COUNT > 0:
    # Only behind our own proxy (nginx sets X-Forwarded-Proto); never trusted from clients.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
DATA_UPLOAD_MAX_MEMORY_SIZE = envint(
    "DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440, minimum=1024, maximum=512 * 1024 * 1024
)

# --- Internationalisation, static files ---------------------------------------------------

globals().update(i18n_settings(MIDDLEWARE, BASE_DIR))
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Development serves straight from static/ so `make run` needs no collectstatic.
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    _make_dir(STATIC_ROOT, "STATIC_ROOT")

# --- Logging ------------------------------------------------------------------------------

LOGGING = logging_config(level=LOG_LEVEL, security_log_file=SECURITY_LOG_FILE)

# --- Audit: security events, model history, attachments, GDPR (issue 4) -------------------

INSTALLED_APPS += ["auditlog"]
# Right after authentication, so django-auditlog entries carry the actor and client IP.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "audit.middleware.AuditContextMiddleware",
)
AUDITLOG_CID_GETTER = "audit.middleware.current_request_id"  # correlation id = request id
AUDITLOG_DISABLE_REMOTE_ADDR = False

try:
    # Attachments: stored encrypted in PostgreSQL (tickets_attachment.content).
    # At most 512 MB: an attachment is held in memory and in one database value.
    ATTACHMENT_MAX_BYTES = envint(
        "ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024, minimum=1, maximum=512 * 1024 * 1024
    )
    ATTACHMENT_ALLOWED_TYPES = envlist(
        "ATTACHMENT_ALLOWED_TYPES",
        "application/pdf,image/png,image/jpeg,image/gif,image/webp,text/plain,"
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,"
        "application/vnd.openxmlformats-officedocument.presentationml.presentation,"
        "application/vnd.oasis.opendocument.text,application/vnd.oasis.opendocument.spreadsheet",
    )
    # GDPR: closed tickets older than this are anonymised by `manage.py purge` (d, w, y).
    RETENTION_CLOSED_TICKETS = envstr("RETENTION_CLOSED_TICKETS", "3y")
    GDPR_EXPORT_DIR = Path(envstr("GDPR_EXPORT_DIR", str(DATA_DIR / "exports")))
    from audit.retention import parse_period as _parse_period

    _parse_period(RETENTION_CLOSED_TICKETS)
except (ConfigError, ValueError) as exc:
    _refuse(f"RETENTION_CLOSED_TICKETS: {exc}" if isinstance(exc, ValueError) else str(exc))
# Request bodies stay in memory, capped (413 past REQUEST_MAX_BODY_BYTES; serving.py).
try:
    globals().update(body_settings(attachment_max_bytes=ATTACHMENT_MAX_BYTES))
except ConfigError as exc:
    _refuse(str(exc))

# --- Operations: backups, monitoring, metrics (ops/, docs/operations.md) -------------------

try:
    # Backups: GPG-encrypted for the public key(s) in BACKUP_GPG_PUBLIC_KEY_FILE; never plain.
    BACKUP_DIR = Path(envstr("BACKUP_DIR", str(DATA_DIR / "backups"))).resolve()
    BACKUP_NAME = envstr("BACKUP_NAME", "ticketsystem")
    BACKUP_GPG_PUBLIC_KEY_FILE = envstr("BACKUP_GPG_PUBLIC_KEY_FILE", "")
    BACKUP_GPG_RECIPIENTS = [
        fpr.replace(" ", "").upper() for fpr in envlist("BACKUP_GPG_RECIPIENTS")
    ]
    # Only where restore drills or restores run (ideally not the production host).
    BACKUP_GPG_PRIVATE_KEY_FILE = envstr("BACKUP_GPG_PRIVATE_KEY_FILE", "")
    # Read raw (not stripped of inner whitespace): a passphrase with a newline is refused later.
    BACKUP_GPG_PASSPHRASE = envsecret("BACKUP_GPG_PASSPHRASE")
    BACKUP_KEEP_DAYS = envint("BACKUP_KEEP_DAYS", 30, minimum=1, maximum=3_650)
    BACKUP_MAX_AGE_HOURS = envint("BACKUP_MAX_AGE_HOURS", 26, minimum=1, maximum=8_760)
    BACKUP_DRILL_MAX_AGE_DAYS = envint("BACKUP_DRILL_MAX_AGE_DAYS", 8, minimum=1, maximum=365)
    # verifybackup restores into a scratch database named <prefix>_<random>, then drops it.
    BACKUP_SCRATCH_DB_PREFIX = envstr("BACKUP_SCRATCH_DB_PREFIX", "")

    # /metrics: a bearer token (32+ characters) and/or an IP allow-list (addresses or networks).
    METRICS_TOKEN = envsecret("METRICS_TOKEN")
    METRICS_ALLOWED_IPS = envlist(
        "METRICS_ALLOWED_IPS", "" if PRODUCTION else "127.0.0.1/32,::1/128"
    )
    globals().update(edge_settings())  # proxies, websocket caps: ticketsystem/edgeconfig.py

    # manage.py monitor: alert channels, thresholds and the re-alert cooldown.
    MONITOR_ALERT_EMAILS = envlist("MONITOR_ALERT_EMAILS")
    MONITOR_WEBHOOK_URL = envsecret("MONITOR_WEBHOOK_URL")
    MONITOR_WEBHOOK_TIMEOUT = envint("MONITOR_WEBHOOK_TIMEOUT", 10, minimum=1, maximum=300)
    MONITOR_COOLDOWN_MINUTES = envint("MONITOR_COOLDOWN_MINUTES", 60, minimum=1, maximum=10_080)
    MONITOR_FAILED_LOGINS_THRESHOLD = envint(
        "MONITOR_FAILED_LOGINS_THRESHOLD", 20, minimum=0, maximum=1_000_000
    )
    MONITOR_LOCKOUTS_THRESHOLD = envint(
        "MONITOR_LOCKOUTS_THRESHOLD", 3, minimum=0, maximum=1_000_000
    )
    MONITOR_SLA_BREACHES_THRESHOLD = envint(
        "MONITOR_SLA_BREACHES_THRESHOLD", 0, minimum=0, maximum=1_000_000
    )
    MONITOR_DISK_MIN_FREE_PERCENT = envint(
        "MONITOR_DISK_MIN_FREE_PERCENT", 10, minimum=1, maximum=99
    )
    # Where the monitor keeps its own state while the database is unreachable.
    MONITOR_STATE_FILE = Path(envstr("MONITOR_STATE_FILE", str(DATA_DIR / "monitor-state.json")))
except ConfigError as exc:
    _refuse(str(exc))

try:
    import ipaddress

    METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network(n, strict=False) for n in METRICS_ALLOWED_IPS]
except ValueError as exc:
    _refuse(f"METRICS_ALLOWED_IPS: {exc}")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    _refuse("METRICS_TOKEN is weak: use at least 32 random characters")
if MONITOR_WEBHOOK_URL and not MONITOR_WEBHOOK_URL.startswith(("https://", "http://")):
    _refuse("MONITOR_WEBHOOK_URL must be an http(s) URL")

# Request counts and latency per view, measured around everything but the request id.
MIDDLEWARE.insert(
    MIDDLEWARE.index("ticketsystem.middleware.RequestIdMiddleware") + 1,
    "ops.metrics.RequestMetricsMiddleware",
)

# --- Live dashboard: websockets (docs/live-dashboard.md) ----------------------------------

try:
    # A socket's events are coalesced into one frame per window: fewer frames per second is
    # what lets one process per core serve hundreds of sockets (see the fan-out bench).
    LIVE_COALESCE_MS = envint("LIVE_COALESCE_MS", 100, minimum=0, maximum=200)
    # How often each process re-reads the sessions behind its open sockets (expiry, revocation,
    # deactivation close a socket within this many seconds even if a message was missed).
    LIVE_SESSION_CHECK_SECONDS = envint("LIVE_SESSION_CHECK_SECONDS", 5, minimum=1, maximum=300)
    # A ticket page repeats "I am here" this often; viewers unheard of for 2.5x this are gone.
    LIVE_PRESENCE_SECONDS = envint("LIVE_PRESENCE_SECONDS", 20, minimum=2, maximum=300)
except ConfigError as exc:
    _refuse(str(exc))
if REDIS_URL:
    # Redis pub/sub channels are server-wide: database numbers do not separate them. Name them
    # after the cache prefix and the database number, so two sites (or test runs) sharing a
    # Redis server never hear each other's ticket events or session ends.
    _redis_db = urlparse(REDIS_URL).path.strip("/") or "0"
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = (
        f"{CACHES['default']['KEY_PREFIX']}.{_redis_db}."
    )

# --- Mail in and out (every mail setting: ticketsystem/mailconfig.py; docs/email.md)
INSTALLED_APPS += ["django_tasks", "django_tasks_db"]
try:
    globals().update(mail_settings(production=PRODUCTION))
except ConfigError as exc:
    _refuse(str(exc))
if PRODUCTION and EMAIL_HOST and not EMAIL_USE_TLS and not EMAIL_ALLOW_PLAINTEXT:  # noqa: F821
    _refuse("EMAIL_USE_TLS is off: set EMAIL_ALLOW_PLAINTEXT=true to send mail without TLS")

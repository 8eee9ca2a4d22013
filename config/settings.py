"""Silverpool settings, read from the environment.

SILVERPOOL_ENV selects the mode: "development" (the default, what `make run` uses) or
"production" (requires SECRET_KEY and ALLOWED_HOSTS; secure cookies, HSTS, strict CSP).
"""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.dbpool import pool_settings

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name, default=None):
    value = os.environ.get(name)
    return default if value in (None, "") else value


def env_bool(name, default=False):
    return str(env(name, str(default))).lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def anymail_value(text):
    """An ANYMAIL_* environment value as anymail expects it: true/false/yes/no/on/off a bool, 12 or 1.5 a number,
    [..] or {..} JSON; anything else (tokens, keys, names) stays the string it is."""
    import json
    import re

    word = text.strip().lower()
    if word in {"true", "yes", "on"}:
        return True
    if word in {"false", "no", "off"}:
        return False
    if re.fullmatch(r"[+-]?(0|[1-9]\d*)", word):  # a leading zero means a token, not a number
        return int(word)
    if re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+)", word):
        return float(word)
    if word[:1] in {"[", "{"}:
        try:
            return json.loads(text)
        except ValueError as error:
            raise ImproperlyConfigured(f"An ANYMAIL_* value starting with [ or {{ must be JSON: {error}") from None
    return text


SILVERPOOL_ENV = env("SILVERPOOL_ENV", "development")
if SILVERPOOL_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("SILVERPOOL_ENV must be 'development' or 'production'.")
PRODUCTION = SILVERPOOL_ENV == "production"
DEBUG = env_bool("DEBUG", default=not PRODUCTION) and not PRODUCTION
TESTING = env_bool("SILVERPOOL_TESTING", False)

if PRODUCTION:
    SECRET_KEY = env("SECRET_KEY")
    if not SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY is required when SILVERPOOL_ENV=production.")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS is required when SILVERPOOL_ENV=production.")
else:
    SECRET_KEY = env("SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production-3f9a2c71b8e4d6")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
# Old keys keep signed links (unsubscribe, preferences, invitations) valid during a rotation.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
# The suppression list hashes erased emails with its own key, never SECRET_KEY: rotating SECRET_KEY must not
# forget who was erased. Old keys in SUPPRESSION_HASH_KEY_FALLBACKS keep matching until `rehash_suppressions`.
SUPPRESSION_HASH_KEY = env("SUPPRESSION_HASH_KEY")
SUPPRESSION_HASH_KEY_FALLBACKS = env_list("SUPPRESSION_HASH_KEY_FALLBACKS")
# The public base URL: every emailed or shown personal link is built on it, never on the request's host.
SITE_URL = (env("SITE_URL") or "").rstrip("/")
if PRODUCTION and not SUPPRESSION_HASH_KEY:
    raise ImproperlyConfigured("SUPPRESSION_HASH_KEY is required when SILVERPOOL_ENV=production (its own key, "
                               "never SECRET_KEY).")
if PRODUCTION and not SITE_URL:
    raise ImproperlyConfigured("SITE_URL is required when SILVERPOOL_ENV=production (e.g. https://crm.example.com).")
SUPPRESSION_HASH_KEY = SUPPRESSION_HASH_KEY or SECRET_KEY + ":suppression"  # development only
SITE_URL = SITE_URL or "http://127.0.0.1:8000"  # development; `make run` sets it from PORT
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

SIGNUP_OPEN = env_bool("SIGNUP_OPEN", True)
# The operators' Django admin (signed in through allauth, MFA included): off in production unless enabled.
ADMIN_ENABLED = env_bool("ADMIN_ENABLED", not PRODUCTION)
ADMIN_URL = env("ADMIN_URL", "admin/").strip("/") + "/"
if ADMIN_URL == "/":
    raise ImproperlyConfigured("ADMIN_URL must name a path, e.g. 'admin/' or 'ops-7f3a/'.")
# Slugs that cannot name an organization: they are, or may become, top-level paths.
RESERVED_SLUGS = {
    "api", "p", "o", "admin", "static", "media", "accounts", "account", "invite", "invitations",
    "orgs", "signup", "login", "logout", "settings", "health", "healthz", "www", "mail", "help",
    "docs", "public", "assets", "silverpool", "new", "about", "support", "status", "s", "u", "confirm", "prefs", "rsvp",
    "webhooks", "join",
}

INSTALLED_APPS = [
    "crm.admin_config.AdminConfig",  # django.contrib.admin, signed in through allauth
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "anymail",
    "django_htmx",
    "template_partials",
    "csp",
    "crm",
    "consent",
    "talentpools",
    "outreach",
    "imports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "crm.api_errors.ApiJsonErrorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "crm.middleware.OrganizationMiddleware",
    "crm.text_guard.UnstorableTextMiddleware",  # after membership: a non-member still gets 404
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "crm.User"

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
                "crm.context_processors.organization",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    }
]

# --- Data stores -----------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL")
REDIS_URL = env("REDIS_URL")
if not DATABASE_URL or not REDIS_URL:
    raise ImproperlyConfigured(
        "DATABASE_URL and REDIS_URL are not set. Start Silverpool with `make run` (embedded "
        "development servers) or `make manage ARGS=...`, or set both variables."
    )
# Each process draws its connections from a pool of its own, at most DB_POOL_MAX (config/dbpool.py: the budget).
DB_POOL = pool_settings(env, env_bool)
DATABASES = {"default": dj_database_url.parse(
    DATABASE_URL, conn_max_age=0 if DB_POOL else int(env("DB_CONN_MAX_AGE", "60")))}
DATABASES["default"]["ATOMIC_REQUESTS"] = True  # a failed request never leaves a half-written row
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # with the pool: a broken connection is dropped, never lent
if DB_POOL:
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = DB_POOL
# Names the process's connections in pg_stat_activity (e.g. DB_APPLICATION_NAME=silverpool-web).
DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = env("DB_APPLICATION_NAME", "silverpool")
# The planner's JIT compiles for 100+ ms on the big-but-capped reads of pools and matching, and wins nothing back.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def redis_client_url(url):
    """Celery spells a unix socket `redis+socket://`, redis-py spells it `unix://`."""
    return "unix://" + url.removeprefix("redis+socket://") if url.startswith("redis+socket://") else url


CACHES = {
    "default": {
        # Redis away: a miss, not an error (config/cache.py); short timeouts, so a dead Redis stalls nothing.
        "BACKEND": "config.cache.FailOpenRedisCache",
        "LOCATION": redis_client_url(REDIS_URL),
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", "silverpool"),
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}

# --- Celery ----------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 1, "socket_timeout": 5}
# A web request that queues a task while Redis is away gives up within about a second (the nudge is repaired later).
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "outbox-tick": {"task": "outreach.tasks.outbox_tick", "schedule": 10.0},
    "due-campaigns": {"task": "outreach.tasks.run_due_campaigns", "schedule": 30.0},
    "missing-notices": {"task": "outreach.tasks.repair_missing_notices", "schedule": 600.0},
    "purge-message-bodies": {"task": "outreach.tasks.purge_message_bodies", "schedule": 24 * 3600.0},
    "webhook-events": {"task": "outreach.tasks.apply_webhook_events", "schedule": 30.0},
    "purge-webhook-events": {"task": "outreach.tasks.purge_webhook_events", "schedule": 24 * 3600.0},
    "consent-retention": {"task": "consent.tasks.consent_retention_daily", "schedule": 24 * 3600.0},
    "consent-renewals": {"task": "consent.tasks.ask_pending_renewals", "schedule": 60.0},
    "lost-work": {"task": "crm.tasks.requeue_lost_work", "schedule": 120.0},
    "account-emails": {"task": "crm.tasks.send_account_emails", "schedule": 15.0},
}

# --- Accounts (django-allauth) ---------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_ADAPTER = "crm.adapters.AccountAdapter"
ACCOUNT_SIGNUP_FORM_CLASS = "crm.forms.OrganizationSignupForm"
# A known email's sign-up does a new account's work, rolled back: the answer's delay does not tell.
ACCOUNT_FORMS = {"signup": "crm.account_forms.AccountSignupForm"}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Silverpool] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
# Failed logins cool off (per IP and per account); they never lock an account for good.
ACCOUNT_RATE_LIMITS = {
    "login_failed": env("LOGIN_FAILED_RATE_LIMIT", "10/m/ip,5/5m/key"),
}
# Behind a reverse proxy, the client address is read from X-Forwarded-For, trusting this many hops.
ALLAUTH_TRUSTED_PROXY_COUNT = int(env("TRUSTED_PROXY_COUNT", "0"))
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Silverpool"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- Email (django-anymail) ------------------------------------------------------------
EMAIL_PROVIDER = env("EMAIL_PROVIDER", "")
EMAIL_URL = env("EMAIL_URL", "")
ANYMAIL = {}
if EMAIL_URL.startswith(("smtp://", "smtps://", "submission://")):
    from urllib.parse import unquote, urlsplit

    _smtp = urlsplit(EMAIL_URL)
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _smtp.hostname or "localhost"
    EMAIL_PORT = _smtp.port or (465 if _smtp.scheme == "smtps" else 587 if _smtp.scheme == "submission" else 25)
    EMAIL_HOST_USER = unquote(_smtp.username or "")
    EMAIL_HOST_PASSWORD = unquote(_smtp.password or "")
    EMAIL_USE_SSL = _smtp.scheme == "smtps"
    EMAIL_USE_TLS = _smtp.scheme == "submission"
elif EMAIL_PROVIDER.lower() == "amazon_ses":
    EMAIL_BACKEND = "outreach.ses_backend.EmailBackend"  # anymail's, with tracking left to the configuration set
elif EMAIL_PROVIDER:
    # e.g. EMAIL_PROVIDER=postmark with ANYMAIL_POSTMARK_SERVER_TOKEN=... in the environment.
    EMAIL_BACKEND = f"anymail.backends.{EMAIL_PROVIDER.lower()}.EmailBackend"
elif PRODUCTION:
    raise ImproperlyConfigured("Set EMAIL_PROVIDER (an anymail backend) or EMAIL_URL=smtp://... in production.")
else:
    # Development: account emails (verification, password reset, invitations) print in the
    # `make run` terminal; EMAIL_BACKEND=anymail.backends.test.EmailBackend keeps them in memory.
    EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# Every ANYMAIL_<NAME> environment variable becomes anymail's <NAME> setting (ANYMAIL_POSTMARK_SERVER_TOKEN,
# ANYMAIL_MAILGUN_API_KEY, ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY, ANYMAIL_AMAZON_SES_CLIENT_PARAMS...).
ANYMAIL.update({key.removeprefix("ANYMAIL_"): anymail_value(value) for key, value in os.environ.items()
                if key.startswith("ANYMAIL_") and key != "ANYMAIL_WEBHOOK_SECRET" and value})
# Amazon SES (EMAIL_PROVIDER=amazon_ses): boto3 reads the credentials itself (AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the instance's role); the region is AMAZON_SES_REGION, else AWS_REGION.
# ANYMAIL_AMAZON_SES_CONFIGURATION_SET_NAME (optional) names the configuration set whose events SNS posts back;
# ANYMAIL_AMAZON_SES_CLIENT_PARAMS ({...} JSON) replaces the client parameters below.
AMAZON_SES_REGION = env("AMAZON_SES_REGION", env("AWS_REGION", env("AWS_DEFAULT_REGION", "")))
if EMAIL_PROVIDER.lower() == "amazon_ses":
    if PRODUCTION and not AMAZON_SES_REGION and "AMAZON_SES_CLIENT_PARAMS" not in ANYMAIL:
        raise ImproperlyConfigured("EMAIL_PROVIDER=amazon_ses needs AMAZON_SES_REGION (or AWS_REGION), e.g. eu-west-1.")
    ANYMAIL.setdefault("AMAZON_SES_CLIENT_PARAMS", {
        **({"region_name": AMAZON_SES_REGION} if AMAZON_SES_REGION else {}),
        # One attempt: the outbox retries with backoff itself, and botocore's own retry after a read
        # timeout could send an email twice. Timeouts as for SMTP (EMAIL_TIMEOUT below).
        "config": {"retries": {"total_max_attempts": 1}, "connect_timeout": int(env("EMAIL_TIMEOUT", "30")),
                   "read_timeout": int(env("EMAIL_TIMEOUT", "30"))},
    })
# The SNS topics the Amazon SES webhook takes messages from (comma-separated ARNs); empty: any topic whose
# messages carry Amazon's signature (and the webhook's basic auth).
SNS_TOPIC_ARNS = env_list("SNS_TOPIC_ARNS")
if env("ANYMAIL_WEBHOOK_SECRET"):
    ANYMAIL["WEBHOOK_SECRET"] = env("ANYMAIL_WEBHOOK_SECRET")  # user:password, basic auth on the webhooks
elif PRODUCTION:
    raise ImproperlyConfigured("ANYMAIL_WEBHOOK_SECRET (user:password) protects the provider webhooks: set it.")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Silverpool <no-reply@silverpool.localhost>")
# The outbox sends through the provider; in development through anymail's test backend (every
# message stays viewable on the outbox page).
OUTBOX_EMAIL_BACKEND = env("OUTBOX_EMAIL_BACKEND", EMAIL_BACKEND if (EMAIL_PROVIDER or EMAIL_URL)
                           else "outreach.fake_provider.EmailBackend")
OUTBOX_SEND_CONCURRENCY = int(env("OUTBOX_SEND_CONCURRENCY", "16"))  # provider calls in flight per worker
# An SMTP server that stops answering must not hold a send thread for ever (Django waits without end by default).
EMAIL_TIMEOUT = int(env("EMAIL_TIMEOUT", "30"))
OUTBOX_SENDING_TIMEOUT = int(env("OUTBOX_SENDING_TIMEOUT", "300"))  # seconds before a stuck send is looked at
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# --- Replies (outreach.inbound) ---------------------------------------------------------
# A candidate email's Reply-To is <INBOUND_REPLY_LOCAL_PART>+<token>@<INBOUND_REPLY_DOMAIN>, a domain whose mail
# the provider posts to /webhooks/anymail/<provider>/inbound/. Empty: replies go to the organization's reply-to.
INBOUND_REPLY_DOMAIN = env("INBOUND_REPLY_DOMAIN", "").strip().lower()
INBOUND_REPLY_LOCAL_PART = env("INBOUND_REPLY_LOCAL_PART", "replies").strip()
INBOUND_REPLY_TEXT_LIMIT = int(env("INBOUND_REPLY_TEXT_LIMIT", "10000"))  # characters of a reply's text kept
INBOUND_FORWARD_REPLIES = env_bool("INBOUND_FORWARD_REPLIES", True)  # to the organization's reply-to address

# --- REST API --------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["crm.api_auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["crm.api_auth.HasApiKeyScope"],
    "DEFAULT_THROTTLE_CLASSES": ["crm.api_auth.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": env("API_RATE_LIMIT", "1200/min")},
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "crm.schema.ApiAutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "crm.api_parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "crm.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Silverpool API",
    "DESCRIPTION": (
        "Candidate relationship management for recruiting teams. Authenticate with "
        "`Authorization: Bearer <api-key>`; the key decides the organization and the scope."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "PARSER_WHITELIST": ["crm.api_parsers.JSONParser"],  # the API documents JSON bodies only
    "ENUM_NAME_OVERRIDES": {
        "LanguageEnum": "config.settings.LANGUAGES",
        "StageEnum": "crm.models.Stage",
        "PipelineStageEnum": "crm.models.PIPELINE_CHOICES",
        "OfferDeclinedReasonEnum": "crm.models.OfferDeclinedReason",
        "PoolKindEnum": "talentpools.models.PoolKind",
        "TemplateKindEnum": "outreach.models.TemplateKind",
        "TagCategoryEnum": "talentpools.models.TagCategory",
    },
}

# --- Security --------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# --- Static files, i18n ---------------------------------------------------------------
STATIC_URL = "/static/"
# Production serves collected files (collectstatic); development serves them from the apps.
STATIC_ROOT = env("STATIC_ROOT", str(BASE_DIR / "staticfiles") if PRODUCTION else None)
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / ".data" / "media")))
# Uploads above 256 KiB go to a temporary file in chunks, and stop at the import's 50 MB limit.
FILE_UPLOAD_MAX_MEMORY_SIZE = 256 * 2**10
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "imports.uploads.SizeLimitedUploadHandler",
]
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français"), ("de", "Deutsch"), ("es", "Español"), ("nl", "Nederlands")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
SPECTACULAR_SETTINGS["SERVE_AUTHENTICATION"] = []

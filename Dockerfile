# syntax=docker/dockerfile:1.7
# ticketsystem: one image for web (gunicorn), ws (daphne), the migrate job, worker and cron.
# Build: docker compose build   (see docs/operations.md)
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_ENV=production \
    DATA_DIR=/var/lib/ticketsystem \
    BACKUP_DIR=/var/backups/ticketsystem \
    STATIC_ROOT=/app/staticfiles

# gnupg for backups; the PostgreSQL 15 client tools (pg_dump/pg_restore/psql) match the
# server major version in docker-compose.yml.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gnupg postgresql-client-15 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*

# supercronic: cron for containers (runs as the app user, passes the environment, logs to
# stdout). Pinned release, checked against its published SHA-1.
ARG TARGETARCH=amd64
ARG SUPERCRONIC_VERSION=v0.2.33
RUN case "${TARGETARCH}" in \
      amd64) sum=71b0d58cc53f6bd72cf2f293e09e294b79c666d8 ;; \
      arm64) sum=e0f0c06ebc5627e43b25475711e694450489ab00 ;; \
      *) echo "unsupported architecture ${TARGETARCH}" >&2; exit 1 ;; \
    esac \
 && curl -fsSLo /usr/local/bin/supercronic \
      "https://github.com/aptible/supercronic/releases/download/${SUPERCRONIC_VERSION}/supercronic-linux-${TARGETARCH}" \
 && echo "${sum}  /usr/local/bin/supercronic" | sha1sum -c - \
 && chmod 0755 /usr/local/bin/supercronic

RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app

WORKDIR /app
# Dependencies first (pinned in pyproject.toml), so code changes reuse this layer.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml','rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install --requirement /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# The code belongs to root and is read-only for the app user.
COPY . /app
# Static files are collected (hashed and compressed for whitenoise) at build time.
RUN sh ops/deploy/collectstatic.sh \
 && install -d -o app -g app -m 0700 /var/lib/ticketsystem /var/backups/ticketsystem \
 && install -d -o app -g app -m 0750 /var/log/ticketsystem

USER app:app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "/app/ops/deploy/healthcheck.py"]
# Pages; docker-compose.yml runs daphne for /ws/ from the same image. No proxy headers are
# trusted by either server: the client address comes from ticketsystem/clientip.py alone.
CMD ["gunicorn", "--config", "/app/ops/deploy/gunicorn.conf.py"]

#!/bin/sh
# Weekly security update (run from the deployment checkout as a user in the docker group):
#   1. audit our pinned Python dependencies with pip-audit,
#   2. back up, pull fresh base images (postgres, redis, nginx, WAF) and rebuild ours
#      (Debian security updates in the image come with the fresh base),
#   3. restart, wait until web is healthy, run securitycheck.
# Exits non-zero when pip-audit found a vulnerability (after still applying the image
# updates: they are independent), when the backup or the restart fails, or when
# securitycheck fails — cron mails the output. Crontab line: docs/operations.md.
set -eu

cd "$(dirname "$0")/../.."
compose="docker compose"
PIP_AUDIT_VERSION="${PIP_AUDIT_VERSION:-2.9.0}"
status=0
log() { printf '%s update: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }

log "auditing pinned dependencies (pip-audit ${PIP_AUDIT_VERSION})"
requirements="$(mktemp)"
trap 'rm -f "$requirements"' EXIT
python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml','rb'))['project']['dependencies']))" > "$requirements"
if ! pipx run --spec "pip-audit==${PIP_AUDIT_VERSION}" pip-audit --strict --progress-spinner off -r "$requirements"; then
  log "pip-audit reports vulnerable pins: bump them in pyproject.toml (continuing with image updates)"
  status=1
fi

log "backing up before the update"
$compose run --rm --no-deps cron python manage.py backup

log "pulling base images and rebuilding"
$compose pull --ignore-buildable
$compose build --pull

log "restarting"
$compose up -d --remove-orphans --wait

log "post-update securitycheck"
if ! $compose exec -T cron python manage.py securitycheck; then
  status=1
fi
docker image prune -f >/dev/null
log "done (exit $status)"
exit "$status"

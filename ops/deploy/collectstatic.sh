#!/bin/sh
# Collect static files for production at image build time.
#
# Production settings refuse to load without real secrets, and the build has none: this runs
# collectstatic with throwaway values that exist only for this one process (never written to
# the image). Only STATIC_ROOT matters here; nothing connects to a database.
set -eu
cd "$(dirname "$0")/../.."
key() { python -c 'import base64, secrets; print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())'; }
DJANGO_ENV=production \
SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(60))')" \
FIELD_ENCRYPTION_KEYS="build:$(key)" \
BLIND_INDEX_KEY="$(key)" \
AUDIT_HMAC_KEY="$(key)" \
SEARCH_INDEX_KEY="$(key)" \
ALLOWED_HOSTS=build.invalid \
DATABASE_URL=postgres://build@build.invalid/build \
DATA_DIR="${TMPDIR:-/tmp}/ticketsystem-build" \
python manage.py collectstatic --noinput --clear -v0
echo "static files collected into ${STATIC_ROOT:-staticfiles}"

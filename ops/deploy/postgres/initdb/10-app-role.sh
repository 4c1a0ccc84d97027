#!/bin/sh
# The application's own PostgreSQL role and database (docker-compose.yml mounts this
# directory at /docker-entrypoint-initdb.d). The postgres image runs it once, as the
# superuser, when it initialises an empty data directory.
#
# The role may log in and create databases (verifybackup restores each drill into a scratch
# database it creates and drops), and owns the application database, so it can migrate it
# (pg_trgm is a trusted extension). It is no superuser: SQL that reaches the database — an
# application bug, a restored backup — cannot run programs (COPY ... TO PROGRAM), read or
# write the server's files, or create roles. The superuser is for administrators only.
#
# Environment: APP_DB_NAME, APP_DB_USER, APP_DB_PASSWORD_FILE (a Docker secret, one line);
# POSTGRES_USER (the superuser to connect as) and the usual libpq PG* variables.
set -e
: "${APP_DB_NAME:?set APP_DB_NAME}" "${APP_DB_USER:?set APP_DB_USER}"
: "${APP_DB_PASSWORD_FILE:?set APP_DB_PASSWORD_FILE}"
if [ ! -s "$APP_DB_PASSWORD_FILE" ]; then
    echo "10-app-role.sh: $APP_DB_PASSWORD_FILE is missing or empty" >&2
    exit 1
fi
# The password is read by psql itself (backquotes in \set), never put on a command line.
psql --no-psqlrc --no-password --set ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" \
    --dbname postgres --set app_user="$APP_DB_USER" --set app_db="$APP_DB_NAME" <<'SQL'
\set app_password `cat "$APP_DB_PASSWORD_FILE"`
CREATE ROLE :"app_user" LOGIN CREATEDB NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'app_password';
CREATE DATABASE :"app_db" OWNER :"app_user";
REVOKE ALL ON DATABASE :"app_db" FROM PUBLIC;
SQL
echo "10-app-role.sh: role $APP_DB_USER (no superuser) owns database $APP_DB_NAME"

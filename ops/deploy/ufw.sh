#!/bin/sh
# Host firewall for a ticketsystem server: deny every incoming connection except SSH, HTTP
# and HTTPS. Run once as root on the host (idempotent). SSH is rate limited by ufw.
#
#   SSH_PORT=22 sh ops/deploy/ufw.sh
#
# Note: Docker publishes ports through its own iptables chains, which ufw does not govern.
# docker-compose.yml publishes only nginx's 80/443 (PostgreSQL and Redis publish nothing),
# and fail2ban bans in the DOCKER-USER chain for that reason (ops/deploy/fail2ban/).
set -eu

SSH_PORT="${SSH_PORT:-22}"
case "$SSH_PORT" in
  ''|*[!0-9]*) echo "ufw.sh: SSH_PORT must be a port number, not '$SSH_PORT'" >&2; exit 2 ;;
esac
if ! command -v ufw >/dev/null 2>&1; then
  echo "ufw.sh: ufw is not installed (apt-get install ufw)" >&2
  exit 2
fi

# Allow SSH before anything is denied, so enabling never locks us out.
ufw limit "${SSH_PORT}/tcp" comment 'SSH (rate limited)'
ufw allow 80/tcp comment 'HTTP (redirects to HTTPS, ACME)'
ufw allow 443/tcp comment 'HTTPS'
ufw default deny incoming
ufw default allow outgoing
ufw default deny routed
ufw logging low
ufw --force enable
ufw status verbose

"""Docker HEALTHCHECK for the web container: GET /healthz with an allowed Host header.

Django answers 400 to a Host that is not in ALLOWED_HOSTS, so the probe sends the first
allowed host. Exit 0 when healthy, 1 otherwise (stdlib only: the image has no curl for it).
"""

from __future__ import annotations

import http.client
import os
import sys


def main() -> int:
    hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    host = next((h for h in hosts if "*" not in h and not h.startswith(".")), "localhost")
    address = os.environ.get("HEALTHCHECK_ADDRESS", "127.0.0.1:8000")
    conn = http.client.HTTPConnection(address, timeout=4)
    try:
        conn.request("GET", "/healthz", headers={"Host": host})
        response = conn.getresponse()
        body = response.read(200)
    except OSError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    if response.status != 200:
        print(f"unhealthy: HTTP {response.status} {body!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""manage.py backup against a plain `pg_dump | gpg --encrypt` of the same database.

    .venv/bin/python bench/backup_bench.py --tickets 100000 --runs 3

Creates (or reuses) the PostgreSQL database --database on the server of DATABASE_URL, seeds
it with `manage.py seeddemo` up to --tickets, makes a throwaway GPG key in a temporary
GNUPGHOME, then times, alternating, --runs times each:

- ours:      `manage.py backup` as cron runs it (process start, snapshot + row counts,
             pg_dump -Fc → gpg, sha256, fsync, manifest, security event);
- baseline:  `pg_dump -Fc DB | gpg --encrypt -r KEY -o FILE` (gpg's default compression);
- baseline-z0: the same with `gpg -z 0` (what ours does: the custom format is compressed).

Prints wall-clock medians, sizes and the ratio ours / baseline (target ≤ 1.5).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

BASE_DIR = Path(__file__).resolve().parent.parent


def run(cmd: list[str] | str, env: dict[str, str], shell: bool = False) -> float:
    start = time.perf_counter()
    # The baseline is literally a shell pipeline, as an administrator would write it.
    subprocess.run(
        cmd,
        env=env,
        shell=shell,
        check=True,
        cwd=BASE_DIR,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def psql_value(url: str, query: str) -> str:
    """The single value a query returns, through psql."""
    return subprocess.run(
        ["psql", url, "-Atc", query], capture_output=True, text=True, check=True
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database", default="ts_ops_bench")
    args = parser.parse_args()
    if not args.database.replace("_", "").isalnum():
        parser.error("--database: letters, digits and _ only")

    server = urlparse(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    url = urlunparse(server._replace(path=f"/{args.database}"))
    admin = urlunparse(server._replace(path="/postgres"))
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("REDIS_URL", None)
    exists = psql_value(admin, f"SELECT 1 FROM pg_database WHERE datname = '{args.database}'")  # noqa: S608
    if not exists:
        subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{args.database}"'], check=True)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True, cwd=BASE_DIR)
    have = int(psql_value(url, "SELECT count(*) FROM tickets_ticket"))
    if have < args.tickets:
        print(f"seeding {args.tickets - have} tickets …", flush=True)
        subprocess.run(
            [*manage, "seeddemo", "--tickets", str(args.tickets - have)],
            env=env,
            check=True,
            cwd=BASE_DIR,
        )

    with tempfile.TemporaryDirectory(prefix="backup-bench-") as tmp:
        home = Path(tmp) / "gnupg"
        home.mkdir(mode=0o700)
        gpg = ["gpg", "--homedir", str(home), "--batch"]
        subprocess.run(
            [
                *gpg,
                "--passphrase",
                "",
                "--quick-gen-key",
                "Bench <b@example.org>",
                "ed25519",
                "cert",
                "never",
            ],
            check=True,
            capture_output=True,
        )
        fpr = next(
            line.split(":")[9]
            for line in subprocess.run(
                [*gpg, "--with-colons", "--list-keys"], capture_output=True, text=True, check=True
            ).stdout.splitlines()
            if line.startswith("fpr")
        )
        subprocess.run(
            [
                *gpg,
                "--passphrase",
                "",
                "--pinentry-mode",
                "loopback",
                "--quick-add-key",
                fpr,
                "cv25519",
                "encr",
                "never",
            ],
            check=True,
            capture_output=True,
        )
        public = Path(tmp) / "pub.asc"
        public.write_bytes(
            subprocess.run(
                [*gpg, "--armor", "--export", fpr], capture_output=True, check=True
            ).stdout
        )
        ours_env = {
            **env,
            "BACKUP_DIR": f"{tmp}/ours",
            "BACKUP_GPG_PUBLIC_KEY_FILE": str(public),
        }
        pg_env = {**os.environ}
        times: dict[str, list[float]] = {"ours": [], "baseline": [], "baseline-z0": []}
        sizes: dict[str, int] = {}
        enc = f"{' '.join(gpg)} --trust-model always --encrypt -r {fpr}"
        for i in range(args.runs):
            times["ours"].append(run([*manage, "backup", "--keep-days", "3650"], ours_env))
            sizes["ours"] = sum(p.stat().st_size for p in Path(f"{tmp}/ours").glob("*.db.gpg")) // (
                i + 1
            )
            out = Path(tmp) / f"base{i}.gpg"
            times["baseline"].append(
                run(f"pg_dump -Fc '{url}' | {enc} -o {out}", pg_env, shell=True)  # noqa: S604
            )
            sizes["baseline"] = out.stat().st_size
            out0 = Path(tmp) / f"base0_{i}.gpg"
            times["baseline-z0"].append(
                run(f"pg_dump -Fc '{url}' | {enc} -z 0 -o {out0}", pg_env, shell=True)  # noqa: S604
            )
            sizes["baseline-z0"] = out0.stat().st_size
            time.sleep(1)  # distinct backup names (one per second)

    tickets = int(psql_value(url, "SELECT count(*) FROM tickets_ticket"))
    print(f"\nbackup of {tickets} tickets, {args.runs} runs each (wall clock seconds)\n")
    print(f"{'variant':<13} {'median':>8} {'min':>8} {'max':>8} {'size MB':>9} {'vs baseline':>12}")
    base = statistics.median(times["baseline"])
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"{name:<13} {median:8.2f} {min(values):8.2f} {max(values):8.2f} "
            f"{sizes[name] / 1e6:9.1f} {median / base:11.2f}x"
        )


if __name__ == "__main__":
    main()

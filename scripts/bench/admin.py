#!/usr/bin/env python3
"""Admin-API helper for scripts/bench.sh (standard library only).

Talks to a nexus on loopback through the Keycloak-compatible admin API,
as the bootstrap admin (password grant on the master realm's admin-cli).

  admin.py setup         BASE REALM CLIENT_ID SECRET
  admin.py create-realms BASE COUNT PREFIX [PARALLEL]
  admin.py timings       BASE REALM SAMPLES PREFIX

`timings` prints one JSON object: median milliseconds of creating one realm,
of GET /admin/realms/REALM and of GET /admin/realms?briefRepresentation=true
&first=0&max=100, each over SAMPLES sequential requests.
"""

import json
import os
import statistics
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

ADMIN_USER = os.environ.get("BENCH_ADMIN_USERNAME", "admin")
ADMIN_PASSWORD = os.environ.get("BENCH_ADMIN_PASSWORD", "admin")
TIMEOUT = 30


class Admin:
    def __init__(self, base):
        self.base = base.rstrip("/")
        self._lock = threading.Lock()
        self._token = None
        self._token_at = 0.0

    def _fetch_token(self):
        body = urllib.parse.urlencode({
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": ADMIN_USER,
            "password": ADMIN_PASSWORD,
        }).encode()
        req = urllib.request.Request(
            self.base + "/realms/master/protocol/openid-connect/token",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            return json.load(resp)["access_token"]

    def token(self, refresh=False):
        with self._lock:
            # Keycloak's admin-cli tokens live 60 s by default: renew early.
            if refresh or self._token is None or time.monotonic() - self._token_at > 30:
                self._token = self._fetch_token()
                self._token_at = time.monotonic()
            return self._token

    def request(self, method, path, payload=None, ok=(200, 201, 204)):
        """Returns (status, body bytes); retries once with a fresh token on 401."""
        data = None if payload is None else json.dumps(payload).encode()
        for attempt in (0, 1):
            req = urllib.request.Request(self.base + path, data=data, method=method)
            req.add_header("Authorization", "Bearer " + self.token(refresh=attempt == 1))
            req.add_header("Accept", "application/json")
            if data is not None:
                req.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
                    status, body = resp.status, resp.read()
            except urllib.error.HTTPError as e:
                status, body = e.code, e.read()
            if status == 401 and attempt == 0:
                continue
            if status not in ok:
                raise RuntimeError(f"{method} {path} -> HTTP {status}: {body[:300]!r}")
            return status, body
        raise AssertionError("unreachable")


def timed_ms(fn):
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000.0


def cmd_setup(base, realm, client_id, secret):
    a = Admin(base)
    a.request("POST", "/admin/realms", {"realm": realm, "enabled": True}, ok=(201, 409))
    a.request(
        "POST",
        f"/admin/realms/{realm}/clients",
        {
            "clientId": client_id,
            "secret": secret,
            "publicClient": False,
            "serviceAccountsEnabled": True,
            "standardFlowEnabled": False,
        },
        ok=(201, 409),
    )
    print(f"realm {realm} and client {client_id} ready")


def cmd_create_realms(base, count, prefix, parallel=8):
    a = Admin(base)
    count, parallel = int(count), max(1, int(parallel))

    def create(i):
        a.request("POST", "/admin/realms",
                  {"realm": f"{prefix}{i:06d}", "enabled": True}, ok=(201, 409))

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        for _ in pool.map(create, range(count)):
            pass
    secs = time.perf_counter() - t0
    print(f"created {count} realms in {secs:.1f} s ({count / secs:.1f} realms/s, {parallel} in parallel)")


def cmd_timings(base, realm, samples, prefix, mid_first="0"):
    a = Admin(base)
    samples = int(samples)
    a.token()  # fetch outside the timed calls
    create = [
        timed_ms(lambda i=i: a.request("POST", "/admin/realms",
                                       {"realm": f"{prefix}{i:04d}", "enabled": True}, ok=(201,)))
        for i in range(samples)
    ]
    get_one = [timed_ms(lambda: a.request("GET", f"/admin/realms/{realm}")) for _ in range(samples)]
    listed = {}

    def list_realms():
        _, body = a.request("GET", "/admin/realms?briefRepresentation=true&first=0&max=100")
        listed["n"] = len(json.loads(body))

    get_list = [timed_ms(list_realms) for _ in range(samples)]

    def list_mid():
        a.request("GET", f"/admin/realms?briefRepresentation=true&first={int(mid_first)}&max=100")

    get_mid = [timed_ms(list_mid) for _ in range(samples)]
    print(json.dumps({
        "list_mid_ms": round(statistics.median(get_mid), 2),
        "create_realm_ms": round(statistics.median(create), 2),
        "get_realm_ms": round(statistics.median(get_one), 2),
        "list_realms_ms": round(statistics.median(get_list), 2),
        "list_realms_returned": listed.get("n", 0),
    }))


def main(argv):
    cmds = {"setup": (cmd_setup, 4), "create-realms": (cmd_create_realms, 3),
            "timings": (cmd_timings, 4)}
    if len(argv) < 2 or argv[1] not in cmds:
        sys.exit(__doc__)
    fn, nargs = cmds[argv[1]]
    args = argv[2:]
    if len(args) < nargs:
        sys.exit(__doc__)
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001 - report and fail the bench
        sys.exit(f"admin.py {argv[1]}: {e}")


if __name__ == "__main__":
    main(sys.argv)

#!/usr/bin/env python3
"""Admin-API and browser helper for scripts/bench.sh (standard library only).

Talks to a nexus on loopback through the Keycloak-compatible admin API,
as the bootstrap admin (password grant on the master realm's admin-cli),
and through the login pages as a cookie-keeping browser.

  admin.py setup          BASE REALM CLIENT_ID SECRET
  admin.py create-realms  BASE COUNT PREFIX [PARALLEL]
  admin.py timings        BASE REALM SAMPLES PREFIX
  admin.py web-setup      BASE REALM CLIENT_ID REDIRECT_URI USERNAME PASSWORD
  admin.py login          BASE REALM CLIENT_ID REDIRECT_URI USERNAME PASSWORD VERIFIER
  admin.py refresh-tokens BASE REALM CLIENT_ID REDIRECT_URI IDENTITY VERIFIER COUNT FILE
  admin.py api-key        BASE REALM CLIENT_ID

`setup` creates REALM and a confidential client with a service account, and
turns off REALM's request rate limit (rateLimitRequestsPerMinute: 0): wrk
sends everything from one address, far beyond the default 100 requests per
minute per address on the authentication endpoints. The failed-authentication
limit stays on (no benchmark request fails).
The realm keeps nexus's default brute-force protection (on): the benchmark
logins all use the right password, so no failure is ever counted and no lock
can interfere (service/login.rs: a success only reads the lock keys).

`timings` prints one JSON object: median milliseconds of creating one realm,
of GET /admin/realms/REALM and of GET /admin/realms?briefRepresentation=true
&first=0&max=100, each over SAMPLES sequential requests.

`web-setup` creates a public client for the code flow (standard flow only,
exactly REDIRECT_URI, no consent) and a user with a permanent password.

`login` runs the authorization code flow once through the login page (GET
the authorization endpoint, POST the login form with its CSRF token, check
the 302 to REDIRECT_URI carries a code, exchange the code with PKCE S256)
and prints the KEYCLOAK_IDENTITY cookie value: the SSO session the code-flow
benchmark reuses.

`refresh-tokens` uses that cookie to run COUNT single sign-on code flows
(no password, no argon2) and writes the COUNT refresh tokens, one per line,
to FILE: each starts its own rotation family, so each is usable once.

`api-key` creates an API key (permissions "profile email") for the service
account of CLIENT_ID through the admin API and prints "ID SECRET".
"""

import base64
import hashlib
import html
import http.client
import json
import os
import re
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
    # One address (loopback) is all wrk has: no per-address request limit in this realm.
    a.request("PUT", f"/admin/realms/{realm}", {"rateLimitRequestsPerMinute": 0}, ok=(204,))
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


def cmd_web_setup(base, realm, client_id, redirect_uri, username, password):
    a = Admin(base)
    a.request(
        "POST",
        f"/admin/realms/{realm}/clients",
        {
            "clientId": client_id,
            "publicClient": True,
            "standardFlowEnabled": True,
            "directAccessGrantsEnabled": False,
            "consentRequired": False,
            "redirectUris": [redirect_uri],
        },
        ok=(201, 409),
    )
    a.request(
        "POST",
        f"/admin/realms/{realm}/users",
        {
            "username": username,
            "enabled": True,
            "email": f"{username}@bench.invalid",
            "emailVerified": True,
            "firstName": "Bench",
            "lastName": "User",
            "credentials": [{"type": "password", "value": password, "temporary": False}],
        },
        ok=(201, 409),
    )
    print(f"public client {client_id} and user {username} ready in realm {realm}")


def pkce_challenge(verifier):
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class Browser:
    """One keep-alive connection, the cookies of one realm path, no redirects followed."""

    def __init__(self, base):
        url = urllib.parse.urlsplit(base)
        self.conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=TIMEOUT)
        self.cookies = {}

    def request(self, method, path, form=None):
        headers = {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read().decode("utf-8", "replace")
        for name, value in resp.getheaders():
            if name.lower() == "set-cookie":
                k, _, v = value.split(";", 1)[0].partition("=")
                self.cookies[k.strip()] = v.strip()
        return resp.status, resp.getheader("Location"), data


def auth_path(realm, client_id, redirect_uri, verifier, state):
    query = urllib.parse.urlencode({
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": "openid",
        "state": state,
        "nonce": state,
        "code_challenge": pkce_challenge(verifier),
        "code_challenge_method": "S256",
    })
    return f"/realms/{realm}/protocol/openid-connect/auth?{query}"


def code_from(status, location, redirect_uri, body):
    if status != 302 or not location or not location.startswith(redirect_uri + "?"):
        raise RuntimeError(f"expected a 302 to {redirect_uri} with a code, got {status} "
                           f"{location!r} {body[:300]!r}")
    params = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    if "code" not in params:
        raise RuntimeError(f"no code in {location!r}")
    return params["code"][0]


def exchange(browser, realm, client_id, redirect_uri, verifier, code):
    status, _, body = browser.request(
        "POST",
        f"/realms/{realm}/protocol/openid-connect/token",
        {
            "grant_type": "authorization_code",
            "client_id": client_id,
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
    )
    if status != 200:
        raise RuntimeError(f"code exchange: HTTP {status} {body[:300]!r}")
    tokens = json.loads(body)
    for key in ("access_token", "id_token", "refresh_token"):
        if key not in tokens:
            raise RuntimeError(f"code exchange: no {key} in {body[:300]!r}")
    return tokens


def cmd_login(base, realm, client_id, redirect_uri, username, password, verifier):
    b = Browser(base)
    status, _, page = b.request("GET", auth_path(realm, client_id, redirect_uri, verifier, "login"))
    action = re.search(r'<form id="kc-form-login"[^>]*action="([^"]+)"', page)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if status != 200 or not action or not csrf:
        raise RuntimeError(f"expected the login page, got {status} {page[:300]!r}")
    status, location, body = b.request("POST", html.unescape(action.group(1)), {
        "username": username,
        "password": password,
        "csrf_token": html.unescape(csrf.group(1)),
    })
    code = code_from(status, location, redirect_uri, body)
    identity = b.cookies.get("KEYCLOAK_IDENTITY")
    if not identity:
        raise RuntimeError("the login set no KEYCLOAK_IDENTITY cookie")
    exchange(b, realm, client_id, redirect_uri, verifier, code)
    print(identity)


def cmd_refresh_tokens(base, realm, client_id, redirect_uri, identity, verifier, count, path):
    b = Browser(base)
    b.cookies["KEYCLOAK_IDENTITY"] = identity
    tokens = []
    for i in range(int(count)):
        status, location, body = b.request(
            "GET", auth_path(realm, client_id, redirect_uri, verifier, f"seed{i}"))
        code = code_from(status, location, redirect_uri, body)
        tokens.append(exchange(b, realm, client_id, redirect_uri, verifier, code)["refresh_token"])
    with open(path, "w", encoding="ascii") as f:
        f.write("\n".join(tokens) + "\n")
    print(f"{len(tokens)} refresh tokens written to {path}")


def cmd_api_key(base, realm, client_id):
    a = Admin(base)
    query = urllib.parse.urlencode({"clientId": client_id})
    _, body = a.request("GET", f"/admin/realms/{realm}/clients?{query}")
    client = json.loads(body)[0]["id"]
    _, body = a.request("GET", f"/admin/realms/{realm}/clients/{client}/service-account-user")
    user = json.loads(body)["id"]
    _, body = a.request(
        "POST",
        f"/admin/realms/{realm}/users/{user}/api-keys",
        {"description": "bench", "permissions": "profile email"},
        ok=(201,),
    )
    key = json.loads(body)
    print(key["id"], key["secret"])


def cmd_events(base, realm, enabled):
    a = Admin(base)
    a.request("PUT", f"/admin/realms/{realm}/events/config", {"eventsEnabled": enabled == "on"}, ok=(204,))


def main(argv):
    cmds = {"api-key": (cmd_api_key, 3), "events": (cmd_events, 3), "setup": (cmd_setup, 4), "create-realms": (cmd_create_realms, 3),
            "timings": (cmd_timings, 4), "web-setup": (cmd_web_setup, 6),
            "login": (cmd_login, 7), "refresh-tokens": (cmd_refresh_tokens, 8)}
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

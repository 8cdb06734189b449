#!/usr/bin/env python3
"""Drive a running nexus server with the unmodified third-party python-keycloak library.

Written and verified against python-keycloak 7.1.1 (the latest release on PyPI when this
script was written; it depends on jwcrypto, requests and httpx). Install it with

    python3 -m venv /root/.cache/nexus/venv
    /root/.cache/nexus/venv/bin/pip install python-keycloak==7.1.1

and run

    $PY tests/compat/python_keycloak_compat.py --server-url http://127.0.0.1:PORT/ \
        --admin-username admin --admin-password PASSWORD

Only the library's public methods are used (no raw HTTP), so whatever this script does, a
Keycloak client written against python-keycloak does too. Each step prints `ok: <step>`;
the last line is `compat: ok` and the exit code 0. The first failed check prints
`compat: FAILED in step <step>: <reason>` and the script exits 1. A failure leaves the
uniquely named test realm behind (the server under test is expected to be throwaway).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import secrets
import sys
import time
import traceback
import uuid

TESTED_LIBRARY_VERSION = "7.1.1"

try:
    from jwcrypto import jwk
    from keycloak import KeycloakAdmin, KeycloakOpenID, KeycloakOpenIDConnection
    from keycloak.exceptions import (
        KeycloakAuthenticationError,
        KeycloakError,
        KeycloakGetError,
        KeycloakPostError,
    )
except ImportError as exc:  # pragma: no cover - environment problem, not a compat failure
    print(f"compat: FAILED: python-keycloak is not importable ({exc}); "
          f"pip install python-keycloak=={TESTED_LIBRARY_VERSION}", flush=True)
    sys.exit(1)


class CheckFailed(Exception):
    """A compatibility check did not hold."""


CURRENT_STEP = "startup"


def step(name: str) -> None:
    global CURRENT_STEP
    CURRENT_STEP = name


def ok(name: str) -> None:
    print(f"ok: {name}", flush=True)


def check(cond: object, msg: str) -> None:
    if not cond:
        raise CheckFailed(msg)


def check_eq(actual: object, expected: object, what: str) -> None:
    if actual != expected:
        raise CheckFailed(f"{what}: expected {expected!r}, got {actual!r}")


def expect_error(fn, exc_type: type, status: int, what: str) -> KeycloakError:
    """Call fn(); it must raise exc_type carrying HTTP status `status`.

    Only the expected exception class is caught; anything else propagates and fails the run.
    """
    try:
        result = fn()
    except exc_type as err:  # noqa: PERF203
        if err.response_code != status:
            raise CheckFailed(
                f"{what}: expected HTTP {status}, got {err.response_code} "
                f"({type(err).__name__}: {err.error_message!r})"
            ) from err
        return err
    raise CheckFailed(f"{what}: expected {exc_type.__name__} with HTTP {status}, "
                      f"but the call succeeded and returned {result!r}")


def names(items: list) -> list:
    return [item.get("name") for item in items]


def ids(items: list) -> list:
    return [item.get("id") for item in items]


def role_names(roles: list) -> list:
    return [r.get("name") for r in roles]


def run(args: argparse.Namespace) -> None:
    server_url = args.server_url
    if not server_url.endswith("/"):
        server_url += "/"
    suffix = uuid.uuid4().hex[:12]
    realm = f"compat-{suffix}"

    # ---- 1. admin connection --------------------------------------------------------------
    step("admin connection")
    conn = KeycloakOpenIDConnection(
        server_url=server_url,
        username=args.admin_username,
        password=args.admin_password,
        realm_name="master",
        client_id="admin-cli",
        verify=True,
    )
    admin = KeycloakAdmin(connection=conn)
    check_eq(admin.get_current_realm(), "master", "admin realm before any call")
    realms_before = admin.get_realms()  # first call: password grant on master/admin-cli
    check(isinstance(realms_before, list), f"get_realms() must be a list, got {realms_before!r}")
    check(conn.token is not None and conn.token.get("access_token"),
          f"admin connection did not obtain an access token: {conn.token!r}")
    check("master" in names_of_realms(realms_before),
          f"get_realms() does not list master: {names_of_realms(realms_before)}")
    ok("admin connection")

    # ---- 2. realms ------------------------------------------------------------------------
    step("realms")
    created = admin.create_realm({"realm": realm, "enabled": True, "displayName": "Compat Test"})
    check(isinstance(created, bytes), f"create_realm returned {created!r}")
    check(realm in names_of_realms(admin.get_realms()), f"get_realms() does not list {realm}")
    rep = admin.get_realm(realm)
    check_eq(rep.get("realm"), realm, "get_realm().realm")
    check_eq(rep.get("enabled"), True, "get_realm().enabled")
    check_eq(rep.get("displayName"), "Compat Test", "get_realm().displayName")
    check(rep.get("id"), f"get_realm() has no id: {rep!r}")
    admin.update_realm(realm, {"displayName": "Compat Test Renamed"})
    rep = admin.get_realm(realm)
    check_eq(rep.get("displayName"), "Compat Test Renamed", "displayName after update_realm")
    check_eq(rep.get("enabled"), True, "enabled after a partial update_realm")
    expect_error(lambda: admin.create_realm({"realm": realm, "enabled": True}),
                 KeycloakPostError, 409, "create_realm of an existing realm")
    # skip_exists=True: the library accepts 409 (or 400) and then needs the body to be either
    # not JSON or one of the bodies Keycloak sends for this case.
    skipped = admin.create_realm({"realm": realm, "enabled": True}, skip_exists=True)
    check(isinstance(skipped, bytes), f"create_realm(skip_exists=True) returned {skipped!r}")
    expect_error(lambda: admin.get_realm(f"no-such-realm-{suffix}"),
                 KeycloakGetError, 404, "get_realm of a missing realm")
    ok("realms")

    # ---- 3. switch the admin to the new realm ---------------------------------------------
    step("switch realm")
    admin.change_current_realm(realm)
    check_eq(admin.get_current_realm(), realm, "get_current_realm() after change_current_realm")
    check_eq(conn.realm_name, realm, "connection.realm_name after change_current_realm")
    # The token still comes from master (the connection keeps its master token client).
    check_eq(conn.keycloak_openid.realm_name, "master", "realm of the admin token client")
    ok("switch realm")

    # ---- 4. clients -----------------------------------------------------------------------
    step("clients")
    first_secret = secrets.token_urlsafe(36)  # 48 characters
    svc_id = admin.create_client({
        "clientId": "svc",
        "secret": first_secret,
        "publicClient": False,
        "serviceAccountsEnabled": True,
        "directAccessGrantsEnabled": False,
        "standardFlowEnabled": False,
    })
    check(isinstance(svc_id, str) and svc_id and "/" not in svc_id,
          f"create_client returned {svc_id!r} (id from the Location header)")
    check_eq(admin.get_client_id("svc"), svc_id, "get_client_id('svc')")
    check_eq(admin.get_client_id(f"no-such-client-{suffix}"), None,
             "get_client_id of a missing clientId")
    check(svc_id in ids(admin.get_clients()), "get_clients() does not list svc")
    client = admin.get_client(svc_id)
    check_eq(client.get("id"), svc_id, "get_client().id")
    check_eq(client.get("clientId"), "svc", "get_client().clientId")
    check_eq(client.get("serviceAccountsEnabled"), True, "get_client().serviceAccountsEnabled")
    check_eq(client.get("publicClient"), False, "get_client().publicClient")
    check_eq(client.get("directAccessGrantsEnabled"), False,
             "get_client().directAccessGrantsEnabled")
    check_eq(client.get("standardFlowEnabled"), False, "get_client().standardFlowEnabled")
    secret_rep = admin.get_client_secrets(svc_id)
    check_eq(secret_rep.get("type"), "secret", "get_client_secrets().type")
    check_eq(secret_rep.get("value"), first_secret, "get_client_secrets().value")
    regenerated = admin.generate_client_secrets(svc_id)
    check_eq(regenerated.get("type"), "secret", "generate_client_secrets().type")
    svc_secret = regenerated.get("value")
    check(isinstance(svc_secret, str) and len(svc_secret) >= 32,
          f"generate_client_secrets().value is not a 32+ character string: {svc_secret!r}")
    check(svc_secret != first_secret, "generate_client_secrets() returned the old secret")
    check_eq(admin.get_client_secrets(svc_id).get("value"), svc_secret,
             "get_client_secrets().value after generate_client_secrets")
    admin.update_client(svc_id, {"description": "x"})
    client = admin.get_client(svc_id)
    check_eq(client.get("description"), "x", "description after update_client")
    check_eq(client.get("clientId"), "svc", "clientId after a partial update_client")
    check_eq(client.get("serviceAccountsEnabled"), True,
             "serviceAccountsEnabled after a partial update_client")
    check_eq(admin.get_client_secrets(svc_id).get("value"), svc_secret,
             "client secret after a partial update_client")
    sa_user = admin.get_client_service_account_user(svc_id)
    check_eq(sa_user.get("username"), "service-account-svc",
             "get_client_service_account_user().username")
    sa_user_id = sa_user.get("id")
    check(sa_user_id, f"service-account user has no id: {sa_user!r}")
    expect_error(lambda: admin.create_client({"clientId": "svc"}),
                 KeycloakPostError, 409, "create_client with a duplicate clientId")
    ok("clients")

    # ---- 5. client roles ------------------------------------------------------------------
    step("client roles")
    created_role = admin.create_client_role(svc_id, {"name": "reader"})
    check_eq(created_role, "reader", "create_client_role() (last segment of Location)")
    check("reader" in role_names(admin.get_client_roles(svc_id)),
          "get_client_roles() does not list reader")
    reader = admin.get_client_role(svc_id, "reader")
    check_eq(reader.get("name"), "reader", "get_client_role().name")
    check_eq(reader.get("clientRole"), True, "get_client_role().clientRole")
    check_eq(reader.get("containerId"), svc_id, "get_client_role().containerId")
    check(reader.get("id"), f"get_client_role() has no id: {reader!r}")
    ok("client roles")

    # ---- 6. realm roles -------------------------------------------------------------------
    step("realm roles")
    created_role = admin.create_realm_role({"name": "auditor", "description": "d"})
    check_eq(created_role, "auditor", "create_realm_role() (last segment of Location)")
    check("auditor" in role_names(admin.get_realm_roles()), "get_realm_roles() lacks auditor")
    auditor = admin.get_realm_role("auditor")
    check_eq(auditor.get("name"), "auditor", "get_realm_role().name")
    check_eq(auditor.get("description"), "d", "get_realm_role().description")
    check_eq(auditor.get("clientRole"), False, "get_realm_role().clientRole")
    check(auditor.get("id"), f"get_realm_role() has no id: {auditor!r}")
    expect_error(lambda: admin.create_realm_role({"name": "auditor"}),
                 KeycloakPostError, 409, "create_realm_role of an existing role")
    check_eq(admin.create_realm_role({"name": "auditor"}, skip_exists=True), "auditor",
             "create_realm_role(skip_exists=True) of an existing role")
    expect_error(lambda: admin.get_realm_role(f"no-such-role-{suffix}"),
                 KeycloakGetError, 404, "get_realm_role of a missing role")
    ok("realm roles")

    # ---- 7. users -------------------------------------------------------------------------
    step("users")
    count_before = admin.users_count()
    check(isinstance(count_before, int), f"users_count() is not an int: {count_before!r}")
    user_id = admin.create_user({
        "username": "alice",
        "email": "alice@example.com",
        "firstName": "Alice",
        "lastName": "A",
        "enabled": True,
        "credentials": [{"type": "password", "value": "S3cret-pass!", "temporary": False}],
    })
    check(isinstance(user_id, str) and user_id and "/" not in user_id,
          f"create_user returned {user_id!r} (id from the Location header)")
    check_eq(admin.get_user_id("alice"), user_id, "get_user_id('alice')")
    check_eq(admin.get_user_id(f"nobody-{suffix}"), None, "get_user_id of a missing user")
    found = admin.get_users({"username": "alice"})
    check(user_id in ids(found), f"get_users(username=alice) lacks alice: {found!r}")
    user = admin.get_user(user_id)
    check_eq(user.get("id"), user_id, "get_user().id")
    check_eq(user.get("username"), "alice", "get_user().username")
    check_eq(user.get("email"), "alice@example.com", "get_user().email")
    check_eq(user.get("firstName"), "Alice", "get_user().firstName")
    check_eq(user.get("lastName"), "A", "get_user().lastName")
    check_eq(user.get("enabled"), True, "get_user().enabled")
    check("S3cret-pass!" not in json.dumps(user), "get_user() leaks the password")
    check_eq(admin.users_count(), count_before + 1, "users_count() after create_user")
    expect_error(lambda: admin.create_user({"username": "alice", "enabled": True}),
                 KeycloakPostError, 409, "create_user with a duplicate username")
    check_eq(admin.create_user({"username": "alice"}, exist_ok=True), user_id,
             "create_user(exist_ok=True) of an existing user")
    admin.update_user(user_id, {"firstName": "Alicia"})
    user = admin.get_user(user_id)
    check_eq(user.get("firstName"), "Alicia", "firstName after update_user")
    check_eq(user.get("username"), "alice", "username after update_user")
    check_eq(user.get("enabled"), True, "enabled after update_user")
    admin.set_user_password(user_id, "N3w-pass!", temporary=False)
    ok("users")

    # ---- 8. role mappings -----------------------------------------------------------------
    step("role mappings")
    auditor = admin.get_realm_role("auditor")
    admin.assign_realm_roles(user_id, [auditor])
    check("auditor" in role_names(admin.get_realm_roles_of_user(user_id)),
          "get_realm_roles_of_user() lacks auditor after assign_realm_roles")
    reader = admin.get_client_role(svc_id, "reader")
    admin.assign_client_role(user_id, svc_id, [reader])
    check("reader" in role_names(admin.get_client_roles_of_user(user_id, svc_id)),
          "get_client_roles_of_user() lacks reader after assign_client_role")
    admin.delete_realm_roles_of_user(user_id, [auditor])
    check("auditor" not in role_names(admin.get_realm_roles_of_user(user_id)),
          "auditor still mapped after delete_realm_roles_of_user")
    admin.delete_client_roles_of_user(user_id, svc_id, [reader])
    check("reader" not in role_names(admin.get_client_roles_of_user(user_id, svc_id)),
          "reader still mapped after delete_client_roles_of_user")
    admin.assign_realm_roles(sa_user_id, [auditor])
    check("auditor" in role_names(admin.get_realm_roles_of_user(sa_user_id)),
          "service-account-svc lacks auditor after assign_realm_roles")
    ok("role mappings")

    # ---- 9. groups ------------------------------------------------------------------------
    step("groups")
    group_id = admin.create_group({"name": "team"})
    check(isinstance(group_id, str) and group_id and "/" not in group_id,
          f"create_group returned {group_id!r} (id from the Location header)")
    groups = admin.get_groups()
    check(group_id in ids(groups), f"get_groups() lacks team: {groups!r}")
    group = admin.get_group(group_id)
    check_eq(group.get("name"), "team", "get_group().name")
    check_eq(group.get("path"), "/team", "get_group().path")
    admin.group_user_add(user_id, group_id)
    members = admin.get_group_members(group_id)
    check("alice" in [m.get("username") for m in members],
          f"get_group_members() lacks alice: {members!r}")
    check(group_id in ids(admin.get_user_groups(user_id)), "get_user_groups() lacks team")
    admin.group_user_remove(user_id, group_id)
    check("alice" not in [m.get("username") for m in admin.get_group_members(group_id)],
          "alice is still a member after group_user_remove")
    check(group_id not in ids(admin.get_user_groups(user_id)),
          "get_user_groups() still lists team after group_user_remove")
    admin.delete_group(group_id)
    check(group_id not in ids(admin.get_groups()), "get_groups() still lists deleted team")
    expect_error(lambda: admin.get_group(group_id), KeycloakGetError, 404,
                 "get_group of a deleted group")
    ok("groups")

    # ---- 10. client_credentials token, discovery, keys, token verification ----------------
    step("client credentials")
    svc = KeycloakOpenID(server_url=server_url, realm_name=realm, client_id="svc",
                         client_secret_key=svc_secret)
    token = svc.token(grant_type="client_credentials")
    access_token = token.get("access_token")
    check(isinstance(access_token, str) and access_token.count(".") == 2,
          f"client_credentials response has no JWT access_token: {token!r}")
    check(str(token.get("token_type", "")).lower() == "bearer",
          f"token_type is not Bearer: {token.get('token_type')!r}")
    check(isinstance(token.get("expires_in"), int) and token["expires_in"] > 0,
          f"expires_in is not a positive integer: {token.get('expires_in')!r}")
    well_known = svc.well_known()
    issuer = well_known.get("issuer")
    check(isinstance(issuer, str) and issuer.endswith(f"/realms/{realm}"),
          f"well_known().issuer does not end with /realms/{realm}: {issuer!r}")
    for field in ("token_endpoint", "jwks_uri"):
        check(well_known.get(field), f"well_known() lacks {field}")
    certs = svc.certs()
    keys = certs.get("keys")
    check(isinstance(keys, list) and keys, f"certs() has no keys: {certs!r}")
    for key in keys:
        check(key.get("kty") and key.get("kid"), f"certs() key without kty/kid: {key!r}")
    claims = svc.decode_token(access_token)  # validate=True: fetches certs(), checks signature
    check_eq(claims.get("azp"), "svc", "access token azp")
    check_eq(claims.get("preferred_username"), "service-account-svc",
             "access token preferred_username")
    check_eq(claims.get("sub"), sa_user_id, "access token sub (service-account user id)")
    check(claims.get("iss", "").endswith(f"/realms/{realm}"),
          f"access token iss does not end with /realms/{realm}: {claims.get('iss')!r}")
    check_eq(claims.get("iss"), issuer, "access token iss vs well_known().issuer")
    realm_roles = (claims.get("realm_access") or {}).get("roles") or []
    check("auditor" in realm_roles, f"access token realm_access.roles lacks auditor: {claims!r}")
    check(isinstance(claims.get("exp"), int) and claims["exp"] > time.time(),
          f"access token exp is not a future integer: {claims.get('exp')!r}")
    # The realm's published public key (GET /realms/{realm}) as python-keycloak's docs use it.
    pem = ("-----BEGIN PUBLIC KEY-----\n" + svc.public_key() + "\n-----END PUBLIC KEY-----")
    pem_key = jwk.JWK.from_pem(pem.encode())
    check_eq(svc.decode_token(access_token, key=pem_key), claims,
             "claims of the token verified with the PEM built from public_key()")
    stale = KeycloakOpenID(server_url=server_url, realm_name=realm, client_id="svc",
                           client_secret_key=first_secret)
    expect_error(lambda: stale.token(grant_type="client_credentials"),
                 KeycloakAuthenticationError, 401,
                 "client_credentials with the secret replaced by generate_client_secrets")
    ok("client credentials")

    # ---- 11. password grant ---------------------------------------------------------------
    step("password grant")
    cli_id = admin.create_client(
        {"clientId": "cli", "publicClient": True, "directAccessGrantsEnabled": True})
    check(isinstance(cli_id, str) and cli_id, f"create_client(cli) returned {cli_id!r}")
    cli = KeycloakOpenID(server_url=server_url, realm_name=realm, client_id="cli")
    token = cli.token("alice", "N3w-pass!")
    check(token.get("access_token"), f"password grant returned no access_token: {token!r}")
    claims = cli.decode_token(token["access_token"])
    check_eq(claims.get("preferred_username"), "alice", "password-grant token preferred_username")
    check_eq(claims.get("azp"), "cli", "password-grant token azp")
    check_eq(claims.get("sub"), user_id, "password-grant token sub")
    if token.get("refresh_token"):
        # KeycloakOpenIDConnection relies on this grant to renew admin tokens.
        refreshed = cli.refresh_token(token["refresh_token"])
        check(refreshed.get("access_token"), f"refresh_token grant failed: {refreshed!r}")
    expect_error(lambda: cli.token("alice", "wrong"), KeycloakAuthenticationError, 401,
                 "password grant with a wrong password")
    expect_error(lambda: cli.token("alice", "S3cret-pass!"), KeycloakAuthenticationError, 401,
                 "password grant with the password replaced by set_user_password")
    expect_error(lambda: svc.token("alice", "N3w-pass!"), KeycloakPostError, 400,
                 "password grant on svc (directAccessGrantsEnabled false)")
    ok("password grant")

    # ---- 11b. userinfo, introspection, logout ---------------------------------------------
    step("userinfo, introspection, logout")
    session = cli.token("alice", "N3w-pass!")
    info = cli.userinfo(session["access_token"])
    check_eq(info.get("sub"), user_id, "userinfo sub")
    check_eq(info.get("preferred_username"), "alice", "userinfo preferred_username")
    described = svc.introspect(session["access_token"])
    check_eq(described.get("active"), True, "introspection of a live access token")
    check_eq(described.get("client_id"), "cli", "introspection client_id")
    check_eq(described.get("username"), "alice", "introspection username")
    check_eq(described.get("sub"), user_id, "introspection sub")
    check_eq(svc.introspect(session["refresh_token"], token_type_hint="refresh_token").get("active"),
             True, "introspection of a live refresh token")
    cli.logout(session["refresh_token"])  # Keycloak's back-channel logout: 204
    check_eq(svc.introspect(session["access_token"]), {"active": False},
             "introspection of an access token after logout")
    expect_error(lambda: cli.userinfo(session["access_token"]), KeycloakAuthenticationError, 401,
                 "userinfo after logout")
    expect_error(lambda: cli.refresh_token(session["refresh_token"]), KeycloakPostError, 400,
                 "refresh after logout")
    ok("userinfo, introspection, logout")

    # ---- 12. deletes ----------------------------------------------------------------------
    step("deletes")
    admin.delete_user(user_id)
    expect_error(lambda: admin.get_user(user_id), KeycloakGetError, 404,
                 "get_user of a deleted user")
    check_eq(admin.get_user_id("alice"), None, "get_user_id of a deleted user")
    admin.delete_client(svc_id)
    expect_error(lambda: admin.get_client(svc_id), KeycloakGetError, 404,
                 "get_client of a deleted client")
    check_eq(admin.get_client_id("svc"), None, "get_client_id of a deleted client")
    admin.delete_client(cli_id)
    admin.delete_realm_role("auditor")
    expect_error(lambda: admin.get_realm_role("auditor"), KeycloakGetError, 404,
                 "get_realm_role of a deleted role")
    ok("deletes")

    step("realm delete")
    admin.change_current_realm("master")
    admin.delete_realm(realm)
    check(realm not in names_of_realms(admin.get_realms()),
          f"get_realms() still lists {realm} after delete_realm")
    expect_error(lambda: admin.get_realm(realm), KeycloakGetError, 404,
                 "get_realm of a deleted realm")
    ok("realm delete")


def names_of_realms(realms: list) -> list:
    return [r.get("realm") for r in realms]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-url", required=True,
                        help="base URL of the server, e.g. http://127.0.0.1:8080/")
    parser.add_argument("--admin-username", required=True)
    parser.add_argument("--admin-password", required=True)
    args = parser.parse_args()

    version = importlib.metadata.version("python-keycloak")
    note = "" if version == TESTED_LIBRARY_VERSION else f" (written against {TESTED_LIBRARY_VERSION})"
    print(f"python-keycloak {version}{note}", flush=True)
    try:
        run(args)
    except CheckFailed as err:
        print(f"compat: FAILED in step {CURRENT_STEP}: {err}", flush=True)
        return 1
    except KeycloakError as err:
        # An unexpected HTTP status (or no connection): the library raised instead of returning.
        traceback.print_exc(file=sys.stdout)
        body = err.response_body
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        print(f"compat: FAILED in step {CURRENT_STEP}: {type(err).__name__}: "
              f"HTTP {err.response_code}, body {body if body is not None else err.error_message!r}",
              flush=True)
        return 1
    except Exception as err:  # noqa: BLE001 - e.g. the library's TypeError on a wrong body shape
        traceback.print_exc(file=sys.stdout)
        print(f"compat: FAILED in step {CURRENT_STEP}: {type(err).__name__}: {err}", flush=True)
        return 1
    print("compat: ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

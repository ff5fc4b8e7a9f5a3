#!/usr/bin/env bash
# glewlwyd 2.7 (Debian 12's package) as a second, independent OpenID Provider for interop tests and local dev.
# Nothing is installed system-wide: the .deb files are extracted into target/glewlwyd/root (no service, no
# debconf questions), each instance gets its own SQLite database and RSA key under a work directory, and the
# OIDC plugin, scopes, test user and client are configured through glewlwyd's admin API.
#
#   glewlwyd.sh install                         extract the packages (idempotent, ~2 s once)
#   glewlwyd.sh prepare DIR PORT                database, key and glewlwyd.conf in DIR (127.0.0.1:PORT)
#   glewlwyd.sh exec DIR                        run glewlwyd in the foreground (exec: the PID stays the server's)
#   glewlwyd.sh configure URL REDIRECT_URIS [POST_LOGOUT_URIS] [BACKCHANNEL_URI]
#                                               plugin `oidc`, scopes, user alice, client hybrid-spa (URIs space-separated)
#   glewlwyd.sh run PORT REDIRECT_URIS [POST_LOGOUT_URIS]    all of the above, for local dev; Ctrl-C stops it
#
# The issuer is URL/api/oidc. Admin: admin / password (Debian's initial database). User: alice / alice-password
# (zoneinfo Europe/London, an on-demand claim: at userinfo when the `claims` parameter asks for it).
# Client: hybrid-spa, confidential, secret $GLEWLWYD_CLIENT_SECRET (default the dev BFF's secret).
# Consent: glewlwyd's login page asks the user to grant the scopes to the client (remembered per user); the tests
# grant through the API that page uses (PUT /api/auth/grant/hybrid-spa), not by clicking through its JS pages.
# Userinfo accepts the client's access tokens (scope openid), for every response type.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
ROOT="${GLEWLWYD_ROOT:-$REPO/target/glewlwyd/root}"
CLIENT_SECRET="${GLEWLWYD_CLIENT_SECRET:-dev-only-hybrid-secret-0123456789}"
PACKAGES=(glewlwyd glewlwyd-common libconfig9 libhoel1.4 libiddawc1.1 liboath0 liborcania2.3 librhonabwy1.1
  libulfius2.7 libyder2.0 libmicrohttpd12 libmariadb3 mariadb-common
  fonts-fork-awesome libjs-jquery libjs-bootstrap4 libjs-popper.js)  # the last four: its login page's assets
say() { printf '[glewlwyd] %s\n' "$*" >&2; }

cmd_install() {
  if [ -x "$ROOT/usr/bin/glewlwyd" ] && [ -f "$ROOT/usr/share/javascript/jquery/jquery.min.js" ] && [ ! -L "$ROOT/usr/share/glewlwyd/webapp/js/jquery.min.js" ]; then return 0; fi
  local debs="$REPO/target/glewlwyd/debs"
  mkdir -p "$debs"
  say "apt-get download ${PACKAGES[*]}"
  download() { (cd "$debs" && apt-get download -q "${PACKAGES[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2; exit "${PIPESTATUS[0]}"); }
  if ! download; then
    # No package lists yet (a fresh machine): fetch them once, then retry.
    if [ "$(id -u)" -eq 0 ]; then apt-get update -q >&2; else sudo apt-get update -q >&2; fi
    download
  fi
  local tmp="$ROOT.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$tmp"; done
  [ -x "$tmp/usr/bin/glewlwyd" ] || { say "extraction failed"; exit 1; }
  # The login page's settings: a symlink into /etc in the package, a real file here (its "./" API URL fits any port).
  rm -f "$tmp/usr/share/glewlwyd/webapp/config.json"
  cp "$tmp/etc/glewlwyd/config-2.7.json/config.json" "$tmp/usr/share/glewlwyd/webapp/config.json"
  # Its assets are symlinks into other packages (jquery, bootstrap, fonts), which glewlwyd does not serve: copies.
  cp -rL "$tmp/usr/share/glewlwyd/webapp" "$tmp/webapp" && rm -rf "$tmp/usr/share/glewlwyd/webapp"
  mv "$tmp/webapp" "$tmp/usr/share/glewlwyd/webapp"
  rm -rf "$ROOT" && mv "$tmp" "$ROOT"
}

cmd_prepare() {
  local dir="$1" port="$2"
  [ -x "$ROOT/usr/bin/glewlwyd" ] || { say "not extracted: run $0 install (scripts/install does)"; exit 1; }
  mkdir -p "$dir"
  rm -f "$dir/glewlwyd.db"
  zcat "$ROOT/usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz" | sqlite3 "$dir/glewlwyd.db"
  [ -s "$dir/key.pem" ] || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/key.pem" 2>/dev/null
  openssl pkey -in "$dir/key.pem" -pubout -out "$dir/cert.pem"
  sed -e "s|@PORT@|$port|g" -e "s|@DIR@|$dir|g" -e "s|@ROOT@|$ROOT|g" \
    "$HERE/glewlwyd.conf.in" >"$dir/glewlwyd.conf"
}

cmd_exec() {
  local dir="$1"
  export LD_LIBRARY_PATH="$ROOT/usr/lib/x86_64-linux-gnu:$ROOT/usr/lib/x86_64-linux-gnu/libmariadb3${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  exec "$ROOT/usr/bin/glewlwyd" --config-file="$dir/glewlwyd.conf"
}

cmd_configure() {
  local url="${1%/}" redirects="$2" logouts="${3:-}" backchannel="${4:-}"
  local jar; jar="$(mktemp)"; trap 'rm -f "$jar"' RETURN
  api() { # METHOD PATH [JSON]
    local out code
    out="$(curl -sS -o /dev/stdout -w '\n%{http_code}' -b "$jar" -c "$jar" -X "$1" \
      -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$url/api$2")"
    code="${out##*$'\n'}"
    case "$code" in 2??) ;; *) say "$1 $2 -> HTTP $code: ${out%$'\n'*}"; return 1 ;; esac
  }
  local dir key cert
  # Opt-in per instance, so the tests of the defaults meet the OP they were written against.
  local par="${GLEWLWYD_PAR:-false}" dpop="${GLEWLWYD_DPOP:-false}"
  api POST /auth/ '{"username":"admin","password":"password"}'
  key="$(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$GLEWLWYD_DIR/key.pem")"
  cert="$(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$GLEWLWYD_DIR/cert.pem")"
  api POST /scope/ '{"name":"profile","display_name":"Profile","description":"name","password_required":false}'
  api POST /scope/ '{"name":"email","display_name":"E-mail","description":"e-mail address","password_required":false}'
  # oauth-dpop-iat-gap-duration: how many seconds a DPoP proof's `iat` may be ahead of glewlwyd's clock. Unset it is
  # 0 (protocol_oidc.c, oidc_verify_dpop_proof: "Invalid iat" when iat - gap > time(NULL)), and glibc's time() reads
  # the kernel's coarse clock, which reaches the next second up to one tick (a few ms) after the precise clock the
  # BFF's `iat` comes from. So a proof signed in a second's first milliseconds and checked at once was refused
  # ("Security - DPoP invalid", userinfo "unavailable"): 0.46% of instants here, even on one machine. RFC 9449 11.1
  # has servers allow for clock skew; 5 s of it still refuses a proof from the future.
  api POST /mod/plugin/ "$(cat <<JSON
{"module":"oidc","name":"oidc","display_name":"OpenID Connect","enabled":true,"parameters":{
 "iss":"$url/api/oidc","jwt-type":"rsa","jwt-key-size":"256","key":$key,"cert":$cert,
 "access-token-duration":3600,"refresh-token-duration":1209600,"code-duration":600,"refresh-token-rolling":true,
 "allow-non-oidc":true,"auth-type-code-enabled":true,"auth-type-token-enabled":true,"auth-type-id-token-enabled":true,
 "auth-type-none-enabled":true,"auth-type-password-enabled":false,"auth-type-client-enabled":true,
 "auth-type-device-enabled":false,"auth-type-refresh-enabled":true,"scope":[],"additional-parameters":[],
 "claims":[{"name":"zoneinfo","user-property":"zoneinfo","type":"string","boolean-value-true":"","boolean-value-false":"",
   "mandatory":false,"on-demand":true,"scope":[]}],
 "service-documentation":"https://github.com/babelouest/glewlwyd/tree/master/docs","jwks-show":true,"jwks-x5c":[],
 "request-parameter-allow":true,"address-claim":{"type":"no"},
 "name-claim":"mandatory","name-claim-scope":["profile"],"email-claim":"mandatory","email-claim-scope":["email"],
 "scope-claim":"no","allowed-scope":["openid","profile","email"],
 "pkce-allowed":true,"pkce-method-plain-allowed":false,"pkce-required":false,
 "introspection-revocation-allowed":true,"introspection-revocation-auth-scope":[],"introspection-revocation-allow-target-client":true,
 "register-client-allowed":false,"session-management-allowed":true,"session-cookie-name":"GLEWLWYD2_OIDC_SID",
 "session-cookie-expiration":2419200,"front-channel-logout-allowed":false,"back-channel-logout-allowed":true,
 "request-maximum-exp":3600,"encrypt-out-token-allow":false,"resource-allowed":false,
 "oauth-dpop-allowed":$dpop,"oauth-dpop-iat-duration":60,"oauth-dpop-iat-gap-duration":5,"oauth-dpop-nonce-counter":1000000,"oauth-dpop-nonce-mandatory":false,
 "oauth-par-allowed":$par,"oauth-par-required":false,"oauth-par-duration":90,"oauth-par-request_uri-prefix":"urn:ietf:params:oauth:request_uri:",
 "client-jwks-parameter":"jwks","client-jwks_uri-parameter":"jwks_uri",
 "oauth-rar-allowed":false,"oauth-ciba-allowed":false}}
JSON
)"
  # RP-initiated logout reads the client's `post_logout_redirect_uris` (a list), but Debian's initial client
  # backend only knows `post_logout_redirect_uri` (one string): teach it the list, then reload it.
  local module
  module="$(curl -sS -b "$jar" "$url/api/mod/client/database" | python3 -c '
import json, sys
m = json.load(sys.stdin)
m["parameters"]["data-format"]["post_logout_redirect_uris"] = {"multiple": True, "read": True, "write": True}
print(json.dumps(m))')"
  api PUT /mod/client/database "$module"
  api PUT /mod/client/database/reset
  # A user property `zoneinfo` for the on-demand claim of the same name (plugin above): released only when a
  # `claims` request parameter asks for it, e.g. {"userinfo":{"zoneinfo":null}}, so it is at userinfo and in no
  # ID token. The user backend must know the property first.
  module="$(curl -sS -b "$jar" "$url/api/mod/user/database" | python3 -c '
import json, sys
m = json.load(sys.stdin)
m["parameters"]["data-format"]["zoneinfo"] = {"multiple": False, "read": True, "write": True, "profile-read": True, "profile-write": False}
print(json.dumps(m))')"
  api PUT /mod/user/database "$module"
  api PUT /mod/user/database/reset
  api POST /user/ '{"username":"alice","name":"Alice Liddell","email":"alice@example.com","zoneinfo":"Europe/London","password":"alice-password","scope":["openid","profile","email"],"enabled":true}'
  local client
  client="$(python3 - "$redirects" "$logouts" "$backchannel" "$CLIENT_SECRET" <<'PY'
import json, sys
redirects, logouts, backchannel, secret = sys.argv[1:5]
c = {"client_id": "hybrid-spa", "name": "Hybrid SPA (BFF)", "description": "", "confidential": True,
     "password": secret, "enabled": True, "scope": [],
     "redirect_uri": redirects.split(),
     "authorization_type": ["code", "token", "id_token", "refresh_token", "delete_token"],
     "token_endpoint_auth_method": ["client_secret_basic", "client_secret_post"],
}
if logouts.split():
    c["post_logout_redirect_uris"] = logouts.split()
if backchannel:
    c["backchannel_logout_uri"] = backchannel
print(json.dumps(c))
PY
)"
  api POST /client/ "$client"
  # A second client, hybrid-spa-jwt, authenticating with private_key_jwt against the keys at
  # $GLEWLWYD_JWT_CLIENT_JWKS_URI (the BFF's /bff/jwks.json), when set.
  [ -n "${GLEWLWYD_JWT_CLIENT_JWKS_URI:-}" ] || return 0
  client="$(python3 - "$client" "$GLEWLWYD_JWT_CLIENT_JWKS_URI" <<'PY'
import json, sys
c = json.loads(sys.argv[1])
c.update(client_id="hybrid-spa-jwt", name="Hybrid SPA (BFF, private_key_jwt)", confidential=True,
         token_endpoint_auth_method=["private_key_jwt"], jwks_uri=sys.argv[2])
c.pop("password", None)
print(json.dumps(c))
PY
)"
  api POST /client/ "$client"
}

cmd_run() {
  local port="$1" redirects="$2" logouts="${3:-}"
  local dir="$REPO/target/glewlwyd/dev-$port"
  cmd_install
  cmd_prepare "$dir" "$port"
  "$0" exec "$dir" &
  local pid=$!
  trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null' EXIT INT TERM
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/api/" && break; sleep 0.1; done
  GLEWLWYD_DIR="$dir" cmd_configure "http://127.0.0.1:$port" "$redirects" "$logouts"
  say "issuer http://127.0.0.1:$port/api/oidc (alice / alice-password); Ctrl-C stops"
  wait "$pid"
}

case "${1:-}" in
  install) cmd_install ;;
  prepare) shift; cmd_prepare "$@" ;;
  exec) shift; cmd_exec "$@" ;;
  configure) shift; : "${GLEWLWYD_DIR:?set GLEWLWYD_DIR to the prepared directory}"; cmd_configure "$@" ;;
  run) shift; cmd_run "$@" ;;
  *) sed -n '2,19p' "$0"; exit 2 ;;
esac

#!/usr/bin/env bash
# Smoke test of the dev OP + demo API with curl only (no browser).
# Needs: the OP started with OP_AUTO_LOGIN=1, the demo API running, curl, node, openssl.
# Usage: dev/op/smoke-test.sh            (defaults match the server defaults)
set -euo pipefail

OP=${OP_ISSUER:-http://127.0.0.1:9090}
API=${DEMO_API:-http://127.0.0.1:4001}
SECRET=${OP_CLIENT_SECRET:-dev-only-hybrid-secret-0123456789}
REDIRECT=${REDIRECT_URI:-http://localhost:3000/callback}
JAR=$(mktemp); trap 'rm -f "$JAR"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }
urlenc() { node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$1"; }
b64url() { base64 | tr '+/' '-_' | tr -d '=\n'; }
# jwt_claim <jwt> <part 0|1> <claim>  -> value ('' if absent)
jwt_claim() {
  node -e 'const [t,i,c]=process.argv.slice(1);const v=JSON.parse(Buffer.from(t.split(".")[+i],"base64url"))[c];process.stdout.write(v===undefined?"":typeof v==="string"?v:JSON.stringify(v))' "$1" "$2" "$3"
}
# param <query-or-fragment> <name>
param() { node -e 'process.stdout.write(new URLSearchParams(process.argv[1]).get(process.argv[2])??"")' "$1" "$2"; }
json() { node -e 'const v=JSON.parse(process.argv[1])[process.argv[2]];process.stdout.write(v===undefined?"":typeof v==="string"?v:JSON.stringify(v))' "$1" "$2"; }

# authorize <response_type> <client_id> <scope> <login_hint>  -> sets LOC (final redirect), STATE, NONCE, VERIFIER,
# CONSENTED (1 if the consent page was shown and approved, else 0)
# Follows the redirect chain by hand (auto-login makes the login a redirect); a consent page (the first sign-in of
# a user to a client) is approved as a person would: its Allow button's form posted.
authorize() {
  local rt=$1 cid=$2 scope=$3 hint=$4
  VERIFIER=$(head -c 32 /dev/urandom | b64url)
  local challenge; challenge=$(printf %s "$VERIFIER" | openssl dgst -sha256 -binary | b64url)
  STATE=st-$RANDOM; NONCE=n-$RANDOM; CONSENTED=0
  local url="$OP/auth?response_type=$(urlenc "$rt")&client_id=$cid&redirect_uri=$(urlenc "$REDIRECT")&scope=$(urlenc "$scope")&state=$STATE&nonce=$NONCE&code_challenge=$challenge&code_challenge_method=S256&resource=$(urlenc urn:demo-api)&login_hint=$hint"
  local loc body
  body=$(mktemp)
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    loc=$(curl -s -o "$body" -D - -b "$JAR" -c "$JAR" "$url" | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
    if [ -z "$loc" ] && grep -q 'data-testid="consent-approve"' "$body"; then
      local action; action=$(sed -n 's/.*<form method="post" action="\([^"]*\/confirm\)".*/\1/p' "$body")
      [ -n "$action" ] || fail "consent page without an Allow form"
      CONSENTED=1; CONSENT_PAGE=$(cat "$body")
      loc=$(curl -s -o /dev/null -D - -b "$JAR" -c "$JAR" --data-urlencode consent=approve "$OP$action" | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
    fi
    [ -n "$loc" ] || { rm -f "$body"; fail "no redirect from $url"; }
    case "$loc" in "$REDIRECT"*) LOC=$loc; rm -f "$body"; return;; /*) url="$OP$loc";; *) url="$loc";; esac
  done
  rm -f "$body"
  fail "redirect chain too long"
}

# 1. discovery
DISC=$(curl -sf "$OP/.well-known/openid-configuration")
for rt in "code id_token" "code token" "code id_token token"; do
  node -e 'process.exit(JSON.parse(process.argv[1]).response_types_supported.includes(process.argv[2])?0:1)' "$DISC" "$rt" || fail "discovery lacks $rt"
done
ok "discovery lists code id_token, code token, code id_token token"

# 2. code id_token
authorize "code id_token" hybrid-spa "openid profile email offline_access api:read" bob
FRAG=${LOC#*#}
CODE=$(param "$FRAG" code); IDT=$(param "$FRAG" id_token)
[ -n "$CODE" ] && [ -n "$IDT" ] && [ "$(param "$FRAG" state)" = "$STATE" ] || fail "code id_token fragment: $FRAG"
[ "$(jwt_claim "$IDT" 1 name)" = "Bob Example" ] || fail "front-channel id_token has no name"
[ "$(jwt_claim "$IDT" 1 nonce)" = "$NONCE" ] || fail "nonce"
[ -n "$(jwt_claim "$IDT" 1 c_hash)" ] || fail "c_hash"
[ "$(jwt_claim "$IDT" 0 alg)" = "RS256" ] || fail "alg"
[ "$CONSENTED" = 1 ] || fail "the first sign-in of bob did not show the consent page"
for sc in openid profile email api:read; do
  printf %s "$CONSENT_PAGE" | grep -q "data-scope=\"$sc\"" || fail "the consent page does not list $sc"
done
[ -z "$(jwt_claim "$IDT" 1 zoneinfo)" ] || fail "zoneinfo is for userinfo only, not the ID token"
ok "code id_token: consent page shown and approved; fragment has code, id_token, state; id_token name=Bob Example, nonce, c_hash, RS256, no zoneinfo (iss param: '$(param "$FRAG" iss)')"

# 3. token endpoint, client_secret_basic (id and secret form-urlencoded first)
TOK=$(curl -s -u "$(urlenc hybrid-spa):$(urlenc "$SECRET")" \
  --data-urlencode grant_type=authorization_code --data-urlencode "code=$CODE" \
  --data-urlencode "code_verifier=$VERIFIER" --data-urlencode "redirect_uri=$REDIRECT" \
  --data-urlencode resource=urn:demo-api "$OP/token")
AT=$(json "$TOK" access_token); RT=$(json "$TOK" refresh_token); TIDT=$(json "$TOK" id_token)
[ -n "$AT" ] && [ -n "$RT" ] && [ -n "$TIDT" ] || fail "token response: $(json "$TOK" error) $(json "$TOK" error_description)"
[ "$(jwt_claim "$AT" 1 aud)" = "urn:demo-api" ] && [ "$(jwt_claim "$AT" 0 typ)" = "at+jwt" ] || fail "access token aud/typ"
ok "token (basic): access_token JWT aud=urn:demo-api typ=at+jwt scope='$(json "$TOK" scope)', refresh_token, id_token (at_hash: '$(jwt_claim "$TIDT" 1 at_hash)')"

# 4. demo API
R=$(curl -s -w ' %{http_code}' -H "Authorization: Bearer $AT" "$API/hello")
[ "${R##* }" = 200 ] && [ "$(json "${R% *}" sub)" = bob ] || fail "demo API with token: $R"
ok "demo API with token: $R"
R=$(curl -s -w ' %{http_code}' "$API/hello"); [ "${R##* }" = 401 ] || fail "no token: $R"; ok "demo API without token: $R"
R=$(curl -s -w ' %{http_code}' -H 'Authorization: Bearer garbage' "$API/hello"); [ "${R##* }" = 401 ] || fail "garbage: $R"; ok "demo API garbage token: $R"

# 4b. what the dev BFF configuration does (bff/config/dev.toml: no [oidc] resource, apis.demo.resource): the sign-in
# names urn:demo-api, the code is redeemed without a resource -> an opaque access token for the OP, accepted at
# userinfo; the demo API's JWT comes from the refresh token with resource=urn:demo-api.
authorize "code id_token" hybrid-spa "openid profile email offline_access api:read" bob
[ "$CONSENTED" = 0 ] || fail "consent asked again on bob's second sign-in"
FRAG=${LOC#*#}
TOK=$(curl -s -u "hybrid-spa:$(urlenc "$SECRET")" \
  --data-urlencode grant_type=authorization_code --data-urlencode "code=$(param "$FRAG" code)" \
  --data-urlencode "code_verifier=$VERIFIER" --data-urlencode "redirect_uri=$REDIRECT" "$OP/token")
OPAT=$(json "$TOK" access_token); ORT=$(json "$TOK" refresh_token)
[ -n "$OPAT" ] && [ -n "$ORT" ] || fail "token response without resource: $(json "$TOK" error) $(json "$TOK" error_description)"
case "$OPAT" in eyJ*.*.*) fail "the OP's own access token should be opaque";; esac
R=$(curl -s -w ' %{http_code}' -H "Authorization: Bearer $OPAT" "$OP/me")
[ "${R##* }" = 200 ] && [ "$(json "${R% *}" sub)" = bob ] && [ "$(json "${R% *}" zoneinfo)" = Europe/Paris ] || fail "userinfo with the OP's token: $R"
ok "token without resource: opaque access token (scope '$(json "$TOK" scope)') accepted at userinfo: $(json "${R% *}" name), zoneinfo $(json "${R% *}" zoneinfo)"
R=$(curl -s -w ' %{http_code}' -H "Authorization: Bearer $OPAT" "$API/hello"); [ "${R##* }" = 401 ] || fail "the demo API took the OP's token: $R"
R=$(curl -s -w ' %{http_code}' -H "Authorization: Bearer $AT" "$OP/me"); [ "${R##* }" = 401 ] || fail "userinfo took the demo API's JWT: $R"
ok "the demo API refuses the OP's token, userinfo refuses the demo API's JWT"
TOK=$(curl -s -u "hybrid-spa:$(urlenc "$SECRET")" --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$ORT" \
  --data-urlencode resource=urn:demo-api "$OP/token")
DAT=$(json "$TOK" access_token)
[ "$(jwt_claim "$DAT" 1 aud)" = "urn:demo-api" ] && [ "$(json "$TOK" scope)" = "api:read" ] || fail "refresh for urn:demo-api: $TOK"
R=$(curl -s -w ' %{http_code}' -H "Authorization: Bearer $DAT" "$API/hello")
[ "${R##* }" = 200 ] && [ "$(json "${R% *}" sub)" = bob ] || fail "demo API with the token from the refresh: $R"
ok "refresh with resource=urn:demo-api: JWT aud=urn:demo-api scope=api:read, accepted by the demo API"

# 5. refresh (rotation) with client_secret_basic
TOK2=$(curl -s -u "hybrid-spa:$(urlenc "$SECRET")" --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$RT" "$OP/token")
RT2=$(json "$TOK2" refresh_token)
[ -n "$(json "$TOK2" access_token)" ] && [ -n "$RT2" ] && [ "$RT2" != "$RT" ] || fail "refresh: $TOK2"
R=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(json "$TOK2" access_token)" "$OP/me")
[ "$R" = 200 ] || fail "refreshed without resource: not the OP's own token (userinfo $R)"
R=$(curl -s -u "hybrid-spa:$(urlenc "$SECRET")" --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$RT" "$OP/token")
[ "$(json "$R" error)" = invalid_grant ] || fail "old refresh token still works: $R"
ok "refresh without resource: new access token for the OP (userinfo accepts it), rotated refresh token, old one rejected"

# 6. code token / code id_token token, client_secret_post client
# Same cookie jar = same OP session (bob): login_hint only matters when there is no session.
authorize "code token" hybrid-spa-post "openid profile email api:read" bob; FRAG=${LOC#*#}
[ -n "$(param "$FRAG" code)" ] && [ -n "$(param "$FRAG" access_token)" ] && [ -z "$(param "$FRAG" id_token)" ] || fail "code token: $FRAG"
[ "$(jwt_claim "$(param "$FRAG" access_token)" 1 aud)" = "urn:demo-api" ] || fail "front-channel access token aud"
TOK=$(curl -s --data-urlencode client_id=hybrid-spa-post --data-urlencode "client_secret=$SECRET" \
  --data-urlencode grant_type=authorization_code --data-urlencode "code=$(param "$FRAG" code)" \
  --data-urlencode "code_verifier=$VERIFIER" --data-urlencode "redirect_uri=$REDIRECT" "$OP/token")
[ -n "$(json "$TOK" id_token)" ] || fail "token (post): $TOK"
case "$(json "$TOK" scope)" in *openid*) ;; *) fail "no resource at /token: a token for the OP (scope openid ...): $TOK";; esac
ok "code token: fragment keys [$(node -e 'process.stdout.write([...new URLSearchParams(process.argv[1]).keys()].join(","))' "$FRAG")]; token (post, no resource param): the OP's own token, scope '$(json "$TOK" scope)'"

authorize "code id_token token" hybrid-spa "openid profile email" bob; FRAG=${LOC#*#}
IDT=$(param "$FRAG" id_token)
[ -n "$(param "$FRAG" code)" ] && [ -n "$(param "$FRAG" access_token)" ] && [ -n "$IDT" ] || fail "code id_token token: $FRAG"
[ -n "$(jwt_claim "$IDT" 1 at_hash)" ] && [ -n "$(jwt_claim "$IDT" 1 c_hash)" ] || fail "at_hash/c_hash"
ok "code id_token token: fragment keys [$(node -e 'process.stdout.write([...new URLSearchParams(process.argv[1]).keys()].join(","))' "$FRAG")]; id_token has at_hash and c_hash, name=$(jwt_claim "$IDT" 1 name)"

# 7. RP-initiated logout (test mode: the confirm form auto-submits; curl posts it by hand)
HTML=$(curl -s -b "$JAR" -c "$JAR" "$OP/session/end?id_token_hint=$IDT&post_logout_redirect_uri=$(urlenc http://localhost:3000/)&state=bye")
XSRF=$(printf %s "$HTML" | sed -n 's/.*name="xsrf" value="\([^"]*\)".*/\1/p')
[ -n "$XSRF" ] || fail "no logout form"
LOC=$(curl -s -o /dev/null -D - -b "$JAR" -c "$JAR" --data-urlencode "xsrf=$XSRF" --data-urlencode logout=yes "$OP/session/end/confirm" | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
[ "$LOC" = "http://localhost:3000/?state=bye" ] || fail "logout redirect: $LOC"
ok "logout -> $LOC"

# 8. token counter (test mode only)
ok "stats: $(curl -s "$OP/__test/stats")"
echo "ALL OK"

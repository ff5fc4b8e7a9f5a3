//! The BFF against a second, independent OP: glewlwyd 2.7 (Debian's package), for every hybrid response type.
//! Its quirks are met by configuration, not by weaker checks: `response_mode=fragment` (the BFF always sends
//! it), `allow-non-oidc` for the `token` types (setup script), response types spelled in another order and
//! `code token` missing from discovery (the BFF compares as sets and only warns), an opaque `sub`, lowercase
//! `bearer`, access tokens whose `aud` is the scope string (the demo API is told so), logout tokens without
//! `exp` (accepted only because the setup sets `oidc.logout_token_exp_optional`).

use hybrid_e2e::authorize::BffClient;
use hybrid_e2e::browser::Browser;
use hybrid_e2e::client_keys::{p256_pem, private_key_jwt_toml};
use hybrid_e2e::glewlwyd::Glewlwyd;
use hybrid_e2e::stack::{serve_spa_toml, start_bff_on, BffHandle, Process};
use hybrid_e2e::{free_port, wait_for};
use serde_json::Value;
use shared::ResponseType;
use std::time::Duration;

/// What the BFF asks glewlwyd for and the browser sign-in grants.
pub(super) const SCOPES: &str = "openid profile email";

pub(super) struct Setup {
    pub(super) op: Glewlwyd,
    pub(super) bff: BffHandle,
    _api: Process,
}

/// glewlwyd, the demo API trusting it, and the BFF (serving the SPA when `serve_spa`) with `extra_toml`.
pub(super) async fn setup(response_type: ResponseType, serve_spa: bool, extra_toml: &str) -> Setup {
    setup_with(response_type, serve_spa, extra_toml, "", |_| Vec::new()).await
}

/// [`setup`] with `demo_toml` in the demo API's table and glewlwyd's optional features, `features(bff_port)`
/// (see [`Glewlwyd::start_with`]).
async fn setup_with(
    response_type: ResponseType,
    serve_spa: bool,
    extra_toml: &str,
    demo_toml: &str,
    features: impl FnOnce(u16) -> Vec<(&'static str, String)>,
) -> Setup {
    let (bff_port, api_port) = (free_port(), free_port());
    let origin = format!("http://localhost:{bff_port}");
    let op = Glewlwyd::start_with(
        &[&format!("{origin}/callback")],
        &format!("{origin}/"),
        Some(&format!("http://127.0.0.1:{bff_port}/bff/backchannel")),
        &features(bff_port),
    )
    .await;
    let api = Process::spawn(
        &format!("demo-api-glewlwyd-{api_port}"),
        "node",
        &["dev/demo-api/server.mjs"],
        &[
            ("DEMO_API_PORT", api_port.to_string()),
            ("OP_ISSUER", op.issuer.clone()),
            // glewlwyd puts the granted scopes, space-separated, in the access token's `aud`.
            ("DEMO_API_AUDIENCE", SCOPES.into()),
        ],
    );
    let static_dir = if serve_spa {
        serve_spa_toml()
    } else {
        String::new()
    };
    let toml = format!(
        r#"
        {static_dir}
        [oidc]
        scopes = ["openid", "profile", "email"]
        # glewlwyd 2.7's logout tokens have no `exp`, which Back-Channel Logout 1.0 requires.
        logout_token_exp_optional = true
        # Its end-session endpoint takes only GET (and requires id_token_hint).
        end_session_method = "get"
        {extra_toml}
        [apis.demo]
        url = "http://127.0.0.1:{api_port}"
        {demo_toml}
        "#
    );
    let bff = start_bff_on(bff_port, &op.issuer, response_type, &toml).await;
    let http = reqwest::Client::new();
    let demo = format!("http://127.0.0.1:{api_port}/");
    wait_for("the demo API", Duration::from_secs(30), || async {
        http.get(&demo).send().await.ok().map(|_| ())
    })
    .await;
    Setup { op, bff, _api: api }
}

async fn flow(response_type: ResponseType) {
    let s = setup(
        response_type,
        false,
        r#"extra_authorize_params = { ui_locales = "en" }"#,
    )
    .await;
    let bff = BffClient::new(&s.bff.origin);
    assert_eq!(bff.get("/bff/user").await.status(), 401);

    let started = bff.start_login().await;
    assert!(
        started.authorization_url.starts_with(&s.op.issuer)
            && started.authorization_url.contains("&ui_locales=en")
            && started.authorization_url.contains("response_mode=fragment"),
        "{}",
        started.authorization_url
    );
    let back =
        s.op.authorize(&started.authorization_url, &s.bff.redirect_uri)
            .await;
    assert_eq!(back.query(), None, "{response_type}: nothing in the query");
    let fragment = back.fragment().expect("the response is in the fragment");
    let session = bff.create_session(fragment).await;
    let sub = session["user"]["sub"].as_str().expect("a sub").to_owned();
    assert!(
        !sub.is_empty() && sub != "alice",
        "glewlwyd's sub is opaque: {sub}"
    );
    assert_eq!(session["user"]["name"], "Alice Liddell", "{session}");

    let user = bff.get("/bff/user").await;
    assert_eq!(user.status(), 200);
    let user: Value = user.json().await.unwrap();
    assert_eq!(user["user"]["sub"], sub.as_str());

    let api = bff.get("/api/demo/hello?x=1").await;
    let api_status = api.status();
    let api: Value = api.json().await.unwrap();
    assert_eq!(api_status, 200, "{response_type}: API call: {api}");
    assert_eq!(api["sub"], sub.as_str(), "the API saw glewlwyd's token");

    let out: Value = bff.post("/bff/logout", None).await.json().await.unwrap();
    let form = &out["end_session"];
    assert_eq!(form["method"], "get", "configured for glewlwyd: {out}");
    let mut end = url::Url::parse(form["action"].as_str().expect("an action")).unwrap();
    assert_eq!(end.as_str(), format!("{}/end_session", s.op.issuer));
    for field in form["fields"].as_array().unwrap() {
        end.query_pairs_mut()
            .append_pair(field[0].as_str().unwrap(), field[1].as_str().unwrap());
    }
    let end = end.as_str();
    assert!(end.contains("id_token_hint="), "{end}");
    assert_end_session_prompt_returns(end).await;
    assert_eq!(bff.get("/bff/user").await.status(), 401);
}

/// Asks glewlwyd for the end-session URL `end` (the BFF's logout form, filled in) as a browser would, without
/// following its redirect, and checks that it redirects to its end-session prompt with a `post_redirect_to`:
/// it accepted the registered post-logout URI, so the prompt will send the browser back.
async fn assert_end_session_prompt_returns(end: &str) {
    let op = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = op.get(end).send().await.expect("glewlwyd reachable");
    let prompt = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        prompt.contains("prompt=end_session") && prompt.contains("post_redirect_to="),
        "{prompt}"
    );
}

#[tokio::test]
async fn glewlwyd_code_id_token() {
    flow(ResponseType::CodeIdToken).await;
}

#[tokio::test]
async fn glewlwyd_code_token() {
    flow(ResponseType::CodeToken).await;
}

#[tokio::test]
async fn glewlwyd_code_id_token_token() {
    flow(ResponseType::CodeIdTokenToken).await;
}

/// The real SPA in headless Chromium. glewlwyd's login page is a JavaScript app; the test signs in through the
/// same API the page uses, from a page on glewlwyd's origin (so the browser holds glewlwyd's session cookie),
/// and `g_continue` (via `extra_authorize_params`) tells glewlwyd that its login page has nothing left to do.
/// Signs alice in at glewlwyd in this browser and grants [`SCOPES`] to the client (glewlwyd's consent), through
/// the API its login page uses, from a page on its origin: its pages themselves need a UI the test cannot drive.
/// The next authorization request then goes straight back to the client.
pub(super) async fn sign_in_at_glewlwyd(browser: &Browser, op: &Glewlwyd) {
    browser
        .client
        .goto(&format!(
            "{}/api/oidc/.well-known/openid-configuration",
            op.origin
        ))
        .await
        .expect("glewlwyd page");
    let script = format!(
        "const done = arguments[arguments.length - 1];\
         const j = {{'Content-Type': 'application/json'}};\
         fetch('/api/auth/', {{method: 'POST', headers: j, credentials: 'include',\
           body: JSON.stringify({{username: 'alice', password: 'alice-password'}})}})\
         .then(r => r.ok ? fetch('/api/auth/grant/hybrid-spa', {{method: 'PUT', headers: j, credentials: 'include',\
           body: JSON.stringify({{scope: '{SCOPES}'}})}}) : r)\
         .then(r => done(r.status), e => done(String(e)));"
    );
    let status = browser.eval_async(&script).await;
    assert_eq!(status, 200, "glewlwyd sign-in through its API");
}

async fn browser_flow(response_type: ResponseType) {
    let (s, browser) = tokio::join!(
        setup(
            response_type,
            true,
            r#"extra_authorize_params = { g_continue = "" }"#,
        ),
        Browser::start()
    );
    sign_in_at_glewlwyd(&browser, &s.op).await;

    browser.open_spa(&s.bff.origin).await;
    browser.sign_in().await;
    assert_eq!(browser.text_of("user-name").await, "Alice Liddell");
    browser.click("call-api").await;
    let result = browser.text_of("api-result").await;
    let json: Value = serde_json::from_str(&result).expect("the API result is JSON");
    let sub = json["sub"].as_str().expect("a sub");
    assert!(!sub.is_empty() && sub != "alice", "opaque sub: {sub}");

    // RP-initiated logout: the BFF session ends and the SPA goes to glewlwyd's end-session prompt, which names
    // the registered post-logout URI (with the BFF's state) as `callback_url`. The prompt's own Logout button
    // does not work in 2.7.5 (its session list request, GET /api/oidc/session/<sid>/<client>, answers 400), so
    // the test does what the button does, through the same API from the page: end the OP session (which sends
    // the back-channel logout token), end the login session, go to `callback_url`.
    browser.click("logout").await;
    let prompt = wait_for(
        "glewlwyd's end-session prompt",
        Duration::from_secs(30),
        || async {
            let url = browser.client.current_url().await.ok()?;
            (url.as_str().starts_with(&s.op.origin) && url.as_str().contains("prompt=end_session"))
                .then_some(url)
        },
    )
    .await;
    let param = |name: &str| {
        prompt
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("{name} in {prompt}"))
    };
    let (sid, back) = (param("sid"), param("callback_url"));
    assert!(
        back.starts_with(&format!("{}/?state=", s.bff.origin)),
        "{back}"
    );
    let script = format!(
        "const done = arguments[arguments.length - 1];\
         fetch('/api/oidc/session/{sid}', {{method: 'DELETE', credentials: 'include'}})\
         .then(r => r.ok ? fetch('/api/auth/', {{method: 'DELETE', credentials: 'include'}}) : r)\
         .then(r => done(r.status), e => done(String(e)));"
    );
    let status = browser.eval_async(&script).await;
    assert_eq!(status, 200, "glewlwyd ends its session");
    browser.client.goto(&back).await.expect("back to the SPA");
    browser.wait_session_state("signed-out").await;
    let url = browser.client.current_url().await.unwrap();
    assert_eq!(url.origin().ascii_serialization(), s.bff.origin);
    assert_eq!(browser.bff_user_status().await, 401);
    browser.close().await;
}

#[tokio::test]
async fn glewlwyd_code_id_token_in_the_browser() {
    browser_flow(ResponseType::CodeIdToken).await;
}

#[tokio::test]
async fn glewlwyd_code_token_in_the_browser() {
    browser_flow(ResponseType::CodeToken).await;
}

#[tokio::test]
async fn glewlwyd_code_id_token_token_in_the_browser() {
    browser_flow(ResponseType::CodeIdTokenToken).await;
}

/// glewlwyd's back-channel logout (sent when its session ends, here through the API its end-session page
/// uses) reaches the BFF and ends the BFF session of that OP session.
#[tokio::test]
async fn glewlwyd_backchannel_logout_ends_the_bff_session() {
    let s = setup(ResponseType::CodeIdToken, false, "").await;
    let bff = BffClient::new(&s.bff.origin);
    let started = bff.start_login().await;
    let op = s.op.signed_in_client(SCOPES).await;
    let r = op
        .get(format!("{}&g_continue", started.authorization_url))
        .send()
        .await
        .expect("glewlwyd reachable");
    let back = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let fragment = back.fragment().expect("fragment").to_owned();
    bff.create_session(&fragment).await;
    assert_eq!(bff.get("/bff/user").await.status(), 200);

    let id_token = url::form_urlencoded::parse(fragment.as_bytes())
        .find(|(k, _)| k == "id_token")
        .map(|(_, v)| v.into_owned())
        .expect("an ID token in the fragment");
    let r = op
        .get(format!("{}/end_session", s.op.issuer))
        .query(&[("id_token_hint", id_token.as_str())])
        .send()
        .await
        .unwrap();
    let prompt = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let sid = prompt
        .query_pairs()
        .find(|(k, _)| k == "sid")
        .map(|(_, v)| v.into_owned())
        .expect("sid in the end-session prompt");
    let r = op
        .delete(format!("{}/api/oidc/session/{sid}", s.op.origin))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "glewlwyd ends its session");
    wait_for(
        "the back-channel logout to end the BFF session",
        Duration::from_secs(10),
        || async { (bff.get("/bff/user").await.status() == 401).then_some(()) },
    )
    .await;
}

/// Starts a login at the BFF and follows it through glewlwyd without a browser (its session and consent made
/// through its API), with `more` appended to the authorization URL; answers glewlwyd's redirect back.
async fn authorize(
    s: &Setup,
    bff: &BffClient,
    more: &str,
    check_request: impl FnOnce(&url::Url),
) -> url::Url {
    let started = bff.start_login().await;
    let request = url::Url::parse(&started.authorization_url).expect("an authorization URL");
    check_request(&request);
    let client_id = request.query_pairs().find(|(k, _)| k == "client_id");
    let client_id = client_id.expect("a client_id").1;
    let op = s.op.signed_in_client_of(&client_id, SCOPES).await;
    let r = op
        .get(format!("{}{more}&g_continue", started.authorization_url))
        .send()
        .await
        .expect("glewlwyd reachable");
    let location = r.headers()["location"].to_str().expect("a redirect");
    url::Url::parse(location).expect("a URL")
}

/// [`authorize`], then the session the BFF makes of the fragment.
async fn sign_in(s: &Setup, check_request: impl FnOnce(&url::Url)) -> (BffClient, Value) {
    let bff = BffClient::new(&s.bff.origin);
    let back = authorize(s, &bff, "", check_request).await;
    let fragment = back
        .fragment()
        .unwrap_or_else(|| panic!("a fragment: {back}"));
    let session = bff.create_session(fragment).await;
    (bff, session)
}

/// PAR (RFC 9126) against glewlwyd 2.7.5 with `oauth-par-allowed`: it accepts the BFF's push (authenticated
/// with client_secret_basic) and an authorization URL of only `client_id` and `request_uri`, but reads
/// `response_mode` from that URL alone, not from the pushed request: the hybrid response comes back in the
/// query, which the BFF never reads (a query leaks tokens to logs and Referer). Repeated in the URL, the same
/// kind of push is answered in the fragment and the sign-in completes. So glewlwyd runs with PAR off; this
/// test shows why, and fails once glewlwyd honours the pushed `response_mode`.
#[tokio::test]
async fn glewlwyd_par_ignores_the_pushed_response_mode() {
    let s = setup_with(
        ResponseType::CodeIdToken,
        false,
        r#"par = "required""#,
        "",
        |_| vec![("GLEWLWYD_PAR", "true".into())],
    )
    .await;
    let bff = BffClient::new(&s.bff.origin);
    let only_the_reference = |request: &url::Url| {
        let names: Vec<String> = request.query_pairs().map(|(k, _)| k.into_owned()).collect();
        assert_eq!(names, ["client_id", "request_uri"], "{request}");
    };
    let back = authorize(&s, &bff, "", only_the_reference).await;
    assert_eq!(back.fragment(), None, "{back}");
    let in_query: Vec<String> = back.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert!(
        in_query.iter().any(|k| k == "code") && in_query.iter().any(|k| k == "id_token"),
        "the response went to the query: {back}"
    );

    let back = authorize(&s, &bff, "&response_mode=fragment", only_the_reference).await;
    let fragment = back
        .fragment()
        .unwrap_or_else(|| panic!("a fragment: {back}"));
    let session = bff.create_session(fragment).await;
    assert_eq!(session["user"]["name"], "Alice Liddell", "{session}");
}

/// DPoP (RFC 9449) with glewlwyd's `oauth-dpop-allowed`: the authorization request names the login's key
/// (`dpop_jkt`), glewlwyd answers `token_type: DPoP` (else `dpop = "required"` would refuse the login), its
/// userinfo takes the bound token with a proof, and the demo API verifies each proxied call's proof against the
/// token's `cnf.jkt`.
#[tokio::test]
async fn glewlwyd_dpop_bound_tokens() {
    let s = setup_with(
        ResponseType::CodeIdToken,
        false,
        r#"dpop = "required""#,
        "dpop = true",
        |_| vec![("GLEWLWYD_DPOP", "true".into())],
    )
    .await;
    let mut jkt = String::new();
    let (bff, session) = sign_in(&s, |request| {
        jkt = request
            .query_pairs()
            .find(|(k, _)| k == "dpop_jkt")
            .map(|(_, v)| v.into_owned())
            .expect("the authorization request names the login's DPoP key");
    })
    .await;
    assert_eq!(session["userinfo"]["status"], "ok", "{session}");
    for _ in 0..2 {
        let api = bff.get("/api/demo/hello?x=1").await;
        let status = api.status();
        let body: Value = api.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["scheme"], "DPoP", "{body}");
        assert_eq!(
            body["jkt"],
            jkt.as_str(),
            "bound to the login's key: {body}"
        );
    }
}

/// private_key_jwt (RFC 7523) against glewlwyd 2.7.5: its client `hybrid-spa-jwt` reads the BFF's public keys
/// from `/bff/jwks.json` (`jwks_uri`) and the assertion's signature passes, but glewlwyd requires `aud` to be its
/// token endpoint URL (`validate_jwt_assertion_request`, "invalid jwt assertion content" in its log), while the
/// BFF always names the OP's issuer, one string (draft-ietf-oauth-rfc7523bis, which closes the audience-injection
/// hole). So the code exchange is refused and glewlwyd runs with client secrets; this test fails once glewlwyd
/// takes the issuer as audience.
#[tokio::test]
async fn glewlwyd_private_key_jwt_refuses_the_issuer_as_audience() {
    let keys = private_key_jwt_toml(&[p256_pem()]);
    let oidc = keys.strip_prefix("[oidc]\n").expect("the [oidc] lines");
    let s = setup_with(ResponseType::CodeIdToken, false, oidc, "", |bff_port| {
        let jwks = format!("http://127.0.0.1:{bff_port}/bff/jwks.json");
        vec![("GLEWLWYD_JWT_CLIENT_JWKS_URI", jwks)]
    })
    .await;
    let bff = BffClient::new(&s.bff.origin);
    let back = authorize(&s, &bff, "", |request| {
        let client = request.query_pairs().find(|(k, _)| k == "client_id");
        assert_eq!(
            client.expect("a client_id").1,
            "hybrid-spa-jwt",
            "{request}"
        );
    })
    .await;
    let fragment = back
        .fragment()
        .unwrap_or_else(|| panic!("a fragment: {back}"));
    let response = shared::fragment::parse_fragment(fragment).expect("the OP's response parses");
    let r = bff
        .post(
            "/bff/session",
            Some(&serde_json::to_value(&response).unwrap()),
        )
        .await;
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or_default();
    assert_eq!(status, 502, "the code exchange is refused: {body}");
    assert_eq!(bff.get("/bff/user").await.status(), 401, "no session");
}

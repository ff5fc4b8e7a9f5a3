//! A scripted, tampering OpenID Provider, in-process: it answers the authorization and token endpoints as the
//! current [`Scenario`] says, so conformance tests can check that the BFF refuses every kind of bad response
//! with the right rule.
//!
//! It signs with real keys (RSA 2048 `rsa-1`, EC P-256 `ec-1`, and on [`TestOp::rotate`] a new RSA key
//! `rsa-2`), publishes them at `/jwks`, and counts token requests so a test can prove that a front-channel
//! failure never reached the token endpoint. Its userinfo endpoint (advertised unless
//! [`Options::without_userinfo`]) answers as [`UserinfoAnswer`] says, and the token endpoint also takes the
//! refresh-token grant (rotating the refresh token), so a refresh can re-read userinfo. Discovery and `/jwks`
//! allow any origin (CORS), as real OPs do, so the SPA can fetch the key set from a browser too.

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};
use shared::jose::alg::Alg;
use shared::jose::b64url_encode;
use shared::verify::hashes::left_half_hash;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the authorization endpoint puts in the fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Front {
    /// A correct response.
    #[default]
    Valid,
    /// The ID token's signature does not verify.
    BadSignature,
    /// `alg: none`, no signature.
    AlgNone,
    /// HS256 with the RSA public key (PEM) as the HMAC secret: the classic key-confusion attack.
    HmacWithPublicKey,
    WrongIss,
    WrongAud,
    /// `azp` names another client (and `aud` has both).
    OtherAzp,
    Expired,
    IatInFuture,
    NoIat,
    NoSub,
    WrongNonce,
    NoNonce,
    BadCHash,
    NoCHash,
    BadAtHash,
    NoAtHash,
    /// The header names a kid the key set never has.
    UnknownKid,
    /// The header has no kid at all.
    NoKid,
    /// `state` is not the one the request carried.
    WrongState,
    /// An RFC 9207 `iss` parameter naming another OP.
    WrongIssParameter,
    /// No RFC 9207 `iss` parameter, even when the OP advertises it ([`Options::iss_parameter`]).
    NoIssParameter,
    /// `error=access_denied` instead of a code.
    Error,
    /// An `id_token` that is not a JWS at all.
    NotAJwt,
}

/// What the token endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenAnswer {
    /// A correct token response.
    #[default]
    Valid,
    /// The ID token is about another user.
    OtherSub,
    /// The ID token is from another issuer.
    OtherIss,
    /// The ID token carries another nonce.
    OtherNonce,
    /// The ID token's signature does not verify.
    BadSignature,
    /// `400 {"error":"invalid_grant"}`.
    InvalidGrant,
    /// `500` with an HTML page.
    ServerErrorHtml,
    /// `200` with a body that is not JSON.
    NotJson,
    /// Answers (validly) only after this long: longer than the BFF's http timeout.
    Slow(Duration),
}

/// What the userinfo endpoint answers (to a known access token; an unknown one gets 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserinfoAnswer {
    /// `application/json` about the ID token's user, with the profile ([`TestOp::set_profile_name`]) and an
    /// email the ID token lacks.
    #[default]
    Json,
    /// The same claims as a signed JWT (`application/jwt`, current signing key, `iss` and `aud`).
    Jwt,
    /// JSON about another user (`sub` mallory).
    OtherSub,
    /// A signed JWT whose signature does not verify.
    BadSignature,
    /// A signed JWT for another client (`aud`).
    JwtWrongAud,
    /// An encrypted answer: a five-part compact JWE, `application/jwt`.
    Encrypted,
    /// `500` with an HTML page.
    ServerError,
    /// `200 application/json` with a body that is not JSON.
    Garbage,
    /// `200 application/json`, valid JSON of 100 KB: over any sane bound.
    Oversized,
    /// Never answers.
    Hang,
}

/// The script for the next login(s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scenario {
    pub front: Front,
    pub token: TokenAnswer,
    pub userinfo: UserinfoAnswer,
}

impl Scenario {
    pub fn front(front: Front) -> Scenario {
        Scenario {
            front,
            ..Default::default()
        }
    }

    pub fn token(token: TokenAnswer) -> Scenario {
        Scenario {
            token,
            ..Default::default()
        }
    }

    pub fn userinfo(userinfo: UserinfoAnswer) -> Scenario {
        Scenario {
            userinfo,
            ..Default::default()
        }
    }
}

/// One signing key, with its public JWK.
#[derive(Clone)]
struct SigningKey {
    kid: &'static str,
    alg: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
    /// The public key as PEM (RSA only), for the HMAC key-confusion attack.
    public_pem: Option<String>,
}

impl SigningKey {
    fn rsa(kid: &'static str) -> SigningKey {
        let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("RSA key");
        let der = key.to_pkcs1_der().expect("PKCS#1 DER");
        let public = key.to_public_key();
        SigningKey {
            kid,
            alg: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            jwk: json!({
                "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                "n": b64url_encode(&public.n().to_bytes_be()),
                "e": b64url_encode(&public.e().to_bytes_be()),
            }),
            public_pem: Some(
                public
                    .to_public_key_pem(LineEnding::LF)
                    .expect("public key PEM"),
            ),
        }
    }

    fn ec(kid: &'static str) -> SigningKey {
        let key = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let der = key.to_pkcs8_der().expect("PKCS#8 DER");
        let point = key.public_key().to_encoded_point(false);
        SigningKey {
            kid,
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_der(der.as_bytes()),
            jwk: json!({
                "kty": "EC", "kid": kid, "use": "sig", "alg": "ES256", "crv": "P-256",
                "x": b64url_encode(point.x().expect("x")),
                "y": b64url_encode(point.y().expect("y")),
            }),
            public_pem: None,
        }
    }

    fn shared_alg(&self) -> Alg {
        match self.alg {
            Algorithm::ES256 => Alg::ES256,
            _ => Alg::RS256,
        }
    }
}

/// RSA key generation is slow in debug builds: each key is made once per test binary and shared.
fn key(kid: &'static str) -> SigningKey {
    static RSA_1: OnceLock<SigningKey> = OnceLock::new();
    static RSA_2: OnceLock<SigningKey> = OnceLock::new();
    static EC_1: OnceLock<SigningKey> = OnceLock::new();
    match kid {
        "rsa-1" => RSA_1.get_or_init(|| SigningKey::rsa("rsa-1")).clone(),
        "rsa-2" => RSA_2.get_or_init(|| SigningKey::rsa("rsa-2")).clone(),
        "ec-1" => EC_1.get_or_init(|| SigningKey::ec("ec-1")).clone(),
        other => panic!("no test key {other}"),
    }
}

/// What the authorization endpoint issued, for the token endpoint to answer consistently.
#[derive(Clone)]
struct Issued {
    nonce: Option<String>,
    client_id: String,
}

struct Inner {
    issuer: String,
    /// Where the endpoints are: the issuer without a trailing slash.
    base: String,
    /// The query of every authorization request, in order.
    authorize_queries: Mutex<Vec<HashMap<String, String>>>,
    scenario: Mutex<Scenario>,
    /// The published key set.
    served: Mutex<Vec<SigningKey>>,
    /// The kid ID tokens are signed with.
    signer: Mutex<&'static str>,
    /// Codes issued, with what they were issued for.
    codes: Mutex<HashMap<String, Issued>>,
    token_requests: AtomicU64,
    jwks_requests: AtomicU64,
    last_jwks_request: Mutex<Option<Instant>>,
    /// When false, `/jwks` answers 503 without CORS headers: to a browser's `fetch` that is a network error,
    /// the same as an endpoint that is down.
    jwks_reachable: std::sync::atomic::AtomicBool,
    /// See [`Options::iss_parameter`].
    iss_parameter: bool,
    /// See [`Options::without_userinfo`].
    without_userinfo: bool,
    /// Access tokens issued (token endpoint, refresh), with the client they were issued to.
    access_tokens: Mutex<HashMap<String, String>>,
    /// Refresh tokens issued, with what they were issued for.
    refresh_tokens: Mutex<HashMap<String, Issued>>,
    userinfo_requests: AtomicU64,
    /// The `name` userinfo answers (see [`TestOp::set_profile_name`]).
    profile_name: Mutex<String>,
}

/// How [`TestOp::start_with`] shapes the OP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// The issuer ends with a slash, `http://127.0.0.1:PORT/`, as Auth0's `https://TENANT.auth0.com/`:
    /// discovery's `issuer` and every token's `iss` carry it; the endpoints stay at `http://127.0.0.1:PORT/...`.
    pub trailing_slash_issuer: bool,
    /// RFC 9207: discovery says `authorization_response_iss_parameter_supported: true` and every authorization
    /// response carries `iss` (unless the scenario is [`Front::NoIssParameter`]).
    pub iss_parameter: bool,
    /// Discovery lists no `userinfo_endpoint` (the endpoint still answers, for a test to prove it is not asked).
    pub without_userinfo: bool,
}

/// A running test OP; stops when dropped.
pub struct TestOp {
    pub issuer: String,
    inner: Arc<Inner>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestOp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestOp {
    /// Starts the OP on a free port of 127.0.0.1, publishing `rsa-1` and `ec-1` and signing with `rsa-1`.
    pub async fn start() -> TestOp {
        TestOp::start_with(Options::default()).await
    }

    /// Starts the OP shaped as `options` says.
    pub async fn start_with(options: Options) -> TestOp {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("test OP port");
        let port = listener.local_addr().expect("local address").port();
        let base = format!("http://127.0.0.1:{port}");
        let issuer = if options.trailing_slash_issuer {
            format!("{base}/")
        } else {
            base.clone()
        };
        let inner = Arc::new(Inner {
            issuer: issuer.clone(),
            base,
            authorize_queries: Mutex::new(Vec::new()),
            scenario: Mutex::new(Scenario::default()),
            served: Mutex::new(vec![key("rsa-1"), key("ec-1")]),
            signer: Mutex::new("rsa-1"),
            codes: Mutex::new(HashMap::new()),
            token_requests: AtomicU64::new(0),
            jwks_requests: AtomicU64::new(0),
            last_jwks_request: Mutex::new(None),
            jwks_reachable: std::sync::atomic::AtomicBool::new(true),
            iss_parameter: options.iss_parameter,
            without_userinfo: options.without_userinfo,
            access_tokens: Mutex::new(HashMap::new()),
            refresh_tokens: Mutex::new(HashMap::new()),
            userinfo_requests: AtomicU64::new(0),
            profile_name: Mutex::new("Alice Test".to_owned()),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo).post(userinfo))
            .with_state(inner.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TestOp {
            issuer,
            inner,
            server,
        }
    }

    /// Sets what the next logins get.
    pub fn set_scenario(&self, scenario: Scenario) {
        *self.inner.scenario.lock().unwrap() = scenario;
    }

    /// Signs ID tokens with this published key (`rsa-1`, `ec-1`, `rsa-2` after a rotation).
    pub fn sign_with(&self, kid: &'static str) {
        assert!(
            self.inner
                .served
                .lock()
                .unwrap()
                .iter()
                .any(|k| k.kid == kid),
            "{kid} is not published"
        );
        *self.inner.signer.lock().unwrap() = kid;
    }

    /// Publishes only these keys.
    pub fn serve_only(&self, kids: &[&'static str]) {
        *self.inner.served.lock().unwrap() = kids.iter().map(|k| key(k)).collect();
    }

    /// Key rotation: publishes a new RSA key `rsa-2` next to the others and signs with it from now on.
    pub fn rotate(&self) {
        self.inner.served.lock().unwrap().push(key("rsa-2"));
        self.sign_with("rsa-2");
    }

    /// Stops publishing `kid` (the end of a rotation: the old key leaves the key set).
    pub fn retire(&self, kid: &str) {
        self.inner.served.lock().unwrap().retain(|k| k.kid != kid);
    }

    /// Makes the key set unreachable for browsers (see [`Inner::jwks_reachable`]) or reachable again.
    pub fn set_jwks_reachable(&self, reachable: bool) {
        self.inner.jwks_reachable.store(reachable, Ordering::SeqCst);
    }

    /// How many requests reached the token endpoint.
    pub fn token_requests(&self) -> u64 {
        self.inner.token_requests.load(Ordering::SeqCst)
    }

    /// How many requests reached the userinfo endpoint.
    pub fn userinfo_requests(&self) -> u64 {
        self.inner.userinfo_requests.load(Ordering::SeqCst)
    }

    /// The user's `name` in userinfo answers from now on (the ID token keeps "Alice Test"): a profile changed
    /// at the OP.
    pub fn set_profile_name(&self, name: &str) {
        *self.inner.profile_name.lock().unwrap() = name.to_owned();
    }

    /// The query parameters of every authorization request so far, oldest first.
    pub fn authorize_queries(&self) -> Vec<HashMap<String, String>> {
        self.inner.authorize_queries.lock().unwrap().clone()
    }

    /// How many times the key set was fetched.
    pub fn jwks_requests(&self) -> u64 {
        self.inner.jwks_requests.load(Ordering::SeqCst)
    }

    /// Time since the key set was last fetched, if ever.
    pub fn since_last_jwks_request(&self) -> Option<Duration> {
        self.inner
            .last_jwks_request
            .lock()
            .unwrap()
            .map(|t| t.elapsed())
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

fn random() -> String {
    b64url_encode(&rand::random::<[u8; 24]>())
}

/// Discovery and the key set are public and read cross-origin by the SPA (which fetches the key set itself).
const ANY_ORIGIN: [(header::HeaderName, &str); 1] = [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")];

async fn discovery(State(op): State<Arc<Inner>>) -> impl IntoResponse {
    let i = &op.base;
    let document = Json(json!({
        "issuer": op.issuer,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code id_token", "code token", "code id_token token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "authorization_response_iss_parameter_supported": op.iss_parameter,
    }));
    let mut document = document;
    if !op.without_userinfo {
        document.0["userinfo_endpoint"] = json!(format!("{i}/userinfo"));
        document.0["userinfo_signing_alg_values_supported"] = json!(["RS256", "ES256"]);
    }
    (ANY_ORIGIN, document)
}

async fn jwks(State(op): State<Arc<Inner>>) -> Response {
    op.jwks_requests.fetch_add(1, Ordering::SeqCst);
    *op.last_jwks_request.lock().unwrap() = Some(Instant::now());
    if !op.jwks_reachable.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let keys: Vec<Value> = op
        .served
        .lock()
        .unwrap()
        .iter()
        .map(|k| k.jwk.clone())
        .collect();
    (ANY_ORIGIN, Json(json!({ "keys": keys }))).into_response()
}

/// Signs `claims` with `key`, with or without a kid in the header.
fn sign(claims: &Value, key: &SigningKey, kid: Option<&str>) -> String {
    let mut header = Header::new(key.alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key.encoding).expect("signing")
}

/// Changes one character in the middle of the signature: the token still parses, but does not verify.
fn break_signature(token: &str) -> String {
    let (rest, sig) = token.rsplit_once('.').expect("a JWS");
    let mut sig: Vec<char> = sig.chars().collect();
    let i = sig.len() / 2;
    sig[i] = if sig[i] == 'A' { 'B' } else { 'A' };
    format!("{rest}.{}", sig.into_iter().collect::<String>())
}

fn unsigned(claims: &Value) -> String {
    let header = b64url_encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64url_encode(claims.to_string().as_bytes());
    format!("{header}.{payload}.")
}

fn hmac_with_public_key(claims: &Value, rsa: &SigningKey) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(rsa.kid.to_owned());
    let secret = rsa.public_pem.as_deref().expect("an RSA key");
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HMAC signing")
}

async fn authorize(
    State(op): State<Arc<Inner>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    op.authorize_queries.lock().unwrap().push(q.clone());
    let scenario = *op.scenario.lock().unwrap();
    let (Some(redirect_uri), Some(response_type)) = (q.get("redirect_uri"), q.get("response_type"))
    else {
        return (StatusCode::BAD_REQUEST, "redirect_uri and response_type").into_response();
    };
    let client_id = q.get("client_id").cloned().unwrap_or_default();
    let state = q.get("state").cloned().unwrap_or_default();
    let nonce = q.get("nonce").cloned();
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    if scenario.front == Front::Error {
        out.append_pair("error", "access_denied")
            .append_pair("error_description", "The user said no.")
            .append_pair("state", &state);
        return redirect(redirect_uri, &out.finish());
    }
    let types: Vec<&str> = response_type.split(' ').collect();
    let code = random();
    op.codes.lock().unwrap().insert(
        code.clone(),
        Issued {
            nonce: nonce.clone(),
            client_id: client_id.clone(),
        },
    );
    out.append_pair("code", &code);
    let access_token = types.contains(&"token").then(random);
    if let Some(at) = &access_token {
        out.append_pair("access_token", at)
            .append_pair("token_type", "Bearer");
    }
    if types.contains(&"id_token") {
        let id_token = front_id_token(&op, scenario.front, &client_id, nonce, &code, &access_token);
        out.append_pair("id_token", &id_token);
    }
    let state = if scenario.front == Front::WrongState {
        "forged-state".to_owned()
    } else {
        state
    };
    out.append_pair("state", &state);
    if scenario.front == Front::WrongIssParameter {
        out.append_pair("iss", "https://evil.example.com");
    } else if op.iss_parameter && scenario.front != Front::NoIssParameter {
        out.append_pair("iss", &op.issuer);
    }
    redirect(redirect_uri, &out.finish())
}

fn redirect(redirect_uri: &str, fragment: &str) -> Response {
    (
        StatusCode::FOUND,
        [(header::LOCATION, format!("{redirect_uri}#{fragment}"))],
    )
        .into_response()
}

fn signer(op: &Inner) -> SigningKey {
    let kid = *op.signer.lock().unwrap();
    op.served
        .lock()
        .unwrap()
        .iter()
        .find(|k| k.kid == kid)
        .cloned()
        .unwrap_or_else(|| key(kid))
}

fn front_id_token(
    op: &Inner,
    front: Front,
    client_id: &str,
    nonce: Option<String>,
    code: &str,
    access_token: &Option<String>,
) -> String {
    let key = signer(op);
    let alg = key.shared_alg();
    let t = now();
    let mut c = json!({
        "iss": op.issuer,
        "sub": "alice",
        "aud": client_id,
        "exp": t + 300,
        "iat": t,
        "nonce": nonce,
        "c_hash": left_half_hash(alg, code),
        "name": "Alice Test",
    });
    if let Some(at) = access_token {
        c["at_hash"] = json!(left_half_hash(alg, at));
    }
    let claims = c.as_object_mut().expect("an object");
    match front {
        Front::WrongIss => {
            claims.insert("iss".into(), json!("https://evil.example.com"));
        }
        Front::WrongAud => {
            claims.insert("aud".into(), json!("another-client"));
        }
        Front::OtherAzp => {
            claims.insert("aud".into(), json!([client_id]));
            claims.insert("azp".into(), json!("another-client"));
        }
        Front::Expired => {
            claims.insert("exp".into(), json!(t - 3600));
            claims.insert("iat".into(), json!(t - 3900));
        }
        Front::IatInFuture => {
            claims.insert("iat".into(), json!(t + 3600));
            claims.insert("exp".into(), json!(t + 3900));
        }
        Front::NoIat => {
            claims.remove("iat");
        }
        Front::NoSub => {
            claims.remove("sub");
        }
        Front::WrongNonce => {
            claims.insert("nonce".into(), json!("another-nonce"));
        }
        Front::NoNonce => {
            claims.remove("nonce");
        }
        Front::BadCHash => {
            claims.insert("c_hash".into(), json!(left_half_hash(alg, "another-code")));
        }
        Front::NoCHash => {
            claims.remove("c_hash");
        }
        Front::BadAtHash => {
            claims.insert(
                "at_hash".into(),
                json!(left_half_hash(alg, "another-token")),
            );
        }
        Front::NoAtHash => {
            claims.remove("at_hash");
        }
        _ => {}
    }
    match front {
        Front::BadSignature => break_signature(&sign(&c, &key, Some(key.kid))),
        Front::AlgNone => unsigned(&c),
        Front::HmacWithPublicKey => hmac_with_public_key(&c, &self::key("rsa-1")),
        Front::UnknownKid => sign(&c, &key, Some("never-published")),
        Front::NoKid => sign(&c, &key, None),
        Front::NotAJwt => "this-is-not-a-jwt".to_owned(),
        _ => sign(&c, &key, Some(key.kid)),
    }
}

async fn token(State(op): State<Arc<Inner>>, body: String) -> Response {
    op.token_requests.fetch_add(1, Ordering::SeqCst);
    let scenario = *op.scenario.lock().unwrap();
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let issued = if form.get("grant_type").map(String::as_str) == Some("refresh_token") {
        // Rotation: the refresh token is spent, a new one is issued below.
        form.get("refresh_token")
            .and_then(|r| op.refresh_tokens.lock().unwrap().remove(r))
            .map(|issued| Issued {
                nonce: None,
                ..issued
            })
    } else {
        form.get("code")
            .and_then(|c| op.codes.lock().unwrap().remove(c))
    };
    let Some(issued) = issued else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": "unknown code"})),
        )
            .into_response();
    };
    match scenario.token {
        TokenAnswer::InvalidGrant => return (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"error": "invalid_grant", "error_description": "the code was already used"}),
            ),
        )
            .into_response(),
        TokenAnswer::ServerErrorHtml => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body><h1>Internal Server Error</h1></body></html>",
            )
                .into_response()
        }
        TokenAnswer::NotJson => {
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain")],
                "access_token=abc&token_type=Bearer",
            )
                .into_response()
        }
        TokenAnswer::Slow(delay) => tokio::time::sleep(delay).await,
        _ => {}
    }
    let key = signer(&op);
    let access_token = random();
    let t = now();
    let mut c = json!({
        "iss": op.issuer,
        "sub": "alice",
        "aud": issued.client_id,
        "exp": t + 300,
        "iat": t,
        "nonce": issued.nonce,
        "at_hash": left_half_hash(key.shared_alg(), &access_token),
        "name": "Alice Test",
    });
    match scenario.token {
        TokenAnswer::OtherSub => c["sub"] = json!("mallory"),
        TokenAnswer::OtherIss => c["iss"] = json!("https://evil.example.com"),
        TokenAnswer::OtherNonce => c["nonce"] = json!("another-nonce"),
        _ => {}
    }
    if issued.nonce.is_none() {
        // A refresh (Core 12.2): no nonce in its ID token.
        c.as_object_mut().expect("an object").remove("nonce");
    }
    let mut id_token = sign(&c, &key, Some(key.kid));
    if scenario.token == TokenAnswer::BadSignature {
        id_token = break_signature(&id_token);
    }
    let refresh_token = random();
    op.access_tokens
        .lock()
        .unwrap()
        .insert(access_token.clone(), issued.client_id.clone());
    op.refresh_tokens
        .lock()
        .unwrap()
        .insert(refresh_token.clone(), issued);
    Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 300,
        "refresh_token": refresh_token,
        "id_token": id_token,
        "scope": "openid profile",
    }))
    .into_response()
}

/// Core 5.3: the user's claims for a bearer access token this OP issued, as the scenario says.
async fn userinfo(State(op): State<Arc<Inner>>, headers: header::HeaderMap) -> Response {
    op.userinfo_requests.fetch_add(1, Ordering::SeqCst);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let client_id = bearer.and_then(|t| op.access_tokens.lock().unwrap().get(t).cloned());
    let Some(client_id) = client_id else {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response();
    };
    let answer = op.scenario.lock().unwrap().userinfo;
    let name = op.profile_name.lock().unwrap().clone();
    let mut claims = json!({"sub": "alice", "name": name, "email": "alice@example.com"});
    let jwt = |claims: &mut Value, aud: &str| {
        claims["iss"] = json!(op.issuer);
        claims["aud"] = json!(aud);
        let key = signer(&op);
        sign(claims, &key, Some(key.kid))
    };
    let typed = |content_type: &'static str, body: String| {
        (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    match answer {
        UserinfoAnswer::Json => Json(claims).into_response(),
        UserinfoAnswer::OtherSub => {
            claims["sub"] = json!("mallory");
            Json(claims).into_response()
        }
        UserinfoAnswer::Jwt => typed("application/jwt", jwt(&mut claims, &client_id)),
        UserinfoAnswer::BadSignature => typed(
            "application/jwt",
            break_signature(&jwt(&mut claims, &client_id)),
        ),
        UserinfoAnswer::JwtWrongAud => typed("application/jwt", jwt(&mut claims, "another-client")),
        UserinfoAnswer::Encrypted => {
            let header = b64url_encode(br#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#);
            let parts = [header, random(), random(), random(), random()];
            typed("application/jwt", parts.join("."))
        }
        UserinfoAnswer::ServerError => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>Internal Server Error</h1></body></html>",
        )
            .into_response(),
        UserinfoAnswer::Garbage => typed("application/json", "<html>not json".to_owned()),
        UserinfoAnswer::Oversized => {
            claims["padding"] = json!("x".repeat(100_000));
            Json(claims).into_response()
        }
        UserinfoAnswer::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Json(claims).into_response()
        }
    }
}

/// How [`TestOp::logout_token`] signs: correctly, or as one of the back-channel logout plan's attacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoutSigning {
    /// The current signing key and its algorithm, `typ: logout+jwt`.
    Valid,
    /// `alg: none`, no signature.
    AlgNone,
    /// HS256 with the RSA public key (PEM) as the HMAC secret.
    HmacWithPublicKey,
    /// The current key with another algorithm (e.g. PS256 for an RSA key), which discovery does not advertise.
    OtherAlg(Algorithm),
}

impl TestOp {
    /// Mints a back-channel logout token with these claims (Back-Channel Logout 1.0 2.4), signed as `how` says
    /// with this OP's keys. See [`TestOp::logout_claims`] for a valid claim set to start from.
    pub fn logout_token(&self, claims: &Value, how: LogoutSigning) -> String {
        let key = signer(&self.inner);
        match how {
            LogoutSigning::Valid | LogoutSigning::OtherAlg(_) => {
                let mut header = Header::new(match how {
                    LogoutSigning::OtherAlg(alg) => alg,
                    _ => key.alg,
                });
                header.kid = Some(key.kid.to_owned());
                header.typ = Some("logout+jwt".to_owned());
                jsonwebtoken::encode(&header, claims, &key.encoding).expect("signing")
            }
            LogoutSigning::AlgNone => unsigned(claims),
            LogoutSigning::HmacWithPublicKey => hmac_with_public_key(claims, &self::key("rsa-1")),
        }
    }

    /// Valid logout-token claims from this OP for `client_id`, naming `sid` and/or `sub`, with a fresh `jti`.
    pub fn logout_claims(&self, client_id: &str, sid: Option<&str>, sub: Option<&str>) -> Value {
        let mut c = json!({
            "iss": self.issuer,
            "aud": client_id,
            "iat": now(),
            "exp": now() + 120,
            "jti": random(),
            "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
        });
        if let Some(sid) = sid {
            c["sid"] = json!(sid);
        }
        if let Some(sub) = sub {
            c["sub"] = json!(sub);
        }
        c
    }
}

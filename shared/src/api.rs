//! What the SPA and the BFF say to each other over `/bff`: one definition, so both sides agree by construction.

use crate::jose::alg::Alg;
use crate::json::{self, Fields, FromJson, Object, ToJson, Value};
use crate::response_type::ResponseType;
use crate::verify::claims::IdTokenClaims;
use crate::verify::id_token::IdTokenRules;
use serde::{Deserialize, Serialize};

/// The static anti-CSRF header every state-changing `/bff` call and every `/api` call carries. A cross-site form
/// cannot set it, and a cross-site `fetch` with it needs a CORS preflight the BFF never grants.
pub const CSRF_HEADER: &str = "x-csrf";
/// The value of [`CSRF_HEADER`].
pub const CSRF_VALUE: &str = "1";

/// The user as shown by the SPA and kept in the session: display claims only, never tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct User {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

impl FromJson for User {
    fn from_json(value: &Value) -> Result<User, json::Error> {
        let f = Fields::of(value)?;
        Ok(User {
            sub: f.required("sub")?,
            name: f.optional("name")?,
            preferred_username: f.optional("preferred_username")?,
            email: f.optional("email")?,
            email_verified: f.optional("email_verified")?,
        })
    }
}

/// The part of the claims that is shown to the user and kept in the session. Here, not in `verify::claims`,
/// so that the wire types depend on the validation layer and never the other way round.
impl From<&IdTokenClaims> for User {
    fn from(claims: &IdTokenClaims) -> User {
        User {
            sub: claims.sub.clone().unwrap_or_default(),
            name: claims.name.clone(),
            preferred_username: claims.preferred_username.clone(),
            email: claims.email.clone(),
            email_verified: claims.email_verified,
        }
    }
}

impl IdTokenClaims {
    /// The part of the claims that is shown to the user and kept in the session ([`User::from`]).
    pub fn user(&self) -> User {
        User::from(self)
    }
}

impl User {
    /// The best human-readable name available, falling back to the subject identifier.
    pub fn display_name(&self) -> &str {
        self.name
            .as_deref()
            .or(self.preferred_username.as_deref())
            .or(self.email.as_deref())
            .unwrap_or(&self.sub)
    }
}

impl User {
    /// These display claims as claim rows from the ID token: what the SPA lists before the BFF has answered,
    /// and what a session kept before claims had sources shows.
    pub fn id_token_claims(&self) -> Vec<Claim> {
        let text = |name: &'static str, v: &Option<String>| v.clone().map(|v| (name, v.into()));
        [
            Some(("sub", self.sub.clone().into())),
            text("name", &self.name),
            text("preferred_username", &self.preferred_username),
            text("email", &self.email),
            self.email_verified.map(|b| ("email_verified", b.into())),
        ]
        .into_iter()
        .flatten()
        .map(|(name, value)| Claim {
            name: name.to_owned(),
            value,
            source: ClaimSource::IdToken,
        })
        .collect()
    }
}

/// Body of `POST /bff/login` (optional: no body means the default response type).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// A response type other than the BFF's default, for conformance testing; it must be one the BFF accepts
    /// (see [`LoginOptions`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_type: Option<ResponseType>,
}

impl ToJson for LoginRequest {
    fn to_json(&self) -> Value {
        let mut o = Object::new();
        o.push_some(
            "response_type",
            self.response_type.map(ResponseType::as_str),
        );
        o.into()
    }
}

/// Answer to `GET /bff/login`: what a login may ask for, so the SPA offers only what this BFF accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginOptions {
    pub default_response_type: ResponseType,
    /// The default first, then the others the operator enabled for conformance mode.
    pub response_types: Vec<ResponseType>,
}

impl FromJson for LoginOptions {
    fn from_json(value: &Value) -> Result<LoginOptions, json::Error> {
        let f = Fields::of(value)?;
        Ok(LoginOptions {
            default_response_type: f.required("default_response_type")?,
            response_types: f.required("response_types")?,
        })
    }
}

/// Answer to `POST /bff/login`: where to send the browser, and what the SPA needs to check the response itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginStarted {
    pub authorization_url: String,
    pub pending: PendingLogin,
}

impl FromJson for LoginStarted {
    fn from_json(value: &Value) -> Result<LoginStarted, json::Error> {
        let f = Fields::of(value)?;
        Ok(LoginStarted {
            authorization_url: f.required("authorization_url")?,
            pending: f.required("pending")?,
        })
    }
}

/// The public half of a login transaction (the PKCE verifier stays in the BFF). The SPA keeps it in
/// `sessionStorage` across the trip to the OP; it holds no token and nothing that grants access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    pub state: String,
    pub response_type: ResponseType,
    pub rules: IdTokenRules,
    pub jwks_uri: String,
    pub allowed_algs: Vec<Alg>,
    /// When the BFF will forget this transaction (seconds since the epoch).
    pub expires_at: i64,
    /// The OP's discovery advertises the RFC 9207 `iss` response parameter, so both tiers refuse a response
    /// without it (see `shared::verify::authorization::check_iss_parameter`). Absent in an older transaction:
    /// not advertised.
    #[serde(default)]
    pub iss_parameter_supported: bool,
}

impl FromJson for PendingLogin {
    fn from_json(value: &Value) -> Result<PendingLogin, json::Error> {
        let f = Fields::of(value)?;
        Ok(PendingLogin {
            state: f.required("state")?,
            response_type: f.required("response_type")?,
            rules: f.required("rules")?,
            jwks_uri: f.required("jwks_uri")?,
            allowed_algs: f.required("allowed_algs")?,
            expires_at: f.required("expires_at")?,
            iss_parameter_supported: f.or_default("iss_parameter_supported")?,
        })
    }
}

/// The SPA keeps it in `sessionStorage` (`frontend/src/pending.rs`), written as the BFF writes it.
impl ToJson for PendingLogin {
    fn to_json(&self) -> Value {
        let mut o = Object::new();
        o.push("state", self.state.as_str());
        o.push("response_type", self.response_type.as_str());
        o.push("rules", self.rules.to_json());
        o.push("jwks_uri", self.jwks_uri.as_str());
        let algs = self.allowed_algs.iter().map(|a| Value::from(a.name()));
        o.push("allowed_algs", Value::Array(algs.collect()));
        o.push("expires_at", self.expires_at);
        o.push("iss_parameter_supported", self.iss_parameter_supported);
        o.into()
    }
}

/// Answer to `POST /bff/session` and `GET /bff/user`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The display claims after the merge of the ID token and userinfo (see [`crate::verify::userinfo`]).
    pub user: User,
    /// When the session ends at the latest (seconds since the epoch).
    pub expires_at: i64,
    /// Every claim shown, after the merge, each with the source it was taken from, so the user can see where
    /// a value comes from. Protocol claims (iss, aud, exp, nonce, ...) are left out: they describe the token,
    /// not the user. Absent from an older BFF: none listed.
    #[serde(default)]
    pub claims: Vec<Claim>,
    /// What became of the userinfo request at this session's sign-in (or last refresh).
    #[serde(default)]
    pub userinfo: UserinfoReport,
    /// How the BFF obtained the session's tokens. Absent from an older BFF: nothing shown.
    #[serde(default)]
    pub token_client: TokenClientReport,
}

impl FromJson for SessionInfo {
    fn from_json(value: &Value) -> Result<SessionInfo, json::Error> {
        let f = Fields::of(value)?;
        Ok(SessionInfo {
            user: f.required("user")?,
            expires_at: f.required("expires_at")?,
            claims: f.or_default("claims")?,
            userinfo: f.or_default("userinfo")?,
            token_client: f.or_default("token_client")?,
        })
    }
}

/// How the BFF authenticated at the token endpoint and whether the tokens it holds are sender-constrained, so
/// the flow view can show what protects them (a stolen secret, a stolen token) without the SPA seeing either.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenClientReport {
    /// The client authentication method, by its registered name (`client_secret_basic`,
    /// `client_secret_post`, `private_key_jwt`); empty from an older BFF.
    pub auth_method: String,
    /// The JWK thumbprint (RFC 7638) of the session's DPoP key when the tokens are bound to it (RFC 9449).
    pub dpop_jkt: Option<String>,
    /// The access token's `cnf.jkt`, when it is a JWT that names one: the binding as the resource server sees it.
    pub cnf_jkt: Option<String>,
}

impl FromJson for TokenClientReport {
    fn from_json(value: &Value) -> Result<TokenClientReport, json::Error> {
        let f = Fields::of(value)?;
        Ok(TokenClientReport {
            auth_method: f.required("auth_method")?,
            dpop_jkt: f.optional("dpop_jkt")?,
            cnf_jkt: f.optional("cnf_jkt")?,
        })
    }
}

/// One claim about the user, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub name: String,
    pub value: crate::json::Value,
    pub source: ClaimSource,
}

impl FromJson for Claim {
    fn from_json(value: &Value) -> Result<Claim, json::Error> {
        let f = Fields::of(value)?;
        Ok(Claim {
            name: f.required("name")?,
            value: f.required("value")?,
            source: f.required("source")?,
        })
    }
}

/// Which response a shown claim was taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimSource {
    IdToken,
    Userinfo,
}

impl FromJson for ClaimSource {
    fn from_json(value: &Value) -> Result<ClaimSource, json::Error> {
        json::by_name(
            value,
            &[ClaimSource::IdToken, ClaimSource::Userinfo],
            ClaimSource::as_str,
        )
    }
}

impl ClaimSource {
    /// The wire name (`id_token`, `userinfo`), also the SPA's `data-source` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimSource::IdToken => "id_token",
            ClaimSource::Userinfo => "userinfo",
        }
    }
}

/// The outcome of the userinfo request (Core 5.3), for the flow view and `/bff/user`: whether the claims
/// shown include the OP's userinfo and, when they do not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UserinfoReport {
    pub status: UserinfoStatus,
    /// Plain words on why userinfo was not used (never the response body). `null` when it was.
    pub reason: Option<String>,
    /// How long the userinfo step took at the BFF, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<u64>,
    /// The answer was a signed JWT (`application/jwt`) whose signature, `iss` and `aud` were checked.
    #[serde(default)]
    pub signed: bool,
}

impl FromJson for UserinfoReport {
    fn from_json(value: &Value) -> Result<UserinfoReport, json::Error> {
        let f = Fields::of(value)?;
        Ok(UserinfoReport {
            status: f.required("status")?,
            reason: f.optional("reason")?,
            elapsed_ms: f.optional("elapsed_ms")?,
            signed: f.or_default("signed")?,
        })
    }
}

/// Whether userinfo was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum UserinfoStatus {
    /// Read and checked (its `sub` is the ID token's); its claims are merged.
    Ok,
    /// The OP's userinfo could not be read (down, 5xx, not JSON, too large, too slow): the ID token's claims
    /// alone are shown. Never a sign of tampering; those refuse the sign-in instead.
    Unavailable,
    /// The OP's discovery lists no `userinfo_endpoint`.
    NotOffered,
    /// Turned off by the BFF's configuration (`oidc.userinfo = "off"`), or a session from before userinfo was
    /// read.
    #[default]
    Off,
}

impl FromJson for UserinfoStatus {
    fn from_json(value: &Value) -> Result<UserinfoStatus, json::Error> {
        let all = [
            UserinfoStatus::Ok,
            UserinfoStatus::Unavailable,
            UserinfoStatus::NotOffered,
            UserinfoStatus::Off,
        ];
        json::by_name(value, &all, UserinfoStatus::as_str)
    }
}

impl UserinfoStatus {
    /// The wire name, also the SPA's `data-status` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            UserinfoStatus::Ok => "ok",
            UserinfoStatus::Unavailable => "unavailable",
            UserinfoStatus::NotOffered => "not_offered",
            UserinfoStatus::Off => "off",
        }
    }
}

/// Answer to `POST /bff/logout`: what the browser sends to the OP's end-session endpoint for RP-initiated logout,
/// if the OP has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedOut {
    pub end_session: Option<EndSessionRequest>,
}

impl FromJson for LoggedOut {
    fn from_json(value: &Value) -> Result<LoggedOut, json::Error> {
        let f = Fields::of(value)?;
        Ok(LoggedOut {
            end_session: f.optional("end_session")?,
        })
    }
}

/// RP-initiated logout as a form the SPA submits (RP-Initiated Logout 1.0, 2): with `POST` (the default) the ID
/// token hint travels in the request body, so it never lands in a URL, the browser history or the OP's access
/// log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndSessionRequest {
    /// The OP's `end_session_endpoint` (for `GET`, without a query: its parameters are among `fields`).
    pub action: String,
    pub method: EndSessionMethod,
    /// `id_token_hint`, `client_id`, and when the OP is to send the browser back, `post_logout_redirect_uri` and
    /// `state`, in that order.
    pub fields: Vec<(String, String)>,
}

impl FromJson for EndSessionRequest {
    fn from_json(value: &Value) -> Result<EndSessionRequest, json::Error> {
        let f = Fields::of(value)?;
        Ok(EndSessionRequest {
            action: f.required("action")?,
            method: f.required("method")?,
            fields: f.required("fields")?,
        })
    }
}

/// How the browser sends the end-session request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EndSessionMethod {
    /// Form serialisation in the body: nothing in the URL. What OPs must support, and the default.
    #[default]
    Post,
    /// Query serialisation, for OPs that take only `GET` (glewlwyd 2.7): the ID token hint is in the URL.
    Get,
}

impl FromJson for EndSessionMethod {
    fn from_json(value: &Value) -> Result<EndSessionMethod, json::Error> {
        let all = [EndSessionMethod::Post, EndSessionMethod::Get];
        json::by_name(value, &all, EndSessionMethod::as_str)
    }
}

impl EndSessionMethod {
    /// The HTML form `method`.
    pub fn as_str(self) -> &'static str {
        match self {
            EndSessionMethod::Post => "post",
            EndSessionMethod::Get => "get",
        }
    }
}

/// Body of `POST /bff/logout/return`: the `state` the OP sent back to `post_logout_redirect_uri`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogoutReturn {
    pub state: String,
}

impl ToJson for LogoutReturn {
    fn to_json(&self) -> Value {
        let mut o = Object::new();
        o.push("state", self.state.as_str());
        o.into()
    }
}

/// Answer to `POST /bff/logout/return` when the state is the one this browser's logout sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutConfirmed {
    pub signed_out: bool,
}

impl FromJson for LogoutConfirmed {
    fn from_json(value: &Value) -> Result<LogoutConfirmed, json::Error> {
        Ok(LogoutConfirmed {
            signed_out: Fields::of(value)?.required("signed_out")?,
        })
    }
}

/// Every BFF error body: a stable machine `error` code and a `message` in plain words for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
}

impl FromJson for ErrorBody {
    fn from_json(value: &Value) -> Result<ErrorBody, json::Error> {
        let f = Fields::of(value)?;
        Ok(ErrorBody {
            error: f.required("error")?,
            message: f.required("message")?,
        })
    }
}

/// Answer to `GET /bff/apis`: the upstream APIs the BFF forwards to (`/api/<name>/...`), for the SPA's console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ApiCatalog {
    pub apis: Vec<ApiEntry>,
}

impl FromJson for ApiCatalog {
    fn from_json(value: &Value) -> Result<ApiCatalog, json::Error> {
        Ok(ApiCatalog {
            apis: Fields::of(value)?.required("apis")?,
        })
    }
}

/// One configured upstream: its name in `/api/<name>`, the methods the browser may use, and the path prefix
/// under which paths are forwarded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiEntry {
    pub name: String,
    pub methods: Vec<String>,
    pub path_prefix: String,
    /// Whether calls need a session (the BFF adds its access token).
    #[serde(default)]
    pub token: bool,
}

impl FromJson for ApiEntry {
    fn from_json(value: &Value) -> Result<ApiEntry, json::Error> {
        let f = Fields::of(value)?;
        Ok(ApiEntry {
            name: f.required("name")?,
            methods: f.required("methods")?,
            path_prefix: f.required("path_prefix")?,
            token: f.or_default("token")?,
        })
    }
}

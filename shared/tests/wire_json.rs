//! The wire types' hand-written JSON readers and writers (`shared::json::{FromJson, ToJson}`, what the SPA uses)
//! against their serde derives (what the BFF uses): what one tier writes, the other reads back equal, and what
//! the SPA writes is byte for byte what serde_json would write. Also the serde rules the readers keep: unknown
//! members ignored, missing optional members defaulted, wrong types refused, structs read from objects only.

use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::api::{
    ApiCatalog, ApiEntry, Claim, ClaimSource, EndSessionMethod, EndSessionRequest, ErrorBody,
    LoggedOut, LoginOptions, LoginRequest, LoginStarted, LogoutConfirmed, LogoutReturn,
    PendingLogin, SessionInfo, TokenClientReport, User, UserinfoReport, UserinfoStatus,
};
use shared::fragment::AuthorizationResponse;
use shared::jose::alg::Alg;
use shared::json::{self, FromJson, ToJson};
use shared::verify::id_token::IdTokenRules;
use shared::ResponseType;
use std::fmt::Debug;

/// What the BFF writes with serde_json, the SPA reads back equal (and as serde_json reads it).
fn same_as_serde_json<T: Serialize + DeserializeOwned + FromJson + PartialEq + Debug>(value: T) {
    let bytes = serde_json::to_vec(&value).unwrap();
    let ours: T = json::from_slice(&bytes).unwrap();
    let theirs: T = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(ours, theirs);
    assert_eq!(ours, value);
}

/// What the SPA writes is serde_json's text, so the BFF's serde reads it back equal.
fn written_as_serde_json<T: Serialize + DeserializeOwned + ToJson + PartialEq + Debug>(value: T) {
    let ours = json::to_string(&value);
    assert_eq!(ours, serde_json::to_string(&value).unwrap());
    assert_eq!(serde_json::from_str::<T>(&ours).unwrap(), value);
}

/// Both readers give the same verdict on `text` (and, when both accept it, the same value).
fn same_verdict<T: DeserializeOwned + FromJson + PartialEq + Debug>(text: &str) -> bool {
    let ours = json::from_slice::<T>(text.as_bytes()).ok();
    let theirs = serde_json::from_str::<T>(text).ok();
    assert_eq!(ours, theirs, "{text}");
    ours.is_some()
}

fn rules() -> IdTokenRules {
    IdTokenRules {
        issuer: "https://op.example".into(),
        client_id: "app".into(),
        trusted_audiences: vec!["api".into()],
        nonce: "n-\"1\"\u{1}é".into(),
        leeway_secs: 30,
    }
}

fn pending() -> PendingLogin {
    PendingLogin {
        state: "s-1".into(),
        response_type: ResponseType::CodeIdTokenToken,
        rules: rules(),
        jwks_uri: "https://op.example/jwks".into(),
        allowed_algs: vec![Alg::RS256, Alg::EdDSA],
        expires_at: 1_700_000_600,
        iss_parameter_supported: true,
    }
}

#[test]
fn what_the_bff_writes_the_spa_reads_back_equal() {
    same_as_serde_json(SessionInfo {
        user: User {
            sub: "alice".into(),
            name: Some("Alice \"A\" \u{e9}\n".into()),
            preferred_username: None,
            email: Some("a@example.com".into()),
            email_verified: Some(true),
        },
        expires_at: 1_700_000_000,
        claims: vec![
            Claim {
                name: "groups".into(),
                value: json::parse(br#"["a", {"b": [1, 2.5, null, false]}, -3]"#).unwrap(),
                source: ClaimSource::Userinfo,
            },
            Claim {
                name: "sub".into(),
                value: "alice".into(),
                source: ClaimSource::IdToken,
            },
        ],
        userinfo: UserinfoReport {
            status: UserinfoStatus::Unavailable,
            reason: Some("timeout".into()),
            elapsed_ms: Some(12),
            signed: false,
        },
        token_client: TokenClientReport {
            auth_method: "private_key_jwt".into(),
            dpop_jkt: Some("jkt".into()),
            cnf_jkt: None,
        },
    });
    for status in [
        UserinfoStatus::Ok,
        UserinfoStatus::NotOffered,
        UserinfoStatus::Off,
    ] {
        same_as_serde_json(UserinfoReport {
            status,
            reason: None,
            elapsed_ms: None,
            signed: true,
        });
    }
    for method in [EndSessionMethod::Get, EndSessionMethod::Post] {
        same_as_serde_json(LoggedOut {
            end_session: Some(EndSessionRequest {
                action: "https://op.example/logout".into(),
                method,
                fields: vec![
                    ("client_id".into(), "app".into()),
                    ("state".into(), "s".into()),
                ],
            }),
        });
    }
    same_as_serde_json(LoggedOut { end_session: None });
    same_as_serde_json(ApiCatalog {
        apis: vec![ApiEntry {
            name: "demo".into(),
            methods: vec!["GET".into(), "POST".into()],
            path_prefix: "/".into(),
            token: true,
        }],
    });
    same_as_serde_json(LoginOptions {
        default_response_type: ResponseType::CodeIdToken,
        response_types: ResponseType::ALL.to_vec(),
    });
    same_as_serde_json(LoginStarted {
        authorization_url: "https://op.example/auth?scope=openid".into(),
        pending: pending(),
    });
    same_as_serde_json(LogoutConfirmed { signed_out: true });
    same_as_serde_json(ErrorBody {
        error: "bad_request".into(),
        message: "No.".into(),
    });
}

#[test]
fn what_the_spa_writes_is_serde_jsons_text() {
    written_as_serde_json(LoginRequest {
        response_type: Some(ResponseType::CodeToken),
    });
    written_as_serde_json(LoginRequest::default());
    written_as_serde_json(LogoutReturn {
        state: "st\u{7f}/\\".into(),
    });
    written_as_serde_json(AuthorizationResponse {
        code: Some("c".into()),
        id_token: Some("h.p.s".into()),
        state: Some("s".into()),
        iss: Some("https://op.example".into()),
        ..Default::default()
    });
    written_as_serde_json(pending());
    written_as_serde_json(rules());
}

#[test]
fn defaults_unknown_members_and_integer_floats_as_serde_json() {
    let body = r#"{"user":{"sub":"s","extra":{"x":[1]}},"expires_at":5,"new":[{"a":1}]}"#;
    assert!(same_verdict::<SessionInfo>(body));
    let ours: SessionInfo = json::from_slice(body.as_bytes()).unwrap();
    assert_eq!(ours.userinfo.status, UserinfoStatus::Off);
    assert!(!same_verdict::<SessionInfo>(
        r#"{"user":{"sub":"s"},"expires_at":5.0}"#
    ));
    assert!(same_verdict::<PendingLogin>(
        r#"{"state":"s","response_type":"id_token code","rules":{"issuer":"i","client_id":"c","nonce":"n"},"jwks_uri":"j","allowed_algs":[],"expires_at":1}"#
    ));
    // A member with a default is still type-checked when present, `null` included.
    assert!(!same_verdict::<IdTokenRules>(
        r#"{"issuer":"i","client_id":"c","nonce":"n","leeway_secs":null}"#
    ));
    assert!(!same_verdict::<ApiEntry>(
        r#"{"name":"n","methods":[],"path_prefix":"/","token":null}"#
    ));
    assert!(same_verdict::<UserinfoReport>(r#"{"status":"ok"}"#));
    assert!(same_verdict::<LoggedOut>("{}"));
}

#[test]
fn wrong_types_are_refused() {
    for body in [
        r#"{"error":1,"message":"m"}"#,
        r#"{"error":"e","message":null}"#,
        r#"{"error":"e"}"#,
        r#"{"error":["e"],"message":"m"}"#,
    ] {
        assert!(!same_verdict::<ErrorBody>(body));
    }
    assert!(!same_verdict::<SessionInfo>(
        r#"{"user":{"sub":"s"},"expires_at":-1,"claims":[{"name":"n","value":1,"source":"op"}]}"#
    ));
    assert!(!same_verdict::<LogoutConfirmed>(r#"{"signed_out":"true"}"#));
    assert!(!same_verdict::<LoginOptions>(
        r#"{"default_response_type":"code","response_types":[]}"#
    ));
    assert!(!same_verdict::<UserinfoReport>(
        r#"{"status":"ok","elapsed_ms":-1}"#
    ));
}

#[test]
fn a_struct_written_as_an_array_is_refused_at_any_depth() {
    let refused = |text: &str| json::from_slice::<ErrorBody>(text.as_bytes()).is_err();
    assert!(serde_json::from_str::<ErrorBody>(r#"["code","words"]"#).is_ok());
    assert!(refused(r#"["code","words"]"#));
    let nested = r#"{"user":["s",null,null,null,null],"expires_at":1}"#;
    assert!(serde_json::from_str::<SessionInfo>(nested).is_ok());
    assert!(json::from_slice::<SessionInfo>(nested.as_bytes()).is_err());
    let in_list = r#"{"apis":[["demo",["GET"],"/",true]]}"#;
    assert!(serde_json::from_str::<ApiCatalog>(in_list).is_ok());
    assert!(json::from_slice::<ApiCatalog>(in_list.as_bytes()).is_err());
    let in_option = r#"{"end_session":["a","post",[]]}"#;
    assert!(serde_json::from_str::<LoggedOut>(in_option).is_ok());
    assert!(json::from_slice::<LoggedOut>(in_option.as_bytes()).is_err());
}

#[test]
fn unit_enums_are_read_from_their_names_only() {
    let ours: UserinfoReport =
        json::from_slice(br#"{"status":"not_offered","reason":null}"#).unwrap();
    assert_eq!(ours.status, UserinfoStatus::NotOffered);
    let algs: Vec<Alg> = json::from_slice(br#"["RS256","EdDSA"]"#).unwrap();
    assert_eq!(algs, [Alg::RS256, Alg::EdDSA]);
    for refused in [
        r#"{"status":"NotOffered","reason":null}"#,
        r#"{"status":7,"reason":null}"#,
        r#"{"status":null,"reason":null}"#,
    ] {
        assert!(!same_verdict::<UserinfoReport>(refused));
    }
    // serde_json also takes a unit variant written as `{"name": null}`; neither tier writes it.
    let as_map = br#"{"status":{"ok":null},"reason":null}"#;
    assert!(serde_json::from_slice::<UserinfoReport>(as_map).is_ok());
    assert!(json::from_slice::<UserinfoReport>(as_map).is_err());
}

#[test]
fn trailing_input_and_bad_json_are_refused() {
    let refused = |body: &[u8]| json::from_slice::<ErrorBody>(body).is_err();
    assert!(refused(br#"{"error":"e","message":"m"} x"#));
    assert!(refused(br#"{"error":"e","message":"m""#));
    assert!(refused(b""));
    let ok: ErrorBody = json::from_slice(br#" {"error":"e","message":"m"} "#).unwrap();
    assert_eq!((ok.error.as_str(), ok.message.as_str()), ("e", "m"));
}

proptest! {
    #[test]
    fn any_text_round_trips_between_the_tiers(a in any::<String>(), b in any::<Option<String>>(), n in any::<i64>(), flag in any::<bool>()) {
        written_as_serde_json(AuthorizationResponse {
            code: Some(a.clone()),
            id_token: b.clone(),
            state: Some(a.clone()),
            ..Default::default()
        });
        written_as_serde_json(LogoutReturn { state: a.clone() });
        let mut p = pending();
        p.state = a.clone();
        p.rules.nonce = a.clone();
        p.expires_at = n;
        p.rules.leeway_secs = n;
        p.iss_parameter_supported = flag;
        written_as_serde_json(p.clone());
        same_as_serde_json(LoginStarted { authorization_url: a.clone(), pending: p });
        same_as_serde_json(ErrorBody { error: a.clone(), message: b.clone().unwrap_or_default() });
        same_as_serde_json(User { sub: a, name: b, preferred_username: None, email: None, email_verified: Some(flag) });
    }
}

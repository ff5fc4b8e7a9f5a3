//! The flow view's data: what happened during the sign-in, step by step, and which ID token checks ran with
//! which values. Built from the response and the *verified* claims after `shared::verify` accepted them (or from
//! the rule that refused them); no protocol decision is taken here. Codes and tokens are only ever shortened.

use shared::api::{PendingLogin, TokenClientReport, UserinfoReport, UserinfoStatus};
use shared::fragment::AuthorizationResponse;
use shared::jose::alg::Alg;
use shared::json::{decimal, Number};
use shared::verify::authorization::STAGES;
use shared::verify::claims::IdTokenClaims;
use shared::Stage;
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    Skipped,
    Info,
}

impl Outcome {
    pub fn attr(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::Info => "info",
        }
    }

    /// The word shown next to a check.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Skipped => "n/a",
            other => other.attr(),
        }
    }
}

/// One check of the front-channel response.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub value: String,
    pub outcome: Outcome,
}

/// One step of the timeline.
#[derive(Debug, Clone)]
pub struct Step {
    /// Milliseconds since the epoch.
    pub at_ms: i64,
    pub title: &'static str,
    pub detail: String,
    pub outcome: Outcome,
    pub checks: Vec<Check>,
    /// The BFF's userinfo step only: its status (`data-step="userinfo"` with `data-status`).
    pub userinfo: Option<UserinfoStatus>,
}

impl Step {
    pub fn new(title: &'static str, detail: impl Into<String>, outcome: Outcome) -> Step {
        Step {
            at_ms: crate::browser::now_ms(),
            title,
            detail: detail.into(),
            outcome,
            checks: Vec::new(),
            userinfo: None,
        }
    }
}

/// The BFF's userinfo request (Core 5.3) as a step, from its report: what it checked, how long it took, or why
/// the claims shown are the ID token's alone. The checks ran at the BFF; this only shows them.
pub fn userinfo_step(r: &UserinfoReport) -> Step {
    let (detail, outcome) = match r.status {
        UserinfoStatus::Ok => (
            "the BFF read it with the access token and merged it: userinfo wins, except sub",
            Outcome::Passed,
        ),
        UserinfoStatus::Unavailable => (
            "unavailable, the ID token's claims are shown: ",
            Outcome::Info,
        ),
        UserinfoStatus::NotOffered => ("the OP offers no userinfo endpoint", Outcome::Skipped),
        UserinfoStatus::Off => ("turned off in the BFF's configuration", Outcome::Skipped),
    };
    let mut detail = detail.to_owned() + r.reason.as_deref().unwrap_or_default();
    if let Some(ms) = r.elapsed_ms {
        detail = detail + " (" + Number::from_u64(ms).as_str() + " ms)";
    }
    let mut step = Step::new("Userinfo", detail, outcome);
    step.userinfo = Some(r.status);
    if r.status == UserinfoStatus::Ok {
        let check = |name, value: &str, outcome| Check {
            name,
            value: value.to_owned(),
            outcome,
        };
        step.checks = vec![
            check("sub", "equals the ID token's sub", Outcome::Passed),
            if r.signed {
                check(
                    "signature, iss, aud",
                    "signed JWT: checked as for ID tokens",
                    Outcome::Passed,
                )
            } else {
                check(
                    "signature, iss, aud",
                    "plain JSON from the OP over TLS",
                    Outcome::Skipped,
                )
            },
        ];
    }
    step
}

/// How the BFF got the tokens, as a step: its client authentication at the token endpoint and whether the
/// tokens are bound to its DPoP key. The BFF decided both; this only shows them.
pub fn token_client_step(r: &TokenClientReport) -> Step {
    let mut step = Step::new(
        "Token endpoint",
        "client authentication: ".to_owned() + &r.auth_method,
        Outcome::Info,
    );
    let check = |name, value: String, outcome| Check {
        name,
        value,
        outcome,
    };
    step.checks = match &r.dpop_jkt {
        Some(jkt) => vec![
            check(
                "sender-bound",
                "DPoP, key thumbprint ".to_owned() + &short(jkt),
                Outcome::Passed,
            ),
            match &r.cnf_jkt {
                Some(cnf) if cnf == jkt => {
                    check("cnf.jkt", "names the same key".into(), Outcome::Passed)
                }
                Some(cnf) => check("cnf.jkt", short(cnf), Outcome::Failed),
                None => check("cnf.jkt", "not a JWT".into(), Outcome::Skipped),
            },
        ],
        None => vec![check("sender-bound", "no: Bearer".into(), Outcome::Info)],
    };
    step
}

/// The decoded ID token (header and verified claims) as rows for a table.
#[derive(Debug, Clone, Default)]
pub struct TokenTable {
    pub header: Vec<(String, String)>,
    pub claims: Vec<(String, String)>,
}

/// A value safe to show: JWTs by size only, anything else by its first six characters.
pub fn short(value: &str) -> String {
    if value.starts_with("eyJ") || value.matches('.').count() == 2 {
        return ["JWT, ", &decimal(value.len() as i64), " chars"].concat();
    }
    let head: String = value.chars().take(6).collect();
    if head.len() < value.len() {
        head + "…"
    } else {
        head
    }
}

/// Which parameters the fragment carried, values shortened (the issuer in full: it is public).
pub fn fragment_summary(r: &AuthorizationResponse) -> String {
    let fields = [
        ("code", &r.code),
        ("id_token", &r.id_token),
        ("access_token", &r.access_token),
        ("token_type", &r.token_type),
        ("state", &r.state),
        ("iss", &r.iss),
    ];
    let parts: Vec<String> = fields
        .iter()
        .filter_map(|(name, value)| {
            let value = value.as_deref()?;
            let shown = match *name {
                "iss" | "token_type" => value.to_owned(),
                _ => short(value),
            };
            Some((*name).to_owned() + "=" + &shown)
        })
        .collect();
    parts.join(", ")
}

/// A check's name in the flow view.
pub fn check_name(stage: Stage) -> &'static str {
    match stage {
        Stage::OpError => "OP error",
        Stage::Fragment => "fragment",
        Stage::State => "state",
        Stage::IssParameter => "iss parameter",
        Stage::Code => "code present",
        Stage::AccessToken => "token_type",
        Stage::IdToken => "ID token present",
        Stage::Signature => "signature",
        Stage::Iss => "iss",
        Stage::Sub => "sub",
        Stage::Aud => "aud",
        Stage::Azp => "azp",
        Stage::Exp => "exp",
        Stage::Iat => "iat",
        Stage::Nonce => "nonce",
        Stage::CHash => "c_hash",
        Stage::AtHash => "at_hash",
        Stage::TokenEndpoint => "token endpoint",
        Stage::Userinfo => "userinfo",
        Stage::LogoutToken => "logout token",
        Stage::LogoutReturn => "logout return",
    }
}

/// After a refusal at `failed` (by `rule`): the checks before it passed, it is marked, the rest never ran, in
/// the order of [`STAGES`]. Empty when the stage is not one of those checks (e.g. an OP error).
pub fn failed_checks(failed: Stage, rule: &str) -> Vec<Check> {
    let Some(at) = STAGES.iter().position(|&stage| stage == failed) else {
        return Vec::new();
    };
    STAGES
        .iter()
        .enumerate()
        .map(|(i, &stage)| {
            let (value, outcome) = match i.cmp(&at) {
                Ordering::Less => ("passed".into(), Outcome::Passed),
                Ordering::Equal => ("failed: ".to_owned() + rule, Outcome::Failed),
                Ordering::Greater => ("not checked".into(), Outcome::Skipped),
            };
            Check {
                name: check_name(stage),
                value,
                outcome,
            }
        })
        .collect()
}

/// After acceptance: every check with the value it looked at.
pub fn passed_checks(
    r: &AuthorizationResponse,
    pending: &PendingLogin,
    token: Option<(Alg, Option<&str>, &IdTokenClaims)>,
    now: i64,
) -> Vec<Check> {
    let ok = |stage, value: String| Check {
        name: check_name(stage),
        value,
        outcome: Outcome::Passed,
    };
    let na = |stage, why: &str| Check {
        name: check_name(stage),
        value: why.to_owned(),
        outcome: Outcome::Skipped,
    };
    let mut out = vec![ok(
        Stage::State,
        short(r.state.as_deref().unwrap_or("")) + " matches the sign-in",
    )];
    out.push(match &r.iss {
        Some(iss) => ok(Stage::IssParameter, iss.clone() + " (RFC 9207)"),
        None if pending.iss_parameter_supported => na(
            Stage::IssParameter,
            "not sent beside the ID token, whose iss names the OP (RFC 9207 2.4)",
        ),
        None => na(Stage::IssParameter, "not sent by the OP"),
    });
    out.push(ok(Stage::Code, short(r.code.as_deref().unwrap_or(""))));
    out.push(match &r.token_type {
        Some(t) if r.access_token.is_some() => ok(Stage::AccessToken, t.clone()),
        _ => na(Stage::AccessToken, "no access token in this response type"),
    });
    let Some((alg, kid, c)) = token else {
        out.push(na(Stage::IdToken, "none in this response type"));
        return out;
    };
    let leeway = pending.rules.leeway_secs;
    out.push(ok(Stage::IdToken, "yes".into()));
    out.push(ok(
        Stage::Signature,
        alg.name().to_owned() + " with kid " + kid.unwrap_or("(none)") + " (WebCrypto)",
    ));
    out.push(ok(Stage::Iss, c.iss.clone().unwrap_or_default()));
    out.push(ok(Stage::Sub, c.sub.clone().unwrap_or_default()));
    out.push(ok(
        Stage::Aud,
        c.aud.join(", ") + " (client " + &pending.rules.client_id + ")",
    ));
    out.push(match &c.azp {
        Some(azp) => ok(Stage::Azp, azp.clone()),
        None => na(Stage::Azp, "absent (allowed)"),
    });
    let exp = c.exp.unwrap_or_default();
    out.push(ok(
        Stage::Exp,
        [
            &decimal(exp),
            ": valid for ",
            &decimal(exp - now),
            " s more (leeway ",
            &decimal(leeway),
            " s)",
        ]
        .concat(),
    ));
    let iat = c.iat.unwrap_or_default();
    out.push(ok(
        Stage::Iat,
        [
            &decimal(iat),
            ": issued ",
            &decimal(now - iat),
            " s ago by the OP's clock (clock offset within ±",
            &decimal(leeway),
            " s)",
        ]
        .concat(),
    ));
    out.push(ok(
        Stage::Nonce,
        short(c.nonce.as_deref().unwrap_or("")) + " matches the one sent",
    ));
    out.push(ok(
        Stage::CHash,
        c.c_hash.clone().unwrap_or_default() + " = left half of " + hash_name(alg) + "(code)",
    ));
    out.push(match (&r.access_token, &c.at_hash) {
        (Some(_), Some(h)) => ok(
            Stage::AtHash,
            h.clone() + " = left half of " + hash_name(alg) + "(access token)",
        ),
        _ => na(Stage::AtHash, "no access token in this response type"),
    });
    out
}

fn hash_name(alg: Alg) -> &'static str {
    crate::webcrypto::hash_name(alg.hash())
}

/// The header and verified claims as rows, in the order of the claims' definition (absent ones left out); the
/// nonce shortened, times also as UTC.
pub fn token_table(
    alg: Alg,
    kid: Option<&str>,
    typ: Option<&str>,
    c: &IdTokenClaims,
) -> TokenTable {
    let mut header = vec![("alg".to_owned(), alg.name().to_owned())];
    if let Some(kid) = kid {
        header.push(("kid".into(), kid.into()));
    }
    if let Some(typ) = typ {
        header.push(("typ".into(), typ.into()));
    }
    let mut claims = Vec::new();
    let mut row = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            claims.push((name.to_owned(), value));
        }
    };
    let time = |secs: Option<i64>| {
        secs.map(|secs| {
            let date = js_sys::Date::new(&((secs as f64) * 1000.0).into());
            [
                &decimal(secs),
                " (",
                &String::from(date.to_iso_string()),
                ")",
            ]
            .concat()
        })
    };
    row("iss", c.iss.clone());
    row("sub", c.sub.clone());
    row("aud", (!c.aud.is_empty()).then(|| c.aud.join(", ")));
    row("azp", c.azp.clone());
    row("exp", time(c.exp));
    row("iat", time(c.iat));
    row("auth_time", time(c.auth_time));
    row("nonce", c.nonce.as_deref().map(short));
    row("c_hash", c.c_hash.clone());
    row("at_hash", c.at_hash.clone());
    row("sid", c.sid.clone());
    row("name", c.name.clone());
    row("given_name", c.given_name.clone());
    row("family_name", c.family_name.clone());
    row("preferred_username", c.preferred_username.clone());
    row("email", c.email.clone());
    row(
        "email_verified",
        c.email_verified
            .map(|v| if v { "true" } else { "false" }.to_owned()),
    );
    TokenTable { header, claims }
}

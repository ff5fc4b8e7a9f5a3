//! Access-token refresh, single-flight per session: when many API calls find the token due at once, one of them
//! refreshes and the others wait for and use its result. This matters twice over: the OP rotates refresh tokens,
//! so two parallel refreshes would make one of them fail (and, by reuse detection, may revoke the session).
//! With a shared store (Redis) the same holds across replicas, through the store's lease lock.

use crate::config::ApiConfig;
use crate::error::AppError;
use crate::oidc::dpop::{Dpop, DpopKey};
use crate::oidc::{token, userinfo, verifier};
use crate::session::model::{Session, UpstreamToken};
use crate::session::{now, random_token};
use crate::state::AppState;
use shared::api::{UserinfoReport, UserinfoStatus};
use shared::token_response::TokenEndpointError;
use shared::verify::refresh::{verify_refreshed_id_token, Refresh};
use shared::verify::userinfo::user_of;
use shared::verify::Context;
use std::time::Duration;
use tokio::time::Instant;

/// Which access token a call needs.
#[derive(Clone, Copy)]
pub enum Which<'a> {
    /// The session's own, from the sign-in.
    Main,
    /// That of the upstream with this name, which has a resource or scopes of its own.
    Upstream(&'a str, &'a ApiConfig),
}

impl Which<'_> {
    /// The token and its expiry, if the session has one.
    fn token<'s>(&self, session: &'s Session) -> Option<(&'s str, Option<i64>)> {
        match self {
            Which::Main => Some((&session.access_token, session.access_token_expires_at)),
            Which::Upstream(name, _) => session
                .upstream_tokens
                .get(*name)
                .map(|t| (t.access_token.as_str(), t.expires_at)),
        }
    }

    /// The DPoP key its token is bound to: the session's, unless the OP answered this upstream's grant Bearer.
    fn key(&self, session: &Session) -> Option<DpopKey> {
        match self {
            Which::Upstream(name, _) if session.upstream_tokens.get(*name)?.bearer => None,
            _ => session.dpop_key.clone(),
        }
    }
}

/// Whether the access token should be (re)obtained before use.
fn is_due(session: &Session, which: Which<'_>, margin: i64, at: i64) -> bool {
    match which.token(session) {
        Some((_, expires_at)) => expires_at.is_some_and(|exp| at >= exp - margin),
        None => true,
    }
}

/// The access token `which` of the session, good for at least the refresh margin, refreshing (or, for an
/// upstream, obtaining) it first if needed, with the DPoP key it is bound to, if any. A refusal by the OP ends
/// the session (401 `session_expired`); an unreachable OP is a 503/504 and keeps it.
pub async fn token_for(
    state: &AppState,
    id: &str,
    session: Session,
    which: Which<'_>,
) -> Result<(String, Option<DpopKey>), AppError> {
    let session = ensure_fresh(state, id, session, which).await?;
    let token = which
        .token(&session)
        .map(|(token, _)| token.to_owned())
        .ok_or(AppError::SessionExpired)?;
    Ok((token, which.key(&session)))
}

/// The session with access token `which` good for at least the refresh margin, refreshing it if needed.
/// A refusal by the OP ends the session (401 `session_expired`); an unreachable OP is a 503/504 and keeps it.
///
/// Two locks: the in-process one lines up this replica's requests; the store's lease lock (Redis) lines up the
/// replicas, which poll until the holder is done and then use the session it stored. Both are per session,
/// whichever the token: every refresh-token grant rotates the one refresh token.
pub async fn ensure_fresh(
    state: &AppState,
    id: &str,
    session: Session,
    which: Which<'_>,
) -> Result<Session, AppError> {
    let margin = state.config.session.refresh_margin_secs;
    if !is_due(&session, which, margin, now()) {
        return Ok(session);
    }
    let lock = state.refresh_locks.for_session(id);
    let queued_at = Instant::now();
    let mut last_failure = lock.lock().await;
    if let Some(shared) = last_failure.since(queued_at) {
        return Err(shared);
    }
    // Boxed: the refresh (token endpoint, ID token checks, userinfo, store) is the large part of a proxied call's
    // state machine and runs once per token lifetime; inline, every call's future carried its space and was
    // copied with it (into the call's box, and back out of the functions that build it).
    let result = Box::pin(refresh_across_replicas(state, id, which, margin)).await;
    last_failure.record(&result);
    result
}

/// Under the in-process lock: re-reads the session, takes the store's lease lock and refreshes.
async fn refresh_across_replicas(
    state: &AppState,
    id: &str,
    which: Which<'_>,
    margin: i64,
) -> Result<Session, AppError> {
    // Whoever held the lock before us may have refreshed already: read again.
    let session = fresh_read(state, id).await?;
    if !is_due(&session, which, margin, now()) {
        return Ok(session);
    }
    let owner = random_token();
    // Long enough for a refresh (token request and, at worst, a key fetch); bounded if its holder dies.
    let lease = Duration::from_secs(2 * state.config.oidc.http_timeout_secs + 5);
    let deadline = Instant::now() + lease + Duration::from_secs(1);
    while !state.sessions.lock_refresh(id, &owner, lease).await? {
        if Instant::now() > deadline {
            return Err(AppError::OpTimeout);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let session = fresh_read(state, id).await?;
        if !is_due(&session, which, margin, now()) {
            return Ok(session);
        }
    }
    let result = refresh_locked(state, id, which, margin).await;
    if let Err(e) = state.sessions.unlock_refresh(id, &owner).await {
        // The lease ends it anyway.
        tracing::warn!(error = %e, "refresh lock not released");
    }
    result
}

async fn fresh_read(state: &AppState, id: &str) -> Result<Session, AppError> {
    state
        .sessions
        .get(id)
        .await?
        .ok_or(AppError::Unauthenticated)
}

/// The refresh itself, under both locks.
async fn refresh_locked(
    state: &AppState,
    id: &str,
    which: Which<'_>,
    margin: i64,
) -> Result<Session, AppError> {
    // Another replica may have refreshed between our read and our lock.
    let session = fresh_read(state, id).await?;
    if !is_due(&session, which, margin, now()) {
        return Ok(session);
    }
    let Some(refresh_token) = session.refresh_token.clone() else {
        return expired_unless_still_valid(state, id, session, which).await;
    };
    let upstream = match which {
        Which::Main => None,
        Which::Upstream(_, api) => Some(api),
    };
    let provider = state.provider.get()?;
    let token::Granted { tokens, dpop_key } = match token::refresh(
        state.op_http.here(),
        &provider.metadata,
        &state.config,
        &refresh_token,
        upstream,
        session.dpop_key.as_ref().map(|key| Dpop {
            key,
            nonces: &state.dpop_nonces,
        }),
    )
    .await
    {
        Ok(tokens) => tokens,
        Err(AppError::TokenEndpoint(TokenEndpointError::OAuth { error, .. })) => {
            tracing::info!(%error, "refresh refused by the OP; ending the session");
            return end_refused(state, id).await;
        }
        Err(other) => {
            state.metrics.refresh("error");
            return Err(other);
        }
    };
    let mut renewed = session.clone();
    if let Some(raw) = tokens.id_token.as_deref() {
        let refresh = Refresh {
            issuer: &session.issuer,
            client_id: &state.config.oidc.client_id,
            sub: &session.user.sub,
            leeway_secs: state.config.oidc.leeway_secs,
        };
        let set = provider.keys_for(Some(raw)).await?;
        let verifier = verifier();
        let ctx = Context::new(provider.keys(&set), now(), &verifier);
        if let Err(e) = verify_refreshed_id_token(raw, refresh, ctx).await {
            tracing::warn!(
                rule = e.rule(),
                "refreshed ID token refused; ending the session"
            );
            return end_refused(state, id).await;
        }
        renewed.id_token = raw.to_owned();
    }
    let t = now();
    let expires_at = tokens.expires_in.map(|e| t + e);
    match which {
        Which::Main => {
            renewed.dpop_key = dpop_key;
            renewed.access_token = tokens.access_token;
            renewed.access_token_expires_at = expires_at;
        }
        Which::Upstream(name, _) => {
            let token = UpstreamToken {
                access_token: tokens.access_token,
                expires_at,
                bearer: session.dpop_key.is_some() && dpop_key.is_none(),
            };
            renewed.upstream_tokens.insert(name.to_owned(), token);
        }
    }
    if matches!(which, Which::Main) && state.config.oidc.userinfo_refresh {
        if let Err(e) = reread_userinfo(state, provider, &mut renewed).await {
            tracing::warn!(
                error = e.code(),
                "userinfo refused after a refresh; ending the session"
            );
            return end_refused(state, id).await;
        }
    }
    // Rotation: a new refresh token replaces the old one, which the OP no longer accepts.
    if tokens.refresh_token.is_some() {
        renewed.refresh_token = tokens.refresh_token;
    }
    // Only into the session still stored: a logout here or a back-channel logout may have ended it while the
    // OP answered. Then the tokens just obtained must not outlive it at the OP either.
    if !state.sessions.update(id, renewed.clone()).await? {
        tracing::info!("session ended during its refresh; revoking the tokens it obtained");
        state.metrics.refresh("ended");
        revoke_in_background(state, &provider.metadata, renewed.refresh_token);
        return Err(AppError::Unauthenticated);
    }
    state.metrics.refresh("ok");
    match which {
        Which::Main => tracing::info!("access token refreshed"),
        Which::Upstream(api, _) => tracing::info!(api, "upstream access token obtained"),
    }
    Ok(renewed)
}

/// Ends a session whose refresh was refused, by the OP or by the checks of what it answered: it cannot get a
/// good token again, so its next call is a 401 that signs in anew rather than the same refusal. One place, so
/// every kind of refusal is counted and ended alike.
async fn end_refused(state: &AppState, id: &str) -> Result<Session, AppError> {
    state.metrics.refresh("refused");
    state.sessions.remove(id).await?;
    Err(AppError::SessionExpired)
}

/// `oidc.userinfo_refresh`: reads userinfo again with the refreshed access token, so a profile changed at the OP
/// shows up in the session. A userinfo that cannot be read now keeps the claims shown so far (only the report
/// says it was unavailable), whatever the mode: the session was established with them, and a blip at the OP
/// must not end it. An error (a `sub` other than the session's, a bad signature) means the session must end.
async fn reread_userinfo(
    state: &AppState,
    provider: &crate::oidc::Provider,
    renewed: &mut Session,
) -> Result<(), AppError> {
    let merged = match userinfo::read_and_merge(
        state,
        provider,
        &renewed.access_token,
        &renewed.user.sub,
        &renewed.id_token,
        renewed.dpop_key.as_ref(),
    )
    .await
    {
        Ok(merged) => merged,
        Err(AppError::UserinfoUnavailable(reason)) => {
            renewed.userinfo = UserinfoReport {
                status: UserinfoStatus::Unavailable,
                reason: Some(reason.to_owned()),
                elapsed_ms: None,
                signed: false,
            };
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    if merged.report.status == UserinfoStatus::Ok {
        renewed.user = user_of(&merged.claims);
        renewed.claims = merged.claims;
    }
    renewed.userinfo = merged.report;
    Ok(())
}

/// Revokes `refresh_token` at the OP off the request path (the caller's answer does not depend on it). With
/// it goes, at OPs that tie them to it (RFC 7009 2.1), the access token of the same grant.
fn revoke_in_background(
    state: &AppState,
    metadata: &crate::oidc::discovery::Metadata,
    refresh_token: Option<String>,
) {
    let Some(refresh_token) = refresh_token else {
        return;
    };
    let (http, config, metadata) = (
        state.op_http.here().clone(),
        state.config.clone(),
        metadata.clone(),
    );
    tokio::spawn(async move { token::revoke(&http, &metadata, &config, &refresh_token).await });
}

async fn expired_unless_still_valid(
    state: &AppState,
    id: &str,
    session: Session,
    which: Which<'_>,
) -> Result<Session, AppError> {
    // Without a refresh token, an upstream token that was never obtained never will be.
    let expired = match which.token(&session) {
        Some((_, expires_at)) => expires_at.is_some_and(|exp| now() >= exp),
        None => true,
    };
    if expired {
        state.sessions.remove(id).await?;
        return Err(AppError::SessionExpired);
    }
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            access_token: "MAIN-TOKEN".into(),
            refresh_token: Some("REFRESH".into()),
            access_token_expires_at: Some(1000),
            ..Session::for_tests(0)
        }
    }

    #[test]
    fn an_upstream_token_is_due_when_absent_or_within_the_margin() {
        let config = crate::config::fixture::config(
            r#"
            [apis.b]
            url = "http://127.0.0.1:4002"
            resource = "urn:b"
            "#,
        );
        let api = &config.apis["b"];
        let which = Which::Upstream("b", api);
        let mut s = session();
        assert!(!is_due(&s, Which::Main, 60, 900));
        assert!(is_due(&s, which, 60, 900), "never obtained");
        s.upstream_tokens.insert(
            "b".into(),
            UpstreamToken {
                access_token: "UPSTREAM-TOKEN".into(),
                expires_at: Some(2000),
                bearer: false,
            },
        );
        assert!(!is_due(&s, which, 60, 1900));
        assert!(is_due(&s, which, 60, 1940));
        assert_eq!(which.token(&s).unwrap().0, "UPSTREAM-TOKEN");
        let debug = format!("{s:?} {:?}", s.upstream_tokens);
        assert!(!debug.contains("TOKEN"), "{debug}");
    }

    #[test]
    fn an_upstream_token_answered_bearer_goes_out_without_the_sessions_key() {
        let config = crate::config::fixture::config(
            "[apis.b]\nurl = \"http://127.0.0.1:4002\"\nresource = \"urn:b\"\n",
        );
        let which = Which::Upstream("b", &config.apis["b"]);
        let mut s = session();
        s.dpop_key = Some(DpopKey::generate());
        let mut token = UpstreamToken {
            access_token: "UPSTREAM-TOKEN".into(),
            expires_at: None,
            bearer: true,
        };
        s.upstream_tokens.insert("b".into(), token.clone());
        assert!(which.key(&s).is_none());
        assert!(
            Which::Main.key(&s) == s.dpop_key,
            "the session's own stays bound"
        );
        token.bearer = false;
        s.upstream_tokens.insert("b".into(), token);
        assert!(which.key(&s) == s.dpop_key);
    }

    #[test]
    fn sessions_sealed_before_upstream_tokens_still_open() {
        let mut json = serde_json::to_value(session()).unwrap();
        json.as_object_mut().unwrap().remove("upstream_tokens");
        let old: Session = serde_json::from_value(json).unwrap();
        assert!(old.upstream_tokens.is_empty());
    }
}

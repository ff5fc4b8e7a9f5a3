//! An ID token that comes back from a refresh (Core 12.2): signed by the OP, for this client, not expired, and
//! about the same user at the same OP as the sign-in. There is no nonce to hold it against: the request that
//! produced it carried none.

use super::claims::IdTokenClaims;
use super::id_token::{
    check_aud, check_azp, check_exp, check_iat, check_iss, check_same_subject, check_sub,
};
use super::{verify_signature, Context, SignatureVerifier};
use crate::error::ValidationError;
use crate::jose::jws::CompactJws;

/// What the sign-in established, which a refreshed ID token must keep.
#[derive(Debug, Clone, Copy)]
pub struct Refresh<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The subject of the session.
    pub sub: &'a str,
    pub leeway_secs: i64,
}

/// Verifies a refreshed ID token and returns its claims.
pub async fn verify_refreshed_id_token<V: SignatureVerifier>(
    raw: &str,
    refresh: Refresh<'_>,
    ctx: Context<'_, V>,
) -> Result<IdTokenClaims, ValidationError> {
    let now = ctx.now;
    let jws = CompactJws::parse(raw)?;
    let claims = IdTokenClaims::from_json(&verify_signature(&jws, ctx).await?)?;
    check_sub(&claims)?;
    let original = IdTokenClaims {
        iss: Some(refresh.issuer.to_owned()),
        sub: Some(refresh.sub.to_owned()),
        ..Default::default()
    };
    check_same_subject(&original, &claims)?;
    check_iss(&claims, refresh.issuer)?;
    check_aud(&claims, refresh.client_id, &[])?;
    check_azp(&claims, refresh.client_id)?;
    check_exp(&claims, now, refresh.leeway_secs)?;
    check_iat(&claims, now, refresh.leeway_secs)?;
    Ok(claims)
}

//! `GET /bff/jwks.json`: this client's public signing keys, for an OP that reads a `private_key_jwt` client's
//! keys from its registered `jwks_uri` (and so picks up a rotation without re-registration).

use crate::state::AppState;
use axum::extract::State;
use axum::Json;

/// The public halves of `oidc.client_keys` (an empty set when none is configured). Made from public components
/// only (see [`shared::jose::public_jwk`]), so no private member can appear here.
pub async fn client_jwks(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(state.config.oidc.client_keys.public_jwks())
}

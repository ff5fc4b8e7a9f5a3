//! `GET /bff/apis`: which upstreams the BFF forwards to, so the SPA's API console can offer them. Names,
//! methods and path prefixes only: upstream URLs stay private to the BFF.

use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use shared::api::{ApiCatalog, ApiEntry};

/// Lists the configured APIs in name order.
pub async fn list(State(state): State<AppState>) -> Json<ApiCatalog> {
    Json(catalog(&state.config.apis))
}

fn catalog(apis: &std::collections::BTreeMap<String, crate::config::ApiConfig>) -> ApiCatalog {
    ApiCatalog {
        apis: apis
            .iter()
            .map(|(name, api)| ApiEntry {
                name: name.clone(),
                methods: api.methods.iter().map(|m| m.as_str().to_owned()).collect(),
                path_prefix: api.path_prefix.clone(),
                token: api.token,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_names_methods_and_prefixes_but_not_urls() {
        let config = crate::config::fixture::config(
            r#"
            [apis.demo]
            url = "http://127.0.0.1:9/secret-upstream"
            methods = ["get", "POST"]
            path_prefix = "/v1/"
            [apis.public]
            url = "http://127.0.0.1:9/"
            token = false
            "#,
        );
        let catalog = catalog(&config.apis);
        let json = serde_json::to_string(&catalog).unwrap();
        assert!(!json.contains("secret-upstream"), "{json}");
        assert_eq!(catalog.apis[0].name, "demo");
        assert_eq!(catalog.apis[0].methods, ["GET", "POST"]);
        assert_eq!(catalog.apis[0].path_prefix, "/v1/");
        assert!(catalog.apis[0].token);
        assert_eq!(catalog.apis[1].name, "public");
        assert!(!catalog.apis[1].token);
    }
}

//! The security headers of the shipped nginx config, sent by the BFF itself when it serves the SPA
//! (`static_dir`, single-binary mode), so that mode is not weaker than the nginx one.
//!
//! There is one source: `deploy/nginx/security-headers.conf`, compiled in and read here, so the two deployments
//! cannot drift apart. Its nginx variables are filled as an operator fills them for nginx: `$hybrid_csp_hashes`
//! and `$hybrid_style_hashes` with the hashes of the inline `<script>`/`<style>` elements of the served
//! `index.html` (what `deploy/nginx/csp-hashes.sh` prints), recomputed when the file changes; `$hybrid_op_origin`
//! with the OP's origins the SPA fetches from (the issuer's and, once discovery has loaded, the key set's).

use crate::config::Config;
use crate::oidc::ProviderSlot;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// The nginx snippet every location of `deploy/nginx/hybrid.conf` includes.
const NGINX_SNIPPET: &str = include_str!("../../deploy/nginx/security-headers.conf");

/// The headers sent on every answer in single-binary mode, not only the SPA's: they cost nothing on JSON and
/// keep a browser from sniffing an API answer into a script, or leaking the page's URL in `Referer`.
const EVERY_ANSWER: [&str; 2] = ["x-content-type-options", "referrer-policy"];

/// The snippet's `add_header NAME "VALUE" always;` lines, in order, with nginx variables unexpanded.
fn snippet_headers() -> Vec<(HeaderName, String)> {
    NGINX_SNIPPET
        .lines()
        .map(str::trim)
        .filter_map(|line| line.strip_prefix("add_header "))
        .map(|rest| {
            let (name, value) = rest
                .trim()
                .split_once(char::is_whitespace)
                .expect("security-headers.conf: `add_header NAME \"VALUE\" always;`");
            let value = value
                .trim()
                .strip_prefix('"')
                .and_then(|v| v.split_once('"'))
                .map(|(v, _)| v)
                .expect("security-headers.conf: header values are quoted");
            let name = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
                .expect("security-headers.conf: valid header names");
            (name, value.to_owned())
        })
        .collect()
}

/// The CSP hash sources (`'sha256-…'`) of the inline elements `tag` (`script` or `style`) of `html`: those
/// without a `src` attribute, hashed over their exact text, as `deploy/nginx/csp-hashes.sh` does.
pub fn inline_hashes(html: &str, tag: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut hashes = Vec::new();
    let mut at = 0;
    while let Some(found) = lower[at..].find(&open) {
        let start = at + found + open.len();
        // `<scripts>` or `<style-x>` are other elements.
        if lower[start..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            at = start;
            continue;
        }
        let Some(attrs_end) = lower[start..].find('>').map(|i| start + i) else {
            break;
        };
        let Some(body_end) = lower[attrs_end..].find(&close).map(|i| attrs_end + i) else {
            break;
        };
        if !has_src(&lower[start..attrs_end]) {
            let digest = Sha256::digest(&html.as_bytes()[attrs_end + 1..body_end]);
            hashes.push(format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
        }
        at = body_end + close.len();
    }
    hashes
}

/// Whether lower-cased tag attributes have a `src` attribute (`src=`, `src =`), not merely a name ending in it.
fn has_src(attrs: &str) -> bool {
    attrs.match_indices("src").any(|(i, _)| {
        let word_start = attrs[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        word_start && attrs[i + 3..].trim_start().starts_with('=')
    })
}

/// The snippet's headers, filled for this deployment, for the SPA's answers.
pub struct SpaHeaders {
    template: Vec<(HeaderName, String)>,
    index: PathBuf,
    issuer_origin: String,
    provider: Arc<ProviderSlot>,
    /// The filled headers and what they were filled from: `index.html`'s modification time and length, and
    /// whether the key set's origin was known.
    filled: Mutex<Option<(FillKey, Arc<Filled>)>>,
}

type FillKey = (Option<SystemTime>, u64, bool);
type Filled = Vec<(HeaderName, HeaderValue)>;

impl SpaHeaders {
    /// For the SPA in `dir`, against the configured OP.
    pub fn new(config: &Config, provider: Arc<ProviderSlot>, dir: &Path) -> SpaHeaders {
        let issuer_origin = url::Url::parse(&config.oidc.issuer)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        SpaHeaders {
            template: snippet_headers(),
            index: dir.join("index.html"),
            issuer_origin,
            provider,
            filled: Mutex::default(),
        }
    }

    /// The headers for now: refilled when `index.html` was replaced (a deploy without a restart) or discovery
    /// has loaded since.
    fn current(&self) -> Arc<Filled> {
        let meta = std::fs::metadata(&self.index).ok();
        let key = (
            meta.as_ref().and_then(|m| m.modified().ok()),
            meta.as_ref().map_or(0, |m| m.len()),
            self.provider.is_loaded(),
        );
        let mut filled = self.filled.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((k, headers)) = filled.as_ref() {
            if *k == key {
                return headers.clone();
            }
        }
        let headers = Arc::new(self.fill());
        *filled = Some((key, headers.clone()));
        headers
    }

    fn fill(&self) -> Filled {
        let html = std::fs::read_to_string(&self.index).unwrap_or_default();
        let mut op_origins = vec![self.issuer_origin.clone()];
        if let Ok(provider) = self.provider.get() {
            let keys = provider.metadata.jwks_uri.origin().ascii_serialization();
            if !op_origins.contains(&keys) {
                op_origins.push(keys);
            }
        }
        let vars = [
            (
                "$hybrid_csp_hashes",
                inline_hashes(&html, "script").join(" "),
            ),
            (
                "$hybrid_style_hashes",
                inline_hashes(&html, "style").join(" "),
            ),
            ("$hybrid_op_origin", op_origins.join(" ")),
        ];
        self.template
            .iter()
            .filter_map(|(name, value)| {
                let value = vars
                    .iter()
                    .fold(value.clone(), |v, (var, with)| v.replace(var, with));
                // Empty variables leave double spaces and `x ;`, which browsers accept; tidy them anyway.
                let value = value
                    .split(';')
                    .map(|d| d.split_whitespace().collect::<Vec<_>>().join(" "))
                    .filter(|d| !d.is_empty())
                    .collect::<Vec<_>>()
                    .join("; ");
                Some((name.clone(), HeaderValue::from_str(&value).ok()?))
            })
            .collect()
    }
}

/// Middleware on the SPA's answers: the whole snippet (CSP, `frame-ancestors`, nosniff, Referrer-Policy, ...).
pub async fn spa(State(headers): State<Arc<SpaHeaders>>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    for (name, value) in headers.current().iter() {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

/// Every answer in single-binary mode gets the headers of [`EVERY_ANSWER`], unless it has its own (an upstream
/// API's, passed through). A plain function rather than a middleware, so [`crate::app::router`] can map the
/// answers of the `/api` calls and of the router alike without a boxed future per request.
pub fn every_answer(mut response: Response) -> Response {
    static HEADERS: std::sync::OnceLock<Vec<(HeaderName, HeaderValue)>> =
        std::sync::OnceLock::new();
    let headers = HEADERS.get_or_init(|| {
        snippet_headers()
            .into_iter()
            .filter(|(name, _)| EVERY_ANSWER.contains(&name.as_str()))
            .filter_map(|(name, value)| Some((name, HeaderValue::from_str(&value).ok()?)))
            .collect()
    });
    for (name, value) in headers {
        if !response.headers().contains_key(name) {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nginx_snippet_parses_and_uses_only_known_variables() {
        let headers = snippet_headers();
        let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
        for needed in [
            "content-security-policy",
            "x-content-type-options",
            "referrer-policy",
        ] {
            assert!(names.contains(&needed), "{needed} in {names:?}");
        }
        for name in EVERY_ANSWER {
            assert!(names.contains(&name), "{name} in {names:?}");
        }
        let csp = &headers
            .iter()
            .find(|(n, _)| n == "content-security-policy")
            .unwrap()
            .1;
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        let known = [
            "$hybrid_csp_hashes",
            "$hybrid_style_hashes",
            "$hybrid_op_origin",
        ];
        for (name, value) in &headers {
            let mut rest = value.as_str();
            while let Some(i) = rest.find('$') {
                let var: String = rest[i..]
                    .chars()
                    .take_while(|c| *c == '$' || c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                assert!(known.contains(&var.as_str()), "{name}: unknown {var}");
                rest = &rest[i + 1..];
            }
        }
    }

    /// Expected values from `deploy/nginx/csp-hashes.sh` on the same text.
    #[test]
    fn inline_hashes_match_the_nginx_script() {
        let html = "<html><head><SCRIPT type=module>import x from '/x.js';</SCRIPT>\
                    <script src=\"/boot.js\"></script><script data-src='a'>1</script>\
                    <script defer>2</script><scripts>no</scripts><style>body{color:red}</style></head></html>";
        assert_eq!(
            inline_hashes(html, "script"),
            [
                "'sha256-WoFCsFhEoMFwEjDE8ADLRFtJsjO3uEXjcVp9UkzK+VU='",
                "'sha256-1HNeOiZeFu7gP1lxi5tdAwGcB9i2xR+Q2jpmbuwTqzU='"
            ]
        );
        assert_eq!(
            inline_hashes(html, "style"),
            ["'sha256-FcQqt3aNlV7AZnGV4zkQRVeCeJOxbMPnQSx258L803E='"]
        );
        assert!(inline_hashes("<p>no scripts</p>", "script").is_empty());
    }
}

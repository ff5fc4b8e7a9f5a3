//! Building the upstream URL from the configured base and the request's remaining path, refusing anything that
//! could climb out of the base (`..`, its encoded forms, backslashes, and the forms some upstream servers read as
//! `..`: with a path parameter, `..;x`, or cut at a NUL, `..%00`).

use crate::error::AppError;
use url::Url;

/// `base` + `/` + `rest` (+ `?query`), with every segment checked and `rest` required to be under `prefix`.
pub fn join(base: &Url, prefix: &str, rest: &str, query: Option<&str>) -> Result<Url, AppError> {
    let lowered = rest.to_ascii_lowercase();
    // Servlet containers drop a segment's `;` parameters before resolving dot segments.
    let dot_segment = |s: &str| matches!(s.split(';').next(), Some(".." | "."));
    let suspicious = rest.split('/').any(dot_segment)
        || lowered.contains("%2e")
        || lowered.contains("%2f")
        || lowered.contains("%5c")
        || rest.contains('\\')
        || rest.contains('\0');
    if suspicious {
        return Err(AppError::BadRequest("the API path is not allowed".into()));
    }
    let normalised = format!("/{}", rest.trim_start_matches('/'));
    let prefix_ok = prefix == "/"
        || normalised == prefix.trim_end_matches('/')
        || normalised.starts_with(&format!("{}/", prefix.trim_end_matches('/')));
    if !prefix_ok {
        return Err(AppError::PathNotAllowed);
    }
    let mut url = base.clone();
    {
        let mut segments = url
            .path_segments_mut()
            .map_err(|_| AppError::BadRequest("the API base URL cannot take a path".into()))?;
        segments.pop_if_empty();
        for segment in rest.split('/').filter(|s| !s.is_empty()) {
            segments.push(segment);
        }
    }
    url.set_query(query);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_and_refuses_traversal() {
        let base = Url::parse("http://api.local/v1/").unwrap();
        assert_eq!(
            join(&base, "/", "users/7", Some("a=1")).unwrap().as_str(),
            "http://api.local/v1/users/7?a=1"
        );
        for bad in [
            "../admin",
            "a/../../b",
            "%2e%2e/x",
            "a%2Fb",
            "a\\b",
            "./x",
            "a/..;x/b",
            "a/..;/b",
            "a/..\0/b",
        ] {
            assert!(join(&base, "/", bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn stays_under_the_prefix() {
        let base = Url::parse("http://api.local/").unwrap();
        assert!(join(&base, "/public", "public/x", None).is_ok());
        assert!(join(&base, "/public/", "public", None).is_ok());
        assert!(join(&base, "/public", "publicity", None).is_err());
        assert!(join(&base, "/public", "admin", None).is_err());
    }
}

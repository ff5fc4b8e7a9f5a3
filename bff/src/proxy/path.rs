//! Building the upstream URL from the configured base and the request's remaining path, refusing anything that
//! could climb out of the base (`..`, its encoded forms, backslashes, and the forms some upstream servers read as
//! `..`: with a path parameter, `..;x`, or cut at a NUL, `..%00`).

use crate::error::AppError;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use url::{Position, Url};

/// `base` + `/` + `rest` (+ `?query`), as a URI string, with every segment checked and `rest` required to be
/// under `prefix`.
pub fn join(base: &Url, prefix: &str, rest: &str, query: Option<&str>) -> Result<String, AppError> {
    if suspicious(rest) {
        return Err(AppError::BadRequest("the API path is not allowed".into()));
    }
    if !under(prefix, rest) {
        return Err(AppError::PathNotAllowed);
    }
    // The base's scheme, authority and path as configured (its query, if any, gives way to the request's),
    // then each segment percent-encoded as `url`'s `path_segments_mut().push` does it, then the query as
    // `Url::set_query` encodes it: the same URI the proxy sent when it built a `Url` per call, without the
    // clone and re-serialisation (`tests::same_as_the_url_crate` holds them equal).
    let base_path = &base[..Position::AfterPath];
    let mut out =
        String::with_capacity(base_path.len() + rest.len() + query.map_or(0, str::len) + 2);
    out.push_str(base_path.strip_suffix('/').unwrap_or(base_path));
    let mut pushed = false;
    for segment in rest.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        out.extend(utf8_percent_encode(segment, PATH_SEGMENT));
        pushed = true;
    }
    if !pushed && out.len() == base[..Position::BeforePath].len() {
        // Nothing of a path left: an http(s) URL's path is at least `/`.
        out.push('/');
    }
    if let Some(query) = query {
        out.push('?');
        out.extend(utf8_percent_encode(query, SPECIAL_QUERY));
    }
    Ok(out)
}

/// Whether `rest` could climb out of the base: a `.` or `..` segment (also with `;` parameters, which servlet
/// containers drop before resolving dot segments), an encoded dot, slash or backslash in either case, a
/// backslash, or a NUL. One pass over the bytes for the encoded forms, no lower-cased copy: this runs on every
/// proxied call.
fn suspicious(rest: &str) -> bool {
    let dot_segment = |s: &str| matches!(s.split(';').next(), Some(".." | "."));
    // `b | 0x20` lower-cases an ASCII letter and maps no other byte to `e`, `f` or `c`.
    let encoded = |w: &[u8]| {
        w[0] == b'%' && matches!((w[1], w[2] | 0x20), (b'2', b'e' | b'f') | (b'5', b'c'))
    };
    rest.split('/').any(dot_segment)
        || rest.as_bytes().windows(3).any(encoded)
        || rest.contains(['\\', '\0'])
}

/// Whether `rest`, read as the path `/` + `rest` without its leading slashes, is `prefix` (without its trailing
/// slashes) or under it.
fn under(prefix: &str, rest: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        return true;
    }
    // The path begins with `/`: a prefix that does not can be neither it nor above it.
    let Some(prefix) = prefix.strip_prefix('/') else {
        return false;
    };
    let rest = rest.trim_start_matches('/');
    rest.strip_prefix(prefix)
        .is_some_and(|after| after.is_empty() || after.starts_with('/'))
}

/// `url`'s encode sets (WHATWG URL 1.3): a path segment's, and a special scheme's query's.
const FRAGMENT: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'<').add(b'>').add(b'`');
const PATH: &AsciiSet = &FRAGMENT.add(b'#').add(b'?').add(b'{').add(b'}');
const PATH_SEGMENT: &AsciiSet = &PATH.add(b'/').add(b'%');
const SPECIAL_QUERY: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'\'');

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_and_refuses_traversal() {
        let base = Url::parse("http://api.local/v1/").unwrap();
        assert_eq!(
            join(&base, "/", "users/7", Some("a=1")).unwrap(),
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

    /// The URL as the proxy built it before: a `Url` per call.
    fn with_url_crate(base: &Url, rest: &str, query: Option<&str>) -> String {
        let mut url = base.clone();
        {
            let mut segments = url.path_segments_mut().unwrap();
            segments.pop_if_empty();
            for segment in rest.split('/').filter(|s| !s.is_empty()) {
                segments.push(segment);
            }
        }
        url.set_query(query);
        url.to_string()
    }

    /// The rules as they were written before [`suspicious`] and [`under`]: a lower-cased copy searched three
    /// times, and the path built with `format!` and compared.
    fn suspicious_and_under_as_before(prefix: &str, rest: &str) -> (bool, bool) {
        let lowered = rest.to_ascii_lowercase();
        let dot_segment = |s: &str| matches!(s.split(';').next(), Some(".." | "."));
        let suspicious = rest.split('/').any(dot_segment)
            || lowered.contains("%2e")
            || lowered.contains("%2f")
            || lowered.contains("%5c")
            || rest.contains('\\')
            || rest.contains('\0');
        let normalised = format!("/{}", rest.trim_start_matches('/'));
        let under = prefix == "/"
            || normalised == prefix.trim_end_matches('/')
            || normalised.starts_with(&format!("{}/", prefix.trim_end_matches('/')));
        (suspicious, under)
    }

    proptest::proptest! {
        /// The same verdicts as before, on paths and prefixes made of what the rules look at.
        #[test]
        fn same_verdicts_as_before(
            prefix in "[/pa.%2eE]{0,8}",
            rest in "[/pa.;%25eEfFcC\\\\\u{0}\u{e9}]{0,16}",
        ) {
            let now = (suspicious(&rest), under(&prefix, &rest));
            proptest::prop_assert_eq!(now, suspicious_and_under_as_before(&prefix, &rest));
        }
    }

    proptest::proptest! {
        #[test]
        fn same_as_the_url_crate(
            base in proptest::sample::select(vec![
                "http://api.local/", "http://api.local", "https://api.local:8443/v1/", "http://127.0.0.1:9/v1",
                "http://u:p@api.local/a/b/?old=1", "https://xn--bcher-kva.example/x//",
            ]),
            rest in "[a-zA-Z0-9/%;:@&=+$,!~*'()\\[\\] \"<>`{}|^#?\u{e9}\u{1F600}.-]{0,24}",
            query in proptest::option::of("[a-zA-Z0-9=&%+ \"'<>#`{}|^\\\\/?:@!$,;*()\u{e9}-]{0,16}"),
        ) {
            let base = Url::parse(base).unwrap();
            if let Ok(ours) = join(&base, "/", &rest, query.as_deref()) {
                proptest::prop_assert_eq!(ours, with_url_crate(&base, &rest, query.as_deref()));
            }
        }
    }
}

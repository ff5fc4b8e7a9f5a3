//! A server's demand for a DPoP nonce (RFC 9449 8, 9): at the token endpoint a JSON error `use_dpop_nonce`, at a
//! resource server a `WWW-Authenticate: DPoP error="use_dpop_nonce"` challenge, each with the nonce in a
//! `DPoP-Nonce` header. The challenge header is parsed by the grammar of RFC 9110 11.6.1, so a server listing
//! several challenges (`Bearer, DPoP error=...`) is read right.

/// The error code of both demands.
pub const USE_DPOP_NONCE: &str = "use_dpop_nonce";

/// One challenge of a `WWW-Authenticate` header: its scheme and either its parameters or a token68.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The authentication scheme as written (compare case-insensitively).
    pub scheme: String,
    /// Parameter names lower-cased (they are case-insensitive), values unquoted.
    pub params: Vec<(String, String)>,
    /// The challenge's token68, for schemes that carry one instead of parameters (`Basic` does).
    pub token68: Option<String>,
}

impl Challenge {
    /// The value of parameter `name` (lower case).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a `WWW-Authenticate` value does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// A character where the grammar allows none (at this byte offset).
    #[error("unexpected character at byte {0}")]
    Unexpected(usize),
    /// A quoted string that never closes.
    #[error("a quoted string is not closed")]
    UnterminatedQuote,
    /// A parameter before any scheme.
    #[error("a parameter comes before any scheme")]
    ParamWithoutScheme,
}

/// The challenges of a `WWW-Authenticate` value, in order.
pub fn challenges(value: &str) -> Result<Vec<Challenge>, ChallengeError> {
    let mut p = Parser {
        b: value.as_bytes(),
        i: 0,
    };
    let mut out: Vec<Challenge> = Vec::new();
    loop {
        p.skip(|c| matches!(c, b' ' | b'\t' | b','));
        if p.i >= p.b.len() {
            return Ok(out);
        }
        let name = p.token()?;
        let spaced = p.skip(|c| matches!(c, b' ' | b'\t')) > 0;
        if p.peek() == Some(b'=') {
            p.i += 1;
            p.skip(|c| matches!(c, b' ' | b'\t'));
            let value = if p.peek() == Some(b'"') {
                p.quoted()?
            } else {
                p.token()?
            };
            let challenge = out.last_mut().ok_or(ChallengeError::ParamWithoutScheme)?;
            challenge.params.push((name.to_ascii_lowercase(), value));
        } else {
            let token68 = if spaced { p.token68() } else { None };
            out.push(Challenge {
                scheme: name,
                params: Vec::new(),
                token68,
            });
        }
    }
}

/// Whether an answer demands a DPoP nonce: a `WWW-Authenticate` with a DPoP challenge whose `error` is
/// `use_dpop_nonce` (a resource server), or the OAuth error `use_dpop_nonce` (the token endpoint). An
/// unparseable header demands nothing: the answer is then taken as the refusal it is.
pub fn nonce_demanded(www_authenticate: Option<&str>, oauth_error: Option<&str>) -> bool {
    let by_challenge = www_authenticate
        .and_then(|v| challenges(v).ok())
        .is_some_and(|all| {
            all.iter().any(|c| {
                c.scheme.eq_ignore_ascii_case(super::SCHEME)
                    && c.param("error") == Some(USE_DPOP_NONCE)
            })
        });
    by_challenge || oauth_error == Some(USE_DPOP_NONCE)
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

/// RFC 9110 5.6.2 `tchar`.
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// RFC 9110 11.2 `token68` characters, before its trailing `=`s.
fn is_token68_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~+/".contains(&c)
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Skips bytes while `f` holds; answers how many.
    fn skip(&mut self, f: impl Fn(u8) -> bool) -> usize {
        let start = self.i;
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
        self.i - start
    }

    fn token(&mut self) -> Result<String, ChallengeError> {
        let start = self.i;
        if self.skip(is_tchar) == 0 {
            return Err(ChallengeError::Unexpected(start));
        }
        Ok(String::from_utf8_lossy(&self.b[start..self.i]).into_owned())
    }

    /// A token68 after a scheme, if what follows is one (it ends at the end or at a comma); else nothing is
    /// consumed and what follows is read as parameters.
    fn token68(&mut self) -> Option<String> {
        let start = self.i;
        if self.skip(is_token68_char) == 0 {
            return None;
        }
        self.skip(|c| c == b'=');
        let end = self.i;
        self.skip(|c| matches!(c, b' ' | b'\t'));
        if matches!(self.peek(), None | Some(b',')) {
            return Some(String::from_utf8_lossy(&self.b[start..end]).into_owned());
        }
        self.i = start;
        None
    }

    /// A quoted-string (RFC 9110 5.6.4), unescaped.
    fn quoted(&mut self) -> Result<String, ChallengeError> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(ChallengeError::UnterminatedQuote),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                Some(b'\\') => {
                    self.i += 1;
                    let escaped = self.peek().ok_or(ChallengeError::UnterminatedQuote)?;
                    out.push(escaped);
                    self.i += 1;
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_dpop_nonce_challenge_among_others() {
        let value = r#"Bearer realm="api", DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof", algs="ES256 PS256""#;
        let all = challenges(value).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].scheme, "Bearer");
        assert_eq!(all[0].param("realm"), Some("api"));
        assert_eq!(all[1].param("error"), Some("use_dpop_nonce"));
        assert_eq!(all[1].param("algs"), Some("ES256 PS256"));
        assert!(nonce_demanded(Some(value), None));
    }

    #[test]
    fn token68_escapes_and_case() {
        let all = challenges(r#"Basic dXNlcjpwYXNz==, dpop ERROR = "a\"b""#).unwrap();
        assert_eq!(all[0].token68.as_deref(), Some("dXNlcjpwYXNz=="));
        assert_eq!(all[1].scheme, "dpop");
        assert_eq!(all[1].param("error"), Some("a\"b"));
        assert!(nonce_demanded(Some(r#"dpop error="use_dpop_nonce""#), None));
    }

    #[test]
    fn other_errors_and_bearer_nonce_errors_demand_nothing() {
        assert!(!nonce_demanded(Some(r#"DPoP error="invalid_token""#), None));
        assert!(!nonce_demanded(
            Some(r#"Bearer error="use_dpop_nonce""#),
            None
        ));
        assert!(!nonce_demanded(Some(r#"DPoP error="use_dpop_nonce"#), None));
        assert!(!nonce_demanded(None, Some("invalid_grant")));
        assert!(nonce_demanded(None, Some("use_dpop_nonce")));
    }

    #[test]
    fn malformed_values_are_errors() {
        assert_eq!(
            challenges("error=x"),
            Err(ChallengeError::ParamWithoutScheme)
        );
        assert_eq!(
            challenges(r#"DPoP a="x"#),
            Err(ChallengeError::UnterminatedQuote)
        );
        assert_eq!(challenges("DPoP a=;"), Err(ChallengeError::Unexpected(7)));
        assert_eq!(challenges("").unwrap(), Vec::new());
    }
}

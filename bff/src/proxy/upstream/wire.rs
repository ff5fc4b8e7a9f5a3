//! HTTP/1.1 as the proxy speaks it to an upstream (RFC 9112): the request head it writes, the response head it
//! reads and how that response's body is framed, and the chunked coding. Pure functions over bytes, so each
//! framing rule is tested here rather than through a server.
//!
//! Strict where a lenient reading could make the BFF and the upstream disagree on where a message ends (the root
//! of response smuggling): lines end in CRLF, a `Content-Length` is one decimal number (repeats must agree), and
//! a connection whose answer was framed in any doubtful way is never used again.

use crate::forward_headers::HOP_BY_HOP;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use bytes::{Buf, Bytes, BytesMut};

/// The longest response head read (status line and headers), as hyper's client allowed by default (~400 KB is
/// its hard limit; upstream heads are small, a few hundred bytes).
pub const MAX_HEAD: usize = 64 * 1024;

/// The most response headers read.
pub const MAX_HEADERS: usize = 128;

/// The longest chunk-size line (the size, and extensions that are ignored).
const MAX_CHUNK_LINE: usize = 4096;

/// Why an upstream's answer could not be read as HTTP/1.1.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    #[error("the response head is not valid HTTP/1.1")]
    Head,
    #[error("the response head is over {MAX_HEAD} bytes or {MAX_HEADERS} headers")]
    HeadTooLarge,
    #[error("the response has an invalid Content-Length")]
    ContentLength,
    #[error("the response switches protocols, which the proxy does not do")]
    SwitchingProtocols,
    #[error("the chunked body is malformed")]
    Chunked,
}

/// How the request's body is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestBody {
    /// No body.
    None,
    /// A body of this many bytes (`Content-Length`).
    Length(u64),
    /// A body of unknown length (`Transfer-Encoding: chunked`).
    Chunked,
}

/// Appends the request head to `out`: the request line in origin form, `Host` from `uri`, `headers` (minus any
/// header this hop must set itself), and the body's framing.
pub fn encode_request_head(
    out: &mut Vec<u8>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: RequestBody,
) {
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    out.extend_from_slice(if target.is_empty() {
        b"/"
    } else {
        target.as_bytes()
    });
    out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    if let Some(authority) = uri.authority() {
        out.extend_from_slice(authority.host().as_bytes());
        if let Some(port) = authority.port() {
            out.push(b':');
            out.extend_from_slice(port.as_str().as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        if is_set_by_this_hop(name) {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    match body {
        RequestBody::Length(n) => {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        RequestBody::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        // A method that defines a body says it is empty (RFC 9110 8.6), as hyper's client did.
        RequestBody::None if [Method::POST, Method::PUT, Method::PATCH].contains(method) => {
            out.extend_from_slice(b"content-length: 0\r\n")
        }
        RequestBody::None => {}
    }
    out.extend_from_slice(b"\r\n");
}

/// Headers whose value is this connection's, never a caller's: the proxy's allowlist already drops them, and this
/// keeps a future caller from framing the request twice.
fn is_set_by_this_hop(name: &HeaderName) -> bool {
    use axum::http::header;
    [
        header::HOST,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
    ]
    .contains(name)
}

/// Appends one chunk's framing before its `len` bytes of data.
pub fn encode_chunk_start(out: &mut Vec<u8>, len: usize) {
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    let mut n = len;
    loop {
        i -= 1;
        digits[i] = b"0123456789abcdef"[n & 15];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

/// The end of a chunked body: the last chunk and no trailers.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// How a response's body ends (RFC 9112 6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body (a HEAD request's answer, 204, 304).
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// The chunked coding.
    Chunked,
    /// Everything until the upstream closes the connection.
    UntilClose,
}

/// A parsed response head.
#[derive(Debug)]
pub struct ResponseHead {
    pub status: StatusCode,
    /// The end-to-end headers: what describes the connection (hop-by-hop headers, those `Connection` names, and
    /// the length, which [`Framing`] carries) was read and left out.
    pub headers: HeaderMap,
    pub framing: Framing,
    /// Whether the connection may carry another request once this body is read.
    pub reusable: bool,
}

/// Parses the response head at the start of `buf` and removes it from `buf`. `Ok(None)`: more bytes are needed.
/// Interim answers (1xx but 101) are skipped: the request carries no `Expect`, so none of them means anything to
/// the proxy.
pub fn parse_response_head(
    buf: &mut BytesMut,
    request_method: &Method,
) -> Result<Option<ResponseHead>, WireError> {
    loop {
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut slots);
        let consumed = match response.parse(buf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
                return Err(WireError::HeadTooLarge)
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => return Err(WireError::HeadTooLarge),
            Err(_) => return Err(WireError::Head),
        };
        if consumed > MAX_HEAD {
            return Err(WireError::HeadTooLarge);
        }
        let code = response.code.ok_or(WireError::Head)?;
        let status = StatusCode::from_u16(code).map_err(|_| WireError::Head)?;
        if status == StatusCode::SWITCHING_PROTOCOLS {
            return Err(WireError::SwitchingProtocols);
        }
        if status.is_informational() {
            buf.advance(consumed);
            continue;
        }
        let http11 = response.version == Some(1);
        let mut headers = HeaderMap::with_capacity(response.headers.len());
        let (mut close, mut chunked, mut coded, mut length) = (false, false, false, None::<u64>);
        for h in response.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                // The body's framing states its length again; the header itself is not passed on.
                length = content_length(h.value, length)?;
                continue;
            }
            let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| WireError::Head)?;
            let value = HeaderValue::from_bytes(h.value).map_err(|_| WireError::Head)?;
            if name == axum::http::header::CONNECTION {
                close |= tokens(h.value).any(|t| t.eq_ignore_ascii_case(b"close"));
            } else if name == axum::http::header::TRANSFER_ENCODING {
                // Only the last coding decides whether the body is chunked (RFC 9112 6.3 item 4).
                coded = true;
                chunked = tokens(h.value)
                    .last()
                    .is_some_and(|t| t.eq_ignore_ascii_case(b"chunked"));
            }
            let connection = response
                .headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case("connection"));
            if !connection_specific(h.name, connection.map(|h| h.value)) {
                headers.append(name, value);
            }
        }
        buf.advance(consumed);
        let no_body = *request_method == Method::HEAD
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED;
        let framing = if no_body {
            Framing::Empty
        } else if coded && chunked {
            Framing::Chunked
        } else if coded {
            Framing::UntilClose
        } else if let Some(n) = length {
            Framing::Length(n)
        } else {
            Framing::UntilClose
        };
        // Both a coding and a length: the coding wins, and the connection is not trusted again (RFC 9112 6.3
        // item 3). HTTP/1.0 keep-alive is not worth its rules for an upstream.
        let reusable =
            http11 && !close && framing != Framing::UntilClose && !(coded && length.is_some());
        return Ok(Some(ResponseHead {
            status,
            headers,
            framing,
            reusable,
        }));
    }
}

/// The length `value` states, checked against the one `seen` before (a list of equal lengths is one length,
/// RFC 9110 8.6; anything else makes the answer's end unknowable).
fn content_length(value: &[u8], seen: Option<u64>) -> Result<Option<u64>, WireError> {
    if tokens(value).next().is_none() {
        return Err(WireError::ContentLength);
    }
    let mut length = seen;
    for t in tokens(value) {
        let n = decimal(t).ok_or(WireError::ContentLength)?;
        if length.is_some_and(|seen| seen != n) {
            return Err(WireError::ContentLength);
        }
        length = Some(n);
    }
    Ok(length)
}

/// Whether the header `name` describes one connection only, so that a proxy must not pass it on (RFC 9110
/// 7.6.1): a hop-by-hop header, or one that a `Connection` value of the same message names. The answer's head
/// drops these as it is parsed (rather than parsing them into its header map and removing each by name), and
/// the proxy applies the same rule to the browser's request.
pub fn connection_specific<'a>(name: &str, connection: impl IntoIterator<Item = &'a [u8]>) -> bool {
    HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h))
        || connection
            .into_iter()
            .flat_map(tokens)
            .any(|token| token.eq_ignore_ascii_case(name.as_bytes()))
}

/// The comma-separated tokens of a header value, trimmed, empty ones skipped.
fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
}

/// A `Content-Length`: decimal digits only (no sign, no spaces inside), at most 19 of them.
fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The chunked coding's reader (RFC 9112 7.1): data out as it arrives, extensions and trailers dropped.
#[derive(Debug, Default)]
pub struct Chunked {
    state: ChunkState,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// At a chunk-size line.
    #[default]
    Size,
    /// Inside a chunk's data, this much left.
    Data(u64),
    /// After a chunk's data, at its CRLF.
    DataEnd,
    /// After the last chunk, at the trailer section.
    Trailers,
    /// The body has ended.
    Done,
}

/// One step of [`Chunked::decode`].
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Body bytes.
    Data(Bytes),
    /// `buf` holds no complete next piece: read more.
    More,
    /// The body has ended.
    Done,
}

impl Chunked {
    /// Takes the next piece of the body from `buf`.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Step, WireError> {
        loop {
            match self.state {
                ChunkState::Done => return Ok(Step::Done),
                ChunkState::Size => {
                    let Some(end) = line_end(buf, MAX_CHUNK_LINE)? else {
                        return Ok(Step::More);
                    };
                    let line = &buf[..end];
                    let digits = line
                        .iter()
                        .position(|b| !b.is_ascii_hexdigit())
                        .map_or(line, |i| &line[..i]);
                    // After the size only whitespace or an extension may follow.
                    let rest = line[digits.len()..].trim_ascii_start();
                    if digits.is_empty()
                        || digits.len() > 15
                        || !(rest.is_empty() || rest[0] == b';')
                    {
                        return Err(WireError::Chunked);
                    }
                    let size = digits.iter().fold(0u64, |n, &d| {
                        n << 4 | u64::from((d as char).to_digit(16).unwrap_or(0))
                    });
                    buf.advance(end + 2);
                    self.state = if size == 0 {
                        ChunkState::Trailers
                    } else {
                        ChunkState::Data(size)
                    };
                }
                ChunkState::Data(left) => {
                    if buf.is_empty() {
                        return Ok(Step::More);
                    }
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                    let data = buf.split_to(n).freeze();
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(left)
                    };
                    return Ok(Step::Data(data));
                }
                ChunkState::DataEnd => {
                    if buf.len() < 2 {
                        return Ok(Step::More);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err(WireError::Chunked);
                    }
                    buf.advance(2);
                    self.state = ChunkState::Size;
                }
                ChunkState::Trailers => {
                    let Some(end) = line_end(buf, MAX_HEAD)? else {
                        return Ok(Step::More);
                    };
                    buf.advance(end + 2);
                    if end == 0 {
                        self.state = ChunkState::Done;
                    }
                }
            }
        }
    }
}

/// Where the CRLF ending the line at the start of `buf` is; `None` if it has not arrived. A bare LF or CR, or a
/// line over `max` bytes, is refused.
fn line_end(buf: &[u8], max: usize) -> Result<Option<usize>, WireError> {
    match buf.iter().position(|&b| b == b'\n' || b == b'\r') {
        Some(i) if buf[i] == b'\n' => Err(WireError::Chunked),
        Some(i) if i + 1 == buf.len() => Ok(None),
        Some(i) if buf[i + 1] == b'\n' => Ok(Some(i)),
        Some(_) => Err(WireError::Chunked),
        None if buf.len() > max => Err(WireError::Chunked),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str, method: Method) -> Result<Option<ResponseHead>, WireError> {
        let mut buf = BytesMut::from(text);
        parse_response_head(&mut buf, &method)
    }

    fn framing(text: &str) -> (Framing, bool) {
        let h = head(text, Method::GET).unwrap().unwrap();
        (h.framing, h.reusable)
    }

    #[test]
    fn request_head_in_origin_form_with_host_and_framing() {
        let mut headers = HeaderMap::new();
        headers.insert("accept", HeaderValue::from_static("*/*"));
        headers.insert("host", HeaderValue::from_static("evil"));
        headers.insert("transfer-encoding", HeaderValue::from_static("gzip"));
        let mut out = Vec::new();
        let uri: Uri = "http://127.0.0.1:8080/a/b?c=d".parse().unwrap();
        encode_request_head(&mut out, &Method::GET, &uri, &headers, RequestBody::None);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GET /a/b?c=d HTTP/1.1\r\nhost: 127.0.0.1:8080\r\naccept: */*\r\n\r\n"
        );
        let mut out = Vec::new();
        let uri: Uri = "https://api.example/".parse().unwrap();
        encode_request_head(
            &mut out,
            &Method::POST,
            &uri,
            &HeaderMap::new(),
            RequestBody::None,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "POST / HTTP/1.1\r\nhost: api.example\r\ncontent-length: 0\r\n\r\n"
        );
        let mut out = Vec::new();
        encode_request_head(
            &mut out,
            &Method::PUT,
            &uri,
            &HeaderMap::new(),
            RequestBody::Length(12),
        );
        assert!(String::from_utf8(out)
            .unwrap()
            .ends_with("content-length: 12\r\n\r\n"));
        let mut out = Vec::new();
        encode_request_head(
            &mut out,
            &Method::PUT,
            &uri,
            &HeaderMap::new(),
            RequestBody::Chunked,
        );
        assert!(String::from_utf8(out)
            .unwrap()
            .ends_with("transfer-encoding: chunked\r\n\r\n"));
    }

    #[test]
    fn chunk_sizes_in_hex() {
        for (len, text) in [
            (0, "0\r\n"),
            (10, "a\r\n"),
            (4096, "1000\r\n"),
            (usize::MAX, "ffffffffffffffff\r\n"),
        ] {
            let mut out = Vec::new();
            encode_chunk_start(&mut out, len);
            assert_eq!(out, text.as_bytes());
        }
    }

    #[test]
    fn framing_follows_rfc_9112_6_3() {
        let cases = [
            (
                "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n",
                Framing::Length(5),
                true,
            ),
            (
                "HTTP/1.1 200 OK\r\ncontent-length: 5, 5\r\nContent-Length: 5\r\n\r\n",
                Framing::Length(5),
                true,
            ),
            (
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
                Framing::Chunked,
                true,
            ),
            (
                "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, Chunked\r\n\r\n",
                Framing::Chunked,
                true,
            ),
            (
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, gzip\r\n\r\n",
                Framing::UntilClose,
                false,
            ),
            // Both: the coding wins and the connection is not used again.
            (
                "HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n",
                Framing::Chunked,
                false,
            ),
            ("HTTP/1.1 200 OK\r\n\r\n", Framing::UntilClose, false),
            (
                "HTTP/1.1 204 No Content\r\ncontent-length: 9\r\n\r\n",
                Framing::Empty,
                true,
            ),
            ("HTTP/1.1 304 Not Modified\r\n\r\n", Framing::Empty, true),
            (
                "HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: keep-alive, Close\r\n\r\n",
                Framing::Length(5),
                false,
            ),
            (
                "HTTP/1.0 200 OK\r\ncontent-length: 5\r\n\r\n",
                Framing::Length(5),
                false,
            ),
        ];
        for (text, framed, reusable) in cases {
            assert_eq!(framing(text), (framed, reusable), "{text:?}");
        }
        let h = head("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n", Method::HEAD)
            .unwrap()
            .unwrap();
        assert_eq!((h.framing, h.reusable), (Framing::Empty, true));
    }

    #[test]
    fn doubtful_lengths_are_refused() {
        for bad in [
            "5, 6",
            "-1",
            "+5",
            "0x5",
            "5 5",
            "",
            "99999999999999999999",
            " , ",
        ] {
            let text = format!("HTTP/1.1 200 OK\r\ncontent-length: {bad}\r\n\r\n");
            assert_eq!(
                head(&text, Method::GET).unwrap_err(),
                WireError::ContentLength,
                "{bad:?}"
            );
        }
        let two = "HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\n";
        assert_eq!(
            head(two, Method::GET).unwrap_err(),
            WireError::ContentLength
        );
    }

    #[test]
    fn heads_partial_interim_and_bad() {
        assert!(head("HTTP/1.1 200 OK\r\ncontent-le", Method::GET)
            .unwrap()
            .is_none());
        let mut buf = BytesMut::from(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok",
        );
        let h = parse_response_head(&mut buf, &Method::POST)
            .unwrap()
            .unwrap();
        assert_eq!(
            (h.status, h.framing),
            (StatusCode::CREATED, Framing::Length(2))
        );
        assert_eq!(&buf[..], b"ok");
        assert_eq!(
            head(
                "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n",
                Method::GET
            )
            .unwrap_err(),
            WireError::SwitchingProtocols
        );
        for bad in [
            "HTTP/1.1 2000 OK\r\n\r\n",
            "HTTP/2 200 OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nbad header\r\n\r\n",
        ] {
            assert_eq!(
                head(bad, Method::GET).unwrap_err(),
                WireError::Head,
                "{bad:?}"
            );
        }
        let long = format!("HTTP/1.1 200 OK\r\nx: {}", "a".repeat(MAX_HEAD));
        assert_eq!(
            head(&long, Method::GET).unwrap_err(),
            WireError::HeadTooLarge
        );
        let many = format!(
            "HTTP/1.1 200 OK\r\n{}\r\n",
            "x: 1\r\n".repeat(MAX_HEADERS + 1)
        );
        assert_eq!(
            head(&many, Method::GET).unwrap_err(),
            WireError::HeadTooLarge
        );
    }

    /// What describes the connection is read for the framing and left out of the answer's headers; the rest,
    /// `Set-Cookie` included (the proxy's own rule removes it), stays in order.
    #[test]
    fn connection_specific_headers_are_read_and_left_out() {
        let text =
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive, X-Hop\r\n\
                    Keep-Alive: timeout=5\r\nX-Hop: 1\r\nContent-Length: 2\r\nSet-Cookie: a=b\r\n\
                    Upgrade: h2c\r\nTrailer: x\r\nProxy-Authenticate: Basic\r\nX-End: 1\r\n\r\nok";
        let h = head(text, Method::GET).unwrap().unwrap();
        assert_eq!((h.framing, h.reusable), (Framing::Length(2), true));
        let names: Vec<_> = h.headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["content-type", "set-cookie", "x-end"]);
        let closing = head(
            "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
            Method::GET,
        );
        let closing = closing.unwrap().unwrap();
        assert!(!closing.reusable && closing.headers.is_empty());
    }

    /// Decodes `wire` fed to the decoder in pieces of `step` bytes.
    fn dechunk(wire: &[u8], step: usize) -> Result<(Vec<u8>, bool), WireError> {
        let (mut decoder, mut buf, mut body) = (Chunked::default(), BytesMut::new(), Vec::new());
        for piece in wire.chunks(step) {
            buf.extend_from_slice(piece);
            loop {
                match decoder.decode(&mut buf)? {
                    Step::Data(d) => body.extend_from_slice(&d),
                    Step::More => break,
                    Step::Done => return Ok((body, buf.is_empty())),
                }
            }
        }
        Ok((body, false))
    }

    #[test]
    fn chunked_bodies_in_any_pieces() {
        let wire = b"5;ext=1\r\nhello\r\n1 \r\n,\r\n6\r\n world\r\n0\r\ntrailer: x\r\n\r\n";
        for step in 1..=wire.len() {
            assert_eq!(
                dechunk(wire, step).unwrap(),
                (b"hello, world".to_vec(), true),
                "step {step}"
            );
        }
        // Bytes after the body stay in the buffer (the caller does not reuse such a connection).
        let (body, clean) = dechunk(b"0\r\n\r\nHTTP/1.1", 100).unwrap();
        assert!(body.is_empty() && !clean);
    }

    #[test]
    fn malformed_chunks_are_refused() {
        for bad in [
            &b"5\nhello\r\n0\r\n\r\n"[..],
            b"5\r\nhelloX\r\n0\r\n\r\n",
            b"x\r\n",
            b"\r\n",
            b"-5\r\n",
            b"5 5\r\nhello",
            b"1000000000000000\r\n",
            b"0\r\nbad\rtrailer\r\n\r\n",
        ] {
            assert_eq!(
                dechunk(bad, 100),
                Err(WireError::Chunked),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let long = [b"1".repeat(MAX_CHUNK_LINE + 1), b"\r\n".to_vec()].concat();
        assert_eq!(dechunk(&long, long.len()), Err(WireError::Chunked));
    }
}

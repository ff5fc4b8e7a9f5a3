//! Reading an OP's answer to its end, capped. Every answer is read through, refusals included: a connection
//! whose answer has not fully arrived when it is dropped cannot go back to the pool, so the next request to the
//! OP would open a new one, a TCP handshake and a new HTTP connection that the OP pays for too.

/// Why an answer's body was not read.
pub enum BodyError {
    /// It is longer than the cap (the rest is left unread; the connection is then not reused).
    TooLarge,
    /// The connection failed or timed out while reading.
    Failed(reqwest::Error),
}

/// The whole body of `response`, refused past `cap` bytes (by its `Content-Length` before reading, else as it
/// comes).
pub async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|l| l > cap as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Failed)? {
        body.extend_from_slice(&chunk);
        if body.len() > cap {
            return Err(BodyError::TooLarge);
        }
    }
    Ok(body)
}

//! Reading request bodies with a size limit, without losing the answer: a body over the limit
//! is read on and discarded (up to [`DRAIN_LIMIT`] bytes and [`DRAIN_TIME`]), so a client
//! that is still sending gets to read the error rather than a reset connection.

use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body_util::BodyExt;

/// Most bytes read and discarded after the limit before the connection is given up.
pub const DRAIN_LIMIT: usize = 16 * 1024 * 1024;
/// Longest time spent discarding an oversized body.
pub const DRAIN_TIME: Duration = Duration::from_secs(10);

/// Why a body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// Larger than the limit; `drained` tells whether all of it was read, so the connection
    /// can carry the answer and stay open.
    TooLarge {
        /// The limit, bytes.
        limit: usize,
        /// Whether the rest of the body was read to its end.
        drained: bool,
    },
    /// The client stopped sending or the connection failed.
    Broken,
}

/// The whole body if it has at most `limit` bytes.
pub async fn read_capped(body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let mut body = body;
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Broken)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if buf.len() + data.len() > limit {
            let seen = buf.len() + data.len();
            let drained = tokio::time::timeout(DRAIN_TIME, drain(&mut body, seen))
                .await
                .unwrap_or(false);
            return Err(BodyError::TooLarge { limit, drained });
        }
        buf.extend_from_slice(&data);
    }
    Ok(Bytes::from(buf))
}

/// Reads and discards the rest of `body`; true when it ended within [`DRAIN_LIMIT`].
async fn drain(body: &mut Body, mut seen: usize) -> bool {
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return false };
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen > DRAIN_LIMIT {
                return false;
            }
        }
    }
    true
}

/// Marks a response to close its connection when the request body was not read to its end.
pub fn close_unless_drained(resp: &mut axum::response::Response, drained: bool) {
    if !drained {
        resp.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn under_at_and_over_the_limit() {
        assert_eq!(
            read_capped(Body::from("abc"), 3).await.unwrap(),
            Bytes::from("abc")
        );
        assert_eq!(
            read_capped(Body::from("abcd"), 3).await.unwrap_err(),
            BodyError::TooLarge {
                limit: 3,
                drained: true
            }
        );
    }
}

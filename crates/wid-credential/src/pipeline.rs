//! The HTTP pipeline: one place that sends token requests, with retries on 429, 5xx and
//! transport failures, honouring `Retry-After`, within a bounded total time.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use wid_model::Clock;

use crate::error::CredentialError;

/// Waits; injected so that tests observe back-off without sleeping.
pub trait Sleeper: Send + Sync + std::fmt::Debug {
    /// Sleeps for `d`.
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// The real sleeper.
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// How requests are retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First back-off; doubles each retry.
    pub base_delay: Duration,
    /// Largest back-off (and largest honoured `Retry-After`).
    pub max_delay: Duration,
    /// Bound on the whole operation: attempts plus waits.
    pub max_total: Duration,
    /// Bound on one attempt.
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_millis(800),
            max_delay: Duration::from_secs(60),
            max_total: Duration::from_secs(60),
            attempt_timeout: Duration::from_secs(10),
        }
    }
}

/// A response that made it back.
#[derive(Debug)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Vec<u8>,
}

/// The HTTP client, retry policy, sleeper and clock that credentials share.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The HTTP client (carries trust roots).
    pub http: reqwest::Client,
    /// Retry settings.
    pub retry: RetryPolicy,
    /// The sleeper.
    pub sleeper: Arc<dyn Sleeper>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
}

impl Pipeline {
    /// A pipeline with the real sleeper and clock.
    pub fn new(http: reqwest::Client) -> Self {
        Self {
            http,
            retry: RetryPolicy::default(),
            sleeper: Arc::new(TokioSleeper),
            clock: Arc::new(wid_model::SystemClock),
        }
    }

    /// An HTTP client trusting `SSL_CERT_FILE` when it is set (which replaces the system
    /// roots, as in OpenSSL and Go; `wid env` writes a bundle of the system roots plus wid's
    /// CA), else the platform's roots. Reading one bundle instead of every file under
    /// /etc/ssl/certs also keeps `wid token`'s start-up short.
    pub fn default_http() -> Result<reqwest::Client, CredentialError> {
        let mut b = reqwest::Client::builder().connect_timeout(Duration::from_secs(5));
        if let Some(path) = std::env::var_os("SSL_CERT_FILE") {
            let pem = std::fs::read(&path).map_err(|e| {
                CredentialError::Config(format!(
                    "SSL_CERT_FILE={} cannot be read: {e}",
                    path.to_string_lossy()
                ))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                CredentialError::Config(format!(
                    "SSL_CERT_FILE={} is not a PEM bundle: {e}",
                    path.to_string_lossy()
                ))
            })?;
            b = b.tls_certs_only(certs);
        }
        b.build()
            .map_err(|e| CredentialError::Config(format!("cannot build the HTTP client: {e}")))
    }

    /// Sends the request that `build` makes, retrying 408, 429, 5xx and transport errors.
    /// Bodies larger than [`MAX_RESPONSE`] are refused while they stream in.
    pub async fn send(
        &self,
        url: &str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Response, CredentialError> {
        let started = Instant::now();
        let mut slept = Duration::ZERO;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let result = build(&self.http)
                .timeout(self.retry.attempt_timeout)
                .send()
                .await;
            let (retry_after, failure) = match result {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    let body = match read_capped(resp, MAX_RESPONSE).await {
                        Ok(b) => b,
                        Err(detail) => {
                            return Err(CredentialError::Unreachable {
                                url: url.into(),
                                attempts: attempt,
                                detail,
                            });
                        }
                    };
                    let retryable = status == 408
                        || status == 429
                        || (500..600).contains(&status) && status != 501 && status != 505;
                    if !retryable {
                        return Ok(Response {
                            status,
                            headers,
                            body,
                        });
                    }
                    (
                        retry_after(&headers),
                        Err(Response {
                            status,
                            headers,
                            body,
                        }),
                    )
                }
                Err(e) => (None, Ok(crate::error::chain(&e))),
            };
            let delay = retry_after
                .unwrap_or_else(|| {
                    self.retry
                        .base_delay
                        .saturating_mul(1 << (attempt - 1).min(16))
                })
                .min(self.retry.max_delay);
            let spent = started.elapsed() + slept;
            if attempt > self.retry.max_retries || spent + delay > self.retry.max_total {
                return match failure {
                    Err(resp) => Ok(resp),
                    Ok(detail) => Err(CredentialError::Unreachable {
                        url: url.into(),
                        attempts: attempt,
                        detail,
                    }),
                };
            }
            match &failure {
                Err(resp) => tracing::debug!(
                    url,
                    status = resp.status,
                    ?delay,
                    attempt,
                    "retrying token request"
                ),
                Ok(detail) => {
                    tracing::debug!(url, %detail, ?delay, attempt, "retrying token request")
                }
            }
            self.sleeper.sleep(delay).await;
            slept += delay;
        }
    }
}

/// `Retry-After` (seconds), `retry-after-ms` or `x-ms-retry-after-ms`.
fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let num = |name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    if let Some(ms) = num("retry-after-ms").or_else(|| num("x-ms-retry-after-ms")) {
        return Some(Duration::from_millis(ms.max(0.0) as u64));
    }
    num("retry-after").map(|s| Duration::from_millis((s.max(0.0) * 1000.0) as u64))
}

/// Largest token-service or identity-endpoint answer read, in bytes (real ones are a few KiB).
pub const MAX_RESPONSE: usize = 1024 * 1024;

/// Reads a response body of at most `limit` bytes, chunk by chunk: a larger one (by its
/// `Content-Length`, or as it streams in) is refused before it is all in memory.
pub async fn read_capped(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    if let Some(len) = resp.content_length()
        && len > limit as u64
    {
        return Err(format!(
            "the answer is {len} bytes, more than the {limit} read from it"
        ));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| crate::error::chain(&e))? {
        if body.len() + chunk.len() > limit {
            return Err(format!(
                "the answer is more than the {limit} bytes read from it"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_retry_after_forms() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", "150".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(150)));
    }
}

//! Bounded HTTPS probes: every request doctor sends has a deadline, and a request that
//! runs out of it is reported as the endpoint that hung, by URL. Each endpoint gets
//! `--timeout`, and the whole run one deadline (1.25 times that), so that even a server that
//! hangs on every request cannot make doctor wait twice.

use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use serde_json::Value;

/// The HTTP client and the deadline of each endpoint.
#[derive(Debug, Clone)]
pub struct Net {
    /// The client (trusting the local CA for the stand-in, else `SSL_CERT_FILE` or the
    /// platform's roots).
    pub http: reqwest::Client,
    /// How long one endpoint may take before it counts as hung.
    pub timeout: Duration,
    /// When every network check must be over.
    pub deadline: Instant,
}

/// Why a probe got no usable answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProbeError {
    /// Connected (or not) but no answer within the deadline.
    #[error("{url} did not answer within {:.1} s (it hung)", .after.as_secs_f64())]
    Hung {
        /// The URL.
        url: String,
        /// The deadline.
        after: Duration,
    },
    /// Refused, DNS, TLS: no HTTP exchange.
    #[error("cannot reach {url}: {detail}")]
    Unreachable {
        /// The URL.
        url: String,
        /// The transport error and its causes.
        detail: String,
    },
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as JSON (`Null` when it is not JSON).
    pub json: Value,
    /// The first bytes of the body, for messages.
    pub text: String,
}

impl Net {
    /// A client whose run ends within 1.25 × `timeout` from now.
    pub fn new(http: reqwest::Client, timeout: Duration) -> Self {
        Net {
            http,
            timeout,
            deadline: Instant::now() + timeout.mul_f64(1.25),
        }
    }

    /// What the next request may take: `timeout`, or less near the deadline (at least 50 ms,
    /// so that every check still makes its request).
    pub fn budget(&self) -> Duration {
        self.timeout
            .min(self.deadline.saturating_duration_since(Instant::now()))
            .max(Duration::from_millis(50))
    }

    /// GETs `url`, with a bearer token when given, within the deadline.
    pub async fn get(&self, url: &str, bearer: Option<&str>) -> Result<Answer, ProbeError> {
        let budget = self.budget();
        let mut rb = self.http.get(url).timeout(budget);
        if let Some(t) = bearer {
            rb = rb.bearer_auth(t);
        }
        let work = async {
            let resp = rb.send().await?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let bytes = resp.bytes().await?;
            Ok::<_, reqwest::Error>((status, headers, bytes))
        };
        let hung = || ProbeError::Hung {
            url: url.to_string(),
            after: budget,
        };
        let (status, headers, bytes) = match tokio::time::timeout(budget, work).await {
            Err(_) => return Err(hung()),
            Ok(Err(e)) if e.is_timeout() => return Err(hung()),
            Ok(Err(e)) => {
                return Err(ProbeError::Unreachable {
                    url: url.to_string(),
                    detail: wid_credential::error_chain(&e),
                });
            }
            Ok(Ok(r)) => r,
        };
        Ok(Answer {
            status,
            headers,
            json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text: String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned(),
        })
    }
}

/// Reads an HTTP `Date` header (`Thu, 03 Dec 2026 07:31:48 GMT`) as Unix seconds.
pub fn http_date(value: &str) -> Option<i64> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    let [_, day, month, year, hms, "GMT"] = parts.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m == month)? as u8 + 1;
    let date = time::Date::from_calendar_date(
        year.parse().ok()?,
        time::Month::try_from(month).ok()?,
        day.parse().ok()?,
    )
    .ok()?;
    let mut t = hms.split(':').map(|p| p.parse::<u8>().ok());
    let (h, m, s) = (t.next()??, t.next()??, t.next()??);
    let time = time::Time::from_hms(h, m, s).ok()?;
    Some(
        time::PrimitiveDateTime::new(date, time)
            .assume_utc()
            .unix_timestamp(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_http_dates() {
        assert_eq!(http_date("Thu, 01 Jan 1970 00:01:40 GMT"), Some(100));
        assert_eq!(
            http_date("Thu, 03 Dec 2026 07:31:48 GMT"),
            Some(1_796_283_108)
        );
        assert_eq!(http_date("yesterday"), None);
        assert_eq!(http_date("Thu, 32 Dec 2026 07:31:48 GMT"), None);
        assert_eq!(http_date("Thu, 03 Dec 2026 25:31:48 GMT"), None);
    }
}

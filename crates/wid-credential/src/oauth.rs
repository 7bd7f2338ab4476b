//! The token request itself: a form POST and the response, v2 or v1 shaped.

use serde::Deserialize;
use serde_json::Value;

use crate::pipeline::Pipeline;
use crate::secret::Secret;
use crate::{AccessToken, CredentialError, TokenError};

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(with = "wid_model::secret::exposed")]
    access_token: wid_model::Secret,
    #[serde(default)]
    expires_in: Option<Value>,
    #[serde(default)]
    expires_on: Option<Value>,
    #[serde(default)]
    refresh_in: Option<Value>,
}

fn int(v: &Option<Value>) -> Option<i64> {
    match v {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads a token response body received at `now`: `expires_on` wins, else `now +
/// expires_in` (integers on v2, strings on v1 and IMDS). Returns the server's `refresh_in`.
pub fn parse_token_response(
    url: &str,
    body: &[u8],
    now: i64,
) -> Result<(AccessToken, Option<i64>), CredentialError> {
    let r: TokenResponse =
        serde_json::from_slice(body).map_err(|e| CredentialError::UnexpectedResponse {
            url: url.into(),
            detail: format!("not a token response ({e})"),
        })?;
    let expires_on = int(&r.expires_on)
        .or_else(|| int(&r.expires_in).map(|s| now + s))
        .ok_or_else(|| CredentialError::UnexpectedResponse {
            url: url.into(),
            detail: "the response has neither expires_on nor expires_in".into(),
        })?;
    Ok((
        AccessToken {
            token: Secret::new(r.access_token.expose_str()),
            expires_on,
        },
        int(&r.refresh_in),
    ))
}

/// POSTs a token form; errors become [`CredentialError::Token`].
pub async fn post_form(
    p: &Pipeline,
    url: &str,
    form: &[(&str, &str)],
) -> Result<(AccessToken, Option<i64>), CredentialError> {
    let body = serde_urlencoded_form(form);
    let resp = p
        .send(url, |http| {
            http.post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "application/json")
                .header("x-ms-client-request-id", new_request_id())
                .body(body.clone())
        })
        .await?;
    if !(200..300).contains(&resp.status) {
        return Err(CredentialError::Token(Box::new(TokenError::from_body(
            resp.status,
            &resp.body,
        ))));
    }
    parse_token_response(url, &resp.body, p.clock.now())
}

fn serde_urlencoded_form(form: &[(&str, &str)]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    form.iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn new_request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0) as u64;
    let pid = std::process::id() as u64;
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (t >> 16) as u32,
        (t & 0xffff) as u16,
        pid & 0xfff,
        n & 0xfff,
        (t ^ (n << 20)) & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v1_v2_and_imds_shapes() {
        let (t, r) = parse_token_response("u", br#"{"access_token":"a","expires_in":86399,"ext_expires_in":86399,"token_type":"Bearer"}"#, 100).unwrap();
        assert_eq!((t.expires_on, r), (86_499, None));
        let (t, _) = parse_token_response(
            "u",
            br#"{"access_token":"a","expires_in":"3599","expires_on":"1700000000"}"#,
            100,
        )
        .unwrap();
        assert_eq!(t.expires_on, 1_700_000_000);
        let (_, r) = parse_token_response(
            "u",
            br#"{"access_token":"a","expires_in":7200,"refresh_in":3600}"#,
            0,
        )
        .unwrap();
        assert_eq!(r, Some(3600));
        assert!(parse_token_response("u", br#"{"access_token":"a"}"#, 0).is_err());
        assert!(parse_token_response("u", b"<html>", 0).is_err());
        assert_eq!(serde_urlencoded_form(&[("a b", "x/y:z")]), "a+b=x%2Fy%3Az");
        let id = new_request_id();
        assert_eq!(id.len(), 36, "{id}");
    }
}

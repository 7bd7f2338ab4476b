//! `urllib.parse.urlsplit` of CPython 3.11, with the `username`, `password`, `hostname` and
//! `port` properties of its result, as far as Airflow's URI parser uses them.
//!
//! Airflow's behaviour on odd URIs (a scheme with `_`, brackets, a port that is not a number,
//! fullwidth characters in the host) is this function's behaviour, so it is reproduced with
//! its checks: bracketed hosts must be IPv6 or IPvFuture addresses, and a non-ASCII netloc may
//! not contain characters that NFKC normalisation turns into `/?#@:`.

use super::pystr::py_repr;

/// Why `urlsplit` or one of its properties raised `ValueError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// A `[` without `]` or the other way round.
    #[error("Invalid IPv6 URL")]
    InvalidIpv6Url,
    /// `[v...]` that is not `v<hex>.<something>`.
    #[error("IPvFuture address is invalid")]
    InvalidIpvFuture,
    /// `[1.2.3.4]`.
    #[error("An IPv4 address cannot be in brackets")]
    Ipv4InBrackets,
    /// Brackets around something that is not an IP address.
    #[error("{} does not appear to be an IPv4 or IPv6 address", py_repr(.0))]
    NotAnIpAddress(String),
    /// A netloc with a character such as U+2100 (℀, "a/c" under NFKC).
    #[error("netloc '{0}' contains invalid characters under NFKC normalization")]
    NfkcNetloc(String),
    /// A port that is not made of ASCII digits.
    #[error("Port could not be cast to integer value as {}", py_repr(.0))]
    PortNotInteger(String),
    /// A port above 65535.
    #[error("Port out of range 0-65535")]
    PortOutOfRange,
}

/// The five parts of a URL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SplitResult {
    /// Lower-cased scheme, or empty.
    pub scheme: String,
    /// `user:password@host:port`.
    pub netloc: String,
    /// Everything from the first `/` after the netloc up to `?` or `#`.
    pub path: String,
    /// After `?`, up to `#`.
    pub query: String,
    /// After `#`.
    pub fragment: String,
}

fn is_scheme_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')
}

/// `urlsplit(url)`.
pub fn urlsplit(url: &str) -> Result<SplitResult, SplitError> {
    let url = url.trim_start_matches(|c: char| c <= ' ');
    let url: String = url
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let mut rest: &str = &url;
    let mut result = SplitResult::default();
    if let Some(i) = rest.find(':')
        && i > 0
        && rest.as_bytes()[0].is_ascii_alphabetic()
        && rest[..i].chars().all(is_scheme_char)
    {
        result.scheme = rest[..i].to_ascii_lowercase();
        rest = &rest[i + 1..];
    }
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        result.netloc = after[..end].to_string();
        rest = &after[end..];
        let netloc = &result.netloc;
        let (open, close) = (netloc.contains('['), netloc.contains(']'));
        if open != close {
            return Err(SplitError::InvalidIpv6Url);
        }
        if open {
            let after_open = netloc.split_once('[').map_or("", |(_, r)| r);
            let bracketed = after_open.split_once(']').map_or(after_open, |(h, _)| h);
            check_bracketed_host(bracketed)?;
        }
    }
    if let Some((before, fragment)) = rest.split_once('#') {
        result.fragment = fragment.to_string();
        rest = before;
    }
    if let Some((before, query)) = rest.split_once('?') {
        result.query = query.to_string();
        rest = before;
    }
    result.path = rest.to_string();
    check_netloc(&result.netloc)?;
    Ok(result)
}

impl SplitResult {
    /// `(username, password)`: both `None` without `@`; the password `None` without `:`.
    fn userinfo(&self) -> (Option<&str>, Option<&str>) {
        match self.netloc.rsplit_once('@') {
            Some((userinfo, _)) => match userinfo.split_once(':') {
                Some((user, password)) => (Some(user), Some(password)),
                None => (Some(userinfo), None),
            },
            None => (None, None),
        }
    }

    /// `(hostname, port)` before any conversion.
    fn hostinfo(&self) -> (&str, Option<&str>) {
        let hostinfo = self
            .netloc
            .rsplit_once('@')
            .map_or(self.netloc.as_str(), |(_, h)| h);
        let (hostname, port) = match hostinfo.split_once('[') {
            Some((_, bracketed)) => {
                let (hostname, after) = bracketed.split_once(']').unwrap_or((bracketed, ""));
                (hostname, after.split_once(':').map_or("", |(_, p)| p))
            }
            None => hostinfo.split_once(':').unwrap_or((hostinfo, "")),
        };
        (hostname, (!port.is_empty()).then_some(port))
    }

    /// The `username` property (not unquoted).
    pub fn username(&self) -> Option<&str> {
        self.userinfo().0
    }

    /// The `password` property (not unquoted).
    pub fn password(&self) -> Option<&str> {
        self.userinfo().1
    }

    /// The `hostname` property: lower-cased up to the first `%`, `None` when empty.
    pub fn hostname(&self) -> Option<String> {
        let (hostname, _) = self.hostinfo();
        if hostname.is_empty() {
            return None;
        }
        Some(match hostname.split_once('%') {
            Some((host, zone)) => format!("{}%{zone}", host.to_lowercase()),
            None => hostname.to_lowercase(),
        })
    }

    /// The `port` property.
    pub fn port(&self) -> Result<Option<u16>, SplitError> {
        let Some(port) = self.hostinfo().1 else {
            return Ok(None);
        };
        if !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SplitError::PortNotInteger(port.to_string()));
        }
        let digits = port.trim_start_matches('0');
        if digits.len() > 5 {
            return Err(SplitError::PortOutOfRange);
        }
        let value: u32 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| SplitError::PortOutOfRange)?
        };
        u16::try_from(value)
            .map(Some)
            .map_err(|_| SplitError::PortOutOfRange)
    }
}

fn check_bracketed_host(host: &str) -> Result<(), SplitError> {
    if let Some(rest) = host.strip_prefix('v') {
        let hex_end = rest
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(rest.len());
        let valid = hex_end > 0
            && rest[hex_end..]
                .strip_prefix('.')
                .is_some_and(|tail| !tail.is_empty());
        return if valid {
            Ok(())
        } else {
            Err(SplitError::InvalidIpvFuture)
        };
    }
    if is_ipv4(host) {
        return Err(SplitError::Ipv4InBrackets);
    }
    if is_ipv6(host) {
        return Ok(());
    }
    Err(SplitError::NotAnIpAddress(host.to_string()))
}

/// `ipaddress.IPv4Address(s)` succeeds.
fn is_ipv4(s: &str) -> bool {
    let octets: Vec<&str> = s.split('.').collect();
    octets.len() == 4
        && octets.iter().all(|o| {
            !o.is_empty()
                && o.len() <= 3
                && o.bytes().all(|b| b.is_ascii_digit())
                && (*o == "0" || !o.starts_with('0'))
                && o.parse::<u16>().is_ok_and(|v| v <= 255)
        })
}

/// `ipaddress.IPv6Address(s)` succeeds (a `%zone` suffix allowed).
fn is_ipv6(s: &str) -> bool {
    const HEXTETS: usize = 8;
    if s.contains('/') {
        return false;
    }
    let addr = match s.split_once('%') {
        Some((addr, zone)) if !zone.is_empty() && !zone.contains('%') => addr,
        Some(_) => return false,
        None => s,
    };
    if addr.is_empty() {
        return false;
    }
    let mut parts: Vec<String> = addr.split(':').map(str::to_string).collect();
    if parts.len() < 3 {
        return false;
    }
    if parts.last().is_some_and(|p| p.contains('.')) {
        let v4 = parts.pop().unwrap_or_default();
        if !is_ipv4(&v4) {
            return false;
        }
        parts.push("0".into());
        parts.push("0".into());
    }
    if parts.len() > HEXTETS + 1 {
        return false;
    }
    let mut skip_index = None;
    for (i, part) in parts.iter().enumerate().take(parts.len() - 1).skip(1) {
        if part.is_empty() {
            if skip_index.is_some() {
                return false;
            }
            skip_index = Some(i);
        }
    }
    let (hi, lo) = match skip_index {
        Some(skip) => {
            let mut hi = skip;
            let mut lo = parts.len() - skip - 1;
            if parts[0].is_empty() {
                hi -= 1;
                if hi > 0 {
                    return false;
                }
            }
            if parts[parts.len() - 1].is_empty() {
                lo -= 1;
                if lo > 0 {
                    return false;
                }
            }
            if HEXTETS < hi + lo + 1 {
                return false;
            }
            (hi, lo)
        }
        None => {
            if parts.len() != HEXTETS || parts[0].is_empty() || parts[parts.len() - 1].is_empty() {
                return false;
            }
            (parts.len(), 0)
        }
    };
    let hextet =
        |p: &String| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_hexdigit());
    parts[..hi].iter().all(hextet) && parts[parts.len() - lo..].iter().all(hextet)
}

/// Characters whose NFKC form contains one of `/?#@:` (Unicode 14, CPython 3.11).
/// `tests/airflow_fixture.rs` checks this list against the Python that wrote the fixture.
pub const NFKC_NETLOC_FORBIDDEN: &[(u32, u32)] = &[
    (0x2047, 0x2049),
    (0x2100, 0x2101),
    (0x2105, 0x2106),
    (0x2A74, 0x2A74),
    (0xFE13, 0xFE13),
    (0xFE16, 0xFE16),
    (0xFE55, 0xFE56),
    (0xFE5F, 0xFE5F),
    (0xFE6B, 0xFE6B),
    (0xFF03, 0xFF03),
    (0xFF0F, 0xFF0F),
    (0xFF1A, 0xFF1A),
    (0xFF1F, 0xFF20),
];

/// `_checknetloc`: a non-ASCII netloc must not hide `/?#@:` behind compatibility characters.
fn check_netloc(netloc: &str) -> Result<(), SplitError> {
    if netloc.is_ascii() {
        return Ok(());
    }
    let forbidden = netloc.chars().any(|c| {
        NFKC_NETLOC_FORBIDDEN
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&(c as u32)))
    });
    if forbidden {
        Err(SplitError::NfkcNetloc(netloc.to_string()))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_python() {
        let r = urlsplit("  Conn+X://u:p@Host:5/a/b?q=1#f").unwrap();
        assert_eq!(r.scheme, "conn+x");
        assert_eq!(r.netloc, "u:p@Host:5");
        assert_eq!(r.path, "/a/b");
        assert_eq!(r.query, "q=1");
        assert_eq!(r.fragment, "f");
        assert_eq!(r.hostname().as_deref(), Some("host"));
        assert_eq!(r.port(), Ok(Some(5)));
        // `_` is no scheme character
        let r = urlsplit("a_b://h").unwrap();
        assert_eq!(
            (r.scheme.as_str(), r.netloc.as_str(), r.path.as_str()),
            ("", "", "a_b://h")
        );
        // tabs and newlines vanish anywhere
        assert_eq!(urlsplit("c://h\to/p\n").unwrap().netloc, "ho");
    }

    #[test]
    fn userinfo_and_hostinfo() {
        let r = urlsplit("//us@er:pa:ss@[FE80::1%25Eth0]x:80").unwrap();
        assert_eq!(r.username(), Some("us@er"));
        assert_eq!(r.password(), Some("pa:ss"));
        assert_eq!(r.hostname().as_deref(), Some("fe80::1%25Eth0"));
        assert_eq!(r.port(), Ok(Some(80)));
        let r = urlsplit("//My%20Host").unwrap();
        assert_eq!(r.hostname().as_deref(), Some("my%20Host"));
        assert_eq!(r.username(), None);
    }

    #[test]
    fn ports() {
        let port = |s: &str| urlsplit(s).unwrap().port();
        assert_eq!(port("//h:00080"), Ok(Some(80)));
        assert_eq!(port("//h:"), Ok(None));
        assert_eq!(port("//h:65536"), Err(SplitError::PortOutOfRange));
        assert_eq!(
            port(&format!("//h:{}", "9".repeat(40))),
            Err(SplitError::PortOutOfRange)
        );
        assert_eq!(port("//h:+1"), Err(SplitError::PortNotInteger("+1".into())));
        assert_eq!(
            port("//h:\u{661}").unwrap_err().to_string(),
            "Port could not be cast to integer value as '\u{661}'"
        );
    }

    #[test]
    fn brackets() {
        assert_eq!(urlsplit("//[::1").unwrap_err(), SplitError::InvalidIpv6Url);
        assert_eq!(
            urlsplit("//[127.0.0.1]").unwrap_err(),
            SplitError::Ipv4InBrackets
        );
        assert!(urlsplit("//[v1.x]").is_ok());
        assert_eq!(
            urlsplit("//[v.x]").unwrap_err(),
            SplitError::InvalidIpvFuture
        );
        for ok in [
            "::",
            "::1",
            "1::",
            "1:2:3:4:5:6:7:8",
            "::ffff:1.2.3.4",
            "1:2:3:4:5:6::",
            "fe80::1%eth0",
        ] {
            assert!(is_ipv6(ok), "{ok}");
        }
        for bad in [
            "1:2:3:4:5:6:7:8:9",
            "1::2::3",
            ":1:2:3:4:5:6:7",
            "1:2:3:4:5:6:7:",
            "12345::",
            "::1.2.3.04",
            "fe80::1%",
            "g::",
            "1:2",
            "1:2:3:4:5:6:7::8:9",
        ] {
            assert!(!is_ipv6(bad), "{bad}");
        }
        assert_eq!(
            urlsplit("//[zz]").unwrap_err().to_string(),
            "'zz' does not appear to be an IPv4 or IPv6 address"
        );
    }

    #[test]
    fn nfkc_netloc() {
        assert_eq!(
            urlsplit("//\u{2100}h").unwrap_err(),
            SplitError::NfkcNetloc("\u{2100}h".into())
        );
        assert!(urlsplit("//\u{ff48}").is_ok());
        // only the netloc is checked
        assert!(urlsplit("//h/\u{2100}").is_ok());
    }
}

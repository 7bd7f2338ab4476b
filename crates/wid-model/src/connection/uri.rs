//! The URI form: `Connection(uri=...)` and `Connection.get_uri()`.
//!
//! Reading follows Airflow's `_parse_from_uri` step by step, quirks included: `urlsplit`
//! lower-cases the scheme and the host (up to the first `%`), a second `://` means the host
//! carries a protocol and a third is an error, every `<scheme>://` in the text is replaced (not
//! only the first), and the query becomes `extra` (core: each value JSON-decoded when it can
//! be; `__extra__` carries the raw text).
//!
//! Writing follows `get_uri()`: `quote(..., safe="")` for login, password, host and schema,
//! `urlencode` for the query when every extra value is a string, and `__extra__=<raw text>`
//! otherwise (also for `{}`).

use super::pyjson::{self, Object, Value};
use super::quote::{parse_qs_dict, quote, unquote, urlencode};
use super::urlsplit::{SplitError, SplitResult, urlsplit};
use super::{Connection, ExtraError, UriFlavor, preview};

/// The query key whose value is the whole `extra` text.
pub const EXTRA_KEY: &str = "__extra__";

/// Why a URI is not a connection.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UriError {
    /// More than two `://`, or `@` / `:` before the second one.
    #[error(
        "invalid connection URI {}: {reason}; write <type>://<login>:<password>@<host>:<port>/<schema>?<extra>, percent-encoding every part (a host with a protocol may add one `<protocol>://` before the host)",
        preview(&redacted(uri))
    )]
    InvalidConnectionString {
        /// The URI.
        uri: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Python's `urlsplit` refused it (brackets, port, netloc).
    #[error(
        "invalid connection URI {}: {source}; {}",
        preview(&redacted(uri)),
        split_remedy(source)
    )]
    Split {
        /// The URI.
        uri: String,
        /// Python's own error.
        source: SplitError,
    },
    /// A query value that Python's JSON reader fails on with an error other than a decode error
    /// (an integer of more than 4,300 digits, deep nesting, an unpaired surrogate).
    #[error(
        "invalid connection URI: query value of `{key}` ({} bytes): {source}; shorten it or pass the whole extra as __extra__",
        value.len()
    )]
    QueryValue {
        /// The query key.
        key: String,
        /// The decoded value.
        value: String,
        /// What the JSON reader said.
        source: pyjson::JsonTextError,
    },
    /// The resulting `extra` is not a JSON object.
    #[error("invalid connection URI: {0}")]
    Extra(#[from] ExtraError),
}

/// A URI as an error may show it: the password in the user info and every query value are
/// replaced by `***` (either may hold a secret), the rest is kept so the mistake stays visible.
pub(crate) fn redacted(uri: &str) -> String {
    let (head, query) = match uri.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (uri, None),
    };
    let mut out = String::with_capacity(uri.len());
    // The user info ends at the last `@` before the path; its password after the first `:`.
    let start = head.find("://").map(|i| i + 3).unwrap_or(0);
    let netloc_end = head[start..]
        .find('/')
        .map(|i| start + i)
        .unwrap_or(head.len());
    match head[start..netloc_end].rfind('@') {
        Some(at) => {
            let userinfo = &head[start..start + at];
            out.push_str(&head[..start]);
            match userinfo.split_once(':') {
                Some((login, _)) => {
                    out.push_str(login);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&head[start + at..]);
        }
        None => out.push_str(head),
    }
    if let Some(q) = query {
        out.push('?');
        let masked: Vec<String> = q
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) => format!("{k}=***"),
                None => kv.to_string(),
            })
            .collect();
        out.push_str(&masked.join("&"));
    }
    out
}

fn split_remedy(error: &SplitError) -> &'static str {
    match error {
        SplitError::PortNotInteger(_) | SplitError::PortOutOfRange => {
            "the port must be 0-65535 in ASCII digits; percent-encode `:`, `#`, `/`, `?` and `@` inside the login and password"
        }
        SplitError::NfkcNetloc(_) => {
            "use plain characters in login, password and host, or percent-encode them"
        }
        _ => {
            "a bracketed host must be an IPv6 address ([::1]); percent-encode `[` and `]` otherwise"
        }
    }
}

impl UriError {
    /// The message of the exception Airflow raises for the same URI.
    pub fn airflow_message(&self, flavor: UriFlavor) -> String {
        match (self, flavor) {
            (UriError::InvalidConnectionString { .. }, UriFlavor::Core) => {
                "Invalid connection string.".into()
            }
            (UriError::InvalidConnectionString { uri, .. }, UriFlavor::TaskSdk) => {
                format!("Invalid connection string: {uri}.")
            }
            (UriError::Split { source, .. }, _) => source.to_string(),
            (UriError::QueryValue { source, .. }, _) => source.to_string(),
            (UriError::Extra(e), _) => e.airflow_message(),
        }
    }
}

/// `_normalize_conn_type`: `postgresql` becomes `postgres`, otherwise `-` becomes `_`.
pub fn normalize_conn_type(conn_type: &str) -> String {
    if conn_type == "postgresql" {
        "postgres".into()
    } else {
        conn_type.replace('-', "_")
    }
}

fn split(uri: &str, text: &str) -> Result<SplitResult, UriError> {
    urlsplit(text).map_err(|source| UriError::Split {
        uri: uri.to_string(),
        source,
    })
}

/// `_parse_netloc_to_hostname`.
fn netloc_to_hostname(parts: &SplitResult) -> String {
    let hostname = unquote(parts.hostname().as_deref().unwrap_or(""));
    if !hostname.contains('/') {
        return hostname;
    }
    let mut raw = parts.netloc.as_str();
    if let Some((_, after)) = raw.rsplit_once('@') {
        raw = after;
    }
    if let Some((before, _)) = raw.split_once(':') {
        raw = before;
    }
    unquote(raw)
}

/// Everything after the first character (Python's `s[1:]`).
fn drop_first_char(s: &str) -> &str {
    let mut chars = s.chars();
    chars.next();
    chars.as_str()
}

impl Connection {
    /// `Connection(uri=uri)` of Airflow's model ([`UriFlavor::Core`]).
    pub fn from_uri(uri: &str) -> Result<Connection, UriError> {
        Self::from_uri_with(uri, UriFlavor::Core)
    }

    /// Reads a URI as the chosen `Connection` class does.
    pub fn from_uri_with(uri: &str, flavor: UriFlavor) -> Result<Connection, UriError> {
        let mut conn = Connection::default();
        if uri.is_empty() && flavor == UriFlavor::Core {
            // `if uri:` is false: nothing is parsed.
            return Ok(conn);
        }
        let schemes = uri.matches("://").count();
        if schemes > 2 {
            return Err(UriError::InvalidConnectionString {
                uri: uri.to_string(),
                reason: "more than two `://`",
            });
        }
        let host_with_protocol = schemes == 2;
        let scheme = split(uri, uri)?.scheme;
        conn.conn_type = Some(normalize_conn_type(&scheme));
        let rest = uri.replace(
            &format!("{scheme}://"),
            if host_with_protocol { "" } else { "//" },
        );
        if host_with_protocol {
            let before = rest.split("://").next().unwrap_or("");
            if before.contains('@') || before.contains(':') {
                return Err(UriError::InvalidConnectionString {
                    uri: uri.to_string(),
                    reason: "`@` or `:` before the host's protocol",
                });
            }
        }
        let parts = split(uri, &rest)?;
        let host = netloc_to_hostname(&parts);
        conn.host = Some(
            match (
                host_with_protocol && !parts.scheme.is_empty(),
                host.is_empty(),
            ) {
                (true, false) => format!("{}://{host}", parts.scheme),
                _ => host,
            },
        );
        let quoted_schema = drop_first_char(&parts.path);
        conn.schema = Some(unquote(quoted_schema));
        conn.login = parts.username().map(unquote);
        conn.password = parts.password().map(|p| unquote(p).into());
        if flavor == UriFlavor::Core && conn.password_str() == Some("") {
            conn.password = None;
        }
        conn.port = parts
            .port()
            .map_err(|source| UriError::Split {
                uri: uri.to_string(),
                source,
            })?
            .map(i64::from);
        if !parts.query.is_empty() {
            conn.extra = Some(query_to_extra(&parts.query, flavor)?.into());
        }
        if flavor == UriFlavor::Core {
            conn.validate_extra()?;
        }
        Ok(conn)
    }

    /// `get_uri()` of Airflow's model ([`UriFlavor::Core`]).
    ///
    /// Fails only when `extra` is set but not a JSON object, which Airflow's model never holds.
    pub fn to_uri(&self) -> Result<String, ExtraError> {
        self.to_uri_with(UriFlavor::Core)
    }

    /// `get_uri()` of the chosen `Connection` class. The two differ only for an empty password
    /// (the Task SDK writes `:@`) and an invalid `extra` (the Task SDK writes it as
    /// `__extra__`).
    pub fn to_uri_with(&self, flavor: UriFlavor) -> Result<String, ExtraError> {
        let conn_type = self.conn_type.as_deref().unwrap_or("");
        let mut uri = if conn_type.is_empty() {
            "//".to_string()
        } else {
            format!("{}://", conn_type.to_lowercase().replace('_', "-"))
        };
        let host = self.host.as_deref().unwrap_or("");
        let (host_to_use, protocol) = match host.split_once("://") {
            Some((protocol, _)) if protocol == conn_type && self.conn_type.is_some() => (host, ""),
            Some((protocol, rest)) => (rest, protocol),
            None => (host, ""),
        };
        if !protocol.is_empty() {
            uri.push_str(protocol);
            uri.push_str("://");
        }
        let password = match flavor {
            UriFlavor::Core => self.effective_password(),
            UriFlavor::TaskSdk => self.password_str(),
        };
        let mut authority = String::new();
        if let Some(login) = &self.login {
            authority.push_str(&quote(login));
        }
        if let Some(password) = password {
            authority.push(':');
            authority.push_str(&quote(password));
        }
        if !authority.is_empty() {
            authority.push('@');
            uri.push_str(&authority);
        }
        let mut host_block = quote(host_to_use);
        if let Some(port) = self.port.filter(|p| *p != 0) {
            if host_block.is_empty() && authority.is_empty() {
                host_block.push_str(&format!("@:{port}"));
            } else {
                host_block.push_str(&format!(":{port}"));
            }
        }
        let schema = self.schema.as_deref().unwrap_or("");
        if !schema.is_empty() {
            host_block.push('/');
            host_block.push_str(&quote(schema));
        }
        uri.push_str(&host_block);
        if let Some(extra) = self.extra_str().filter(|e| !e.is_empty()) {
            let object = match (self.extra_object(), flavor) {
                (Ok(object), _) => object,
                (Err(e), UriFlavor::Core) => return Err(e),
                (Err(_), UriFlavor::TaskSdk) => None,
            };
            uri.push_str(if schema.is_empty() { "/?" } else { "?" });
            match object.as_ref().and_then(flat_query) {
                Some(query) => uri.push_str(&query),
                None => uri.push_str(&urlencode([(EXTRA_KEY, extra)])),
            }
        }
        Ok(uri)
    }
}

/// The query of a non-empty object whose values are all strings.
fn flat_query(object: &Object) -> Option<String> {
    if object.is_empty() {
        return None;
    }
    let mut pairs = Vec::with_capacity(object.len());
    for (key, value) in object.iter() {
        match value {
            Value::Str(s) => pairs.push((key, s.as_str())),
            _ => return None,
        }
    }
    Some(urlencode(pairs))
}

/// The query of a URI as `extra` text.
fn query_to_extra(query: &str, flavor: UriFlavor) -> Result<String, UriError> {
    let pairs = parse_qs_dict(query);
    if let Some((_, raw)) = pairs.iter().find(|(k, _)| k == EXTRA_KEY) {
        return Ok(raw.clone());
    }
    let mut object = Object::new();
    for (key, value) in pairs {
        let decoded = match flavor {
            UriFlavor::TaskSdk => Value::Str(value),
            UriFlavor::Core if value.is_empty() => Value::Str(value),
            UriFlavor::Core => match pyjson::loads(&value) {
                Ok(v) => v,
                Err(e) if e.is_decode_error() => Value::Str(value),
                Err(source) => return Err(UriError::QueryValue { key, value, source }),
            },
        };
        object.insert(key, decoded);
    }
    Ok(pyjson::dumps(&Value::Object(object)))
}

/// The URI of `conn` with a non-empty password replaced by `***` and `extra` masked as
/// Airflow's secrets masker does (an extra that is not JSON is `***` whole), for logs and
/// messages.
pub fn redacted_uri(conn: &Connection) -> String {
    let mut shown = conn.clone();
    if shown.password_str().is_some_and(|p| !p.is_empty()) {
        shown.password = Some("***".into());
    }
    if let Some(extra) = conn.extra_str() {
        let masked = match super::pyjson::loads(extra) {
            Ok(_) => super::redact::redact_extra(extra),
            Err(_) => "***".to_string(),
        };
        shown.extra = Some(masked.into());
    }
    shown
        .to_uri_with(UriFlavor::TaskSdk)
        .unwrap_or_else(|_| "<unprintable connection>".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn errors_never_show_the_password_or_query_values() {
        let e =
            Connection::from_uri("postgres://user:s3cr%40t@db.example:notaport/app?sslkey=k3y&x")
                .unwrap_err()
                .to_string();
        assert!(!e.contains("s3cr") && !e.contains("k3y"), "{e}");
        assert!(
            e.contains("postgres://user:***@db.example:notaport/app?sslkey=***&x"),
            "{e}"
        );
        assert_eq!(redacted("a://h/p"), "a://h/p");
        assert_eq!(redacted("a://u@h"), "a://u@h");
        assert_eq!(redacted("a://u:p@w@h:1/s?k=v"), "a://u:***@h:1/s?k=***");
    }

    use super::*;

    fn parse(uri: &str) -> Connection {
        Connection::from_uri(uri).unwrap_or_else(|e| panic!("{uri}: {e}"))
    }

    #[test]
    fn workload_identity_uri() {
        let mut c = Connection::new("azure");
        c.extra = Some(r#"{"managed_identity_client_id": "X", "workload_identity_tenant_id": "T", "subscriptionId": "S"}"#.into());
        let uri = c.to_uri().unwrap();
        assert_eq!(
            uri,
            "azure:///?managed_identity_client_id=X&workload_identity_tenant_id=T&subscriptionId=S"
        );
        let back = parse(&uri);
        assert_eq!(back.extra, c.extra);
        assert_eq!(back.host.as_deref(), Some(""));
        assert_eq!(back.schema.as_deref(), Some(""));
    }

    #[test]
    fn three_schemes_are_an_error() {
        let err = Connection::from_uri("a://b://c://d").unwrap_err();
        assert!(matches!(err, UriError::InvalidConnectionString { .. }));
        assert_eq!(
            err.airflow_message(UriFlavor::Core),
            "Invalid connection string."
        );
        assert_eq!(
            err.airflow_message(UriFlavor::TaskSdk),
            "Invalid connection string: a://b://c://d."
        );
        assert!(err.to_string().contains("a://b://c://d"), "{err}");
        // `@` before the second `://`
        assert!(Connection::from_uri("http://user@http://host").is_err());
    }

    #[test]
    fn host_with_protocol() {
        let c = parse("generic://https://Example.com:8080/p");
        assert_eq!(c.host.as_deref(), Some("https://example.com"));
        assert_eq!(c.port, Some(8080));
        let mut c = Connection::new("generic");
        c.host = Some("http://example.com".into());
        assert_eq!(c.to_uri().unwrap(), "generic://http://example.com");
        // same protocol as the type: the host is kept whole, quoted
        let mut c = Connection::new("http");
        c.host = Some("http://example.com".into());
        assert_eq!(c.to_uri().unwrap(), "http://http%3A%2F%2Fexample.com");
        assert_eq!(
            parse("http://http%3A%2F%2Fexample.com").host.as_deref(),
            Some("http://example.com")
        );
    }

    #[test]
    fn extra_forms() {
        let mut c = Connection::new("g");
        c.extra = Some("{}".into());
        assert_eq!(c.to_uri().unwrap(), "g:///?__extra__=%7B%7D");
        c.extra = Some(r#"{"n": 1}"#.into());
        assert_eq!(c.to_uri().unwrap(), "g:///?__extra__=%7B%22n%22%3A+1%7D");
        c.schema = Some("db".into());
        c.extra = Some(r#"{"k y": "v&w"}"#.into());
        assert_eq!(c.to_uri().unwrap(), "g:///db?k+y=v%26w");
        c.extra = Some("[1]".into());
        assert!(matches!(c.to_uri(), Err(ExtraError::NotAnObject { .. })));
        assert_eq!(
            c.to_uri_with(UriFlavor::TaskSdk).unwrap(),
            "g:///db?__extra__=%5B1%5D"
        );
    }

    #[test]
    fn query_values_are_json_decoded_in_core_only() {
        let uri = "c://h/?a=1&b=true&c=x&d=";
        assert_eq!(
            parse(uri).extra_str(),
            Some(r#"{"a": 1, "b": true, "c": "x", "d": ""}"#)
        );
        let sdk = Connection::from_uri_with(uri, UriFlavor::TaskSdk).unwrap();
        assert_eq!(
            sdk.extra_str(),
            Some(r#"{"a": "1", "b": "true", "c": "x", "d": ""}"#)
        );
    }

    #[test]
    fn extra_marker_and_invalid_json() {
        assert_eq!(
            parse("c://h/?__extra__=%7B%22a%22%3A+1%7D&x=1").extra_str(),
            Some(r#"{"a": 1}"#)
        );
        let err = Connection::from_uri("c://h/?__extra__=nope").unwrap_err();
        assert!(
            matches!(err, UriError::Extra(ExtraError::NotJson { .. })),
            "{err}"
        );
        assert_eq!(
            Connection::from_uri_with("c://h/?__extra__=nope", UriFlavor::TaskSdk)
                .unwrap()
                .extra_str(),
            Some("nope")
        );
    }

    #[test]
    fn ports_and_userinfo() {
        let c = parse("postgres://@:5432");
        assert_eq!(
            (c.login.as_deref(), c.host.as_deref(), c.port),
            (Some(""), Some(""), Some(5432))
        );
        let mut only_port = Connection::new("http");
        only_port.port = Some(8080);
        assert_eq!(only_port.to_uri().unwrap(), "http://@:8080");
        let err = Connection::from_uri("c://user:pa#ss@host").unwrap_err();
        assert_eq!(
            err.airflow_message(UriFlavor::Core),
            "Port could not be cast to integer value as 'pa'"
        );
        assert!(err.to_string().contains("percent-encode"), "{err}");
        assert!(parse("postgres://user:@host").password.is_none());
        assert_eq!(
            Connection::from_uri_with("postgres://user:@host", UriFlavor::TaskSdk)
                .unwrap()
                .password_str(),
            Some("")
        );
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        let long = format!("c://h/?x={}", "%5B".repeat(100_000));
        for uri in [
            "",
            ":",
            "://",
            ":////",
            "a://",
            "[",
            "]",
            "//[",
            "//]",
            "//@",
            "//:",
            "//[]",
            "//[v]",
            "//[::1%]",
            "//\u{2100}",
            "é://é",
            "c://é:é@é:é/é?é=é#é",
            "%",
            "%%%",
            "?",
            "#",
            "c://h:99999999999999999999999",
            long.as_str(),
            "x://y/a://b",
            "//a://b",
            "\u{0}\u{1}c://h",
        ] {
            let _ = Connection::from_uri(uri);
            let _ = Connection::from_uri_with(uri, UriFlavor::TaskSdk);
        }
        let deep = format!("c://h/?x={}", "%5B".repeat(100_000));
        assert!(matches!(
            Connection::from_uri(&deep),
            Err(UriError::QueryValue { .. })
        ));
    }

    #[test]
    fn a_one_megabyte_extra_survives_the_uri() {
        let mut c = Connection::new("generic");
        c.extra = Some(format!(r#"{{"blob": "{}", "n": 1}}"#, "a b&".repeat(1 << 18)).into());
        let uri = c.to_uri().unwrap();
        assert!(uri.starts_with("generic:///?__extra__=%7B%22blob"));
        assert_eq!(Connection::from_uri(&uri).unwrap().extra, c.extra);
    }

    #[test]
    fn redaction_hides_the_password_and_secret_extras() {
        let mut c = Connection::new("azure");
        c.login = Some("id".into());
        c.password = Some("s3cr3t".into());
        c.extra =
            Some(r#"{"tenantId": "t", "sas_token": "sv=k3y", "n": {"api_key": "z3"}}"#.into());
        let shown = redacted_uri(&c);
        assert!(
            !shown.contains("s3cr3t") && shown.contains("%2A%2A%2A"),
            "{shown}"
        );
        assert!(!shown.contains("k3y") && !shown.contains("z3"), "{shown}");
        assert!(shown.contains("tenantId"), "{shown}");
        c.extra = Some("{not json k3y".into());
        assert!(!redacted_uri(&c).contains("k3y"));
    }
}

//! Percent-encoding exactly as Python's `urllib.parse` does it.
//!
//! - `quote(s, safe="")` leaves only `A-Za-z0-9_.-~` as they are and writes every other byte
//!   of the UTF-8 text as `%XX` (upper-case hex);
//! - `quote_plus` does the same but writes a space as `+`;
//! - `unquote` decodes `%XX` runs as UTF-8 with `errors="replace"` (one U+FFFD per maximal
//!   invalid subpart, as Rust's lossy decoding does), leaves a `%` that is not followed by two
//!   hex digits as it is, and passes non-ASCII characters through;
//! - `parse_qsl(qs, keep_blank_values=True)` splits on `&` only, skips empty fields, treats a
//!   field without `=` as a blank value, and turns `+` into a space before unquoting.

use std::fmt::Write as _;

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'~')
}

fn quote_with(s: &str, plus: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if is_unreserved(b) {
            out.push(b as char);
        } else if plus && b == b' ' {
            out.push('+');
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `urllib.parse.quote(s, safe="")`.
pub fn quote(s: &str) -> String {
    quote_with(s, false)
}

/// `urllib.parse.quote_plus(s, safe="")`.
pub fn quote_plus(s: &str) -> String {
    quote_with(s, true)
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// `unquote_to_bytes` on an ASCII run, then UTF-8 decoding with replacement.
fn unquote_ascii_run(run: &str) -> String {
    let bytes = run.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex_value),
                bytes.get(i + 2).copied().and_then(hex_value),
            )
        {
            out.push(hi * 16 + lo);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `urllib.parse.unquote(s)` (UTF-8, `errors="replace"`).
pub fn unquote(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    // Python splits the text into runs of ASCII characters, decodes each run on its own, and
    // keeps the non-ASCII characters between them as they are.
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let ascii = bytes[i].is_ascii();
        while i < bytes.len() && bytes[i].is_ascii() == ascii {
            i += 1;
        }
        if ascii {
            out.push_str(&unquote_ascii_run(&s[start..i]));
        } else {
            out.push_str(&s[start..i]);
        }
    }
    out
}

/// `urllib.parse.urlencode(pairs)` (with `quote_plus`).
pub fn urlencode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (i, (key, value)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&quote_plus(key));
        out.push('=');
        out.push_str(&quote_plus(value));
    }
    out
}

/// `urllib.parse.parse_qsl(qs, keep_blank_values=True)`.
pub fn parse_qsl(qs: &str) -> Vec<(String, String)> {
    qs.split('&')
        .filter(|field| !field.is_empty())
        .map(|field| {
            let (name, value) = field.split_once('=').unwrap_or((field, ""));
            (
                unquote(&name.replace('+', " ")),
                unquote(&value.replace('+', " ")),
            )
        })
        .collect()
}

/// `dict(parse_qsl(qs, keep_blank_values=True))`: a repeated name keeps its first position and
/// takes its last value.
pub fn parse_qs_dict(qs: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for (name, value) in parse_qsl(qs) {
        match index.get(&name) {
            Some(&at) => {
                let entry: &mut (String, String) = &mut out[at];
                entry.1 = value;
            }
            None => {
                index.insert(name.clone(), out.len());
                out.push((name, value));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_leaves_only_unreserved() {
        assert_eq!(quote("aZ09_.-~"), "aZ09_.-~");
        assert_eq!(quote("@:/?#%+ &="), "%40%3A%2F%3F%23%25%2B%20%26%3D");
        assert_eq!(quote("é🔑"), "%C3%A9%F0%9F%94%91");
        assert_eq!(quote_plus("a b+c"), "a+b%2Bc");
        assert_eq!(quote(""), "");
    }

    #[test]
    fn unquote_as_python() {
        assert_eq!(unquote("%41%42"), "AB");
        assert_eq!(unquote("%zz%4%"), "%zz%4%");
        assert_eq!(unquote("%c3%A9"), "é");
        assert_eq!(unquote("%FF%FE"), "\u{fffd}\u{fffd}");
        assert_eq!(unquote("%F0%80%80"), "\u{fffd}\u{fffd}\u{fffd}");
        assert_eq!(unquote("%E2%82"), "\u{fffd}");
        // a non-ASCII character splits the runs: %C3 alone is invalid
        assert_eq!(unquote("%C3é%A9"), "\u{fffd}é\u{fffd}");
        assert_eq!(unquote("plain+text"), "plain+text");
    }

    #[test]
    fn parse_qsl_keeps_blanks() {
        assert_eq!(
            parse_qsl("a=&b&&c=1=2&a+b=c+d&%2B=%2B"),
            vec![
                ("a".into(), "".into()),
                ("b".into(), "".into()),
                ("c".into(), "1=2".into()),
                ("a b".into(), "c d".into()),
                ("+".into(), "+".into()),
            ]
        );
        assert_eq!(
            parse_qs_dict("a=1&b=2&a=3"),
            vec![("a".into(), "3".into()), ("b".into(), "2".into())]
        );
        assert!(parse_qsl("").is_empty());
    }

    #[test]
    fn urlencode_round_trips() {
        let pairs = [("k y", "v&=+/?#%é"), ("", "")];
        let q = urlencode(pairs);
        assert_eq!(q, "k+y=v%26%3D%2B%2F%3F%23%25%C3%A9&=");
        let back = parse_qsl(&q);
        assert_eq!(
            back,
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        );
    }
}

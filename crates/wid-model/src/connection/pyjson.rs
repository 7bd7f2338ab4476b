//! JSON exactly as Python's `json` module reads and writes it.
//!
//! Airflow keeps a connection's `extra` as JSON text and rewrites it with `json.loads` and
//! `json.dumps`, so byte-for-byte compatibility needs Python's rules rather than a general JSON
//! library's:
//! - objects keep the order of first appearance; a repeated key keeps its first position and
//!   takes its last value (a `dict` being filled in);
//! - integers have arbitrary precision (kept as their digits), but more than 4,300 digits is an
//!   error (CPython's `int` conversion limit);
//! - `NaN`, `Infinity` and `-Infinity` are accepted and written back;
//! - floats are written as `repr(float)` does (`1e+16`, `1e-05`, `100.0`);
//! - strings are written with `ensure_ascii=True` and `", "` / `": "` separators;
//! - errors carry the message and position `json.JSONDecodeError` would show.
//!
//! One difference remains and is reported as [`JsonTextError::LoneSurrogate`]: Python accepts an
//! unpaired `\ud800` escape, a Rust string cannot hold it.

use std::fmt::Write as _;

/// Nesting deeper than this is refused (CPython raises `RecursionError` near 1,000).
pub const MAX_DEPTH: usize = 512;

/// CPython's default limit on the digits of an integer read from text.
pub const INT_MAX_STR_DIGITS: usize = 4300;

/// A JSON value as Python holds it after `json.loads`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null` (`None`).
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer, as its canonical decimal digits (`-0` is kept as `0`).
    Int(String),
    /// A float, including NaN and the infinities.
    Float(f64),
    /// A string.
    Str(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, in insertion order.
    Object(Object),
}

/// A JSON object as a Python `dict`: unique keys in insertion order, with a hash index so that
/// lookups and inserts cost O(1) (a large `extra` is parsed and redacted in linear time).
#[derive(Debug, Clone, Default)]
pub struct Object {
    entries: Vec<(String, Value)>,
    index: std::collections::HashMap<String, usize>,
}

impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl Object {
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.index.get(key).map(|&i| &self.entries[i].1)
    }

    /// Sets `key` as `dict[key] = value` does: an existing key keeps its position.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        match self.index.get(&key) {
            Some(&i) => self.entries[i].1 = value,
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, value));
            }
        }
    }

    /// Renames `old` to `new` in place and sets its value; `false` (and no change) when `old`
    /// is absent. An existing `new` elsewhere is removed first.
    pub fn rename(&mut self, old: &str, new: impl Into<String>, value: Value) -> bool {
        let new = new.into();
        if !self.contains_key(old) {
            return false;
        }
        if new != old {
            self.remove(&new);
        }
        if let Some(i) = self.index.remove(old) {
            self.index.insert(new.clone(), i);
            self.entries[i] = (new, value);
        }
        true
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let at = self.index.remove(key)?;
        let (_, value) = self.entries.remove(at);
        for (k, _) in &self.entries[at..] {
            if let Some(i) = self.index.get_mut(k) {
                *i -= 1;
            }
        }
        Some(value)
    }

    /// Whether the object has `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the object has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Value {
    /// Python's truth value: `None`, `False`, `0`, `0.0`, `""`, `[]` and `{}` are false.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(digits) => digits != "0",
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
        }
    }

    /// The Python type name (`str`, `int`, `dict`, ...), for messages.
    pub fn py_type_name(&self) -> &'static str {
        match self {
            Value::Null => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Array(_) => "list",
            Value::Object(_) => "dict",
        }
    }
}

/// Why JSON text was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JsonTextError {
    /// What `json.JSONDecodeError` reports.
    #[error("{message}: line {line} column {column} (char {pos})")]
    Decode {
        /// Python's message, e.g. `Expecting value`.
        message: &'static str,
        /// Line, from 1.
        line: usize,
        /// Column, from 1, in characters.
        column: usize,
        /// Offset in characters.
        pos: usize,
    },
    /// An integer longer than CPython converts (`ValueError`).
    #[error(
        "Exceeds the limit ({INT_MAX_STR_DIGITS} digits) for integer string conversion: value has {digits} digits; use sys.set_int_max_str_digits() to increase the limit"
    )]
    IntTooLong {
        /// How many digits it had.
        digits: usize,
    },
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("JSON nested deeper than {MAX_DEPTH} levels at char {pos}")]
    TooDeep {
        /// Offset in characters.
        pos: usize,
    },
    /// A `\uD800`-`\uDFFF` escape without its pair, which Python keeps and Rust cannot.
    #[error("unpaired surrogate escape at char {pos}: wid keeps text as UTF-8 and cannot hold it")]
    LoneSurrogate {
        /// Offset in characters of the escape.
        pos: usize,
    },
}

impl JsonTextError {
    /// Whether Python raises `json.JSONDecodeError` here (as opposed to another exception).
    pub fn is_decode_error(&self) -> bool {
        matches!(self, JsonTextError::Decode { .. })
    }
}

/// `json.loads(text)`.
pub fn loads(text: &str) -> Result<Value, JsonTextError> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        lone_surrogate: None,
    };
    if text.starts_with('\u{feff}') {
        return Err(parser.decode_error("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0));
    }
    let start = parser.skip_ws(0);
    let (value, end) = parser.scan(start, 0)?;
    let end = parser.skip_ws(end);
    if end != parser.bytes.len() {
        return Err(parser.decode_error("Extra data", end));
    }
    if let Some(pos) = parser.lone_surrogate {
        return Err(JsonTextError::LoneSurrogate {
            pos: parser.char_pos(pos),
        });
    }
    Ok(value)
}

/// `json.dumps(value)` with Python's defaults.
pub fn dumps(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

/// `json.dumps(s)` for a string.
pub fn dumps_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_str(s, &mut out);
    out
}

/// `repr(f)` for a float, as `json.dumps` writes it (but `nan`/`inf` as repr spells them).
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    // Rust's `{:e}` gives the shortest round-trip digits, as Python's repr does.
    let exp_form = format!("{f:e}");
    let (mantissa, exp) = exp_form.split_once('e').unwrap_or((&exp_form, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let decpt = exp + 1;
    let mut out = String::from(sign);
    if !(-4 < decpt && decpt <= 16) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    } else if decpt <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', decpt.unsigned_abs() as usize));
        out.push_str(&digits);
    } else {
        let decpt = decpt as usize;
        if decpt >= digits.len() {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', decpt - digits.len()));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..decpt]);
            out.push('.');
            out.push_str(&digits[decpt..]);
        }
    }
    out
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Int(digits) => out.push_str(digits),
        Value::Float(f) if f.is_nan() => out.push_str("NaN"),
        Value::Float(f) if f.is_infinite() => {
            out.push_str(if *f > 0.0 { "Infinity" } else { "-Infinity" })
        }
        Value::Float(f) => out.push_str(&float_repr(*f)),
        Value::Str(s) => write_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(object) => {
            out.push('{');
            for (i, (key, item)) in object.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str(key, out);
                out.push_str(": ");
                write_value(item, out);
            }
            out.push('}');
        }
    }
}

fn write_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    /// Byte offset of the first unpaired surrogate escape, reported only if nothing else fails.
    lone_surrogate: Option<usize>,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

impl Parser<'_> {
    fn char_pos(&self, byte: usize) -> usize {
        let byte = byte.min(self.text.len());
        self.text.as_bytes()[..byte]
            .iter()
            .filter(|b| (**b & 0xC0) != 0x80)
            .count()
    }

    fn decode_error(&self, message: &'static str, byte: usize) -> JsonTextError {
        let pos = self.char_pos(byte);
        let before = &self.bytes[..byte.min(self.bytes.len())];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let column = match before.iter().rposition(|b| *b == b'\n') {
            Some(nl) => pos - self.char_pos(nl),
            None => pos + 1,
        };
        JsonTextError::Decode {
            message,
            line,
            column,
            pos,
        }
    }

    fn skip_ws(&self, mut i: usize) -> usize {
        while i < self.bytes.len() && is_ws(self.bytes[i]) {
            i += 1;
        }
        i
    }

    fn starts_with(&self, i: usize, lit: &str) -> bool {
        self.bytes[i..].starts_with(lit.as_bytes())
    }

    /// `scan_once`: the value starting at byte `i`, and the byte after it.
    fn scan(&mut self, i: usize, depth: usize) -> Result<(Value, usize), JsonTextError> {
        let Some(&b) = self.bytes.get(i) else {
            return Err(self.decode_error("Expecting value", i));
        };
        match b {
            b'"' => {
                let (s, end) = self.scan_string(i + 1)?;
                Ok((Value::Str(s), end))
            }
            b'{' => self.scan_object(i + 1, depth + 1),
            b'[' => self.scan_array(i + 1, depth + 1),
            b'n' if self.starts_with(i, "null") => Ok((Value::Null, i + 4)),
            b't' if self.starts_with(i, "true") => Ok((Value::Bool(true), i + 4)),
            b'f' if self.starts_with(i, "false") => Ok((Value::Bool(false), i + 5)),
            b'N' if self.starts_with(i, "NaN") => Ok((Value::Float(f64::NAN), i + 3)),
            b'I' if self.starts_with(i, "Infinity") => Ok((Value::Float(f64::INFINITY), i + 8)),
            b'-' if self.starts_with(i, "-Infinity") => {
                Ok((Value::Float(f64::NEG_INFINITY), i + 9))
            }
            _ => self.scan_number(i),
        }
    }

    fn scan_number(&self, start: usize) -> Result<(Value, usize), JsonTextError> {
        let digit = |j: usize| self.bytes.get(j).is_some_and(u8::is_ascii_digit);
        let mut i = start;
        if self.bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        match self.bytes.get(i) {
            Some(b'1'..=b'9') => {
                i += 1;
                while digit(i) {
                    i += 1;
                }
            }
            Some(b'0') => i += 1,
            _ => return Err(self.decode_error("Expecting value", start)),
        }
        let int_end = i;
        let mut is_float = false;
        if self.bytes.get(i) == Some(&b'.') && digit(i + 1) {
            is_float = true;
            i += 2;
            while digit(i) {
                i += 1;
            }
        }
        if matches!(self.bytes.get(i), Some(b'e' | b'E')) {
            let mut j = i + 1;
            if matches!(self.bytes.get(j), Some(b'+' | b'-')) {
                j += 1;
            }
            if digit(j) {
                while digit(j) {
                    j += 1;
                }
                is_float = true;
                i = j;
            }
        }
        let text = &self.text[start..i];
        if is_float {
            let f: f64 = text.parse().unwrap_or(f64::NAN);
            return Ok((Value::Float(f), i));
        }
        let digits = int_end - start - usize::from(text.starts_with('-'));
        if digits > INT_MAX_STR_DIGITS {
            return Err(JsonTextError::IntTooLong { digits });
        }
        let canonical = if text == "-0" {
            "0".to_string()
        } else {
            text.to_string()
        };
        Ok((Value::Int(canonical), i))
    }

    /// `scanstring`: `start` is the byte after the opening quote.
    fn scan_string(&mut self, start: usize) -> Result<(String, usize), JsonTextError> {
        let begin = start - 1;
        let mut out = String::new();
        let mut i = start;
        loop {
            let chunk_start = i;
            while i < self.bytes.len() && self.bytes[i] != b'"' && self.bytes[i] != b'\\' {
                if self.bytes[i] <= 0x1f {
                    return Err(self.decode_error("Invalid control character at", i));
                }
                i += 1;
            }
            out.push_str(&self.text[chunk_start..i]);
            let Some(&b) = self.bytes.get(i) else {
                return Err(self.decode_error("Unterminated string starting at", begin));
            };
            if b == b'"' {
                return Ok((out, i + 1));
            }
            // a backslash
            let Some(&esc) = self.bytes.get(i + 1) else {
                return Err(self.decode_error("Unterminated string starting at", begin));
            };
            if esc != b'u' {
                let c = match esc {
                    b'"' => '"',
                    b'\\' => '\\',
                    b'/' => '/',
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    _ => return Err(self.decode_error("Invalid \\escape", i)),
                };
                out.push(c);
                i += 2;
                continue;
            }
            let u_at = i + 1;
            // Python needs a character after the four digits (the string is still open).
            if u_at + 5 >= self.bytes.len() {
                return Err(self.decode_error("Invalid \\uXXXX escape", u_at));
            }
            let Some(first) = self.hex4(u_at + 1) else {
                return Err(self.decode_error("Invalid \\uXXXX escape", u_at));
            };
            i = u_at + 5;
            let mut code = first;
            if (0xD800..=0xDBFF).contains(&first)
                && i + 6 < self.bytes.len()
                && self.bytes[i] == b'\\'
                && self.bytes[i + 1] == b'u'
            {
                let Some(second) = self.hex4(i + 2) else {
                    return Err(self.decode_error("Invalid \\uXXXX escape", i + 1));
                };
                if (0xDC00..=0xDFFF).contains(&second) {
                    code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                    i += 6;
                }
            }
            match char::from_u32(code) {
                Some(c) => out.push(c),
                None => {
                    self.lone_surrogate.get_or_insert(u_at - 1);
                    out.push('\u{fffd}');
                }
            }
        }
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.bytes.get(at..at + 4)?;
        let mut code = 0u32;
        for d in digits {
            code = code * 16 + (*d as char).to_digit(16)?;
        }
        Some(code)
    }

    fn scan_object(&mut self, start: usize, depth: usize) -> Result<(Value, usize), JsonTextError> {
        if depth > MAX_DEPTH {
            return Err(JsonTextError::TooDeep {
                pos: self.char_pos(start - 1),
            });
        }
        let mut object = Object::new();
        let mut i = self.skip_ws(start);
        if self.bytes.get(i) == Some(&b'}') {
            return Ok((Value::Object(object), i + 1));
        }
        loop {
            if self.bytes.get(i) != Some(&b'"') {
                return Err(
                    self.decode_error("Expecting property name enclosed in double quotes", i)
                );
            }
            let (key, after_key) = self.scan_string(i + 1)?;
            i = self.skip_ws(after_key);
            if self.bytes.get(i) != Some(&b':') {
                return Err(self.decode_error("Expecting ':' delimiter", i));
            }
            i = self.skip_ws(i + 1);
            let (value, after_value) = self.scan(i, depth)?;
            // A repeated key keeps its first position and takes the last value, as in Python.
            object.insert(key, value);
            i = self.skip_ws(after_value);
            match self.bytes.get(i) {
                Some(b'}') => return Ok((Value::Object(object), i + 1)),
                Some(b',') => i = self.skip_ws(i + 1),
                _ => return Err(self.decode_error("Expecting ',' delimiter", i)),
            }
        }
    }

    fn scan_array(&mut self, start: usize, depth: usize) -> Result<(Value, usize), JsonTextError> {
        if depth > MAX_DEPTH {
            return Err(JsonTextError::TooDeep {
                pos: self.char_pos(start - 1),
            });
        }
        let mut items = Vec::new();
        let mut i = self.skip_ws(start);
        if self.bytes.get(i) == Some(&b']') {
            return Ok((Value::Array(items), i + 1));
        }
        loop {
            let (value, after_value) = self.scan(i, depth)?;
            items.push(value);
            i = self.skip_ws(after_value);
            match self.bytes.get(i) {
                Some(b']') => return Ok((Value::Array(items), i + 1)),
                Some(b',') => i = self.skip_ws(i + 1),
                _ => return Err(self.decode_error("Expecting ',' delimiter", i)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn object_keeps_dict_order_through_insert_rename_and_remove() {
        let mut o = Object::new();
        for k in ["a", "b", "c", "d"] {
            o.insert(k, Value::Str(k.into()));
        }
        o.insert("b", Value::Null);
        o.remove("a");
        assert!(o.rename("c", "z", Value::Bool(true)));
        o.insert("e", Value::Int("1".into()));
        let keys: Vec<&str> = o.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["b", "z", "d", "e"]);
        assert_eq!(o.get("b"), Some(&Value::Null));
        assert_eq!(o.get("z"), Some(&Value::Bool(true)));
        assert_eq!(o.get("d"), Some(&Value::Str("d".into())));
        assert_eq!(o.get("c"), None);
        assert!(
            o.rename("z", "d", Value::Null),
            "renaming onto an existing key drops it"
        );
        let keys: Vec<&str> = o.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["b", "d", "e"]);
        assert_eq!(o.remove("e"), Some(Value::Int("1".into())));
        assert_eq!(o.len(), 2);
        // A repeated key in JSON keeps its first position and its last value.
        let Value::Object(parsed) = loads(r#"{"x": 1, "y": 2, "x": 3}"#).unwrap() else {
            panic!("an object")
        };
        assert_eq!(
            parsed.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ["x", "y"]
        );
        assert_eq!(parsed.get("x"), Some(&Value::Int("3".into())));
    }

    use super::*;

    fn err(text: &str) -> String {
        loads(text).expect_err(text).to_string()
    }

    #[test]
    fn round_trips_as_python_writes() {
        let v = loads(r#"{"a":1,"b":[true,false,null],"c":"\u00e9\ud83d\ude00\/","a":2}"#).unwrap();
        assert_eq!(
            dumps(&v),
            r#"{"a": 2, "b": [true, false, null], "c": "\u00e9\ud83d\ude00/"}"#
        );
    }

    #[test]
    fn floats_as_repr() {
        let cases = [
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (0.1, "0.1"),
            (-0.0, "-0.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1.5e-7, "1.5e-07"),
            (100.0, "100.0"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (12345678901234567.0, "1.2345678901234568e+16"),
        ];
        for (f, want) in cases {
            assert_eq!(float_repr(f), want, "{f:e}");
        }
        assert_eq!(
            dumps(&loads("[NaN, Infinity, -Infinity, 1E5, 1e400]").unwrap()),
            "[NaN, Infinity, -Infinity, 100000.0, Infinity]"
        );
    }

    #[test]
    fn integers_keep_their_digits() {
        assert_eq!(
            dumps(&loads("[123456789012345678901234567890, -0, 0, -12]").unwrap()),
            "[123456789012345678901234567890, 0, 0, -12]"
        );
        let long = "1".repeat(4301);
        assert_eq!(
            loads(&long),
            Err(JsonTextError::IntTooLong { digits: 4301 })
        );
        assert!(loads(&"1".repeat(4300)).is_ok());
        assert!(loads(&format!("-{}", "1".repeat(4300))).is_ok());
    }

    #[test]
    fn errors_as_python_words_them() {
        assert_eq!(
            err(r#"{"a":1,}"#),
            "Expecting property name enclosed in double quotes: line 1 column 8 (char 7)"
        );
        assert_eq!(err("[1,]"), "Expecting value: line 1 column 4 (char 3)");
        assert_eq!(
            err("[1 2]"),
            "Expecting ',' delimiter: line 1 column 4 (char 3)"
        );
        assert_eq!(
            err(r#"{"a" 1}"#),
            "Expecting ':' delimiter: line 1 column 6 (char 5)"
        );
        assert_eq!(
            err("\"abc"),
            "Unterminated string starting at: line 1 column 1 (char 0)"
        );
        assert_eq!(
            err("\"a\u{1}\""),
            "Invalid control character at: line 1 column 3 (char 2)"
        );
        assert_eq!(err(r#""\x""#), "Invalid \\escape: line 1 column 2 (char 1)");
        assert_eq!(
            err(r#""\u12""#),
            "Invalid \\uXXXX escape: line 1 column 3 (char 2)"
        );
        assert_eq!(
            err(r#""\ud800\uzzzz""#),
            "Invalid \\uXXXX escape: line 1 column 9 (char 8)"
        );
        assert_eq!(
            err(r#""\ud800"#),
            "Invalid \\uXXXX escape: line 1 column 3 (char 2)"
        );
        assert_eq!(err(""), "Expecting value: line 1 column 1 (char 0)");
        assert_eq!(err("  "), "Expecting value: line 1 column 3 (char 2)");
        assert_eq!(err("-x"), "Expecting value: line 1 column 1 (char 0)");
        assert_eq!(err("1."), "Extra data: line 1 column 2 (char 1)");
        assert_eq!(
            err("{"),
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
        );
        assert_eq!(
            err("[1"),
            "Expecting ',' delimiter: line 1 column 3 (char 2)"
        );
        assert_eq!(
            err("\u{feff}{}"),
            "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)"
        );
        assert_eq!(err("Infinityx"), "Extra data: line 1 column 9 (char 8)");
        assert_eq!(err("é"), "Expecting value: line 1 column 1 (char 0)");
        assert_eq!(
            err("[\"é\",\n x]"),
            "Expecting value: line 2 column 2 (char 7)"
        );
    }

    #[test]
    fn lone_surrogates_are_refused_only_when_nothing_else_fails() {
        assert_eq!(
            loads(r#""\ud800""#),
            Err(JsonTextError::LoneSurrogate { pos: 1 })
        );
        assert_eq!(
            loads(r#""\udc00\ud800x""#),
            Err(JsonTextError::LoneSurrogate { pos: 1 })
        );
        assert!(
            loads(r#"["\ud800", ]"#)
                .expect_err("decode")
                .is_decode_error()
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(loads(&deep), Err(JsonTextError::TooDeep { .. })));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(loads(&ok).is_ok());
    }

    #[test]
    fn truthiness() {
        for falsy in [
            "null", "false", "0", "-0", "0.0", "-0.0", "\"\"", "[]", "{}",
        ] {
            assert!(!loads(falsy).unwrap().is_truthy(), "{falsy}");
        }
        for truthy in ["true", "1", "0.5", "\"0\"", "[0]", "{\"a\": null}", "NaN"] {
            assert!(loads(truthy).unwrap().is_truthy(), "{truthy}");
        }
    }
}

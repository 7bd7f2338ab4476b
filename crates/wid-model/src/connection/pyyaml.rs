//! `airflow.utils.yaml.dump(data)` (PyYAML's `yaml.dump` with `CSafeDumper`: PyYAML's
//! representer and resolver, libyaml's emitter), for the one shape `airflow connections
//! export` dumps: a mapping of connection ids to mappings of strings, integers and `None`.
//!
//! A port of the parts that this shape reaches: PyYAML 6's `Resolver` (the YAML 1.1 implicit
//! types) and scalar analysis, and libyaml 0.2's scalar writers (plain, single and double
//! quoted): keys sorted, block style, `unicode` off (so non-ASCII text is double quoted with
//! escapes), lines folded at a space past column 80. A string
//! that a YAML 1.1 reader would take for another type (`yes`, `0755`, `null`, `''`) is quoted,
//! which is why a generic YAML 1.2 writer cannot stand in: PyYAML would read it back changed.

use super::export::DictValue;

const BEST_WIDTH: usize = 80;
const BREAKS: [char; 4] = ['\n', '\u{85}', '\u{2028}', '\u{2029}'];

fn is_break(c: char) -> bool {
    BREAKS.contains(&c)
}

fn is_space_or_break(c: char) -> bool {
    matches!(c, '\0' | ' ' | '\t' | '\r') || is_break(c)
}

/// Whether PyYAML's resolver reads `value`, written plain, as a string (and not a bool, int,
/// float, null, timestamp, merge or value key).
pub fn resolves_to_str(value: &str) -> bool {
    // Python's `$` also matches before one final newline.
    let v = value.strip_suffix('\n').unwrap_or(value);
    !(is_bool(v)
        || is_float(v)
        || is_int(v)
        || v == "<<"
        || is_null(v)
        || is_timestamp(v)
        || v == "=")
}

fn is_bool(v: &str) -> bool {
    matches!(
        v,
        "yes"
            | "Yes"
            | "YES"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

fn is_null(v: &str) -> bool {
    matches!(v, "~" | "null" | "Null" | "NULL" | "")
}

/// A cursor over bytes for the resolver's regular expressions (all ASCII).
struct Cur<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cur<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, f: impl Fn(u8) -> bool) -> bool {
        match self.peek() {
            Some(c) if f(c) => {
                self.i += 1;
                true
            }
            _ => false,
        }
    }
    fn eat_many(&mut self, f: impl Fn(u8) -> bool) -> usize {
        let start = self.i;
        while self.eat(&f) {}
        self.i - start
    }
    fn sign(&mut self) {
        self.eat(|c| c == b'+' || c == b'-');
    }
    fn done(&self) -> bool {
        self.i == self.b.len()
    }
    fn at(b: &[u8]) -> Cur<'_> {
        Cur { b, i: 0 }
    }
}

fn digit(c: u8) -> bool {
    c.is_ascii_digit()
}
fn digit_(c: u8) -> bool {
    c.is_ascii_digit() || c == b'_'
}

/// `(?::[0-5]?[0-9])+`, at least once.
fn sexagesimal(c: &mut Cur<'_>) -> bool {
    let mut n = 0;
    loop {
        let save = c.i;
        if !c.eat(|x| x == b':') {
            break;
        }
        // [0-5]?[0-9]: one or two digits, the first of two at most 5.
        let d1 = c.peek();
        let d2 = c.b.get(c.i + 1).copied();
        match (d1, d2) {
            (Some(a), Some(b)) if (b'0'..=b'5').contains(&a) && digit(b) => c.i += 2,
            (Some(a), _) if digit(a) => c.i += 1,
            _ => {
                c.i = save;
                break;
            }
        }
        n += 1;
    }
    n > 0
}

fn is_int(v: &str) -> bool {
    let b = v.as_bytes();
    let alternatives: [&dyn Fn(&mut Cur<'_>) -> bool; 5] = [
        &|c| {
            c.sign();
            c.eat(|x| x == b'0')
                && c.eat(|x| x == b'b')
                && c.eat_many(|x| x == b'0' || x == b'1' || x == b'_') > 0
        },
        &|c| {
            c.sign();
            c.eat(|x| x == b'0') && c.eat_many(|x| (b'0'..=b'7').contains(&x) || x == b'_') > 0
        },
        &|c| {
            c.sign();
            if c.eat(|x| x == b'0') {
                return true;
            }
            c.eat(|x| (b'1'..=b'9').contains(&x)) && {
                c.eat_many(digit_);
                true
            }
        },
        &|c| {
            c.sign();
            c.eat(|x| x == b'0')
                && c.eat(|x| x == b'x')
                && c.eat_many(|x| x.is_ascii_hexdigit() || x == b'_') > 0
        },
        &|c| {
            c.sign();
            c.eat(|x| (b'1'..=b'9').contains(&x)) && {
                c.eat_many(digit_);
                sexagesimal(c)
            }
        },
    ];
    // Each alternative is greedy without backtracking; `$` needs the whole text.
    alternatives.iter().any(|alt| {
        let mut c = Cur::at(b);
        alt(&mut c) && c.done()
    })
}

fn exponent(c: &mut Cur<'_>) {
    let save = c.i;
    if c.eat(|x| x == b'e' || x == b'E')
        && c.eat(|x| x == b'+' || x == b'-')
        && c.eat_many(digit) > 0
    {
        return;
    }
    c.i = save;
}

fn is_float(v: &str) -> bool {
    let b = v.as_bytes();
    let alternatives: [&dyn Fn(&mut Cur<'_>) -> bool; 5] = [
        &|c| {
            c.sign();
            c.eat(digit)
                && {
                    c.eat_many(digit_);
                    c.eat(|x| x == b'.')
                }
                && {
                    c.eat_many(digit_);
                    exponent(c);
                    true
                }
        },
        &|c| {
            c.eat(|x| x == b'.') && c.eat(digit) && {
                c.eat_many(digit_);
                exponent(c);
                true
            }
        },
        &|c| {
            c.sign();
            c.eat(digit)
                && {
                    c.eat_many(digit_);
                    sexagesimal(c)
                }
                && c.eat(|x| x == b'.')
                && {
                    c.eat_many(digit_);
                    true
                }
        },
        &|c| {
            c.sign();
            c.eat(|x| x == b'.') && {
                let rest = &c.b[c.i..];
                c.i = c.b.len();
                matches!(rest, b"inf" | b"Inf" | b"INF")
            }
        },
        &|c| {
            matches!(c.b, b".nan" | b".NaN" | b".NAN") && {
                c.i = c.b.len();
                true
            }
        },
    ];
    alternatives.iter().any(|alt| {
        let mut c = Cur::at(b);
        alt(&mut c) && c.done()
    })
}

fn is_timestamp(v: &str) -> bool {
    let b = v.as_bytes();
    // YYYY-MM-DD
    if b.len() == 10
        && b.iter().enumerate().all(|(i, &x)| {
            if i == 4 || i == 7 {
                x == b'-'
            } else {
                digit(x)
            }
        })
    {
        return true;
    }
    let mut c = Cur::at(b);
    let n = |c: &mut Cur<'_>, min: usize, max: usize| {
        let start = c.i;
        while c.i - start < max && c.eat(digit) {}
        c.i - start >= min
    };
    if !(n(&mut c, 4, 4) && c.eat(|x| x == b'-') && n(&mut c, 1, 2) && c.eat(|x| x == b'-')) {
        return false;
    }
    if !n(&mut c, 1, 2) {
        return false;
    }
    if !(c.eat(|x| x == b'T' || x == b't') || c.eat_many(|x| x == b' ' || x == b'\t') > 0) {
        return false;
    }
    if !(n(&mut c, 1, 2)
        && c.eat(|x| x == b':')
        && n(&mut c, 2, 2)
        && c.eat(|x| x == b':')
        && n(&mut c, 2, 2))
    {
        return false;
    }
    if c.eat(|x| x == b'.') {
        c.eat_many(digit);
    }
    if c.done() {
        return true;
    }
    c.eat_many(|x| x == b' ' || x == b'\t');
    if c.eat(|x| x == b'Z') {
        return c.done();
    }
    if !(c.eat(|x| x == b'+' || x == b'-') && n(&mut c, 1, 2)) {
        return false;
    }
    if c.eat(|x| x == b':') && !n(&mut c, 2, 2) {
        return false;
    }
    c.done()
}

/// What `analyze_scalar` finds out about a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Analysis {
    empty: bool,
    multiline: bool,
    allow_block_plain: bool,
    allow_single_quoted: bool,
}

fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            allow_block_plain: true,
            allow_single_quoted: true,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let mut block_indicators = s.starts_with("---") || s.starts_with("...");
    let mut line_breaks = false;
    let mut special = false;
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let mut preceded_by_ws = true;
    let mut followed_by_ws = chars.len() == 1 || is_space_or_break(chars[1]);
    let (mut previous_space, mut previous_break) = (false, false);
    let last = chars.len() - 1;
    for (index, &ch) in chars.iter().enumerate() {
        if index == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(ch) {
                block_indicators = true;
            }
            if (ch == '?' || ch == ':') && followed_by_ws {
                block_indicators = true;
            }
            if ch == '-' && followed_by_ws {
                block_indicators = true;
            }
        } else {
            if ch == ':' && followed_by_ws {
                block_indicators = true;
            }
            if ch == '#' && preceded_by_ws {
                block_indicators = true;
            }
        }
        if is_break(ch) {
            line_breaks = true;
        }
        if !(ch == '\n' || (' '..='~').contains(&ch)) {
            // With allow_unicode=False every other character is special.
            special = true;
        }
        if ch == ' ' {
            leading_space |= index == 0;
            trailing_space |= index == last;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(ch) {
            leading_break |= index == 0;
            trailing_break |= index == last;
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_ws = is_space_or_break(ch);
        followed_by_ws = index + 2 >= chars.len() || is_space_or_break(chars[index + 2]);
    }
    let mut allow_block_plain = true;
    let mut allow_single_quoted = true;
    if leading_space || leading_break || trailing_space || trailing_break {
        allow_block_plain = false;
    }
    if break_space {
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if space_break || special {
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if line_breaks || block_indicators {
        allow_block_plain = false;
    }
    Analysis {
        empty: false,
        multiline: line_breaks,
        allow_block_plain,
        allow_single_quoted,
    }
}

/// The writer's state: PyYAML's `column`, `whitespace`, `indention` and `indent`.
struct Emitter {
    out: String,
    column: usize,
    whitespace: bool,
    indention: bool,
    indent: usize,
}

impl Emitter {
    fn write(&mut self, data: &str) {
        self.column += data.chars().count();
        self.out.push_str(data);
    }

    fn write_indicator(&mut self, indicator: &str, need_whitespace: bool) {
        self.write_indicator_at(indicator, need_whitespace, false);
    }

    /// libyaml's `yaml_emitter_write_indicator`; `indention` keeps the line's indention
    /// (the `?` and `:` of a complex key).
    fn write_indicator_at(&mut self, indicator: &str, need_whitespace: bool, indention: bool) {
        if need_whitespace && !self.whitespace {
            self.write(" ");
        }
        self.write(indicator);
        self.whitespace = false;
        self.indention = self.indention && indention;
    }

    /// libyaml's `yaml_emitter_write_indent`.
    fn write_indent(&mut self) {
        let indent = self.indent;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break(None);
        }
        while self.column < indent {
            self.write(" ");
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn put_break(&mut self, data: Option<char>) {
        self.out.push(data.unwrap_or('\n'));
        self.column = 0;
    }

    fn write_char(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    /// libyaml's plain writer: a single space past column 80 becomes a line break.
    fn write_plain(&mut self, text: &str, split: bool) {
        if !self.whitespace && !text.is_empty() {
            self.write(" ");
        }
        let t: Vec<char> = text.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        for (i, &c) in t.iter().enumerate() {
            if c == ' ' {
                if split && !spaces && self.column > BEST_WIDTH && t.get(i + 1) != Some(&' ') {
                    self.write_indent();
                } else {
                    self.write_char(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break(None);
                }
                self.put_break(if c == '\n' { None } else { Some(c) });
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.write_char(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    /// libyaml's single-quoted writer.
    fn write_single_quoted(&mut self, text: &str, split: bool) {
        self.write_indicator("'", true);
        let t: Vec<char> = text.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        for (i, &c) in t.iter().enumerate() {
            if c == ' ' {
                if split
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i != 0
                    && i != t.len() - 1
                    && t.get(i + 1) != Some(&' ')
                {
                    self.write_indent();
                } else {
                    self.write_char(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break(None);
                }
                self.put_break(if c == '\n' { None } else { Some(c) });
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.write_char('\'');
                }
                self.write_char(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        if breaks {
            self.write_indent();
        }
        self.write_indicator("'", false);
    }

    /// libyaml's double-quoted writer, with `unicode` off: everything outside printable
    /// ASCII is escaped.
    fn write_double_quoted(&mut self, text: &str, split: bool) {
        self.write_indicator("\"", true);
        let t: Vec<char> = text.chars().collect();
        let mut spaces = false;
        for (i, &c) in t.iter().enumerate() {
            if !(' '..='~').contains(&c) || c == '"' || c == '\\' {
                let data = match c {
                    '\0' => "\\0".to_string(),
                    '\u{7}' => "\\a".into(),
                    '\u{8}' => "\\b".into(),
                    '\t' => "\\t".into(),
                    '\n' => "\\n".into(),
                    '\u{b}' => "\\v".into(),
                    '\u{c}' => "\\f".into(),
                    '\r' => "\\r".into(),
                    '\u{1b}' => "\\e".into(),
                    '"' => "\\\"".into(),
                    '\\' => "\\\\".into(),
                    '\u{85}' => "\\N".into(),
                    '\u{a0}' => "\\_".into(),
                    '\u{2028}' => "\\L".into(),
                    '\u{2029}' => "\\P".into(),
                    c if (c as u32) <= 0xFF => format!("\\x{:02X}", c as u32),
                    c if (c as u32) <= 0xFFFF => format!("\\u{:04X}", c as u32),
                    c => format!("\\U{:08X}", c as u32),
                };
                self.write(&data);
                spaces = false;
            } else if c == ' ' {
                if split && !spaces && self.column > BEST_WIDTH && i != 0 && i != t.len() - 1 {
                    self.write_indent();
                    if t.get(i + 1) == Some(&' ') {
                        self.write_char('\\');
                    }
                } else {
                    self.write_char(c);
                }
                spaces = true;
            } else {
                self.write_char(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false);
    }

    /// `process_scalar` for a string (`tag:yaml.org,2002:str`).
    fn string(&mut self, s: &str, simple_key: bool) {
        let a = analyze(s);
        let split = !simple_key;
        if resolves_to_str(s) && !(simple_key && (a.empty || a.multiline)) && a.allow_block_plain {
            self.write_plain(s, split);
        } else if a.allow_single_quoted && !(simple_key && a.multiline) {
            self.write_single_quoted(s, split);
        } else {
            self.write_double_quoted(s, split);
        }
    }

    fn value(&mut self, v: DictValue<'_>) {
        match v {
            DictValue::Str(s) => self.string(s, false),
            DictValue::Int(n) => self.write_plain(&n.to_string(), true),
            DictValue::None => self.write_plain("null", true),
        }
    }
}

/// `yaml.dump({id: {field: value}})` for connections in `_connection_to_dict` form.
pub fn dump_connections(entries: &[(String, Vec<(&str, DictValue<'_>)>)]) -> String {
    if entries.is_empty() {
        return "{}\n".into();
    }
    let mut entries: Vec<&(String, Vec<(&str, DictValue<'_>)>)> = entries.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut e = Emitter {
        out: String::new(),
        column: 0,
        whitespace: true,
        indention: true,
        indent: 0,
    };
    for (id, fields) in entries {
        // libyaml's `check_simple_key`: shorter than 128 characters and on one line; a longer
        // id is written as a complex key (`? id` then `: ` before its mapping).
        let simple = id.chars().count() < 128 && !analyze(id).multiline;
        e.indent = 0;
        e.write_indent();
        if simple {
            e.indent = 2;
            e.string(id, true);
            e.write_indicator(":", false);
        } else {
            e.write_indicator_at("?", true, true);
            e.indent = 2;
            e.string(id, false);
            e.indent = 0;
            e.write_indent();
            e.write_indicator_at(":", true, true);
        }
        let mut fields = fields.clone();
        fields.sort_by(|a, b| a.0.cmp(b.0));
        for (k, v) in fields {
            e.indent = 2;
            e.write_indent();
            e.indent = 4;
            e.string(k, true);
            e.write_indicator(":", false);
            e.value(v);
        }
    }
    e.indent = 0;
    e.write_indent();
    e.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_1_1_types_are_quoted() {
        for v in [
            "yes",
            "Off",
            "0755",
            "0b101",
            "0x1F",
            "1_000",
            "1:30",
            "1.5",
            ".inf",
            ".NaN",
            "null",
            "~",
            "",
            "2026-12-03",
            "2026-1-3 10:00:00",
            "<<",
            "=",
            "12\n",
        ] {
            assert!(!resolves_to_str(v), "{v:?} is not a string to PyYAML");
        }
        for v in [
            "yess",
            "08",
            "1:60",
            "2026-12-3",
            "abc",
            "1.2.3",
            "+",
            "-",
            "0x",
        ] {
            assert!(resolves_to_str(v), "{v:?} is a string to PyYAML");
        }
    }

    #[test]
    fn dumps_as_pyyaml() {
        let fields = vec![
            ("conn_type", DictValue::Str("postgres")),
            ("port", DictValue::Int(5432)),
            ("password", DictValue::Str("p@ss: word")),
            ("host", DictValue::None),
            ("login", DictValue::Str("")),
            ("description", DictValue::Str("données")),
            ("schema", DictValue::Str("yes")),
            ("extra", DictValue::Str("{\"a\": \"it's\"}")),
        ];
        let out = dump_connections(&[("pg".into(), fields)]);
        assert_eq!(
            out,
            "pg:\n  conn_type: postgres\n  description: \"donn\\xE9es\"\n  extra: '{\"a\": \"it''s\"}'\n  host: null\n  login: ''\n  password: 'p@ss: word'\n  port: 5432\n  schema: 'yes'\n"
        );
        assert_eq!(dump_connections(&[]), "{}\n");
    }

    #[test]
    fn folds_and_quotes_as_libyaml() {
        // Expected: `yaml.dump(d, Dumper=CSafeDumper)` with PyYAML 6.0.4 (libyaml 0.2.5).
        let plain = "plain words ".repeat(12);
        let desc = format!("été  {}  double  spaces", "x ".repeat(45));
        let extra = format!("{{\"a\": \"{}\"}}", "it's ".repeat(20));
        let fields = vec![
            ("conn_type", DictValue::Str(&plain)),
            ("description", DictValue::Str(&desc)),
            ("extra", DictValue::Str(&extra)),
            ("host", DictValue::Str("tab\there")),
            ("login", DictValue::Str("line\nbreak")),
            ("password", DictValue::Str("-")),
            ("port", DictValue::Int(-1)),
            ("schema", DictValue::Str("- dash")),
        ];
        assert_eq!(
            dump_connections(&[("fold".into(), fields)]),
            "fold:\n  conn_type: 'plain words plain words plain words plain words plain words plain words\n    plain words plain words plain words plain words plain words plain words '\n  description: \"\\xE9t\\xE9  x x x x x x x x x x x x x x x x x x x x x x x x x x x x\n    x x x x x x x x x x x x x x x x x   double  spaces\"\n  extra: '{\"a\": \"it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s\n    it''s it''s it''s it''s it''s it''s it''s it''s it''s \"}'\n  host: \"tab\\there\"\n  login: 'line\n\n    break'\n  password: '-'\n  port: -1\n  schema: '- dash'\n"
        );
    }

    #[test]
    fn ids_of_128_characters_or_more_are_complex_keys() {
        // Expected: `yaml.dump(d, Dumper=CSafeDumper)`.
        let long = "c".repeat(130);
        let out = dump_connections(&[
            (
                long.clone(),
                vec![
                    ("conn_type", DictValue::Str("x")),
                    ("port", DictValue::Int(1)),
                ],
            ),
            ("a".into(), vec![("conn_type", DictValue::Str("y"))]),
        ]);
        assert_eq!(
            out,
            format!("a:\n  conn_type: y\n? {long}\n: conn_type: x\n  port: 1\n")
        );
    }
}

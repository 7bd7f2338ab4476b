//! Output: readable tables by default, JSON with `--output json`.

use serde_json::Value;

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// A table (lists) or aligned fields (one item); `raw` for `wid token`.
    #[default]
    #[value(alias = "raw")]
    Table,
    /// JSON, as `az` prints it.
    Json,
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// Renders rows of `value` as a table with the given `(header, json key)` columns.
pub fn table(rows: &[Value], columns: &[(&str, &str)]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| columns.iter().map(|(_, k)| cell(&r[*k])).collect())
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, (h, _))| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .chain([h.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |vals: Vec<String>| {
        vals.iter()
            .enumerate()
            .map(|(i, v)| format!("{v:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![line(columns.iter().map(|(h, _)| h.to_string()).collect())];
    out.push(line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    out.extend(cells.into_iter().map(line));
    out.join("\n")
}

/// Renders one item as `Label: value` lines.
pub fn fields(item: &Value, columns: &[(&str, &str)]) -> String {
    let w = columns.iter().map(|(h, _)| h.len()).max().unwrap_or(0) + 1;
    columns
        .iter()
        .map(|(h, k)| format!("{:<w$} {}", format!("{h}:"), cell(&item[*k])))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Prints a list in the chosen format.
pub fn print_list(format: Format, rows: &[Value], columns: &[(&str, &str)]) {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(rows).unwrap_or_default()),
        Format::Table => println!("{}", table(rows, columns)),
    }
}

/// Prints one item in the chosen format.
pub fn print_item(format: Format, item: &Value, columns: &[(&str, &str)]) {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(item).unwrap_or_default()),
        Format::Table => println!("{}", fields(item, columns)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_table_and_fields() {
        let rows = vec![
            json!({"name": "a", "n": 1}),
            json!({"name": "longer", "n": null}),
        ];
        assert_eq!(
            table(&rows, &[("Name", "name"), ("N", "n")]),
            "Name    N\n------  -\na       1\nlonger"
        );
        assert_eq!(
            fields(&rows[0], &[("Name", "name"), ("Count", "n")]),
            "Name:  a\nCount: 1"
        );
    }
}

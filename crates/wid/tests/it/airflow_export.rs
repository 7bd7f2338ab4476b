//! Connections through wid and back, with real Airflow 3.3.2 (`.venv-airflow`, made by
//! `scripts/check-airflow-fixture` or `./scripts/test`) on both sides:
//!
//! - connections made by Airflow (`airflow connections add`), exported by Airflow in json,
//!   yaml, env (uri) and env (json), imported into wid with `--overwrite` over stale ones,
//!   exported by wid: the same bytes as Airflow's file, and a fresh Airflow that imports wid's
//!   file holds every field of every connection as the first Airflow did;
//! - connections made by `wid connections add`, exported by wid, imported by a fresh Airflow:
//!   every field as added.
//!
//! Airflow runs offline: SQLite in a temporary AIRFLOW_HOME, no example DAGs, the CLI's own
//! parser and functions run in-process by `tests/python/airflow_cli.py`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::cli_session::{ok, start_up, wid};

const FERNET_KEY: &str = "Sbl4mJ8VbaGZfJcvqUItjQ6lyJRNfKVm-Hc2KhNlqf0=";
const HARD: &str = "@ : / ? # % & = +";

fn airflow_python() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-airflow/bin/python");
    assert!(
        p.exists(),
        "Airflow 3.3.2 is needed in .venv-airflow: run ./scripts/test or scripts/check-airflow-fixture (they create it from scripts/requirements-airflow.txt)"
    );
    p
}

/// One Airflow installation: its home and SQLite metadata database.
struct Airflow {
    home: PathBuf,
}

impl Airflow {
    /// A fresh Airflow whose database is a copy of `template` (already migrated).
    fn fresh(dir: &Path, name: &str, template: &Path) -> Airflow {
        let home = dir.join(name);
        std::fs::create_dir_all(&home).unwrap();
        std::fs::copy(template, home.join("airflow.db")).unwrap();
        Airflow { home }
    }

    /// Runs `airflow` CLI commands (in one process), then returns every stored connection.
    fn run(&self, commands: &[Vec<String>]) -> BTreeMap<String, Value> {
        let script = self.home.join("script.json");
        let dump = self.home.join("dump.json");
        std::fs::write(
            &script,
            json!({"commands": commands, "dump": dump}).to_string(),
        )
        .unwrap();
        let helper = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/airflow_cli.py");
        let out = Command::new(airflow_python())
            .arg(helper)
            .arg(&script)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("AIRFLOW_HOME", &self.home)
            .env(
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                format!("sqlite:///{}", self.home.join("airflow.db").display()),
            )
            .env("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
            // The default (getfqdn) may ask DNS; the tests stay on loopback.
            .env("AIRFLOW__CORE__HOSTNAME_CALLABLE", "socket.gethostname")
            .env("AIRFLOW__CORE__FERNET_KEY", FERNET_KEY)
            .env("SCARF_ANALYTICS", "false")
            .env("DO_NOT_TRACK", "true")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "airflow failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let v: BTreeMap<String, Value> =
            serde_json::from_slice(&std::fs::read(&dump).unwrap()).unwrap();
        v
    }
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// `airflow connections add ...` for the connections of the issue, made by Airflow itself.
fn airflow_adds() -> Vec<Vec<String>> {
    let hard = |field: &str| format!("{field}{HARD} x");
    let azure = json!({"conn_type": "azure", "extra": {
        "managed_identity_client_id": "0b1f2c3d-1111-2222-3333-444455556666",
        "workload_identity_tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "subscriptionId": "9e3b3c52-7a9d-4c7e-8b1a-1f2e3d4c5b6a"}});
    let http = json!({"conn_type": "http", "host": "api.example.com", "port": 8443,
        "login": "svc", "password": format!("pw{HARD} end"),
        "description": "Servicio de facturación — ✓ 請求 (a long description, long enough that PyYAML folds it at column eighty)",
        "extra": {"headers": {"X-Env": "prod"}, "verify": false, "timeout": 30}});
    let wasb = json!({"conn_type": "wasb", "login": "myaccount", "password": "Zm9vYmFyYmF6+/==",
        "extra": {"sas_token": "sv=2022-11-02&ss=b&srt=co&sp=rl&se=2026-12-31T00:00:00Z&sig=a%2Bb%3D"}});
    let traps = json!({"conn_type": "generic", "login": "yes", "schema": "0755", "host": "null",
        "password": "it's: - # [a] {trap}", "description": "", "port": 0});
    vec![
        args(&[
            "connections",
            "add",
            "azure_wi",
            "--conn-json",
            &azure.to_string(),
        ]),
        args(&[
            "connections",
            "add",
            "pg_uri",
            "--conn-uri",
            "postgresql://app%40corp:p%40ss%2Fw%3Ard%20%23x%25@db.example.com:5432/sales%2F2026?sslmode=require&application_name=etl%20job",
        ]),
        args(&[
            "connections",
            "add",
            "http_api",
            "--conn-json",
            &http.to_string(),
        ]),
        args(&[
            "connections",
            "add",
            "wasb_sp",
            "--conn-json",
            &wasb.to_string(),
        ]),
        args(&[
            "connections",
            "add",
            "hard_chars",
            "--conn-type",
            "generic",
            "--conn-login",
            &hard("login"),
            "--conn-password",
            &hard("password"),
            "--conn-host",
            &hard("host"),
            "--conn-schema",
            &hard("schema"),
            "--conn-port",
            "1234",
            "--conn-extra",
            &json!({format!("key{HARD}"): hard("value"), "a b": "c d"}).to_string(),
        ]),
        args(&[
            "connections",
            "add",
            "yaml_traps",
            "--conn-json",
            &traps.to_string(),
        ]),
    ]
}

/// The formats: file name, extra flags of `export`.
const FORMATS: [(&str, &[&str]); 4] = [
    ("conns.json", &[]),
    ("conns.yaml", &[]),
    ("conns.env", &[]),
    ("conns-json.env", &["--serialization-format", "json"]),
];

/// The fields a connection has in Airflow, without the encryption flags.
fn fields(v: &Value) -> Value {
    let mut v = v.clone();
    let m = v.as_object_mut().unwrap();
    m.remove("is_encrypted");
    m.remove("is_extra_encrypted");
    v
}

/// A connection as Airflow reads it back from its URI form: no description (the URI has
/// none), `host` and `schema` always set, empty when absent (`urlsplit` gives both), and an
/// `extra` of string values only (written as a query) re-read as `json.dumps(dict(query))`.
fn through_uri(mut v: Value) -> Value {
    use wid_model::connection::pyjson;
    v["description"] = Value::Null;
    if let Some(text) = v["extra"].as_str()
        && let Ok(pyjson::Value::Object(o)) = pyjson::loads(text)
        && o.iter().all(|(_, x)| matches!(x, pyjson::Value::Str(_)))
    {
        v["extra"] = json!(pyjson::dumps(&pyjson::Value::Object(o)));
    }
    for k in ["host", "schema"] {
        if v[k].is_null() {
            v[k] = json!("");
        }
    }
    v
}

fn export_with_wid(home: &Path, file: &Path, flags: &[&str]) -> String {
    let mut a = vec!["connections", "export", file.to_str().unwrap()];
    a.extend_from_slice(flags);
    let o = wid(home, &a);
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    ok(o);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} has mode {mode:o}", file.display());
    }
    assert!(
        stderr.contains("warning:")
            && stderr.contains("passwords and secret extras in clear text")
            && stderr.contains(file.to_str().unwrap()),
        "{stderr}"
    );
    std::fs::read_to_string(file).unwrap()
}

#[test]
fn connections_round_trip_between_airflow_and_wid() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();

    // One migrated database, copied for every fresh Airflow.
    let template_af = Airflow {
        home: root.join("airflow-template"),
    };
    std::fs::create_dir_all(&template_af.home).unwrap();
    template_af.run(&[args(&["db", "migrate"])]);
    let template = template_af.home.join("airflow.db");

    // The first Airflow: the connections, and its own export in every format.
    let first = Airflow::fresh(root, "airflow-first", &template);
    let mut commands = airflow_adds();
    for (name, flags) in FORMATS {
        let mut c = args(&["connections", "export"]);
        c.push(root.join(format!("airflow-{name}")).display().to_string());
        c.extend(args(flags));
        commands.push(c);
    }
    let made = first.run(&commands);
    assert_eq!(made.len(), 6, "{made:?}");
    assert_eq!(made["wasb_sp"]["password"], "Zm9vYmFyYmF6+/==");
    assert_eq!(made["pg_uri"]["password"], "p@ss/w:rd #x%");

    // Connections made by wid, exported by wid, for the second direction.
    let wid_home = root.join("wid-made");
    let (up, _) = start_up(&wid_home);
    let wid_hard = |f: &str| format!("wid {f}{HARD} y");
    let wid_extra = json!({"sas_token": format!("t{HARD}"), "n": {"k": [1, 2.5, null, true]}});
    ok(wid(
        &wid_home,
        &[
            "connections",
            "add",
            "wid_hard",
            "--conn-type",
            "postgres",
            "--conn-description",
            "Base de données — ✓",
            "--conn-host",
            &wid_hard("host"),
            "--conn-login",
            &wid_hard("login"),
            "--conn-password",
            &wid_hard("password"),
            "--conn-schema",
            &wid_hard("schema"),
            "--conn-port",
            "5433",
            "--conn-extra",
            &wid_extra.to_string(),
        ],
    ));
    ok(wid(
        &wid_home,
        &[
            "connections",
            "add",
            "wid_uri",
            "--conn-uri",
            "mysql://u%3Ax:p%40%2F%3F%23%25%26%3D%2B%20z@mysql.example:3306/db?charset=utf8",
        ],
    ));
    let wid_made: BTreeMap<&str, Value> = [
        (
            "wid_hard",
            json!({"conn_type": "postgres", "description": "Base de données — ✓",
                "host": wid_hard("host"), "login": wid_hard("login"), "password": wid_hard("password"),
                "schema": wid_hard("schema"), "port": 5433, "extra": wid_extra.to_string()}),
        ),
        (
            "wid_uri",
            json!({"conn_type": "mysql", "description": null, "host": "mysql.example",
                "login": "u:x", "password": "p@/?#%&=+ z", "schema": "db", "port": 3306,
                "extra": "{\"charset\": \"utf8\"}"}),
        ),
    ]
    .into_iter()
    .collect();
    let mut wid_files = Vec::new();
    for (name, flags) in FORMATS {
        let file = root.join(format!("wid-made-{name}"));
        export_with_wid(&wid_home, &file, flags);
        wid_files.push(file);
    }
    // To standard output: the same JSON, the count and the warning on stderr.
    let o = wid(&wid_home, &["connections", "export", "-"]);
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(
        ok(o),
        std::fs::read_to_string(&wid_files[0]).unwrap(),
        "{stderr}"
    );
    assert!(
        stderr.contains("2 Connections successfully exported.")
            && stderr.contains("warning: the output holds the connections' passwords"),
        "{stderr}"
    );
    // As in Airflow, the serialization format is for env files only.
    let o = wid(
        &wid_home,
        &[
            "connections",
            "export",
            root.join("x.json").to_str().unwrap(),
            "--serialization-format",
            "json",
        ],
    );
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("Option `--serialization-format` may only be used with file type `env`."),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!root.join("x.json").exists());
    drop(up);

    for ((name, flags), wid_made_file) in FORMATS.into_iter().zip(&wid_files) {
        let from_airflow = root.join(format!("airflow-{name}"));
        let airflow_text = std::fs::read_to_string(&from_airflow).unwrap();
        // A wid whose store holds stale versions of the same ids: --overwrite replaces them.
        let home = root.join(format!("wid-home-{name}"));
        let (up, _) = start_up(&home);
        for id in made.keys() {
            ok(wid(
                &home,
                &[
                    "connections",
                    "add",
                    id,
                    "--conn-type",
                    "generic",
                    "--conn-password",
                    "stale",
                    "--conn-description",
                    "stale",
                ],
            ));
        }
        ok(wid(
            &home,
            &[
                "connections",
                "import",
                from_airflow.to_str().unwrap(),
                "--overwrite",
            ],
        ));
        let wid_file = root.join(format!("wid-{name}"));
        let wid_text = export_with_wid(&home, &wid_file, flags);
        assert_eq!(
            wid_text, airflow_text,
            "{name}: wid's export differs from Airflow's"
        );
        if name.ends_with("-json.env") {
            // Airflow reads env files as URIs only (`Connection(uri=value)`), so it cannot
            // import its own `--serialization-format json` file. wid can: it read every field
            // from it, so its JSON export is Airflow's, byte for byte.
            let json_file = root.join("wid-from-json-env.json");
            let text = export_with_wid(&home, &json_file, &[]);
            let airflow_json = std::fs::read_to_string(root.join("airflow-conns.json")).unwrap();
            assert_eq!(text, airflow_json, "{name}");
            continue;
        }
        drop(up);

        // A fresh Airflow imports wid's file, and the file wid made from its own connections.
        let fresh = Airflow::fresh(root, &format!("airflow-fresh-{name}"), &template);
        let mut commands = Vec::new();
        for file in [&wid_file, wid_made_file] {
            commands.push(args(&["connections", "import", file.to_str().unwrap()]));
        }
        let got = fresh.run(&commands);
        for (id, want) in &made {
            let have = got
                .get(id)
                .unwrap_or_else(|| panic!("{name}: {id} missing"));
            let mut want = fields(want);
            if name == "conns.env" {
                want = through_uri(want);
            }
            assert_eq!(fields(have), want, "{name}: {id}");
        }
        for (id, want) in &wid_made {
            let have = got
                .get(*id)
                .unwrap_or_else(|| panic!("{name}: {id} missing"));
            let mut want = want.clone();
            if name == "conns.env" {
                want = through_uri(want);
            }
            assert_eq!(fields(have), want, "{name}: {id}");
        }
    }
}

/// A small deterministic generator (xorshift64*), so that a failure can be replayed.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    /// Text from characters that stress every writer: URI delimiters, YAML indicators,
    /// quotes, spaces (single and double, leading and trailing), breaks, non-ASCII.
    fn text(&mut self) -> String {
        const WORDS: [&str; 14] = [
            "yes",
            "0755",
            "null",
            "~",
            "-",
            "1.5",
            "2026-12-03",
            "true",
            "<<",
            "=",
            "#x",
            "a: b",
            "'q'",
            "\"dq\"",
        ];
        const CHARS: &[char] = &[
            'a', 'b', 'Z', '0', '9', ' ', ' ', ' ', '@', ':', '/', '?', '#', '%', '&', '=', '+',
            '\'', '"', '\\', '-', ',', '[', ']', '{', '}', '!', '|', '>', '*', '`', '\t', '\n',
            'é', '✓', '請', '😀', '\u{85}', '\u{a0}', '\u{2028}', '\u{feff}', '\u{7f}',
        ];
        match self.below(6) {
            0 => self.pick(&WORDS).to_string(),
            1 => String::new(),
            2 => "word ".repeat(self.below(30)),
            _ => {
                let n = self.below(140);
                (0..n).map(|_| CHARS[self.below(CHARS.len())]).collect()
            }
        }
    }
    fn field(&mut self) -> Value {
        if self.below(4) == 0 {
            Value::Null
        } else {
            json!(self.text())
        }
    }
}

#[test]
fn export_files_match_airflows_for_generated_connections() {
    use wid_model::connection::export::{ExportFormat, export_text};
    use wid_model::connection::{Connection, EnvFormat};

    let mut g = Gen(0x5EED_2026_1203_0017);
    let mut items = Vec::new();
    let mut conns = Vec::new();
    for i in 0..250 {
        let mut extra = serde_json::Map::new();
        for _ in 0..g.below(4) {
            let k = g.text();
            let v = match g.below(4) {
                0 => json!(g.below(1000)),
                1 => json!({"nested": g.text(), "list": [1, null, true]}),
                _ => json!(g.text()),
            };
            extra.insert(k, v);
        }
        let extra = match g.below(3) {
            0 => Value::Null,
            _ => json!(Value::Object(extra).to_string()),
        };
        let item = json!({
            // Some ids past YAML's 128-character simple keys.
            "conn_id": format!("c{i:03}_{}", g.pick(&["a", "B", "x.y", "z-w", &"long.".repeat(30)])),
            "conn_type": g.pick(&["generic", "postgres", "azure", "http", "wasb", "my_type"]),
            "description": g.field(),
            "host": g.field(),
            "login": g.field(),
            "password": g.field(),
            "schema": g.field(),
            "port": if g.below(2) == 0 { Value::Null } else { json!(g.below(70000)) },
            "extra": extra,
        });
        let s = |k: &str| item[k].as_str().map(String::from);
        conns.push(Connection {
            conn_id: s("conn_id"),
            conn_type: s("conn_type"),
            description: s("description"),
            host: s("host"),
            login: s("login"),
            password: s("password").map(Into::into),
            schema: s("schema"),
            port: item["port"].as_i64(),
            extra: s("extra").map(Into::into),
        });
        items.push(item);
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    let output = dir.path().join("out.json");
    std::fs::write(&input, Value::Array(items).to_string()).unwrap();
    let helper = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/airflow_format.py");
    let out = Command::new(airflow_python())
        .arg(helper)
        .arg(&input)
        .arg(&output)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("AIRFLOW_HOME", dir.path())
        .env(
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
            format!("sqlite:///{}", dir.path().join("airflow.db").display()),
        )
        .env("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        .env("AIRFLOW__CORE__HOSTNAME_CALLABLE", "socket.gethostname")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let airflow: Value = serde_json::from_slice(&std::fs::read(&output).unwrap()).unwrap();
    for (name, format) in [
        ("json", ExportFormat::Json),
        ("yaml", ExportFormat::Yaml),
        ("env", ExportFormat::Env(EnvFormat::Uri)),
        ("env-json", ExportFormat::Env(EnvFormat::Json)),
    ] {
        let ours = export_text(&conns, format).unwrap();
        let theirs = airflow[name].as_str().unwrap();
        if ours != theirs {
            let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
            let at = a
                .iter()
                .zip(&b)
                .position(|(x, y)| x != y)
                .unwrap_or(a.len().min(b.len()));
            panic!(
                "{name}: wid and Airflow differ first at line {}:\n wid:     {:?}\n airflow: {:?}",
                at + 1,
                a.get(at),
                b.get(at)
            );
        }
    }
}

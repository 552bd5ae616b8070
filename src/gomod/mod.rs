//! Go modules, offline: the user's own module at the project root, how the Go
//! tool is told where modules come from, and what a module problem means for the user.
//!
//! # The user's module
//! A project may hold `go.mod` (and `go.sum`, and `vendor/`) at its root. Tasks then import
//! the module's own packages (`<module>/helpers`) and whatever `go.mod` requires. `gen` writes
//! each task's package *inside* that module (`gen/<component>/`, no `go.mod` of its own), so
//! the Go tool resolves imports exactly as it does for the user: the project's `vendor/`
//! (selected by Go itself when present and consistent), `replace` directives to local
//! folders, the module cache, then a proxy. `cd gen/<component> && go build` keeps working
//! with the documented environment. The generated files carry `//go:build wasip1`, so
//! `go build ./...` or `go test ./...` in the user's module skips them. A project without
//! `go.mod` gets a generated module per task, as before.
//!
//! # Where modules come from ([`GoEnv`])
//! PELATO never reaches the network on its own: `GOPROXY` is `off` unless the user sets it
//! (environment or `.env`), and `GOSUMDB` is `off` unless the user sets it (entries already
//! in `go.sum` are still verified; under the default `-mod=readonly` a module without one
//! is refused). `GOFLAGS`, `GOPRIVATE`, `GONOPROXY`, `GONOSUMDB`, `GOINSECURE`, `GOAUTH`,
//! `GOSUMDB`, `GOMODCACHE` and `GOPATH` pass through. The module cache is Go's:
//! `GOMODCACHE`, else `$GOPATH/pkg/mod`, else `~/go/pkg/mod`.
//!
//! # Problems ([`ModuleError`])
//! A missing module or a `go.sum` mismatch is recognised in the Go tool's output and
//! reported with the module, the task, the places searched and the fix ([`ModuleError::fix`]).

mod explain;
mod inputs;
mod vendor;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::{self, Env};

pub use explain::explain;
pub use inputs::{module_inputs, ModuleInputs};
pub use vendor::{vendor, VendorError, VendorReport};

/// Name of the user's module file at the project root.
pub const GO_MOD: &str = "go.mod";
/// Name of the checksum file beside it.
pub const GO_SUM: &str = "go.sum";
/// Name of the vendor folder.
pub const VENDOR_DIR: &str = "vendor";

/// A `replace` directive of the user's `go.mod`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replace {
    /// Module path replaced.
    pub old: String,
    /// A local folder (absolute), when the replacement is a path.
    pub dir: Option<PathBuf>,
    /// The replacement as written (`../lib`, `example.com/fork v1.2.0`).
    pub new: String,
}

/// The user's module: the project's `go.mod`, read just enough to explain problems.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserModule {
    /// Folder holding `go.mod` (the project root).
    pub root: PathBuf,
    /// Module path (`module` line).
    pub path: String,
    /// `require`d modules and versions.
    pub requires: Vec<(String, String)>,
    /// `replace` directives.
    pub replaces: Vec<Replace>,
}

impl UserModule {
    /// The module at `project_root`, if it has a `go.mod`.
    pub fn find(project_root: &Path) -> std::io::Result<Option<UserModule>> {
        let file = project_root.join(GO_MOD);
        if !file.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&file)?;
        Ok(Some(UserModule::parse(project_root, &text)))
    }

    /// Reads the `module`, `require` and `replace` directives of `go.mod` text (the Go tool
    /// validates the file; what this cannot read is left out).
    pub fn parse(root: &Path, text: &str) -> UserModule {
        let mut m = UserModule {
            root: root.to_path_buf(),
            path: String::new(),
            requires: Vec::new(),
            replaces: Vec::new(),
        };
        let mut block: Option<String> = None;
        for raw in text.lines() {
            let line = raw.split("//").next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            if block.is_some() && line == ")" {
                block = None;
                continue;
            }
            let (verb, rest) = match &block {
                Some(b) => (b.clone(), line.to_string()),
                None => {
                    let (v, r) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
                    let r = r.trim();
                    if r == "(" {
                        block = Some(v.to_string());
                        continue;
                    }
                    (v.to_string(), r.to_string())
                }
            };
            let words: Vec<String> = rest
                .split_whitespace()
                .map(|w| w.trim_matches('"').to_string())
                .collect();
            match (verb.as_str(), words.as_slice()) {
                ("module", [p, ..]) => m.path = p.clone(),
                ("require", [p, v, ..]) => m.requires.push((p.clone(), v.clone())),
                ("replace", _) => {
                    if let Some(arrow) = words.iter().position(|w| w == "=>") {
                        let (Some(old), Some(new)) = (words.first(), words.get(arrow + 1)) else {
                            continue;
                        };
                        let local = new.starts_with("./")
                            || new.starts_with("../")
                            || Path::new(new).is_absolute();
                        m.replaces.push(Replace {
                            old: old.clone(),
                            dir: local.then(|| root.join(new)),
                            new: words[arrow + 1..].join(" "),
                        });
                    }
                }
                _ => {}
            }
        }
        m
    }

    /// The required module providing `import` (longest matching path), with its version.
    pub fn module_of(&self, import: &str) -> Option<(&str, &str)> {
        self.requires
            .iter()
            .filter(|(p, _)| import == p || import.starts_with(&format!("{p}/")))
            .max_by_key(|(p, _)| p.len())
            .map(|(p, v)| (p.as_str(), v.as_str()))
    }

    /// Whether the project has a `vendor/modules.txt`.
    pub fn has_vendor(&self) -> bool {
        self.root.join(VENDOR_DIR).join("modules.txt").is_file()
    }
}

/// The Go tool's module environment for one run: what passes through from the user, and
/// PELATO's offline defaults for the rest (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoEnv {
    vars: Vec<(&'static str, Option<String>)>,
    proxy: Option<String>,
    mod_cache: PathBuf,
}

impl GoEnv {
    /// The environment for a project: `env`'s Go variables over the offline defaults.
    /// `cache_dir` is PELATO's cache (the fallback module cache, and `GOPATH`);
    /// `user_module` says whether the project has its own `go.mod` (then `GOFLAGS` is the
    /// user's alone, so Go picks `-mod=vendor` or `-mod=readonly` itself; a generated
    /// module needs nothing and keeps `-mod=mod`).
    pub fn new(env: &Env, cache_dir: &Path, user_module: bool) -> GoEnv {
        let var = |n: &str| env.var(n).map(|v| v.trim().to_string());
        let proxy = var(config::GOPROXY).filter(|p| p != "off");
        let gopath = var(config::GOPATH);
        let mod_cache = var(config::GOMODCACHE)
            .map(PathBuf::from)
            .or_else(|| {
                gopath
                    .as_deref()
                    .and_then(|p| std::env::split_paths(p).next())
                    .map(|p| p.join("pkg").join("mod"))
            })
            .or_else(|| var("HOME").map(|h| Path::new(&h).join("go").join("pkg").join("mod")))
            .unwrap_or_else(|| cache_dir.join("gomod"));
        let mut vars: Vec<(&'static str, Option<String>)> = vec![
            (
                config::GOPROXY,
                Some(var(config::GOPROXY).unwrap_or_else(|| "off".into())),
            ),
            (
                config::GOSUMDB,
                Some(var(config::GOSUMDB).unwrap_or_else(|| "off".into())),
            ),
            (
                config::GOFLAGS,
                var(config::GOFLAGS).or_else(|| (!user_module).then(|| "-mod=mod".into())),
            ),
            (config::GOMODCACHE, Some(mod_cache.display().to_string())),
            (
                config::GOPATH,
                Some(gopath.unwrap_or_else(|| cache_dir.join("gopath").display().to_string())),
            ),
        ];
        for name in [
            config::GOPRIVATE,
            config::GONOPROXY,
            config::GONOSUMDB,
            config::GOINSECURE,
            config::GOAUTH,
        ] {
            if let Some(v) = var(name) {
                vars.push((name, Some(v)));
            }
        }
        GoEnv {
            vars,
            proxy,
            mod_cache,
        }
    }

    /// Offline defaults alone (no user variables), for a generated module that requires nothing.
    pub fn offline(cache_dir: &Path) -> GoEnv {
        let mut e = GoEnv::new(&Env::default(), cache_dir, false);
        let cache = cache_dir.join("gomod");
        e.vars.retain(|(n, _)| *n != config::GOMODCACHE);
        e.vars
            .push((config::GOMODCACHE, Some(cache.display().to_string())));
        e.mod_cache = cache;
        e
    }

    /// Drops `-mod=…` from `GOFLAGS` (for `go mod tidy`/`go mod vendor`).
    pub fn drop_mod_flag(&mut self) {
        for (name, value) in &mut self.vars {
            if *name == config::GOFLAGS {
                let kept: Vec<&str> = value
                    .as_deref()
                    .unwrap_or("")
                    .split_whitespace()
                    .filter(|f| !f.starts_with("-mod=") && !f.starts_with("--mod="))
                    .collect();
                *value = (!kept.is_empty()).then(|| kept.join(" "));
            }
        }
    }

    /// Sets (or removes) the variables on `cmd`.
    pub fn apply(&self, cmd: &mut Command) {
        for (name, value) in &self.vars {
            match value {
                Some(v) => cmd.env(name, v),
                None => cmd.env_remove(name),
            };
        }
    }

    /// The value given to `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    /// The proxy the user configured (`GOPROXY`, unless `off`).
    pub fn proxy(&self) -> Option<&str> {
        self.proxy.as_deref()
    }

    /// The module cache in use.
    pub fn mod_cache(&self) -> &Path {
        &self.mod_cache
    }

    /// What changes the output of a build for the same sources (for the cache key).
    pub fn build_identity(&self) -> String {
        format!("GOFLAGS={}", self.get(config::GOFLAGS).unwrap_or(""))
    }

    /// The places the Go tool looks for `module`, in order, as shown to the user.
    pub fn places(&self, user: Option<&UserModule>, module: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(u) = user {
            if u.has_vendor() {
                out.push(format!(
                    "{}/ (vendor/modules.txt)",
                    u.root.join(VENDOR_DIR).display()
                ));
            }
            for r in u.replaces.iter().filter(|r| r.old == module) {
                out.push(format!("replace {} => {}", r.old, r.new));
            }
        }
        out.push(format!("the module cache {}", self.mod_cache.display()));
        out.push(match &self.proxy {
            Some(p) => format!("GOPROXY={p}"),
            None => "no proxy (GOPROXY is not set, so PELATO uses GOPROXY=off)".into(),
        });
        out
    }
}

/// A module problem of one task's build, in the user's terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModuleError {
    /// A module (or the package) is nowhere the Go tool may look.
    #[error(
        "task `{task}` needs module {module}{} (imported at {at}), which is not available offline; searched: {}",
        version.as_deref().map(|v| format!(" {v}")).unwrap_or_default(),
        searched.join("; ")
    )]
    Missing {
        /// Task name.
        task: String,
        /// Module path (or the import path when no required module provides it).
        module: String,
        /// Version required, when known.
        version: Option<String>,
        /// Where the import is, `file:line` in the user's terms.
        at: String,
        /// Places searched, in order.
        searched: Vec<String>,
        /// The Go tool's own words.
        reason: String,
    },
    /// A module's content does not match `go.sum`.
    #[error(
        "task `{task}`: module {module}@{version} does not match go.sum (downloaded {downloaded}, go.sum has {expected}); it was refused"
    )]
    Checksum {
        /// Task name.
        task: String,
        /// Module path.
        module: String,
        /// Version.
        version: String,
        /// Hash of what was found.
        downloaded: String,
        /// Hash recorded in go.sum.
        expected: String,
    },
    /// A module is known but `go.sum` has no line for it.
    #[error("task `{task}`: go.sum has no checksum for module {module} (imported at {at})")]
    MissingSum {
        /// Task name.
        task: String,
        /// Module or package path.
        module: String,
        /// Where the import is.
        at: String,
    },
    /// `vendor/` does not match `go.mod`.
    #[error("task `{task}`: the project's vendor/ does not match go.mod:\n{detail}")]
    InconsistentVendor {
        /// Task name.
        task: String,
        /// The Go tool's list of differences.
        detail: String,
    },
}

impl ModuleError {
    /// How to fix it (the CLI shows it as a hint).
    pub fn fix(&self) -> String {
        match self {
            ModuleError::Missing { module, .. } => format!(
                "on a machine that can reach a module proxy run `pelato vendor PROJECT` and copy the project with its vendor/ folder; or set GOPROXY to a mirror that serves {module} (e.g. GOPROXY=file:///srv/goproxy with GOFLAGS=-mod=mod); or add `replace {module} => ../path` to go.mod"
            ),
            ModuleError::Checksum { module, version, .. } => format!(
                "if go.sum is right, the copy of {module}@{version} in your mirror or module cache was altered: replace it with the genuine one (`go clean -modcache` empties the cache); if you changed the module on purpose, remove its lines from go.sum and run `pelato vendor PROJECT` where the genuine source is reachable"
            ),
            ModuleError::MissingSum { .. } => "run `pelato vendor PROJECT` (it runs `go mod tidy`, which records the checksums), or `go mod tidy` in the project".into(),
            ModuleError::InconsistentVendor { .. } => "run `pelato vendor PROJECT` (or `go mod vendor`) after changing go.mod, and copy vendor/ along".into(),
        }
    }
}

//! `pelato vendor`: makes a project build with no network ([`vendor`]).

use std::path::{Path, PathBuf};

use super::{explain, GoEnv, ModuleError, UserModule, GO_MOD, VENDOR_DIR};
use crate::toolchain::{Toolchain, ToolchainError};

/// What `pelato vendor` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorReport {
    /// The project's `vendor/` folder.
    pub vendor_dir: PathBuf,
    /// Modules now in `vendor/modules.txt`.
    pub modules: Vec<String>,
}

/// Why `pelato vendor` failed.
#[derive(Debug, thiserror::Error)]
pub enum VendorError {
    /// The project has no `go.mod`: nothing to vendor.
    #[error("{0} has no go.mod: tasks that import only the standard library need no vendoring")]
    NoModule(PathBuf),
    /// The Go tool could not run.
    #[error(transparent)]
    Toolchain(#[from] ToolchainError),
    /// A module could not be fetched or verified.
    #[error(transparent)]
    Module(Box<ModuleError>),
    /// `go mod tidy` or `go mod vendor` failed otherwise.
    #[error("`go {step}` failed in {dir}:\n{stderr}")]
    Go {
        /// `mod tidy` or `mod vendor`.
        step: &'static str,
        /// Where it ran.
        dir: PathBuf,
        /// The Go tool's output.
        stderr: String,
    },
}

impl VendorError {
    /// How to fix it, when there is more to say than the message.
    pub fn fix(&self) -> Option<String> {
        match self {
            VendorError::NoModule(_) => Some(
                "to use your own packages or other modules, run `go mod init <module path>` in the project first".into(),
            ),
            VendorError::Module(e) if matches!(**e, ModuleError::Missing { .. }) => Some(
                "`pelato vendor` fetches only through a proxy you configure: set GOPROXY (e.g. GOPROXY=https://proxy.golang.org GOSUMDB=sum.golang.org, or an internal mirror) and run it again".into(),
            ),
            VendorError::Module(e) => Some(e.fix()),
            _ => None,
        }
    }
}

/// Runs `go mod tidy` then `go mod vendor` in the project's module, after `gen` has written
/// every task's package under `gen/` (so the union of the tasks' imports is what is kept).
/// Modules come from local `replace` folders, the module cache, or the proxy the user set
/// in `go` — never from a network PELATO chose. `-mod=` in `GOFLAGS` is dropped for these
/// two commands (they manage vendor/ themselves).
pub fn vendor(
    root: &Path,
    toolchain: &Toolchain,
    cache_dir: &Path,
    go: &GoEnv,
) -> Result<VendorReport, VendorError> {
    let Some(user) = UserModule::find(root).ok().flatten() else {
        return Err(VendorError::NoModule(root.join(GO_MOD)));
    };
    let mut go = go.clone();
    go.drop_mod_flag();
    for (step, args) in [
        ("mod tidy", ["mod", "tidy"]),
        ("mod vendor", ["mod", "vendor"]),
    ] {
        let mut cmd = toolchain.go_command(root, cache_dir, &go)?;
        cmd.args(args);
        let out = cmd.output().map_err(|source| ToolchainError::Spawn {
            path: toolchain.path.clone(),
            source,
        })?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            if let Some(e) = explain(&stderr, "(all tasks)", root, root, Some(&user), &go) {
                return Err(VendorError::Module(Box::new(e)));
            }
            return Err(VendorError::Go {
                step,
                dir: root.to_path_buf(),
                stderr,
            });
        }
    }
    let vendor_dir = root.join(VENDOR_DIR);
    let modules = std::fs::read_to_string(vendor_dir.join("modules.txt"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        .collect();
    Ok(VendorReport {
        vendor_dir,
        modules,
    })
}

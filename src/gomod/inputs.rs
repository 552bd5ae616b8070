//! What a task's build reads from the user's module, for the build cache key
//! ([`module_inputs`]).

use std::fs;
use std::path::{Path, PathBuf};

use super::{GoEnv, UserModule, GO_MOD, GO_SUM, VENDOR_DIR};
use crate::toolchain::Toolchain;
use crate::util::digest::sha256_hex;

/// Folders of the project that are never inputs of a task's build.
const SKIPPED: [&str; 4] = [
    crate::gen::GEN_DIR,
    crate::gen::BUILD_DIR,
    ".pelato",
    ".git",
];

/// The files outside `gen/<component>` that a task's build reads, with their sha256.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModuleInputs {
    /// `(path, sha256 hex)`, sorted by path; paths are relative to the project when inside
    /// it (so a moved project keeps its key), else absolute.
    pub files: Vec<(PathBuf, String)>,
    /// True when the task's local packages were found with `go list`; false when the whole
    /// module tree (and every local `replace` folder) was taken instead.
    pub precise: bool,
}

impl ModuleInputs {
    /// Feeds the inputs to a hasher, as `path NUL sha256 NUL` records.
    pub fn digest_into(&self, h: &mut impl sha2::Digest) {
        for (p, sum) in &self.files {
            h.update(p.display().to_string().as_bytes());
            h.update(b"\0");
            h.update(sum.as_bytes());
            h.update(b"\0");
        }
    }
}

/// The inputs of the task generated in `task_dir`: `go.mod`, `go.sum`,
/// `vendor/modules.txt`, and the files of every package it imports that can change under
/// the same `go.mod` (the user's own packages, local `replace` folders, `vendor/`), found with
/// `go list -deps` (offline, no compilation). Packages in the module cache are immutable
/// (covered by `go.mod`/`go.sum`). When `go list` fails (a module is missing, say), the whole
/// module tree minus `gen/`, `build/`, `.pelato/` is taken, so the key is conservative and
/// the build then reports the real problem.
pub fn module_inputs(
    toolchain: &Toolchain,
    task_dir: &Path,
    cache_dir: &Path,
    go: &GoEnv,
    user: &UserModule,
) -> ModuleInputs {
    let mut files = Vec::new();
    for f in [GO_MOD, GO_SUM] {
        push_file(&mut files, &user.root.join(f));
    }
    push_file(&mut files, &user.root.join(VENDOR_DIR).join("modules.txt"));
    let precise = match list_dirs(toolchain, task_dir, cache_dir, go) {
        Some(dirs) => {
            let task_dir = fs::canonicalize(task_dir).unwrap_or_else(|_| task_dir.to_path_buf());
            let mod_cache = fs::canonicalize(go.mod_cache()).ok();
            for d in dirs {
                let d = fs::canonicalize(&d).unwrap_or(d);
                if d == task_dir || mod_cache.as_ref().is_some_and(|c| d.starts_with(c)) {
                    continue;
                }
                push_dir(&mut files, &d, false);
            }
            true
        }
        None => {
            push_dir(&mut files, &user.root, true);
            false
        }
    };
    for r in &user.replaces {
        if let Some(dir) = &r.dir {
            if precise {
                push_file(&mut files, &dir.join(GO_MOD));
            } else {
                push_dir(&mut files, dir, true);
            }
        }
    }
    let root = fs::canonicalize(&user.root).unwrap_or_else(|_| user.root.clone());
    for (p, _) in &mut files {
        let canon = fs::canonicalize(&*p).unwrap_or_else(|_| p.clone());
        if let Ok(rel) = canon.strip_prefix(&root) {
            *p = rel.to_path_buf();
        }
    }
    files.sort();
    files.dedup();
    ModuleInputs { files, precise }
}

/// Folders of the non-standard packages the package in `task_dir` depends on.
fn list_dirs(
    toolchain: &Toolchain,
    task_dir: &Path,
    cache_dir: &Path,
    go: &GoEnv,
) -> Option<Vec<PathBuf>> {
    let mut cmd = toolchain.go_command(task_dir, cache_dir, go).ok()?;
    cmd.args([
        "list",
        "-deps",
        "-f",
        "{{if not .Standard}}{{.Dir}}{{end}}",
        ".",
    ]);
    let out = cmd.output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(PathBuf::from)
            .collect(),
    )
}

fn push_file(files: &mut Vec<(PathBuf, String)>, path: &Path) {
    if let Ok(bytes) = fs::read(path) {
        files.push((path.to_path_buf(), sha256_hex(&bytes)));
    }
}

/// The regular files of `dir` (and, when `recursive`, of its sub-folders minus [`SKIPPED`]
/// and hidden ones).
fn push_dir(files: &mut Vec<(PathBuf, String)>, dir: &Path, recursive: bool) {
    let Ok(rd) = fs::read_dir(dir) else {
        return;
    };
    for e in rd.filter_map(Result::ok) {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_file() {
            push_file(files, &p);
        } else if ft.is_dir() && recursive {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if !SKIPPED.contains(&name.as_ref()) && !name.starts_with('.') {
                push_dir(files, &p, true);
            }
        }
    }
}

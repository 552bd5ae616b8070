//! `build`: compiles each generated Go module into a wasip1 core module with the
//! discovered toolchain, then componentizes it in process (wit-component + the
//! WASI preview1 reactor adapter) against the template's WIT world. Unless
//! turned off, the core module is pre-initialized first ([`crate::snapshot`]).
//!
//! Builds are cached by content: the key covers the generated sources (which
//! include the user's file), the toolchain identity and PELATO's version. A hit
//! reuses `build/<component>.wasm` without running the compiler. Outputs are
//! written via a temporary file and a rename, so an interrupted build never
//! leaves a half-written component.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::{Resolve, WorldId};

use crate::gen::{self, GeneratedTask};
use crate::toolchain::Toolchain;
use crate::util::digest::sha256_hex;
use crate::util::fs::write_atomic;

/// Metadata written beside each component (`build/<component>.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BuildRecord {
    /// Cache key the component was built from.
    pub key: String,
    /// Task name.
    pub task: String,
    /// Template name.
    pub template: String,
    /// sha256 of the component, hex.
    pub sha256: String,
    /// Component size in bytes.
    pub size: u64,
    /// Toolchain identity.
    pub toolchain: String,
    /// Toolchain provenance: the pinned archive's sha256 for a managed
    /// toolchain, else the compiler executable's.
    #[serde(default)]
    pub toolchain_sha256: String,
    /// Maximum message size compiled in.
    pub max_message_bytes: u64,
    /// Compiler time (ms).
    pub compile_ms: u64,
    /// Componentize time (ms).
    pub componentize_ms: u64,
    /// True when the component was pre-initialized after Go's init (see
    /// [`crate::snapshot`]).
    #[serde(default)]
    pub snapshot: bool,
    /// Snapshot step time (ms); 0 when not snapshotted or reused.
    #[serde(default)]
    pub snapshot_ms: u64,
    /// Why a snapshot was asked for but not made (the plain module was used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_skipped: Option<String>,
}

/// The outcome of building one task.
#[derive(Debug, Clone)]
pub struct Built {
    /// Task name.
    pub task: String,
    /// Component name.
    pub component: String,
    /// Path of the component.
    pub path: PathBuf,
    /// Build metadata.
    pub record: BuildRecord,
    /// True when the cache was hit and nothing was compiled.
    pub cached: bool,
    /// Wall time of this build.
    pub elapsed: Duration,
}

/// Why a task did not build.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The Go compiler rejected the module.
    #[error("task `{task}` does not compile:\n{message}")]
    Compile {
        /// Task name.
        task: String,
        /// Compiler messages, rewritten to the user's paths.
        message: String,
    },
    /// The toolchain could not run.
    #[error("task `{task}`: {source}")]
    Toolchain {
        /// Task name.
        task: String,
        /// Cause.
        source: crate::toolchain::ToolchainError,
    },
    /// wit-component rejected the core module.
    #[error("task `{task}`: componentizing failed: {message}")]
    Componentize {
        /// Task name.
        task: String,
        /// Cause.
        message: String,
    },
    /// Running Go's initialization for the snapshot failed.
    #[error("task `{task}`: {source}")]
    Snapshot {
        /// Task name.
        task: String,
        /// Cause.
        source: crate::snapshot::SnapshotError,
    },
    /// A module the task needs is missing, or does not match go.sum.
    #[error("{source}\nfix: {}", source.fix())]
    Module {
        /// Task name.
        task: String,
        /// What is wrong, in the user's terms.
        source: Box<crate::gomod::ModuleError>,
    },
    /// Reading or writing files failed.
    #[error("task `{task}`: {path}: {source}")]
    Io {
        /// Task name.
        task: String,
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// Computes the build cache key of a generated task.
pub fn cache_key(task: &GeneratedTask, toolchain: &Toolchain) -> String {
    cache_key_with(task, toolchain, None)
}

/// [`cache_key`] of a task inside the user's Go module: also covers the module inputs
/// (`go.mod`, `go.sum`, `vendor/modules.txt`, local packages; see
/// [`crate::gomod::module_inputs`]) and the Go flags.
pub fn cache_key_with(
    task: &GeneratedTask,
    toolchain: &Toolchain,
    module: Option<(&crate::gomod::ModuleInputs, &crate::gomod::GoEnv)>,
) -> String {
    let mut h = Sha256::new();
    if let Some((inputs, go)) = module {
        h.update(b"gomod\0");
        h.update(go.build_identity().as_bytes());
        h.update(b"\0");
        inputs.digest_into(&mut h);
    }
    h.update(b"pelato ");
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update(b"\0");
    h.update(toolchain.identity().as_bytes());
    h.update(b"\0platform ");
    h.update(task.rendered.platform.as_str().as_bytes());
    h.update(b"\0");
    for (name, content) in &task.rendered.files {
        h.update(name.as_bytes());
        h.update(b"\0");
        h.update((content.len() as u64).to_le_bytes());
        h.update(content.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The cache key of a build variant: the plain key, or for a snapshotted build
/// a key derived from it and the snapshot step's version.
pub fn variant_key(base: &str, snapshot: bool) -> String {
    if snapshot {
        sha256_hex(format!("{base}\0snapshot {}", crate::snapshot::SNAPSHOT_VERSION).as_bytes())
    } else {
        base.to_string()
    }
}

/// sha256 of a core module without Go's `go:buildid` section, which changes
/// with any edit of the sources (a comment too) while the code does not.
fn code_sha256(core: &[u8]) -> String {
    let mut h = Sha256::new();
    for payload in wasmparser::Parser::new(0).parse_all(core) {
        let Ok(payload) = payload else {
            return sha256_hex(core);
        };
        if let wasmparser::Payload::CustomSection(c) = &payload {
            if c.name() == "go:buildid" {
                continue;
            }
        }
        if let Some((id, range)) = payload.as_section() {
            let bytes = core
                .get(range.start as usize..range.end as usize)
                .unwrap_or_default();
            h.update([id]);
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        }
    }
    hex::encode(h.finalize())
}

/// The store key of the snapshotted component made from one core module for
/// one world: the snapshot step runs once per distinct core module.
fn snapshot_store_key(core: &[u8], resolve: &Resolve, world: WorldId) -> String {
    let w = &resolve.worlds[world];
    let package = w
        .package
        .map(|p| resolve.packages[p].name.to_string())
        .unwrap_or_default();
    sha256_hex(
        format!(
            "pelato {} snapshot {}\0{}\0{package}/{}",
            env!("CARGO_PKG_VERSION"),
            crate::snapshot::SNAPSHOT_VERSION,
            code_sha256(core),
            w.name
        )
        .as_bytes(),
    )
}

fn record_path(root: &Path, component: &str) -> PathBuf {
    root.join(gen::BUILD_DIR).join(format!("{component}.json"))
}

/// Reads the build record of a component, if any.
pub fn read_record(root: &Path, component: &str) -> Option<BuildRecord> {
    let text = fs::read_to_string(record_path(root, component)).ok()?;
    serde_json::from_str(&text).ok()
}

/// The content-addressed component store under the cache directory:
/// `components/<key>.wasm` beside `components/<key>.json`. Entries are written
/// atomically (component first, record last), so a reader sees whole entries or
/// none, and a component whose bytes do not match its record is ignored.
#[derive(Debug, Clone)]
pub struct ComponentStore {
    dir: PathBuf,
}

impl ComponentStore {
    /// The store under `cache_dir`.
    pub fn new(cache_dir: &Path) -> ComponentStore {
        ComponentStore {
            dir: cache_dir.join("components"),
        }
    }

    /// Directory of the store.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A verified entry for `key`, if present.
    pub fn get(&self, key: &str) -> Option<(Vec<u8>, BuildRecord)> {
        let record: BuildRecord =
            serde_json::from_slice(&fs::read(self.dir.join(format!("{key}.json"))).ok()?).ok()?;
        let bytes = fs::read(self.dir.join(format!("{key}.wasm"))).ok()?;
        (record.key == key && sha256_hex(&bytes) == record.sha256).then_some((bytes, record))
    }

    /// Stores a component under its record's key.
    pub fn put(&self, record: &BuildRecord, bytes: &[u8]) -> std::io::Result<()> {
        write_atomic(&self.dir.join(format!("{}.wasm", record.key)), bytes)?;
        let json = serde_json::to_vec_pretty(record).expect("record serializes");
        write_atomic(&self.dir.join(format!("{}.json", record.key)), &json)
    }
}

/// Turns a wasip1 core module into a component for `world`.
pub fn componentize(core: &[u8], resolve: &Resolve, world: WorldId) -> anyhow::Result<Vec<u8>> {
    let mut module = core.to_vec();
    wit_component::embed_component_metadata(
        &mut module,
        resolve,
        world,
        StringEncoding::UTF8,
        false,
    )?;
    ComponentEncoder::default()
        .validate(true)
        .module(&module)?
        .adapter(
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )?
        .encode()
}

/// Rewrites compiler output so it speaks of the user's files: drops the package
/// header, strips `./` prefixes (and `../../`, which leads from `gen/<component>` back to
/// the project's own packages and `vendor/`), and explains errors that surface in the glue.
pub fn rewrite_compiler_output(stderr: &str, task_display: &Path) -> String {
    let mut out = Vec::new();
    let mut glue_error = false;
    for line in stderr.lines() {
        if line.starts_with("# ") || line.trim().is_empty() {
            continue;
        }
        let line = line.strip_prefix("./").unwrap_or(line);
        let line = line.strip_prefix("../../").unwrap_or(line);
        if line.starts_with(gen::GLUE_FILE) || line.starts_with(gen::BINDINGS_FILE) {
            glue_error = true;
            if line.contains("exec_task") {
                out.push(format!(
                    "{}: exec_task must be declared as `func exec_task(arg string) string` in package main ({})",
                    task_display.display(),
                    line.split_once(": ").map(|x| x.1).unwrap_or(line)
                ));
            }
            continue;
        }
        out.push(line.to_string());
    }
    if out.is_empty() && glue_error {
        out.push(format!(
            "{}: the generated glue does not compile against this file; check that it is `package main` and defines `func exec_task(arg string) string`",
            task_display.display()
        ));
    }
    out.join("\n")
}

/// What a build needs besides the task: the toolchain, the WIT, the cache and
/// a stage hook (`compile`, `componentize`).
pub struct BuildEnv<'a> {
    /// Compiler.
    pub toolchain: &'a Toolchain,
    /// The WIT the world belongs to.
    pub resolve: &'a Resolve,
    /// Cache directory (Go build cache, component store).
    pub cache_dir: &'a Path,
    /// Called as the build enters a stage.
    pub on_stage: &'a dyn Fn(&'static str),
    /// sha256 identifying the toolchain (see [`crate::toolchain::Provenance`]).
    pub toolchain_sha256: &'a str,
    /// Pre-initialize the core module after Go's init ([`crate::snapshot`]).
    pub snapshot: bool,
    /// The Go tool's module environment (see [`crate::gomod::GoEnv`]).
    pub go: &'a crate::gomod::GoEnv,
}

/// Writes a component and then its record into the project's `build/`
/// (record last: a record always describes a whole component).
fn install(
    root: &Path,
    component: &str,
    bytes: &[u8],
    record: &BuildRecord,
) -> Result<(), (PathBuf, std::io::Error)> {
    let out = gen::component_path(root, component);
    write_atomic(&out, bytes).map_err(|e| (out.clone(), e))?;
    let rec_path = record_path(root, component);
    let json = serde_json::to_vec_pretty(record).expect("record serializes");
    write_atomic(&rec_path, &json).map_err(|e| (rec_path, e))
}

/// Builds one generated task (or reuses its cached component).
pub fn build_task(
    root: &Path,
    task: &GeneratedTask,
    task_display: &Path,
    world: WorldId,
    env: &BuildEnv<'_>,
) -> Result<Built, BuildError> {
    let BuildEnv {
        toolchain,
        resolve,
        cache_dir,
        on_stage,
        toolchain_sha256,
        snapshot,
        go,
    } = *env;
    let start = Instant::now();
    let name = &task.rendered.task;
    let component = &task.rendered.component;
    let out = gen::component_path(root, component);
    // A task inside the user's module also depends on what it imports from it.
    let user_module = crate::gomod::UserModule::find(root).ok().flatten();
    let inputs = user_module
        .as_ref()
        .map(|u| crate::gomod::module_inputs(toolchain, &task.dir, cache_dir, go, u));
    let key = variant_key(
        &cache_key_with(task, toolchain, inputs.as_ref().map(|i| (i, go))),
        snapshot,
    );
    let io = |path: &Path, source| BuildError::Io {
        task: name.clone(),
        path: path.to_path_buf(),
        source,
    };

    let hit = |record: BuildRecord| Built {
        task: name.clone(),
        component: component.clone(),
        path: out.clone(),
        record,
        cached: true,
        elapsed: start.elapsed(),
    };
    if let Some(record) = read_record(root, component) {
        // Only read the component when the key matches.
        if record.key == key && fs::read(&out).is_ok_and(|b| sha256_hex(&b) == record.sha256) {
            return Ok(hit(record));
        }
    }
    // The shared, content-addressed store: the same sources built before (in
    // any project, or before an edit that was undone) need no compiler.
    let store = ComponentStore::new(cache_dir);
    if let Some((bytes, mut record)) = store.get(&key) {
        record.task = name.clone();
        install(root, component, &bytes, &record).map_err(|(p, e)| io(&p, e))?;
        return Ok(hit(record));
    }

    on_stage("compile");
    let compiled = toolchain
        .compile_with(&task.dir, cache_dir, go)
        .map_err(|e| match e {
            crate::toolchain::ToolchainError::Compile { stderr, .. } => {
                match crate::gomod::explain(
                    &stderr,
                    name,
                    &task.dir,
                    root,
                    user_module.as_ref(),
                    go,
                ) {
                    Some(source) => BuildError::Module {
                        task: name.clone(),
                        source: Box::new(source),
                    },
                    None => BuildError::Compile {
                        task: name.clone(),
                        message: rewrite_compiler_output(&stderr, task_display),
                    },
                }
            }
            other => BuildError::Toolchain {
                task: name.clone(),
                source: other,
            },
        })?;
    let built = |record: BuildRecord| Built {
        task: name.clone(),
        component: component.clone(),
        path: out.clone(),
        record,
        cached: false,
        elapsed: start.elapsed(),
    };
    // A snapshotted component made from the very same core module before
    // (an edit that did not change the code) is reused.
    let snap_key = snapshot.then(|| snapshot_store_key(&compiled.wasm, resolve, world));
    if let Some((bytes, mut record)) = snap_key.as_deref().and_then(|k| store.get(k)) {
        record.key = key.clone();
        record.task = name.clone();
        record.compile_ms = compiled.duration.as_millis() as u64;
        record.snapshot_ms = 0;
        install(root, component, &bytes, &record).map_err(|(p, e)| io(&p, e))?;
        let _ = store.put(&record, &bytes);
        return Ok(built(record));
    }
    let mut core = std::borrow::Cow::Borrowed(&compiled.wasm[..]);
    let (mut snapshotted, mut snapshot_ms, mut snapshot_skipped) = (false, 0, None);
    if snapshot {
        on_stage("snapshot");
        match crate::snapshot::snapshot(&compiled.wasm) {
            Ok(s) => {
                snapshotted = true;
                snapshot_ms = s.elapsed.as_millis() as u64;
                // Wizer leaves ~52,000 data segments, which every instance
                // walks: merge them (`cargo bench --bench segments`).
                core = std::borrow::Cow::Owned(crate::segments::compact(&s.wasm).into_owned());
            }
            // The plain module behaves the same, only slower to start.
            Err(crate::snapshot::SnapshotError::Unsupported(why)) => snapshot_skipped = Some(why),
            Err(source) => {
                return Err(BuildError::Snapshot {
                    task: name.clone(),
                    source,
                })
            }
        }
    }
    on_stage("componentize");
    let t = Instant::now();
    let bytes = componentize(&core, resolve, world).map_err(|e| BuildError::Componentize {
        task: name.clone(),
        message: format!("{e:#}"),
    })?;
    let componentize_time = t.elapsed();
    let record = BuildRecord {
        key,
        task: name.clone(),
        template: task.rendered.template.clone(),
        sha256: sha256_hex(&bytes),
        size: bytes.len() as u64,
        toolchain: toolchain.identity(),
        toolchain_sha256: toolchain_sha256.to_string(),
        max_message_bytes: task.rendered.max_message_bytes,
        compile_ms: compiled.duration.as_millis() as u64,
        componentize_ms: componentize_time.as_millis() as u64,
        snapshot: snapshotted,
        snapshot_ms,
        snapshot_skipped,
    };
    install(root, component, &bytes, &record).map_err(|(p, e)| io(&p, e))?;
    // A failed store write only costs a rebuild later.
    let _ = store.put(&record, &bytes);
    if let Some(k) = snap_key {
        let _ = store.put(
            &BuildRecord {
                key: k,
                ..record.clone()
            },
            &bytes,
        );
    }
    Ok(built(record))
}

/// Runs `f` over `items` on at most `jobs` threads, keeping the input order.
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let jobs = jobs.clamp(1, items.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<R>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= items.len() {
                    break;
                }
                let r = f(&items[i]);
                *results[i].lock().expect("result slot") = Some(r);
            });
        }
    });
    results
        .into_iter()
        .map(|m| {
            m.into_inner()
                .expect("result slot")
                .expect("every item ran")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiler_output_points_at_the_users_file() {
        let stderr = "# pelato.local/x\ntasks/convert.go:7:2: undefined: foo\n./zz_pelato_glue.go:21:18: cannot use exec_task (value of type func(x int) string) as func(string) string\n";
        let out = rewrite_compiler_output(stderr, Path::new("tasks/convert.go"));
        assert!(
            out.contains("tasks/convert.go:7:2: undefined: foo"),
            "{out}"
        );
        assert!(
            out.contains("exec_task must be declared as `func exec_task(arg string) string`"),
            "{out}"
        );
        assert!(!out.contains("zz_pelato"), "{out}");
        assert!(!out.contains("# pelato"), "{out}");
    }

    #[test]
    fn parallel_map_keeps_order() {
        let v: Vec<u32> = (0..50).collect();
        assert_eq!(
            parallel_map(&v, 3, |x| x * 2),
            v.iter().map(|x| x * 2).collect::<Vec<_>>()
        );
    }
}

//! Pre-initialized ("snapshotted") Go modules.
//!
//! The wasmCloud host makes a fresh instance for every message, so without this
//! every message pays Go's runtime initialization. `build` runs that
//! initialization once, at build time, and saves the initialized memory and
//! globals as the module's initial state (with `wasmtime-wizer`):
//!
//! 1. instrument the wasip1 core module (`Wizer::instrument`);
//! 2. instantiate it in wasmtime with an empty WASI context (no environment,
//!    arguments, preopens or inherited stdio; other imports trap);
//! 3. call `_initialize` (Go's runtime init and package `init`s), then the
//!    glue's `pelato_snapshot_prepare` export, which locates the Go runtime's
//!    random generator state and collects garbage;
//! 4. `Wizer::snapshot`: the rewritten module exports neither `_initialize` nor
//!    `pelato_snapshot_prepare`, so a component made from it never runs Go's
//!    init again.
//!
//! Behaviour kept, and how:
//! * **Randomness.** Every instance starts from the same memory, hence the same
//!   generator state; the glue refills that state from the host's `random_get`
//!   when an instance is first entered (see `pelatoReseed` in the glue), so
//!   `math/rand`, `math/rand/v2` and map iteration order differ per instance.
//!   `crypto/rand` calls the host every time anyway. When the glue cannot find
//!   the state (another runtime layout, TinyGo), [`SnapshotError::Unsupported`]
//!   is returned and the build ships the plain module instead.
//! * **Clocks** are read from the host on every call; only Go's start time is
//!   baked in (durations stay right: both ends of a `time.Since` are read at run time).
//! * **Environment and arguments** are read by Go's init, so a snapshotted
//!   component sees the empty ones of the build step, never the build machine's.
//!
//! The one-off init run runs init once, so compile time is all that matters:
//! it uses [`Engine::default`] (see [`Engine`] for the alternatives measured;
//! `PELATO_SNAPSHOT_ENGINE` picks another one, and `PELATO_SNAPSHOT_TRACE=1`
//! prints where the step's time goes, for measuring).

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::{Config, Linker, Module, OptLevel, Store, Strategy};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wizer::{InstanceState, SnapshotVal, Wizer};

/// The glue's export that prepares the initialized module for the snapshot.
pub const PREPARE_EXPORT: &str = "pelato_snapshot_prepare";

/// Version of the snapshot step; part of the build cache key of snapshotted
/// components, so a change here rebuilds them.
pub const SNAPSHOT_VERSION: &str = "1";

/// Why a module was not snapshotted.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The module cannot be snapshotted safely (e.g. the glue did not find the
    /// runtime's random state); the plain module works and should be used.
    #[error("this module cannot be pre-initialized: {0}")]
    Unsupported(String),
    /// `PELATO_SNAPSHOT_ENGINE` names no known engine.
    #[error("unknown snapshot engine `{0}` (known: winch, cranelift)")]
    UnknownEngine(String),
    /// Go's initialization trapped or wasmtime failed.
    #[error("pre-initializing failed: {message}")]
    Failed {
        /// Cause, with its chain.
        message: String,
        /// What init wrote to stderr.
        stderr: String,
    },
}

/// The wasmtime configuration that runs Go's init once at build time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// Winch, wasmtime's single-pass baseline compiler: compiles 2–5× faster
    /// than Cranelift here, and init's run time is small either way.
    #[default]
    Winch,
    /// Cranelift without optimizations and with the single-pass register
    /// allocator, with the [`CodeCache`].
    Cranelift,
}

impl Engine {
    /// The engine named by `PELATO_SNAPSHOT_ENGINE` (`winch`, `cranelift`),
    /// else the default.
    pub fn from_env() -> Result<Self, SnapshotError> {
        match std::env::var("PELATO_SNAPSHOT_ENGINE") {
            Err(_) => Ok(Self::default()),
            Ok(name) => name.parse(),
        }
    }

    fn config(self) -> Config {
        let mut config = Config::new();
        match self {
            Self::Winch => {
                config.strategy(Strategy::Winch);
            }
            Self::Cranelift => {
                config.strategy(Strategy::Cranelift);
                config.cranelift_opt_level(OptLevel::None);
                // The fastest register allocator: the code runs once.
                config.cranelift_regalloc_algorithm(wasmtime::RegallocAlgorithm::SinglePass);
            }
        }
        config
    }
}

impl std::str::FromStr for Engine {
    type Err = SnapshotError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "winch" => Ok(Self::Winch),
            "cranelift" => Ok(Self::Cranelift),
            other => Err(SnapshotError::UnknownEngine(other.to_owned())),
        }
    }
}

/// Where the snapshot step's time went.
#[derive(Debug, Clone, Copy, Default)]
pub struct Phases {
    /// `Wizer::instrument`.
    pub instrument: Duration,
    /// Compiling the instrumented module (`Module::new`).
    pub compile: Duration,
    /// Functions found in the [`CodeCache`] during the compile.
    pub cache_hits: usize,
    /// Functions compiled because they were not in the [`CodeCache`].
    pub cache_misses: usize,
    /// Instantiating it and running `_initialize` and the glue's prepare export.
    pub init: Duration,
    /// `Wizer::snapshot`: rewriting the module with the initialized state.
    pub rewrite: Duration,
}

/// A snapshotted core module.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The pre-initialized core module.
    pub wasm: Vec<u8>,
    /// Wall time of the snapshot step (compile, init, rewrite).
    pub elapsed: Duration,
    /// The same, per phase.
    pub phases: Phases,
}

struct Init {
    wasi: WasiP1Ctx,
}

/// Reads the instance's exported globals and memory for Wizer.
struct State<'a> {
    store: &'a mut Store<Init>,
    instance: wasmtime::Instance,
}

impl InstanceState for State<'_> {
    async fn global_get(&mut self, name: &str, _: wasmtime_wizer::ValType) -> SnapshotVal {
        let global = self
            .instance
            .get_global(&mut *self.store, name)
            .expect("Wizer asks only for globals it exported");
        match global.get(&mut *self.store) {
            wasmtime::Val::I32(x) => SnapshotVal::I32(x),
            wasmtime::Val::I64(x) => SnapshotVal::I64(x),
            wasmtime::Val::F32(x) => SnapshotVal::F32(x),
            wasmtime::Val::F64(x) => SnapshotVal::F64(x),
            wasmtime::Val::V128(x) => SnapshotVal::V128(x.as_u128()),
            _ => panic!("Wizer rejects reference-typed mutable globals up front"),
        }
    }

    async fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) {
        let memory = self
            .instance
            .get_memory(&mut *self.store, name)
            .expect("Wizer asks only for memories it exported");
        contents(memory.data(&*self.store))
    }
}

/// Runs Go's initialization of `core` once and returns the pre-initialized
/// module, with the engine [`Engine::from_env`] names. `code_cache` is a
/// folder for [`CodeCache`] (Cranelift engines only).
pub fn snapshot(core: &[u8], code_cache: Option<&Path>) -> Result<Snapshot, SnapshotError> {
    let engine = Engine::from_env()?;
    let snapshot = snapshot_with(core, engine, code_cache)?;
    if std::env::var_os("PELATO_SNAPSHOT_TRACE").is_some() {
        let p = snapshot.phases;
        eprintln!(
            "snapshot ({engine:?}): total {:?}: instrument {:?}, compile {:?} (code cache: {} hits, {} misses), init {:?}, rewrite {:?}",
            snapshot.elapsed, p.instrument, p.compile, p.cache_hits, p.cache_misses, p.init, p.rewrite
        );
    }
    Ok(snapshot)
}

/// Compiled functions of earlier init runs, for Cranelift's incremental
/// compilation: a function whose code is unchanged (most of Go's runtime and
/// standard library, across tasks and edits) is not compiled again.
///
/// Stored as packs in one folder, one pack per compile with the entries it
/// added, written atomically; a pack that does not parse is ignored (Cranelift
/// also recompiles any entry it cannot read). When the folder holds more than
/// [`CodeCache::MAX_BYTES`], it is emptied before the compile.
#[derive(Debug, Default)]
pub struct CodeCache {
    dir: Option<PathBuf>,
    known: HashMap<Vec<u8>, Vec<u8>>,
    added: Mutex<Vec<(Vec<u8>, Vec<u8>)>>,
    hits: AtomicUsize,
    misses: AtomicUsize,
}

impl CodeCache {
    /// Above this size the cache folder is emptied.
    pub const MAX_BYTES: u64 = 256 << 20;

    /// Loads the packs in `dir` (none when `dir` is `None`: a cache in memory only).
    pub fn open(dir: Option<&Path>) -> CodeCache {
        let mut cache = CodeCache {
            dir: dir.map(Path::to_path_buf),
            ..CodeCache::default()
        };
        let Some(dir) = dir else { return cache };
        let packs: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "pack"))
                    .collect()
            })
            .unwrap_or_default();
        let total: u64 = packs
            .iter()
            .filter_map(|p| p.metadata().ok())
            .map(|m| m.len())
            .sum();
        if total > Self::MAX_BYTES {
            for p in &packs {
                let _ = std::fs::remove_file(p);
            }
            return cache;
        }
        for p in packs {
            if let Ok(bytes) = std::fs::read(&p) {
                if let Some(entries) = parse_pack(&bytes) {
                    cache.known.extend(entries);
                }
            }
        }
        cache
    }

    /// Writes the entries added since [`CodeCache::open`] as one pack.
    pub fn persist(&self) -> std::io::Result<()> {
        let added = self.added.lock().expect("code cache lock");
        let Some(dir) = self.dir.as_deref().filter(|_| !added.is_empty()) else {
            return Ok(());
        };
        let mut pack = Vec::new();
        for (k, v) in added.iter() {
            for part in [k, v] {
                pack.extend_from_slice(&(part.len() as u64).to_le_bytes());
                pack.extend_from_slice(part);
            }
        }
        let name = format!("{}.pack", crate::util::digest::sha256_hex(&pack));
        crate::util::fs::write_atomic(&dir.join(name), &pack)
    }
}

fn parse_pack(mut bytes: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let take = |bytes: &mut &[u8]| -> Option<Vec<u8>> {
        let (len, rest) = bytes.split_first_chunk::<8>()?;
        let len = usize::try_from(u64::from_le_bytes(*len)).ok()?;
        let part = rest.get(..len)?.to_vec();
        *bytes = &rest[len..];
        Some(part)
    };
    let mut entries = Vec::new();
    while !bytes.is_empty() {
        let k = take(&mut bytes)?;
        let v = take(&mut bytes)?;
        entries.push((k, v));
    }
    Some(entries)
}

impl wasmtime::CacheStore for CodeCache {
    fn get(&self, key: &[u8]) -> Option<Cow<'_, [u8]>> {
        let found = self.known.get(key).map(|v| Cow::Borrowed(&v[..]));
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        self.added
            .lock()
            .expect("code cache lock")
            .push((key.to_vec(), value));
        true
    }
}

/// [`snapshot`] with a given engine.
pub fn snapshot_with(
    core: &[u8],
    engine: Engine,
    code_cache: Option<&Path>,
) -> Result<Snapshot, SnapshotError> {
    let start = Instant::now();
    let mut phases = Phases::default();
    let mut mark = Instant::now();
    let mut lap = || {
        let now = Instant::now();
        std::mem::replace(&mut mark, now).elapsed()
    };
    let failed = |e: wasmtime::Error, stderr: &MemoryOutputPipe| SnapshotError::Failed {
        message: format!("{e:#}"),
        stderr: String::from_utf8_lossy(&stderr.contents()).into_owned(),
    };
    let mut wizer = Wizer::new();
    wizer.init_func(PREPARE_EXPORT);
    let (cx, instrumented) = wizer
        .instrument(core)
        .map_err(|e| SnapshotError::Unsupported(format!("{e:#}")))?;
    phases.instrument = lap();

    let mut config = engine.config();
    let cache = Arc::new(CodeCache::open(code_cache));
    if engine != Engine::Winch {
        config
            .enable_incremental_compilation(cache.clone())
            .map_err(|e| SnapshotError::Failed {
                message: format!("{e:#}"),
                stderr: String::new(),
            })?;
    }
    let engine = wasmtime::Engine::new(&config).map_err(|e| SnapshotError::Failed {
        message: format!("{e:#}"),
        stderr: String::new(),
    })?;
    let stderr = MemoryOutputPipe::new(1 << 20);
    let wasi = WasiCtxBuilder::new()
        .stdout(MemoryOutputPipe::new(1 << 20))
        .stderr(stderr.clone())
        .build_p1();
    let mut store = Store::new(&engine, Init { wasi });
    let module = Module::new(&engine, &instrumented).map_err(|e| failed(e, &stderr))?;
    phases.compile = lap();
    phases.cache_hits = cache.hits.load(Ordering::Relaxed);
    phases.cache_misses = cache.misses.load(Ordering::Relaxed);
    // A cache that cannot be written only costs the next build time.
    let _ = cache.persist();
    if module.get_export(PREPARE_EXPORT).is_none() {
        return Err(SnapshotError::Unsupported(format!(
            "the module does not export `{PREPARE_EXPORT}` (not PELATO's glue)"
        )));
    }
    let mut linker: Linker<Init> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s: &mut Init| &mut s.wasi)
        .map_err(|e| failed(e, &stderr))?;
    // The glue's WIT imports (messaging, config, …) are never called during init.
    linker
        .define_unknown_imports_as_traps(&module)
        .map_err(|e| failed(e, &stderr))?;
    let instance = linker
        .instantiate(&mut store, &module)
        .map_err(|e| failed(e, &stderr))?;
    let run = |store: &mut Store<Init>, name: &str| -> wasmtime::Result<Option<i32>> {
        match instance.get_func(&mut *store, name) {
            None => Ok(None),
            Some(f) if f.ty(&*store).results().len() == 1 => {
                Ok(Some(f.typed::<(), i32>(&*store)?.call(&mut *store, ())?))
            }
            Some(f) => f
                .typed::<(), ()>(&*store)?
                .call(&mut *store, ())
                .map(|_| None),
        }
    };
    run(&mut store, "_initialize").map_err(|e| failed(e, &stderr))?;
    match run(&mut store, PREPARE_EXPORT).map_err(|e| failed(e, &stderr))? {
        Some(1) => {}
        _ => {
            return Err(SnapshotError::Unsupported(
                "the glue did not find the Go runtime's random generator state, so instances would share their randomness".into(),
            ))
        }
    }
    phases.init = lap();
    let mut state = State {
        store: &mut store,
        instance,
    };
    let wasm = block_on(wizer.snapshot(&cx, &mut state)).map_err(|e| failed(e, &stderr))?;
    phases.rewrite = lap();
    Ok(Snapshot {
        wasm,
        elapsed: start.elapsed(),
        phases,
    })
}

/// Drives a future that never waits (Wizer's snapshot reads memory only).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::CacheStore;

    #[test]
    fn engines_are_named_as_documented() {
        assert_eq!("winch".parse::<Engine>().unwrap(), Engine::Winch);
        assert_eq!("cranelift".parse::<Engine>().unwrap(), Engine::Cranelift);
        assert!(matches!(
            "v8".parse::<Engine>(),
            Err(SnapshotError::UnknownEngine(name)) if name == "v8"
        ));
    }

    #[test]
    fn the_code_cache_keeps_what_a_compile_added_and_skips_broken_packs() {
        let dir = tempfile::tempdir().unwrap();
        let first = CodeCache::open(Some(dir.path()));
        assert!(first.get(b"f").is_none());
        assert!(first.insert(b"f", b"code of f".to_vec()));
        assert!(first.insert(b"g", Vec::new()));
        first.persist().unwrap();
        std::fs::write(dir.path().join("broken.pack"), [1, 2, 3]).unwrap();

        let second = CodeCache::open(Some(dir.path()));
        assert_eq!(second.get(b"f").as_deref(), Some(&b"code of f"[..]));
        assert_eq!(second.get(b"g").as_deref(), Some(&[][..]));
        assert!(second.get(b"h").is_none());
        assert_eq!(second.hits.load(Ordering::Relaxed), 2);
        assert_eq!(second.misses.load(Ordering::Relaxed), 1);
        // Nothing added: no new pack.
        second.persist().unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}

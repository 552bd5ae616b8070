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
//! The one-off init run uses Cranelift without optimizations and with the
//! single-pass register allocator: it runs init once, so compile time is all
//! that matters. (Winch, wasmtime's baseline compiler, is not measured yet.)

use std::time::{Duration, Instant};

use wasmtime::{Config, Engine, Linker, Module, OptLevel, Store};
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
    /// Go's initialization trapped or wasmtime failed.
    #[error("pre-initializing failed: {message}")]
    Failed {
        /// Cause, with its chain.
        message: String,
        /// What init wrote to stderr.
        stderr: String,
    },
}

/// A snapshotted core module.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The pre-initialized core module.
    pub wasm: Vec<u8>,
    /// Wall time of the snapshot step (compile, init, rewrite).
    pub elapsed: Duration,
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

/// Runs Go's initialization of `core` once and returns the pre-initialized module.
pub fn snapshot(core: &[u8]) -> Result<Snapshot, SnapshotError> {
    let start = Instant::now();
    let failed = |e: wasmtime::Error, stderr: &MemoryOutputPipe| SnapshotError::Failed {
        message: format!("{e:#}"),
        stderr: String::from_utf8_lossy(&stderr.contents()).into_owned(),
    };
    let mut wizer = Wizer::new();
    wizer.init_func(PREPARE_EXPORT);
    let (cx, instrumented) = wizer
        .instrument(core)
        .map_err(|e| SnapshotError::Unsupported(format!("{e:#}")))?;

    let mut config = Config::new();
    config.cranelift_opt_level(OptLevel::None);
    // The fastest register allocator: the code runs once.
    config.cranelift_regalloc_algorithm(wasmtime::RegallocAlgorithm::SinglePass);
    let engine = Engine::new(&config).map_err(|e| SnapshotError::Failed {
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
    let mut state = State {
        store: &mut store,
        instance,
    };
    let wasm = block_on(wizer.snapshot(&cx, &mut state)).map_err(|e| failed(e, &stderr))?;
    Ok(Snapshot {
        wasm,
        elapsed: start.elapsed(),
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

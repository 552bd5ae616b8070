//! Pre-initialized ("snapshotted") Go modules.
//!
//! The wasmCloud host makes a fresh instance for every message, so without this
//! every message pays Go's runtime initialization. `build` runs that
//! initialization once, at build time, and saves the initialized memory and
//! globals as the module's initial state (with `wasmtime-wizer`):
//!
//! 1. instrument the wasip1 core module (`Wizer::instrument`);
//! 2. instantiate it (in the interpreter, see below) with an empty WASI
//!    context (no environment, arguments, preopens or inherited stdio; other
//!    imports trap);
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
//! The one-off init run happens once per distinct core module, so what it
//! costs is what an edit of a task costs on top of `go build`. Compiling the
//! whole module for it (Cranelift or Winch) costs 0.5–2.5 s for a 4.4 MB Go
//! module, while init runs a few hundred of its ~5,000 functions for a few
//! milliseconds. So the default [`Engine::Interpreter`] runs init in the Wasmi
//! interpreter, which translates a function only when it is first called, with
//! the few WASI calls Go's init makes ([`wasi_init`]: no arguments, no
//! environment, no preopens, stdio as wasmtime's empty context shows it). If
//! init calls anything else or traps there, the step runs again in wasmtime
//! with Cranelift and the full WASI context, so the result never depends on
//! the interpreter's coverage. [`Engine`] lists the engines measured
//! (`cargo bench --bench snapshot --features snapshot-engines`).

use std::time::{Duration, Instant};

use wasmtime::{Config, Linker, Module, OptLevel, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wizer::{InstanceState, SnapshotVal, Wizer};

mod wasi_init;

/// The glue's export that prepares the initialized module for the snapshot.
pub const PREPARE_EXPORT: &str = "pelato_snapshot_prepare";

/// Version of the snapshot step; part of the build cache key of snapshotted
/// components, so a change here rebuilds them.
pub const SNAPSHOT_VERSION: &str = "3";

/// Why a module was not snapshotted.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The module cannot be snapshotted safely (e.g. the glue did not find the
    /// runtime's random state); the plain module works and should be used.
    #[error("this module cannot be pre-initialized: {0}")]
    Unsupported(String),
    /// Go's initialization trapped or the engine failed.
    #[error("pre-initializing failed: {message}")]
    Failed {
        /// Cause, with its chain.
        message: String,
        /// What init wrote to stderr.
        stderr: String,
    },
}

/// The engine that runs Go's init once at build time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// The Wasmi interpreter with lazy translation: only the functions init
    /// calls are translated, so the cost follows what init runs, not the
    /// module's size.
    #[default]
    Interpreter,
    /// wasmtime with Cranelift without optimizations and with the single-pass
    /// register allocator: compiles every function first. The fallback when
    /// init needs more than the interpreter's WASI subset.
    Cranelift,
    /// wasmtime with Winch, its single-pass baseline compiler (measuring only).
    #[cfg(feature = "snapshot-engines")]
    Winch,
    /// wasmtime's Pulley interpreter, compiled to Pulley bytecode by Cranelift
    /// (measuring only).
    #[cfg(feature = "snapshot-engines")]
    Pulley,
}

impl Engine {
    /// Every engine this build has.
    pub const ALL: &'static [Engine] = &[
        Engine::Interpreter,
        Engine::Cranelift,
        #[cfg(feature = "snapshot-engines")]
        Engine::Winch,
        #[cfg(feature = "snapshot-engines")]
        Engine::Pulley,
    ];

    /// A short name (`interpreter`, `cranelift`, `winch`, `pulley`).
    pub fn name(self) -> &'static str {
        match self {
            Engine::Interpreter => "interpreter",
            Engine::Cranelift => "cranelift",
            #[cfg(feature = "snapshot-engines")]
            Engine::Winch => "winch",
            #[cfg(feature = "snapshot-engines")]
            Engine::Pulley => "pulley",
        }
    }

    fn wasmtime_config(self) -> Result<Config, SnapshotError> {
        let mut config = Config::new();
        config.cranelift_opt_level(OptLevel::None);
        // The fastest register allocator: the code runs once.
        config.cranelift_regalloc_algorithm(wasmtime::RegallocAlgorithm::SinglePass);
        match self {
            Engine::Interpreter | Engine::Cranelift => {}
            #[cfg(feature = "snapshot-engines")]
            Engine::Winch => {
                config.strategy(wasmtime::Strategy::Winch);
            }
            #[cfg(feature = "snapshot-engines")]
            Engine::Pulley => {
                config.target("pulley64").map_err(engine_failed)?;
            }
        }
        Ok(config)
    }
}

/// Where the snapshot step's time went.
#[derive(Debug, Clone, Copy, Default)]
pub struct Phases {
    /// `Wizer::instrument` (parse, validate, export the state).
    pub instrument: Duration,
    /// Compiling (wasmtime) or parsing (interpreter) the instrumented module.
    pub compile: Duration,
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
    /// Wall time of the snapshot step, fallback included.
    pub elapsed: Duration,
    /// The engine whose run made [`Snapshot::wasm`].
    pub engine: Engine,
    /// That run's time, per phase.
    pub phases: Phases,
}

/// Runs Go's initialization of `core` once and returns the pre-initialized
/// module: with [`Engine::Interpreter`], and again with [`Engine::Cranelift`]
/// and the full WASI context when the interpreter's run fails.
pub fn snapshot(core: &[u8]) -> Result<Snapshot, SnapshotError> {
    let start = Instant::now();
    let mut snapshot = match snapshot_with(core, Engine::Interpreter) {
        Err(SnapshotError::Failed { .. }) => snapshot_with(core, Engine::Cranelift)?,
        other => other?,
    };
    snapshot.elapsed = start.elapsed();
    Ok(snapshot)
}

/// [`snapshot`] with one given engine and no fallback (for measuring).
pub fn snapshot_with(core: &[u8], engine: Engine) -> Result<Snapshot, SnapshotError> {
    let start = Instant::now();
    let mut wizer = Wizer::new();
    wizer.init_func(PREPARE_EXPORT);
    let (cx, instrumented) = wizer
        .instrument(core)
        .map_err(|e| SnapshotError::Unsupported(format!("{e:#}")))?;
    let mut phases = Phases {
        instrument: start.elapsed(),
        ..Phases::default()
    };
    let wasm = match engine {
        Engine::Interpreter => interpret(&wizer, &cx, &instrumented, &mut phases)?,
        _ => compile_and_run(&wizer, &cx, &instrumented, engine, &mut phases)?,
    };
    Ok(Snapshot {
        wasm,
        elapsed: start.elapsed(),
        engine,
        phases,
    })
}

fn engine_failed(e: wasmtime::Error) -> SnapshotError {
    SnapshotError::Failed {
        message: format!("{e:#}"),
        stderr: String::new(),
    }
}

fn not_glue() -> SnapshotError {
    SnapshotError::Unsupported(format!(
        "the module does not export `{PREPARE_EXPORT}` (not PELATO's glue)"
    ))
}

/// What the glue's prepare export returned: 1 when it found the runtime's
/// random generator state.
fn check_prepared(found: Option<i32>) -> Result<(), SnapshotError> {
    match found {
        Some(1) => Ok(()),
        _ => Err(SnapshotError::Unsupported(
            "the glue did not find the Go runtime's random generator state, so instances would share their randomness".into(),
        )),
    }
}

struct Init {
    wasi: WasiP1Ctx,
}

/// Reads a wasmtime instance's exported globals and memory for Wizer.
struct WasmtimeState<'a> {
    store: &'a mut Store<Init>,
    instance: wasmtime::Instance,
}

impl InstanceState for WasmtimeState<'_> {
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

/// The init run in wasmtime: compile every function, then run.
fn compile_and_run(
    wizer: &Wizer,
    cx: &wasmtime_wizer::ModuleContext<'_>,
    instrumented: &[u8],
    engine: Engine,
    phases: &mut Phases,
) -> Result<Vec<u8>, SnapshotError> {
    let failed = |e: wasmtime::Error, stderr: &MemoryOutputPipe| SnapshotError::Failed {
        message: format!("{e:#}"),
        stderr: String::from_utf8_lossy(&stderr.contents()).into_owned(),
    };
    let t = Instant::now();
    let engine = wasmtime::Engine::new(&engine.wasmtime_config()?).map_err(engine_failed)?;
    let stderr = MemoryOutputPipe::new(1 << 20);
    let wasi = WasiCtxBuilder::new()
        .stdout(MemoryOutputPipe::new(1 << 20))
        .stderr(stderr.clone())
        .build_p1();
    let mut store = Store::new(&engine, Init { wasi });
    let module = Module::new(&engine, instrumented).map_err(|e| failed(e, &stderr))?;
    phases.compile = t.elapsed();
    let t = Instant::now();
    if module.get_export(PREPARE_EXPORT).is_none() {
        return Err(not_glue());
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
    check_prepared(run(&mut store, PREPARE_EXPORT).map_err(|e| failed(e, &stderr))?)?;
    phases.init = t.elapsed();
    let t = Instant::now();
    let mut state = WasmtimeState {
        store: &mut store,
        instance,
    };
    let wasm = block_on(wizer.snapshot(cx, &mut state)).map_err(|e| failed(e, &stderr))?;
    phases.rewrite = t.elapsed();
    Ok(wasm)
}

/// Reads a Wasmi instance's exported globals and memory for Wizer.
struct WasmiState<'a> {
    store: &'a mut wasmi::Store<wasi_init::WasiInit>,
    instance: wasmi::Instance,
}

impl InstanceState for WasmiState<'_> {
    async fn global_get(&mut self, name: &str, _: wasmtime_wizer::ValType) -> SnapshotVal {
        let global = self
            .instance
            .get_global(&*self.store, name)
            .expect("Wizer asks only for globals it exported");
        match global.get(&*self.store) {
            wasmi::Val::I32(x) => SnapshotVal::I32(x),
            wasmi::Val::I64(x) => SnapshotVal::I64(x),
            wasmi::Val::F32(x) => SnapshotVal::F32(x.to_bits()),
            wasmi::Val::F64(x) => SnapshotVal::F64(x.to_bits()),
            wasmi::Val::V128(x) => SnapshotVal::V128(x.as_u128()),
            _ => panic!("Wizer rejects reference-typed mutable globals up front"),
        }
    }

    async fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) {
        let memory = self
            .instance
            .get_memory(&*self.store, name)
            .expect("Wizer asks only for memories it exported");
        contents(memory.data(&*self.store))
    }
}

/// The init run in Wasmi: functions are translated when first called.
fn interpret(
    wizer: &Wizer,
    cx: &wasmtime_wizer::ModuleContext<'_>,
    instrumented: &[u8],
    phases: &mut Phases,
) -> Result<Vec<u8>, SnapshotError> {
    let failed = |e: &dyn std::fmt::Display, store: Option<&wasmi::Store<wasi_init::WasiInit>>| {
        SnapshotError::Failed {
            message: format!("{e:#}"),
            stderr: store
                .map(|s| String::from_utf8_lossy(&s.data().stderr).into_owned())
                .unwrap_or_default(),
        }
    };
    let t = Instant::now();
    let mut config = wasmi::Config::default();
    // Wizer validated the module; translate (and check) each function only
    // when init calls it.
    config.compilation_mode(wasmi::CompilationMode::Lazy);
    let engine = wasmi::Engine::new(&config);
    let module = wasmi::Module::new(&engine, instrumented).map_err(|e| failed(&e, None))?;
    phases.compile = t.elapsed();
    let t = Instant::now();
    if !module.exports().any(|e| e.name() == PREPARE_EXPORT) {
        return Err(not_glue());
    }
    let mut store = wasmi::Store::new(&engine, wasi_init::WasiInit::new());
    let mut linker = wasmi::Linker::new(&engine);
    wasi_init::define(&mut linker, &module).map_err(|e| failed(&e, None))?;
    let instance = linker
        .instantiate_and_start(&mut store, &module)
        .map_err(|e| failed(&e, Some(&store)))?;
    let run = |store: &mut wasmi::Store<wasi_init::WasiInit>,
               name: &str|
     -> Result<Option<i32>, wasmi::Error> {
        match instance.get_func(&*store, name) {
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
    run(&mut store, "_initialize").map_err(|e| failed(&e, Some(&store)))?;
    let found = run(&mut store, PREPARE_EXPORT).map_err(|e| failed(&e, Some(&store)))?;
    check_prepared(found)?;
    phases.init = t.elapsed();
    let t = Instant::now();
    let mut state = WasmiState {
        store: &mut store,
        instance,
    };
    let wasm = block_on(wizer.snapshot(cx, &mut state)).map_err(|e| SnapshotError::Failed {
        message: format!("{e:#}"),
        stderr: String::new(),
    })?;
    phases.rewrite = t.elapsed();
    Ok(wasm)
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

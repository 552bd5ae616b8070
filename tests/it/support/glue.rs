//! Support for the glue round-trip tests: build a Go component for an inline
//! WIT world with the generated glue, and drive it from wasmtime's dynamic
//! component API with host imports defined from the world itself.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use pelato::glue::{self, GlueOptions, GoGlue};
use wasmtime::component::types::ComponentFunc;
use wasmtime::component::{Component, Instance, Linker, ResourceTable, Val};
use wasmtime::{Config, Engine, ResourceLimiter, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wit_parser::{Resolve, WorldId, WorldItem};

/// Shared Go build cache and compiled-code cache (same as the pipeline tests).
pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pelato-test-cache")
}

/// One engine for every test in the binary.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.wasm_component_model(true);
        Engine::new(&config).expect("engine")
    })
}

/// A world built into a component.
pub struct BuiltWorld {
    pub resolve: Resolve,
    pub world: WorldId,
    pub glue: GoGlue,
    /// The Go core module (before componentizing).
    pub core: Vec<u8>,
    pub component: Component,
}

/// Parses `wit` (one package) and returns the resolve and the world `world`.
pub fn parse(wit: &str, world: &str) -> (Resolve, WorldId) {
    let mut resolve = Resolve::default();
    let pkg = resolve
        .push_str("roundtrip.wit", wit)
        .unwrap_or_else(|e| panic!("test WIT should parse: {e:?}"));
    let world = resolve
        .select_world(&[pkg], Some(world))
        .expect("world exists");
    (resolve, world)
}

/// Go for every export hook not defined in `handwritten`: call the import whose
/// field is the same function name (`iface#name` ↔ `host` import `name`; a
/// world-level export `name` ↔ world-level import `host-name`) and return what
/// it returns.
pub fn passthrough_hooks(
    resolve: &Resolve,
    world: WorldId,
    glue: &GoGlue,
    handwritten: &str,
) -> String {
    let w = &resolve.worlds[world];
    let mut funcs = HashMap::new();
    for (key, item) in &w.exports {
        match item {
            WorldItem::Interface { id, .. } => {
                let name = resolve.name_world_key(key);
                for f in resolve.interfaces[*id].functions.values() {
                    funcs.insert(format!("{name}#{}", f.name), f.clone());
                }
            }
            WorldItem::Function(f) => {
                funcs.insert(f.name.clone(), f.clone());
            }
            WorldItem::Type { .. } => {}
        }
    }
    let mut out = String::from("package main\n\n");
    for hook in &glue.exports {
        if handwritten.contains(&format!("func {}(", hook.go_name)) {
            continue;
        }
        let func = &funcs[&hook.export_name];
        let (want_module_root, field) = match hook.export_name.split_once('#') {
            Some((_, f)) => (false, f.to_string()),
            None => (true, format!("host-{}", hook.export_name)),
        };
        let imp = glue
            .imports
            .iter()
            .find(|i| i.field == field && (i.module == "$root") == want_module_root)
            .unwrap_or_else(|| panic!("no import to pass `{}` through", hook.export_name));
        let args: Vec<String> = (0..func.params.len()).map(|i| format!("a{i}")).collect();
        let ret = if func.result.is_some() { "return " } else { "" };
        out.push_str(&format!(
            "{} {{\n\t{ret}{}({})\n}}\n\n",
            hook.go_signature,
            imp.go_name,
            args.join(", ")
        ));
    }
    out
}

/// Generates the glue, compiles it with the real Go and componentizes it.
/// `go_files` are extra files of the Go module (hooks, `func main`).
pub fn build_world(wit: &str, world: &str, opts: &GlueOptions, extra_go: &str) -> BuiltWorld {
    let (resolve, world_id) = parse(wit, world);
    let glue = glue::generate(&resolve, world_id, opts)
        .unwrap_or_else(|e| panic!("glue generation failed: {e}"));
    let core = build_core(&resolve, world_id, world, &glue, extra_go);
    let bytes = pelato::build::componentize(&core, &resolve, world_id)
        .unwrap_or_else(|e| panic!("componentize failed: {e:#}"));
    let component = compile_cached(&bytes);
    BuiltWorld {
        resolve,
        world: world_id,
        glue,
        core,
        component,
    }
}

/// Compiles `glue` (plus pass-through hooks for the exports `extra_go` does not
/// define, plus `extra_go` itself) with the real Go; returns the core module.
/// `label` names the kept copy of the glue in `CARGO_TARGET_TMPDIR`.
pub fn build_core(
    resolve: &Resolve,
    world_id: WorldId,
    label: &str,
    glue: &GoGlue,
    extra_go: &str,
) -> Vec<u8> {
    let hooks = passthrough_hooks(resolve, world_id, glue, extra_go);

    // For inspection: the last generated glue of each world.
    let _ = std::fs::write(
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("glue-{label}.go")),
        &glue.source,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("go.mod"),
        "module pelato.local/x\n\ngo 1.24\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("zz_pelato_bindings.go"), &glue.source).unwrap();
    std::fs::write(dir.path().join("hooks.go"), hooks).unwrap();
    std::fs::write(dir.path().join("main.go"), extra_go).unwrap();

    let go = pelato::toolchain::discover().unwrap_or_else(|e| {
        panic!("these tests need the real Go compiler (>= 1.24): run `bash scripts/setup && . scripts/env`\n{e}")
    });
    match go.compile(dir.path(), &cache_dir()) {
        Ok(o) => o.wasm,
        Err(e) => {
            // Keep the module around for a post-mortem.
            let keep = dir.keep();
            panic!(
                "Go build of world `{label}` failed (module kept in {}):\n{e}",
                keep.display()
            );
        }
    }
}

fn compile_cached(bytes: &[u8]) -> Component {
    use std::hash::{Hash, Hasher};
    let engine = engine();
    let dir = cache_dir().join("wasmtime-glue");
    let _ = std::fs::create_dir_all(&dir);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    let path = dir.join(format!(
        "{}-{:016x}.cwasm",
        pelato::util::digest::sha256_hex(bytes),
        h.finish()
    ));
    if path.exists() {
        // SAFETY: written by `Component::serialize` of this engine configuration
        // (the key has the engine's compatibility hash and the bytes' sha256).
        if let Ok(c) = unsafe { Component::deserialize_file(engine, &path) } {
            return c;
        }
    }
    let c = Component::new(engine, bytes).unwrap_or_else(|e| panic!("compile component: {e:?}"));
    if let Ok(s) = c.serialize() {
        let _ = pelato::util::fs::write_atomic(&path, &s);
    }
    c
}

/// Records linear-memory growth.
#[derive(Default)]
pub struct MemTracker {
    /// Largest size any memory was grown to, in bytes.
    pub peak: usize,
}

impl ResourceLimiter for MemTracker {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// What host functions saw.
#[derive(Default)]
pub struct HostLog {
    /// (import name, params) of every call.
    pub calls: Vec<(String, Vec<Val>)>,
}

/// A host function: params → result (if the function has one).
pub type HostFn = Arc<dyn Fn(&[Val]) -> Option<Val> + Send + Sync>;

pub struct HostState {
    wasi: WasiCtx,
    /// Shared with WASI; tests keep their host resources here too.
    pub table: ResourceTable,
    pub mem: MemTracker,
    /// Free-form counters for host implementations (e.g. resources made/dropped).
    pub counts: HashMap<&'static str, u64>,
}

impl HostState {
    /// Adds one to counter `what`.
    pub fn bump(&mut self, what: &'static str) {
        *self.counts.entry(what).or_default() += 1;
    }

    /// Current value of counter `what`.
    pub fn count(&self, what: &str) -> u64 {
        self.counts.get(what).copied().unwrap_or(0)
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A warm instance of a built world.
pub struct Running {
    pub rt: tokio::runtime::Runtime,
    pub store: Store<HostState>,
    pub instance: Instance,
    pub log: Arc<Mutex<HostLog>>,
    pub stderr: wasmtime_wasi::p2::pipe::MemoryOutputPipe,
}

/// Instantiates `built` with host imports: every function of every non-WASI
/// imported interface, and every world-level imported function. A function
/// listed in `custom` (by `iface#name`, or `name` at world level) runs that
/// closure; any other must take one value and return one: it answers
/// `default(param)`.
pub fn instantiate(
    built: &BuiltWorld,
    custom: &HashMap<String, HostFn>,
    default: fn(&Val) -> Val,
) -> Running {
    instantiate_with(built, custom, default, |_| Vec::new())
}

/// Like [`instantiate`], but `typed` first adds its own definitions to the
/// linker (e.g. host resources with `func_wrap`) and returns the names of the
/// interfaces it defined, which the dynamic definitions then skip.
pub fn instantiate_with(
    built: &BuiltWorld,
    custom: &HashMap<String, HostFn>,
    default: fn(&Val) -> Val,
    typed: impl FnOnce(&mut Linker<HostState>) -> Vec<String>,
) -> Running {
    let engine = engine();
    let mut linker: Linker<HostState> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("wasi");
    let defined = typed(&mut linker);
    let log = Arc::new(Mutex::new(HostLog::default()));
    let resolve = &built.resolve;
    let w = &resolve.worlds[built.world];
    let define = |inst: &mut wasmtime::component::LinkerInstance<'_, HostState>,
                  full: String,
                  fname: &str| {
        let behaviour = custom.get(&full).cloned();
        let log = log.clone();
        inst.func_new_async(fname, move |_store, _ty: ComponentFunc, params, results| {
            log.lock()
                .unwrap()
                .calls
                .push((full.clone(), params.to_vec()));
            let out = match &behaviour {
                Some(f) => f(params),
                None => {
                    assert_eq!(params.len(), 1, "host `{full}` needs a custom behaviour");
                    Some(default(&params[0]))
                }
            };
            match (out, results.first_mut()) {
                (Some(v), Some(slot)) => *slot = v,
                (None, None) => {}
                (o, r) => panic!(
                    "host `{full}`: result {o:?} for {} result slots",
                    r.map_or(0, |_| 1)
                ),
            }
            Box::new(async { Ok(()) })
        })
        .expect("define host function");
    };
    for (key, item) in &w.imports {
        match item {
            WorldItem::Interface { id, .. } => {
                let name = resolve.name_world_key(key);
                if name.starts_with("wasi:") || defined.contains(&name) {
                    continue;
                }
                let mut inst = linker.instance(&name).expect("linker instance");
                for f in resolve.interfaces[*id].functions.values() {
                    define(&mut inst, format!("{name}#{}", f.name), &f.name);
                }
            }
            WorldItem::Function(f) => {
                let mut root = linker.root();
                define(&mut root, f.name.clone(), &f.name);
            }
            WorldItem::Type { .. } => {}
        }
    }

    let stderr = wasmtime_wasi::p2::pipe::MemoryOutputPipe::new(1 << 20);
    let wasi = WasiCtx::builder().stderr(stderr.clone()).build();
    let mut store = Store::new(
        engine,
        HostState {
            wasi,
            table: ResourceTable::new(),
            mem: MemTracker::default(),
            counts: HashMap::new(),
        },
    );
    store.limiter(|s| &mut s.mem);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let instance = rt
        .block_on(linker.instantiate_async(&mut store, &built.component))
        .unwrap_or_else(|e| panic!("instantiate: {e:?}"));
    Running {
        rt,
        store,
        instance,
        log,
        stderr,
    }
}

impl Running {
    /// Calls export `func` of exported interface `iface` (`None`: world level).
    pub fn try_call(
        &mut self,
        iface: Option<&str>,
        func: &str,
        params: &[Val],
    ) -> Result<Option<Val>, String> {
        let parent = iface.map(|i| {
            self.instance
                .get_export_index(&mut self.store, None, i)
                .unwrap_or_else(|| panic!("no exported interface {i}"))
        });
        let idx = self
            .instance
            .get_export_index(&mut self.store, parent.as_ref(), func)
            .unwrap_or_else(|| panic!("no export {func}"));
        let f = self
            .instance
            .get_func(&mut self.store, idx)
            .unwrap_or_else(|| panic!("{func} is not a function"));
        let n_results = f.ty(&self.store).results().len();
        let mut results = vec![Val::Bool(false); n_results];
        let store = &mut self.store;
        // (wasmtime 48 runs the post-return function itself.)
        let r = self
            .rt
            .block_on(f.call_async(&mut *store, params, &mut results));
        match r {
            Ok(()) => Ok(results.into_iter().next()),
            Err(e) => Err(format!(
                "{e:?}\nguest stderr: {}",
                String::from_utf8_lossy(&self.stderr.contents())
            )),
        }
    }

    /// Like [`Running::try_call`], panicking on a trap.
    pub fn call(&mut self, iface: Option<&str>, func: &str, params: &[Val]) -> Option<Val> {
        self.try_call(iface, func, params)
            .unwrap_or_else(|e| panic!("call {func}: {e}"))
    }

    /// Largest linear memory size seen so far.
    pub fn memory_peak(&self) -> usize {
        self.store.data().mem.peak
    }
}

// ---- values -----------------------------------------------------------------

/// Deterministic, injective change the default host applies to what it gets.
pub fn mutate(v: &Val) -> Val {
    match v {
        Val::Bool(b) => Val::Bool(!b),
        Val::S8(x) => Val::S8(x.wrapping_add(1)),
        Val::U8(x) => Val::U8(x.wrapping_add(1)),
        Val::S16(x) => Val::S16(x.wrapping_add(1)),
        Val::U16(x) => Val::U16(x.wrapping_add(1)),
        Val::S32(x) => Val::S32(x.wrapping_add(1)),
        Val::U32(x) => Val::U32(x.wrapping_add(1)),
        Val::S64(x) => Val::S64(x.wrapping_add(1)),
        Val::U64(x) => Val::U64(x.wrapping_add(1)),
        // Flip the sign bit: exact on every bit pattern, NaNs included.
        Val::Float32(x) => Val::Float32(f32::from_bits(x.to_bits() ^ 0x8000_0000)),
        Val::Float64(x) => Val::Float64(f64::from_bits(x.to_bits() ^ (1 << 63))),
        Val::Char(c) => Val::Char(*c),
        Val::String(s) => Val::String(s.chars().rev().collect()),
        Val::List(l) => Val::List(l.iter().rev().map(mutate).collect()),
        Val::Record(fs) => Val::Record(fs.iter().map(|(n, v)| (n.clone(), mutate(v))).collect()),
        Val::Tuple(t) => Val::Tuple(t.iter().map(mutate).collect()),
        Val::Variant(n, p) => Val::Variant(n.clone(), p.as_ref().map(|p| Box::new(mutate(p)))),
        Val::Enum(e) => Val::Enum(e.clone()),
        Val::Option(o) => Val::Option(o.as_ref().map(|p| Box::new(mutate(p)))),
        Val::Result(r) => Val::Result(match r {
            Ok(p) => Ok(p.as_ref().map(|p| Box::new(mutate(p)))),
            Err(p) => Err(p.as_ref().map(|p| Box::new(mutate(p)))),
        }),
        Val::Flags(f) => Val::Flags(f.clone()),
        other => panic!("mutate: unexpected value {other:?}"),
    }
}

/// Identity (for the host of tests that want values unchanged).
pub fn identity(v: &Val) -> Val {
    v.clone()
}

/// Exact equality: floats by bit pattern, flags as sets.
pub fn same(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Float32(x), Val::Float32(y)) => x.to_bits() == y.to_bits(),
        (Val::Float64(x), Val::Float64(y)) => x.to_bits() == y.to_bits(),
        (Val::List(x), Val::List(y)) | (Val::Tuple(x), Val::Tuple(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Val::Record(x), Val::Record(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((na, a), (nb, b))| na == nb && same(a, b))
        }
        (Val::Variant(na, a), Val::Variant(nb, b)) => na == nb && same_opt(a, b),
        (Val::Option(a), Val::Option(b)) => same_opt(a, b),
        (Val::Result(Ok(a)), Val::Result(Ok(b))) | (Val::Result(Err(a)), Val::Result(Err(b))) => {
            same_opt(a, b)
        }
        (Val::Flags(x), Val::Flags(y)) => {
            let mut x = x.clone();
            let mut y = y.clone();
            x.sort();
            y.sort();
            x == y
        }
        _ => a == b,
    }
}

fn same_opt(a: &Option<Box<Val>>, b: &Option<Box<Val>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// A short description of a value for failure messages (long strings elided).
pub fn show(v: &Val) -> String {
    let s = format!("{v:?}");
    if s.len() > 600 {
        format!(
            "{}… ({} chars)",
            &s[..s.char_indices().nth(600).map_or(s.len(), |(i, _)| i)],
            s.len()
        )
    } else {
        s
    }
}

// ---- constructors -----------------------------------------------------------

pub fn s(x: &str) -> Val {
    Val::String(x.to_string())
}
pub fn list(v: Vec<Val>) -> Val {
    Val::List(v)
}
pub fn rec(fields: &[(&str, Val)]) -> Val {
    Val::Record(
        fields
            .iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect(),
    )
}
pub fn tup(v: Vec<Val>) -> Val {
    Val::Tuple(v)
}
pub fn some(v: Val) -> Val {
    Val::Option(Some(Box::new(v)))
}
pub fn none() -> Val {
    Val::Option(None)
}
pub fn ok(v: Option<Val>) -> Val {
    Val::Result(Ok(v.map(Box::new)))
}
pub fn err(v: Option<Val>) -> Val {
    Val::Result(Err(v.map(Box::new)))
}
pub fn case(name: &str, v: Option<Val>) -> Val {
    Val::Variant(name.to_string(), v.map(Box::new))
}
pub fn en(name: &str) -> Val {
    Val::Enum(name.to_string())
}
pub fn flags(names: &[&str]) -> Val {
    Val::Flags(names.iter().map(|n| n.to_string()).collect())
}

//! PELATO's WIT → Go glue generator.
//!
//! Given a resolved WIT world, [`generate`] writes one Go source file (package
//! `main`, standard library only) that
//!
//! * declares a Go type for every WIT type the world's functions use
//!   (records → structs, enums/flags → `uint32` types with constants, variants →
//!   tagged structs, tuples → the generic `pelatoTupleN`, `option`/`result` →
//!   the generic `pelatoOption`/`pelatoResult`);
//! * binds every imported function with `//go:wasmimport` and a typed Go wrapper
//!   named `pelato<Interface><Function>`;
//! * exports every exported function with `//go:wasmexport`, lifting its
//!   arguments into Go values and calling `pelatoOn<Interface><Function>`, which
//!   the template's glue must define;
//! * provides the two allocators the notes call for: `cabi_realloc` as a bump
//!   allocator over a fixed arena (never the Go heap) and `cabi_realloc_adapter`
//!   over a static heap for the WASI preview1 adapter.
//!
//! The canonical ABI is implemented generically over a flat "slot" vector: every
//! core wasm value travels as a `uint64` holding its bit pattern (32-bit values
//! zero-extended). This makes variant joins (i32/f32/i64 sharing a slot) correct
//! without per-case conversions: a payload is read back with the same bit
//! conversion it was written with. Memory layouts come from
//! [`wit_parser::SizeAlign`]; flat signatures from [`Resolve::wasm_signature`].
//!
//! All generated identifiers start with `pelato`, which is reserved in task files;
//! clashes between them (a record named `keep` and the prelude's `pelatoKeep`, a
//! world-level import `host-echo` and interface `host`'s `echo`, a variant case
//! `tag` and the discriminant field `Tag`) are resolved by numbering (types,
//! wrappers, constants) or a trailing `_` (struct fields).
//!
//! Imported resources (what `wasi:http`'s `incoming-handler` world needs) are
//! supported: a resource `R` of an imported interface becomes
//! `type pelato<R> struct { handle int32 }` (`pelato<Interface><R>` if the short
//! name is taken) with
//!
//! * a Go method per `[method]R.m` (`func (r pelatoR) M(a0 ...) ...`),
//! * `pelatoNew<R>(...)` for `[constructor]R` and `pelato<R><F>(...)` for
//!   `[static]R.f`,
//! * `func (r pelatoR) Drop()` calling the `[resource-drop]R` import.
//!
//! `own<R>` and `borrow<R>` both travel as the i32 handle. An own handle passed
//! to an import moves to the host (the Go value must not be used afterwards);
//! an own handle the guest receives (import result, export argument) is the
//! guest's to `Drop` or pass on. Borrowed handles an export receives are dropped
//! by the glue when the export returns, as the component model requires.
//!
//! Not supported (reported as [`GlueError::Unsupported`], naming the function):
//! exported (guest-implemented) resources, async functions,
//! `future`/`stream`/`error-context`, getters/setters, `map`, fixed-length
//! lists, and flags with more than 32 members (which the component model
//! rejects anyway).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use wit_parser::abi::{AbiVariant, WasmType};
use wit_parser::{
    Function, FunctionKind, Handle, Int, Record, Resolve, SizeAlign, Type, TypeDefKind, TypeId,
    TypeOwner, Variant, WorldId, WorldItem, WorldKey,
};

/// Fixed part of every generated file: allocators, keep-alive list, codecs for
/// primitive values and the generic option/result types.
const PRELUDE: &str = include_str!("prelude.go.txt");

/// Extra arena room on top of the payload limit, for the subject, reply-to and
/// alignment padding of a message.
pub const ARENA_SLACK_BYTES: u64 = 64 * 1024;

/// Default static heap for the WASI preview1 adapter's state.
pub const DEFAULT_ADAPTER_HEAP_BYTES: u64 = 256 * 1024;

/// Options for [`generate`].
#[derive(Debug, Clone)]
pub struct GlueOptions {
    /// Largest payload (bytes) one call may carry into the component.
    pub max_message_bytes: u64,
    /// Size of the adapter's static heap.
    pub adapter_heap_bytes: u64,
}

impl Default for GlueOptions {
    fn default() -> Self {
        GlueOptions {
            max_message_bytes: crate::DEFAULT_MAX_MESSAGE_BYTES,
            adapter_heap_bytes: DEFAULT_ADAPTER_HEAP_BYTES,
        }
    }
}

/// A function the template's glue must implement for an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportHook {
    /// Canonical export name, e.g. `wasmcloud:messaging/handler@0.2.0#handle-message`.
    pub export_name: String,
    /// Go function the template must define, e.g. `pelatoOnHandlerHandleMessage`.
    pub go_name: String,
    /// Its Go signature, for error messages and docs.
    pub go_signature: String,
}

/// A typed Go wrapper generated for an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportBinding {
    /// Wasm import module, e.g. `wasmcloud:messaging/consumer@0.2.0`.
    pub module: String,
    /// Wasm import field, e.g. `publish`.
    pub field: String,
    /// Go wrapper name, e.g. `pelatoConsumerPublish`; for a resource method
    /// (and `Drop`) `<Go type>.<method>`, e.g. `pelatoFields.Get`.
    pub go_name: String,
    /// Its Go signature.
    pub go_signature: String,
}

/// The generated Go file and what it binds.
#[derive(Debug, Clone)]
pub struct GoGlue {
    /// Go source of the bindings file.
    pub source: String,
    /// Exports the template must implement.
    pub exports: Vec<ExportHook>,
    /// Imports the template may call.
    pub imports: Vec<ImportBinding>,
}

/// Why a world cannot be turned into Go glue.
#[derive(Debug, thiserror::Error)]
pub enum GlueError {
    /// The world uses a WIT feature this generator does not support yet.
    #[error("WIT world `{world}`: {what} is not supported by the Go glue generator yet")]
    Unsupported {
        /// World name.
        world: String,
        /// What was found.
        what: String,
    },
    /// wit-parser could not compute the layout of the world's types.
    #[error("WIT world `{world}`: cannot compute type layout: {source}")]
    Layout {
        /// World name.
        world: String,
        /// Cause.
        source: anyhow::Error,
    },
}

/// Generates the Go glue for `world`.
pub fn generate(
    resolve: &Resolve,
    world: WorldId,
    opts: &GlueOptions,
) -> Result<GoGlue, GlueError> {
    let world_name = world_display_name(resolve, world);
    let mut sizes = SizeAlign::default();
    sizes.fill(resolve).map_err(|source| GlueError::Layout {
        world: world_name.clone(),
        source,
    })?;
    let mut g = Gen {
        resolve,
        sizes,
        world: world_name.clone(),
        type_names: HashMap::new(),
        used_names: prelude_idents(),
        tuple_names: HashMap::new(),
        decls: String::new(),
        helpers: BTreeMap::new(),
        in_progress: HashSet::new(),
        body: String::new(),
        export_ret_bytes: 0,
        import_ret_bytes: 0,
        exports: Vec::new(),
        imports: Vec::new(),
        imported_resources: HashMap::new(),
        resource_drops: HashMap::new(),
        methods: HashMap::new(),
    };
    let w = &resolve.worlds[world];
    // Imported resource types first (in import order), so every function sees
    // their Go types and `Drop` imports whatever interface it comes from.
    let mut resources = Vec::new();
    for (key, item) in w.imports.iter() {
        match item {
            WorldItem::Interface { id, .. } => {
                let module = resolve.name_world_key(key);
                for tid in resolve.interfaces[*id].types.values() {
                    if matches!(resolve.types[*tid].kind, TypeDefKind::Resource) {
                        resources.push((*tid, module.clone()));
                    }
                }
            }
            WorldItem::Type { id, .. } => {
                let base = g.base_resource(*id);
                if matches!(resolve.types[base].kind, TypeDefKind::Resource)
                    && matches!(resolve.types[base].owner, TypeOwner::World(_))
                {
                    resources.push((base, "$root".to_string()));
                }
            }
            WorldItem::Function(_) => {}
        }
    }
    for (tid, module) in &resources {
        g.imported_resources.insert(*tid, module.clone());
    }
    for (tid, module) in &resources {
        g.declare_resource(*tid, module);
    }
    for (key, item) in w.imports.iter() {
        match item {
            WorldItem::Interface { id, .. } => {
                let module = resolve.name_world_key(key);
                let iface = &resolve.interfaces[*id];
                let prefix = iface_prefix(key, iface.name.as_deref());
                for func in iface.functions.values() {
                    g.import_fn(&module, &prefix, func)?;
                }
            }
            WorldItem::Function(func) => g.import_fn("$root", "", func)?,
            WorldItem::Type { .. } => {}
        }
    }
    for (key, item) in w.exports.iter() {
        match item {
            WorldItem::Interface { id, .. } => {
                let name = resolve.name_world_key(key);
                let iface = &resolve.interfaces[*id];
                let prefix = iface_prefix(key, iface.name.as_deref());
                for func in iface.functions.values() {
                    g.export_fn(&format!("{name}#{}", func.name), &prefix, func)?;
                }
            }
            WorldItem::Function(func) => g.export_fn(&func.name.clone(), "", func)?,
            WorldItem::Type { .. } => {}
        }
    }
    Ok(g.finish(opts))
}

fn world_display_name(resolve: &Resolve, world: WorldId) -> String {
    let w = &resolve.worlds[world];
    match w.package {
        Some(p) => format!("{}/{}", resolve.packages[p].name, w.name),
        None => w.name.clone(),
    }
}

fn iface_prefix(key: &WorldKey, name: Option<&str>) -> String {
    match key {
        WorldKey::Name(n) => camel(n),
        WorldKey::Interface(_) => camel(name.unwrap_or("iface")),
    }
}

/// `reply-to` → `ReplyTo`.
pub fn camel(s: &str) -> String {
    let mut out = String::new();
    for part in s.split(['-', '_', '.', ':', '/']) {
        let mut cs = part.chars();
        if let Some(c) = cs.next() {
            out.extend(c.to_uppercase());
            out.push_str(cs.as_str());
        }
    }
    out
}

/// `pelatoCounter` → `Counter`: a generated type's name without the prefix.
fn go_suffix(go_name: &str) -> &str {
    go_name.strip_prefix("pelato").unwrap_or(go_name)
}

/// Package-level identifiers the prelude and `finish` declare.
fn prelude_idents() -> HashSet<String> {
    let mut out: HashSet<String> = ["pelatoExportRet", "pelatoImportRet", "main"]
        .into_iter()
        .map(String::from)
        .collect();
    for line in PRELUDE.lines() {
        let rest = ["func ", "type ", "var ", "const "]
            .iter()
            .find_map(|kw| line.strip_prefix(kw));
        if let Some(rest) = rest {
            let ident: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !ident.is_empty() {
                out.insert(ident);
            }
        }
    }
    out
}

/// Writes `\tname rest` lines with the names padded to one column, as gofmt
/// aligns struct fields and const specs.
fn push_aligned(s: &mut String, rows: &[(String, String)]) {
    let width = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (n, rest) in rows {
        let _ = writeln!(s, "\t{n:<width$} {rest}");
    }
}

/// Go field names for a record's fields, in order: camel case, made unique.
fn record_fields(r: &Record) -> Vec<String> {
    let mut used = HashSet::new();
    r.fields
        .iter()
        .map(|f| unique_field(camel(&f.name), &mut used))
        .collect()
}

/// Go field names for a variant's payload cases (`None` for a case without a
/// payload): camel case, unique, and never `Tag`, the discriminant's field.
fn case_fields(v: &Variant) -> Vec<Option<String>> {
    let mut used = HashSet::from(["Tag".to_string()]);
    v.cases
        .iter()
        .map(|c| c.ty.map(|_| unique_field(camel(&c.name), &mut used)))
        .collect()
}

/// `name`, or `name_`, `name__`, … if taken. `camel` never produces `_`, so the
/// suffixed names cannot clash with another field's plain name.
fn unique_field(mut name: String, used: &mut HashSet<String>) -> String {
    while !used.insert(name.clone()) {
        name.push('_');
    }
    name
}

/// Go type of a wasm-level (core) value.
fn core_go(t: WasmType) -> &'static str {
    match t {
        WasmType::I32 | WasmType::Pointer | WasmType::Length => "int32",
        WasmType::I64 | WasmType::PointerOrI64 => "int64",
        WasmType::F32 => "float32",
        WasmType::F64 => "float64",
    }
}

/// Go expression turning a core value `v` into a slot.
fn to_slot(t: WasmType, v: &str) -> String {
    match t {
        WasmType::I32 | WasmType::Pointer | WasmType::Length => format!("uint64(uint32({v}))"),
        WasmType::I64 | WasmType::PointerOrI64 => format!("uint64({v})"),
        WasmType::F32 => format!("uint64(math.Float32bits({v}))"),
        WasmType::F64 => format!("math.Float64bits({v})"),
    }
}

/// Go expression turning slot `s` into a core value.
fn from_slot(t: WasmType, s: &str) -> String {
    match t {
        WasmType::I32 | WasmType::Pointer | WasmType::Length => format!("int32(uint32({s}))"),
        WasmType::I64 | WasmType::PointerOrI64 => format!("int64({s})"),
        WasmType::F32 => format!("math.Float32frombits(uint32({s}))"),
        WasmType::F64 => format!("math.Float64frombits({s})"),
    }
}

struct Gen<'a> {
    resolve: &'a Resolve,
    sizes: SizeAlign,
    world: String,
    type_names: HashMap<TypeId, String>,
    used_names: HashSet<String>,
    tuple_names: HashMap<usize, String>,
    decls: String,
    helpers: BTreeMap<String, String>,
    in_progress: HashSet<String>,
    body: String,
    export_ret_bytes: usize,
    import_ret_bytes: usize,
    exports: Vec<ExportHook>,
    imports: Vec<ImportBinding>,
    /// Imported resource types (alias-free ids) → module of their interface.
    imported_resources: HashMap<TypeId, String>,
    /// Imported resource type → Go function dropping a handle (`func(int32)`).
    resource_drops: HashMap<TypeId, String>,
    /// Resource type → Go method names already taken on its Go type.
    methods: HashMap<TypeId, HashSet<String>>,
}

/// The four codecs generated per type.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Codec {
    /// slots → Go value
    LiftFlat,
    /// Go value → slots
    LowerFlat,
    /// memory → Go value
    Load,
    /// Go value → memory
    Store,
}

impl Gen<'_> {
    fn unsupported(&self, what: impl Into<String>) -> GlueError {
        GlueError::Unsupported {
            world: self.world.clone(),
            what: what.into(),
        }
    }

    fn size(&self, ty: &Type) -> usize {
        self.sizes.size(ty).size_wasm32()
    }

    /// Number of flat slots of `ty`.
    fn flat_len(&self, ty: &Type) -> usize {
        match ty {
            Type::String => 2,
            Type::Id(id) => match &self.resolve.types[*id].kind {
                TypeDefKind::Record(r) => r.fields.iter().map(|f| self.flat_len(&f.ty)).sum(),
                TypeDefKind::Tuple(t) => t.types.iter().map(|t| self.flat_len(t)).sum(),
                TypeDefKind::Flags(f) => f.flags.len().div_ceil(32),
                TypeDefKind::Enum(_) | TypeDefKind::Handle(_) => 1,
                TypeDefKind::List(_) => 2,
                TypeDefKind::Option(t) => 1 + self.flat_len(t),
                TypeDefKind::Result(r) => {
                    1 + r
                        .ok
                        .iter()
                        .chain(r.err.iter())
                        .map(|t| self.flat_len(t))
                        .max()
                        .unwrap_or(0)
                }
                TypeDefKind::Variant(v) => {
                    1 + v
                        .cases
                        .iter()
                        .filter_map(|c| c.ty.as_ref())
                        .map(|t| self.flat_len(t))
                        .max()
                        .unwrap_or(0)
                }
                TypeDefKind::Type(t) => self.flat_len(t),
                _ => 1,
            },
            _ => 1,
        }
    }

    /// Checks that `func` (called `display` in messages) can be bound: a plain
    /// (not async, not resource) function over supported types.
    fn check_fn(&self, display: &str, func: &Function) -> Result<(), GlueError> {
        let kind = if func.kind.is_async() {
            Some("async function".to_string())
        } else if !matches!(
            func.kind,
            FunctionKind::Freestanding
                | FunctionKind::Method(_)
                | FunctionKind::Static(_)
                | FunctionKind::Constructor(_)
        ) {
            Some("getter/setter function".to_string())
        } else {
            func.kind
                .resource()
                .and_then(|r| self.check_resource(r).err())
        };
        let what = match kind {
            Some(k) => Some(k),
            None => func
                .params
                .iter()
                .map(|p| &p.ty)
                .chain(func.result.iter())
                .find_map(|t| self.check(t).err()),
        };
        match what {
            None => Ok(()),
            Some(what) => Err(self.unsupported(format!("{what} (in `{display}`)"))),
        }
    }

    /// Follows type aliases (`use` of a resource) to the type they name.
    fn base_resource(&self, mut id: TypeId) -> TypeId {
        while let TypeDefKind::Type(Type::Id(inner)) = &self.resolve.types[id].kind {
            id = *inner;
        }
        id
    }

    /// Resources are supported when imported (the host implements them).
    fn check_resource(&self, r: TypeId) -> Result<(), String> {
        let base = self.base_resource(r);
        if self.imported_resources.contains_key(&base) {
            Ok(())
        } else {
            Err(format!(
                "exported resource type `{}` (only imported resources are supported)",
                self.resolve.types[base]
                    .name
                    .as_deref()
                    .unwrap_or("<anonymous>")
            ))
        }
    }

    /// Does `ty` contain a handle (`borrow` if `borrow`, else `own`)?
    fn has_handle(&self, ty: &Type, borrow: bool) -> bool {
        let Type::Id(id) = ty else { return false };
        match &self.resolve.types[*id].kind {
            TypeDefKind::Handle(Handle::Borrow(_)) => borrow,
            TypeDefKind::Handle(Handle::Own(_)) => !borrow,
            TypeDefKind::Record(r) => r.fields.iter().any(|f| self.has_handle(&f.ty, borrow)),
            TypeDefKind::Tuple(t) => t.types.iter().any(|t| self.has_handle(t, borrow)),
            TypeDefKind::Variant(v) => v
                .cases
                .iter()
                .filter_map(|c| c.ty.as_ref())
                .any(|t| self.has_handle(t, borrow)),
            TypeDefKind::Option(t) | TypeDefKind::List(t) | TypeDefKind::Type(t) => {
                self.has_handle(t, borrow)
            }
            TypeDefKind::Result(r) => {
                r.ok.iter()
                    .chain(r.err.iter())
                    .any(|t| self.has_handle(t, borrow))
            }
            _ => false,
        }
    }

    /// Declares the Go type of imported resource `id` and its `Drop` method.
    fn declare_resource(&mut self, id: TypeId, module: &str) {
        let name = self.declare_name(id);
        self.type_names.insert(id, name.clone());
        let wit_name = self.resolve.types[id].name.clone().unwrap_or_default();
        let raw = self.reserve(format!("pelatoWasmDrop{}", go_suffix(&name)));
        self.resource_drops.insert(id, raw.clone());
        self.methods.insert(id, HashSet::from(["Drop".to_string()]));
        let _ = write!(
            self.decls,
            "// {name} is a handle to WIT resource `{wit_name}`, imported from `{module}`.\n\
             // Passing it to an import as an own handle moves it to the host: do not use the\n\
             // Go value afterwards. An own handle the component receives is its to Drop.\n\
             type {name} struct {{\n\thandle int32\n}}\n\n"
        );
        let field = format!("[resource-drop]{wit_name}");
        let go_sig = format!("func (r {name}) Drop()");
        let _ = write!(
            self.body,
            "//go:wasmimport {module} {field}\nfunc {raw}(p0 int32)\n\n\
             // Drop drops the handle (`{module}#{field}`): the resource behind\n\
             // an own handle is destroyed; a borrow ends. Do not use r afterwards.\n\
             {go_sig} {{\n\t{raw}(r.handle)\n}}\n\n"
        );
        self.imports.push(ImportBinding {
            module: module.to_string(),
            field,
            go_name: format!("{name}.Drop"),
            go_signature: go_sig,
        });
    }

    /// Checks that a type is supported; on failure, says what is not.
    fn check(&self, ty: &Type) -> Result<(), String> {
        match ty {
            Type::ErrorContext => Err("the `error-context` type".into()),
            Type::Id(id) => {
                let def = &self.resolve.types[*id];
                match &def.kind {
                    TypeDefKind::Record(r) => r.fields.iter().try_for_each(|f| self.check(&f.ty)),
                    TypeDefKind::Tuple(t) => t.types.iter().try_for_each(|t| self.check(t)),
                    TypeDefKind::Variant(v) => v
                        .cases
                        .iter()
                        .filter_map(|c| c.ty.as_ref())
                        .try_for_each(|t| self.check(t)),
                    TypeDefKind::Option(t) | TypeDefKind::List(t) | TypeDefKind::Type(t) => {
                        self.check(t)
                    }
                    TypeDefKind::Result(r) => {
                        r.ok.iter()
                            .chain(r.err.iter())
                            .try_for_each(|t| self.check(t))
                    }
                    TypeDefKind::Enum(_) => Ok(()),
                    TypeDefKind::Flags(f) if f.flags.len() <= 32 => Ok(()),
                    TypeDefKind::Flags(f) => Err(format!(
                        "flags `{}` with {} members (the component model allows at most 32)",
                        def.name.as_deref().unwrap_or("<anonymous>"),
                        f.flags.len()
                    )),
                    TypeDefKind::Handle(Handle::Own(r) | Handle::Borrow(r)) => {
                        self.check_resource(*r)
                    }
                    TypeDefKind::Resource => self.check_resource(*id),
                    other => Err(format!("the WIT `{}` type", other.as_str())),
                }
            }
            _ => Ok(()),
        }
    }

    /// Go type for a WIT type; declares named types on first use.
    fn go_type(&mut self, ty: &Type) -> String {
        match ty {
            Type::Bool => "bool".into(),
            Type::U8 => "uint8".into(),
            Type::U16 => "uint16".into(),
            Type::U32 => "uint32".into(),
            Type::U64 => "uint64".into(),
            Type::S8 => "int8".into(),
            Type::S16 => "int16".into(),
            Type::S32 => "int32".into(),
            Type::S64 => "int64".into(),
            Type::F32 => "float32".into(),
            Type::F64 => "float64".into(),
            Type::Char => "rune".into(),
            Type::String => "string".into(),
            Type::ErrorContext => "uint32".into(),
            Type::Id(id) => self.go_type_id(*id),
        }
    }

    fn go_type_opt(&mut self, ty: Option<&Type>) -> String {
        match ty {
            Some(t) => self.go_type(t),
            None => "struct{}".into(),
        }
    }

    fn go_type_id(&mut self, id: TypeId) -> String {
        if let Some(n) = self.type_names.get(&id) {
            return n.clone();
        }
        let def = &self.resolve.types[id];
        let kind = def.kind.clone();
        match &kind {
            TypeDefKind::Type(t) => self.go_type(t),
            TypeDefKind::List(Type::U8) => "[]byte".into(),
            TypeDefKind::List(t) => format!("[]{}", self.go_type(t)),
            TypeDefKind::Option(t) => format!("pelatoOption[{}]", self.go_type(t)),
            TypeDefKind::Result(r) => {
                let ok = self.go_type_opt(r.ok.as_ref());
                let err = self.go_type_opt(r.err.as_ref());
                format!("pelatoResult[{ok}, {err}]")
            }
            TypeDefKind::Tuple(t) if t.types.is_empty() => "struct{}".into(),
            TypeDefKind::Tuple(t) => {
                let args: Vec<String> = t.types.iter().map(|ty| self.go_type(ty)).collect();
                let name = self.tuple_type(args.len());
                format!("{name}[{}]", args.join(", "))
            }
            TypeDefKind::Handle(Handle::Own(r) | Handle::Borrow(r)) => {
                let base = self.base_resource(*r);
                self.go_type_id(base)
            }
            TypeDefKind::Record(_)
            | TypeDefKind::Enum(_)
            | TypeDefKind::Flags(_)
            | TypeDefKind::Variant(_) => {
                let name = self.declare_name(id);
                self.type_names.insert(id, name.clone());
                self.declare(id, &name, &kind);
                name
            }
            _ => "uint32".into(),
        }
    }

    /// Claims a package-level Go identifier: `want` if it is free, else
    /// `want2`, `want3`, …
    fn reserve(&mut self, want: String) -> String {
        let mut name = want.clone();
        let mut n = 2;
        while self.used_names.contains(&name) {
            name = format!("{want}{n}");
            n += 1;
        }
        self.used_names.insert(name.clone());
        name
    }

    fn declare_name(&mut self, id: TypeId) -> String {
        let def = &self.resolve.types[id];
        let base = camel(def.name.as_deref().unwrap_or("anon"));
        let name = format!("pelato{base}");
        if !self.used_names.contains(&name) {
            return self.reserve(name);
        }
        let owner = match def.owner {
            wit_parser::TypeOwner::Interface(i) => camel(
                self.resolve.interfaces[i]
                    .name
                    .as_deref()
                    .unwrap_or("iface"),
            ),
            wit_parser::TypeOwner::World(w) => camel(&self.resolve.worlds[w].name),
            wit_parser::TypeOwner::None => String::new(),
        };
        self.reserve(format!("pelato{owner}{base}"))
    }

    /// Declares the generic Go struct for tuples of `arity` (on first use) and
    /// returns its name.
    fn tuple_type(&mut self, arity: usize) -> String {
        if let Some(n) = self.tuple_names.get(&arity) {
            return n.clone();
        }
        let name = self.reserve(format!("pelatoTuple{arity}"));
        self.tuple_names.insert(arity, name.clone());
        let params: Vec<String> = (0..arity).map(|i| format!("T{i}")).collect();
        let rows: Vec<(String, String)> = (0..arity)
            .map(|i| (format!("F{i}"), format!("T{i}")))
            .collect();
        let mut s = format!(
            "// {name} is a WIT tuple of {arity}: field Fi is element i.\ntype {name}[{} any] struct {{\n",
            params.join(", ")
        );
        push_aligned(&mut s, &rows);
        s.push_str("}\n\n");
        self.decls.push_str(&s);
        name
    }

    fn declare(&mut self, id: TypeId, name: &str, kind: &TypeDefKind) {
        let wit_name = self.resolve.types[id].name.clone().unwrap_or_default();
        let mut s = String::new();
        match kind {
            TypeDefKind::Record(r) => {
                let _ = writeln!(
                    s,
                    "// {name} is WIT record `{wit_name}`.\ntype {name} struct {{"
                );
                let mut rows = Vec::new();
                for (f, fname) in r.fields.iter().zip(record_fields(r)) {
                    rows.push((fname, self.go_type(&f.ty)));
                }
                push_aligned(&mut s, &rows);
                s.push_str("}\n\n");
            }
            TypeDefKind::Enum(_) | TypeDefKind::Flags(_) => {
                // Enum cases count up; flags are bits.
                let (what, cases, value): (&str, Vec<&str>, fn(usize) -> String) = match kind {
                    TypeDefKind::Enum(e) => (
                        "enum",
                        e.cases.iter().map(|c| c.name.as_str()).collect(),
                        |i| i.to_string(),
                    ),
                    TypeDefKind::Flags(f) => (
                        "flags",
                        f.flags.iter().map(|c| c.name.as_str()).collect(),
                        |i| format!("1 << {i}"),
                    ),
                    _ => unreachable!("matched above"),
                };
                let _ = writeln!(
                    s,
                    "// {name} is WIT {what} `{wit_name}`.\ntype {name} uint32\n\nconst ("
                );
                let mut rows = Vec::new();
                for (i, c) in cases.into_iter().enumerate() {
                    let k = self.reserve(format!("{name}{}", camel(c)));
                    rows.push((k, format!("{name} = {}", value(i))));
                }
                push_aligned(&mut s, &rows);
                s.push_str(")\n\n");
            }
            TypeDefKind::Variant(v) => {
                let _ = writeln!(
                    s,
                    "// {name} is WIT variant `{wit_name}`: Tag selects the case; only that case's field is meaningful.\ntype {name} struct {{"
                );
                let mut rows = vec![("Tag".to_string(), "uint32".to_string())];
                for (c, fname) in v.cases.iter().zip(case_fields(v)) {
                    if let (Some(t), Some(fname)) = (&c.ty, fname) {
                        rows.push((fname, self.go_type(t)));
                    }
                }
                push_aligned(&mut s, &rows);
                s.push_str("}\n\nconst (\n");
                let mut rows = Vec::new();
                for (i, c) in v.cases.iter().enumerate() {
                    let k = self.reserve(format!("{name}Tag{}", camel(&c.name)));
                    rows.push((k, format!("uint32 = {i}")));
                }
                push_aligned(&mut s, &rows);
                s.push_str(")\n\n");
            }
            _ => {}
        }
        self.decls.push_str(&s);
    }

    /// A Go-identifier-safe key for a type.
    fn mangle(&mut self, ty: &Type) -> String {
        match ty {
            Type::Bool => "bool".into(),
            Type::U8 => "u8".into(),
            Type::U16 => "u16".into(),
            Type::U32 => "u32".into(),
            Type::U64 => "u64".into(),
            Type::S8 => "s8".into(),
            Type::S16 => "s16".into(),
            Type::S32 => "s32".into(),
            Type::S64 => "s64".into(),
            Type::F32 => "f32".into(),
            Type::F64 => "f64".into(),
            Type::Char => "char".into(),
            Type::String => "string".into(),
            Type::ErrorContext => "errctx".into(),
            Type::Id(id) => {
                let kind = self.resolve.types[*id].kind.clone();
                match &kind {
                    TypeDefKind::Type(t) => self.mangle(t),
                    TypeDefKind::List(t) => format!("list_{}", self.mangle(t)),
                    TypeDefKind::Option(t) => format!("opt_{}", self.mangle(t)),
                    TypeDefKind::Result(r) => {
                        let ok =
                            r.ok.as_ref()
                                .map(|t| self.mangle(t))
                                .unwrap_or("unit".into());
                        let err = r
                            .err
                            .as_ref()
                            .map(|t| self.mangle(t))
                            .unwrap_or("unit".into());
                        format!("res_{ok}_{err}_")
                    }
                    TypeDefKind::Tuple(t) => {
                        let parts: Vec<String> = t.types.iter().map(|t| self.mangle(t)).collect();
                        format!("tup{}_{}_", parts.len(), parts.join("_"))
                    }
                    TypeDefKind::Handle(Handle::Own(r)) => {
                        let base = self.base_resource(*r);
                        format!("own_{}", self.go_type_id(base))
                    }
                    TypeDefKind::Handle(Handle::Borrow(r)) => {
                        let base = self.base_resource(*r);
                        format!("borrow_{}", self.go_type_id(base))
                    }
                    _ => self.go_type_id(*id),
                }
            }
        }
    }

    /// Name of the helper implementing `codec` for `ty`, generating it if needed.
    fn helper(&mut self, codec: Codec, ty: &Type) -> String {
        let key = self.mangle(ty);
        let name = match codec {
            Codec::LiftFlat => format!("pelatoLiftFlat_{key}"),
            Codec::LowerFlat => format!("pelatoLowerFlat_{key}"),
            Codec::Load => format!("pelatoLoad_{key}"),
            Codec::Store => format!("pelatoStore_{key}"),
        };
        if self.helpers.contains_key(&name) || self.in_progress.contains(&name) {
            return name;
        }
        self.in_progress.insert(name.clone());
        let go_ty = self.go_type(ty);
        let body = match codec {
            Codec::LiftFlat => self.lift_flat_body(ty),
            Codec::LowerFlat => self.lower_flat_body(ty),
            Codec::Load => self.load_body(ty),
            Codec::Store => self.store_body(ty),
        };
        let sig = match codec {
            Codec::LiftFlat => format!("func {name}(f []uint64, c *int) {go_ty}"),
            Codec::LowerFlat => format!("func {name}(v {go_ty}, f *[]uint64)"),
            Codec::Load => format!("func {name}(p uintptr) {go_ty}"),
            Codec::Store => format!("func {name}(p uintptr, v {go_ty})"),
        };
        self.in_progress.remove(&name);
        self.helpers
            .insert(name.clone(), format!("{sig} {{\n{body}}}\n\n"));
        name
    }

    fn resolve_alias(&self, ty: &Type) -> Type {
        let mut t = *ty;
        while let Type::Id(id) = t {
            match &self.resolve.types[id].kind {
                TypeDefKind::Type(inner) => t = *inner,
                _ => break,
            }
        }
        t
    }

    // ---- flat lifting: slots → Go value -------------------------------------

    fn lift_flat_body(&mut self, ty: &Type) -> String {
        let ty = self.resolve_alias(ty);
        let one = |e: &str| format!("\tv := f[*c]\n\t*c++\n\treturn {e}\n");
        match ty {
            Type::Bool => one("v != 0"),
            Type::U8 => one("uint8(v)"),
            Type::U16 => one("uint16(v)"),
            Type::U32 => one("uint32(v)"),
            Type::U64 => one("v"),
            Type::S8 => one("int8(v)"),
            Type::S16 => one("int16(v)"),
            Type::S32 => one("int32(uint32(v))"),
            Type::S64 => one("int64(v)"),
            Type::F32 => one("pelatoF32(v)"),
            Type::F64 => one("pelatoF64(v)"),
            Type::Char => one("rune(uint32(v))"),
            Type::ErrorContext => one("uint32(v)"),
            Type::String => {
                "\tp, n := uint32(f[*c]), uint32(f[*c+1])\n\t*c += 2\n\treturn pelatoCopyString(p, n)\n"
                    .into()
            }
            Type::Id(id) => {
                let kind = self.resolve.types[id].kind.clone();
                let go_ty = self.go_type(&ty);
                match kind {
                    TypeDefKind::List(elem) => {
                        let load = self.list_lift_expr(&elem, "p", "n");
                        format!("\tp, n := uint32(f[*c]), uint32(f[*c+1])\n\t*c += 2\n\treturn {load}\n")
                    }
                    TypeDefKind::Record(r) => {
                        let mut s = format!("\tvar v {go_ty}\n");
                        for (field, fname) in r.fields.iter().zip(record_fields(&r)) {
                            let h = self.helper(Codec::LiftFlat, &field.ty);
                            let _ = writeln!(s, "\tv.{} = {h}(f, c)", fname);
                        }
                        s.push_str("\treturn v\n");
                        s
                    }
                    TypeDefKind::Tuple(t) => {
                        let mut s = format!("\tvar v {go_ty}\n");
                        for (i, ty) in t.types.iter().enumerate() {
                            let h = self.helper(Codec::LiftFlat, ty);
                            let _ = writeln!(s, "\tv.F{i} = {h}(f, c)");
                        }
                        s.push_str("\treturn v\n");
                        s
                    }
                    TypeDefKind::Enum(_) => one(&format!("{go_ty}(uint32(v))")),
                    // (`check` limits flags to 32 members: one i32.)
                    TypeDefKind::Flags(_) => one(&format!("{go_ty}(uint32(v))")),
                    TypeDefKind::Option(t) => {
                        let width = self.flat_len(&t);
                        let h = self.helper(Codec::LiftFlat, &t);
                        format!(
                            "\tvar v {go_ty}\n\tstart := *c\n\tif uint32(f[start]) != 0 {{\n\t\t*c = start + 1\n\t\tv.Some = true\n\t\tv.Value = {h}(f, c)\n\t}}\n\t*c = start + 1 + {width}\n\treturn v\n"
                        )
                    }
                    TypeDefKind::Result(r) => {
                        let width = self.flat_len(&ty) - 1;
                        let mut s = format!("\tvar v {go_ty}\n\tstart := *c\n\t*c = start + 1\n\tif uint32(f[start]) != 0 {{\n\t\tv.IsErr = true\n");
                        if let Some(e) = &r.err {
                            let h = self.helper(Codec::LiftFlat, e);
                            let _ = writeln!(s, "\t\tv.Err = {h}(f, c)");
                        }
                        s.push_str("\t} else {\n");
                        if let Some(o) = &r.ok {
                            let h = self.helper(Codec::LiftFlat, o);
                            let _ = writeln!(s, "\t\tv.Ok = {h}(f, c)");
                        }
                        let _ = write!(s, "\t}}\n\t*c = start + 1 + {width}\n\treturn v\n");
                        s
                    }
                    TypeDefKind::Variant(var) => {
                        let width = self.flat_len(&ty) - 1;
                        let mut s = format!("\tvar v {go_ty}\n\tstart := *c\n\t*c = start + 1\n\tv.Tag = uint32(f[start])\n\tswitch v.Tag {{\n");
                        for (i, (case, fname)) in var.cases.iter().zip(case_fields(&var)).enumerate() {
                            if let (Some(t), Some(fname)) = (&case.ty, fname) {
                                let h = self.helper(Codec::LiftFlat, t);
                                let _ = writeln!(s, "\tcase {i}:\n\t\tv.{} = {h}(f, c)", fname);
                            }
                        }
                        let _ = write!(s, "\t}}\n\t*c = start + 1 + {width}\n\treturn v\n");
                        s
                    }
                    TypeDefKind::Handle(h) => {
                        let lift = self.handle_lift(&h, &go_ty, "int32(uint32(f[*c]))");
                        format!("\th := {lift}\n\t*c++\n\treturn h\n")
                    }
                    _ => "\tpanic(\"unsupported\")\n".into(),
                }
            }
        }
    }

    /// Expression making Go handle `go_ty` from i32 expression `raw`. A borrow
    /// can only be lifted into an export's arguments: it is registered so the
    /// export drops it before returning.
    fn handle_lift(&mut self, h: &Handle, go_ty: &str, raw: &str) -> String {
        match h {
            Handle::Own(_) => format!("{go_ty}{{handle: {raw}}}"),
            Handle::Borrow(r) => {
                let base = self.base_resource(*r);
                let drop = self.resource_drops[&base].clone();
                format!("{go_ty}{{handle: pelatoBorrowed({raw}, {drop})}}")
            }
        }
    }

    /// Expression copying a list of `elem` at (ptr, len) out of linear memory.
    fn list_lift_expr(&mut self, elem: &Type, p: &str, n: &str) -> String {
        if matches!(self.resolve_alias(elem), Type::U8) {
            return format!("pelatoCopyBytes({p}, {n})");
        }
        let size = self.size(elem);
        let go_elem = self.go_type(elem);
        let load = self.helper(Codec::Load, elem);
        let fname = format!("pelatoLiftList_{}", self.mangle(elem));
        if !self.helpers.contains_key(&fname) {
            self.helpers.insert(
                fname.clone(),
                format!(
                    "func {fname}(p, n uint32) []{go_elem} {{\n\tv := make([]{go_elem}, n)\n\tfor i := range v {{\n\t\tv[i] = {load}(uintptr(p) + uintptr(i)*{size})\n\t}}\n\treturn v\n}}\n\n"
                ),
            );
        }
        format!("{fname}({p}, {n})")
    }

    /// Statements lowering list `v` of `elem` into linear memory; yields `p`, `n` (uint32).
    fn list_lower_stmts(&mut self, elem: &Type, v: &str, p: &str) -> String {
        if matches!(self.resolve_alias(elem), Type::U8) {
            return format!("\t{p}, n := pelatoBytesPtr({v}), uint32(len({v}))\n");
        }
        let size = self.size(elem);
        let store = self.helper(Codec::Store, elem);
        format!(
            "\tn := uint32(len({v}))\n\tbase := pelatoHostAlloc(n * {size})\n\tfor i := range {v} {{\n\t\t{store}(base+uintptr(i)*{size}, {v}[i])\n\t}}\n\t{p} := uint32(base)\n"
        )
    }

    // ---- flat lowering: Go value → slots ------------------------------------

    fn lower_flat_body(&mut self, ty: &Type) -> String {
        let ty = self.resolve_alias(ty);
        let one = |e: &str| format!("\t*f = append(*f, {e})\n");
        match ty {
            Type::Bool => one("pelatoBool(v)"),
            Type::U8 | Type::U16 | Type::U32 | Type::U64 => one("uint64(v)"),
            Type::S8 | Type::S16 | Type::S32 => one("uint64(uint32(int32(v)))"),
            Type::S64 => one("uint64(v)"),
            Type::F32 => one("pelatoF32Bits(v)"),
            Type::F64 => one("pelatoF64Bits(v)"),
            Type::Char => one("uint64(uint32(v))"),
            Type::ErrorContext => one("uint64(v)"),
            Type::String => {
                "\t*f = append(*f, uint64(pelatoStringPtr(v)), uint64(len(v)))\n".into()
            }
            Type::Id(id) => {
                let kind = self.resolve.types[id].kind.clone();
                match kind {
                    TypeDefKind::List(elem) => {
                        let stmts = self.list_lower_stmts(&elem, "v", "p");
                        format!("{stmts}\t*f = append(*f, uint64(p), uint64(n))\n")
                    }
                    TypeDefKind::Record(r) => {
                        let mut s = String::new();
                        for (field, fname) in r.fields.iter().zip(record_fields(&r)) {
                            let h = self.helper(Codec::LowerFlat, &field.ty);
                            let _ = writeln!(s, "\t{h}(v.{}, f)", fname);
                        }
                        s
                    }
                    TypeDefKind::Tuple(t) => {
                        let mut s = String::new();
                        for (i, ty) in t.types.iter().enumerate() {
                            let h = self.helper(Codec::LowerFlat, ty);
                            let _ = writeln!(s, "\t{h}(v.F{i}, f)");
                        }
                        s
                    }
                    TypeDefKind::Enum(_) => one("uint64(v)"),
                    TypeDefKind::Flags(_) => one("uint64(v)"),
                    TypeDefKind::Option(t) => {
                        let width = self.flat_len(&ty);
                        let h = self.helper(Codec::LowerFlat, &t);
                        format!(
                            "\tstart := len(*f)\n\tif v.Some {{\n\t\t*f = append(*f, 1)\n\t\t{h}(v.Value, f)\n\t}} else {{\n\t\t*f = append(*f, 0)\n\t}}\n\tpelatoPad(f, start+{width})\n"
                        )
                    }
                    TypeDefKind::Result(r) => {
                        let width = self.flat_len(&ty);
                        let mut s = "\tstart := len(*f)\n\tif v.IsErr {\n\t\t*f = append(*f, 1)\n"
                            .to_string();
                        if let Some(e) = &r.err {
                            let h = self.helper(Codec::LowerFlat, e);
                            let _ = writeln!(s, "\t\t{h}(v.Err, f)");
                        }
                        s.push_str("\t} else {\n\t\t*f = append(*f, 0)\n");
                        if let Some(o) = &r.ok {
                            let h = self.helper(Codec::LowerFlat, o);
                            let _ = writeln!(s, "\t\t{h}(v.Ok, f)");
                        }
                        let _ = writeln!(s, "\t}}\n\tpelatoPad(f, start+{width})");
                        s
                    }
                    TypeDefKind::Variant(var) => {
                        let width = self.flat_len(&ty);
                        let mut s = "\tstart := len(*f)\n\t*f = append(*f, uint64(v.Tag))\n\tswitch v.Tag {\n".to_string();
                        for (i, (case, fname)) in
                            var.cases.iter().zip(case_fields(&var)).enumerate()
                        {
                            if let (Some(t), Some(fname)) = (&case.ty, fname) {
                                let h = self.helper(Codec::LowerFlat, t);
                                let _ = writeln!(s, "\tcase {i}:\n\t\t{h}(v.{}, f)", fname);
                            }
                        }
                        let _ = writeln!(s, "\t}}\n\tpelatoPad(f, start+{width})");
                        s
                    }
                    TypeDefKind::Handle(_) => one("uint64(uint32(v.handle))"),
                    _ => "\tpanic(\"unsupported\")\n".into(),
                }
            }
        }
    }

    // ---- memory: load and store ---------------------------------------------

    fn disc_load(int: Int) -> &'static str {
        match int {
            Int::U8 => "uint32(pelatoLd8(p))",
            Int::U16 => "uint32(pelatoLd16(p))",
            Int::U32 => "pelatoLd32(p)",
            Int::U64 => "uint32(pelatoLd64(p))",
        }
    }

    fn disc_store(int: Int, v: &str) -> String {
        match int {
            Int::U8 => format!("pelatoSt8(p, uint8({v}))"),
            Int::U16 => format!("pelatoSt16(p, uint16({v}))"),
            Int::U32 => format!("pelatoSt32(p, uint32({v}))"),
            Int::U64 => format!("pelatoSt64(p, uint64({v}))"),
        }
    }

    fn load_body(&mut self, ty: &Type) -> String {
        let ty = self.resolve_alias(ty);
        let ret = |e: &str| format!("\treturn {e}\n");
        match ty {
            Type::Bool => ret("pelatoLd8(p) != 0"),
            Type::U8 => ret("pelatoLd8(p)"),
            Type::U16 => ret("pelatoLd16(p)"),
            Type::U32 => ret("pelatoLd32(p)"),
            Type::U64 => ret("pelatoLd64(p)"),
            Type::S8 => ret("int8(pelatoLd8(p))"),
            Type::S16 => ret("int16(pelatoLd16(p))"),
            Type::S32 => ret("int32(pelatoLd32(p))"),
            Type::S64 => ret("int64(pelatoLd64(p))"),
            Type::F32 => ret("pelatoF32(uint64(pelatoLd32(p)))"),
            Type::F64 => ret("pelatoF64(pelatoLd64(p))"),
            Type::Char => ret("rune(pelatoLd32(p))"),
            Type::ErrorContext => ret("pelatoLd32(p)"),
            Type::String => ret("pelatoCopyString(pelatoLd32(p), pelatoLd32(p+4))"),
            Type::Id(id) => {
                let kind = self.resolve.types[id].kind.clone();
                let go_ty = self.go_type(&ty);
                match kind {
                    TypeDefKind::List(elem) => {
                        let e = self.list_lift_expr(&elem, "pelatoLd32(p)", "pelatoLd32(p+4)");
                        ret(&e)
                    }
                    TypeDefKind::Record(r) => {
                        let types: Vec<Type> = r.fields.iter().map(|f| f.ty).collect();
                        let offs = self.offsets(&types);
                        let mut s = format!("\tvar v {go_ty}\n");
                        for ((field, off), fname) in
                            r.fields.iter().zip(offs).zip(record_fields(&r))
                        {
                            let h = self.helper(Codec::Load, &field.ty);
                            let _ = writeln!(s, "\tv.{} = {h}(p + {off})", fname);
                        }
                        s.push_str("\treturn v\n");
                        s
                    }
                    TypeDefKind::Tuple(t) => {
                        let offs = self.offsets(&t.types);
                        let mut s = format!("\tvar v {go_ty}\n");
                        for (i, (ty, off)) in t.types.iter().zip(offs).enumerate() {
                            let h = self.helper(Codec::Load, ty);
                            let _ = writeln!(s, "\tv.F{i} = {h}(p + {off})");
                        }
                        s.push_str("\treturn v\n");
                        s
                    }
                    TypeDefKind::Enum(e) => ret(&format!("{go_ty}({})", Self::disc_load(e.tag()))),
                    TypeDefKind::Flags(fl) => match fl.flags.len() {
                        0..=8 => ret(&format!("{go_ty}(pelatoLd8(p))")),
                        9..=16 => ret(&format!("{go_ty}(pelatoLd16(p))")),
                        _ => ret(&format!("{go_ty}(pelatoLd32(p))")),
                    },
                    TypeDefKind::Option(t) => {
                        let off = self.payload_offset(Int::U8, &[None, Some(t)]);
                        let h = self.helper(Codec::Load, &t);
                        format!("\tvar v {go_ty}\n\tif pelatoLd8(p) != 0 {{\n\t\tv.Some = true\n\t\tv.Value = {h}(p + {off})\n\t}}\n\treturn v\n")
                    }
                    TypeDefKind::Result(r) => {
                        let off = self.payload_offset(Int::U8, &[r.ok, r.err]);
                        let mut s = format!(
                            "\tvar v {go_ty}\n\tif pelatoLd8(p) != 0 {{\n\t\tv.IsErr = true\n"
                        );
                        if let Some(e) = &r.err {
                            let h = self.helper(Codec::Load, e);
                            let _ = writeln!(s, "\t\tv.Err = {h}(p + {off})");
                        }
                        s.push_str("\t} else {\n");
                        if let Some(o) = &r.ok {
                            let h = self.helper(Codec::Load, o);
                            let _ = writeln!(s, "\t\tv.Ok = {h}(p + {off})");
                        }
                        s.push_str("\t}\n\treturn v\n");
                        s
                    }
                    TypeDefKind::Variant(var) => {
                        let cases: Vec<Option<Type>> = var.cases.iter().map(|c| c.ty).collect();
                        let off = self.payload_offset(var.tag(), &cases);
                        let mut s = format!(
                            "\tvar v {go_ty}\n\tv.Tag = {}\n\tswitch v.Tag {{\n",
                            Self::disc_load(var.tag())
                        );
                        for (i, (case, fname)) in
                            var.cases.iter().zip(case_fields(&var)).enumerate()
                        {
                            if let (Some(t), Some(fname)) = (&case.ty, fname) {
                                let h = self.helper(Codec::Load, t);
                                let _ =
                                    writeln!(s, "\tcase {i}:\n\t\tv.{} = {h}(p + {off})", fname);
                            }
                        }
                        s.push_str("\t}\n\treturn v\n");
                        s
                    }
                    TypeDefKind::Handle(h) => {
                        let lift = self.handle_lift(&h, &go_ty, "int32(pelatoLd32(p))");
                        ret(&lift)
                    }
                    _ => "\tpanic(\"unsupported\")\n".into(),
                }
            }
        }
    }

    fn store_body(&mut self, ty: &Type) -> String {
        let ty = self.resolve_alias(ty);
        let st = |e: String| format!("\t{e}\n");
        match ty {
            Type::Bool => st("pelatoSt8(p, uint8(pelatoBool(v)))".into()),
            Type::U8 => st("pelatoSt8(p, v)".into()),
            Type::U16 => st("pelatoSt16(p, v)".into()),
            Type::U32 => st("pelatoSt32(p, v)".into()),
            Type::U64 => st("pelatoSt64(p, v)".into()),
            Type::S8 => st("pelatoSt8(p, uint8(v))".into()),
            Type::S16 => st("pelatoSt16(p, uint16(v))".into()),
            Type::S32 => st("pelatoSt32(p, uint32(v))".into()),
            Type::S64 => st("pelatoSt64(p, uint64(v))".into()),
            Type::F32 => st("pelatoSt32(p, math.Float32bits(v))".into()),
            Type::F64 => st("pelatoSt64(p, math.Float64bits(v))".into()),
            Type::Char => st("pelatoSt32(p, uint32(v))".into()),
            Type::ErrorContext => st("pelatoSt32(p, v)".into()),
            Type::String => {
                "\tpelatoSt32(p, pelatoStringPtr(v))\n\tpelatoSt32(p+4, uint32(len(v)))\n".into()
            }
            Type::Id(id) => {
                let kind = self.resolve.types[id].kind.clone();
                match kind {
                    TypeDefKind::List(elem) => {
                        let stmts = self.list_lower_stmts(&elem, "v", "lp");
                        format!("{stmts}\tpelatoSt32(p, lp)\n\tpelatoSt32(p+4, n)\n")
                    }
                    TypeDefKind::Record(r) => {
                        let types: Vec<Type> = r.fields.iter().map(|f| f.ty).collect();
                        let offs = self.offsets(&types);
                        let mut s = String::new();
                        for ((field, off), fname) in
                            r.fields.iter().zip(offs).zip(record_fields(&r))
                        {
                            let h = self.helper(Codec::Store, &field.ty);
                            let _ = writeln!(s, "\t{h}(p+{off}, v.{})", fname);
                        }
                        s
                    }
                    TypeDefKind::Tuple(t) => {
                        let offs = self.offsets(&t.types);
                        let mut s = String::new();
                        for (i, (ty, off)) in t.types.iter().zip(offs).enumerate() {
                            let h = self.helper(Codec::Store, ty);
                            let _ = writeln!(s, "\t{h}(p+{off}, v.F{i})");
                        }
                        s
                    }
                    TypeDefKind::Enum(e) => st(Self::disc_store(e.tag(), "v")),
                    TypeDefKind::Flags(fl) => match fl.flags.len() {
                        0..=8 => st("pelatoSt8(p, uint8(v))".into()),
                        9..=16 => st("pelatoSt16(p, uint16(v))".into()),
                        _ => st("pelatoSt32(p, uint32(v))".into()),
                    },
                    TypeDefKind::Option(t) => {
                        let off = self.payload_offset(Int::U8, &[None, Some(t)]);
                        let h = self.helper(Codec::Store, &t);
                        format!("\tif v.Some {{\n\t\tpelatoSt8(p, 1)\n\t\t{h}(p+{off}, v.Value)\n\t}} else {{\n\t\tpelatoSt8(p, 0)\n\t}}\n")
                    }
                    TypeDefKind::Result(r) => {
                        let off = self.payload_offset(Int::U8, &[r.ok, r.err]);
                        let mut s = "\tif v.IsErr {\n\t\tpelatoSt8(p, 1)\n".to_string();
                        if let Some(e) = &r.err {
                            let h = self.helper(Codec::Store, e);
                            let _ = writeln!(s, "\t\t{h}(p+{off}, v.Err)");
                        }
                        s.push_str("\t} else {\n\t\tpelatoSt8(p, 0)\n");
                        if let Some(o) = &r.ok {
                            let h = self.helper(Codec::Store, o);
                            let _ = writeln!(s, "\t\t{h}(p+{off}, v.Ok)");
                        }
                        s.push_str("\t}\n");
                        s
                    }
                    TypeDefKind::Variant(var) => {
                        let cases: Vec<Option<Type>> = var.cases.iter().map(|c| c.ty).collect();
                        let off = self.payload_offset(var.tag(), &cases);
                        let mut s = format!(
                            "\t{}\n\tswitch v.Tag {{\n",
                            Self::disc_store(var.tag(), "v.Tag")
                        );
                        for (i, (case, fname)) in
                            var.cases.iter().zip(case_fields(&var)).enumerate()
                        {
                            if let (Some(t), Some(fname)) = (&case.ty, fname) {
                                let h = self.helper(Codec::Store, t);
                                let _ = writeln!(s, "\tcase {i}:\n\t\t{h}(p+{off}, v.{})", fname);
                            }
                        }
                        s.push_str("\t}\n");
                        s
                    }
                    TypeDefKind::Handle(_) => st("pelatoSt32(p, uint32(v.handle))".into()),
                    _ => "\tpanic(\"unsupported\")\n".into(),
                }
            }
        }
    }

    fn offsets(&self, types: &[Type]) -> Vec<usize> {
        self.sizes
            .field_offsets(types.iter())
            .into_iter()
            .map(|(off, _)| off.size_wasm32())
            .collect()
    }

    fn payload_offset(&self, tag: Int, cases: &[Option<Type>]) -> usize {
        self.sizes
            .payload_offset(tag, cases.iter().map(|c| c.as_ref()))
            .size_wasm32()
    }

    // ---- functions ----------------------------------------------------------

    /// Go names of `func`'s parameters and their declaration. With `receiver`
    /// (a `[method]`), the first parameter is the receiver `r` and is left out
    /// of the declaration; the others are still `a0`, `a1`, …
    fn go_params(&mut self, func: &Function, receiver: bool) -> (Vec<String>, String) {
        let mut names = Vec::new();
        let mut decl = Vec::new();
        let skip = usize::from(receiver);
        for (i, p) in func.params.iter().enumerate() {
            if i < skip {
                names.push("r".to_string());
                continue;
            }
            let name = format!("a{}", i - skip);
            let t = self.go_type(&p.ty);
            decl.push(format!("{name} {t}"));
            names.push(name);
        }
        (names, decl.join(", "))
    }

    /// Doc lines about handle ownership for an import wrapper.
    fn ownership_doc(&self, func: &Function, names: &[String]) -> String {
        let mut s = String::new();
        let moved: Vec<&str> = func
            .params
            .iter()
            .zip(names)
            .filter(|(p, _)| self.has_handle(&p.ty, false))
            .map(|(_, n)| n.as_str())
            .collect();
        if !moved.is_empty() {
            let _ = writeln!(
                s,
                "// The own handles in {} move to the host: do not use them afterwards.",
                moved.join(", ")
            );
        }
        if func
            .result
            .as_ref()
            .is_some_and(|t| self.has_handle(t, false))
        {
            s.push_str("// The own handles it returns are the caller's to Drop (or pass on).\n");
        }
        s
    }

    fn import_fn(&mut self, module: &str, prefix: &str, func: &Function) -> Result<(), GlueError> {
        self.check_fn(&format!("{module}#{}", func.name), func)?;
        let sig = self.resolve.wasm_signature(AbiVariant::GuestImport, func);
        let idx = self.imports.len();
        let raw = self.reserve(format!("pelatoWasmImport{idx}"));
        // (receiver type, method name) of a `[method]`; otherwise the Go function name.
        let (method, go_name) = match func.kind {
            FunctionKind::Method(r) => {
                let base = self.base_resource(r);
                let ty = self.go_type_id(base);
                let taken = self.methods.entry(base).or_default();
                let m = unique_field(camel(func.item_name()), taken);
                (Some((ty.clone(), m.clone())), format!("{ty}.{m}"))
            }
            FunctionKind::Constructor(r) => {
                let ty = self.go_type_id(self.base_resource(r));
                (None, self.reserve(format!("pelatoNew{}", go_suffix(&ty))))
            }
            FunctionKind::Static(r) => {
                let ty = self.go_type_id(self.base_resource(r));
                let want = format!("pelato{}{}", go_suffix(&ty), camel(func.item_name()));
                (None, self.reserve(want))
            }
            _ => (
                None,
                self.reserve(format!("pelato{prefix}{}", camel(&func.name))),
            ),
        };
        let (names, decl) = self.go_params(func, method.is_some());
        let ret_ty = func.result.as_ref().map(|t| self.go_type(t));

        // raw declaration
        let raw_params: Vec<String> = sig
            .params
            .iter()
            .enumerate()
            .map(|(i, t)| format!("p{i} {}", core_go(*t)))
            .collect();
        let raw_ret = sig
            .results
            .first()
            .map(|t| format!(" {}", core_go(*t)))
            .unwrap_or_default();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "//go:wasmimport {module} {}\nfunc {raw}({}){raw_ret}\n",
            func.name,
            raw_params.join(", ")
        );

        let ret_decl = ret_ty.as_ref().map(|t| format!(" {t}")).unwrap_or_default();
        let (go_sig, doc_name) = match &method {
            Some((ty, m)) => (format!("func (r {ty}) {m}({decl}){ret_decl}"), m.as_str()),
            None => (
                format!("func {go_name}({decl}){ret_decl}"),
                go_name.as_str(),
            ),
        };
        let _ = write!(
            s,
            "// {doc_name} calls import `{module}#{}`.\n{}{go_sig} {{\n",
            func.name,
            self.ownership_doc(func, &names)
        );
        // lower params
        let mut args: Vec<String> = Vec::new();
        if sig.indirect_params {
            let types: Vec<Type> = func.params.iter().map(|p| p.ty).collect();
            let info = self.sizes.record(types.iter());
            let offs = self.offsets(&types);
            let _ = writeln!(
                s,
                "\tparams := pelatoHostAlloc({})",
                info.size.size_wasm32()
            );
            for ((p, off), n) in func.params.iter().zip(offs).zip(&names) {
                let h = self.helper(Codec::Store, &p.ty);
                let _ = writeln!(s, "\t{h}(params+{off}, {n})");
            }
            args.push("int32(params)".into());
        } else {
            let n_flat = if sig.retptr {
                sig.params.len() - 1
            } else {
                sig.params.len()
            };
            if n_flat > 0 {
                let _ = writeln!(s, "\tflat := make([]uint64, 0, {n_flat})");
            }
            for (p, n) in func.params.iter().zip(&names) {
                let h = self.helper(Codec::LowerFlat, &p.ty);
                let _ = writeln!(s, "\t{h}({n}, &flat)");
            }
            for (i, t) in sig.params.iter().take(n_flat).enumerate() {
                args.push(from_slot(*t, &format!("flat[{i}]")));
            }
        }
        match (&func.result, sig.retptr) {
            (Some(rt), true) => {
                let size = self.size(rt);
                self.import_ret_bytes = self.import_ret_bytes.max(size);
                args.push("int32(pelatoAddr(unsafe.Pointer(&pelatoImportRet[0])))".into());
                let _ = writeln!(s, "\t{raw}({})", args.join(", "));
                let h = self.helper(Codec::Load, rt);
                let _ = writeln!(
                    s,
                    "\tret := {h}(uintptr(unsafe.Pointer(&pelatoImportRet[0])))"
                );
            }
            (Some(rt), false) => {
                let _ = writeln!(s, "\traw := {raw}({})", args.join(", "));
                let h = self.helper(Codec::LiftFlat, rt);
                let _ = writeln!(
                    s,
                    "\trf := []uint64{{{}}}\n\trc := 0\n\tret := {h}(rf, &rc)",
                    to_slot(sig.results[0], "raw")
                );
            }
            (None, _) => {
                let _ = writeln!(s, "\t{raw}({})", args.join(", "));
            }
        }
        s.push_str("\tpelatoRelease()\n\tpelatoArenaReset()\n");
        if func.result.is_some() {
            s.push_str("\treturn ret\n");
        }
        s.push_str("}\n\n");
        self.body.push_str(&s);
        self.imports.push(ImportBinding {
            module: module.to_string(),
            field: func.name.clone(),
            go_name,
            go_signature: go_sig,
        });
        Ok(())
    }

    fn export_fn(
        &mut self,
        export_name: &str,
        prefix: &str,
        func: &Function,
    ) -> Result<(), GlueError> {
        self.check_fn(export_name, func)?;
        let sig = self.resolve.wasm_signature(AbiVariant::GuestExport, func);
        let idx = self.exports.len();
        let raw = self.reserve(format!("pelatoWasmExport{idx}"));
        let post = self.reserve(format!("{raw}Post"));
        let hook = self.reserve(format!("pelatoOn{prefix}{}", camel(&func.name)));
        let (names, decl) = self.go_params(func, false);
        let borrows = func.params.iter().any(|p| self.has_handle(&p.ty, true));
        let ret_ty = func.result.as_ref().map(|t| self.go_type(t));
        let hook_sig = format!(
            "func {hook}({decl}){}",
            ret_ty.as_ref().map(|t| format!(" {t}")).unwrap_or_default()
        );

        let raw_params: Vec<String> = sig
            .params
            .iter()
            .enumerate()
            .map(|(i, t)| format!("p{i} {}", core_go(*t)))
            .collect();
        let raw_ret = sig
            .results
            .first()
            .map(|t| format!(" {}", core_go(*t)))
            .unwrap_or_default();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "//go:wasmexport {export_name}\nfunc {raw}({}){raw_ret} {{",
            raw_params.join(", ")
        );
        // A fresh instance made from a snapshot draws new randomness first.
        s.push_str("\tpelatoReseed()\n");
        if sig.indirect_params {
            let types: Vec<Type> = func.params.iter().map(|p| p.ty).collect();
            let offs = self.offsets(&types);
            for ((p, off), n) in func.params.iter().zip(offs).zip(&names) {
                let h = self.helper(Codec::Load, &p.ty);
                let _ = writeln!(s, "\t{n} := {h}(uintptr(uint32(p0)) + {off})");
            }
        } else if !func.params.is_empty() {
            let slots: Vec<String> = sig
                .params
                .iter()
                .enumerate()
                .map(|(i, t)| to_slot(*t, &format!("p{i}")))
                .collect();
            let _ = writeln!(s, "\tflat := []uint64{{{}}}\n\tc := 0", slots.join(", "));
            for (p, n) in func.params.iter().zip(&names) {
                let h = self.helper(Codec::LiftFlat, &p.ty);
                let _ = writeln!(s, "\t{n} := {h}(flat, &c)");
            }
        }
        s.push_str("\tpelatoArenaReset()\n");
        let call = if borrows {
            // Borrowed handles must be dropped before the export returns.
            format!("{hook}({})\n\tpelatoEndBorrows()", names.join(", "))
        } else {
            format!("{hook}({})", names.join(", "))
        };
        match (&func.result, sig.retptr) {
            (Some(rt), true) => {
                let size = self.size(rt);
                self.export_ret_bytes = self.export_ret_bytes.max(size);
                let h = self.helper(Codec::Store, rt);
                let _ = writeln!(
                    s,
                    "\tr := {call}\n\tpelatoRelease()\n\tret := uintptr(unsafe.Pointer(&pelatoExportRet[0]))\n\t{h}(ret, r)\n\treturn int32(uint32(ret))"
                );
            }
            (Some(rt), false) => {
                let h = self.helper(Codec::LowerFlat, rt);
                let _ = writeln!(
                    s,
                    "\tr := {call}\n\tpelatoRelease()\n\tout := make([]uint64, 0, 1)\n\t{h}(r, &out)\n\treturn {}",
                    from_slot(sig.results[0], "out[0]")
                );
            }
            (None, _) => {
                let _ = writeln!(s, "\t{call}\n\tpelatoRelease()");
            }
        }
        s.push_str("}\n\n");
        // post-return: release what was handed to the host
        let post_params: Vec<String> = sig
            .results
            .iter()
            .enumerate()
            .map(|(i, t)| format!("_{i} {}", core_go(*t)))
            .collect();
        let _ = writeln!(
            s,
            "//go:wasmexport cabi_post_{export_name}\nfunc {post}({}) {{\n\tpelatoRelease()\n}}\n",
            post_params.join(", ")
        );
        self.body.push_str(&s);
        self.exports.push(ExportHook {
            export_name: export_name.to_string(),
            go_name: hook,
            go_signature: hook_sig,
        });
        Ok(())
    }

    fn finish(self, opts: &GlueOptions) -> GoGlue {
        let arena = (opts.max_message_bytes + ARENA_SLACK_BYTES).div_ceil(8) * 8;
        let heap = opts.adapter_heap_bytes.div_ceil(8) * 8;
        let mut out = PRELUDE
            .replace("{{WORLD}}", &self.world)
            .replace("{{MAX_MESSAGE}}", &opts.max_message_bytes.to_string())
            .replace("{{ARENA}}", &arena.to_string())
            .replace("{{ADAPTER_HEAP}}", &heap.to_string());
        let _ = writeln!(
            out,
            "// Return areas: exports keep theirs until post-return; imports reuse one.\nvar pelatoExportRet [{}]uint64\nvar pelatoImportRet [{}]uint64\n",
            self.export_ret_bytes.div_ceil(8).max(1),
            self.import_ret_bytes.div_ceil(8).max(1)
        );
        out.push_str("// ---- WIT types ----\n\n");
        out.push_str(&self.decls);
        out.push_str("// ---- functions ----\n\n");
        out.push_str(&self.body);
        out.push_str("// ---- canonical ABI codecs ----\n\n");
        for h in self.helpers.values() {
            out.push_str(h);
        }
        // gofmt: exactly one newline at the end.
        out.truncate(out.trim_end().len());
        out.push('\n');
        GoGlue {
            source: out,
            exports: self.exports,
            imports: self.imports,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(wit: &str, name: &str) -> (Resolve, WorldId) {
        let mut resolve = Resolve::default();
        let pkg = resolve.push_str("t.wit", wit).expect("test WIT parses");
        let w = resolve.select_world(&[pkg], Some(name)).expect("world");
        (resolve, w)
    }

    fn gen(wit: &str, name: &str) -> GoGlue {
        let (resolve, w) = world(wit, name);
        generate(&resolve, w, &GlueOptions::default()).expect("glue")
    }

    fn gen_err(wit: &str, name: &str) -> String {
        let (resolve, w) = world(wit, name);
        match generate(&resolve, w, &GlueOptions::default()) {
            Err(e @ GlueError::Unsupported { .. }) => e.to_string(),
            Err(e) => panic!("expected Unsupported, got {e}"),
            Ok(_) => panic!("expected an error"),
        }
    }

    /// Every package-level identifier the file declares, with repeats.
    fn top_level_idents(src: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut in_const = false;
        for line in src.lines() {
            if line == "const (" {
                in_const = true;
                continue;
            }
            if in_const {
                if line == ")" {
                    in_const = false;
                } else if let Some(id) = line.split_whitespace().next() {
                    out.push(id.to_string());
                }
                continue;
            }
            // Methods: `func (r T) M(` → `T.M`.
            if let Some(rest) = line.strip_prefix("func (") {
                let (recv, rest) = rest.split_once(") ").expect("method declaration");
                let ty = recv.split_whitespace().last().unwrap_or_default();
                let m: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                out.push(format!("{ty}.{m}"));
                continue;
            }
            for kw in ["func ", "type ", "var ", "const "] {
                if let Some(rest) = line.strip_prefix(kw) {
                    let id: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    out.push(id);
                }
            }
        }
        out
    }

    fn assert_unique_idents(src: &str) {
        let ids = top_level_idents(src);
        let mut seen = HashSet::new();
        for id in &ids {
            assert!(seen.insert(id), "`{id}` declared twice:\n{src}");
        }
    }

    #[test]
    fn glue_binds_imports_and_exports_with_stable_names() {
        let g = gen(
            r#"package t:m@0.2.0;
interface types {
  record broker-message { subject: string, body: list<u8>, reply-to: option<string> }
}
interface handler {
  use types.{broker-message};
  handle-message: func(msg: broker-message) -> result<_, string>;
}
interface consumer {
  use types.{broker-message};
  publish: func(msg: broker-message) -> result<_, string>;
}
world w { import consumer; export handler; }
"#,
            "w",
        );
        assert_eq!(g.exports.len(), 1);
        assert_eq!(g.exports[0].export_name, "t:m/handler@0.2.0#handle-message");
        assert_eq!(g.exports[0].go_name, "pelatoOnHandlerHandleMessage");
        assert_eq!(
            g.exports[0].go_signature,
            "func pelatoOnHandlerHandleMessage(a0 pelatoBrokerMessage) pelatoResult[struct{}, string]"
        );
        assert_eq!(g.imports.len(), 1);
        assert_eq!(g.imports[0].module, "t:m/consumer@0.2.0");
        assert_eq!(g.imports[0].field, "publish");
        assert_eq!(g.imports[0].go_name, "pelatoConsumerPublish");
        assert!(g
            .source
            .contains("//go:wasmexport cabi_post_t:m/handler@0.2.0#handle-message\n"));
        assert!(g
            .source
            .contains("//go:wasmimport t:m/consumer@0.2.0 publish\n"));
        // gofmt-style alignment of struct fields.
        assert!(g.source.contains(
            "type pelatoBrokerMessage struct {\n\tSubject string\n\tBody    []byte\n\tReplyTo pelatoOption[string]\n}\n"
        ));
        assert!(g.source.ends_with("}\n") && !g.source.ends_with("\n\n"));
        assert_unique_idents(&g.source);
    }

    #[test]
    fn glue_import_without_params_declares_no_unused_slots() {
        let g = gen(
            "package t:n;\nworld w {\n  import now: func() -> u64;\n  import ping: func();\n}\n",
            "w",
        );
        let wrapper = &g.source[g.source.find("func pelatoNow()").expect("wrapper")..];
        let wrapper = &wrapper[..wrapper.find("\n}\n").unwrap()];
        assert!(!wrapper.contains("flat"), "{wrapper}");
        assert!(g.source.contains("func pelatoPing() {"));
    }

    #[test]
    fn glue_names_never_clash() {
        let g = gen(
            r#"package t:c;
interface host {
  record keep { k: u8 }
  record arena { a: u8 }
  record host-echo { x: u8 }
  variant tagged { tag(u32), other(string), %type }
  echo: func(x: keep, y: arena, t: tagged) -> host-echo;
}
world w {
  import host;
  import host-echo: func(x: u8) -> u8;
  export echo: func(x: u8) -> u8;
  export on-echo: func(x: u8) -> u8;
}
"#,
            "w",
        );
        assert_unique_idents(&g.source);
        // The discriminant keeps its name; the clashing case field moves aside.
        assert!(g
            .source
            .contains("\tTag   uint32\n\tTag_  uint32\n\tOther string\n"));
        let names: Vec<&str> = g.imports.iter().map(|i| i.go_name.as_str()).collect();
        assert_eq!(names.len(), 2);
        assert_ne!(names[0], names[1]);
        assert!(names.contains(&"pelatoHostEcho"), "{names:?}");
        let hooks: Vec<&str> = g.exports.iter().map(|e| e.go_name.as_str()).collect();
        assert_eq!(hooks, ["pelatoOnEcho", "pelatoOnOnEcho"]);
        assert!(
            !g.source.contains("type pelatoKeep "),
            "prelude's pelatoKeep reused"
        );
    }

    #[test]
    fn glue_tuples_are_generic_structs() {
        let g = gen(
            "package t:t;\nworld w {\n  export f: func(x: tuple<u8, string>) -> tuple<u8, string, tuple<u64, bool>>;\n}\n",
            "w",
        );
        assert!(g.exports[0].go_signature.ends_with(
            "(a0 pelatoTuple2[uint8, string]) pelatoTuple3[uint8, string, pelatoTuple2[uint64, bool]]"
        ));
        assert!(g
            .source
            .contains("type pelatoTuple2[T0, T1 any] struct {\n\tF0 T0\n\tF1 T1\n}\n"));
        assert_eq!(g.source.matches("type pelatoTuple2[").count(), 1);
    }

    #[test]
    fn glue_unsupported_features_say_what_and_where() {
        let msg = gen_err(
            "package t:r;\ninterface i {\n  resource bucket { get: func() -> u8; }\n  open: func() -> bucket;\n}\nworld w { export i; }\n",
            "w",
        );
        assert!(msg.contains("exported resource type `bucket`"), "{msg}");
        assert!(msg.contains("t:r/i#"), "{msg}");
        let msg = gen_err("package t:a;\nworld w { export f: async func(); }\n", "w");
        assert!(msg.contains("async function (in `f`)"), "{msg}");
        let msg = gen_err(
            "package t:s;\nworld w { export f: func(x: future<u8>); }\n",
            "w",
        );
        assert!(msg.contains("`future`"), "{msg}");
    }

    #[test]
    fn glue_imported_resources_get_go_types_methods_and_drop() {
        let g = gen(
            r#"package t:r@0.1.0;
interface i {
  resource counter {
    constructor(start: u32);
    add: func(n: u32) -> u32;
    drop: func();
    name: static func() -> string;
  }
  peek: func(c: borrow<counter>) -> u32;
  make: func() -> counter;
  eat: func(cs: list<counter>);
}
interface j {
  use i.{counter as ctr};
  twice: func(c: borrow<ctr>) -> option<ctr>;
}
world w {
  import j;
  use i.{counter};
  export take: func(c: counter, b: borrow<counter>) -> counter;
}
"#,
            "w",
        );
        assert_unique_idents(&g.source);
        let sigs: Vec<(&str, &str, &str)> = g
            .imports
            .iter()
            .map(|i| {
                (
                    i.field.as_str(),
                    i.go_name.as_str(),
                    i.go_signature.as_str(),
                )
            })
            .collect();
        let want = [
            (
                "[resource-drop]counter",
                "pelatoCounter.Drop",
                "func (r pelatoCounter) Drop()",
            ),
            (
                "[constructor]counter",
                "pelatoNewCounter",
                "func pelatoNewCounter(a0 uint32) pelatoCounter",
            ),
            (
                "[method]counter.add",
                "pelatoCounter.Add",
                "func (r pelatoCounter) Add(a0 uint32) uint32",
            ),
            // `Drop` is taken by the glue: a WIT method `drop` moves aside.
            (
                "[method]counter.drop",
                "pelatoCounter.Drop_",
                "func (r pelatoCounter) Drop_()",
            ),
            (
                "[static]counter.name",
                "pelatoCounterName",
                "func pelatoCounterName() string",
            ),
            (
                "peek",
                "pelatoIPeek",
                "func pelatoIPeek(a0 pelatoCounter) uint32",
            ),
            ("make", "pelatoIMake", "func pelatoIMake() pelatoCounter"),
            ("eat", "pelatoIEat", "func pelatoIEat(a0 []pelatoCounter)"),
            (
                "twice",
                "pelatoJTwice",
                "func pelatoJTwice(a0 pelatoCounter) pelatoOption[pelatoCounter]",
            ),
        ];
        assert_eq!(sigs, want);
        assert!(g
            .source
            .contains("type pelatoCounter struct {\n\thandle int32\n}\n"));
        assert!(g
            .source
            .contains("//go:wasmimport t:r/i@0.1.0 [resource-drop]counter\n"));
        assert!(g
            .source
            .contains("//go:wasmimport t:r/i@0.1.0 [method]counter.add\n"));
        assert_eq!(
            g.exports[0].go_signature,
            "func pelatoOnTake(a0 pelatoCounter, a1 pelatoCounter) pelatoCounter"
        );
        // The export drops the borrow it received before returning.
        assert!(g.source.contains("pelatoEndBorrows()"), "{}", g.source);
        assert!(g.source.contains("move to the host"));
    }

    #[test]
    fn glue_world_level_resources_drop_from_root() {
        let g = gen(
            "package t:wr;\nworld w {\n  resource r { get: func() -> u8; }\n  import mk: func() -> r;\n  export f: func(x: borrow<r>) -> u8;\n}\n",
            "w",
        );
        assert!(g
            .source
            .contains("//go:wasmimport $root [resource-drop]r\n"));
        assert!(g.source.contains("//go:wasmimport $root [method]r.get\n"));
        assert!(g.imports.iter().any(|i| i.go_name == "pelatoR.Get"));
        assert_unique_idents(&g.source);
    }

    #[test]
    fn glue_prelude_idents_are_reserved() {
        let ids = prelude_idents();
        for id in [
            "pelatoKeep",
            "pelatoArena",
            "pelatoOption",
            "pelatoResult",
            "pelatoPad",
            "pelatoCabiRealloc",
            "pelatoExportRet",
            "pelatoMaxMessageBytes",
        ] {
            assert!(ids.contains(id), "{id}");
        }
    }
}

//! The embedded wasmtime harness: load a built component, check that it has the
//! shape of its template's world, and run messages through it with a host
//! `wasmcloud:messaging/consumer` that records what the component publishes.
//!
//! Guard rails: an execution timeout (epoch interruption plus an async
//! deadline, so busy loops and sleeps are both stopped), a memory limit, and no
//! filesystem, network, environment or arguments for the guest. Compiled code is
//! cached on disk, because Cranelift needs seconds for a Go component.
//!
//! The API is synchronous so that a user's own `cargo test` can use it directly:
//!
//! ```no_run
//! use pelato::harness::{Harness, HarnessConfig, Message};
//!
//! let harness = Harness::new(HarnessConfig::default())?;
//! let component = harness.load_file("my-project/build/temp-convert.wasm")?;
//! let delivery = component.deliver(&Message::new("sensors.raw", r#"{"f": 212}"#))?;
//! assert_eq!(delivery.result, Ok(()));
//! assert_eq!(delivery.body_to("sensors.celsius").as_deref(), Some(r#"{"c":100}"#));
//! # Ok::<(), pelato::harness::HarnessError>(())
//! ```

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

pub mod bench;
pub mod pool;
mod postgres;
mod postgres_tls;

pub use crate::config::PostgresConfig;
pub use postgres::SqlCall;

mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "pelato:templates/harness-host",
        imports: { default: async },
        exports: { default: async },
    });
}

/// `wasi:config/store@0.2.0-rc.1`, what wasmCloud 2.x hosts serve: the
/// harness links it beside `@0.2.0-draft`, so components built for either
/// platform run here.
mod bindings_v2 {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "pelato:templates/harness-host-v2",
        imports: { default: async },
    });
}

use bindings::wasmcloud::messaging::types::BrokerMessage;

/// The export through which the harness delivers messages.
pub const HANDLER_EXPORT: &str = "wasmcloud:messaging/handler@0.2.0";

/// Interfaces a component may import besides its world's: what the WASI
/// preview1 adapter needs. (No sockets: the guest has no network.)
pub const ALLOWED_WASI_IMPORTS: &[&str] = &[
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
];

/// Harness settings.
#[derive(Debug, Clone)]
pub struct HarnessConfig {
    /// Longest a single call may run before it is stopped.
    pub timeout: Duration,
    /// Largest linear memory a component may grow to, in bytes.
    pub memory_limit: usize,
    /// Directory for compiled code; `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
    /// Canned answers for `consumer.request`, by subject.
    pub replies: HashMap<String, Vec<u8>>,
    /// The component's runtime config (what `wasi:config/store` returns), as
    /// the manifest's component `config:` gives it on a host. Empty: the
    /// glue falls back to the workflow.yaml values.
    pub runtime_config: HashMap<String, String>,
    /// The Postgres `wasmcloud:postgres/query` reaches; `None` records every
    /// statement and answers with no rows.
    pub postgres: Option<PostgresConfig>,
}

impl Default for HarnessConfig {
    fn default() -> Self {
        HarnessConfig {
            timeout: Duration::from_secs(5),
            memory_limit: 512 << 20,
            cache_dir: crate::config::Env::process()
                .cache_dir()
                .map(|d| d.join("wasmtime")),
            replies: HashMap::new(),
            runtime_config: HashMap::new(),
            postgres: None,
        }
    }
}

/// A message to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Subject it arrived on.
    pub subject: String,
    /// Payload.
    pub body: Vec<u8>,
    /// Reply subject, if a requester waits.
    pub reply_to: Option<String>,
}

impl Message {
    /// A message with no reply-to.
    pub fn new(subject: impl Into<String>, body: impl Into<Vec<u8>>) -> Message {
        Message {
            subject: subject.into(),
            body: body.into(),
            reply_to: None,
        }
    }

    /// Sets the reply-to subject.
    pub fn with_reply_to(mut self, reply_to: impl Into<String>) -> Message {
        self.reply_to = Some(reply_to.into());
        self
    }
}

/// A message the component published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// Subject.
    pub subject: String,
    /// Payload.
    pub body: Vec<u8>,
    /// Reply-to it set.
    pub reply_to: Option<String>,
}

/// What happened when a message was delivered.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// What the component returned: `Err` carries its error string.
    pub result: Result<(), String>,
    /// Messages it published, in order.
    pub published: Vec<Published>,
    /// SQL statements it ran through `wasmcloud:postgres`, in order.
    pub sql: Vec<SqlCall>,
    /// What it wrote to stdout.
    pub stdout: String,
    /// What it wrote to stderr.
    pub stderr: String,
    /// Time from instantiation to return.
    pub elapsed: Duration,
}

impl Delivery {
    /// Messages published to `subject`.
    pub fn published_to<'a>(
        &'a self,
        subject: &'a str,
    ) -> impl Iterator<Item = &'a Published> + 'a {
        self.published.iter().filter(move |p| p.subject == subject)
    }

    /// Body of the first message published to `subject`, as text.
    pub fn body_to(&self, subject: &str) -> Option<String> {
        self.published_to(subject)
            .next()
            .map(|p| String::from_utf8_lossy(&p.body).into_owned())
    }
}

/// What an HTTP request to a component returned.
#[derive(Debug, Clone)]
pub struct HttpReply {
    /// Response status code.
    pub status: u16,
    /// Response body.
    pub body: Vec<u8>,
    /// Messages the component published while handling the request, in order.
    pub published: Vec<Published>,
    /// What it wrote to stderr.
    pub stderr: String,
}

impl HttpReply {
    /// The response body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Body of the first message published to `subject`, as text.
    pub fn body_to(&self, subject: &str) -> Option<String> {
        self.published
            .iter()
            .find(|p| p.subject == subject)
            .map(|p| String::from_utf8_lossy(&p.body).into_owned())
    }
}

/// The prefix of the export through which the harness sends HTTP requests.
pub const HTTP_HANDLER_EXPORT_PREFIX: &str = "wasi:http/incoming-handler@";

/// Harness errors.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// Reading the component failed.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// wasmtime could not compile or link the component.
    #[error("cannot load the component: {0}")]
    Load(String),
    /// The component does not have the shape of its template's world.
    #[error("the component does not match world `{world}`:\n{}", problems.join("\n"))]
    WorldMismatch {
        /// Expected world.
        world: String,
        /// Each difference.
        problems: Vec<String>,
    },
    /// The call ran past the timeout and was stopped.
    #[error("stopped after {0:?}: the task did not finish in time (raise the timeout with --timeout if it is legitimately slow)")]
    Timeout(Duration),
    /// The message does not fit into the component's argument arena.
    #[error("the message ({size} bytes) is larger than this component accepts ({limit} bytes); raise `max_message_size` in workflow.yaml and rebuild")]
    MessageTooLarge {
        /// Message size.
        size: usize,
        /// The component's limit.
        limit: u64,
    },
    /// The guest trapped.
    #[error("the component trapped: {message}{}", if stderr.is_empty() { String::new() } else { format!("\n--- component stderr ---\n{stderr}") })]
    Trap {
        /// Trap message.
        message: String,
        /// What the guest wrote to stderr before it trapped.
        stderr: String,
    },
}

/// Turns any error into [`HarnessError::Load`] with its whole chain.
fn load_err(e: impl std::fmt::Display) -> HarnessError {
    HarnessError::Load(format!("{e:#}"))
}

struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    limits: StoreLimits,
    published: Vec<Published>,
    replies: Arc<HashMap<String, Vec<u8>>>,
    runtime_config: Arc<HashMap<String, String>>,
    postgres: Arc<postgres::Postgres>,
    sql: Vec<SqlCall>,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: Default::default(),
        }
    }
}

impl bindings::wasmcloud::messaging::types::Host for HostState {}

impl bindings::wasi::config0_2_0_draft::store::Host for HostState {
    async fn get(
        &mut self,
        key: String,
    ) -> Result<Option<String>, bindings::wasi::config0_2_0_draft::store::Error> {
        Ok(self.runtime_config.get(&key).cloned())
    }

    async fn get_all(
        &mut self,
    ) -> Result<Vec<(String, String)>, bindings::wasi::config0_2_0_draft::store::Error> {
        let mut all: Vec<_> = self
            .runtime_config
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        all.sort();
        Ok(all)
    }
}

impl bindings_v2::wasi::config0_2_0_rc_1::store::Host for HostState {
    async fn get(
        &mut self,
        key: String,
    ) -> Result<Option<String>, bindings_v2::wasi::config0_2_0_rc_1::store::Error> {
        Ok(self.runtime_config.get(&key).cloned())
    }

    async fn get_all(
        &mut self,
    ) -> Result<Vec<(String, String)>, bindings_v2::wasi::config0_2_0_rc_1::store::Error> {
        let mut all: Vec<_> = self
            .runtime_config
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        all.sort();
        Ok(all)
    }
}

impl bindings::wasmcloud::postgres::types::Host for HostState {}

impl bindings::wasmcloud::postgres::query::Host for HostState {
    async fn query(
        &mut self,
        query: String,
        params: Vec<bindings::wasmcloud::postgres::types::PgValue>,
    ) -> Result<
        Vec<bindings::wasmcloud::postgres::types::ResultRow>,
        bindings::wasmcloud::postgres::types::QueryError,
    > {
        self.sql.push(SqlCall {
            sql: query.clone(),
            params: params.iter().map(postgres::render_param).collect(),
            batch: false,
        });
        self.postgres.query(&query, &params).await
    }

    async fn query_batch(
        &mut self,
        query: String,
    ) -> Result<(), bindings::wasmcloud::postgres::types::QueryError> {
        self.sql.push(SqlCall {
            sql: query.clone(),
            params: Vec::new(),
            batch: true,
        });
        self.postgres.query_batch(&query).await
    }
}

impl bindings::wasmcloud::messaging::consumer::Host for HostState {
    async fn request(
        &mut self,
        subject: String,
        body: Vec<u8>,
        _timeout_ms: u32,
    ) -> Result<BrokerMessage, String> {
        self.published.push(Published {
            subject: subject.clone(),
            body,
            reply_to: None,
        });
        match self.replies.get(&subject) {
            Some(reply) => Ok(BrokerMessage {
                subject: subject.clone(),
                body: reply.clone(),
                reply_to: None,
            }),
            None => Err(format!("no responders for `{subject}` (harness)")),
        }
    }

    async fn publish(&mut self, msg: BrokerMessage) -> Result<(), String> {
        self.published.push(Published {
            subject: msg.subject,
            body: msg.body,
            reply_to: msg.reply_to,
        });
        Ok(())
    }
}

/// Increments the engine's epoch every tick until dropped.
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const TICK: Duration = Duration::from_millis(10);

impl Ticker {
    fn start(engine: Engine) -> Ticker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("pelato-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawn epoch thread");
        Ticker {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A wasmtime engine set up to run PELATO components.
pub struct Harness {
    engine: Engine,
    linker: Linker<HostState>,
    rt: tokio::runtime::Runtime,
    cfg: HarnessConfig,
    replies: Arc<HashMap<String, Vec<u8>>>,
    runtime_config: Arc<HashMap<String, String>>,
    postgres: Arc<postgres::Postgres>,
    _ticker: Ticker,
}

impl Harness {
    /// Creates a harness.
    pub fn new(cfg: HarnessConfig) -> Result<Harness, HarnessError> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        pool::configure(&mut config, cfg.memory_limit);
        let engine = Engine::new(&config).map_err(load_err)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(load_err)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(load_err)?;
        bindings::HarnessHost::add_to_linker::<_, wasmtime::component::HasSelf<HostState>>(
            &mut linker,
            |s| s,
        )
        .map_err(load_err)?;
        bindings_v2::HarnessHostV2::add_to_linker::<_, wasmtime::component::HasSelf<HostState>>(
            &mut linker,
            |s| s,
        )
        .map_err(load_err)?;
        // I/O for the Postgres connection of `wasmcloud:postgres`.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .enable_io()
            .build()
            .map_err(load_err)?;
        let replies = Arc::new(cfg.replies.clone());
        let runtime_config = Arc::new(cfg.runtime_config.clone());
        let postgres = postgres::Postgres::new(cfg.postgres.clone());
        Ok(Harness {
            runtime_config,
            postgres,
            _ticker: Ticker::start(engine.clone()),
            engine,
            linker,
            rt,
            cfg,
            replies,
        })
    }

    /// Loads a component from a file.
    pub fn load_file(&self, path: impl AsRef<Path>) -> Result<LoadedComponent<'_>, HarnessError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| HarnessError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        self.load(&bytes)
    }

    /// Loads a component from bytes, using the compiled-code cache.
    pub fn load(&self, bytes: &[u8]) -> Result<LoadedComponent<'_>, HarnessError> {
        let shape = ComponentShape::of(bytes)?;
        if !shape.exports.contains(HANDLER_EXPORT) {
            return Err(HarnessError::Load(format!(
                "the harness runs components that export `{HANDLER_EXPORT}`; this one exports: {}",
                shape.exports.iter().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        let component = self.compile(bytes)?;
        let pre = self.linker.instantiate_pre(&component).map_err(load_err)?;
        let pre = bindings::HarnessHostPre::new(pre).map_err(load_err)?;
        Ok(LoadedComponent {
            harness: self,
            pre,
            shape,
            max_message_bytes: None,
        })
    }

    fn compile(&self, bytes: &[u8]) -> Result<Component, HarnessError> {
        let Some(dir) = &self.cfg.cache_dir else {
            return Component::new(&self.engine, bytes).map_err(load_err);
        };
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.engine.precompile_compatibility_hash().hash(&mut h);
        let key = format!(
            "{}-{:016x}.cwasm",
            crate::util::digest::sha256_hex(bytes),
            h.finish()
        );
        let path = dir.join(key);
        if path.exists() {
            // SAFETY: the file was written by `Component::serialize` of this same
            // engine configuration (the key includes the engine's compatibility
            // hash and the component's sha256) into PELATO's private cache dir.
            if let Ok(c) = unsafe { Component::deserialize_file(&self.engine, &path) } {
                return Ok(c);
            }
        }
        let component = Component::new(&self.engine, bytes).map_err(load_err)?;
        if let Ok(serialized) = component.serialize() {
            // A cache write failure only costs time next run.
            let _ = crate::util::fs::write_atomic(&path, &serialized);
        }
        Ok(component)
    }

    fn new_store(&self) -> (Store<HostState>, MemoryOutputPipe, MemoryOutputPipe) {
        let stdout = MemoryOutputPipe::new(1 << 20);
        let stderr = MemoryOutputPipe::new(1 << 20);
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let state = HostState {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(self.cfg.memory_limit)
                .trap_on_grow_failure(true)
                .build(),
            published: Vec::new(),
            replies: self.replies.clone(),
            runtime_config: self.runtime_config.clone(),
            postgres: self.postgres.clone(),
            sql: Vec::new(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_async_yield_and_update(1);
        (store, stdout, stderr)
    }
}

/// The imports and exports of a component, by interface name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentShape {
    /// Imported interfaces, e.g. `wasmcloud:messaging/consumer@0.2.0`.
    pub imports: BTreeSet<String>,
    /// Exported interfaces.
    pub exports: BTreeSet<String>,
}

impl ComponentShape {
    /// Decodes the shape of a component binary.
    pub fn of(bytes: &[u8]) -> Result<ComponentShape, HarnessError> {
        let decoded = wit_parser::decoding::decode(bytes).map_err(load_err)?;
        let resolve = decoded.resolve();
        let world = match &decoded {
            wit_parser::decoding::DecodedWasm::Component(_, w) => *w,
            wit_parser::decoding::DecodedWasm::WitPackage(..) => {
                return Err(HarnessError::Load(
                    "this is a WIT package, not a component".into(),
                ))
            }
        };
        let w = &resolve.worlds[world];
        let names = |items: &wit_parser::IndexMap<wit_parser::WorldKey, wit_parser::WorldItem>| {
            items
                .keys()
                .map(|k| resolve.name_world_key(k))
                .collect::<BTreeSet<_>>()
        };
        Ok(ComponentShape {
            imports: names(&w.imports),
            exports: names(&w.exports),
        })
    }

    /// Checks this shape against a template world: every export of the world is
    /// present, nothing else is exported, and nothing is imported beyond the
    /// world's imports and the WASI interfaces the adapter needs.
    pub fn check_against(
        &self,
        resolve: &wit_parser::Resolve,
        world: wit_parser::WorldId,
    ) -> Result<(), HarnessError> {
        let w = &resolve.worlds[world];
        let expected_exports: BTreeSet<String> = w
            .exports
            .keys()
            .map(|k| resolve.name_world_key(k))
            .collect();
        let allowed_imports: BTreeSet<String> = w
            .imports
            .keys()
            .map(|k| resolve.name_world_key(k))
            .collect();
        let mut problems = Vec::new();
        for e in expected_exports.difference(&self.exports) {
            problems.push(format!("missing export `{e}`"));
        }
        for e in self.exports.difference(&expected_exports) {
            problems.push(format!("unexpected export `{e}`"));
        }
        for i in &self.imports {
            let ok = allowed_imports.contains(i)
                || ALLOWED_WASI_IMPORTS.iter().any(|p| i.starts_with(p));
            if !ok {
                problems.push(format!("imports `{i}`, which the world does not provide"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            let world_name = match w.package {
                Some(p) => format!("{}/{}", resolve.packages[p].name, w.name),
                None => w.name.clone(),
            };
            Err(HarnessError::WorldMismatch {
                world: world_name,
                problems,
            })
        }
    }
}

/// A component compiled and linked, ready to receive messages.
pub struct LoadedComponent<'h> {
    harness: &'h Harness,
    pre: bindings::HarnessHostPre<HostState>,
    shape: ComponentShape,
    max_message_bytes: Option<u64>,
}

impl LoadedComponent<'_> {
    /// The component's imports and exports.
    pub fn shape(&self) -> &ComponentShape {
        &self.shape
    }

    /// Tells the harness the component's compiled-in message limit, so an
    /// oversized message is reported as such rather than as a bare trap.
    pub fn with_max_message_bytes(mut self, limit: u64) -> Self {
        self.max_message_bytes = Some(limit);
        self
    }

    /// Whether the component exports `wasi:http/incoming-handler`.
    pub fn handles_http(&self) -> bool {
        self.http_export().is_some()
    }

    fn http_export(&self) -> Option<&String> {
        self.shape
            .exports
            .iter()
            .find(|e| e.starts_with(HTTP_HANDLER_EXPORT_PREFIX))
    }

    /// Sends one HTTP request (`method` on `path`, with `body`) to a fresh
    /// instance through its `wasi:http/incoming-handler` export.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: impl Into<Vec<u8>>,
    ) -> Result<HttpReply, HarnessError> {
        self.harness
            .rt
            .block_on(self.request_async(method, path, body.into()))
    }

    /// [`LoadedComponent::request`] for callers that run their own tokio
    /// runtime (it must have I/O and time enabled): the request is handled on
    /// the caller's runtime instead of the harness's.
    pub async fn request_async(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<HttpReply, HarnessError> {
        use wasmtime::component::Resource;
        use wasmtime_wasi_http::p2::types::{HostIncomingRequest, HostResponseOutparam};
        let Some(export) = self.http_export().cloned() else {
            return Err(HarnessError::Load(format!(
                "this component does not export `{HTTP_HANDLER_EXPORT_PREFIX}0.2.x`; it exports: {}",
                self.shape.exports.iter().cloned().collect::<Vec<_>>().join(", ")
            )));
        };
        let h = self.harness;
        let (mut store, _stdout, stderr) = h.new_store();
        let request = hyper::Request::builder()
            .method(method)
            .uri(format!("http://localhost{path}"))
            .body(http_body_util::Full::new(bytes::Bytes::from(body)))
            .map_err(load_err)?;
        let text = |p: &MemoryOutputPipe| String::from_utf8_lossy(&p.contents()).into_owned();
        let instance_pre = self.pre.instance_pre().clone();
        let outcome = tokio::time::timeout(h.cfg.timeout, async move {
            let req = store.data_mut().http().new_incoming_request(
                wasmtime_wasi_http::p2::bindings::http::types::Scheme::Http,
                request,
            )?;
            let (sender, receiver) = tokio::sync::oneshot::channel();
            let out = store.data_mut().http().new_response_outparam(sender)?;
            let instance = instance_pre.instantiate_async(&mut store).await?;
            let iface = instance
                .get_export_index(&mut store, None, &export)
                .ok_or_else(|| wasmtime::format_err!("no export `{export}`"))?;
            let func = instance
                .get_export_index(&mut store, Some(&iface), "handle")
                .ok_or_else(|| wasmtime::format_err!("no function `handle` in `{export}`"))?;
            let handle = instance.get_typed_func::<(
                Resource<HostIncomingRequest>,
                Resource<HostResponseOutparam>,
            ), ()>(&mut store, &func)?;
            // The guest writes the body after it sets the response: read it
            // concurrently, or a large body would fill the pipe and stall.
            let guest = wasmtime_wasi::runtime::spawn(async move {
                handle.call_async(&mut store, (req, out)).await?;
                Ok::<_, wasmtime::Error>(store)
            });
            let response = match receiver.await {
                Ok(Ok(resp)) => {
                    let (parts, body) = resp.into_parts();
                    use http_body_util::BodyExt;
                    let body = body
                        .collect()
                        .await
                        .map_err(|e| wasmtime::format_err!("reading the response body: {e:?}"))?
                        .to_bytes();
                    Ok((parts.status.as_u16(), body.to_vec()))
                }
                Ok(Err(code)) => Err(wasmtime::format_err!(
                    "the component answered with error {code:?}"
                )),
                Err(_) => Err(wasmtime::format_err!("the component never set a response")),
            };
            let mut store = guest.await?;
            let (status, body) = response?;
            Ok::<_, wasmtime::Error>(HttpReply {
                status,
                body,
                published: std::mem::take(&mut store.data_mut().published),
                stderr: String::new(),
            })
        })
        .await;
        match outcome {
            Err(_) => Err(HarnessError::Timeout(h.cfg.timeout)),
            Ok(Err(trap)) => Err(HarnessError::Trap {
                message: format!("{trap:#}"),
                stderr: text(&stderr),
            }),
            Ok(Ok(mut reply)) => {
                reply.stderr = text(&stderr);
                Ok(reply)
            }
        }
    }

    /// POSTs `body` to `path`: see [`LoadedComponent::request`].
    pub fn post(&self, path: &str, body: impl Into<Vec<u8>>) -> Result<HttpReply, HarnessError> {
        self.request("POST", path, body)
    }

    /// Delivers one message to a fresh instance (as the wasmCloud host does).
    pub fn deliver(&self, msg: &Message) -> Result<Delivery, HarnessError> {
        self.harness.rt.block_on(self.deliver_async(msg))
    }

    /// [`LoadedComponent::deliver`] for callers that run their own tokio
    /// runtime (it must have I/O and time enabled, e.g. for `--db`'s Postgres
    /// connection): the call runs on the caller's runtime, so several threads
    /// can deliver to components of one harness at once.
    pub async fn deliver_async(&self, msg: &Message) -> Result<Delivery, HarnessError> {
        let h = self.harness;
        let (mut store, stdout, stderr) = h.new_store();
        let wire = BrokerMessage {
            subject: msg.subject.clone(),
            body: msg.body.clone(),
            reply_to: msg.reply_to.clone(),
        };
        let start = Instant::now();
        let outcome = tokio::time::timeout(h.cfg.timeout, async {
            let instance = self.pre.instantiate_async(&mut store).await?;
            instance
                .wasmcloud_messaging_handler()
                .call_handle_message(&mut store, &wire)
                .await
        })
        .await;
        let elapsed = start.elapsed();
        let text = |p: &MemoryOutputPipe| String::from_utf8_lossy(&p.contents()).into_owned();
        match outcome {
            Err(_) => Err(HarnessError::Timeout(h.cfg.timeout)),
            Ok(Err(trap)) => Err(self.trap_error(trap, msg, text(&stderr))),
            Ok(Ok(result)) => Ok(Delivery {
                result,
                published: std::mem::take(&mut store.data_mut().published),
                sql: std::mem::take(&mut store.data_mut().sql),
                stdout: text(&stdout),
                stderr: text(&stderr),
                elapsed,
            }),
        }
    }

    /// Creates a store and a fresh instance, then drops both: what a host pays
    /// per message before the first call. Returns the time it took.
    pub fn instantiate_only(&self) -> Result<Duration, HarnessError> {
        let start = Instant::now();
        drop(self.fresh_instance()?);
        Ok(start.elapsed())
    }

    /// A new store with a fresh instance in it.
    fn fresh_instance(&self) -> Result<(Store<HostState>, bindings::HarnessHost), HarnessError> {
        let h = self.harness;
        let (mut store, _stdout, stderr) = h.new_store();
        let instance =
            h.rt.block_on(async {
                tokio::time::timeout(h.cfg.timeout, self.pre.instantiate_async(&mut store)).await
            })
            .map_err(|_| HarnessError::Timeout(h.cfg.timeout))?
            .map_err(|e| HarnessError::Trap {
                message: format!("{e:#}"),
                stderr: String::from_utf8_lossy(&stderr.contents()).into_owned(),
            })?;
        Ok((store, instance))
    }

    /// Opens a session that keeps one instance warm across messages (for
    /// benchmarks; the wasmCloud host itself uses a fresh instance per message).
    pub fn session(&self) -> Result<Session<'_>, HarnessError> {
        let h = self.harness;
        let (store, instance) = self.fresh_instance()?;
        Ok(Session {
            harness: h,
            store,
            instance,
        })
    }

    fn trap_error(&self, trap: wasmtime::Error, msg: &Message, stderr: String) -> HarnessError {
        let message = format!("{trap:#}");
        if message.contains("realloc return") {
            let size =
                msg.body.len() + msg.subject.len() + msg.reply_to.as_ref().map_or(0, String::len);
            return HarnessError::MessageTooLarge {
                size,
                limit: self
                    .max_message_bytes
                    .unwrap_or(crate::DEFAULT_MAX_MESSAGE_BYTES),
            };
        }
        HarnessError::Trap { message, stderr }
    }
}

/// One warm instance receiving many messages.
pub struct Session<'h> {
    harness: &'h Harness,
    store: Store<HostState>,
    instance: bindings::HarnessHost,
}

impl Session<'_> {
    /// Delivers a message to the warm instance; returns the task result and
    /// what was published.
    pub fn deliver(
        &mut self,
        msg: &Message,
    ) -> Result<(Result<(), String>, Vec<Published>), HarnessError> {
        let h = self.harness;
        let wire = BrokerMessage {
            subject: msg.subject.clone(),
            body: msg.body.clone(),
            reply_to: msg.reply_to.clone(),
        };
        let store = &mut self.store;
        let instance = &self.instance;
        let r =
            h.rt.block_on(async {
                tokio::time::timeout(
                    h.cfg.timeout,
                    instance
                        .wasmcloud_messaging_handler()
                        .call_handle_message(&mut *store, &wire),
                )
                .await
            })
            .map_err(|_| HarnessError::Timeout(h.cfg.timeout))?
            .map_err(|e| HarnessError::Trap {
                message: format!("{e:#}"),
                stderr: String::new(),
            })?;
        Ok((r, std::mem::take(&mut self.store.data_mut().published)))
    }
}

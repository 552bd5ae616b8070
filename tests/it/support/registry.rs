//! Test support for the push tests and bench: a real Debian `docker-registry` (distribution
//! 2.8) on a free port with a temp storage dir, a minimal HTTP/1.1 client over
//! `std::net::TcpStream`, and a small but real WebAssembly component that imports
//! `wasmcloud:messaging/consumer@0.2.0` and exports `wasmcloud:messaging/handler@0.2.0`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const INSTALL_HINT: &str = "apt-get install docker-registry apache2-utils";

/// OCI manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// Finds an executable on PATH (or at a fixed Debian location).
fn find_program(name: &str, fallback: &str) -> Option<PathBuf> {
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    let p = PathBuf::from(fallback);
    p.is_file().then_some(p)
}

/// A free TCP port on `ip` (bind to port 0, read it, release it).
pub fn free_port(ip: &str) -> u16 {
    TcpListener::bind((ip, 0))
        .expect("bind an ephemeral port")
        .local_addr()
        .unwrap()
        .port()
}

/// A running `docker-registry serve` process; killed on drop.
pub struct Registry {
    child: Option<Child>,
    /// IP the registry listens on.
    pub ip: String,
    /// Port it listens on.
    pub port: u16,
    /// Temp dir holding config, storage, htpasswd and the log.
    pub dir: tempfile::TempDir,
    /// Basic credentials when started with auth.
    pub credentials: Option<(String, String)>,
    htpasswd: Option<PathBuf>,
}

impl Registry {
    /// A registry without auth on 127.0.0.1.
    pub fn start() -> Registry {
        Registry::launch("127.0.0.1", None)
    }

    /// A registry with htpasswd (bcrypt) Basic auth on 127.0.0.1.
    pub fn start_with_auth(user: &str, password: &str) -> Registry {
        Registry::launch("127.0.0.1", Some((user.to_string(), password.to_string())))
    }

    /// A registry without auth listening on `ip`.
    pub fn start_on(ip: &str) -> Registry {
        Registry::launch(ip, None)
    }

    fn launch(ip: &str, credentials: Option<(String, String)>) -> Registry {
        let binary =
            find_program("docker-registry", "/usr/bin/docker-registry").unwrap_or_else(|| {
                panic!(
                "the OCI registry tests need Debian's docker-registry (distribution 2.8), which is \
                 not installed: {INSTALL_HINT}"
            )
            });
        let dir = tempfile::Builder::new()
            .prefix("pelato-registry-")
            .tempdir()
            .expect("temp dir");
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).unwrap();
        let htpasswd_file = credentials.as_ref().map(|(user, password)| {
            let htpasswd = find_program("htpasswd", "/usr/bin/htpasswd").unwrap_or_else(|| {
                panic!("htpasswd (apache2-utils) is not installed: {INSTALL_HINT}")
            });
            let out = Command::new(htpasswd)
                .args(["-Bbn", user, password])
                .output()
                .expect("run htpasswd");
            assert!(out.status.success(), "htpasswd failed");
            let path = dir.path().join("htpasswd");
            std::fs::write(&path, &out.stdout).unwrap();
            path
        });
        let _ = binary;
        let mut r = Registry {
            child: None,
            ip: ip.to_string(),
            port: 0,
            dir,
            credentials,
            htpasswd: htpasswd_file,
        };
        // The free port may be taken by someone else before the registry binds it: retry.
        for attempt in 1..=3 {
            r.port = free_port(ip);
            r.write_config();
            match r.spawn() {
                Ok(()) => return r,
                Err(e) if attempt < 3 && e.contains("address already in use") => continue,
                Err(e) => panic!("{e}"),
            }
        }
        unreachable!()
    }

    fn write_config(&self) {
        let storage = self.dir.path().join("storage");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {}:{}\n",
            storage.display(),
            self.ip,
            self.port
        );
        if let Some(path) = &self.htpasswd {
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: pelato-test\n    path: {}\n",
                path.display()
            ));
        }
        std::fs::write(self.dir.path().join("config.yml"), config).unwrap();
    }

    fn spawn(&mut self) -> Result<(), String> {
        let binary = find_program("docker-registry", "/usr/bin/docker-registry").unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("registry.log"))
            .unwrap();
        let child = Command::new(binary)
            .arg("serve")
            .arg(self.dir.path().join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http_request(&self.addr(), "GET", "/v2/", &[], &[]) {
                if r.status == 200 || r.status == 401 {
                    return Ok(());
                }
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(format!(
                        "docker-registry exited ({status}) before becoming ready:\n{}",
                        self.log()
                    ));
                }
            }
            if Instant::now() > deadline {
                self.stop();
                return Err(format!(
                    "docker-registry did not answer /v2/ within 20s:\n{}",
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The registry's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Process id of the running registry.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the registry is running").id()
    }

    /// `ip:port`.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }

    /// Storage root.
    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// Kills the process (storage is kept).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and storage.
    pub fn restart(&mut self) {
        self.stop();
        if let Err(e) = self.spawn() {
            panic!("{e}");
        }
    }

    fn auth_headers(&self) -> Vec<(&'static str, String)> {
        match &self.credentials {
            Some((u, p)) => vec![(
                "Authorization",
                format!("Basic {}", base64(format!("{u}:{p}").as_bytes())),
            )],
            None => vec![],
        }
    }

    /// GET with the registry's credentials (if any) and optional Accept header.
    pub fn get(&self, path: &str, accept: Option<&str>) -> HttpResponse {
        let mut headers = self.auth_headers();
        if let Some(a) = accept {
            headers.push(("Accept", a.to_string()));
        }
        http_request(&self.addr(), "GET", path, &headers, &[]).expect("GET against the registry")
    }

    /// The manifest of `repo:reference` (OCI Accept header), or `None` on 404.
    pub fn manifest(&self, repo: &str, reference: &str) -> Option<HttpResponse> {
        let r = self.get(
            &format!("/v2/{repo}/manifests/{reference}"),
            Some(OCI_MANIFEST),
        );
        match r.status {
            200 => Some(r),
            404 => None,
            s => panic!(
                "manifest GET answered {s}: {}",
                String::from_utf8_lossy(&r.body)
            ),
        }
    }

    /// A blob's bytes (panics unless 200).
    pub fn blob(&self, repo: &str, digest: &str) -> Vec<u8> {
        let r = self.get(&format!("/v2/{repo}/blobs/{digest}"), None);
        assert_eq!(
            r.status,
            200,
            "blob {digest}: {}",
            String::from_utf8_lossy(&r.body)
        );
        r.body
    }

    /// Uploads `data` as one blob with a monolithic POST + PUT (the reference upload for the
    /// bench). Returns the digest.
    pub fn raw_monolithic_upload(&self, repo: &str, data: &[u8]) -> String {
        let digest = sha256_digest(data);
        let headers = self.auth_headers();
        let r = http_request(
            &self.addr(),
            "POST",
            &format!("/v2/{repo}/blobs/uploads/"),
            &headers,
            &[],
        )
        .expect("POST upload");
        assert_eq!(
            r.status,
            202,
            "POST upload: {}",
            String::from_utf8_lossy(&r.body)
        );
        let location = r.header("location").expect("upload Location").to_string();
        let path = match location.find("/v2/") {
            Some(i) => location[i..].to_string(),
            None => location,
        };
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut put_headers = headers.clone();
        put_headers.push(("Content-Type", "application/octet-stream".to_string()));
        let r = http_request(
            &self.addr(),
            "PUT",
            &format!("{path}{sep}digest={digest}"),
            &put_headers,
            data,
        )
        .expect("PUT upload");
        assert_eq!(
            r.status,
            201,
            "PUT upload: {}",
            String::from_utf8_lossy(&r.body)
        );
        digest
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A parsed HTTP response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body (de-chunked).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// First header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// One HTTP/1.1 request with `Connection: close`.
pub fn http_request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    let sock = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("no address"))?;
    let mut stream = TcpStream::connect_timeout(&sock, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw, method == "HEAD")
}

fn parse_response(raw: &[u8], head_only: bool) -> std::io::Result<HttpResponse> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("non-UTF-8 headers"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or_else(|| bad("no status line"))?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    if chunked && !head_only {
        body = dechunk(&body).ok_or_else(|| bad("bad chunked body"))?;
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_str = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_str.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// `sha256:<hex>`.
pub fn sha256_digest(data: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}

/// Standard base64 with padding.
pub fn base64(input: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let mut b = [0u8; 3];
        b[..chunk.len()].copy_from_slice(chunk);
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A non-loopback IPv4 address of this machine, if there is one.
pub fn non_loopback_ipv4() -> Option<String> {
    let sock = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // No packet is sent: connect only selects a route and a source address.
    sock.connect("192.0.2.254:9")
        .or_else(|_| sock.connect("10.255.255.254:9"))
        .ok()?;
    let ip = sock.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then(|| ip.to_string())
}

/// The WIT the test component is built from.
pub const TEST_WIT: &str = r#"
package wasmcloud:messaging@0.2.0;

interface types {
  record broker-message {
    subject: string,
    body: list<u8>,
    reply-to: option<string>,
  }
}

interface handler {
  use types.{broker-message};
  handle-message: func(msg: broker-message) -> result<_, string>;
}

interface consumer {
  use types.{broker-message};
  request: func(subject: string, body: list<u8>, timeout-ms: u32) -> result<broker-message, string>;
  publish: func(msg: broker-message) -> result<_, string>;
}

world pelato-test {
  import consumer;
  export handler;
}
"#;

/// A real component (imports `wasmcloud:messaging/consumer@0.2.0`, exports
/// `wasmcloud:messaging/handler@0.2.0`; functions trap) plus a custom section with `seed` and
/// `padding` pseudo-random bytes, so different seeds give different digests and the size can
/// be chosen.
pub fn component(seed: u64, padding: usize) -> Vec<u8> {
    use wasm_encoder::{
        CodeSection, Encode, EntityType, ExportKind, ExportSection, Function, FunctionSection,
        ImportSection, Instruction, MemorySection, MemoryType, Module, TypeSection, ValType,
    };
    use wit_parser::abi::{AbiVariant, WasmType};
    use wit_parser::{
        LiftLowerAbi, ManglingAndAbi, Resolve, WasmExport, WasmExportKind, WasmImport, WorldItem,
    };

    let mut resolve = Resolve::new();
    let pkg = resolve
        .push_str("messaging.wit", TEST_WIT)
        .expect("parse the test WIT");
    let world = resolve
        .select_world(&[pkg], Some("pelato-test"))
        .expect("select the test world");
    let mangling = ManglingAndAbi::Legacy(LiftLowerAbi::Sync);
    let val = |t: &WasmType| match t {
        WasmType::I64 | WasmType::PointerOrI64 => ValType::I64,
        WasmType::F32 => ValType::F32,
        WasmType::F64 => ValType::F64,
        _ => ValType::I32,
    };

    let mut types = TypeSection::new();
    let mut imports = ImportSection::new();
    let mut functions = FunctionSection::new();
    let mut exports = ExportSection::new();
    let mut code = CodeSection::new();
    let mut type_count = 0u32;
    let mut func_count = 0u32;
    let mut add_type = |types: &mut TypeSection, params: Vec<ValType>, results: Vec<ValType>| {
        types.ty().function(params, results);
        type_count += 1;
        type_count - 1
    };

    let w = &resolve.worlds[world];
    for (key, item) in &w.imports {
        if let WorldItem::Interface { id, .. } = item {
            for func in resolve.interfaces[*id].functions.values() {
                let (module, field) = resolve.wasm_import_name(
                    mangling,
                    WasmImport::Func {
                        interface: Some(key),
                        func,
                    },
                );
                let sig = resolve.wasm_signature(AbiVariant::GuestImport, func);
                let ty = add_type(
                    &mut types,
                    sig.params.iter().map(val).collect(),
                    sig.results.iter().map(val).collect(),
                );
                imports.import(&module, &field, EntityType::Function(ty));
                func_count += 1;
            }
        }
    }
    let mut defined: Vec<(String, u32)> = Vec::new();
    for (key, item) in &w.exports {
        if let WorldItem::Interface { id, .. } = item {
            for func in resolve.interfaces[*id].functions.values() {
                let name = resolve.wasm_export_name(
                    mangling,
                    WasmExport::Func {
                        interface: Some(key),
                        func,
                        kind: WasmExportKind::Normal,
                    },
                );
                let sig = resolve.wasm_signature(AbiVariant::GuestExport, func);
                let ty = add_type(
                    &mut types,
                    sig.params.iter().map(val).collect(),
                    sig.results.iter().map(val).collect(),
                );
                defined.push((name, ty));
            }
        }
    }
    let realloc_ty = add_type(&mut types, vec![ValType::I32; 4], vec![ValType::I32]);
    defined.push(("cabi_realloc".to_string(), realloc_ty));
    for (name, ty) in &defined {
        functions.function(*ty);
        exports.export(name, ExportKind::Func, func_count);
        func_count += 1;
        let mut f = Function::new(Vec::new());
        f.instruction(&Instruction::Unreachable);
        f.instruction(&Instruction::End);
        code.function(&f);
    }
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: 1,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    exports.export("memory", ExportKind::Memory, 0);

    let mut module = Module::new();
    module.section(&types);
    module.section(&imports);
    module.section(&functions);
    module.section(&memories);
    module.section(&exports);
    module.section(&code);
    let mut core = module.finish();
    wit_component::embed_component_metadata(
        &mut core,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
        false,
    )
    .expect("embed component metadata");
    let mut bytes = wit_component::ComponentEncoder::default()
        .module(&core)
        .expect("component encoder accepts the module")
        .validate(true)
        .encode()
        .expect("encode the component");

    // Custom section: seed + pseudo-random padding (xorshift64*).
    let mut data = Vec::with_capacity(8 + padding);
    data.extend_from_slice(&seed.to_le_bytes());
    let mut x = seed ^ 0x9E37_79B9_7F4A_7C15;
    while data.len() < 8 + padding {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let v = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let take = (8 + padding - data.len()).min(8);
        data.extend_from_slice(&v.to_le_bytes()[..take]);
    }
    let section = wasm_encoder::CustomSection {
        name: "pelato-test-padding".into(),
        data: data.into(),
    };
    bytes.push(0);
    section.encode(&mut bytes);
    bytes
}

/// Writes `bytes` to `dir/name` and returns the path.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

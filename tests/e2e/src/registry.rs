//! A test-started Debian `docker-registry` (distribution 2.8) on a free
//! loopback port, plain HTTP, temporary storage, deletes enabled.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

use crate::process::{free_port, ChildGuard};

/// A running registry, killed when dropped.
pub struct Registry {
    /// Port on 127.0.0.1.
    pub port: u16,
    child: ChildGuard,
}

impl Registry {
    /// Starts `docker-registry serve` (or `$DOCKER_REGISTRY_BIN`) with its storage
    /// under `dir`, and waits until `/v2/` answers.
    pub async fn start(dir: &Path) -> Result<Self> {
        let bin = std::env::var("DOCKER_REGISTRY_BIN").unwrap_or_else(|_| "docker-registry".into());
        let mut last_err = String::new();
        // A free port can be taken between the check and the bind: retry a few times.
        for _ in 0..3 {
            let port = free_port()?;
            let storage = dir.join("storage");
            std::fs::create_dir_all(&storage)?;
            let config = dir.join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\n\
                     log:\n  level: warn\n\
                     storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
                     http:\n  addr: 127.0.0.1:{port}\n",
                    storage.display()
                ),
            )?;
            let log = dir.join("registry.log");
            let out = std::fs::File::create(&log)?;
            let child = Command::new(&bin)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(out.try_clone()?)
                .stderr(out)
                .spawn()
                .with_context(|| {
                    format!("cannot start `{bin}` (apt-get install docker-registry, or bash scripts/setup as root)")
                })?;
            let mut child = ChildGuard::new("docker-registry", child, log);
            let url = format!("http://127.0.0.1:{port}/v2/");
            let http = reqwest::Client::new();
            let start = Instant::now();
            loop {
                if let Err(e) = child.ensure_running() {
                    last_err = format!("{e:#}");
                    break;
                }
                if let Ok(r) = http.get(&url).send().await {
                    if r.status().is_success() {
                        return Ok(Self { port, child });
                    }
                }
                if start.elapsed() > Duration::from_secs(20) {
                    bail!(
                        "docker-registry did not answer {url} within 20s; log:\n{}",
                        child.log_tail(4000)
                    );
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        bail!("docker-registry failed to start: {last_err}")
    }

    /// `127.0.0.1:PORT`, the form `REGISTRY_URL` and image references use.
    pub fn authority(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The tail of the registry's log.
    pub fn log_tail(&self, max: usize) -> String {
        self.child.log_tail(max)
    }
}

//! Runs the real `pelato` binary as a subprocess against the test lattice.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

/// Environment variables PELATO reads that must not leak in from the caller's
/// environment (they would point the run at another registry or lattice).
const PELATO_VARS: &[&str] = &[
    "REGISTRY_URL",
    "REGISTRY_USER",
    "REGISTRY_PASSWORD",
    "NATS_HOST",
    "NATS_PORT",
    "NATS_NKEY_SEED",
    "PARALLEL_BUILD",
    "ENABLE_METRICS",
    "PELATO_CACHE_DIR",
    "PELATO_TEMPLATES",
];

/// How to run PELATO: its binary and the environment pointing at the lattice.
#[derive(Debug, Clone)]
pub struct Pelato {
    /// The `pelato` executable.
    pub bin: PathBuf,
    /// Environment variables set on every run.
    pub env: Vec<(String, String)>,
}

/// What one run of `pelato` did.
#[derive(Debug, Clone)]
pub struct Run {
    /// The command line, for messages.
    pub command: String,
    /// Exit code (`None`: killed by a signal or by the timeout).
    pub code: Option<i32>,
    /// Captured stdout.
    pub stdout: String,
    /// Captured stderr (PELATO's progress and summaries go here).
    pub stderr: String,
    /// Wall-clock time.
    pub elapsed: Duration,
    /// Whether the run was killed for exceeding its timeout.
    pub timed_out: bool,
}

impl Run {
    /// Whether it exited 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// stdout and stderr together.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// A report of the run for an assertion message.
    pub fn describe(&self) -> String {
        format!(
            "`{}` exited {} after {:.1}s{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command,
            self.code
                .map_or_else(|| "by signal".to_string(), |c| c.to_string()),
            self.elapsed.as_secs_f64(),
            if self.timed_out {
                " (killed: timeout)"
            } else {
                ""
            },
            self.stdout,
            self.stderr
        )
    }

    /// Panics with the full output unless the run exited 0.
    pub fn assert_success(&self) -> &Self {
        assert!(self.success(), "expected success: {}", self.describe());
        self
    }

    /// The status transitions `pelato deploy` printed for `app`, in order
    /// (lines `  <app> → <state> <message>`): the states, lower-case.
    pub fn transitions(&self, app: &str) -> Vec<String> {
        self.stderr
            .lines()
            .filter_map(|l| {
                let (left, right) = l.split_once('→')?;
                (left.trim() == app).then(|| {
                    right
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string()
                })
            })
            .collect()
    }

    /// Panics with the full output unless `pelato deploy` reported `app` going
    /// through a not-yet-deployed state (wadm reconciling) and ending Deployed.
    pub fn assert_deployed_after_reconciling(&self, app: &str) -> &Self {
        let t = self.transitions(app);
        assert!(
            t.last().map(String::as_str) == Some("deployed")
                && t.len() >= 2
                && t[..t.len() - 1]
                    .iter()
                    .any(|s| s == "deploying" || s == "waiting"),
            "expected `{app}` to go deploying/waiting → deployed, saw transitions {t:?}: {}",
            self.describe()
        );
        self
    }

    /// Panics with the full output unless the output contains `needle`.
    pub fn assert_output_contains(&self, needle: &str) -> &Self {
        assert!(
            self.output().contains(needle),
            "expected the output to contain {needle:?}: {}",
            self.describe()
        );
        self
    }
}

impl Pelato {
    /// The binary from `$PELATO_BIN`, else `../../target/debug/pelato`
    /// relative to this crate (the main workspace's default build).
    pub fn binary() -> PathBuf {
        if let Some(p) = std::env::var_os("PELATO_BIN") {
            return PathBuf::from(p);
        }
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/pelato")
    }

    /// PELATO pointed at a registry (`127.0.0.1:PORT`) and a NATS server, with
    /// its cache in `cache_dir`.
    pub fn new(registry: &str, nats_port: u16, cache_dir: &Path) -> Result<Self> {
        let bin = Self::binary();
        anyhow::ensure!(
            bin.is_file(),
            "pelato binary not found at {} (build it with `cargo build --bin pelato` in the \
             main workspace, or set PELATO_BIN)",
            bin.display()
        );
        Ok(Self {
            bin,
            env: vec![
                ("REGISTRY_URL".into(), registry.into()),
                ("NATS_HOST".into(), "127.0.0.1".into()),
                ("NATS_PORT".into(), nats_port.to_string()),
                ("PELATO_CACHE_DIR".into(), cache_dir.display().to_string()),
            ],
        })
    }

    /// Runs `pelato ARGS…` with a timeout; the child is killed if it expires.
    pub async fn run(&self, args: &[&str], timeout: Duration) -> Result<Run> {
        let command = format!("pelato {}", args.join(" "));
        let mut cmd = tokio::process::Command::new(&self.bin);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for v in PELATO_VARS {
            cmd.env_remove(v);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let start = Instant::now();
        let child = cmd
            .spawn()
            .with_context(|| format!("spawn {}", self.bin.display()))?;
        let (code, stdout, stderr, timed_out) =
            match tokio::time::timeout(timeout, child.wait_with_output()).await {
                Ok(out) => {
                    let out = out.with_context(|| format!("wait for `{command}`"))?;
                    (
                        out.status.code(),
                        String::from_utf8_lossy(&out.stdout).into_owned(),
                        String::from_utf8_lossy(&out.stderr).into_owned(),
                        false,
                    )
                }
                // Dropping the future drops the child: kill_on_drop kills it by PID.
                Err(_) => (None, String::new(), String::new(), true),
            };
        Ok(Run {
            command,
            code,
            stdout,
            stderr,
            elapsed: start.elapsed(),
            timed_out,
        })
    }
}

/// Copies a PELATO project (`workflow.yaml`, `tasks/`, and anything else but
/// the generated `gen/`, `build/` and `.pelato/`) into `dest`.
pub fn copy_project(src: &Path, dest: &Path) -> Result<()> {
    fn copy_dir(src: &Path, dest: &Path, top: bool) -> Result<()> {
        std::fs::create_dir_all(dest)?;
        for entry in std::fs::read_dir(src).with_context(|| format!("read {}", src.display()))? {
            let entry = entry?;
            let name = entry.file_name();
            if top && matches!(name.to_str(), Some("gen" | "build" | ".pelato" | ".env")) {
                continue;
            }
            let to = dest.join(&name);
            if entry.file_type()?.is_dir() {
                copy_dir(&entry.path(), &to, false)?;
            } else {
                std::fs::copy(entry.path(), &to)
                    .with_context(|| format!("copy {}", entry.path().display()))?;
            }
        }
        Ok(())
    }
    copy_dir(src, dest, true)
}

//! Run reports: what happened to each task in each stage, with timings and
//! artifacts. The same record is printed by `--output json` and, when
//! `ENABLE_METRICS` is on, appended as one JSON line per run to
//! `PROJECT/.pelato/metrics.jsonl`.
//!
//! Schema (version 1; fields are only ever added):
//!
//! ```json
//! { "schema": 1, "pelato": "0.1.0", "command": "brush", "project": "iot-sensors",
//!   "started_unix_ms": 1764000000000, "total_ms": 5120, "ok": true, "jobs": 2,
//!   "toolchain": "go 1.27.3 (/path/go)",
//!   "tasks": [ { "task": "…", "component": "temp-convert", "ok": true,
//!                "failed_stage": null, "error": null,
//!                "stages": [ { "stage": "gen", "ok": true, "ms": 3 },
//!                            { "stage": "build", "ok": true, "ms": 2100, "cached": false,
//!                              "artifact": "build/temp-convert.wasm", "size": 4436992,
//!                              "sha256": "…", "compile_ms": 1900, "componentize_ms": 120 },
//!                            { "stage": "test", "ok": true, "ms": 12, "passed": 3, "failed": 0 } ] } ] }
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// `d` in whole milliseconds.
pub fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// Current schema version.
pub const SCHEMA: u32 = 1;
/// Metrics file, relative to the project root.
pub const METRICS_FILE: &str = ".pelato/metrics.jsonl";

/// One stage of one task: what every stage records, and its own details.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StageRecord {
    /// The stage and what it alone records (`"stage": "build"`, …).
    #[serde(flatten)]
    pub detail: StageDetail,
    /// Whether it succeeded.
    pub ok: bool,
    /// Wall time.
    pub ms: u64,
    /// Error message, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What one kind of stage records, tagged by `stage` in JSON.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "stage", rename_all = "lowercase")]
pub enum StageDetail {
    /// gen.
    Gen,
    /// build.
    Build {
        /// Served from the cache.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cached: Option<bool>,
        /// Component path, relative to the project.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        artifact: Option<String>,
        /// Component size in bytes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<u64>,
        /// Component sha256.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sha256: Option<String>,
        /// Compiler time.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        compile_ms: Option<u64>,
        /// Componentize time.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        componentize_ms: Option<u64>,
        /// Whether the component is pre-initialized after Go's init.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        snapshot: Option<bool>,
    },
    /// test.
    Test {
        /// Cases passed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        passed: Option<usize>,
        /// Cases failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        failed: Option<usize>,
    },
    /// push.
    Push {
        /// Pushed reference (pinned to the digest).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        /// Manifest digest.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
    },
    /// deploy.
    Deploy {
        /// Application state.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        state: Option<String>,
    },
}

impl StageDetail {
    /// The stage's name: `gen`, `build`, `test`, `push` or `deploy`.
    pub fn name(&self) -> &'static str {
        match self {
            StageDetail::Gen => "gen",
            StageDetail::Build { .. } => "build",
            StageDetail::Test { .. } => "test",
            StageDetail::Push { .. } => "push",
            StageDetail::Deploy { .. } => "deploy",
        }
    }
}

/// One task.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskRecord {
    /// Task name.
    pub task: String,
    /// Component name.
    pub component: String,
    /// Whether every stage that ran succeeded.
    pub ok: bool,
    /// First failed stage.
    pub failed_stage: Option<String>,
    /// Its error.
    pub error: Option<String>,
    /// Stages in order.
    pub stages: Vec<StageRecord>,
}

/// What a run was, besides its tasks.
#[derive(Debug, Clone)]
pub struct RunMeta<'a> {
    /// Command name.
    pub command: &'a str,
    /// Project name.
    pub project: &'a str,
    /// When it started.
    pub started: SystemTime,
    /// How long it took.
    pub total: Duration,
    /// Parallel jobs.
    pub jobs: usize,
    /// Toolchain identity.
    pub toolchain: Option<String>,
}

/// One run of a command.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunRecord {
    /// Schema version.
    pub schema: u32,
    /// PELATO version.
    pub pelato: String,
    /// Command (`build`, `brush`, ...).
    pub command: String,
    /// Project name.
    pub project: String,
    /// Start time, milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
    /// Total wall time.
    pub total_ms: u64,
    /// Whether every task succeeded.
    pub ok: bool,
    /// Parallel jobs.
    pub jobs: usize,
    /// Toolchain identity, when one was used.
    pub toolchain: Option<String>,
    /// Tasks in workflow order.
    pub tasks: Vec<TaskRecord>,
}

impl RunRecord {
    /// Builds the record of a run from its tasks' records.
    pub fn new(meta: RunMeta<'_>, tasks: Vec<TaskRecord>) -> RunRecord {
        RunRecord {
            schema: SCHEMA,
            pelato: env!("CARGO_PKG_VERSION").to_string(),
            command: meta.command.to_string(),
            project: meta.project.to_string(),
            started_unix_ms: meta
                .started
                .duration_since(UNIX_EPOCH)
                .map(ms)
                .unwrap_or_default(),
            total_ms: ms(meta.total),
            ok: tasks.iter().all(|t| t.ok),
            jobs: meta.jobs,
            toolchain: meta.toolchain,
            tasks,
        }
    }

    /// Appends this record as one line to `root/.pelato/metrics.jsonl`.
    pub fn append_metrics(&self, root: &Path) -> std::io::Result<PathBuf> {
        let path = root.join(METRICS_FILE);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut line = serde_json::to_vec(self).expect("record serializes");
        line.push(b'\n');
        // One write of a whole line in append mode: concurrent runs never interleave within a line.
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        f.write_all(&line)?;
        Ok(path)
    }
}

/// Reads the metrics file of a project (skipping lines it cannot parse).
pub fn read_metrics(root: &Path) -> std::io::Result<Vec<RunRecord>> {
    let text = match std::fs::read_to_string(root.join(METRICS_FILE)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

/// Prints a summary table of the last `n` runs.
pub fn summary_table(runs: &[RunRecord], n: usize) -> String {
    let mut out = format!(
        "{:<20} {:<8} {:>6} {:>6} {:>9} {:>9} {:>9} {:>9}\n",
        "started (unix s)", "command", "ok", "failed", "total ms", "gen ms", "build ms", "test ms"
    );
    for run in runs.iter().rev().take(n).rev() {
        let sum = |stage: &str| -> u64 {
            run.tasks
                .iter()
                .flat_map(|t| t.stages.iter())
                .filter(|s| s.detail.name() == stage)
                .map(|s| s.ms)
                .sum()
        };
        let failed = run.tasks.iter().filter(|t| !t.ok).count();
        out.push_str(&format!(
            "{:<20} {:<8} {:>6} {:>6} {:>9} {:>9} {:>9} {:>9}\n",
            run.started_unix_ms / 1000,
            run.command,
            run.tasks.len() - failed,
            failed,
            run.total_ms,
            sum("gen"),
            sum("build"),
            sum("test"),
        ));
    }
    out
}

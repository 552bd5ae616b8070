//! One module per subcommand: a clap `Args` struct with an `exec`.

pub mod brush;
pub mod build;
pub mod call;
pub mod gen;
pub mod test;

use std::path::PathBuf;
use std::time::Duration;

use pelato::pipeline::{Project, RunOptions, TaskReport};

/// Options shared by commands that build.
#[derive(clap::Args, Debug, Clone)]
pub struct BuildOpts {
    /// Parallel build jobs (default: CPU count; PARALLEL_BUILD=false means 1).
    #[arg(short = 'j', long = "jobs")]
    pub jobs: Option<usize>,
    /// Per-message timeout in the harness, in seconds.
    #[arg(long, default_value_t = 5.0)]
    pub timeout: f64,
}

impl BuildOpts {
    /// Run options for a project.
    pub fn run_options(&self, project: &Project) -> RunOptions {
        let mut o = RunOptions::for_project(project);
        if let Some(j) = self.jobs {
            o.jobs = j.max(1);
        }
        o.harness.timeout = Duration::from_secs_f64(self.timeout.max(0.001));
        o
    }
}

/// The project directory argument.
#[derive(clap::Args, Debug, Clone)]
pub struct ProjectArg {
    /// Project directory (holds workflow.yaml and tasks/).
    #[arg(default_value = ".")]
    pub project: PathBuf,
}

/// Prints one line per built task as it finishes.
pub fn print_built(r: &TaskReport) {
    match &r.build {
        Some(Ok(b)) => eprintln!(
            "  built  {:<24} {:>8.1} KiB  {:>6.2}s{}",
            b.component,
            b.record.size as f64 / 1024.0,
            b.elapsed.as_secs_f64(),
            if b.cached { "  (cached)" } else { "" }
        ),
        Some(Err(_)) => eprintln!("  FAILED {:<24}", r.component),
        None => {}
    }
}

/// Prints the per-task summary; returns how many tasks failed.
pub fn print_summary(reports: &[TaskReport]) -> usize {
    let failed: Vec<_> = reports
        .iter()
        .filter_map(|r| r.failure().map(|f| (r, f)))
        .collect();
    eprintln!();
    for r in reports {
        let status = match r.failure() {
            Some((stage, _)) => format!("FAILED at {stage}"),
            None => "ok".into(),
        };
        eprintln!("  {:<28} {:<24} {}", r.task, r.component, status);
    }
    for (r, (stage, msg)) in &failed {
        eprintln!("\n--- task `{}` failed at {stage} ---\n{msg}", r.task);
    }
    eprintln!(
        "\n{} task(s): {} ok, {} failed",
        reports.len(),
        reports.len() - failed.len(),
        failed.len()
    );
    failed.len()
}

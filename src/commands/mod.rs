//! One module per subcommand: a clap `Args` struct with an `exec`.

pub mod bench;
pub mod brush;
pub mod build;
pub mod call;
pub mod clean;
pub mod deploy;
pub mod gen;
pub mod metrics;
pub mod push;
pub mod templates;
pub mod test;
pub mod toolchain;
pub mod vendor;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use pelato::pipeline::{Project, RunOptions, TaskReport};
use pelato::report::{RunMeta, RunRecord};

/// Options shared by commands that build.
#[derive(clap::Args, Debug, Clone)]
pub struct BuildOpts {
    /// Parallel build jobs (default: CPU count; PARALLEL_BUILD=false means 1).
    #[arg(short = 'j', long = "jobs")]
    pub jobs: Option<usize>,
    /// Per-message timeout in the harness, in seconds.
    #[arg(long, default_value_t = 5.0)]
    pub timeout: f64,
    /// Install the project's pinned toolchain (`toolchain:` in workflow.yaml) if it is missing.
    #[arg(long)]
    pub install: bool,
    /// dbsync tasks query the Postgres named by POSTGRES_HOST, POSTGRES_PORT,
    /// POSTGRES_USERNAME, POSTGRES_PASSWORD, POSTGRES_DATABASE (real rows are
    /// written). Without it, their SQL is recorded and shown, not run.
    #[arg(long)]
    pub db: bool,
    /// Build components that run Go's initialization on every instance
    /// instead of pre-initialized ones (as `snapshot: false` in workflow.yaml).
    #[arg(long)]
    pub no_snapshot: bool,
}

impl BuildOpts {
    /// The toolchain that builds `project` (installing its pin with `--install`).
    pub fn toolchain(&self, project: &Project) -> anyhow::Result<pelato::toolchain::Toolchain> {
        Ok(pelato::toolchain::select_for_build(
            &project.env,
            project.workflow.toolchain.as_deref(),
            self.install,
            &mut pelato::toolchain::install::Bar::stderr(),
        )?
        .toolchain)
    }

    /// Run options for a project; fails when `--db` is given and the
    /// Postgres settings are missing.
    pub fn run_options(&self, project: &Project) -> anyhow::Result<RunOptions> {
        let mut o = RunOptions::for_project(project);
        if let Some(j) = self.jobs {
            o.jobs = j.max(1);
        }
        o.harness.timeout = Duration::from_secs_f64(self.timeout.max(0.001));
        o.snapshot = !self.no_snapshot;
        if self.db {
            o.harness.postgres = match project.settings.harness_postgres() {
                Ok(Some(pg)) => Some(pg),
                Ok(None) => anyhow::bail!(
                    "--db needs a Postgres: set POSTGRES_HOST, POSTGRES_USERNAME, POSTGRES_DATABASE (and POSTGRES_PORT, POSTGRES_PASSWORD) in the environment or {}",
                    project.workflow.root.join(".env").display()
                ),
                Err(e) => anyhow::bail!("--db: {e}"),
            };
        }
        Ok(o)
    }
}

/// How results are shown.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Progress and a summary on stderr.
    Text,
    /// One JSON run record on stdout (schema in `pelato::report`).
    Json,
}

/// Output options shared by pipeline commands.
#[derive(clap::Args, Debug, Clone)]
pub struct OutputOpts {
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Print only failures and the final summary.
    #[arg(short, long)]
    pub quiet: bool,
}

/// The project directory argument.
#[derive(clap::Args, Debug, Clone)]
pub struct ProjectArg {
    /// Project directory (holds workflow.yaml and tasks/).
    #[arg(default_value = ".")]
    pub project: PathBuf,
}

/// A pipeline command run: timing, progress, summary, metrics.
pub struct Run {
    command: &'static str,
    started: SystemTime,
    clock: Instant,
    out: OutputOpts,
    bars: Option<Bars>,
}

/// Live progress on a terminal: one line per task with its stage and elapsed time.
struct Bars {
    multi: indicatif::MultiProgress,
    by_component: std::sync::Mutex<std::collections::HashMap<String, indicatif::ProgressBar>>,
}

impl Bars {
    fn bar(&self, component: &str) -> indicatif::ProgressBar {
        let mut map = self.by_component.lock().expect("progress map");
        map.entry(component.to_string())
            .or_insert_with(|| {
                let style = indicatif::ProgressStyle::with_template(
                    "  {spinner} {prefix:<24} {msg:<14} {elapsed:>4}",
                )
                .expect("valid template");
                let bar = self
                    .multi
                    .add(indicatif::ProgressBar::new_spinner().with_style(style));
                bar.set_prefix(component.to_string());
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            })
            .clone()
    }
}

impl Run {
    /// Starts timing a command.
    pub fn start(command: &'static str, out: &OutputOpts) -> Run {
        use std::io::IsTerminal;
        let live =
            !out.quiet && out.output == OutputFormat::Text && std::io::stderr().is_terminal();
        Run {
            command,
            started: SystemTime::now(),
            clock: Instant::now(),
            out: out.clone(),
            bars: live.then(|| Bars {
                multi: indicatif::MultiProgress::new(),
                by_component: Default::default(),
            }),
        }
    }

    /// Marks a task's live line with `short` (terminal), or prints `line`
    /// (plain output; nothing when `line` is empty).
    pub fn task_done(&self, component: &str, short: String, line: String) {
        match &self.bars {
            Some(bars) => bars.bar(component).finish_with_message(short),
            None if !line.is_empty() => self.progress(line),
            None => {}
        }
    }

    /// What the build stage reports for a task.
    pub fn built(&self, r: &TaskReport) {
        let short = match &r.build {
            Some(Ok(b)) => format!(
                "built {:.1} MiB{}",
                b.record.size as f64 / 1048576.0,
                if b.cached { " (cached)" } else { "" }
            ),
            _ => "FAILED (build)".into(),
        };
        self.task_done(&r.component, short, built_line(r));
    }

    /// What the test stage reports for a task: its cases, then its line.
    pub fn tested(&self, r: &TaskReport) {
        for line in tested_lines(r) {
            // Failures are shown even when quiet.
            if line.starts_with("  FAIL") {
                self.always(line);
            } else {
                self.progress(line);
            }
        }
        let short = match &r.test {
            Some(Ok(s)) if s.failed() == 0 => {
                format!("tests {}/{} passed", s.cases.len(), s.cases.len())
            }
            Some(Ok(s)) => format!("tests FAILED {}/{}", s.failed(), s.cases.len()),
            Some(Err(_)) => "FAILED (test)".into(),
            None => return,
        };
        self.task_done(&r.component, short, String::new());
    }

    /// Whether progress lines are wanted.
    pub fn verbose(&self) -> bool {
        !self.out.quiet && self.out.output == OutputFormat::Text
    }

    /// Prints a progress line on stderr (unless quiet or JSON).
    pub fn progress(&self, line: impl AsRef<str>) {
        if self.verbose() {
            self.always(line);
        }
    }

    /// Prints a line on stderr even when quiet (failures), without garbling
    /// live progress.
    pub fn always(&self, line: impl AsRef<str>) {
        match &self.bars {
            Some(bars) => {
                let _ = bars.multi.println(line.as_ref());
            }
            None => eprintln!("{}", line.as_ref()),
        }
    }

    /// Prints the summary (or the JSON record), appends metrics when enabled,
    /// and returns the exit code.
    pub fn finish(
        &self,
        project: &Project,
        reports: &[TaskReport],
        jobs: usize,
        toolchain: Option<String>,
    ) -> ExitCode {
        let record = RunRecord::new(
            RunMeta {
                command: self.command,
                project: &project.workflow.project_name,
                started: self.started,
                total: self.clock.elapsed(),
                jobs,
                toolchain,
            },
            reports
                .iter()
                .map(|r| r.record(&project.workflow.root))
                .collect(),
        );
        // Metrics first: whatever happens to stdout, the run is recorded.
        if project.settings.enable_metrics {
            match record.append_metrics(&project.workflow.root) {
                Ok(path) if self.out.output == OutputFormat::Text => {
                    eprintln!("metrics appended to {}", path.display())
                }
                Ok(_) => {}
                Err(e) => eprintln!("warning: could not write metrics: {e}"),
            }
        }
        match self.out.output {
            OutputFormat::Json => {
                let json = serde_json::to_string_pretty(&record).expect("record serializes");
                write_stdout(format!("{json}\n").as_bytes());
            }
            OutputFormat::Text => print_summary(reports),
        }
        if record.ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

/// The CLI renders the pipeline's progress: live bars on a terminal, plain
/// log-friendly lines otherwise, nothing but failures when quiet or JSON.
impl pelato::pipeline::Reporter for Run {
    fn stage(&self, component: &str, stage: pelato::pipeline::Stage) {
        match &self.bars {
            Some(bars) => bars.bar(component).set_message(stage.as_str()),
            None => self.progress(format!("  {stage:<12} {component}")),
        }
    }

    fn info(&self, line: &str) {
        self.progress(line);
    }

    fn warn(&self, line: &str) {
        self.always(line);
    }
}

/// Writes to stdout; a reader that went away (closed pipe) is not an error.
pub fn write_stdout(bytes: &[u8]) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("warning: writing to stdout: {e}");
        }
    }
}

/// Loads the project and prints the notes about how its workflow.yaml was
/// read (stderr, so JSON on stdout stays clean).
pub fn load_project(dir: &std::path::Path) -> anyhow::Result<Project> {
    let project = Project::load(dir)?;
    for note in &project.workflow.notes {
        eprintln!("note: {note}");
    }
    Ok(project)
}

/// A multi-threaded tokio runtime for the network stages.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// A project loaded and built by a pipeline command.
pub struct Started {
    /// The run (progress, summary, metrics).
    pub run: std::sync::Arc<Run>,
    /// The project.
    pub project: Project,
    /// The toolchain that built it.
    pub toolchain: pelato::toolchain::Toolchain,
    /// Which toolchain that is (kind, version, sha256; never a local path): what push
    /// annotates artifacts with.
    pub provenance: pelato::toolchain::Provenance,
    /// Run options.
    pub opts: RunOptions,
    /// One report per task, after gen and build.
    pub reports: Vec<TaskReport>,
}

impl Started {
    /// Starts `command`: loads the project, finds the toolchain, runs gen + build.
    pub fn build(
        command: &'static str,
        project: &ProjectArg,
        build: &BuildOpts,
        out: &OutputOpts,
    ) -> anyhow::Result<Started> {
        let run = std::sync::Arc::new(Run::start(command, out));
        let project = load_project(&project.project)?;
        // Selection order: the project's pin, PELATO_GO/PELATO_TINYGO, the managed store, PATH.
        let selection = pelato::toolchain::select_for_build(
            &project.env,
            project.workflow.toolchain.as_deref(),
            build.install,
            &mut pelato::toolchain::install::Bar::stderr(),
        )?;
        let toolchain = selection.toolchain;
        let provenance = toolchain.provenance()?;
        run.progress(format!(
            "toolchain: {} — {}",
            provenance.summary(),
            selection.reason
        ));
        let mut opts = build.run_options(&project)?;
        opts.reporter = run.clone();
        let reports = pelato::pipeline::build(&project, &toolchain, &opts, &|r| run.built(r));
        Ok(Started {
            run,
            project,
            toolchain,
            provenance,
            opts,
            reports,
        })
    }

    /// Runs the test stage on what was built.
    pub fn test(&mut self) -> anyhow::Result<()> {
        let harness = pelato::harness::Harness::new(self.opts.harness.clone())?;
        let run = &self.run;
        pelato::pipeline::test_all(
            &self.project,
            &harness,
            &mut self.reports,
            &self.opts,
            &|r| run.tested(r),
        );
        Ok(())
    }

    /// Prints the summary, records metrics, and returns the exit code.
    pub fn finish(self) -> ExitCode {
        let toolchain = match self.toolchain.provenance() {
            Ok(p) => p.summary(),
            Err(_) => self.toolchain.identity(),
        };
        self.run.finish(
            &self.project,
            &self.reports,
            self.opts.jobs,
            Some(toolchain),
        )
    }
}

/// A progress line for a task that finished building.
pub fn built_line(r: &TaskReport) -> String {
    match &r.build {
        Some(Ok(b)) => format!(
            "  built  {:<24} {:>8.1} KiB  {:>6.2}s{}{}",
            b.component,
            b.record.size as f64 / 1024.0,
            b.elapsed.as_secs_f64(),
            if b.cached { "  (cached)" } else { "" },
            match (&b.record.snapshot_skipped, b.record.snapshot) {
                (Some(why), _) => format!("  (not pre-initialized: {why})"),
                (None, true) => "  snapshot".to_string(),
                (None, false) => String::new(),
            }
        ),
        _ => format!("  FAILED {:<24} (build)", r.component),
    }
}

/// Progress lines for a task's test results.
pub fn tested_lines(r: &TaskReport) -> Vec<String> {
    match &r.test {
        Some(Ok(summary)) if summary.cases.is_empty() => {
            vec![format!(
                "  check  {:<24} world ok (no test cases in workflow.yaml)",
                r.component
            )]
        }
        Some(Ok(summary)) => summary
            .cases
            .iter()
            .map(|c| {
                if c.passed {
                    format!(
                        "  pass   {:<24} {} ({:.1} ms)",
                        r.component,
                        c.name,
                        c.elapsed.as_secs_f64() * 1e3
                    )
                } else {
                    format!("  FAIL   {:<24} {}\n{}", r.component, c.name, c.diff)
                }
            })
            .collect(),
        Some(Err(e)) => vec![format!("  FAIL   {:<24} {e}", r.component)],
        None => Vec::new(),
    }
}

/// Prints the per-task summary on stderr.
pub fn print_summary(reports: &[TaskReport]) {
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
}

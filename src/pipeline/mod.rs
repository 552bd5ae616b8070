//! The pipeline: load a project, then gen → build → test → push → deploy,
//! task by task. One task's failure never stops the others; every stage
//! records a typed outcome in the task's [`TaskReport`], and tells what it
//! is doing through a [`Reporter`]. [`brush`] runs them all.

pub mod deploy;
pub mod push;
mod reporter;

pub use reporter::{Reporter, Silent, Stage};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::build::{self, BuildError, Built};
use crate::config::{Env, Settings};
use crate::gen::{GenError, GeneratedTask, Generator};
use crate::harness::{Harness, HarnessConfig, HarnessError, Message};
use crate::report::{ms, StageDetail, StageRecord, TaskRecord};
use crate::toolchain::Toolchain;
use crate::workflow::{Expect, Task, Workflow, WorkflowError};

/// A loaded, validated project.
pub struct Project {
    /// The workflow.
    pub workflow: Workflow,
    /// Settings from the environment and `.env`.
    pub settings: Settings,
    /// The environment and `.env` as one lookup (what [`Project::settings`] was read from;
    /// toolchain selection, cache and template folders read it too).
    pub env: Env,
    /// The generator (templates + WIT).
    pub generator: Generator,
}

/// Errors that stop the whole pipeline (per-task errors are reported instead).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// workflow.yaml is invalid.
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    /// Settings are invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Templates or WIT did not load.
    #[error(transparent)]
    Gen(#[from] GenError),
    /// No usable toolchain.
    #[error(transparent)]
    Toolchain(#[from] crate::toolchain::ToolchainError),
    /// The harness could not start.
    #[error(transparent)]
    Harness(#[from] HarnessError),
    /// A component name that is not in the workflow.
    #[error("no task with component_name `{name}` in {file}; known: {known}")]
    UnknownComponent {
        /// What was asked for.
        name: String,
        /// workflow.yaml path.
        file: PathBuf,
        /// Known component names.
        known: String,
    },
    /// Where to push could not be decided (a bad `REGISTRY_URL`, `--to`, or
    /// credentials).
    #[error(transparent)]
    Push(#[from] crate::push::PushError),
    /// The async runtime for the network stages could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// A task failed in a stage that the command needed.
    #[error("task `{task}`: {message}")]
    Task {
        /// Task name.
        task: String,
        /// Why.
        message: String,
    },
}

/// What workflow.yaml can only be checked against once the templates are
/// known: each task's `config:` keys and values against its template's
/// settings, and HTTP ports shared by two tasks on the same host label.
fn check_against_templates(
    wf: &Workflow,
    templates: &crate::templates::TemplateSet,
) -> Vec<crate::workflow::Diagnostic> {
    use crate::workflow::{Diagnostic, DEFAULT_HTTP_PORT, WORKFLOW_FILE};
    let mut out = Vec::new();
    for task in &wf.tasks {
        let Some(t) = templates.get(&task.template) else {
            continue;
        };
        for (key, problem, fix) in t.meta.check_config(&task.config) {
            let mut d = Diagnostic::new(WORKFLOW_FILE, problem)
                .with_line(task.line)
                .with_task(&task.name);
            d.field = Some(format!("config.{key}"));
            d.fix = Some(fix);
            out.push(d);
        }
    }
    let http: Vec<_> = wf
        .tasks
        .iter()
        .filter(|t| templates.get(&t.template).is_some_and(|x| x.meta.http))
        .collect();
    for (i, a) in http.iter().enumerate() {
        for b in &http[..i] {
            let (pa, pb) = (
                a.http_port.unwrap_or(DEFAULT_HTTP_PORT),
                b.http_port.unwrap_or(DEFAULT_HTTP_PORT),
            );
            let shared = a.targets.iter().find(|l| b.targets.contains(l));
            if let (true, Some(label)) = (pa == pb, shared) {
                let mut d = Diagnostic::new(
                    WORKFLOW_FILE,
                    format!(
                        "listens on port {pa} like task `{}`, and both run on `{label}` hosts: the second server could not bind",
                        b.name
                    ),
                )
                .with_line(a.line)
                .with_task(&a.name);
                d.field = Some("http_port".into());
                d.fix = Some(format!(
                    "give one of them another port, e.g. `http_port: {}`",
                    pa.wrapping_add(1).max(1)
                ));
                out.push(d);
            }
        }
    }
    out
}

impl Project {
    /// Loads and validates `dir/workflow.yaml` and the settings.
    pub fn load(dir: &Path) -> Result<Project, PipelineError> {
        let generator = Generator::for_project(dir)?;
        let workflow = Workflow::load(dir, &generator.templates().infos())?;
        let problems = check_against_templates(&workflow, generator.templates());
        if !problems.is_empty() {
            return Err(crate::workflow::WorkflowError::Invalid(problems).into());
        }
        let env = Env::load(&workflow.root)?;
        let settings = Settings::from_env(&env)?;
        Ok(Project {
            workflow,
            settings,
            env,
            generator,
        })
    }

    /// Looks a task up by component name.
    pub fn task(&self, component: &str) -> Result<&Task, PipelineError> {
        self.workflow
            .task_by_component(component)
            .ok_or_else(|| PipelineError::UnknownComponent {
                name: component.to_string(),
                file: self.workflow.file.clone(),
                known: self
                    .workflow
                    .tasks
                    .iter()
                    .map(|t| t.component_name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Parallel jobs from `PARALLEL_BUILD` (false → 1) or the CPU count.
    pub fn default_jobs(&self) -> usize {
        match self.settings.parallel_build {
            Some(false) => 1,
            _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// What happened to one task across the stages that ran.
#[derive(Debug)]
pub struct TaskReport {
    /// Task name.
    pub task: String,
    /// Component name.
    pub component: String,
    /// gen result.
    pub gen: Option<Result<GeneratedTask, GenError>>,
    /// build result.
    pub build: Option<Result<Built, BuildError>>,
    /// test result.
    pub test: Option<Result<TestSummary, HarnessError>>,
    /// Wall time of each stage that ran.
    pub timings: Vec<(&'static str, Duration)>,
    /// push result.
    pub push: Option<Result<crate::push::PushOutcome, StageError>>,
    /// deploy result.
    pub deploy: Option<Result<crate::deploy::AppReport, StageError>>,
}

/// Why a push or deploy stage failed for a task.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The registry or layout refused or could not be reached.
    #[error(transparent)]
    Push(#[from] crate::push::PushError),
    /// wadm or NATS refused or could not be reached.
    #[error(transparent)]
    Deploy(#[from] crate::deploy::DeployError),
    /// wasmCloud 2 hosts refused, failed the workload or could not be reached.
    #[error(transparent)]
    DeployV2(#[from] crate::deploy_v2::V2Error),
    /// The generated manifest could not be pinned to the pushed digest.
    #[error(transparent)]
    Pin(#[from] crate::manifest::PinError),
    /// A file of the project could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file of the project could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl TaskReport {
    /// The first failure, as a message, if any stage failed.
    pub fn failure(&self) -> Option<(&'static str, String)> {
        if let Some(Err(e)) = &self.gen {
            return Some(("gen", e.to_string()));
        }
        if let Some(Err(e)) = &self.build {
            return Some(("build", e.to_string()));
        }
        match &self.test {
            Some(Err(e)) => return Some(("test", e.to_string())),
            Some(Ok(s)) if s.failed() > 0 => {
                return Some((
                    "test",
                    format!("{} of {} test cases failed", s.failed(), s.cases.len()),
                ))
            }
            _ => {}
        }
        if let Some(Err(e)) = &self.push {
            return Some(("push", e.to_string()));
        }
        if let Some(Err(e)) = &self.deploy {
            return Some(("deploy", e.to_string()));
        }
        None
    }

    fn new(task: &Task) -> TaskReport {
        TaskReport {
            task: task.name.clone(),
            component: task.component_name.clone(),
            gen: None,
            build: None,
            test: None,
            timings: Vec::new(),
            push: None,
            deploy: None,
        }
    }

    /// What this task's run records in reports and metrics (paths relative
    /// to the project `root`).
    pub fn record(&self, root: &Path) -> TaskRecord {
        let time = |stage: &str| {
            self.timings
                .iter()
                .find(|(s, _)| *s == stage)
                .map(|(_, d)| ms(*d))
                .unwrap_or(0)
        };
        let record = |detail: StageDetail, ok: bool, error: Option<String>| StageRecord {
            ms: time(detail.name()),
            detail,
            ok,
            error,
        };
        let mut stages = Vec::new();
        if let Some(g) = &self.gen {
            stages.push(record(
                StageDetail::Gen,
                g.is_ok(),
                g.as_ref().err().map(|e| e.to_string()),
            ));
        }
        match &self.build {
            Some(Ok(b)) => stages.push(StageRecord {
                ms: ms(b.elapsed),
                ..record(
                    StageDetail::Build {
                        cached: Some(b.cached),
                        artifact: Some(
                            b.path
                                .strip_prefix(root)
                                .unwrap_or(&b.path)
                                .display()
                                .to_string(),
                        ),
                        size: Some(b.record.size),
                        sha256: Some(b.record.sha256.clone()),
                        compile_ms: (!b.cached).then_some(b.record.compile_ms),
                        componentize_ms: (!b.cached).then_some(b.record.componentize_ms),
                        snapshot: Some(b.record.snapshot),
                    },
                    true,
                    None,
                )
            }),
            Some(Err(e)) => stages.push(record(
                StageDetail::Build {
                    cached: None,
                    artifact: None,
                    size: None,
                    sha256: None,
                    compile_ms: None,
                    componentize_ms: None,
                    snapshot: None,
                },
                false,
                Some(e.to_string()),
            )),
            None => {}
        }
        match &self.test {
            Some(Ok(s)) => stages.push(record(
                StageDetail::Test {
                    passed: Some(s.cases.len() - s.failed()),
                    failed: Some(s.failed()),
                },
                s.failed() == 0,
                None,
            )),
            Some(Err(e)) => stages.push(record(
                StageDetail::Test {
                    passed: None,
                    failed: None,
                },
                false,
                Some(e.to_string()),
            )),
            None => {}
        }
        match &self.push {
            Some(Ok(o)) => stages.push(record(
                StageDetail::Push {
                    reference: Some(o.pinned_reference.clone()),
                    digest: Some(o.digest.clone()),
                },
                true,
                None,
            )),
            Some(Err(e)) => stages.push(record(
                StageDetail::Push {
                    reference: None,
                    digest: None,
                },
                false,
                Some(e.to_string()),
            )),
            None => {}
        }
        match &self.deploy {
            Some(Ok(r)) => stages.push(record(
                StageDetail::Deploy {
                    state: Some(r.state.to_string()),
                },
                true,
                None,
            )),
            Some(Err(e)) => {
                let state = match e {
                    StageError::Deploy(d) => d.report().map(|r| r.state.to_string()),
                    _ => None,
                };
                stages.push(record(
                    StageDetail::Deploy { state },
                    false,
                    Some(e.to_string()),
                ))
            }
            None => {}
        }
        let failure = self.failure();
        TaskRecord {
            task: self.task.clone(),
            component: self.component.clone(),
            ok: failure.is_none(),
            failed_stage: failure.as_ref().map(|f| f.0.to_string()),
            error: failure.map(|f| f.1),
            stages,
        }
    }

    /// The built component, if the build succeeded.
    pub fn built(&self) -> Option<&Built> {
        self.build.as_ref().and_then(|b| b.as_ref().ok())
    }
}

/// Results of a task's test cases.
#[derive(Debug, Clone)]
pub struct TestSummary {
    /// Each case.
    pub cases: Vec<CaseResult>,
}

impl TestSummary {
    /// Number of failed cases.
    pub fn failed(&self) -> usize {
        self.cases.iter().filter(|c| !c.passed).count()
    }
}

/// One test case's result.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// Case name.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// Expected vs actual, when it failed.
    pub diff: String,
    /// Time the delivery took.
    pub elapsed: Duration,
}

/// Options of a pipeline run.
#[derive(Clone)]
pub struct RunOptions {
    /// Parallel build jobs.
    pub jobs: usize,
    /// Harness settings for the test stage.
    pub harness: HarnessConfig,
    /// Cache directory (Go build cache lives under it).
    pub cache_dir: PathBuf,
    /// Where stage changes and progress lines go (default [`Silent`]).
    pub reporter: std::sync::Arc<dyn Reporter>,
    /// Pre-initialize components after Go's init (`--no-snapshot` turns it
    /// off for a run; workflow.yaml's `snapshot: false` for a project or task).
    pub snapshot: bool,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("jobs", &self.jobs)
            .field("harness", &self.harness)
            .field("cache_dir", &self.cache_dir)
            .field("snapshot", &self.snapshot)
            .finish()
    }
}

impl RunOptions {
    /// Defaults for a project.
    pub fn for_project(project: &Project) -> RunOptions {
        let cache_dir = project
            .env
            .cache_dir()
            .unwrap_or_else(|| project.workflow.root.join(".pelato").join("cache"));
        RunOptions {
            jobs: project.default_jobs(),
            harness: HarnessConfig {
                cache_dir: Some(cache_dir.join("wasmtime")),
                ..HarnessConfig::default()
            },
            cache_dir,
            reporter: std::sync::Arc::new(Silent),
            snapshot: true,
        }
    }

    /// Reports that `component` entered `stage`.
    pub fn stage(&self, component: &str, stage: Stage) {
        self.reporter.stage(component, stage);
    }
}

/// Runs gen for every task (in order) and returns one report per task.
pub fn gen(project: &Project) -> Vec<TaskReport> {
    project
        .workflow
        .tasks
        .iter()
        .map(|task| {
            let start = Instant::now();
            let r = project
                .generator
                .render(&project.workflow, task, &project.settings)
                .and_then(|rendered| crate::gen::write_task(&project.workflow.root, rendered));
            let mut report = TaskReport::new(task);
            report.gen = Some(r);
            report.timings.push(("gen", start.elapsed()));
            report
        })
        .collect()
}

/// Runs gen + build. `on_built` is called as each task finishes building.
pub fn build(
    project: &Project,
    toolchain: &Toolchain,
    opts: &RunOptions,
    on_built: &(dyn Fn(&TaskReport) + Sync),
) -> Vec<TaskReport> {
    let reports = gen(project);
    let go_cache = opts.cache_dir.clone();
    let toolchain_sha256 = toolchain.provenance().map(|p| p.sha256).unwrap_or_default();
    let go_env = crate::gomod::GoEnv::new(
        &project.env,
        &go_cache,
        project.workflow.root.join(crate::gomod::GO_MOD).is_file(),
    );
    let built = build::parallel_map(&reports, opts.jobs, |report| {
        let Some(Ok(generated)) = &report.gen else {
            return None;
        };
        let task = project
            .workflow
            .tasks
            .iter()
            .find(|t| t.name == report.task)
            .expect("report comes from the workflow");
        let start = Instant::now();
        let b = (|| {
            let template = project
                .generator
                .templates()
                .get(&task.template)
                .expect("gen succeeded, so the template exists");
            let world = project
                .generator
                .wit()
                .world_for(template, project.workflow.platform)
                .map_err(|e| BuildError::Componentize {
                    task: task.name.clone(),
                    message: e.to_string(),
                })?;
            build::build_task(
                &project.workflow.root,
                generated,
                &task.code,
                world,
                &build::BuildEnv {
                    toolchain,
                    resolve: &project.generator.wit().resolve,
                    cache_dir: &go_cache,
                    on_stage: &|stage| opts.stage(&task.component_name, Stage::from_build(stage)),
                    toolchain_sha256: &toolchain_sha256,
                    snapshot: opts.snapshot && project.workflow.snapshot_for(task),
                    go: &go_env,
                },
            )
        })();
        let mut progress = TaskReport::new(task);
        progress.build = Some(b);
        on_built(&progress);
        Some((progress.build.take().expect("just set"), start.elapsed()))
    });
    reports
        .into_iter()
        .zip(built)
        .map(|(mut r, b)| {
            if let Some((b, elapsed)) = b {
                r.build = Some(b);
                r.timings.push(("build", elapsed));
            }
            r
        })
        .collect()
}

/// Runs the test stage for every built task; `on_tested` is called after each.
pub fn test_all(
    project: &Project,
    harness: &Harness,
    reports: &mut [TaskReport],
    opts: &RunOptions,
    on_tested: &dyn Fn(&TaskReport),
) {
    for r in reports.iter_mut() {
        let Some(built) = r.built().cloned() else {
            continue;
        };
        let task = project
            .workflow
            .tasks
            .iter()
            .find(|t| t.name == r.task)
            .expect("report comes from the workflow");
        opts.stage(&r.component, Stage::Test);
        let start = Instant::now();
        r.test = Some(test_task(project, harness, task, &built));
        r.timings.push(("test", start.elapsed()));
        on_tested(r);
    }
}

/// A concrete subject for a subscription pattern (`*` and `>` become `test`).
pub fn concrete_subject(pattern: &str) -> String {
    pattern
        .split('.')
        .map(|t| if t == "*" || t == ">" { "test" } else { t })
        .collect::<Vec<_>>()
        .join(".")
}

/// Runs a task's test cases against its built component.
pub fn test_task(
    project: &Project,
    harness: &Harness,
    task: &Task,
    built: &Built,
) -> Result<TestSummary, HarnessError> {
    let component = harness
        .load_file(&built.path)?
        .with_max_message_bytes(built.record.max_message_bytes);
    let template = project
        .generator
        .templates()
        .get(&task.template)
        .expect("built, so the template exists");
    let world = project
        .generator
        .wit()
        .world_for(template, project.workflow.platform)
        .map_err(|e| HarnessError::Load(e.to_string()))?;
    component
        .shape()
        .check_against(&project.generator.wit().resolve, world)?;
    let subject = concrete_subject(&task.source_topic);
    let dest = output_subject(task);
    let mut cases = Vec::new();
    for case in &task.tests {
        let start = Instant::now();
        let msg = test_message(task, &subject, case.input.clone().into_bytes());
        let (passed, diff) = match component.deliver(&msg) {
            Err(e) => match &case.expect {
                Expect::Error(want) if e.to_string().contains(want.as_str()) => {
                    (true, String::new())
                }
                _ => (false, format!("  the delivery failed: {e}")),
            },
            Ok(d) => {
                let out: Vec<String> = d
                    .published_to(&dest)
                    .map(|p| String::from_utf8_lossy(&p.body).into_owned())
                    .collect();
                match (&case.expect, &d.result) {
                    (Expect::Output(want), Ok(())) => {
                        let got = out.join("\n");
                        if (want.is_empty() && out.is_empty()) || (out.len() == 1 && &out[0] == want) {
                            (true, String::new())
                        } else {
                            (false, diff_text(want, &got, out.len(), &dest))
                        }
                    }
                    (Expect::Output(want), Err(e)) => (
                        false,
                        format!("  expected output: {want:?}\n  but the task failed: {e}"),
                    ),
                    (Expect::Error(want), Err(e)) if e.contains(want.as_str()) => (true, String::new()),
                    (Expect::Error(want), Err(e)) => (
                        false,
                        format!("  expected an error containing {want:?}\n  got error: {e:?}"),
                    ),
                    (Expect::Error(want), Ok(())) => (
                        false,
                        format!(
                            "  expected an error containing {want:?}\n  but the task succeeded and published {:?}",
                            out
                        ),
                    ),
                }
            }
        };
        cases.push(CaseResult {
            name: case.name.clone(),
            passed,
            diff,
            elapsed: start.elapsed(),
        });
    }
    Ok(TestSummary { cases })
}

/// Reply subject the harness sets on messages to a task without a dest topic
/// (dbsync): its output is then what it replies.
pub const HARNESS_REPLY_SUBJECT: &str = "_pelato.harness.reply";

/// Where a task's output shows up in the harness: its dest topic, or for a
/// task without one (dbsync), the reply to [`HARNESS_REPLY_SUBJECT`].
pub fn output_subject(task: &Task) -> String {
    task.dest_topic
        .clone()
        .unwrap_or_else(|| HARNESS_REPLY_SUBJECT.to_string())
}

/// The message the harness delivers for an input: on `subject`, with a reply-to
/// when the task has no dest topic (see [`output_subject`]).
pub fn test_message(task: &Task, subject: &str, body: Vec<u8>) -> Message {
    let msg = Message::new(subject.to_string(), body);
    if task.dest_topic.is_none() {
        msg.with_reply_to(HARNESS_REPLY_SUBJECT)
    } else {
        msg
    }
}

fn diff_text(want: &str, got: &str, count: usize, dest: &str) -> String {
    let mut s = format!("  published to {dest}: {count} message(s)\n");
    let w: Vec<&str> = want.lines().collect();
    let g: Vec<&str> = got.lines().collect();
    for i in 0..w.len().max(g.len()) {
        match (w.get(i), g.get(i)) {
            (Some(a), Some(b)) if a == b => s.push_str(&format!("    {a}\n")),
            (a, b) => {
                if let Some(a) = a {
                    s.push_str(&format!("  - {a}\n"));
                }
                if let Some(b) = b {
                    s.push_str(&format!("  + {b}\n"));
                }
            }
        }
    }
    if want.is_empty() {
        s.push_str("  - (nothing published)\n");
    }
    if got.is_empty() && count == 0 {
        s.push_str("  + (nothing published)\n");
    }
    s.push_str("  (- expected, + actual)");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_become_concrete() {
        assert_eq!(concrete_subject("sensors.*.raw"), "sensors.test.raw");
        assert_eq!(concrete_subject("sensors.>"), "sensors.test");
        assert_eq!(concrete_subject("a.b"), "a.b");
    }

    #[test]
    fn diff_marks_expected_and_actual() {
        let d = diff_text("a\nb", "a\nc", 1, "out");
        assert!(d.contains("    a\n  - b\n  + c"), "{d}");
    }
}

/// What [`brush`] does beyond [`RunOptions`]: where to push, how to deploy.
#[derive(Debug, Clone, Default)]
pub struct BrushOptions {
    /// The push stage.
    pub push: push::PushStageOptions,
    /// The deploy stage (`nats: None`: nothing is deployed).
    pub deploy: deploy::DeployStageOptions,
}

/// The whole pipeline, as `pelato brush` runs it: gen → build → test → push →
/// deploy. A task that fails a stage goes no further; the others go on.
/// Returns one report per task and what the deploy stage did as a whole.
/// Progress goes to `opts.reporter`. Must not be called from within an
/// async runtime (it runs its own for the network stages).
pub fn brush(
    project: &Project,
    toolchain: &Toolchain,
    opts: &RunOptions,
    stages: &BrushOptions,
) -> Result<(Vec<TaskReport>, deploy::Deployed), PipelineError> {
    let mut reports = build(project, toolchain, opts, &|_| {});
    let harness = Harness::new(opts.harness.clone())?;
    test_all(project, &harness, &mut reports, opts, &|_| {});
    let provenance = toolchain.provenance()?;
    let rt = network_runtime()?;
    let reporter = opts.reporter.as_ref();
    rt.block_on(push::push_all(
        project,
        &provenance,
        &mut reports,
        &stages.push,
        reporter,
    ))?;
    let deployed = rt.block_on(deploy::deploy_all(
        project,
        &mut reports,
        &stages.deploy,
        reporter,
    ));
    Ok((reports, deployed))
}

/// The async runtime the network stages (push, deploy) run on.
pub fn network_runtime() -> Result<tokio::runtime::Runtime, PipelineError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(PipelineError::Runtime)
}

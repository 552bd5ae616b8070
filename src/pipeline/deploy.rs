//! The deploy stage: put and deploy each task's wadm application (or one for
//! the whole workflow) over NATS, following status until Deployed, Failed or
//! the timeout.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::deploy::{self, AppManifest, AppReport, DeployError, DeployOptions, NatsOptions};

use super::{Project, Reporter, Stage, StageError, TaskReport};

/// Options of the deploy stage.
#[derive(Debug, Clone, Default)]
pub struct DeployStageOptions {
    /// How to reach the lattice; `None` when `NATS_HOST` is not configured
    /// (then nothing is deployed and [`Deployed::NotConfigured`] says how to).
    pub nats: Option<NatsOptions>,
    /// Waiting for status, and for how long.
    pub deploy: DeployOptions,
    /// Deploy the whole workflow as one wadm application.
    pub single_app: bool,
    /// wasmCloud 2: how long to listen for host heartbeats
    /// (`None`: [`crate::deploy_v2::DEFAULT_DISCOVERY`]).
    pub discovery: Option<std::time::Duration>,
}

/// What the deploy stage did as a whole (each task's outcome is in its report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deployed {
    /// No lattice is configured: nothing was sent. `hint` says how to deploy
    /// the manifests (PELATO with `NATS_HOST`, or `wash app deploy`).
    NotConfigured {
        /// The ready manifests.
        manifests: Vec<PathBuf>,
        /// What to run to deploy them.
        hint: String,
    },
    /// The lattice was reached (or tried): see each task's report.
    Ran,
}

/// Deploys every task that passed the earlier stages and records each
/// outcome in its report (`TaskReport::deploy`).
pub async fn deploy_all(
    project: &Project,
    reports: &mut [TaskReport],
    opts: &DeployStageOptions,
    reporter: &dyn Reporter,
) -> Deployed {
    let manifests: Vec<(usize, PathBuf)> = reports
        .iter()
        .enumerate()
        .filter(|(_, r)| r.failure().is_none())
        .filter_map(|(i, r)| match &r.gen {
            Some(Ok(g)) => Some((i, g.manifest_path())),
            _ => None,
        })
        .collect();
    if project.workflow.platform == crate::workflow::Platform::WasmcloudV2 {
        return deploy_v2_all(project, reports, opts, reporter).await;
    }
    let Some(nats) = &opts.nats else {
        let paths: Vec<PathBuf> = manifests.into_iter().map(|(_, p)| p).collect();
        let hint = deploy::deploy_hint(&paths, Some(&local_run_command(project)));
        return Deployed::NotConfigured {
            manifests: paths,
            hint,
        };
    };
    let mut apps: Vec<(usize, AppManifest)> = Vec::new();
    for (i, path) in &manifests {
        match deploy::load_manifest(&reports[*i].task, path) {
            Ok(m) => {
                for w in m.warnings() {
                    reporter.warn(&format!("  warning ({}): {w}", reports[*i].task));
                }
                apps.push((*i, m));
            }
            Err(e) => reports[*i].deploy = Some(Err(e.into())),
        }
    }
    for (i, _) in &apps {
        reporter.stage(&reports[*i].component, Stage::Deploy);
    }
    let start = Instant::now();
    let client = match deploy::connect(nats).await {
        Ok(c) => c,
        Err(e) => {
            for (i, _) in &apps {
                reports[*i].deploy = Some(Err(StageError::Deploy(e.clone())));
            }
            return Deployed::Ran;
        }
    };
    reporter.info(&format!(
        "deploying to lattice `{}` at {}:{}",
        nats.lattice, nats.host, nats.port
    ));
    let mut on_event = |r: &AppReport| {
        reporter.info(&format!(
            "  {:<32} → {:<10} {}",
            r.app,
            r.state.to_string(),
            r.message
        ));
    };
    let only: Vec<AppManifest> = apps.iter().map(|(_, m)| m.clone()).collect();
    let results: Vec<Result<AppReport, DeployError>> = if opts.single_app {
        let version = single_app_version(&only);
        let merged =
            match deploy::merge_single_app(&project.workflow.project_slug(), &version, &only) {
                Ok(m) => m,
                Err(e) => {
                    for (i, _) in &apps {
                        reports[*i].deploy = Some(Err(StageError::Deploy(e.clone())));
                    }
                    return Deployed::Ran;
                }
            };
        let one = deploy::deploy(
            &client,
            std::slice::from_ref(&merged),
            &opts.deploy,
            &mut on_event,
        )
        .await
        .pop()
        .expect("one result per app");
        apps.iter().map(|_| one.clone()).collect()
    } else {
        deploy::deploy(&client, &only, &opts.deploy, &mut on_event).await
    };
    let elapsed = start.elapsed();
    for ((i, _), result) in apps.iter().zip(results) {
        match &result {
            Ok(r) => reporter.info(&report_line(r, true)),
            Err(e) => {
                if let Some(r) = e.report() {
                    reporter.warn(&report_line(r, true));
                }
                reporter.warn(&format!("  error: {e}"));
            }
        }
        reports[*i].timings.push(("deploy", elapsed));
        reports[*i].deploy = Some(result.map_err(StageError::Deploy));
    }
    Deployed::Ran
}

/// One line per app: name, version, state and wadm's message; `(unchanged)`
/// after a deploy that sent nothing.
pub fn report_line(r: &AppReport, after_deploy: bool) -> String {
    let changed = if r.changed || !after_deploy {
        ""
    } else {
        " (unchanged)"
    };
    format!(
        "  {:<32} {:<10} {:<12} {}{changed}",
        r.app,
        r.version,
        r.state.to_string(),
        r.message
    )
}

/// The version of a single-app deployment: a digest of its manifests, so an
/// unchanged workflow re-deploys as unchanged.
fn single_app_version(apps: &[AppManifest]) -> String {
    let mut text = String::new();
    for a in apps {
        text.push_str(&serde_yaml::to_string(&a.manifest).unwrap_or_default());
    }
    format!(
        "pelato-{}",
        &crate::util::digest::sha256_hex(text.as_bytes())[..12]
    )
}

/// The `pelato run` command that runs `project` locally: a message on its first
/// task's source topic, with that task's first test input as the body.
fn local_run_command(project: &Project) -> String {
    let dir = &project.workflow.root;
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| dir.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .map_or_else(
            || dir.display().to_string(),
            |rel| {
                if rel.as_os_str().is_empty() {
                    ".".to_string()
                } else {
                    rel.display().to_string()
                }
            },
        );
    let first = project.workflow.tasks.first();
    let topic = first.map_or_else(
        || "topic".to_string(),
        |t| super::concrete_subject(&t.source_topic),
    );
    let body = first
        .and_then(|t| t.tests.first())
        .map_or("hello", |c| c.input.as_str());
    deploy::run_command(&shown, &topic, body)
}

/// The deploy stage for wasmCloud 2: the WorkloadDeployments started on
/// `wash host` hosts over NATS ([`crate::deploy_v2`]), or, without
/// `NATS_HOST`, the kubectl commands for the runtime-operator.
async fn deploy_v2_all(
    project: &Project,
    reports: &mut [TaskReport],
    opts: &DeployStageOptions,
    reporter: &dyn Reporter,
) -> Deployed {
    use crate::deploy_v2;
    let tasks: Vec<(usize, PathBuf)> = reports
        .iter()
        .enumerate()
        .filter(|(_, r)| r.failure().is_none())
        .filter_map(|(i, r)| match &r.gen {
            Some(Ok(g)) => Some((i, g.workload_path())),
            _ => None,
        })
        .collect();
    let Some(nats) = &opts.nats else {
        let paths: Vec<PathBuf> = tasks.into_iter().map(|(_, p)| p).collect();
        let hint = format!(
            "platform wasmcloud-v2: set NATS_HOST/NATS_PORT to start the workloads on `wash host` hosts (NATS_HOST=127.0.0.1 NATS_PORT=4222 pelato deploy --platform wasmcloud-v2), or apply the WorkloadDeployments with the runtime-operator: {}",
            paths
                .iter()
                .map(|p| format!("kubectl apply -f {}", p.display()))
                .collect::<Vec<_>>()
                .join("; ")
        );
        return Deployed::NotConfigured {
            manifests: paths,
            hint,
        };
    };
    let fail_all = |reports: &mut [TaskReport], e: deploy_v2::V2Error| {
        for (i, _) in &tasks {
            reports[*i].deploy = Some(Err(StageError::DeployV2(e.clone())));
        }
    };
    let mut plans: Vec<(usize, deploy_v2::WorkloadPlan)> = Vec::new();
    for (i, path) in &tasks {
        match deploy_v2::load_plans(path) {
            Ok(ps) => plans.extend(ps.into_iter().map(|p| (*i, p))),
            Err(e) => reports[*i].deploy = Some(Err(e.into())),
        }
    }
    for (i, _) in &tasks {
        reporter.stage(&reports[*i].component, Stage::Deploy);
    }
    let start = Instant::now();
    let client = match deploy::connect_nats(nats).await {
        Ok(c) => c,
        Err(e) => {
            fail_all(reports, e.into());
            return Deployed::Ran;
        }
    };
    let window = opts.discovery.unwrap_or(deploy_v2::DEFAULT_DISCOVERY);
    reporter.info(&format!(
        "discovering wasmCloud 2 hosts on NATS {}:{} ({:.0} s of heartbeats)",
        nats.host,
        nats.port,
        window.as_secs_f64()
    ));
    let known = deploy_v2::State::load(&project.workflow.root).hosts;
    let only: Vec<deploy_v2::WorkloadPlan> = plans.iter().map(|(_, p)| p.clone()).collect();
    let hosts = match deploy_v2::discover(&client, window, &known, &deploy_v2::groups(&only)).await
    {
        Ok(h) if h.is_empty() => {
            fail_all(
                reports,
                deploy_v2::V2Error::NoHosts {
                    nats: nats.address(),
                    secs: window.as_secs_f64(),
                },
            );
            return Deployed::Ran;
        }
        Ok(h) => h,
        Err(e) => {
            fail_all(reports, e);
            return Deployed::Ran;
        }
    };
    for h in &hosts {
        reporter.info(&format!(
            "  host {} (group {}, {} {})",
            h.id, h.hostgroup, h.name, h.version
        ));
    }
    let found = start.elapsed();
    let mut on_event = |r: &deploy_v2::WorkloadReport| reporter.info(&deploy_v2::report_line(r));
    let results = match deploy_v2::deploy(
        &client,
        &project.workflow.root,
        &hosts,
        &only,
        opts.deploy.timeout,
        &mut on_event,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            fail_all(reports, e);
            return Deployed::Ran;
        }
    };
    let elapsed = start.elapsed();
    reporter.info(&format!(
        "{} workload(s) handled in {:.1} s (hosts found in {:.1} s, then start → running in {:.1} s)",
        results.len(),
        elapsed.as_secs_f64(),
        found.as_secs_f64(),
        (elapsed - found).as_secs_f64()
    ));
    for (i, _) in &tasks {
        if reports[*i].deploy.is_some() {
            continue;
        }
        let mine: Vec<&Result<deploy_v2::WorkloadReport, deploy_v2::V2Error>> = plans
            .iter()
            .zip(&results)
            .filter(|((t, _), _)| t == i)
            .map(|(_, r)| r)
            .collect();
        let outcome = match mine.iter().find_map(|r| r.as_ref().err()) {
            Some(e) => {
                reporter.warn(&format!("  error: {e}"));
                Err(StageError::DeployV2(e.clone()))
            }
            None => {
                let ok: Vec<&deploy_v2::WorkloadReport> =
                    mine.iter().filter_map(|r| r.as_ref().ok()).collect();
                let task = &project.workflow.tasks[*i];
                Ok(AppReport {
                    app: project.workflow.app_name(task),
                    task: reports[*i].task.clone(),
                    version: task.version.to_string(),
                    state: crate::deploy::AppState::Deployed,
                    message: format!(
                        "{} workload(s) running: {}",
                        ok.len(),
                        ok.iter()
                            .map(|r| format!("{} on {} ({})", r.id, r.host, r.hostgroup))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    changed: ok.iter().any(|r| r.changed),
                    transitions: Vec::new(),
                })
            }
        };
        reports[*i].timings.push(("deploy", elapsed));
        reports[*i].deploy = Some(outcome);
    }
    Deployed::Ran
}

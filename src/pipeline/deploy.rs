//! The deploy stage: put and deploy each task's wadm application (or one for
//! the whole workflow) over NATS, following status until Deployed, Failed or
//! the timeout.

use std::path::PathBuf;
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
    let Some(nats) = &opts.nats else {
        let paths: Vec<PathBuf> = manifests.into_iter().map(|(_, p)| p).collect();
        let hint = deploy::deploy_hint(&paths);
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

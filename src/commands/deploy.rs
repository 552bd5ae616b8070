//! `pelato deploy | remove | status PROJECT`: wadm applications over NATS.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use pelato::deploy::{self, AppManifest, AppReport, DeployOptions, NatsOptions};
use pelato::pipeline::{self, Project, TaskReport};
use pelato::report::StageRecord;

use super::ProjectArg;

/// How to reach the lattice (host and port come from NATS_HOST / NATS_PORT).
#[derive(clap::Args, Debug, Clone)]
pub struct NatsArgs {
    /// wadm lattice name.
    #[arg(long, default_value = "default")]
    pub lattice: String,
    /// NATS credentials file (JWT + nkey seed).
    #[arg(long)]
    pub creds: Option<PathBuf>,
    /// NATS user JWT (with NATS_NKEY_SEED).
    #[arg(long)]
    pub jwt: Option<String>,
    /// CA certificate for TLS to NATS.
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
    /// Require TLS to NATS.
    #[arg(long)]
    pub tls: bool,
    /// Seconds to wait for the NATS connection.
    #[arg(long, default_value_t = 5.0)]
    pub connect_timeout: f64,
}

impl NatsArgs {
    /// NATS options, or `None` when NATS_HOST is not configured.
    pub fn options(&self, project: &Project) -> Option<NatsOptions> {
        let host = project.settings.nats_host.clone()?;
        Some(NatsOptions {
            host,
            port: project.settings.nats_port.unwrap_or(4222),
            lattice: self.lattice.clone(),
            creds_file: self.creds.clone(),
            // Read from the environment only, so the seed never shows in a process list.
            nkey_seed: project.env.nats_nkey_seed().map(|s| s.expose().to_string()),
            jwt: self.jwt.clone(),
            tls_ca: self.tls_ca.clone(),
            tls_required: self.tls,
            connect_timeout: Duration::from_secs_f64(self.connect_timeout.max(0.1)),
        })
    }
}

/// The wadm application names of a project's tasks.
fn app_names(project: &Project) -> Vec<String> {
    project
        .workflow
        .tasks
        .iter()
        .map(|t| pelato::gen::app_name(&project.workflow, t))
        .collect()
}

/// Options of the deploy stage.
#[derive(clap::Args, Debug, Clone)]
pub struct DeployStageArgs {
    #[command(flatten)]
    pub nats: NatsArgs,
    /// Return after the put/deploy acknowledgements instead of following status.
    #[arg(long)]
    pub no_wait: bool,
    /// Seconds to wait for every application to be Deployed.
    #[arg(long = "deploy-timeout", default_value_t = 120.0)]
    pub deploy_timeout: f64,
    /// Deploy the whole workflow as one wadm application.
    #[arg(long)]
    pub single_app: bool,
}

/// One line per app; `(unchanged)` only after a deploy that sent nothing.
fn print_report(r: &AppReport, after_deploy: bool) {
    let changed = if r.changed || !after_deploy {
        ""
    } else {
        " (unchanged)"
    };
    eprintln!(
        "  {:<32} {:<10} {:<12} {}{changed}",
        r.app,
        r.version,
        r.state.to_string(),
        r.message
    );
}

/// Runs the deploy stage on generated tasks; adds a `deploy` stage record to
/// each report. Returns `false` when NATS is not configured (after printing
/// the commands that would deploy).
pub fn deploy_stage(
    project: &Project,
    reports: &mut [TaskReport],
    args: &DeployStageArgs,
) -> anyhow::Result<bool> {
    let manifests: Vec<(usize, PathBuf)> = reports
        .iter()
        .enumerate()
        .filter(|(_, r)| r.failure().is_none())
        .filter_map(|(i, r)| match &r.gen {
            Some(Ok(g)) => Some((i, g.manifest_path())),
            _ => None,
        })
        .collect();
    let Some(nats) = args.nats.options(project) else {
        let paths: Vec<PathBuf> = manifests.iter().map(|(_, p)| p.clone()).collect();
        let root = project.workflow.root.display().to_string();
        let hint = deploy::deploy_hint(&paths).replace(
            "NATS_PORT=4222 pelato deploy",
            &format!("NATS_PORT=4222 pelato deploy {root}"),
        );
        eprintln!("\nNATS_HOST is not set.\n{hint}");
        return Ok(false);
    };
    let mut apps: Vec<(usize, AppManifest)> = Vec::new();
    for (i, path) in &manifests {
        match deploy::load_manifest(&reports[*i].task, path) {
            Ok(m) => {
                for w in m.warnings() {
                    eprintln!("  warning ({}): {w}", reports[*i].task);
                }
                apps.push((*i, m));
            }
            Err(e) => reports[*i].extra_stages.push(failed_stage(e.to_string())),
        }
    }
    let opts = DeployOptions {
        wait: !args.no_wait,
        timeout: Duration::from_secs_f64(args.deploy_timeout.max(0.1)),
    };
    let rt = super::runtime()?;
    let client = match rt.block_on(deploy::connect(&nats)) {
        Ok(c) => c,
        Err(e) => {
            for (i, _) in &apps {
                reports[*i].extra_stages.push(failed_stage(e.to_string()));
            }
            return Ok(true);
        }
    };
    eprintln!(
        "deploying to lattice `{}` at {}:{}",
        nats.lattice, nats.host, nats.port
    );
    let mut on_event = |r: &AppReport| {
        eprintln!(
            "  {:<32} → {:<10} {}",
            r.app,
            r.state.to_string(),
            r.message
        );
    };
    let only: Vec<AppManifest> = apps.iter().map(|(_, m)| m.clone()).collect();
    if args.single_app {
        let version = single_app_version(&only);
        let merged = deploy::merge_single_app(&project.workflow.project_slug(), &version, &only)?;
        let result = rt
            .block_on(deploy::deploy(
                &client,
                std::slice::from_ref(&merged),
                &opts,
                &mut on_event,
            ))
            .pop()
            .expect("one result per app");
        for (i, _) in &apps {
            reports[*i].extra_stages.push(stage_of(&result));
        }
        report_result(&result);
    } else {
        let results = rt.block_on(deploy::deploy(&client, &only, &opts, &mut on_event));
        for ((i, _), result) in apps.iter().zip(results) {
            report_result(&result);
            reports[*i].extra_stages.push(stage_of(&result));
        }
    }
    Ok(true)
}

fn single_app_version(apps: &[AppManifest]) -> String {
    let mut text = String::new();
    for a in apps {
        text.push_str(&serde_yaml::to_string(&a.manifest).unwrap_or_default());
    }
    format!(
        "pelato-{}",
        &pelato::util::digest::sha256_hex(text.as_bytes())[..12]
    )
}

fn report_result(result: &Result<AppReport, deploy::DeployError>) {
    match result {
        Ok(r) => print_report(r, true),
        Err(e) => {
            if let Some(r) = e.report() {
                print_report(r, true);
            }
            eprintln!("  error: {e}");
        }
    }
}

fn failed_stage(error: String) -> StageRecord {
    StageRecord {
        stage: "deploy".into(),
        error: Some(error),
        ..StageRecord::default()
    }
}

fn stage_of(result: &Result<AppReport, deploy::DeployError>) -> StageRecord {
    match result {
        Ok(r) => StageRecord {
            stage: "deploy".into(),
            ok: true,
            state: Some(r.state.to_string()),
            ..StageRecord::default()
        },
        Err(e) => StageRecord {
            state: e.report().map(|r| r.state.to_string()),
            ..failed_stage(e.to_string())
        },
    }
}

/// Put and deploy the project's wadm applications, then follow their status.
#[derive(clap::Args, Debug)]
pub struct DeployArgs {
    #[command(flatten)]
    project: ProjectArg,
    #[command(flatten)]
    stage: DeployStageArgs,
    #[command(flatten)]
    out: super::OutputOpts,
}

impl DeployArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let run = super::Run::start("deploy", &self.out);
        let project = super::load_project(&self.project.project)?;
        let mut reports = pipeline::gen(&project);
        deploy_stage(&project, &mut reports, &self.stage)?;
        Ok(run.finish(&project, &reports, 1, None))
    }
}

/// Undeploy and delete the project's wadm applications.
#[derive(clap::Args, Debug)]
pub struct RemoveArgs {
    #[command(flatten)]
    project: ProjectArg,
    #[command(flatten)]
    nats: NatsArgs,
}

impl RemoveArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let project = super::load_project(&self.project.project)?;
        let Some(nats) = self.nats.options(&project) else {
            anyhow::bail!("NATS_HOST is not set (environment or .env): there is no lattice to remove applications from");
        };
        let rt = super::runtime()?;
        let client = rt.block_on(deploy::connect(&nats))?;
        let mut failed = 0;
        for r in rt.block_on(deploy::remove(&client, &app_names(&project))) {
            match r {
                Ok(r) if r.removed => eprintln!(
                    "  removed     {:<32} versions {}",
                    r.app,
                    r.versions.join(", ")
                ),
                Ok(r) => eprintln!("  not there   {}", r.app),
                Err(e) => {
                    failed += 1;
                    eprintln!("  error: {e}");
                }
            }
        }
        Ok(if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

/// Show the current status of the project's wadm applications.
#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    project: ProjectArg,
    #[command(flatten)]
    nats: NatsArgs,
}

impl StatusArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let project = super::load_project(&self.project.project)?;
        let Some(nats) = self.nats.options(&project) else {
            anyhow::bail!("NATS_HOST is not set (environment or .env): there is no lattice to ask");
        };
        let rt = super::runtime()?;
        let client = rt.block_on(deploy::connect(&nats))?;
        let mut failed = 0;
        for r in rt.block_on(deploy::status(&client, &app_names(&project))) {
            match r {
                Ok(r) => print_report(&r, false),
                Err(e) => {
                    failed += 1;
                    eprintln!("  {e}");
                }
            }
        }
        Ok(if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

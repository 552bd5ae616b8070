//! `pelato deploy | remove | status PROJECT`: wadm applications over NATS.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use pelato::deploy::{self, DeployOptions, NatsOptions};
use pelato::pipeline::deploy::{DeployStageOptions, Deployed};
use pelato::pipeline::{self, Project, TaskReport};

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
    /// wasmCloud 2: seconds to listen for host heartbeats (hosts send one every 15 s).
    #[arg(long = "discovery-timeout", default_value_t = 16.0)]
    pub discovery_timeout: f64,
}

impl NatsArgs {
    /// How long wasmCloud 2 discovery listens for heartbeats.
    pub fn discovery(&self) -> Duration {
        Duration::from_secs_f64(self.discovery_timeout.max(0.1))
    }

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

impl DeployStageArgs {
    /// The library's deploy stage options (`nats: None` without `NATS_HOST`).
    pub fn options(&self, project: &Project) -> DeployStageOptions {
        DeployStageOptions {
            nats: self.nats.options(project),
            deploy: DeployOptions {
                wait: !self.no_wait,
                timeout: Duration::from_secs_f64(self.deploy_timeout.max(0.1)),
            },
            single_app: self.single_app,
            discovery: Some(self.nats.discovery()),
        }
    }
}

/// Runs the deploy stage on generated tasks, recording each task's outcome
/// in its report. Without `NATS_HOST`, prints the commands that would deploy.
pub fn deploy_stage(
    run: &super::Run,
    project: &Project,
    reports: &mut [TaskReport],
    args: &DeployStageArgs,
) -> anyhow::Result<()> {
    let rt = super::runtime()?;
    let deployed = rt.block_on(pipeline::deploy::deploy_all(
        project,
        reports,
        &args.options(project),
        run,
    ));
    if let Deployed::NotConfigured { hint, .. } = deployed {
        let root = project.workflow.root.display().to_string();
        let hint = hint.replace(
            "NATS_PORT=4222 pelato deploy",
            &format!("NATS_PORT=4222 pelato deploy {root}"),
        );
        run.always(format!("\nNATS_HOST is not set.\n{hint}"));
    }
    Ok(())
}

/// Put and deploy the project's wadm applications, then follow their status.
#[derive(clap::Args, Debug)]
pub struct DeployArgs {
    #[command(flatten)]
    project: ProjectArg,
    #[command(flatten)]
    platform: super::PlatformArg,
    #[command(flatten)]
    stage: DeployStageArgs,
    #[command(flatten)]
    out: super::OutputOpts,
}

impl DeployArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let run = super::Run::start("deploy", &self.out);
        let project = super::load_project(&self.project.project, &self.platform)?;
        let mut reports = pipeline::gen(&project);
        deploy_stage(&run, &project, &mut reports, &self.stage)?;
        Ok(run.finish(&project, &reports, 1, None))
    }
}

/// Undeploy and delete the project's wadm applications.
#[derive(clap::Args, Debug)]
pub struct RemoveArgs {
    #[command(flatten)]
    project: ProjectArg,
    #[command(flatten)]
    platform: super::PlatformArg,
    #[command(flatten)]
    nats: NatsArgs,
}

impl RemoveArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let project = super::load_project(&self.project.project, &self.platform)?;
        let Some(nats) = self.nats.options(&project) else {
            anyhow::bail!("NATS_HOST is not set (environment or .env): there is no lattice to remove applications from");
        };
        if project.workflow.platform == pelato::workflow::Platform::WasmcloudV2 {
            return v2(&project, &nats, &self.nats, V2Command::Remove);
        }
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
    platform: super::PlatformArg,
    #[command(flatten)]
    nats: NatsArgs,
}

impl StatusArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let project = super::load_project(&self.project.project, &self.platform)?;
        let Some(nats) = self.nats.options(&project) else {
            anyhow::bail!("NATS_HOST is not set (environment or .env): there is no lattice to ask");
        };
        if project.workflow.platform == pelato::workflow::Platform::WasmcloudV2 {
            return v2(&project, &nats, &self.nats, V2Command::Status);
        }
        let rt = super::runtime()?;
        let client = rt.block_on(deploy::connect(&nats))?;
        let mut failed = 0;
        for r in rt.block_on(deploy::status(&client, &app_names(&project))) {
            match r {
                Ok(r) => eprintln!("{}", pipeline::deploy::report_line(&r, false)),
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

/// `status` or `remove` on wasmCloud 2 hosts.
enum V2Command {
    Status,
    Remove,
}

/// `status`/`remove` for `platform: wasmcloud-v2`: discovers the hosts, then
/// asks about (or stops) every workload of the project's WorkloadDeployments.
fn v2(
    project: &Project,
    nats: &NatsOptions,
    args: &NatsArgs,
    command: V2Command,
) -> anyhow::Result<ExitCode> {
    use pelato::deploy_v2;
    let reports = pipeline::gen(project);
    let mut plans = Vec::new();
    for r in &reports {
        if let Some(Ok(g)) = &r.gen {
            plans.extend(deploy_v2::load_plans(&g.workload_path())?);
        } else if let Some((stage, e)) = r.failure() {
            anyhow::bail!("task `{}`: {stage}: {e}", r.task);
        }
    }
    let rt = super::runtime()?;
    rt.block_on(async {
        let client = deploy::connect_nats(nats).await?;
        let known = deploy_v2::State::load(&project.workflow.root).hosts;
        let hosts = deploy_v2::discover(
            &client,
            args.discovery(),
            &known,
            &deploy_v2::groups(&plans),
        )
        .await?;
        if hosts.is_empty() {
            return Err(deploy_v2::V2Error::NoHosts {
                nats: nats.address(),
                secs: args.discovery().as_secs_f64(),
            }
            .into());
        }
        match command {
            V2Command::Status => {
                let mut running = 0;
                let all = deploy_v2::status(&client, &hosts, &plans).await?;
                for r in &all {
                    running += usize::from(r.state == "WORKLOAD_STATE_RUNNING");
                    eprintln!("{}", deploy_v2::report_line_status(r));
                }
                eprintln!("{running} of {} workload(s) running", plans.len());
            }
            V2Command::Remove => {
                let stopped = deploy_v2::remove(
                    &client,
                    &project.workflow.root,
                    &hosts,
                    &plans,
                    Duration::from_secs(30),
                )
                .await?;
                for r in &stopped {
                    eprintln!("  stopped     {:<36} host {}", r.id, r.host);
                }
                if stopped.is_empty() {
                    eprintln!(
                        "  nothing of {} runs on the {} host(s) seen",
                        project.workflow.project_name,
                        hosts.len()
                    );
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

//! `pelato brush PROJECT`: the whole pipeline.

use std::process::ExitCode;

use pelato::harness::Harness;
use pelato::pipeline::{self, Project};

use super::{BuildOpts, OutputOpts, ProjectArg, Run};

/// The whole pipeline: gen → build → test → push → deploy (when NATS_HOST is set).
#[derive(clap::Args, Debug)]
pub struct BrushArgs {
    #[command(flatten)]
    project: ProjectArg,
    #[command(flatten)]
    opts: BuildOpts,
    #[command(flatten)]
    push: super::push::PushStageArgs,
    #[command(flatten)]
    deploy: super::deploy::DeployStageArgs,
    #[command(flatten)]
    out: OutputOpts,
}

impl BrushArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let run = std::sync::Arc::new(Run::start("brush", &self.out));
        let project = Project::load(&self.project.project)?;
        let toolchain = pelato::toolchain::discover()?;
        run.progress(format!("toolchain: {}", toolchain.identity()));
        let mut opts = self.opts.run_options(&project);
        opts.on_stage = Some(run.stage_hook());
        let mut reports = pipeline::build(&project, &toolchain, &opts, &|r| run.built(r));
        let harness = Harness::new(opts.harness.clone())?;
        pipeline::test_all(&project, &harness, &mut reports, &opts, &|r| run.tested(r));
        // Only tasks that passed every stage so far are pushed, then deployed.
        super::push::push_stage(&project, &mut reports, &self.push, &run)?;
        super::deploy::deploy_stage(&project, &mut reports, &self.deploy)?;
        Ok(run.finish(&project, &reports, opts.jobs, Some(toolchain.identity())))
    }
}

//! `pelato brush PROJECT`: the whole pipeline.

use std::process::ExitCode;

use super::{BuildOpts, OutputOpts, ProjectArg, Started};

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
        let mut s = Started::build("brush", &self.project, &self.opts, &self.out)?;
        s.test()?;
        // Only tasks that passed every stage so far are pushed, then deployed.
        super::push::push_stage(&mut s, &self.push)?;
        super::deploy::deploy_stage(&s.run, &s.project, &mut s.reports, &self.deploy)?;
        Ok(s.finish())
    }
}

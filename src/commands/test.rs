//! `pelato test PROJECT`

use std::process::ExitCode;

use pelato::harness::Harness;
use pelato::pipeline::{self, Project};

use super::{BuildOpts, OutputOpts, ProjectArg, Run};

/// Build if needed, then run every task's `tests:` cases in the harness.
#[derive(clap::Args, Debug)]
pub struct TestArgs {
    #[command(flatten)]
    project: ProjectArg,
    #[command(flatten)]
    opts: BuildOpts,
    #[command(flatten)]
    out: OutputOpts,
}

impl TestArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let run = std::sync::Arc::new(Run::start("test", &self.out));
        let project = Project::load(&self.project.project)?;
        let toolchain = pelato::toolchain::discover()?;
        let mut opts = self.opts.run_options(&project);
        opts.on_stage = Some(run.stage_hook());
        let mut reports = pipeline::build(&project, &toolchain, &opts, &|r| run.built(r));
        let harness = Harness::new(opts.harness.clone())?;
        pipeline::test_all(&project, &harness, &mut reports, &opts, &|r| run.tested(r));
        Ok(run.finish(&project, &reports, opts.jobs, Some(toolchain.identity())))
    }
}

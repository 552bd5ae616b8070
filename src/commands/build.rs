//! `pelato build PROJECT`

use std::process::ExitCode;

use pelato::pipeline::{self, Project};

use super::{BuildOpts, OutputOpts, ProjectArg, Run};

/// Generate, then compile and componentize every task (cached, in parallel).
#[derive(clap::Args, Debug)]
pub struct BuildArgs {
    #[command(flatten)]
    project: ProjectArg,
    #[command(flatten)]
    opts: BuildOpts,
    #[command(flatten)]
    out: OutputOpts,
}

impl BuildArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let run = std::sync::Arc::new(Run::start("build", &self.out));
        let project = Project::load(&self.project.project)?;
        let toolchain = pelato::toolchain::discover()?;
        run.progress(format!("toolchain: {}", toolchain.identity()));
        let mut opts = self.opts.run_options(&project);
        opts.on_stage = Some(run.stage_hook());
        let reports = pipeline::build(&project, &toolchain, &opts, &|r| run.built(r));
        Ok(run.finish(&project, &reports, opts.jobs, Some(toolchain.identity())))
    }
}

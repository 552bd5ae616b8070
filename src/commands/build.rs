//! `pelato build PROJECT`

use std::process::ExitCode;

use pelato::pipeline::{self, Project};

use super::{print_built, print_summary, BuildOpts, ProjectArg};

/// Generate, then compile and componentize every task (cached, in parallel).
#[derive(clap::Args, Debug)]
pub struct BuildArgs {
    #[command(flatten)]
    project: ProjectArg,
    #[command(flatten)]
    opts: BuildOpts,
}

impl BuildArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let project = Project::load(&self.project.project)?;
        let toolchain = pelato::toolchain::discover()?;
        eprintln!("toolchain: {}", toolchain.identity());
        let opts = self.opts.run_options(&project);
        let reports = pipeline::build(&project, &toolchain, &opts, &print_built);
        Ok(if print_summary(&reports) == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

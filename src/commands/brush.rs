//! `pelato brush PROJECT`: the whole pipeline.

use std::process::ExitCode;

use pelato::harness::Harness;
use pelato::pipeline::{self, Project};

use super::{print_built, print_summary, BuildOpts, ProjectArg};

/// The whole pipeline: gen → build → test.
#[derive(clap::Args, Debug)]
pub struct BrushArgs {
    #[command(flatten)]
    project: ProjectArg,
    #[command(flatten)]
    opts: BuildOpts,
}

impl BrushArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let project = Project::load(&self.project.project)?;
        let toolchain = pelato::toolchain::discover()?;
        eprintln!("toolchain: {}", toolchain.identity());
        let opts = self.opts.run_options(&project);
        let mut reports = pipeline::build(&project, &toolchain, &opts, &print_built);
        let harness = Harness::new(opts.harness.clone())?;
        super::test::run_tests(&project, &harness, &mut reports);
        Ok(if print_summary(&reports) == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

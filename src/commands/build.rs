//! `pelato build PROJECT`

use std::process::ExitCode;

use super::{BuildOpts, OutputOpts, ProjectArg, Started};

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
        Ok(Started::build("build", &self.project, &self.opts, &self.out)?.finish())
    }
}

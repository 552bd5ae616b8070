//! `pelato test PROJECT`

use std::process::ExitCode;

use super::{BuildOpts, OutputOpts, ProjectArg, Started};

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
        let mut started = Started::build("test", &self.project, &self.opts, &self.out)?;
        started.test()?;
        Ok(started.finish())
    }
}

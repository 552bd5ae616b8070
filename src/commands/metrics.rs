//! `pelato metrics PROJECT`

use std::process::ExitCode;

use super::ProjectArg;

/// Summarise the last runs recorded with ENABLE_METRICS=true.
#[derive(clap::Args, Debug)]
pub struct MetricsArgs {
    #[command(flatten)]
    project: ProjectArg,
    /// How many runs to show.
    #[arg(long, default_value_t = 10)]
    last: usize,
}

impl MetricsArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let runs = pelato::report::read_metrics(&self.project.project)?;
        if runs.is_empty() {
            eprintln!(
                "no metrics in {}: set ENABLE_METRICS=true (environment or .env) and run a command",
                self.project
                    .project
                    .join(pelato::report::METRICS_FILE)
                    .display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        print!("{}", pelato::report::summary_table(&runs, self.last));
        Ok(ExitCode::SUCCESS)
    }
}

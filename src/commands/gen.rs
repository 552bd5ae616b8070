//! `pelato gen PROJECT`

use std::process::ExitCode;

use pelato::pipeline::{self, Project};

use super::{print_summary, ProjectArg};

/// Validate workflow.yaml and render each task's Go module and wadm manifest.
#[derive(clap::Args, Debug)]
pub struct GenArgs {
    #[command(flatten)]
    project: ProjectArg,
}

impl GenArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let project = Project::load(&self.project.project)?;
        let reports = pipeline::gen(&project);
        for r in &reports {
            if let Some(Ok(g)) = &r.gen {
                eprintln!("  gen    {:<24} {}", r.component, g.dir.display());
                for w in &g.rendered.warnings {
                    eprintln!("         warning: {w}");
                }
            }
        }
        Ok(if print_summary(&reports) == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

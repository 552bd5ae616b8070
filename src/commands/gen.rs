//! `pelato gen PROJECT`

use std::process::ExitCode;

use pelato::pipeline;

use super::{OutputOpts, ProjectArg, Run};

/// Validate workflow.yaml and render each task's Go module and wadm manifest.
#[derive(clap::Args, Debug)]
pub struct GenArgs {
    #[command(flatten)]
    project: ProjectArg,
    #[command(flatten)]
    platform: super::PlatformArg,
    #[command(flatten)]
    out: OutputOpts,
}

impl GenArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let run = Run::start("gen", &self.out);
        let project = super::load_project(&self.project.project, &self.platform)?;
        let reports = pipeline::gen(&project);
        for r in &reports {
            if let Some(Ok(g)) = &r.gen {
                run.progress(format!(
                    "  gen    {:<24} {}  (wadm app {})",
                    r.component,
                    g.dir.display(),
                    g.rendered.app_name
                ));
                for w in &g.rendered.warnings {
                    run.progress(format!("         warning: {w}"));
                }
            }
        }
        Ok(run.finish(&project, &reports, 1, None))
    }
}

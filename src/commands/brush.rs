//! `pelato brush PROJECT`: the whole pipeline.

use std::process::ExitCode;

use pelato::harness::Harness;
use pelato::pipeline::{self, Project};

use super::{built_line, tested_lines, BuildOpts, OutputOpts, ProjectArg, Run};

/// The whole pipeline: gen → build → test.
#[derive(clap::Args, Debug)]
pub struct BrushArgs {
    #[command(flatten)]
    project: ProjectArg,
    #[command(flatten)]
    opts: BuildOpts,
    #[command(flatten)]
    out: OutputOpts,
}

impl BrushArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let run = Run::start("brush", &self.out);
        let project = Project::load(&self.project.project)?;
        let toolchain = pelato::toolchain::discover()?;
        run.progress(format!("toolchain: {}", toolchain.identity()));
        let opts = self.opts.run_options(&project);
        let mut reports = pipeline::build(&project, &toolchain, &opts, &|r| {
            run.progress(built_line(r))
        });
        let harness = Harness::new(opts.harness.clone())?;
        pipeline::test_all(&project, &harness, &mut reports, &|r| {
            for line in tested_lines(r) {
                if run.verbose() || line.starts_with("  FAIL") {
                    eprintln!("{line}");
                }
            }
        });
        Ok(run.finish(&project, &reports, opts.jobs, Some(toolchain.identity())))
    }
}

//! `pelato vendor PROJECT`

use std::process::ExitCode;

use pelato::gomod::{self, GoEnv, VendorError};
use pelato::pipeline::{self, RunOptions};

use super::ProjectArg;

/// Generate every task, then `go mod tidy` + `go mod vendor` in the project's module, so it
/// builds on a machine with no network.
#[derive(clap::Args, Debug)]
pub struct VendorArgs {
    #[command(flatten)]
    project: ProjectArg,
}

impl VendorArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let project = super::load_project(&self.project.project)?;
        let reports = pipeline::gen(&project);
        if let Some((stage, msg)) = reports.iter().find_map(|r| r.failure()) {
            anyhow::bail!("{stage} failed, nothing vendored:\n{msg}");
        }
        let toolchain = pelato::toolchain::select_for_build(
            &project.env,
            project.workflow.toolchain.as_deref(),
            false,
            &mut pelato::toolchain::install::Bar::stderr(),
        )?
        .toolchain;
        let cache = RunOptions::for_project(&project).cache_dir;
        let go = GoEnv::new(&project.env, &cache, true);
        match gomod::vendor(&project.workflow.root, &toolchain, &cache, &go) {
            Ok(report) => {
                eprintln!(
                    "vendored {} module(s) into {}; copy the project with this folder to build offline",
                    report.modules.len(),
                    report.vendor_dir.display()
                );
                for m in &report.modules {
                    eprintln!("  {m}");
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e @ VendorError::NoModule(_)) => {
                eprintln!("{e}");
                if let Some(fix) = e.fix() {
                    eprintln!("hint: {fix}");
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("error: {e}");
                if let Some(fix) = e.fix() {
                    eprintln!("hint: {fix}");
                }
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

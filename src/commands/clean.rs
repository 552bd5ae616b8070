//! `pelato clean PROJECT`

use std::process::ExitCode;

use super::ProjectArg;

/// Remove generated files (gen/, build/), the shared cache, or both.
#[derive(clap::Args, Debug)]
pub struct CleanArgs {
    #[command(flatten)]
    project: ProjectArg,
    /// Also remove PELATO's shared cache (Go build cache, component store, compiled code).
    #[arg(long)]
    cache: bool,
    /// Remove only the shared cache, not the project's generated files.
    #[arg(long, conflicts_with = "cache")]
    cache_only: bool,
}

fn remove(path: &std::path::Path) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => {
            eprintln!("removed {}", path.display());
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow::anyhow!("removing {}: {e}", path.display())),
    }
}

impl CleanArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        if !self.cache_only {
            let root = &self.project.project;
            if !root.join(pelato::workflow::WORKFLOW_FILE).is_file() {
                anyhow::bail!("{} has no workflow.yaml: not cleaning it", root.display());
            }
            remove(&root.join(pelato::gen::GEN_DIR))?;
            remove(&root.join(pelato::gen::BUILD_DIR))?;
        }
        if self.cache || self.cache_only {
            match pelato::config::Env::load(&self.project.project)?.cache_dir() {
                Some(dir) => remove(&dir)?,
                None => anyhow::bail!("no cache directory: set PELATO_CACHE_DIR or HOME"),
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

//! `pelato push PROJECT`: publish components as OCI artifacts.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pelato::pipeline::push::PushStageOptions;
use pelato::pipeline::{self, Project};
use pelato::push::{self, Destination, PushOptions};

use super::{BuildOpts, OutputOpts, ProjectArg, Started};

/// Options of the push stage.
#[derive(clap::Args, Debug, Clone)]
pub struct PushStageArgs {
    /// Push to this OCI layout directory or registry (`host:port[/prefix]`)
    /// instead of REGISTRY_URL / the project's local layout.
    #[arg(long)]
    pub to: Option<String>,
    /// Replace a tag that already holds a different component.
    #[arg(long)]
    pub force: bool,
}

impl PushStageArgs {
    /// The library's push stage options.
    pub fn options(&self) -> PushStageOptions {
        PushStageOptions {
            to: self.to.clone(),
            force: self.force,
        }
    }
}

/// Runs the push stage on what was built and tested so far.
pub fn push_stage(s: &mut Started, args: &PushStageArgs) -> anyhow::Result<()> {
    let rt = super::runtime()?;
    rt.block_on(pipeline::push::push_all(
        &s.project,
        &s.provenance,
        &mut s.reports,
        &args.options(),
        s.run.as_ref(),
    ))?;
    Ok(())
}

/// Build what is stale, then publish each component as an OCI artifact
/// (REGISTRY_URL, or a local OCI layout when none is set).
#[derive(clap::Args, Debug)]
pub struct PushArgs {
    #[command(flatten)]
    project: ProjectArg,
    #[command(flatten)]
    stage: PushStageArgs,
    /// Copy the components from an OCI layout to REGISTRY_URL instead of
    /// building: how an air-gapped box hands over.
    #[arg(long)]
    from_layout: bool,
    /// The OCI layout for --from-layout (default: the project's `.pelato/oci`).
    #[arg(long, value_name = "DIR", requires = "from_layout")]
    layout: Option<PathBuf>,
    #[command(flatten)]
    opts: BuildOpts,
    #[command(flatten)]
    out: OutputOpts,
}

impl PushArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        if self.from_layout {
            let project = super::load_project(&self.project.project)?;
            let layout = self.layout.clone().unwrap_or_else(|| {
                project
                    .workflow
                    .root
                    .join(pipeline::push::DEFAULT_LAYOUT_DIR)
            });
            return self.copy_from_layout(&project, &layout);
        }
        let mut s = Started::build("push", &self.project, &self.opts, &self.out)?;
        push_stage(&mut s, &self.stage)?;
        Ok(s.finish())
    }

    fn copy_from_layout(&self, project: &Project, layout: &Path) -> anyhow::Result<ExitCode> {
        let target = match pipeline::push::destination(project, self.stage.to.as_deref())? {
            Destination::Registry(t) => t,
            Destination::Layout(_) => anyhow::bail!(
                "--from-layout copies to a registry: set REGISTRY_URL (or pass --to host:port)"
            ),
        };
        let rt = super::runtime()?;
        let mut failed = 0;
        for task in &project.workflow.tasks {
            let r = rt.block_on(push::copy_layout_to_registry(
                layout,
                &task.component_name,
                &task.version.to_string(),
                &target,
                &PushOptions {
                    force: self.stage.force,
                },
            ));
            match r {
                Ok(o) => eprintln!(
                    "  copied {:<24} {}",
                    task.component_name, o.pinned_reference
                ),
                Err(e) => {
                    failed += 1;
                    eprintln!("  FAILED {:<24} {e}", task.component_name);
                }
            }
        }
        Ok(if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

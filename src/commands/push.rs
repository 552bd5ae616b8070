//! `pelato push PROJECT`: publish components as OCI artifacts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use pelato::pipeline::{Project, TaskReport};
use pelato::push::{self, ComponentArtifact, Destination, PushOptions};
use pelato::report::StageRecord;
use pelato::toolchain::Provenance;

use super::{BuildOpts, OutputOpts, ProjectArg, Run, Started};

/// Default local OCI layout, relative to the project, used when no registry is set.
pub const DEFAULT_LAYOUT_DIR: &str = ".pelato/oci";

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

fn destination(project: &Project, to: Option<&str>) -> anyhow::Result<Destination> {
    let s = &project.settings;
    let password = s.registry_password.as_ref().map(|p| p.expose());
    let layout = project.workflow.root.join(DEFAULT_LAYOUT_DIR);
    let dest = match to {
        Some(t) if t.starts_with('/') || t.starts_with('.') || Path::new(t).is_dir() => {
            Destination::Layout(PathBuf::from(t))
        }
        Some(t) => Destination::Registry(push::registry_from_settings(
            t,
            s.registry_user.as_deref(),
            password,
        )?),
        None => push::destination_from_settings(
            s.registry_url.as_deref(),
            s.registry_user.as_deref(),
            password,
            &layout,
        )?,
    };
    Ok(dest)
}

/// Points a generated manifest at the pushed, digest-pinned reference.
fn pin_manifest(path: &Path, from: &str, to: &str) -> std::io::Result<bool> {
    let text = std::fs::read_to_string(path)?;
    let old = format!("image: {}", serde_json::to_string(from).expect("string"));
    if text.matches(&old).count() != 1 {
        return Ok(false);
    }
    let new = format!("image: {}", serde_json::to_string(to).expect("string"));
    pelato::util::fs::write_atomic(path, text.replacen(&old, &new, 1).as_bytes())?;
    Ok(true)
}

/// Pushes every task that built and passed so far; adds a `push` stage record. Artifacts are
/// annotated with the task, template, project, PELATO's version and `toolchain`'s
/// [`Provenance::annotations`] (kind, version, sha256: nothing of the build box's file system).
pub fn push_stage(
    project: &Project,
    toolchain: &Provenance,
    reports: &mut [TaskReport],
    args: &PushStageArgs,
    run: &Run,
) -> anyhow::Result<()> {
    let dest = destination(project, args.to.as_deref())?;
    match &dest {
        Destination::Registry(t) => run.progress(format!("pushing to registry {}", t.registry)),
        Destination::Layout(d) => run.progress(format!(
            "pushing to the local OCI layout {} (no REGISTRY_URL set)",
            d.display()
        )),
    }
    let rt = super::runtime()?;
    let opts = PushOptions { force: args.force };
    for r in reports.iter_mut().filter(|r| r.failure().is_none()) {
        let Some(built) = r.built().cloned() else {
            continue;
        };
        let task = project.task(&r.component)?.clone();
        let wasm = std::fs::read(&built.path)
            .with_context(|| format!("reading {}", built.path.display()))?;
        let mut annotations = BTreeMap::from([
            ("task".to_string(), task.name.clone()),
            ("template".to_string(), task.template.clone()),
            (
                "pelato-version".to_string(),
                env!("CARGO_PKG_VERSION").to_string(),
            ),
            ("project".to_string(), project.workflow.project_name.clone()),
            // Whether the component was pre-initialized after Go's init.
            ("snapshot".to_string(), built.record.snapshot.to_string()),
        ]);
        annotations.extend(toolchain.annotations());
        let artifact = ComponentArtifact {
            wasm,
            name: task.component_name.clone(),
            version: task.version.to_string(),
            annotations,
            source: None,
        };
        let start = std::time::Instant::now();
        let result = rt.block_on(push::push(&artifact, &dest, &opts));
        let ms = start.elapsed().as_millis() as u64;
        let record = match result {
            Ok(o) => {
                run.progress(format!(
                    "  pushed {:<24} {}{}",
                    r.component,
                    o.pinned_reference,
                    if o.already_present {
                        "  (already there)"
                    } else {
                        ""
                    }
                ));
                if let (Destination::Registry(_), Some(Ok(g))) = (&dest, &r.gen) {
                    let default =
                        pelato::gen::default_image(&project.workflow, &task, &project.settings);
                    if !pin_manifest(&g.manifest_path(), &default, &o.pinned_reference)? {
                        run.always(format!(
                            "  warning: {} does not reference {default}; not pinned to {}",
                            g.manifest_path().display(),
                            o.pinned_reference
                        ));
                    }
                }
                StageRecord {
                    stage: "push".into(),
                    ok: true,
                    ms,
                    reference: Some(o.pinned_reference),
                    digest: Some(o.digest),
                    ..StageRecord::default()
                }
            }
            Err(e) => {
                run.always(format!("  FAILED push {:<24} {e}", r.component));
                StageRecord {
                    stage: "push".into(),
                    ms,
                    error: Some(e.to_string()),
                    ..StageRecord::default()
                }
            }
        };
        r.extra_stages.push(record);
    }
    if matches!(dest, Destination::Layout(_)) {
        run.progress(
            "note: wasmCloud hosts pull from registries, not from a layout: set REGISTRY_URL, or hand the layout over with `pelato push --from-layout`",
        );
    }
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
            let layout = self
                .layout
                .clone()
                .unwrap_or_else(|| project.workflow.root.join(DEFAULT_LAYOUT_DIR));
            return self.copy_from_layout(&project, &layout);
        }
        let mut s = Started::build("push", &self.project, &self.opts, &self.out)?;
        push_stage(
            &s.project,
            &s.provenance,
            &mut s.reports,
            &self.stage,
            &s.run,
        )?;
        Ok(s.finish())
    }

    fn copy_from_layout(&self, project: &Project, layout: &Path) -> anyhow::Result<ExitCode> {
        let target = match destination(project, self.stage.to.as_deref())? {
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

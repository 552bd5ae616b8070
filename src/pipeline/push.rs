//! The push stage: publish each task that built and passed as an OCI
//! artifact, to `REGISTRY_URL` or the project's local OCI layout, and pin the
//! task's generated manifest to the pushed digest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::push::{self, ComponentArtifact, Destination, PushError, PushOptions, PushOutcome};
use crate::toolchain::Provenance;

use super::{Project, Reporter, Stage, StageError, TaskReport};

/// Default local OCI layout, relative to the project, used when no registry is set.
pub const DEFAULT_LAYOUT_DIR: &str = ".pelato/oci";

/// Options of the push stage.
#[derive(Debug, Clone, Default)]
pub struct PushStageOptions {
    /// Push to this OCI layout directory or registry (`host:port[/prefix]`)
    /// instead of `REGISTRY_URL` / the project's local layout.
    pub to: Option<String>,
    /// Replace a tag that already holds a different component.
    pub force: bool,
}

/// Where the project's components go: `to` when given (a path is a
/// layout, anything else a registry), else `REGISTRY_URL`, else the
/// project's [`DEFAULT_LAYOUT_DIR`].
pub fn destination(project: &Project, to: Option<&str>) -> Result<Destination, PushError> {
    let s = &project.settings;
    let password = s.registry_password.as_ref().map(|p| p.expose());
    let layout = project.workflow.root.join(DEFAULT_LAYOUT_DIR);
    match to {
        Some(t) if t.starts_with('/') || t.starts_with('.') || Path::new(t).is_dir() => {
            Ok(Destination::Layout(PathBuf::from(t)))
        }
        Some(t) => Ok(Destination::Registry(push::registry_from_settings(
            t,
            s.registry_user.as_deref(),
            password,
        )?)),
        None => push::destination_from_settings(
            s.registry_url.as_deref(),
            s.registry_user.as_deref(),
            password,
            &layout,
        ),
    }
}

/// Pushes every task that built and passed so far, recording each
/// outcome in its report (`TaskReport::push`). Artifacts are annotated with
/// the task, template, project, PELATO's version and `toolchain`'s
/// [`Provenance::annotations`] (kind, version, sha256: nothing of the build
/// box's file system). After a push to a registry, the task's generated
/// manifest names the digest-pinned reference.
pub async fn push_all(
    project: &Project,
    toolchain: &Provenance,
    reports: &mut [TaskReport],
    opts: &PushStageOptions,
    reporter: &dyn Reporter,
) -> Result<Destination, PushError> {
    let dest = destination(project, opts.to.as_deref())?;
    match &dest {
        Destination::Registry(t) => reporter.info(&format!("pushing to registry {}", t.registry)),
        Destination::Layout(d) => reporter.info(&format!(
            "pushing to the local OCI layout {} (no REGISTRY_URL set)",
            d.display()
        )),
    }
    let push_opts = PushOptions { force: opts.force };
    for r in reports.iter_mut().filter(|r| r.failure().is_none()) {
        let Some(built) = r.built().cloned() else {
            continue;
        };
        let Some(task) = project.workflow.task_by_component(&r.component) else {
            continue;
        };
        reporter.stage(&r.component, Stage::Push);
        let start = Instant::now();
        let result = push_task(
            project,
            toolchain,
            task,
            &built.path,
            built.record.snapshot,
            &dest,
            &push_opts,
        )
        .await;
        r.timings.push(("push", start.elapsed()));
        match &result {
            Ok(o) => reporter.info(&format!(
                "  pushed {:<24} {}{}",
                r.component,
                o.pinned_reference,
                if o.already_present {
                    "  (already there)"
                } else {
                    ""
                }
            )),
            Err(e) => reporter.warn(&format!("  FAILED push {:<24} {e}", r.component)),
        }
        if let (Ok(o), Destination::Registry(_), Some(Ok(g))) = (&result, &dest, &r.gen) {
            let default = crate::gen::default_image(&project.workflow, task, &project.settings);
            let v2 = project.workflow.platform == crate::workflow::Platform::WasmcloudV2;
            let (path, pinned) = if v2 {
                let path = g.workload_path();
                let pinned = pin_workload(&path, &default, &o.pinned_reference);
                (path, pinned)
            } else {
                let path = g.manifest_path();
                let pinned =
                    pin_manifest(&path, &task.component_name, &default, &o.pinned_reference);
                (path, pinned)
            };
            if let Err(e) = pinned {
                reporter.warn(&format!(
                    "  warning: {}: not pinned to {}: {e}",
                    path.display(),
                    o.pinned_reference
                ));
            }
        }
        r.push = Some(result);
    }
    if matches!(dest, Destination::Layout(_)) {
        reporter.info(
            "note: wasmCloud hosts pull from registries, not from a layout: set REGISTRY_URL, or hand the layout over with `pelato push --from-layout`",
        );
    }
    Ok(dest)
}

/// Pushes one task's component.
async fn push_task(
    project: &Project,
    toolchain: &Provenance,
    task: &crate::workflow::Task,
    wasm_path: &Path,
    snapshot: bool,
    dest: &Destination,
    opts: &PushOptions,
) -> Result<PushOutcome, StageError> {
    let wasm = std::fs::read(wasm_path).map_err(|source| StageError::Read {
        path: wasm_path.to_path_buf(),
        source,
    })?;
    let mut annotations = BTreeMap::from([
        ("task".to_string(), task.name.clone()),
        ("template".to_string(), task.template.clone()),
        (
            "pelato-version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        ("project".to_string(), project.workflow.project_name.clone()),
        // Whether the component was pre-initialized after Go's init.
        ("snapshot".to_string(), snapshot.to_string()),
    ]);
    annotations.extend(toolchain.annotations());
    let artifact = ComponentArtifact {
        wasm,
        name: task.component_name.clone(),
        version: task.version.to_string(),
        annotations,
        source: None,
    };
    Ok(push::push(&artifact, dest, opts).await?)
}

/// Points a generated manifest's component at the pushed, digest-pinned
/// reference (see [`crate::manifest::pin_image`]).
fn pin_manifest(path: &Path, component: &str, from: &str, to: &str) -> Result<(), StageError> {
    let text = std::fs::read_to_string(path).map_err(|source| StageError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let pinned = crate::manifest::pin_image(&text, component, from, to)?;
    crate::util::fs::write_atomic(path, pinned.as_bytes()).map_err(|source| StageError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Points every component of a task's WorkloadDeployments (wasmCloud 2) that
/// has image `from` at the pushed, digest-pinned reference `to`.
fn pin_workload(path: &Path, from: &str, to: &str) -> Result<(), StageError> {
    let text = std::fs::read_to_string(path).map_err(|source| StageError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let invalid = |reason: String| {
        StageError::Pin(crate::manifest::PinError::Parse(format!(
            "{}: {reason}",
            path.display()
        )))
    };
    let mut docs = Vec::new();
    let mut pinned = 0;
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let mut v = <serde_json::Value as serde::Deserialize>::deserialize(doc)
            .map_err(|e| invalid(e.to_string()))?;
        if v.is_null() {
            continue;
        }
        if let Some(components) = v["spec"]["template"]["spec"]["components"].as_array_mut() {
            for c in components {
                if c["image"].as_str() == Some(from) {
                    c["image"] = serde_json::Value::String(to.to_string());
                    pinned += 1;
                }
            }
        }
        docs.push(v);
    }
    if pinned == 0 {
        return Err(StageError::Pin(crate::manifest::PinError::NotReferenced {
            component: "any".into(),
            image: from.to_string(),
        }));
    }
    crate::util::fs::write_atomic(path, crate::workload::to_yaml(&docs).as_bytes()).map_err(
        |source| StageError::Write {
            path: path.to_path_buf(),
            source,
        },
    )
}

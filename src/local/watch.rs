//! `pelato dev`: watch the project, rebuild what changed (the build cache
//! makes untouched tasks free), run the rebuilt tasks' `tests:`, and swap the
//! new components in while the others keep serving.
//!
//! What is watched: every file under the project folder except the outputs
//! (`gen/`, `build/`, `.pelato/`, `target/`) and hidden folders — so
//! `workflow.yaml`, `.env`, `tasks/`, `go.mod`/`go.sum`, `vendor/` and the
//! user's own Go packages inside the project. Changes are found by polling
//! (modification time and size), which works the same on every file system.
//!
//! A swap never drops a message: deliveries in flight finish on the version
//! they started with, and everything queued afterwards reaches the new one.
//! When a build fails, or workflow.yaml no longer loads, the error is shown
//! and the previous version keeps serving.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{routes_for, Dispatcher, Event, Routes, Stop};
use crate::harness::Harness;
use crate::pipeline::{Project, RunOptions};
use crate::toolchain::Toolchain;

/// Folders under the project that are outputs, not inputs.
const IGNORED_DIRS: &[&str] = &["gen", "build", "target", "node_modules"];

/// Size and modification time of every watched file, by path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fingerprint(BTreeMap<PathBuf, (u64, Option<SystemTime>)>);

impl Fingerprint {
    /// Reads the project folder `root`.
    pub fn of(root: &Path) -> Fingerprint {
        let mut files = BTreeMap::new();
        walk(root, root, &mut files);
        Fingerprint(files)
    }

    /// Paths (relative to the project) added, removed or changed since `old`.
    pub fn changed_since(&self, old: &Fingerprint) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = self
            .0
            .iter()
            .filter(|(p, v)| old.0.get(*p) != Some(v))
            .map(|(p, _)| p.clone())
            .collect();
        out.extend(old.0.keys().filter(|p| !self.0.contains_key(*p)).cloned());
        out.sort();
        out
    }
}

fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<PathBuf, (u64, Option<SystemTime>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        let Ok(meta) = e.metadata() else { continue };
        if meta.is_dir() {
            let top = dir == root;
            if name.starts_with('.') || (top && IGNORED_DIRS.contains(&name.as_ref())) {
                continue;
            }
            walk(root, &path, files);
        } else {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            files.insert(rel, (meta.len(), meta.modified().ok()));
        }
    }
}

/// What the dev loop needs besides the dispatcher.
pub struct DevContext<'a, 'h> {
    /// The project folder.
    pub dir: &'a Path,
    /// The harness the served components are loaded into.
    pub harness: &'h Harness,
    /// A second harness for the test cases, so that they never take an
    /// instance slot or a database connection from the served tasks.
    pub test_harness: &'a Harness,
    /// The toolchain that builds.
    pub toolchain: &'a Toolchain,
    /// Build options (snapshot, jobs, cache).
    pub opts: &'a RunOptions,
    /// How often the project folder is read.
    pub poll: Duration,
    /// Ends the loop.
    pub stop: &'a Stop,
}

/// The dev loop as the `side` of [`super::serve`].
pub fn side<'a, 'h>(ctx: &'a DevContext<'a, 'h>) -> impl Fn(&Dispatcher<'h>) + Sync + 'a {
    move |d| dev_loop(d, ctx)
}

/// Watches and rebuilds until `ctx.stop` is set.
pub fn dev_loop<'h>(d: &Dispatcher<'h>, ctx: &DevContext<'_, 'h>) {
    let mut seen = Fingerprint::of(ctx.dir);
    while !ctx.stop.is_set() {
        std::thread::sleep(ctx.poll);
        let now = Fingerprint::of(ctx.dir);
        if now == seen {
            continue;
        }
        // Let an editor finish writing (save = several writes) before building.
        std::thread::sleep(ctx.poll);
        let now = Fingerprint::of(ctx.dir);
        let changed = now.changed_since(&seen);
        seen = now;
        let list: Vec<String> = changed.iter().map(|p| p.display().to_string()).collect();
        d.emit(Event::Info(format!(
            "changed: {}; rebuilding",
            list.join(", ")
        )));
        rebuild(d, ctx);
    }
}

/// Reloads the project, rebuilds, tests and swaps what changed.
fn rebuild<'h>(d: &Dispatcher<'h>, ctx: &DevContext<'_, 'h>) {
    let project = match Project::load(ctx.dir) {
        Ok(p) => p,
        Err(e) => {
            d.emit(Event::Warning(format!(
                "{e}\nstill serving the previous version"
            )));
            return;
        }
    };
    let reports = crate::pipeline::build(&project, ctx.toolchain, ctx.opts, &|_| {});
    let current = d.routes();
    let (fresh, problems) = routes_for(ctx.harness, &project, &reports, Some(&current));
    let mut next: Vec<super::Route<'h>> = fresh.iter().cloned().collect();
    for (task, why) in &problems {
        match current.get(task) {
            Some(old) => {
                d.emit(Event::Warning(format!(
                    "task `{task}` {why}\nthe previous version keeps serving"
                )));
                next.push(old.clone());
            }
            None => d.emit(Event::Warning(format!("task `{task}` {why}"))),
        }
    }
    for route in fresh.iter() {
        let old = current.get(&route.task);
        if old.is_some_and(|o| o.sha256 == route.sha256 && o.source_topic == route.source_topic) {
            continue;
        }
        if route.http_port.is_some() && old.and_then(|o| o.http_port) != route.http_port {
            d.emit(Event::Warning(format!(
                "task `{}` now serves HTTP on port {}: restart `pelato dev` to open that listener",
                route.task,
                route.http_port.unwrap_or_default()
            )));
        }
        let tests = project
            .workflow
            .tasks
            .iter()
            .find(|t| t.name == route.task)
            .zip(
                reports
                    .iter()
                    .find(|r| r.task == route.task)
                    .and_then(|r| r.built()),
            )
            .map(|(task, built)| {
                crate::pipeline::test_task(&project, ctx.test_harness, task, built)
            });
        let verb = if old.is_some() { "swapped in" } else { "added" };
        let summary = match tests {
            Some(Ok(s)) if s.cases.is_empty() => "no test cases".to_string(),
            Some(Ok(s)) if s.failed() == 0 => {
                format!("tests {}/{} passed", s.cases.len(), s.cases.len())
            }
            Some(Ok(s)) => {
                let failed: Vec<String> = s
                    .cases
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| format!("  FAIL {}\n{}", c.name, c.diff))
                    .collect();
                d.emit(Event::Warning(format!(
                    "task `{}`: {} of {} test cases failed\n{}",
                    route.task,
                    s.failed(),
                    s.cases.len(),
                    failed.join("\n")
                )));
                format!("tests FAILED {}/{}", s.failed(), s.cases.len())
            }
            Some(Err(e)) => format!("tests could not run: {e}"),
            None => String::new(),
        };
        d.emit(Event::Info(format!(
            "task `{}` ({}) rebuilt and {verb}; {summary}",
            route.task, route.component_name
        )));
    }
    for old in current.iter() {
        if !next.iter().any(|r| r.task == old.task) {
            d.emit(Event::Info(format!(
                "task `{}` is no longer in workflow.yaml: removed",
                old.task
            )));
        }
    }
    d.set_routes(Routes::new(next));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_sees_inputs_not_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("tasks")).unwrap();
        std::fs::create_dir_all(root.join("build")).unwrap();
        std::fs::create_dir_all(root.join(".pelato")).unwrap();
        std::fs::write(root.join("workflow.yaml"), "a").unwrap();
        std::fs::write(root.join("tasks/a.go"), "package main").unwrap();
        let before = Fingerprint::of(root);
        // Outputs and hidden folders do not count.
        std::fs::write(root.join("build/a.wasm"), "x").unwrap();
        std::fs::write(root.join(".pelato/state"), "x").unwrap();
        assert!(Fingerprint::of(root).changed_since(&before).is_empty());
        // An edit (new size), a new file and a removal do.
        std::fs::write(root.join("tasks/a.go"), "package main // v2").unwrap();
        std::fs::write(root.join("tasks/b.go"), "package main").unwrap();
        std::fs::remove_file(root.join("workflow.yaml")).unwrap();
        let changed = Fingerprint::of(root).changed_since(&before);
        assert_eq!(
            changed,
            [
                PathBuf::from("tasks/a.go"),
                PathBuf::from("tasks/b.go"),
                PathBuf::from("workflow.yaml")
            ]
        );
    }
}

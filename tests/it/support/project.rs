//! Builds throw-away PELATO projects for integration tests, and finds the real
//! Go toolchain (installed by `scripts/setup`; a missing Go fails the test).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use pelato::pipeline::{self, Project, RunOptions, TaskReport};
use pelato::toolchain::Toolchain;

/// A project in a temp dir.
pub struct TestProject {
    /// Keeps the directory alive.
    pub dir: tempfile::TempDir,
}

impl TestProject {
    /// Writes `workflow.yaml` and `tasks/<name>` files.
    pub fn new(workflow: &str, tasks: &[(&str, &str)]) -> TestProject {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("workflow.yaml"), workflow).unwrap();
        std::fs::create_dir_all(dir.path().join("tasks")).unwrap();
        for (name, src) in tasks {
            std::fs::write(dir.path().join("tasks").join(name), src).unwrap();
        }
        TestProject { dir }
    }

    /// Project root.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Loads it.
    pub fn load(&self) -> Project {
        Project::load(self.path()).unwrap_or_else(|e| panic!("project should load: {e}"))
    }
}

/// The real Go toolchain, or a failure that says how to get it.
pub fn go() -> Toolchain {
    pelato::toolchain::discover().unwrap_or_else(|e| {
        panic!("these tests need the real Go compiler (>= 1.24): run `bash scripts/setup && . scripts/env`\n{e}")
    })
}

/// Run options sharing one Go build cache and compiled-code cache across tests.
pub fn options(project: &Project) -> RunOptions {
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pelato-test-cache");
    let mut o = RunOptions::for_project(project);
    o.cache_dir = cache.clone();
    o.harness.cache_dir = Some(cache.join("wasmtime"));
    o.jobs = 2;
    o
}

/// gen + build with the real Go.
pub fn build(project: &Project) -> Vec<TaskReport> {
    pipeline::build(project, &go(), &options(project), &|_| {})
}

/// A one-task processor workflow.
pub fn processor_workflow(component: &str, code: &str, extra: &str) -> String {
    format!(
        "project_name: t\ntasks:\n  - name: {component} task\n    type: processor_nats\n    code: tasks/{code}\n    targets: [edge]\n    source_topic: in.{component}\n    dest_topic: out.{component}\n    component_name: {component}\n    version: 1.0.0\n{extra}"
    )
}

/// A copy of the README's example project (`examples/iot-sensors`) in a temp dir.
pub fn copy_example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/iot-sensors"),
        dir.path(),
    );
    dir
}

/// A copy of the project `rel` (relative to the repository, e.g.
/// `fixtures/original/test-project`) in a temp dir, in a folder of the same
/// name (a project without `project_name` is named after its folder).
pub fn copy_project(rel: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let dest = dir.path().join(src.file_name().unwrap());
    copy_tree(&src, &dest);
    (dir, dest)
}

/// Copies the files of `src` into `dest` (recursively; `dest` is created).
pub fn copy_tree(src: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    for f in std::fs::read_dir(src).unwrap() {
        let f = f.unwrap();
        let to = dest.join(f.file_name());
        if f.file_type().unwrap().is_dir() {
            copy_tree(&f.path(), &to);
        } else {
            std::fs::copy(f.path(), &to).unwrap();
        }
    }
}

/// Converts a Fahrenheit reading; anything that is not a reading passes as is;
/// `boom…` panics; an empty input produces nothing.
pub const CONVERT: &str = r#"package main

import (
	"encoding/json"
	"math"
	"strings"
)

func exec_task(arg string) string {
	if strings.HasPrefix(arg, "boom") {
		panic("kaboom: " + arg)
	}
	var r struct {
		Sensor     string   `json:"sensor"`
		Fahrenheit *float64 `json:"fahrenheit"`
	}
	if err := json.Unmarshal([]byte(arg), &r); err != nil || r.Fahrenheit == nil {
		return arg
	}
	c := math.Round((*r.Fahrenheit-32)*5/9*10) / 10
	b, _ := json.Marshal(map[string]any{"sensor": r.Sensor, "celsius": c})
	return string(b)
}
"#;

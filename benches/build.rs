//! Build benchmark (run: `cargo bench --bench build`). On a 6-task workflow,
//! prints from one run: cold build, no-op rebuild (and its share of the cold
//! build), editing one task (and which tasks rebuilt), `-j 2` vs `-j 1`, and
//! PELATO's own per-task overhead as a share of the compiler's time.

use std::path::Path;
use std::time::{Duration, Instant};

use pelato::pipeline::{self, Project, RunOptions};

const TASKS: usize = 6;

fn write_project(dir: &Path) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/iot-sensors/tasks");
    std::fs::create_dir_all(dir.join("tasks")).unwrap();
    let sources = ["convert.go", "filter.go", "status.go"];
    let mut wf = String::from("project_name: bench\ntasks:\n");
    for i in 0..TASKS {
        let src = sources[i % sources.len()];
        let name = format!("task{i}.go");
        let mut code = std::fs::read_to_string(example.join(src)).unwrap();
        code.push_str(&format!("\nconst benchTask{i} = {i}\n"));
        std::fs::write(dir.join("tasks").join(&name), code).unwrap();
        wf.push_str(&format!(
            "  - name: task {i}\n    type: processor_nats\n    code: tasks/{name}\n    targets: [edge, cloud]\n    source_topic: in.{i}\n    dest_topic: out.{i}\n    component_name: task-{i}\n    version: 1.0.0\n"
        ));
    }
    std::fs::write(dir.join("workflow.yaml"), wf).unwrap();
}

fn timed(project: &Project, opts: &RunOptions) -> (Duration, Vec<(String, bool, u64)>) {
    let toolchain =
        pelato::toolchain::discover().expect("Go: run `bash scripts/setup && . scripts/env`");
    let t = Instant::now();
    let reports = pipeline::build(project, &toolchain, opts, &|_| {});
    let elapsed = t.elapsed();
    let built = reports
        .iter()
        .map(|r| {
            let b = r
                .built()
                .unwrap_or_else(|| panic!("{} failed: {:?}", r.component, r.failure()));
            (r.component.clone(), b.cached, b.record.compile_ms)
        })
        .collect();
    (elapsed, built)
}

fn forget_builds(root: &Path, cache: &Path) {
    let _ = std::fs::remove_dir_all(root.join("build"));
    let _ = std::fs::remove_dir_all(cache.join("components"));
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let cache = tempfile::tempdir().unwrap();
    let project = Project::load(dir.path()).unwrap();
    let mut opts = RunOptions::for_project(&project);
    opts.cache_dir = cache.path().to_path_buf();
    opts.jobs = 2;
    println!(
        "pelato build bench — {TASKS} tasks, one run, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let (cold, _) = timed(&project, &opts);
    println!(
        "cold build (cold Go cache), -j 2:        {:>8.2} s",
        cold.as_secs_f64()
    );
    let (noop, built) = timed(&project, &opts);
    assert!(
        built.iter().all(|b| b.1),
        "a no-op rebuild must be all cache hits"
    );
    println!(
        "no-op rebuild:                            {:>8.3} s  = {:.2}% of the cold build",
        noop.as_secs_f64(),
        noop.as_secs_f64() / cold.as_secs_f64() * 100.0
    );

    let edited = dir.path().join("tasks/task3.go");
    let mut code = std::fs::read_to_string(&edited).unwrap();
    code.push_str("\n// edited\n");
    std::fs::write(&edited, code).unwrap();
    let project = Project::load(dir.path()).unwrap();
    let (edit, built) = timed(&project, &opts);
    let rebuilt: Vec<&str> = built
        .iter()
        .filter(|b| !b.1)
        .map(|b| b.0.as_str())
        .collect();
    assert_eq!(rebuilt, vec!["task-3"]);
    println!(
        "edit one task, rebuild:                   {:>8.2} s  rebuilt: {rebuilt:?}",
        edit.as_secs_f64()
    );

    // -j 1 vs -j 2, from the same warm Go cache, with PELATO's cache forgotten.
    forget_builds(dir.path(), cache.path());
    opts.jobs = 1;
    let (j1, built1) = timed(&project, &opts);
    forget_builds(dir.path(), cache.path());
    opts.jobs = 2;
    let (j2, _) = timed(&project, &opts);
    println!(
        "full build, warm Go cache, -j 1:          {:>8.2} s",
        j1.as_secs_f64()
    );
    println!(
        "full build, warm Go cache, -j 2:          {:>8.2} s  speed-up {:.2}x",
        j2.as_secs_f64(),
        j1.as_secs_f64() / j2.as_secs_f64()
    );

    // PELATO's overhead: everything but the compiler, per task, in the -j 1 run.
    let compiler: u64 = built1.iter().map(|b| b.2).sum();
    let overhead = j1.as_millis() as u64 - compiler.min(j1.as_millis() as u64);
    println!(
        "PELATO overhead per task (-j 1):          {:>8.1} ms  = {:.1}% of the compiler's {:.0} ms per task",
        overhead as f64 / TASKS as f64,
        overhead as f64 / compiler as f64 * 100.0,
        compiler as f64 / TASKS as f64
    );
}

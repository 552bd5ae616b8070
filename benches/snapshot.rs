//! Snapshot benchmark (run: `cargo bench --bench snapshot`, and with
//! `--features snapshot-engines` to compare Winch and Pulley too). Prints, from
//! one run on `examples/iot-sensors`:
//!
//! 1. the snapshot step of `temp-convert`'s core module per init engine, per
//!    phase (instrument, compile or parse, init run, rewrite), best of 3;
//! 2. the example's build with and without snapshot, each from its own empty
//!    cache folder: cold (Go's standard library included), no-op, and editing
//!    one task's code (a string in `convert.go`, so its core module changes
//!    and is snapshotted again), as ratios of the same build with `--no-snapshot`.

use std::time::{Duration, Instant};

mod common;

use common::copy_example;
use pelato::gomod::GoEnv;
use pelato::pipeline::{self, Project, RunOptions};
use pelato::snapshot::{self, Engine, Snapshot};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn engines(toolchain: &pelato::toolchain::Toolchain) {
    let dir = tempfile::tempdir().unwrap();
    copy_example(dir.path());
    let cache = tempfile::tempdir().unwrap();
    let project = Project::load(dir.path()).unwrap();
    for r in pipeline::gen(&project) {
        assert!(r.failure().is_none(), "gen failed: {:?}", r.failure());
    }
    let go = GoEnv::new(&project.env, cache.path(), false);
    let core = toolchain
        .compile_with(
            &dir.path().join(pelato::gen::GEN_DIR).join("temp-convert"),
            cache.path(),
            &go,
        )
        .unwrap()
        .wasm;
    println!(
        "snapshot step, temp-convert core module ({:.2} MB), best of 3 per engine",
        core.len() as f64 / 1e6
    );
    println!(
        "{:<12} {:>9} {:>11} {:>15} {:>9} {:>9}",
        "engine", "total ms", "instrument", "compile/parse", "init", "rewrite"
    );
    let mut outputs: Vec<(Engine, Snapshot)> = Vec::new();
    for &engine in Engine::ALL {
        let best = (0..3)
            .map(|_| snapshot::snapshot_with(&core, engine).unwrap())
            .min_by_key(|s| s.elapsed)
            .unwrap();
        let p = best.phases;
        println!(
            "{:<12} {:>9.1} {:>11.1} {:>15.1} {:>9.1} {:>9.1}",
            engine.name(),
            ms(best.elapsed),
            ms(p.instrument),
            ms(p.compile),
            ms(p.init),
            ms(p.rewrite)
        );
        outputs.push((engine, best));
    }
    let base = outputs[0].1.elapsed;
    for (engine, s) in &outputs[1..] {
        println!(
            "  {} / interpreter = {:.1}x",
            engine.name(),
            s.elapsed.as_secs_f64() / base.as_secs_f64()
        );
    }
}

fn timed_build(
    project: &Project,
    opts: &RunOptions,
    toolchain: &pelato::toolchain::Toolchain,
) -> (Duration, Vec<bool>) {
    let t = Instant::now();
    let reports = pipeline::build(project, toolchain, opts, &|_| {});
    let elapsed = t.elapsed();
    let cached = reports
        .iter()
        .map(|r| {
            let b = r
                .built()
                .unwrap_or_else(|| panic!("{} failed: {:?}", r.component, r.failure()));
            assert_eq!(b.record.snapshot, opts.snapshot, "{}", r.component);
            b.cached
        })
        .collect();
    (elapsed, cached)
}

/// Cold, no-op, edit 1, edit 2 of one project with its own cache.
fn builds(snapshot: bool, toolchain: &pelato::toolchain::Toolchain) -> [Duration; 4] {
    let dir = tempfile::tempdir().unwrap();
    copy_example(dir.path());
    let cache = tempfile::tempdir().unwrap();
    let load = || {
        let project = Project::load(dir.path()).unwrap();
        let mut opts = RunOptions::for_project(&project);
        opts.cache_dir = cache.path().to_path_buf();
        opts.snapshot = snapshot;
        (project, opts)
    };
    let (project, opts) = load();
    let (cold, _) = timed_build(&project, &opts, toolchain);
    let (noop, cached) = timed_build(&project, &opts, toolchain);
    assert!(
        cached.iter().all(|c| *c),
        "a no-op rebuild is all cache hits"
    );
    let mut edits = [Duration::ZERO; 2];
    for (i, edit) in edits.iter_mut().enumerate() {
        let file = dir.path().join("tasks/convert.go");
        let code = std::fs::read_to_string(&file).unwrap();
        let before = if i == 0 {
            "invalid reading: ".to_string()
        } else {
            format!("invalid reading ({}): ", i - 1)
        };
        assert!(code.contains(&before));
        let code = code.replacen(&before, &format!("invalid reading ({i}): "), 1);
        std::fs::write(&file, code).unwrap();
        let (project, opts) = load();
        let (t, cached) = timed_build(&project, &opts, toolchain);
        assert_eq!(
            cached.iter().filter(|c| !**c).count(),
            1,
            "one task rebuilt"
        );
        *edit = t;
    }
    [cold, noop, edits[0], edits[1]]
}

fn main() {
    let toolchain =
        pelato::toolchain::discover().expect("Go: run `bash scripts/setup && . scripts/env`");
    println!(
        "pelato snapshot bench — one run, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    engines(&toolchain);

    // Each from its own empty cache folder, so both cold builds compile Go's standard library.
    let plain = builds(false, &toolchain);
    let snap = builds(true, &toolchain);
    println!("\nbuild of examples/iot-sensors (3 tasks), snapshot vs --no-snapshot");
    let names = ["cold", "no-op", "edit one task", "edit it again"];
    for ((name, s), p) in names.iter().zip(snap).zip(plain) {
        println!(
            "{name:<15} {:>9.3} s vs {:>9.3} s = {:.2}x",
            s.as_secs_f64(),
            p.as_secs_f64(),
            s.as_secs_f64() / p.as_secs_f64()
        );
    }
}

//! Pipeline benchmark (run: `cargo bench --bench pipeline`). Prints, from one run:
//! build time per task vs the raw `go build` of the same generated project,
//! componentize time, harness cold start (cached compiled code) and per-message
//! latency (fresh instance and warm instance, p50/p99).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;

use pelato::harness::{Harness, HarnessConfig, Message};
use pelato::pipeline::{self, Project, RunOptions};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The raw `go build` PELATO runs, done by hand with the same environment.
fn raw_go_build(go: &Path, dir: &Path, cache: &Path) -> Duration {
    let out = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let status = Command::new(go)
        .current_dir(dir)
        .args([
            "build",
            "-buildmode=c-shared",
            "-ldflags=-s -w",
            "-trimpath",
            "-o",
        ])
        .arg(out.path().join("core.wasm"))
        .arg(".")
        .env("GOOS", "wasip1")
        .env("GOARCH", "wasm")
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("GOWORK", "off")
        .env("CGO_ENABLED", "0")
        .env("GOCACHE", cache.join("go-build"))
        .env("GOMODCACHE", cache.join("gomod"))
        .env("GOPATH", cache.join("gopath"))
        .env_remove("GOROOT")
        .status()
        .expect("run go");
    assert!(status.success());
    start.elapsed()
}

fn main() {
    let reps = 5;
    let work = tempfile::tempdir().unwrap();
    common::copy_example(work.path());
    let project = Project::load(work.path()).expect("example loads");
    let toolchain =
        pelato::toolchain::discover().expect("Go: run `bash scripts/setup && . scripts/env`");
    let cache = tempfile::tempdir().unwrap();
    let mut opts = RunOptions::for_project(&project);
    opts.cache_dir = cache.path().to_path_buf();
    opts.harness.cache_dir = Some(cache.path().join("wasmtime"));
    opts.jobs = 1;

    println!(
        "pelato pipeline bench — {} ({}), {reps} reps, medians",
        toolchain.identity(),
        project.workflow.project_name
    );
    // Warm the Go build cache once (a cold standard library build is ~15 s).
    let t = Instant::now();
    let reports = pipeline::build(&project, &toolchain, &opts, &|_| {});
    println!(
        "cold build of {} tasks (cold Go cache): {:.2} s",
        reports.len(),
        t.elapsed().as_secs_f64()
    );

    println!(
        "\n{:<16} {:>12} {:>12} {:>8} {:>14}",
        "task", "go build", "pelato build", "ratio", "componentize"
    );
    let wit = project.generator.wit();
    let go = pelato::gomod::GoEnv::offline(cache.path());
    let env = pelato::build::BuildEnv {
        toolchain: &toolchain,
        resolve: &wit.resolve,
        cache_dir: cache.path(),
        on_stage: &|_| {},
        toolchain_sha256: "",
        snapshot: true,
        go: &go,
    };
    let (mut raw_sum, mut full_sum) = (Duration::ZERO, Duration::ZERO);
    for g in pipeline::gen(&project) {
        let generated = g.gen.unwrap().expect("gen");
        let task = project.task(&g.component).unwrap();
        let template = project.generator.templates().get(&task.template).unwrap();
        let world = wit.world(template).unwrap();
        let raw = median(
            (0..reps)
                .map(|_| raw_go_build(&toolchain.path, &generated.dir, cache.path()))
                .collect(),
        );
        let full = median(
            (0..reps)
                .map(|_| {
                    // Drop PELATO's cache record so the whole build runs; Go's cache stays
                    // warm, exactly as for the raw build.
                    std::fs::remove_file(
                        work.path()
                            .join("build")
                            .join(format!("{}.json", g.component)),
                    )
                    .unwrap();
                    // ...and the content-addressed store, which would serve it otherwise.
                    let _ = std::fs::remove_dir_all(cache.path().join("components"));
                    let t = Instant::now();
                    let b =
                        pelato::build::build_task(work.path(), &generated, &task.code, world, &env)
                            .unwrap();
                    assert!(!b.cached);
                    t.elapsed()
                })
                .collect(),
        );
        let core = toolchain
            .compile(&generated.dir, cache.path())
            .unwrap()
            .wasm;
        let comp = median(
            (0..reps)
                .map(|_| {
                    let t = Instant::now();
                    pelato::build::componentize(&core, &wit.resolve, world).unwrap();
                    t.elapsed()
                })
                .collect(),
        );
        let hit = {
            let t = Instant::now();
            let b = pelato::build::build_task(work.path(), &generated, &task.code, world, &env)
                .unwrap();
            assert!(b.cached);
            t.elapsed()
        };
        raw_sum += raw;
        full_sum += full;
        println!(
            "{:<16} {:>9.0} ms {:>9.0} ms {:>7.2}x {:>11.1} ms   cache hit {:.1} ms",
            g.component,
            ms(raw),
            ms(full),
            full.as_secs_f64() / raw.as_secs_f64(),
            ms(comp),
            ms(hit)
        );
    }
    println!(
        "{:<16} {:>9.0} ms {:>9.0} ms {:>7.2}x   (PELATO overhead {:.0}% of the compiler's time)",
        "all",
        ms(raw_sum),
        ms(full_sum),
        full_sum.as_secs_f64() / raw_sum.as_secs_f64(),
        (full_sum.as_secs_f64() / raw_sum.as_secs_f64() - 1.0) * 100.0
    );

    // Harness: Cranelift compile (no cache), cold start from cached code, per-message latency.
    let path = reports[0].built().unwrap().path.clone();
    let subject = pipeline::concrete_subject(&project.workflow.tasks[0].source_topic);
    let msg = Message::new(subject, r#"{"sensor":"s1","fahrenheit":212}"#);
    let t = Instant::now();
    let h = Harness::new(HarnessConfig {
        cache_dir: None,
        ..HarnessConfig::default()
    })
    .unwrap();
    h.load_file(&path).unwrap();
    let cranelift = t.elapsed();
    // populate the cache
    Harness::new(opts.harness.clone())
        .unwrap()
        .load_file(&path)
        .unwrap();
    let cold: Vec<Duration> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            let h = Harness::new(opts.harness.clone()).unwrap();
            let c = h.load_file(&path).unwrap();
            c.deliver(&msg).unwrap();
            t.elapsed()
        })
        .collect();
    let h = Harness::new(opts.harness.clone()).unwrap();
    let c = h.load_file(&path).unwrap();
    let mut fresh: Vec<Duration> = (0..300)
        .map(|_| {
            let t = Instant::now();
            c.deliver(&msg).unwrap();
            t.elapsed()
        })
        .collect();
    let mut s = c.session().unwrap();
    for _ in 0..100 {
        s.deliver(&msg).unwrap().0.unwrap();
    }
    let mut warm: Vec<Duration> = (0..5000)
        .map(|_| {
            let t = Instant::now();
            s.deliver(&msg).unwrap().0.unwrap();
            t.elapsed()
        })
        .collect();
    let size = std::fs::metadata(&path).unwrap().len();
    println!(
        "\nharness ({}, {:.1} MiB component)",
        reports[0].component,
        size as f64 / 1048576.0
    );
    println!(
        "  load without cache (Cranelift compile):     {:>9.1} ms",
        ms(cranelift)
    );
    println!(
        "  cold start from cached code → first reply:  {:>9.1} ms  ({:.0}x faster)",
        ms(median(cold.clone())),
        cranelift.as_secs_f64() / median(cold).as_secs_f64()
    );
    println!(
        "  fresh instance per message: p50 {:>7.3} ms  p99 {:>7.3} ms",
        ms(pct(&mut fresh, 0.5)),
        ms(pct(&mut fresh, 0.99))
    );
    println!(
        "  warm instance per message:  p50 {:>7.3} ms  p99 {:>7.3} ms",
        ms(pct(&mut warm, 0.5)),
        ms(pct(&mut warm, 0.99))
    );
}

//! `pelato run` benchmark (run: `cargo bench --bench local`). Prints, from one
//! run: messages per second through the example's two-stage chain
//! (`temp-convert` → `anomaly-filter`, 100-byte bodies) in the local runtime,
//! p50/p99 of each hop, and the same figures as ratios to the harness's own
//! fresh-instance delivery of the same component (the floor a hop can reach).

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use pelato::harness::bench::percentile_us;
use pelato::harness::{Harness, Message};
use pelato::local::{self, Event, Inputs, Options, Stop};
use pelato::pipeline::{self, Project, RunOptions};

/// The `p`-th percentile (0–100) of `v`, in µs.
fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    percentile_us(v, p)
}

/// A hot reading (it passes both stages) padded to exactly 100 bytes.
fn body(i: usize) -> String {
    let head = format!(r#"{{"fahrenheit":212,"n":{i},"sensor":""#);
    let pad = 100 - head.len() - 2;
    format!("{head}{}\"}}", "x".repeat(pad))
}

fn main() {
    let n: usize = std::env::var("PELATO_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    // A copy: building writes gen/ and build/ next to the workflow.
    let example = tempfile::tempdir().unwrap();
    common::copy_example(example.path());
    let project = Project::load(example.path()).expect("example loads");
    let toolchain =
        pelato::toolchain::discover().expect("Go: run `bash scripts/setup && . scripts/env`");
    let cache = tempfile::tempdir().unwrap();
    let mut opts = RunOptions::for_project(&project);
    opts.cache_dir = cache.path().to_path_buf();
    opts.harness.cache_dir = Some(cache.path().join("wasmtime"));
    let reports = pipeline::build(&project, &toolchain, &opts, &|_| {});
    let harness = Harness::new(opts.harness.clone()).unwrap();
    let (routes, problems) = local::routes_for(&harness, &project, &reports, None);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(body(7).len(), 100);

    // The floor: the harness's fresh-instance delivery, one at a time.
    let convert = routes
        .get("Convert Fahrenheit readings to Celsius")
        .unwrap();
    let mut fresh: Vec<Duration> = (0..n.min(1000))
        .map(|i| {
            let d = convert
                .component
                .deliver(&Message::new("sensors.b.raw", body(i)))
                .unwrap();
            assert!(d.result.is_ok());
            d.elapsed
        })
        .collect();
    let fresh_p50 = pct(&mut fresh, 50.0);
    let fresh_p99 = pct(&mut fresh, 99.0);
    println!(
        "pelato run bench — example chain temp-convert → anomaly-filter, {n} messages of 100 bytes"
    );
    println!(
        "harness fresh-instance delivery (temp-convert, sequential): p50 {:.0} µs, p99 {:.0} µs",
        fresh_p50, fresh_p99
    );
    println!(
        "\n{:>8} {:>12} {:>14} {:>14} {:>14} {:>14} {:>10}",
        "workers",
        "chains/s",
        "convert p50",
        "convert p99",
        "filter p50",
        "filter p99",
        "p50/fresh"
    );
    for workers in [1usize, 2, 4] {
        let hops: Mutex<Vec<(String, Duration)>> = Mutex::new(Vec::with_capacity(2 * n));
        let sink = |e: Event| {
            if let Event::Hop(h) = e {
                assert!(h.error.is_none(), "{:?}", h.error);
                hops.lock().unwrap().push((h.component, h.elapsed));
            }
        };
        let inputs = Inputs {
            sends: (0..n)
                .map(|i| Message::new("sensors.b.raw", body(i)))
                .collect(),
            once: true,
            ..Inputs::default()
        };
        let options = Options {
            workers,
            http_addr: None,
            ..Options::default()
        };
        let start = Instant::now();
        let outcome = local::serve(
            routes.clone(),
            &options,
            &inputs,
            &sink,
            &Stop::default(),
            None,
        )
        .unwrap();
        let wall = start.elapsed();
        assert_eq!(outcome.failures, 0);
        let hops = hops.into_inner().unwrap();
        assert_eq!(hops.len(), 2 * n, "every message went through both stages");
        let of =
            |c: &str| -> Vec<Duration> { hops.iter().filter(|h| h.0 == c).map(|h| h.1).collect() };
        let mut conv = of("temp-convert");
        let mut filt = of("anomaly-filter");
        let conv_p50 = pct(&mut conv, 50.0);
        println!(
            "{:>8} {:>12.0} {:>11.0} µs {:>11.0} µs {:>11.0} µs {:>11.0} µs {:>9.2}×",
            workers,
            n as f64 / wall.as_secs_f64(),
            conv_p50,
            pct(&mut conv, 99.0),
            pct(&mut filt, 50.0),
            pct(&mut filt, 99.0),
            conv_p50 / fresh_p50
        );
    }
}

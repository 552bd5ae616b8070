//! Data-segment compaction (`pelato::segments`), before and after, in one run
//! (run: `cargo bench --bench segments`): segment count, component size and the
//! harness's store + instantiate and fresh-delivery p50/p99 for the example's
//! temp-convert, plain and snapshotted.

mod common;

use std::time::Duration;

use pelato::gomod::GoEnv;
use pelato::harness::bench::percentile_us;
use pelato::harness::{Harness, HarnessConfig, Message};
use pelato::pipeline::{self, Project};

/// The `p`-th percentile of `v`, in µs.
fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    percentile_us(v, p)
}

fn main() {
    let n = 1000;
    let toolchain =
        pelato::toolchain::discover().expect("Go: run `bash scripts/setup && . scripts/env`");
    let dir = tempfile::tempdir().unwrap();
    common::copy_example(dir.path());
    let cache = tempfile::tempdir().unwrap();
    let project = Project::load(dir.path()).unwrap();
    for r in pipeline::gen(&project) {
        assert!(r.failure().is_none(), "gen failed: {:?}", r.failure());
    }
    let go = GoEnv::new(&project.env, cache.path(), false);
    let plain = toolchain
        .compile_with(
            &dir.path().join(pelato::gen::GEN_DIR).join("temp-convert"),
            cache.path(),
            &go,
        )
        .unwrap()
        .wasm;
    let snapped = pelato::snapshot::snapshot(&plain).unwrap().wasm;
    let task = project.task("temp-convert").unwrap();
    let template = project.generator.templates().get(&task.template).unwrap();
    let wit = project.generator.wit();
    let world = wit.world(template).unwrap();
    let harness = Harness::new(HarnessConfig {
        cache_dir: None,
        ..HarnessConfig::default()
    })
    .unwrap();
    println!("data-segment compaction, temp-convert, n = {n}, one run");
    println!(
        "{:<26} {:>9} {:>10} {:>22} {:>22}",
        "core module", "segments", "component", "instantiate p50/p99", "fresh p50/p99"
    );
    for (name, core) in [("plain", &plain), ("snapshotted", &snapped)] {
        for compacted in [false, true] {
            let core: Vec<u8> = if compacted {
                pelato::segments::compact(core).into_owned()
            } else {
                core.clone()
            };
            let component =
                pelato::build::componentize(&core, &wit.resolve, world).expect("componentize");
            let loaded = harness.load(&component).unwrap();
            let msg = Message::new("sensors.a.raw", r#"{"sensor":"a","fahrenheit":212}"#);
            let _ = loaded.deliver(&msg).unwrap();
            let mut inst: Vec<Duration> =
                (0..n).map(|_| loaded.instantiate_only().unwrap()).collect();
            let mut fresh: Vec<Duration> = (0..n)
                .map(|_| loaded.deliver(&msg).unwrap().elapsed)
                .collect();
            println!(
                "{:<26} {:>9} {:>7.2} MB {:>11.0} / {:>5.0} µs {:>11.0} / {:>5.0} µs",
                format!("{name}{}", if compacted { ", compacted" } else { "" }),
                pelato::segments::count(&core),
                component.len() as f64 / 1e6,
                pct(&mut inst, 50.0),
                pct(&mut inst, 99.0),
                pct(&mut fresh, 50.0),
                pct(&mut fresh, 99.0),
            );
        }
    }
}

//! Push benchmark (plain `fn main`, `harness = false`): starts Debian's `docker-registry` on
//! 127.0.0.1, pushes an 8 MiB component with `pelato::push::push` and uploads the same bytes with
//! a raw monolithic POST + PUT, prints both times and their ratio, then the time of re-pushing
//! the unchanged component.
//!
//! Run: `cargo bench --bench push` (needs `apt-get install docker-registry apache2-utils`).

#[path = "../tests/it/support/registry.rs"]
mod registry;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use pelato::push::{
    push, ComponentArtifact, Destination, PushOptions, RegistryAuth, RegistryTarget,
};
use registry::{component, Registry};

const SIZE: usize = 8 * 1024 * 1024;
const ROUNDS: u64 = 3;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[cfg_attr(test, allow(dead_code))]
fn main() {
    let reg = Registry::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let dest = Destination::Registry(RegistryTarget {
        registry: reg.addr(),
        auth: RegistryAuth::Anonymous,
        insecure_hosts: vec![],
    });
    let artifact = |seed: u64| ComponentArtifact {
        wasm: component(seed, SIZE),
        name: "bench".to_string(),
        version: format!("1.0.{seed}"),
        annotations: BTreeMap::from([("task".to_string(), "bench".to_string())]),
        source: None,
    };
    let size_mib = artifact(0).wasm.len() as f64 / (1024.0 * 1024.0);
    println!(
        "push bench: docker-registry on {}, component {size_mib:.2} MiB, {ROUNDS} rounds \
         (fresh content each round)",
        reg.addr()
    );

    let (mut push_ms, mut raw_ms) = (Vec::new(), Vec::new());
    let mut last = None;
    for round in 1..=ROUNDS {
        let art = artifact(round);
        let t = Instant::now();
        let out = rt
            .block_on(push(&art, &dest, &PushOptions::default()))
            .expect("push");
        let p = ms(t.elapsed());
        assert_eq!(out.blobs_uploaded, 2);

        // Same bytes, different content for the raw upload so nothing is de-duplicated.
        let raw = component(round + 1000, SIZE);
        let t = Instant::now();
        reg.raw_monolithic_upload("bench-raw", &raw);
        let r = ms(t.elapsed());
        println!(
            "round {round}: pelato push {p:8.1} ms ({} blobs, {} bytes)   raw POST+PUT {r:8.1} ms   ratio {:.2}",
            out.blobs_uploaded,
            out.bytes_uploaded,
            p / r
        );
        push_ms.push(p);
        raw_ms.push(r);
        last = Some(art);
    }
    let (p, r) = (median(push_ms), median(raw_ms));
    println!(
        "median:  pelato push {p:8.1} ms   raw POST+PUT {r:8.1} ms   ratio {:.2}",
        p / r
    );
    println!(
        "throughput: pelato push {:.0} MiB/s, raw {:.0} MiB/s",
        size_mib / (p / 1000.0),
        size_mib / (r / 1000.0)
    );

    let art = last.expect("at least one round");
    let mut again = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let out = rt
            .block_on(push(&art, &dest, &PushOptions::default()))
            .expect("re-push");
        again.push(ms(t.elapsed()));
        assert!(out.already_present && out.blobs_uploaded == 0);
    }
    println!(
        "re-push of the unchanged component: {:.1} ms median of 3 ({:?} ms), 0 blobs uploaded",
        median(again.clone()),
        again
            .iter()
            .map(|v| (v * 10.0).round() / 10.0)
            .collect::<Vec<_>>()
    );
}

/// Lets `cargo test --bench push` run the benchmark when the bench target uses the default
/// test harness (no `[[bench]] harness = false` entry).
#[cfg(test)]
#[test]
fn push_bench() {
    main();
}

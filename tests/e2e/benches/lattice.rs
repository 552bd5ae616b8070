//! Benchmark of a PELATO workflow on the in-process lattice (release build):
//!
//! * `pelato deploy` → every app Deployed (3 apps of the IoT example), and the
//!   latency of the first message right after;
//! * request/reply p50/p99 with one requester, against a bare NATS responder
//!   measured in the same run (the ratio is what host + component add);
//! * the two-hop chain (raw reading → temp-convert → anomaly-filter → alert);
//! * throughput with N = 1, 16, 64 concurrent requesters, for the example's
//!   temp-convert (`instances: 1`) and the same task with `instances: 16`.
//!
//! Run: `tests/e2e/run bench` (or `cargo bench` in tests/e2e with `PELATO_BIN`
//! set and the tools on PATH).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use futures::StreamExt as _;
use pelato_e2e::messaging::request;
use pelato_e2e::{copy_project, Lattice, Pelato, Run};

const CMD_TIMEOUT: Duration = Duration::from_secs(900);
const REQ_TIMEOUT: Duration = Duration::from_secs(10);
const DEPLOY_REPS: usize = 3;
const LATENCY_REQS: usize = 1000;
const CHAIN_REPS: usize = 200;
const THROUGHPUT_REQS: usize = 2000;
const CONCURRENCY: &[usize] = &[1, 16, 64];
const DIAG_REPS: usize = 2;

const IOT_APPS: [&str; 3] = [
    "iot-sensors-temp-convert",
    "iot-sensors-anomaly-filter",
    "iot-sensors-fleet-status",
];

fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; a filter argument is ignored.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()?;
    rt.block_on(run())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn pelato(p: &Pelato, args: &[&str]) -> Result<Run> {
    let run = p.run(args, CMD_TIMEOUT).await?;
    if !run.success() {
        bail!("{}", run.describe());
    }
    Ok(run)
}

/// Sequential request/reply latencies.
async fn latencies(
    client: &async_nats::Client,
    subject: &str,
    body: &str,
    n: usize,
) -> Result<Vec<Duration>> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        request(client, subject, body, REQ_TIMEOUT).await?;
        v.push(t.elapsed());
    }
    v.sort();
    Ok(v)
}

/// `total` requests spread over `n` concurrent requesters; returns msgs/s.
async fn throughput(
    client: &async_nats::Client,
    subject: &str,
    body: &str,
    n: usize,
    total: usize,
) -> Result<f64> {
    let per = total.div_ceil(n);
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let client = client.clone();
        let subject = subject.to_string();
        let body = body.to_string();
        set.spawn(async move {
            for _ in 0..per {
                request(&client, &subject, &body, REQ_TIMEOUT).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(r) = set.join_next().await {
        r??;
    }
    Ok((per * n) as f64 / start.elapsed().as_secs_f64())
}

fn write_wide_project(dir: &Path, example: &Path) -> Result<()> {
    std::fs::create_dir_all(dir.join("tasks"))?;
    std::fs::copy(
        example.join("tasks/convert.go"),
        dir.join("tasks/convert.go"),
    )?;
    std::fs::write(
        dir.join("workflow.yaml"),
        "project_name: bench-wide\n\
         tasks:\n\
         \x20 - name: Convert with 16 instances\n\
         \x20   type: processor_nats\n\
         \x20   code: tasks/convert.go\n\
         \x20   targets: [edge]\n\
         \x20   instances: 16\n\
         \x20   source_topic: bench.wide.*.raw\n\
         \x20   dest_topic: bench.wide.celsius\n\
         \x20   component_name: convert-wide\n\
         \x20   version: 1.0.0\n",
    )?;
    Ok(())
}

async fn run() -> Result<()> {
    let t = Instant::now();
    let lattice = Lattice::start().await.context("start lattice")?;
    let lattice_start = t.elapsed();
    let work = tempfile::Builder::new()
        .prefix("pelato-e2e-bench-")
        .tempdir()?;
    let cache = std::env::var_os("PELATO_E2E_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| work.path().join("cache"));
    let p = Pelato::new(&lattice.registry.authority(), lattice.nats_port(), &cache)?;
    let client = lattice.client.clone();

    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/iot-sensors");
    let iot = work.path().join("iot-sensors");
    copy_project(&example, &iot)?;
    let wide = work.path().join("bench-wide");
    write_wide_project(&wide, &example)?;
    let iot_s = iot.to_str().context("utf-8")?;
    let wide_s = wide.to_str().context("utf-8")?;

    eprintln!("bench: building and pushing the projects…");
    pelato(&p, &["push", iot_s]).await?;
    pelato(&p, &["push", wide_s]).await?;

    // Deploy → Deployed, first message, remove; a few times.
    let reading = r#"{"sensor":"bench","fahrenheit":212}"#;
    let mut deploys = Vec::new();
    let mut firsts = Vec::new();
    let mut milestones = Vec::new();
    for rep in 0..DEPLOY_REPS {
        let t = Instant::now();
        let watch = tokio::spawn(watch_deploy(lattice_handles(&lattice), t));
        pelato(&p, &["deploy", iot_s]).await?;
        let deployed = t.elapsed();
        let seen = watch.await??;
        let t = Instant::now();
        let reply = request(&client, "sensors.bench.raw", reading, REQ_TIMEOUT).await?;
        let first = t.elapsed();
        if reply != r#"{"sensor":"bench","celsius":100}"# {
            bail!("unexpected reply {reply:?}");
        }
        eprintln!(
            "bench: deploy #{rep}: {:.2}s to Deployed, first reply {:.1} ms; {seen}",
            deployed.as_secs_f64(),
            ms(first)
        );
        milestones.push(seen);
        deploys.push(deployed);
        firsts.push(first);
        if rep + 1 < DEPLOY_REPS {
            pelato(&p, &["remove", iot_s]).await?;
            lattice
                .wait_for_placement("removal", Duration::from_secs(60), |pl| {
                    IOT_APPS.iter().all(|a| !pl.runs_anything_of(a))
                })
                .await?;
        }
    }
    pelato(&p, &["deploy", wide_s]).await?;

    // Warm up, then sequential request/reply.
    latencies(&client, "sensors.bench.raw", reading, 50).await?;
    let host_lat = latencies(&client, "sensors.bench.raw", reading, LATENCY_REQS).await?;

    // A bare NATS responder in this process: the floor for a round trip.
    let mut sub = client.subscribe("bench.bare").await?;
    let responder = tokio::spawn({
        let client = client.clone();
        async move {
            while let Some(m) = sub.next().await {
                if let Some(reply) = m.reply {
                    let _ = client.publish(reply, m.payload).await;
                }
            }
        }
    });
    client.flush().await?;
    latencies(&client, "bench.bare", reading, 50).await?;
    let bare_lat = latencies(&client, "bench.bare", reading, LATENCY_REQS).await?;

    // The two-hop chain: raw → temp-convert → sensors.celsius → anomaly-filter → sensors.alerts.
    let mut alerts = client.subscribe("sensors.alerts").await?;
    client.flush().await?;
    let mut chain = Vec::with_capacity(CHAIN_REPS);
    for i in 0..CHAIN_REPS {
        let sensor = format!("chain-{i}");
        let body = format!(r#"{{"sensor":"{sensor}","fahrenheit":212}}"#);
        let t = Instant::now();
        client
            .publish(format!("sensors.{sensor}.raw"), body.into())
            .await?;
        loop {
            let m = tokio::time::timeout(REQ_TIMEOUT, alerts.next())
                .await
                .context("no alert within the timeout")?
                .context("alert subscription closed")?;
            if String::from_utf8_lossy(&m.payload).contains(&format!("\"{sensor}\"")) {
                break;
            }
        }
        chain.push(t.elapsed());
    }
    chain.sort();

    // Throughput.
    let mut thr_one = Vec::new();
    let mut thr_wide = Vec::new();
    for &n in CONCURRENCY {
        thr_one.push(throughput(&client, "sensors.bench.raw", reading, n, THROUGHPUT_REQS).await?);
        thr_wide
            .push(throughput(&client, "bench.wide.bench.raw", reading, n, THROUGHPUT_REQS).await?);
        eprintln!(
            "bench: N={n}: {:.0} msg/s (instances 1), {:.0} msg/s (instances 16)",
            thr_one.last().unwrap_or(&0.0),
            thr_wide.last().unwrap_or(&0.0)
        );
    }
    responder.abort();

    pelato(&p, &["remove", iot_s]).await?;
    pelato(&p, &["remove", wide_s]).await?;
    lattice
        .wait_for_placement("removal", Duration::from_secs(60), |pl| pl.total() == 0)
        .await?;

    // Diagnostic: where does deploy time go? The generated temp-convert
    // manifest straight to wadm, as generated and without the component's
    // runtime `config:` block, alternating.
    let manifest = std::fs::read_to_string(iot.join("gen/temp-convert/wadm.yaml"))?;
    let mut with_cfg = Vec::new();
    let mut without_cfg = Vec::new();
    for i in 0..DIAG_REPS {
        for keep_config in [true, false] {
            let app = format!("diag-{i}-{}", if keep_config { "cfg" } else { "nocfg" });
            let yaml = diag_manifest(&manifest, &app, keep_config)?;
            let took = wadm_deploy_time(&lattice, &yaml, &app).await?;
            eprintln!(
                "bench: diagnostic {app}: Deployed after {:.2} s",
                took.as_secs_f64()
            );
            if keep_config {
                with_cfg.push(took);
            } else {
                without_cfg.push(took);
            }
        }
    }
    with_cfg.sort();
    without_cfg.sort();

    // Diagnostic: the example's three generated manifests straight to wadm at
    // once (what `pelato deploy` sends), timed to all Deployed.
    let mut direct3 = Vec::new();
    for _ in 0..DIAG_REPS {
        let t = Instant::now();
        for c in ["temp-convert", "anomaly-filter", "fleet-status"] {
            let yaml = std::fs::read(iot.join(format!("gen/{c}/wadm.yaml")))?;
            lattice
                .wadm
                .put_and_deploy_manifest(yaml.as_slice())
                .await
                .map_err(|e| anyhow::anyhow!("deploy {c}: {e}"))?;
        }
        loop {
            let mut n = 0;
            for app in IOT_APPS {
                let st = lattice.wadm.get_manifest_status(app).await;
                if st.is_ok_and(|st| st.info.status_type == wadm_types::api::StatusType::Deployed) {
                    n += 1;
                }
            }
            if n == IOT_APPS.len() {
                break;
            }
            if t.elapsed() > Duration::from_secs(120) {
                bail!("the example's apps not Deployed within 120 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        direct3.push(t.elapsed());
        eprintln!(
            "bench: diagnostic, 3 apps straight to wadm: {:.2} s",
            t.elapsed().as_secs_f64()
        );
        pelato(&p, &["remove", iot_s]).await?;
        lattice
            .wait_for_placement("removal", Duration::from_secs(60), |pl| pl.total() == 0)
            .await?;
    }
    direct3.sort();

    let mut d = deploys.clone();
    d.sort();
    let mut f = firsts.clone();
    f.sort();
    println!(
        "PELATO e2e benchmark (release host build, {} CPUs)",
        num_cpus()
    );
    println!(
        "lattice start (NATS + registry + wadm + 2 hosts): {:.2} s",
        lattice_start.as_secs_f64()
    );
    println!(
        "pelato deploy (3 apps) → all Deployed: median {:.2} s (runs: {})",
        percentile(&d, 0.5).as_secs_f64(),
        deploys
            .iter()
            .map(|x| format!("{:.2}", x.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (i, m) in milestones.iter().enumerate() {
        println!("  deploy run {}: {m}", i + 1);
    }
    println!(
        "first request/reply right after Deployed: median {:.1} ms (runs: {})",
        ms(percentile(&f, 0.5)),
        firsts
            .iter()
            .map(|x| format!("{:.1}", ms(*x)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "request/reply, 1 requester, {LATENCY_REQS} requests: temp-convert p50 {:.2} ms p99 {:.2} ms; \
         bare NATS responder p50 {:.3} ms p99 {:.3} ms; ratio p50 {:.1}×",
        ms(percentile(&host_lat, 0.5)),
        ms(percentile(&host_lat, 0.99)),
        ms(percentile(&bare_lat, 0.5)),
        ms(percentile(&bare_lat, 0.99)),
        percentile(&host_lat, 0.5).as_secs_f64() / percentile(&bare_lat, 0.5).as_secs_f64()
    );
    println!(
        "chain raw → temp-convert → anomaly-filter → alert, {CHAIN_REPS} readings: p50 {:.2} ms p99 {:.2} ms",
        ms(percentile(&chain, 0.5)),
        ms(percentile(&chain, 0.99))
    );
    for (i, &n) in CONCURRENCY.iter().enumerate() {
        println!(
            "throughput N={n:<3} requesters ({THROUGHPUT_REQS} requests): instances 1: {:>6.0} msg/s ({:.2}× N=1); \
             instances 16: {:>6.0} msg/s ({:.2}× N=1, {:.2}× instances 1)",
            thr_one[i],
            thr_one[i] / thr_one[0],
            thr_wide[i],
            thr_wide[i] / thr_wide[0],
            thr_wide[i] / thr_one[i]
        );
    }
    println!(
        "diagnostic, temp-convert's manifest put straight to wadm → Deployed: as generated (with the \
         component's runtime config) median {:.2} s; without that config block median {:.2} s",
        percentile(&with_cfg, 0.5).as_secs_f64(),
        percentile(&without_cfg, 0.5).as_secs_f64()
    );
    println!(
        "diagnostic, the example's 3 generated manifests straight to wadm at once → all Deployed: \
         median {:.2} s (pelato deploy above: {:.2} s)",
        percentile(&direct3, 0.5).as_secs_f64(),
        percentile(&d, 0.5).as_secs_f64()
    );
    lattice.stop().await;
    Ok(())
}

/// The generated manifest renamed to `app` (and its settings config with it),
/// with or without the component's `config:` list.
fn diag_manifest(text: &str, app: &str, keep_config: bool) -> Result<String> {
    let mut m: serde_yaml::Value = serde_yaml::from_str(text)?;
    m["metadata"]["name"] = app.into();
    let components = m["spec"]["components"]
        .as_sequence_mut()
        .context("spec.components")?;
    for c in components {
        if c["type"] != "component" {
            continue;
        }
        let props = c["properties"]
            .as_mapping_mut()
            .context("component properties")?;
        if keep_config {
            if let Some(cfgs) = props.get_mut("config").and_then(|v| v.as_sequence_mut()) {
                for cfg in cfgs {
                    cfg["name"] = format!("{app}-settings").into();
                }
            }
        } else {
            props.remove("config");
        }
    }
    Ok(serde_yaml::to_string(&m)?)
}

/// Puts and deploys `yaml` through the wadm client, waits for Deployed,
/// then undeploys and deletes it and waits until nothing of it runs.
async fn wadm_deploy_time(lattice: &Lattice, yaml: &str, app: &str) -> Result<Duration> {
    let t = Instant::now();
    lattice
        .wadm
        .put_and_deploy_manifest(yaml.as_bytes())
        .await
        .map_err(|e| anyhow::anyhow!("deploy {app}: {e}"))?;
    let took = loop {
        let s = lattice
            .wadm
            .get_manifest_status(app)
            .await
            .map_err(|e| anyhow::anyhow!("status {app}: {e}"))?;
        if s.info.status_type == wadm_types::api::StatusType::Deployed {
            break t.elapsed();
        }
        if t.elapsed() > Duration::from_secs(120) {
            bail!("{app} not Deployed after 120 s: {}", s.info.message);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    lattice
        .wadm
        .undeploy_manifest(app)
        .await
        .map_err(|e| anyhow::anyhow!("undeploy {app}: {e}"))?;
    lattice
        .wadm
        .delete_manifest(app, None)
        .await
        .map_err(|e| anyhow::anyhow!("delete {app}: {e}"))?;
    lattice
        .wait_for_placement("diagnostic removal", Duration::from_secs(60), |pl| {
            !pl.runs_anything_of(app)
        })
        .await?;
    Ok(took)
}

/// What the watcher needs from the lattice (clients are cheap clones).
struct Handles {
    wadm: wadm_client::Client,
    ctl: wasmcloud_control_interface::Client,
    host_ids: Vec<String>,
}

fn lattice_handles(l: &Lattice) -> Handles {
    Handles {
        wadm: l.wadm.clone(),
        ctl: l.ctl.clone(),
        host_ids: l.hosts.iter().map(|h| h.id.clone()).collect(),
    }
}

/// Polls, from `start`, until the three example components run on the hosts
/// and wadm reports all three apps Deployed; returns when each happened.
async fn watch_deploy(h: Handles, start: Instant) -> Result<String> {
    let deadline = start + Duration::from_secs(120);
    let mut components_at = None;
    let mut deployed_at = None;
    while Instant::now() < deadline && (components_at.is_none() || deployed_at.is_none()) {
        if components_at.is_none() {
            let mut images = Vec::new();
            for id in &h.host_ids {
                if let Ok(inv) = h.ctl.get_host_inventory(id).await {
                    if let Some(inv) = inv.data() {
                        images.extend(inv.components().iter().map(|c| c.image_ref().to_string()));
                    }
                }
            }
            let all = ["temp-convert", "anomaly-filter", "fleet-status"]
                .iter()
                .all(|r| {
                    images
                        .iter()
                        .any(|i| pelato_e2e::lattice::image_repo(i) == *r)
                });
            if all {
                components_at = Some(start.elapsed());
            }
        }
        if deployed_at.is_none() {
            let mut n = 0;
            for app in IOT_APPS {
                if let Ok(s) = h.wadm.get_manifest_status(app).await {
                    if s.info.status_type == wadm_types::api::StatusType::Deployed {
                        n += 1;
                    }
                }
            }
            if n == IOT_APPS.len() {
                deployed_at = Some(start.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fmt = |d: Option<Duration>| {
        d.map_or("never".to_string(), |d| format!("{:.2} s", d.as_secs_f64()))
    };
    Ok(format!(
        "components in host inventories after {}, wadm status Deployed (all 3) after {}",
        fmt(components_at),
        fmt(deployed_at)
    ))
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

//! `pelato brush | deploy | status | remove --platform wasmcloud-v2` on REAL
//! wasmCloud 2 hosts: two `wash host` processes (host groups `edge` and
//! `cloud`) on a test nats-server, images in a test docker-registry.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::support::nats::NatsServer;
use crate::support::project as support;
use crate::support::registry::Registry;
use crate::support::wash::WashHost;

fn pelato(dir: &Path, nats: &NatsServer, registry: &Registry, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pelato"))
        .args(args)
        .args(["--platform", "wasmcloud-v2"])
        .arg(dir)
        .env("NATS_HOST", "127.0.0.1")
        .env("NATS_PORT", nats.port.to_string())
        .env("REGISTRY_URL", format!("http://{}", registry.addr()))
        .output()
        .unwrap()
}

fn ok(o: &Output, hosts: &[&WashHost]) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    if !o.status.success() {
        let logs: Vec<String> = hosts
            .iter()
            .map(|h| format!("--- host {} ({}):\n{}", h.id, h.group, h.log()))
            .collect();
        panic!("pelato failed:\n{err}\n{}", logs.join("\n"));
    }
    err
}

/// The status line of a workload: `(hostgroup, state, host)`.
fn status_of(status: &str, workload: &str) -> (String, String, String) {
    let line = status
        .lines()
        .find(|l| l.split_whitespace().next() == Some(workload))
        .unwrap_or_else(|| panic!("no status line for {workload}:\n{status}"));
    let f: Vec<&str> = line.split_whitespace().collect();
    (f[1].to_string(), f[2].to_string(), f[4].to_string())
}

async fn next_payload(sub: &mut async_nats::Subscriber) -> String {
    let msg = tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("a message within 10 s")
        .expect("subscription open");
    String::from_utf8(msg.payload.to_vec()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brush_deploys_the_example_on_wash_hosts_by_host_group() {
    let registry = Registry::start();
    let nats = NatsServer::start();
    let edge = WashHost::start(&nats, "edge");
    let cloud = WashHost::start(&nats, "cloud");
    let hosts = [&edge, &cloud];
    let dir = support::copy_example();

    // brush: gen → build → test → push → deploy on the hosts.
    let t0 = Instant::now();
    let out = pelato(dir.path(), &nats, &registry, &["brush"]);
    let err = ok(&out, &hosts);
    eprintln!("brush ({:.1} s):\n{err}", t0.elapsed().as_secs_f64());
    assert!(err.contains("workload(s) handled in"), "{err}");
    assert!(!err.contains("not pinned"), "{err}");
    // the hosts run the pushed digests: the WorkloadDeployments are pinned
    let wd = std::fs::read_to_string(
        dir.path()
            .join("gen/anomaly-filter/workloaddeployment.yaml"),
    )
    .unwrap();
    assert_eq!(
        wd.matches(&format!(
            "image: {}/anomaly-filter@sha256:",
            registry.addr()
        ))
        .count(),
        2,
        "{wd}"
    );

    // status: every workload RUNNING, each on a host of its host group.
    let out = pelato(dir.path(), &nats, &registry, &["status"]);
    let status = ok(&out, &hosts);
    let expect = [
        ("iot-sensors-temp-convert-0", &edge),
        ("iot-sensors-anomaly-filter-edge-0", &edge),
        ("iot-sensors-anomaly-filter-cloud-0", &cloud),
        ("iot-sensors-fleet-status-0", &cloud),
    ];
    for (w, host) in expect {
        let (group, state, on) = status_of(&status, w);
        assert_eq!(
            (group.as_str(), state.as_str(), on.as_str()),
            (host.group.as_str(), "RUNNING", host.id.as_str()),
            "{status}"
        );
    }
    assert!(status.contains("4 of 4 workload(s) running"), "{status}");

    // The hosts themselves say so.
    let client = async_nats::ConnectOptions::new()
        .connect(nats.addr())
        .await
        .unwrap();
    for (w, host) in expect {
        let st = pelato::deploy_v2::workload_status(&client, &host.id, w)
            .await
            .unwrap();
        assert!(st.running(), "{w} on {}: {st:?}", host.group);
        let other = if host.id == edge.id { &cloud } else { &edge };
        let st = pelato::deploy_v2::workload_status(&client, &other.id, w)
            .await
            .unwrap();
        assert!(st.not_found(), "{w} also on {}: {st:?}", other.group);
    }

    // Messages: a raw reading is converted at the edge and filtered.
    let mut celsius = client.subscribe("sensors.celsius").await.unwrap();
    let mut alerts = client.subscribe("sensors.alerts").await.unwrap();
    client.flush().await.unwrap();
    client
        .publish(
            "sensors.greenhouse.raw",
            r#"{"sensor":"greenhouse-1","fahrenheit":212}"#.into(),
        )
        .await
        .unwrap();
    assert_eq!(
        next_payload(&mut celsius).await,
        r#"{"sensor":"greenhouse-1","celsius":100}"#
    );
    // anomaly-filter targets edge and cloud: one workload per host group, each
    // subscribed, so each raises the alert (as the 1.x spread does)
    let alert = r#"{"sensor":"greenhouse-1","celsius":100,"level":"critical"}"#;
    let mut got = vec![next_payload(&mut alerts).await];
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(1), alerts.next()).await {
        got.push(String::from_utf8(m.payload.to_vec()).unwrap());
    }
    assert_eq!(got, [alert, alert]);
    // a comfortable reading is converted but raises no alert
    client
        .publish(
            "sensors.cellar.raw",
            r#"{"sensor":"cellar","fahrenheit":50}"#.into(),
        )
        .await
        .unwrap();
    assert_eq!(
        next_payload(&mut celsius).await,
        r#"{"sensor":"cellar","celsius":10}"#
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(500), alerts.next())
            .await
            .is_err(),
        "no alert for 10 °C"
    );

    // Request/reply through the converter, with its p50.
    let mut times = Vec::new();
    for i in 0..50 {
        let t = Instant::now();
        let reply = client
            .request(
                "sensors.rr.raw",
                format!(r#"{{"sensor":"s{i}","fahrenheit":212}}"#).into(),
            )
            .await
            .unwrap();
        times.push(t.elapsed());
        assert_eq!(
            String::from_utf8_lossy(&reply.payload),
            format!(r#"{{"sensor":"s{i}","celsius":100}}"#)
        );
    }
    times.sort();
    eprintln!(
        "request/reply on wasmCloud 2: p50 {:.2} ms, p90 {:.2} ms",
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() * 9 / 10].as_secs_f64() * 1e3
    );

    // brush again, nothing changed (same digests): nothing is sent to the hosts.
    let out = pelato(dir.path(), &nats, &registry, &["brush"]);
    let err = ok(&out, &hosts);
    assert_eq!(err.matches("(unchanged)").count(), 4, "{err}");

    // A changed task (temp-convert's dest_topic, with its version bumped as the
    // registry refuses to overwrite a tag) is stopped and started again; the
    // other three are left alone.
    let wf = dir.path().join("workflow.yaml");
    let text = std::fs::read_to_string(&wf).unwrap();
    let changed = text
        .replacen(
            "dest_topic: sensors.celsius\n",
            "dest_topic: sensors.celsius.v2\n",
            1,
        )
        .replacen(
            "component_name: temp-convert\n    version: 1.0.0",
            "component_name: temp-convert\n    version: 1.0.1",
            1,
        );
    assert_eq!(changed.matches("1.0.1").count(), 1);
    assert_ne!(text, changed);
    std::fs::write(&wf, changed).unwrap();
    let out = pelato(dir.path(), &nats, &registry, &["brush"]);
    let err = ok(&out, &hosts);
    assert_eq!(err.matches("(unchanged)").count(), 3, "{err}");
    let line = err
        .lines()
        .find(|l| l.contains("iot-sensors-temp-convert-0"))
        .unwrap();
    assert!(
        line.contains("RUNNING") && !line.contains("(unchanged)"),
        "{err}"
    );
    let mut v2 = client.subscribe("sensors.celsius.v2").await.unwrap();
    client.flush().await.unwrap();
    client
        .publish(
            "sensors.attic.raw",
            r#"{"sensor":"attic","fahrenheit":212}"#.into(),
        )
        .await
        .unwrap();
    assert_eq!(
        next_payload(&mut v2).await,
        r#"{"sensor":"attic","celsius":100}"#
    );

    // Remove: every workload stops; status finds none; a second remove stops nothing.
    let out = pelato(dir.path(), &nats, &registry, &["remove"]);
    let err = ok(&out, &hosts);
    assert_eq!(err.matches("stopped ").count(), 4, "{err}");
    for (w, host) in expect {
        let st = pelato::deploy_v2::workload_status(&client, &host.id, w)
            .await
            .unwrap();
        assert!(st.not_found(), "{w}: {st:?}");
    }
    let out = pelato(dir.path(), &nats, &registry, &["status"]);
    let status = ok(&out, &hosts);
    assert!(status.contains("0 of 4 workload(s) running"), "{status}");
    assert_eq!(status.matches("NOT_FOUND").count(), 4, "{status}");
    let out = pelato(dir.path(), &nats, &registry, &["remove"]);
    let err = ok(&out, &hosts);
    assert!(err.contains("nothing of iot-sensors runs"), "{err}");
}

/// A host group no host is in is an error naming the group, the groups seen
/// and the fix; nothing is started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_host_group_is_a_clear_error() {
    let registry = Registry::start();
    let nats = NatsServer::start();
    let edge = WashHost::start(&nats, "edge");
    let dir = support::copy_example();
    let out = Command::new(env!("CARGO_BIN_EXE_pelato"))
        .args(["deploy", "--platform", "wasmcloud-v2"])
        .arg(dir.path())
        .env("NATS_HOST", "127.0.0.1")
        .env("NATS_PORT", nats.port.to_string())
        .env("REGISTRY_URL", format!("http://{}", registry.addr()))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("needs a host in host group `cloud`")
            && err.contains("the hosts seen are in `edge`")
            && err.contains("wash host --host-group cloud"),
        "{err}\n{}",
        edge.log()
    );
    // nothing was started on the edge host
    let client = async_nats::connect(nats.addr()).await.unwrap();
    let st = pelato::deploy_v2::workload_status(&client, &edge.id, "iot-sensors-temp-convert-0")
        .await
        .unwrap();
    assert!(st.not_found(), "{st:?}");
}

//! `pelato push` and the whole `pelato brush` as users run them, against a real
//! registry (Debian's docker-registry), a real nats-server and a real wadm.

use crate::support::project as support;

use crate::support::nats as nats_support;
use crate::support::registry as registry_support;

use std::path::Path;
use std::process::{Command, Output};

use nats_support::{start_wadm, unique_lattice, NatsServer};
use registry_support::Registry;

fn pelato() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pelato"));
    c.env(
        "PELATO_CACHE_DIR",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("pelato-test-cache"),
    )
    .env_remove("REGISTRY_URL")
    .env_remove("NATS_HOST")
    .env_remove("NATS_PORT");
    c
}

fn ok(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    err
}

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

#[test]
fn push_to_a_registry_pins_the_manifest_and_repush_is_cheap() {
    let registry = Registry::start();
    let dir = support::copy_example();
    let url = format!("http://{}", registry.addr());
    let err = ok(&pelato()
        .env("REGISTRY_URL", &url)
        .arg("push")
        .arg(dir.path())
        .output()
        .unwrap());
    assert!(
        err.contains(&format!("pushing to registry {}", registry.addr())),
        "{err}"
    );

    // The registry serves the artifact in the layout wasmCloud pulls.
    let m = registry
        .manifest("temp-convert", "1.0.0")
        .expect("tag pushed")
        .json();
    assert_eq!(m["mediaType"], OCI_MANIFEST);
    assert_eq!(
        m["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    assert_eq!(m["layers"].as_array().unwrap().len(), 1);
    assert_eq!(m["layers"][0]["mediaType"], "application/wasm");
    let wasm = std::fs::read(dir.path().join("build/temp-convert.wasm")).unwrap();
    assert_eq!(
        m["layers"][0]["digest"],
        format!("sha256:{}", pelato::util::digest::sha256_hex(&wasm))
    );
    assert_eq!(
        m["annotations"]["dev.pelato.task"],
        "Convert Fahrenheit readings to Celsius"
    );
    // The toolchain is named by kind, version and sha256; no annotation carries a path of
    // the build box (the toolchain's folder, the home folder, the project).
    let ann = m["annotations"].as_object().expect("annotations");
    assert_eq!(ann["dev.pelato.toolchain.kind"], "go", "{ann:?}");
    let version = ann["dev.pelato.toolchain.version"].as_str().unwrap_or("");
    assert!(version.starts_with("1."), "{ann:?}");
    let sha = ann["dev.pelato.toolchain.sha256"].as_str().unwrap_or("");
    assert!(
        sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
        "{ann:?}"
    );
    let go = pelato::toolchain::discover().expect("go on PATH").path;
    let mut local: Vec<String> = vec![dir.path().display().to_string()];
    if let Some(root) = go.parent().and_then(Path::parent) {
        local.push(root.display().to_string());
    }
    if let Ok(home) = std::env::var("HOME") {
        if home.len() > 1 {
            local.push(home);
        }
    }
    for (key, value) in ann {
        let value = value.as_str().unwrap_or("");
        for l in &local {
            assert!(!value.contains(l.as_str()), "{key}={value} holds {l}");
        }
        assert!(!value.starts_with('/'), "{key}={value} looks like a path");
    }

    // The generated manifest now points at the digest-pinned reference, never `latest`.
    let yaml = std::fs::read_to_string(dir.path().join("gen/temp-convert/wadm.yaml")).unwrap();
    let pinned = format!("image: \"{}/temp-convert@sha256:", registry.addr());
    assert!(yaml.contains(&pinned), "{yaml}");
    assert!(!yaml.contains("latest"));

    // Pushing again uploads nothing.
    let err = ok(&pelato()
        .env("REGISTRY_URL", &url)
        .arg("push")
        .arg(dir.path())
        .output()
        .unwrap());
    assert_eq!(err.matches("(already there)").count(), 3, "{err}");
}

#[test]
fn without_a_registry_push_writes_a_local_oci_layout_that_can_be_handed_over() {
    let dir = support::copy_example();
    let err = ok(&pelato().arg("push").arg(dir.path()).output().unwrap());
    assert!(err.contains("local OCI layout"), "{err}");
    let layout = dir.path().join(".pelato/oci");
    pelato::push::validate_layout(&layout).unwrap_or_else(|e| panic!("{e:?}"));
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let refs: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .unwrap()
        })
        .collect();
    for r in [
        "temp-convert:1.0.0",
        "anomaly-filter:1.0.0",
        "fleet-status:0.1.0",
    ] {
        assert!(refs.contains(&r), "{refs:?}");
    }

    // An air-gapped box hands the layout over: copy it to a registry later.
    let registry = Registry::start();
    let out = pelato()
        .env("REGISTRY_URL", format!("http://{}", registry.addr()))
        .args(["push", "--from-layout"])
        .arg(dir.path())
        .output()
        .unwrap();
    let err = ok(&out);
    assert_eq!(err.matches("copied").count(), 3, "{err}");
    assert!(registry.manifest("fleet-status", "0.1.0").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brush_runs_the_whole_pipeline_into_wadm() {
    let registry = Registry::start();
    let nats = NatsServer::start();
    let _wadm = start_wadm(&nats).await;
    let lattice = unique_lattice("brush");
    let dir = support::copy_example();
    let out = pelato()
        .env("REGISTRY_URL", format!("http://{}", registry.addr()))
        .env("NATS_HOST", "127.0.0.1")
        .env("NATS_PORT", nats.port.to_string())
        .args([
            "brush",
            "--no-wait",
            "--lattice",
            &lattice,
            "--output",
            "json",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for t in run["tasks"].as_array().unwrap() {
        let stages: Vec<&str> = t["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["stage"].as_str().unwrap())
            .collect();
        assert_eq!(stages, ["gen", "build", "test", "push", "deploy"], "{t}");
        let push = &t["stages"][3];
        assert!(
            push["reference"].as_str().unwrap().contains("@sha256:"),
            "{push}"
        );
    }
    // wadm holds the three applications, pointing at the pushed digests.
    let client = pelato::deploy::connect(&nats.options(&lattice))
        .await
        .unwrap();
    let names: Vec<String> = ["temp-convert", "anomaly-filter", "fleet-status"]
        .iter()
        .map(|c| format!("iot-sensors-{c}"))
        .collect();
    for r in pelato::deploy::status(&client, &names).await {
        let r = r.expect("app is in wadm");
        assert_eq!(
            r.version.as_str(),
            if r.app.ends_with("fleet-status") {
                "0.1.0"
            } else {
                "1.0.0"
            }
        );
    }
}

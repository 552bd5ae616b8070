//! `platform: wasmcloud-v1 | wasmcloud-v2`: the choice itself, the v2 worlds
//! (`wasi:config/store@0.2.0-rc.1`), and the harness serving both config
//! versions. Real Go, wit-component and wasmtime.

use crate::support::nats::free_port;
use crate::support::project as support;

use std::path::Path;
use std::process::Command;

use pelato::harness::Harness;
use pelato::workflow::Platform;
use support::{build, options, processor_workflow, TestProject};

fn pelato() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pelato"));
    c.env(
        "PELATO_CACHE_DIR",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("pelato-test-cache"),
    );
    c
}

const ECHO: &str = "package main\n\nfunc exec_task(arg string) string { return \"echo:\" + arg }\n";

#[test]
fn platform_defaults_to_v1_and_bad_values_name_file_field_and_fix() {
    let p = TestProject::new(
        &processor_workflow("echo", "echo.go", ""),
        &[("echo.go", ECHO)],
    );
    assert_eq!(p.load().workflow.platform, Platform::WasmcloudV1);

    let wf = format!(
        "platform: wasmcloud-v2\n{}",
        processor_workflow("echo", "echo.go", "")
    );
    let p = TestProject::new(&wf, &[("echo.go", ECHO)]);
    assert_eq!(p.load().workflow.platform, Platform::WasmcloudV2);

    for (value, fix) in [
        ("v2", "write `platform: wasmcloud-v2`"),
        (
            "kubernetes",
            "write `platform: wasmcloud-v1` (wadm, the default) or `platform: wasmcloud-v2`",
        ),
        ("[1]", "write `platform: wasmcloud-v2`, or remove the line"),
    ] {
        let wf = format!(
            "platform: {value}\n{}",
            processor_workflow("echo", "echo.go", "")
        );
        let p = TestProject::new(&wf, &[("echo.go", ECHO)]);
        let err = pelato::pipeline::Project::load(p.path())
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains("workflow.yaml:1"), "{err}");
        assert!(err.contains("`platform`"), "{err}");
        assert!(err.contains(fix), "{value}: {err}");
    }

    // `--platform` is checked by the CLI too, and overrides the file.
    let out = pelato()
        .args(["gen", "--platform", "k8s"])
        .arg(p.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("expected `wasmcloud-v1` or `wasmcloud-v2`"),
        "{err}"
    );
}

#[test]
fn http_host_is_checked() {
    let wf = r#"project_name: hosts
tasks:
  - name: web
    type: http_producer_nats
    code: echo.go
    targets: [edge]
    source_topic: in.web
    dest_topic: out.web
    component_name: web
    version: 1.0.0
    http_host: Web_Site:80
  - name: plain
    type: processor_nats
    code: echo.go
    targets: [edge]
    source_topic: in.plain
    dest_topic: out.plain
    component_name: plain
    version: 1.0.0
    http_host: plain.example.com
"#;
    let p = TestProject::new(wf, &[("echo.go", ECHO)]);
    let err = pelato::pipeline::Project::load(p.path())
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("field `http_host`: \"Web_Site:80\" is not a host name"),
        "{err}"
    );
    assert!(
        err.contains("`http_host` only applies to tasks whose template serves HTTP"),
        "{err}"
    );

    let ok = wf
        .replace("Web_Site:80", "web.example.com")
        .replace("    http_host: plain.example.com\n", "");
    let p = TestProject::new(&ok, &[("echo.go", ECHO)]);
    let project = p.load();
    let wf = &project.workflow;
    assert_eq!(wf.http_host_for(&wf.tasks[0]), "web.example.com");
    assert_eq!(wf.http_host_for(&wf.tasks[1]), "hosts-plain.localhost");
}

/// The example built for wasmCloud 2 passes its own tests in the harness,
/// imports the rc.1 config store (and no draft one), reads its runtime
/// config through it; the v1 build of the same project is a different
/// component in the cache.
#[test]
fn v2_build_of_the_example_imports_config_rc1_and_passes_its_tests() {
    let dir = support::copy_example();
    let mut project = pelato::pipeline::Project::load(dir.path()).unwrap();
    project.workflow.platform = Platform::WasmcloudV2;
    let reports = build(&project);
    let harness = Harness::new(options(&project).harness).unwrap();
    let mut keys = Vec::new();
    for r in &reports {
        let built = r
            .built()
            .unwrap_or_else(|| panic!("{}: {:?}", r.component, r.build));
        let c = harness.load_file(&built.path).unwrap();
        let imports = &c.shape().imports;
        assert!(
            imports.contains("wasi:config/store@0.2.0-rc.1"),
            "{imports:?}"
        );
        assert!(
            !imports.contains("wasi:config/store@0.2.0-draft"),
            "{imports:?}"
        );
        assert!(
            imports.contains("wasmcloud:messaging/consumer@0.2.0"),
            "{imports:?}"
        );
        keys.push(built.record.key.clone());
        let task = project.task(&r.component).unwrap();
        let summary = pelato::pipeline::test_task(&project, &harness, task, built).unwrap();
        assert!(
            summary.failed() == 0 && !summary.cases.is_empty(),
            "{}: {summary:?}",
            r.component
        );
    }

    // The v1 build: other keys, config at 0.2.0-draft.
    project.workflow.platform = Platform::WasmcloudV1;
    let reports = build(&project);
    for (r, v2_key) in reports.iter().zip(&keys) {
        let built = r.built().unwrap();
        assert_ne!(
            &built.record.key, v2_key,
            "the cache key covers the platform"
        );
        let c = harness.load_file(&built.path).unwrap();
        assert!(c.shape().imports.contains("wasi:config/store@0.2.0-draft"));
    }

    // `pelato call --platform wasmcloud-v2 --config`: the rc.1 store serves the runtime config.
    let out = pelato()
        .args(["call", "--platform", "wasmcloud-v2"])
        .arg(dir.path())
        .args([
            "temp-convert",
            "--input",
            r#"{"sensor":"s","fahrenheit":212}"#,
            "--config",
            "dest-topic=elsewhere",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    // call prints what went to the configured dest topic: the component read
    // `dest-topic` through the rc.1 store (else it would publish to the workflow's).
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        r#"{"sensor":"s","celsius":100}"#,
        "{err}"
    );

    // `pelato templates` lists both worlds.
    let out = pelato().arg("templates").arg(dir.path()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("wasmcloud-v2: world pelato:templates/processor-nats-v2@0.1.0"),
        "{text}"
    );
    assert!(
        text.contains("    import wasi:config/store@0.2.0-rc.1"),
        "{text}"
    );
    assert!(
        text.contains("wasmcloud-v1: world pelato:templates/processor-nats@0.1.0"),
        "{text}"
    );
}

/// A project using every template, generated for wasmCloud 2: one
/// WorkloadDeployment per task and target, each valid against the vendored
/// v2.7.0 CRD, declaring every interface the component's world uses.
#[test]
fn v2_gen_writes_a_valid_workload_deployment_per_task_and_target() {
    let wf = r#"project_name: all v2
platform: wasmcloud-v2
tasks:
  - name: proc
    type: processor_nats
    code: echo.go
    targets: [edge, cloud]
    source_topic: in.proc.*
    dest_topic: out.proc
    component_name: proc_one
    version: 1.2.3
    instances: 3
  - name: web
    type: http_producer_nats
    code: echo.go
    targets: [edge]
    source_topic: in.web
    dest_topic: out.web
    component_name: web
    version: 1.0.0
    http_host: ingest.example.com
  - name: db
    type: dbsync
    code: echo.go
    targets: [cloud]
    source_topic: in.db
    component_name: db
    version: 1.0.0
    config: { table: readings }
"#;
    let p = TestProject::new(wf, &[("echo.go", ECHO)]);
    let mut project = p.load();
    project.settings.postgres_database = Some("sensors".into());
    let reports = pelato::pipeline::gen(&project);
    let mut docs = std::collections::BTreeMap::new();
    for r in &reports {
        let g = r.gen.as_ref().unwrap().as_ref().unwrap();
        assert!(!g.manifest_path().exists(), "no wadm manifest for v2");
        let text = std::fs::read_to_string(g.workload_path()).unwrap();
        for d in serde_yaml::Deserializer::from_str(&text) {
            let v: serde_json::Value = serde::Deserialize::deserialize(d).unwrap();
            assert_eq!(pelato::workload::validate(&v), Vec::<String>::new());
            docs.insert(v["metadata"]["name"].as_str().unwrap().to_string(), v);
        }
    }
    assert_eq!(
        docs.keys().collect::<Vec<_>>(),
        [
            "all-v2-db",
            "all-v2-proc-one-cloud",
            "all-v2-proc-one-edge",
            "all-v2-web"
        ]
    );
    let spec = |name: &str| docs[name]["spec"]["template"]["spec"].clone();
    let iface = |name: &str, pkg: &str| -> serde_json::Value {
        spec(name)["hostInterfaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["package"] == pkg)
            .unwrap_or_else(|| panic!("{name} declares {pkg}"))
            .clone()
    };
    // several targets: one per host group, each with all the replicas
    for t in ["edge", "cloud"] {
        let n = format!("all-v2-proc-one-{t}");
        assert_eq!(docs[&n]["spec"]["replicas"], 3);
        assert_eq!(
            spec(&n)["hostSelector"],
            serde_json::json!({ "hostgroup": t })
        );
        assert_eq!(spec(&n)["components"][0]["name"], "proc-one");
    }
    let m = iface("all-v2-proc-one-edge", "messaging");
    assert_eq!(m["version"], "0.2.0");
    assert_eq!(m["interfaces"], serde_json::json!(["consumer", "handler"]));
    assert_eq!(m["config"]["subscriptions"], "in.proc.*");
    let c = iface("all-v2-proc-one-edge", "config");
    assert_eq!(c["version"], "0.2.0-rc.1");
    assert_eq!(c["config"]["dest-topic"], "out.proc");
    assert_eq!(
        spec("all-v2-proc-one-edge")["hostInterfaces"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // HTTP: routed by Host header
    let h = iface("all-v2-web", "http");
    assert_eq!(h["namespace"], "wasi");
    assert_eq!(h["interfaces"], serde_json::json!(["incoming-handler"]));
    assert_eq!(h["config"]["host"], "ingest.example.com");
    // dbsync: postgres with the database, the table as runtime config
    let pg = iface("all-v2-db", "postgres");
    assert_eq!(pg["version"], "0.1.1-draft");
    assert_eq!(pg["interfaces"], serde_json::json!(["query"]));
    assert_eq!(pg["config"]["database"], "sensors");
    assert_eq!(iface("all-v2-db", "config")["config"]["table"], "readings");

    // v1 (the default) still writes wadm manifests only
    let mut project = p.load();
    project.workflow.platform = Platform::WasmcloudV1;
    for r in pelato::pipeline::gen(&project) {
        let g = r.gen.unwrap().unwrap();
        assert!(g.manifest_path().is_file() && !g.workload_path().exists());
    }
}

/// `brush --platform wasmcloud-v2` without NATS_HOST runs every stage it can
/// (gen, build, test, push to the local OCI layout) and ends with how to
/// deploy: NATS_HOST for `wash host` fleets, or the `kubectl apply` of each
/// WorkloadDeployment; `status` with NATS down is a clear failure.
#[test]
fn v2_brush_without_nats_stops_after_push_with_how_to_deploy() {
    let dir = support::copy_example();
    let out = pelato()
        .args(["brush", "--platform", "wasmcloud-v2"])
        .arg(dir.path())
        .env_remove("NATS_HOST")
        .env_remove("REGISTRY_URL")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let wd = dir.path().join("gen/temp-convert/workloaddeployment.yaml");
    assert!(wd.is_file());
    assert!(
        err.contains(&format!("kubectl apply -f {}", wd.display())),
        "{err}"
    );
    assert!(err.contains("NATS_HOST=127.0.0.1"), "{err}");
    assert!(dir.path().join(".pelato/oci/index.json").is_file(), "{err}");

    let out = pelato()
        .args(["status", "--platform", "wasmcloud-v2"])
        .arg(dir.path())
        .env("NATS_HOST", "127.0.0.1")
        .env("NATS_PORT", free_port().to_string())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("127.0.0.1:"), "{err}");
    assert!(!err.contains("wadm"), "v2 status never asks wadm: {err}");
}

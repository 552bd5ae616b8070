//! The original PELATO's own example projects (`fixtures/original/`, their
//! workflow.yaml byte for byte from its README and thesis) through every
//! command, as a user moving from the original runs them: real Go, real
//! wasmtime, a real registry (Debian's docker-registry), a real nats-server
//! and a real wadm.

use crate::support::project as support;

use crate::support::nats as nats_support;
use crate::support::registry as registry_support;

use std::path::Path;
use std::process::{Command, Output};

use nats_support::{start_wadm, unique_lattice, NatsServer};
use registry_support::Registry;

/// `pelato` with a shared cache and no registry or lattice from the runner's
/// environment.
fn pelato(args: &[&str], dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pelato"));
    c.args(args)
        .arg(dir)
        .env(
            "PELATO_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("pelato-test-cache"),
        )
        .env_remove("REGISTRY_URL")
        .env_remove("NATS_HOST")
        .env_remove("NATS_PORT")
        .env_remove("ENABLE_METRICS")
        .env_remove("PARALLEL_BUILD");
    c
}

fn ok(o: Output) -> (String, String) {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    (String::from_utf8_lossy(&o.stdout).into_owned(), err)
}

/// One message through `pelato call`, what it published.
fn call(dir: &Path, component: &str, input: &str, http: bool) -> String {
    let mut c = pelato(&["call"], dir);
    c.args([component, "--input", input]);
    if http {
        c.arg("--http");
    }
    ok(c.output().unwrap()).0
}

/// The original README's example (no project_name; `code:` without tasks/).
#[test]
fn readme_example_gen_build_test_call() {
    let (_tmp, dir) = support::copy_project("fixtures/original/data-aggregation");
    let (_, err) = ok(pelato(&["gen"], &dir).output().unwrap());
    assert!(err.contains("note: workflow.yaml"), "{err}");
    assert!(
        err.contains("named after its folder, \"data-aggregation\""),
        "{err}"
    );
    assert!(
        err.contains("wadm app data-aggregation-data-aggregation"),
        "{err}"
    );
    let yaml = std::fs::read_to_string(dir.join("gen/data_aggregation/wadm.yaml")).unwrap();
    assert!(
        yaml.contains("name: \"data-aggregation-data-aggregation\""),
        "{yaml}"
    );
    assert!(yaml.contains("- name: \"data_aggregation\""), "{yaml}");
    assert!(yaml.contains("build/data_aggregation.wasm"), "{yaml}");

    ok(pelato(&["build"], &dir).output().unwrap());
    assert!(dir.join("build/data_aggregation.wasm").is_file());
    ok(pelato(&["test"], &dir).output().unwrap());
    assert_eq!(
        call(
            &dir,
            "data_aggregation",
            r#"{"sensor":"s1","readings":[20,22.5,21]}"#,
            false
        ),
        r#"{"sensor":"s1","count":3,"min":20,"max":22.5,"mean":21.17}"#
    );
    // Nothing to aggregate: nothing published.
    assert_eq!(
        call(&dir, "data_aggregation", r#"{"sensor":"s1"}"#, false),
        ""
    );
}

/// The thesis's "Setup progetto" example, with its listing indentation.
#[test]
fn thesis_setup_example_gen_build_call() {
    let (_tmp, dir) = support::copy_project("fixtures/original/test-project");
    let (_, err) = ok(pelato(&["build"], &dir).output().unwrap());
    assert!(err.contains("indented by 4 more spaces"), "{err}");
    assert!(dir.join("build/temp_sensor_data.wasm").is_file());
    assert_eq!(
        call(&dir, "temp_sensor_data", "living_room", false),
        r#"{"sensor":"living_room","celsius":21.5}"#
    );
}

/// The thesis's "Template" example, built with the original's `.env.template`
/// as written, then pushed to a real registry and deployed to a real wadm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thesis_template_example_through_push_and_deploy() {
    let (_tmp, dir) = support::copy_project("fixtures/original/temperature-data-analysis");
    // The original's .env.template, byte for byte.
    std::fs::write(
        dir.join(".env"),
        "REGISTRY_URL=\nREGISTRY_USER=\nREGISTRY_PASSWORD=\nPARALLEL_BUILD=True\nNATS_HOST=localhost\nNATS_PORT=4222\nENABLE_METRICS=True\n",
    )
    .unwrap();
    let (_, err) = ok(pelato(&["gen"], &dir).output().unwrap());
    for (component, app) in [
        (
            "celsius_to_kelvin_conversion",
            "temperature-data-analysis-celsius-to-kelvin-conversion",
        ),
        ("temp_filter", "temperature-data-analysis-temp-filter"),
    ] {
        assert!(
            err.contains(component) && err.contains(&format!("wadm app {app}")),
            "{err}"
        );
    }
    ok(pelato(&["build"], &dir).output().unwrap());
    ok(pelato(&["test"], &dir).output().unwrap());
    // ENABLE_METRICS=True records the runs.
    let metrics = std::fs::read_to_string(dir.join(".pelato/metrics.jsonl")).unwrap();
    assert!(metrics.lines().count() >= 2, "{metrics}");
    assert!(metrics.contains("Temperature data analysis"), "{metrics}");

    let reading = r#"{"sensor":"living_room","celsius":21.5}"#;
    let kelvin = r#"{"sensor":"living_room","kelvin":294.65}"#;
    assert_eq!(
        call(&dir, "celsius_to_kelvin_conversion", reading, false),
        kelvin
    );
    assert_eq!(
        call(&dir, "celsius_to_kelvin_conversion", reading, true),
        kelvin
    );
    assert_eq!(call(&dir, "temp_filter", kelvin, false), kelvin);
    assert_eq!(
        call(&dir, "temp_filter", r#"{"sensor":"x","kelvin":900}"#, false),
        ""
    );

    // REGISTRY_URL= (empty) means unset: push goes to the local OCI layout.
    let (_, err) = ok(pelato(&["push"], &dir).output().unwrap());
    assert!(dir.join(".pelato/oci/index.json").is_file(), "{err}");

    // The same project to a real registry: the repositories keep their underscores.
    let registry = Registry::start();
    let url = format!("http://{}", registry.addr());
    ok(pelato(&["push"], &dir)
        .env("REGISTRY_URL", &url)
        .output()
        .unwrap());
    for repo in ["celsius_to_kelvin_conversion", "temp_filter"] {
        let version = if repo == "temp_filter" {
            "1.0.2"
        } else {
            "1.0.0"
        };
        let m = registry.manifest(repo, version).expect("pushed").json();
        assert_eq!(m["layers"][0]["mediaType"], "application/wasm");
    }
    let yaml = std::fs::read_to_string(dir.join("gen/temp_filter/wadm.yaml")).unwrap();
    assert!(
        yaml.contains(&format!("image: \"{}/temp_filter@sha256:", registry.addr())),
        "{yaml}"
    );

    // Deploy, status and remove against a real wadm (no hosts: not waiting).
    let nats = NatsServer::start();
    let _wadm = start_wadm(&nats).await;
    let lattice = unique_lattice("original");
    let lattice_cmd = |cmd: &str, extra: &[&str]| {
        let mut c = pelato(&[cmd], &dir);
        c.args(["--lattice", lattice.as_str()])
            .args(extra)
            .env("NATS_HOST", "127.0.0.1")
            .env("NATS_PORT", nats.port.to_string());
        c.output().unwrap()
    };
    let apps = [
        "temperature-data-analysis-celsius-to-kelvin-conversion",
        "temperature-data-analysis-temp-filter",
    ];
    let (_, err) = ok(lattice_cmd("deploy", &["--no-wait"]));
    for app in apps {
        assert!(err.contains(app), "{app}:\n{err}");
    }
    // --quiet: the deploy stage's progress is not shown.
    let (_, err) = ok(lattice_cmd("deploy", &["--no-wait", "--quiet"]));
    assert!(!err.contains("deploying to lattice"), "{err}");
    let (_, err) = ok(lattice_cmd("status", &[]));
    assert!(err.contains(apps[1]) && err.contains("1.0.2"), "{err}");
    let (_, err) = ok(lattice_cmd("remove", &[]));
    assert_eq!(err.matches("removed ").count(), 2, "{err}");
}

/// The original's `.env.template` as written, read on its own.
#[test]
fn original_env_template_reads_as_the_original_meant_it() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    std::fs::write(
        &env,
        "REGISTRY_URL=\nREGISTRY_USER=\nREGISTRY_PASSWORD=\nPARALLEL_BUILD=True\nNATS_HOST=localhost\nNATS_PORT=4222\nENABLE_METRICS=True\n",
    )
    .unwrap();
    let s = pelato::config::Settings::from_sources(|_| None, Some(&env)).unwrap();
    assert_eq!(s.registry_url, None);
    assert_eq!(s.registry_user, None);
    assert!(s.registry_password.is_none());
    assert_eq!(s.parallel_build, Some(true));
    assert_eq!(s.nats_host.as_deref(), Some("localhost"));
    assert_eq!(s.nats_port, Some(4222));
    assert!(s.enable_metrics);
}

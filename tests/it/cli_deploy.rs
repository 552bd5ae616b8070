//! `pelato deploy | status | remove` as users run them, against a real
//! nats-server (JetStream) and a real wadm started in this test process.

use crate::support::project as support;

use crate::support::nats as nats_support;

use std::path::Path;
use std::process::{Command, Output};

use nats_support::{start_wadm, unique_lattice, NatsServer};

fn pelato(dir: &Path, nats: Option<&NatsServer>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pelato"));
    c.args(args)
        .arg(dir)
        .env_remove("NATS_HOST")
        .env_remove("NATS_PORT");
    if let Some(n) = nats {
        c.env("NATS_HOST", "127.0.0.1")
            .env("NATS_PORT", n.port.to_string());
    }
    c.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_status_and_remove_through_wadm() {
    let nats = NatsServer::start();
    let _wadm = start_wadm(&nats).await;
    let lattice = unique_lattice("cli");
    let dir = support::copy_example();
    let run = |args: &[&str]| {
        let mut full = args.to_vec();
        full.extend(["--lattice", lattice.as_str()]);
        pelato(dir.path(), Some(&nats), &full)
    };

    // No hosts in the lattice: deploy without waiting; all three apps are stored and deployed.
    let out = run(&["deploy", "--no-wait"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    for app in [
        "iot-sensors-temp-convert",
        "iot-sensors-anomaly-filter",
        "iot-sensors-fleet-status",
    ] {
        assert!(err.contains(app), "{app} not reported:\n{err}");
    }

    // Status reports each app waiting for hosts.
    let out = run(&["status"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("iot-sensors-temp-convert") && err.contains("1.0.0"),
        "{err}"
    );
    assert!(
        err.to_lowercase().contains("no hosts")
            || err.contains("waiting")
            || err.contains("Waiting"),
        "{err}"
    );

    // Deploying the unchanged project again is a no-op.
    let out = run(&["deploy", "--no-wait"]);
    assert!(stderr(&out).contains("(unchanged)"), "{}", stderr(&out));

    // Remove: all three go; a second remove reports them as not there.
    let out = run(&["remove"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert_eq!(err.matches("removed ").count(), 3, "{err}");
    let out = run(&["remove"]);
    assert_eq!(
        stderr(&out).matches("not there").count(),
        3,
        "{}",
        stderr(&out)
    );
}

#[test]
fn without_nats_deploy_writes_manifests_and_says_how_to_deploy() {
    let dir = support::copy_example();
    let out = pelato(dir.path(), None, &["deploy"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("NATS_HOST is not set"), "{err}");
    assert!(
        err.contains("pelato deploy") && err.contains("wash app deploy"),
        "{err}"
    );
    // ...and how to see the workflow work locally now: the first task's topic
    // and first test input.
    assert!(
        err.contains(
            r#"--once --send sensors.test.raw '{"sensor":"greenhouse-1","fahrenheit":212}'"#
        ),
        "{err}"
    );
    assert!(dir.path().join("gen/temp-convert/wadm.yaml").is_file());
    let out = pelato(dir.path(), None, &["status"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("NATS_HOST is not set"));
}

#[test]
fn nats_down_is_a_clear_failure() {
    let dir = support::copy_example();
    let port = nats_support::free_port();
    let out = Command::new(env!("CARGO_BIN_EXE_pelato"))
        .args(["deploy", "--no-wait", "--connect-timeout", "1"])
        .arg(dir.path())
        .env("NATS_HOST", "127.0.0.1")
        .env("NATS_PORT", port.to_string())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(err.contains("FAILED at deploy"), "{err}");
}

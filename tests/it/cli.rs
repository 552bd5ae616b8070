//! The `pelato` binary as users run it: exit codes, stdout, stderr.

use crate::support::project as support;

use std::path::Path;
use std::process::Command;

fn pelato() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pelato"));
    c.env(
        "PELATO_CACHE_DIR",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("pelato-test-cache"),
    );
    c
}

#[test]
fn call_prints_exactly_the_published_body() {
    let dir = support::copy_example();
    let out = pelato()
        .args(["call"])
        .arg(dir.path())
        .args([
            "temp-convert",
            "--input",
            r#"{"sensor":"s","fahrenheit":212}"#,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        r#"{"sensor":"s","celsius":100}"#
    );

    // A task error exits non-zero with the reason, and prints nothing on stdout.
    let out = pelato()
        .args(["call"])
        .arg(dir.path())
        .args(["temp-convert", "--input", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exec_task panicked: invalid reading"), "{err}");

    // --input-file, and an unknown component.
    let f = dir.path().join("in.json");
    std::fs::write(&f, r#"{"sensor":"f","fahrenheit":32}"#).unwrap();
    let out = pelato()
        .args(["call"])
        .arg(dir.path())
        .arg("temp-convert")
        .arg("--input-file")
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        r#"{"sensor":"f","celsius":0}"#
    );
    let out = pelato()
        .args(["call"])
        .arg(dir.path())
        .args(["nope", "--input", "x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no task with component_name `nope`") && err.contains("temp-convert"),
        "{err}"
    );
}

#[test]
fn test_fails_with_a_diff_and_the_summary_names_the_task() {
    let dir = support::copy_example();
    let wf = dir.path().join("workflow.yaml");
    let text = std::fs::read_to_string(&wf).unwrap().replace(
        r#"expect: '{"sensor":"greenhouse-1","celsius":100}'"#,
        r#"expect: '{"sensor":"greenhouse-1","celsius":99}'"#,
    );
    std::fs::write(&wf, text).unwrap();
    let out = pelato().arg("test").arg(dir.path()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(r#"  - {"sensor":"greenhouse-1","celsius":99}"#),
        "{err}"
    );
    assert!(
        err.contains(r#"  + {"sensor":"greenhouse-1","celsius":100}"#),
        "{err}"
    );
    assert!(
        err.contains("task `Convert Fahrenheit readings to Celsius` failed at test"),
        "{err}"
    );
    assert!(err.contains("3 task(s): 2 ok, 1 failed"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn an_invalid_project_is_reported_in_full_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("workflow.yaml"),
        "project_name: x\ntasks:\n  - name: a\n    type: procesor\n",
    )
    .unwrap();
    let out = pelato().arg("gen").arg(dir.path()).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did you mean `processor`?"), "{err}");
    assert!(err.contains("field `code`"), "{err}");
    assert!(!dir.path().join("gen").exists());
}

#[test]
fn json_output_metrics_and_clean() {
    let dir = support::copy_example();
    let out = pelato()
        .env("ENABLE_METRICS", "true")
        .args(["build", "--output", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(run["schema"], 1);
    assert_eq!(run["command"], "build");
    assert_eq!(run["ok"], true);
    let tasks = run["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 3);
    let build = tasks[0]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "build")
        .unwrap();
    assert_eq!(build["artifact"], "build/temp-convert.wasm");
    let bytes = std::fs::read(dir.path().join("build/temp-convert.wasm")).unwrap();
    assert_eq!(build["size"], bytes.len() as u64);
    assert_eq!(build["sha256"], pelato::util::digest::sha256_hex(&bytes));

    // The same record was appended to the metrics file; a second run adds a line.
    let metrics = dir.path().join(".pelato/metrics.jsonl");
    assert_eq!(
        std::fs::read_to_string(&metrics).unwrap().lines().count(),
        1
    );
    let out = pelato()
        .env("ENABLE_METRICS", "1")
        .args(["gen", "-q"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let runs = pelato::report::read_metrics(dir.path()).unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[1].command, "gen");
    let out = pelato().arg("metrics").arg(dir.path()).output().unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.lines().count() == 3 && table.contains("build") && table.contains("gen"),
        "{table}"
    );

    // Without ENABLE_METRICS nothing is appended.
    pelato()
        .env_remove("ENABLE_METRICS")
        .args(["gen", "-q"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(pelato::report::read_metrics(dir.path()).unwrap().len(), 2);

    // clean removes gen/ and build/ and nothing else.
    let out = pelato().arg("clean").arg(dir.path()).output().unwrap();
    assert!(out.status.success());
    assert!(!dir.path().join("gen").exists() && !dir.path().join("build").exists());
    assert!(dir.path().join("workflow.yaml").is_file() && metrics.is_file());
}

//! The `http_producer_nats` template end to end: the real Go compiler builds a
//! task, and the embedded wasmtime harness POSTs to its
//! `wasi:http/incoming-handler` export and delivers messages to its messaging
//! handler.

use crate::support::project as support;

use pelato::harness::{Harness, HarnessConfig, Message};
use pelato::pipeline::TaskReport;
use support::{build, options, TestProject};

const ECHO: &str = r#"package main

import "strings"

func exec_task(arg string) string {
	if strings.HasPrefix(arg, "boom") {
		panic("kaboom: " + arg)
	}
	return "got:" + arg
}
"#;

fn workflow(extra: &str) -> String {
    format!(
        "project_name: h\ntasks:\n  - name: http echo\n    type: http_producer_nats\n    code: tasks/echo.go\n    targets: [edge]\n    source_topic: in.echo\n    dest_topic: out.echo\n    component_name: echo\n    version: 1.0.0\n{extra}"
    )
}

fn built(reports: &[TaskReport]) -> &pelato::build::Built {
    let r = reports
        .iter()
        .find(|r| r.component == "echo")
        .expect("task");
    match &r.build {
        Some(Ok(b)) => b,
        other => panic!(
            "echo did not build: gen={:?} build={other:?}",
            r.gen
                .as_ref()
                .map(|g| g.as_ref().err().map(|e| e.to_string()))
        ),
    }
}

#[test]
fn http_producer_nats_serves_posts_and_messages() {
    let p = TestProject::new(&workflow(""), &[("echo.go", ECHO)]);
    let project = p.load();
    let reports = build(&project);
    let b = built(&reports);
    let opts = options(&project);
    let harness = Harness::new(opts.harness.clone()).unwrap();
    let c = harness.load_file(&b.path).unwrap();
    assert!(c.handles_http(), "{:?}", c.shape());
    assert!(c
        .shape()
        .exports
        .contains("wasi:http/incoming-handler@0.2.2"));

    for size in [0usize, 11, 100 * 1024] {
        let input: String = (0..size).map(|i| (b'a' + (i % 26) as u8) as char).collect();
        let reply = c.post("/", input.clone()).unwrap();
        let expected = format!("got:{input}");
        assert_eq!(reply.status, 200, "size {size}: {}", reply.stderr);
        assert_eq!(reply.text(), expected, "size {size}");
        assert_eq!(
            reply.body_to("out.echo").as_deref(),
            Some(expected.as_str())
        );
        assert_eq!(reply.published.len(), 1);
    }

    let get = c.request("GET", "/", "").unwrap();
    assert_eq!(get.status, 405);
    assert!(get.published.is_empty());

    let boom = c.post("/x", "boom now").unwrap();
    assert_eq!(boom.status, 500);
    assert!(boom.text().contains("kaboom: boom now"), "{}", boom.text());
    assert!(boom.published.is_empty());

    // The same component also handles messages on source_topic.
    let d = c
        .deliver(&Message::new("in.echo", "msg").with_reply_to("inbox.1"))
        .unwrap();
    assert_eq!(d.result, Ok(()));
    assert_eq!(d.body_to("out.echo").as_deref(), Some("got:msg"));
    assert_eq!(d.body_to("inbox.1").as_deref(), Some("got:msg"));

    // The manifest adds the HTTP server provider, linked on wasi:http.
    let manifest = std::fs::read_to_string(p.path().join("gen/echo/wadm.yaml")).unwrap();
    assert!(
        manifest.contains("wasmcloud+builtin://http-server"),
        "{manifest}"
    );
    assert!(manifest.contains("incoming-handler"), "{manifest}");
    assert!(manifest.contains("address: \"0.0.0.0:8000\""), "{manifest}");
}

#[test]
fn http_producer_nats_rejects_bodies_over_max_message_size() {
    let p = TestProject::new(
        &workflow("    max_message_size: 65536\n"),
        &[("echo.go", ECHO)],
    );
    let project = p.load();
    let reports = build(&project);
    let b = built(&reports);
    let harness = Harness::new(HarnessConfig {
        cache_dir: options(&project).harness.cache_dir,
        ..HarnessConfig::default()
    })
    .unwrap();
    let c = harness.load_file(&b.path).unwrap();
    let big = vec![b'x'; 100 * 1024];
    let reply = c.post("/", big).unwrap();
    assert_eq!(reply.status, 413, "{}", reply.text());
    assert!(reply.published.is_empty());
    let ok = c.post("/", "fits").unwrap();
    assert_eq!(ok.status, 200);
    assert_eq!(ok.text(), "got:fits");
}

fn pelato(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pelato"));
    cmd.arg(args[0]).arg(dir).args(&args[1..]);
    cmd.output().expect("run pelato")
}

#[test]
fn call_http_posts_the_input_and_prints_what_was_published() {
    let p = TestProject::new(&workflow(""), &[("echo.go", ECHO)]);
    let out = pelato(&["call", "echo", "--http", "--input", "hello"], p.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got:hello");
    assert!(stderr.contains("HTTP 200: got:hello"), "{stderr}");

    // A task panic is a 500: the call fails and says so.
    let out = pelato(&["call", "echo", "--http", "--input", "boom"], p.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("answered HTTP 500"), "{stderr}");
    assert!(out.stdout.is_empty());

    // --config sets the runtime config: the result goes to that dest topic.
    let out = pelato(
        &[
            "call",
            "echo",
            "--http",
            "--input",
            "x",
            "--config",
            "dest-topic=out.other",
        ],
        p.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got:x");
    let out = pelato(
        &["call", "echo", "--input", "x", "--config", "novalue"],
        p.path(),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not KEY=VALUE"));
}

#[test]
fn bad_http_port_and_shared_ports_name_the_field_and_the_fix() {
    let gen_err = |wf: &str| {
        let p = TestProject::new(wf, &[("echo.go", ECHO)]);
        let out = pelato(&["gen"], p.path());
        assert!(!out.status.success(), "{wf}");
        assert!(
            !p.path().join("gen").exists(),
            "nothing is written on failure"
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = gen_err(&workflow("    http_port: 70000\n"));
    assert!(
        err.contains("http_port") && err.contains("70000 is not a TCP port (1 to 65535)"),
        "{err}"
    );
    assert!(err.contains("write e.g. `http_port: 8000`"), "{err}");

    let processor = "project_name: h\ntasks:\n  - name: p\n    type: processor\n    code: tasks/echo.go\n    targets: [edge]\n    source_topic: a\n    dest_topic: b\n    component_name: p\n    version: 1.0.0\n    http_port: 8080\n";
    let err = gen_err(processor);
    assert!(
        err.contains("`http_port` only applies to `http_producer_nats` tasks"),
        "{err}"
    );

    // Two HTTP tasks on port 8000 that share the edge label cannot both bind.
    let second = "  - name: http echo 2\n    type: http_producer_nats\n    code: tasks/echo.go\n    targets: [cloud, edge]\n    source_topic: in.echo2\n    dest_topic: out.echo2\n    component_name: echo-two\n    version: 1.0.0\n";
    let err = gen_err(&workflow(second));
    assert!(
        err.contains("listens on port 8000 like task `http echo`, and both run on `edge` hosts"),
        "{err}"
    );
    assert!(
        err.contains("give one of them another port, e.g. `http_port: 8001`"),
        "{err}"
    );
    // On another port, both are fine.
    let ok = TestProject::new(
        &workflow(&format!("{second}    http_port: 8001\n")),
        &[("echo.go", ECHO)],
    );
    let out = pelato(&["gen"], ok.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

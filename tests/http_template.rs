//! The `http_producer_nats` template end to end: the real Go compiler builds a
//! task, and the embedded wasmtime harness POSTs to its
//! `wasi:http/incoming-handler` export and delivers messages to its messaging
//! handler.

#[path = "support/project.rs"]
mod support;

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

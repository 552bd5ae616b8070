//! End-to-end pipeline tests with real parts: the real Go compiler builds the
//! generated projects, wit-component componentizes them in process, and the
//! components run in the embedded wasmtime harness.

use crate::support::project as support;

use std::time::Duration;

use pelato::build::BuildError;
use pelato::harness::{Harness, HarnessConfig, HarnessError, Message};
use pelato::pipeline::{self, TaskReport};
use support::{build, options, processor_workflow, TestProject};

fn built<'a>(reports: &'a [TaskReport], component: &str) -> &'a pelato::build::Built {
    let r = reports
        .iter()
        .find(|r| r.component == component)
        .expect("task");
    match &r.build {
        Some(Ok(b)) => b,
        other => panic!(
            "{component} did not build: gen={:?} build={other:?}",
            r.gen
                .as_ref()
                .map(|g| g.as_ref().err().map(|e| e.to_string()))
        ),
    }
}

const STDLIB_WORKFLOW: &str = r#"project_name: stdlib
tasks:
  - name: text
    type: processor
    code: tasks/text.go
    targets: [edge]
    source_topic: in.text
    dest_topic: out.text
    component_name: text
    version: 1.0.0
    tests:
      - input: "3, 1, 2, 10"
        expect: "1 2 3 10 | sum=16 | HELLO"
  - name: json
    type: processor
    code: tasks/json.go
    targets: [cloud]
    source_topic: in.json
    dest_topic: out.json
    component_name: jsonx
    version: 1.0.0
    tests:
      - input: '{"items":[{"n":"b","q":2},{"n":"a","q":5}]}'
        expect: '{"count":2,"names":["a","b"],"total":7}'
  - name: regexp and crypto
    type: processor
    code: tasks/match.go
    targets: [edge, cloud]
    source_topic: in.match
    dest_topic: out.match
    component_name: matcher
    version: 1.0.0
    tests:
      - input: "id=42 id=7 other=1"
        expect: "42,7 sha256=dc1c5c2f08d988a2cd3e0f29b198dcf80a32d666272799ff4368e39ac0eb6e07 rand=16"
  - name: time
    type: processor
    code: tasks/when.go
    targets: [edge]
    source_topic: in.when
    dest_topic: out.when
    component_name: when
    version: 1.0.0
    tests:
      - input: "2026-03-29T00:30:00Z"
        expect: "Sunday 2026-03-29 01:30 CET +1h0m0s"
      - input: "garbage"
        expect_error: "cannot parse"
"#;

const TEXT_GO: &str = r#"package main

import (
	"sort"
	"strconv"
	"strings"
)

func exec_task(arg string) string {
	var nums []int
	sum := 0
	for _, f := range strings.Split(arg, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			panic(err)
		}
		nums = append(nums, n)
		sum += n
	}
	sort.Ints(nums)
	parts := make([]string, len(nums))
	for i, n := range nums {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, " ") + " | sum=" + strconv.Itoa(sum) + " | " + strings.ToUpper("hello")
}
"#;

const JSON_GO: &str = r#"package main

import (
	"encoding/json"
	"sort"
)

type item struct {
	N string `json:"n"`
	Q int    `json:"q"`
}

func exec_task(arg string) string {
	var in struct{ Items []item `json:"items"` }
	if err := json.Unmarshal([]byte(arg), &in); err != nil {
		panic(err)
	}
	out := map[string]any{"count": len(in.Items)}
	names := []string{}
	total := 0
	for _, it := range in.Items {
		names = append(names, it.N)
		total += it.Q
	}
	sort.Strings(names)
	out["names"] = names
	out["total"] = total
	b, _ := json.Marshal(out)
	return string(b)
}
"#;

const MATCH_GO: &str = r#"package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
)

var ids = regexp.MustCompile(`id=(\d+)`)

func exec_task(arg string) string {
	var found []string
	for _, m := range ids.FindAllStringSubmatch(arg, -1) {
		found = append(found, m[1])
	}
	sum := sha256.Sum256([]byte("pelato"))
	buf := make([]byte, 16)
	if _, err := rand.Read(buf); err != nil {
		panic(err)
	}
	return strings.Join(found, ",") + " sha256=" + hex.EncodeToString(sum[:]) + " rand=" + strconv.Itoa(len(buf))
}
"#;

const WHEN_GO: &str = r#"package main

import (
	"time"
	_ "time/tzdata"
)

func exec_task(arg string) string {
	t, err := time.Parse(time.RFC3339, arg)
	if err != nil {
		panic(err)
	}
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		panic(err)
	}
	local := t.In(loc)
	_, off := local.Zone()
	return local.Format("Monday 2006-01-02 15:04 MST") + " +" + (time.Duration(off) * time.Second).String()
}
"#;

#[test]
fn stdlib_heavy_tasks_build_and_pass_their_cases() {
    let p = TestProject::new(
        STDLIB_WORKFLOW,
        &[
            ("text.go", TEXT_GO),
            ("json.go", JSON_GO),
            ("match.go", MATCH_GO),
            ("when.go", WHEN_GO),
        ],
    );
    let project = p.load();
    let reports = build(&project);
    let harness = Harness::new(options(&project).harness).unwrap();
    for r in &reports {
        let b = built(&reports, &r.component);
        assert!(
            b.record.size > 1_000_000,
            "a Go component is megabytes, got {}",
            b.record.size
        );
        let task = project.task(&r.component).unwrap();
        let summary = pipeline::test_task(&project, &harness, task, b).unwrap();
        for c in &summary.cases {
            assert!(c.passed, "{} / {}:\n{}", r.component, c.name, c.diff);
        }
        assert_eq!(summary.cases.len(), task.tests.len());
    }
    // The digest in the expected output is the real one.
    assert!(STDLIB_WORKFLOW.contains(&pelato::util::digest::sha256_hex(b"pelato")));
}

const EDGE_GO: &str = r#"package main

import (
	"strconv"
	"strings"
	"time"
)

func exec_task(arg string) string {
	switch {
	case arg == "boom":
		panic("boom")
	case arg == "index":
		var s []int
		return strconv.Itoa(s[3])
	case arg == "spin":
		for {
		}
	case arg == "sleep":
		time.Sleep(time.Hour)
	case arg == "hog":
		var keep [][]byte
		for {
			keep = append(keep, make([]byte, 64<<20))
			keep[len(keep)-1][0] = 1
		}
	case strings.HasPrefix(arg, "big:"):
		n, _ := strconv.Atoi(strings.TrimPrefix(arg, "big:"))
		return strings.Repeat("x", n)
	case strings.HasPrefix(arg, "len:"):
		return strconv.Itoa(len(arg))
	case arg == "":
		return ""
	}
	return "echo:" + arg
}
"#;

fn edge_project() -> TestProject {
    TestProject::new(
        &processor_workflow("edge", "edge.go", "    max_message_size: 65536\n"),
        &[("edge.go", EDGE_GO)],
    )
}

#[test]
fn panics_timeouts_memory_and_sizes_are_contained() {
    let p = edge_project();
    let project = p.load();
    let reports = build(&project);
    let b = built(&reports, "edge");
    assert_eq!(b.record.max_message_bytes, 65536);
    let mut cfg = options(&project).harness;
    cfg.timeout = Duration::from_millis(1500);
    cfg.memory_limit = 256 << 20;
    let harness = Harness::new(cfg).unwrap();
    let c = harness
        .load_file(&b.path)
        .unwrap()
        .with_max_message_bytes(b.record.max_message_bytes);

    // A panic becomes the task's error, not a trap; a requester gets an error reply.
    let d = c
        .deliver(&Message::new("in.edge", "boom").with_reply_to("_INBOX.1"))
        .unwrap();
    assert_eq!(d.result, Err("exec_task panicked: boom".to_string()));
    assert_eq!(
        d.body_to("_INBOX.1").as_deref(),
        Some("error: exec_task panicked: boom")
    );
    assert_eq!(
        d.published_to("out.edge").count(),
        0,
        "nothing goes to dest_topic on error"
    );

    // A runtime error (index out of range) too.
    let d = c.deliver(&Message::new("in.edge", "index")).unwrap();
    let err = d.result.unwrap_err();
    assert!(err.contains("index out of range"), "{err}");

    // A busy loop and a long sleep are both stopped by the timeout...
    for arg in ["spin", "sleep"] {
        let start = std::time::Instant::now();
        let e = c.deliver(&Message::new("in.edge", arg)).unwrap_err();
        assert!(matches!(e, HarnessError::Timeout(_)), "{arg}: {e}");
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{arg} took {:?}",
            start.elapsed()
        );
    }
    // ...and the component still serves the next message.
    let d = c.deliver(&Message::new("in.edge", "hi")).unwrap();
    assert_eq!(d.body_to("out.edge").as_deref(), Some("echo:hi"));

    // Growing past the memory limit traps instead of taking the host down.
    let e = c.deliver(&Message::new("in.edge", "hog")).unwrap_err();
    assert!(matches!(e, HarnessError::Trap { .. }), "{e}");

    // A large output (4 MiB) is published whole: outputs are not bound by the arena.
    let d = c
        .deliver(&Message::new("in.edge", format!("big:{}", 4 << 20)))
        .unwrap();
    assert_eq!(
        d.published_to("out.edge").next().unwrap().body.len(),
        4 << 20
    );

    // An input just under the limit passes; one over it is refused cleanly.
    let under = format!("len:{}", "y".repeat(60_000));
    let d = c.deliver(&Message::new("in.edge", under.clone())).unwrap();
    assert_eq!(d.body_to("out.edge"), Some(under.len().to_string()));
    // Over the limit: refused by the glue with a clear error (and an error reply)...
    let over = format!("len:{}", "y".repeat(100_000));
    let d = c
        .deliver(&Message::new("in.edge", over).with_reply_to("_INBOX.big"))
        .unwrap();
    let err = d.result.clone().unwrap_err();
    assert!(
        err.contains("message too large: 100004 bytes exceeds max_message_size (65536 bytes)"),
        "{err}"
    );
    assert!(d
        .body_to("_INBOX.big")
        .unwrap()
        .starts_with("error: message too large"));
    assert_eq!(d.published_to("out.edge").count(), 0);
    // ...and far over it, the arena refuses to allocate and the host traps cleanly.
    let e = c
        .deliver(&Message::new("in.edge", "z".repeat(300_000)))
        .unwrap_err();
    match e {
        HarnessError::MessageTooLarge { limit, size } => {
            assert_eq!(limit, 65536);
            assert!(size >= 300_000);
        }
        other => panic!("expected MessageTooLarge, got {other}"),
    }

    // An empty result publishes nothing, but a requester still gets its (empty) reply.
    let d = c
        .deliver(&Message::new("in.edge", "").with_reply_to("_INBOX.2"))
        .unwrap();
    assert_eq!(d.result, Ok(()));
    assert_eq!(d.published_to("out.edge").count(), 0);
    assert_eq!(d.body_to("_INBOX.2").as_deref(), Some(""));

    // A normal message goes to dest_topic and to the reply-to.
    let d = c
        .deliver(&Message::new("in.edge", "x").with_reply_to("_INBOX.3"))
        .unwrap();
    assert_eq!(d.body_to("out.edge").as_deref(), Some("echo:x"));
    assert_eq!(d.body_to("_INBOX.3").as_deref(), Some("echo:x"));
}

#[test]
fn a_compile_error_names_the_users_file_and_spares_other_tasks() {
    let wf = r#"project_name: mixed
tasks:
  - name: good
    type: processor_nats
    code: tasks/good.go
    targets: [edge]
    source_topic: in.good
    dest_topic: out.good
    component_name: good
    version: 1.0.0
  - name: bad
    type: processor_nats
    code: tasks/bad.go
    targets: [edge]
    source_topic: in.bad
    dest_topic: out.bad
    component_name: bad
    version: 1.0.0
"#;
    let p = TestProject::new(
        wf,
        &[
            ("good.go", "package main\n\nfunc exec_task(arg string) string { return arg }\n"),
            ("bad.go", "package main\n\nfunc exec_task(arg string) string {\n\treturn undefinedThing(arg)\n}\n"),
        ],
    );
    let project = p.load();
    let reports = build(&project);
    built(&reports, "good");
    let bad = reports.iter().find(|r| r.component == "bad").unwrap();
    match &bad.build {
        Some(Err(BuildError::Compile { message, .. })) => {
            assert!(message.contains("tasks/bad.go:4:"), "{message}");
            assert!(message.contains("undefinedThing"), "{message}");
            assert!(!message.contains("zz_pelato"), "{message}");
        }
        other => panic!("expected a compile error, got {other:?}"),
    }
    let (stage, msg) = bad.failure().unwrap();
    assert_eq!(stage, "build");
    assert!(msg.contains("task `bad` does not compile"), "{msg}");
    // Nothing half-written for the failed task.
    assert!(!p.path().join("build/bad.wasm").exists());
}

#[test]
fn builds_are_cached_and_only_the_edited_task_rebuilds() {
    let wf = r#"project_name: cache
tasks:
  - name: one
    type: processor_nats
    code: tasks/one.go
    targets: [edge]
    source_topic: in.one
    dest_topic: out.one
    component_name: one
    version: 1.0.0
  - name: two
    type: producer_nats
    code: tasks/two.go
    targets: [cloud]
    source_topic: tick
    dest_topic: out.two
    component_name: two
    version: 1.0.0
"#;
    let p = TestProject::new(
        wf,
        &[
            (
                "one.go",
                "package main\n\nfunc exec_task(arg string) string { return \"1:\" + arg }\n",
            ),
            (
                "two.go",
                "package main\n\nfunc exec_task(arg string) string { return \"2:\" + arg }\n",
            ),
        ],
    );
    let first = build(&p.load());
    assert!(first.iter().all(|r| !r.built().unwrap().cached));
    // Outputs get the mode any new file gets (0644 under umask 022), not a temp file's 0600:
    // on a shared build box the rest of the team can read them.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let probe = p.path().join("probe");
        std::fs::File::create(&probe).unwrap();
        let usual = mode(&probe);
        for out in ["build/one.wasm", "build/one.json", "build/two.wasm"] {
            assert_eq!(mode(&p.path().join(out)), usual, "{out}");
        }
    }
    let again = build(&p.load());
    assert!(
        again.iter().all(|r| r.built().unwrap().cached),
        "unchanged → all cached"
    );
    std::fs::write(
        p.path().join("tasks/two.go"),
        "package main\n\nfunc exec_task(arg string) string { return \"two:\" + arg }\n",
    )
    .unwrap();
    let third = build(&p.load());
    assert!(built(&third, "one").cached);
    assert!(!built(&third, "two").cached);
    // Undoing the edit is a hit in the content-addressed store: no compiler run.
    std::fs::write(
        p.path().join("tasks/two.go"),
        "package main\n\nfunc exec_task(arg string) string { return \"2:\" + arg }\n",
    )
    .unwrap();
    let undone = build(&p.load());
    assert!(
        built(&undone, "two").cached,
        "reverted sources come from the store"
    );
    assert_eq!(
        built(&undone, "two").record.sha256,
        built(&first, "two").record.sha256
    );
    std::fs::write(
        p.path().join("tasks/two.go"),
        "package main\n\nfunc exec_task(arg string) string { return \"two:\" + arg }\n",
    )
    .unwrap();
    let third = build(&p.load());
    assert!(built(&third, "two").cached);
    let harness = Harness::new(HarnessConfig {
        cache_dir: None,
        ..HarnessConfig::default()
    })
    .unwrap();
    let c = harness.load_file(&built(&third, "two").path).unwrap();
    let d = c.deliver(&Message::new("tick", "now")).unwrap();
    assert_eq!(d.body_to("out.two").as_deref(), Some("two:now"));
}

#[test]
fn a_component_is_checked_against_its_world() {
    let p = TestProject::new(
        &processor_workflow("shape", "shape.go", ""),
        &[(
            "shape.go",
            "package main\n\nfunc exec_task(arg string) string { return arg }\n",
        )],
    );
    let project = p.load();
    let reports = build(&project);
    let b = built(&reports, "shape");
    let bytes = std::fs::read(&b.path).unwrap();
    let shape = pelato::harness::ComponentShape::of(&bytes).unwrap();
    assert!(shape.exports.contains("wasmcloud:messaging/handler@0.2.0"));
    assert!(shape.imports.contains("wasmcloud:messaging/consumer@0.2.0"));
    assert!(
        !shape.imports.iter().any(|i| i.starts_with("wasi:sockets")),
        "{:?}",
        shape.imports
    );

    // Matches its own world...
    let wit = project.generator.wit();
    let template = project.generator.templates().get("processor_nats").unwrap();
    shape
        .check_against(&wit.resolve, wit.world(template).unwrap())
        .unwrap();

    // ...but not a world that expects another export and offers no consumer.
    let mut resolve = wit.resolve.clone();
    let pkg = resolve
        .push_str(
            "other.wit",
            "package test:other;\ninterface run { go: func(); }\nworld other { export run; }\n",
        )
        .unwrap();
    let other = resolve.select_world(&[pkg], Some("other")).unwrap();
    let err = shape
        .check_against(&resolve, other)
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing export `test:other/run`"), "{err}");
    assert!(
        err.contains("unexpected export `wasmcloud:messaging/handler@0.2.0`"),
        "{err}"
    );
    assert!(
        err.contains("imports `wasmcloud:messaging/consumer@0.2.0`"),
        "{err}"
    );
}

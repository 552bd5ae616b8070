//! Pre-initialized (snapshotted) components behave as plain ones: the same
//! results for every template, fresh randomness per instance, right clocks,
//! panics and GC as before; and the opt-outs, the cache and `pelato bench`.

use crate::support::project as support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use pelato::harness::{Harness, HarnessConfig, Message};
use pelato::pipeline::{self, Project, Reporter, Stage, TaskReport};

/// Keeps the stages the pipeline reports.
struct StageLog(Arc<Mutex<Vec<Stage>>>);

impl Reporter for StageLog {
    fn stage(&self, _: &str, stage: Stage) {
        self.0.lock().unwrap().push(stage);
    }
    fn info(&self, _: &str) {}
    fn warn(&self, _: &str) {}
}
use support::{go, options, processor_workflow, TestProject, CONVERT};

/// gen + build with or without snapshot.
fn build(project: &Project, snapshot: bool) -> Vec<TaskReport> {
    let mut o = options(project);
    o.snapshot = snapshot;
    pipeline::build(project, &go(), &o, &|_| {})
}

fn built<'a>(reports: &'a [TaskReport], component: &str) -> &'a pelato::build::Built {
    let r = reports.iter().find(|r| r.component == component).unwrap();
    match &r.build {
        Some(Ok(b)) => b,
        other => panic!(
            "{component} did not build: {other:?} (gen: {:?})",
            r.gen.as_ref().map(|g| g.is_ok())
        ),
    }
}

fn harness() -> Harness {
    Harness::new(HarnessConfig::default()).unwrap()
}

/// Everything observable of one delivery, as text.
fn observe(h: &Harness, path: &Path, msg: &Message) -> String {
    let c = h.load_file(path).unwrap();
    let d = c.deliver(msg).unwrap();
    let published: Vec<String> = d
        .published
        .iter()
        .map(|p| format!("{} <- {}", p.subject, String::from_utf8_lossy(&p.body)))
        .collect();
    let sql: Vec<String> = d
        .sql
        .iter()
        .map(|s| format!("{} {:?}", s.sql, s.params))
        .collect();
    format!(
        "{:?} | {} | {}",
        d.result,
        published.join(" ; "),
        sql.join(" ; ")
    )
}

/// For each task's test cases (and the extra inputs), what the snapshotted and
/// the plain build of `project` give; also checks the build records.
fn outputs(project: &Project, snapshot: bool, extra: &[&str]) -> BTreeMap<String, String> {
    let reports = build(project, snapshot);
    let h = harness();
    let mut out = BTreeMap::new();
    for task in &project.workflow.tasks {
        let b = built(&reports, &task.component_name);
        assert_eq!(
            b.record.snapshot, snapshot,
            "{}: {:?}",
            task.component_name, b.record
        );
        let subject = pipeline::concrete_subject(&task.source_topic);
        let inputs = task
            .tests
            .iter()
            .map(|t| t.input.clone())
            .chain(extra.iter().map(|s| s.to_string()));
        for input in inputs {
            let msg = pipeline::test_message(task, &subject, input.clone().into_bytes());
            out.insert(
                format!("{} {input}", task.component_name),
                observe(&h, &b.path, &msg),
            );
        }
        let c = h.load_file(&b.path).unwrap();
        if c.handles_http() {
            let r = c.post("/", "{\"sensor\":\"h\",\"fahrenheit\":50}").unwrap();
            out.insert(
                format!("{} http", task.component_name),
                format!("{} {}", r.status, r.text()),
            );
        }
        // The task's own test cases pass too.
        let summary = pipeline::test_task(project, &h, task, b).unwrap();
        assert_eq!(summary.failed(), 0, "{}: {summary:?}", task.component_name);
    }
    out
}

const FOUR_TEMPLATES: &str = r#"project_name: four
tasks:
  - name: convert
    type: processor_nats
    code: tasks/convert.go
    targets: [edge]
    source_topic: in.convert
    dest_topic: out.convert
    component_name: convert
    version: 1.0.0
    tests:
      - input: '{"sensor":"a","fahrenheit":212}'
        expect: '{"celsius":100,"sensor":"a"}'
      - input: 'boom'
        expect_error: 'kaboom'
  - name: produce
    type: producer_nats
    code: tasks/convert.go
    targets: [edge]
    source_topic: ticks
    dest_topic: out.produce
    component_name: produce
    version: 1.0.0
    tests:
      - input: '{"sensor":"p","fahrenheit":32}'
        expect: '{"celsius":0,"sensor":"p"}'
  - name: web
    type: http_producer_nats
    code: tasks/convert.go
    targets: [edge]
    source_topic: in.web
    dest_topic: out.web
    component_name: web
    version: 1.0.0
    tests:
      - input: '{"sensor":"w","fahrenheit":41}'
        expect: '{"celsius":5,"sensor":"w"}'
  - name: store
    type: dbsync
    code: tasks/convert.go
    targets: [cloud]
    source_topic: in.store
    component_name: store
    version: 1.0.0
    tests:
      - input: '{"sensor":"d","fahrenheit":212}'
        expect: '{"celsius":100,"sensor":"d"}'
"#;

#[test]
fn snapshotted_and_plain_components_give_identical_results_for_all_templates_and_the_example() {
    let p = TestProject::new(FOUR_TEMPLATES, &[("convert.go", CONVERT)]);
    let project = p.load();
    let extra = ["not json", "boom again"];
    let snap = outputs(&project, true, &extra);
    let plain = outputs(&project, false, &extra);
    assert_eq!(snap.len(), 4 * 2 + 5 + 1, "{snap:#?}");
    assert_eq!(snap, plain);

    let example = support::copy_example();
    let project = Project::load(example.path()).unwrap();
    let snap = outputs(&project, true, &[]);
    let plain = outputs(&project, false, &[]);
    assert!(snap.len() >= 7, "{snap:#?}");
    assert_eq!(snap, plain);
}

const PROBE: &str = r#"package main

import (
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"math/rand"
	randv2 "math/rand/v2"
	"os"
	"strings"
	"time"
)

var atInit = map[string]int{}

func init() {
	for _, k := range strings.Split("a b c d e f g h i j k l m n o p q r s t", " ") {
		atInit[k] = len(k)
	}
}

func order(m map[string]int) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return strings.Join(ks, "")
}

func exec_task(arg string) string {
	fresh := map[string]int{}
	for _, k := range strings.Split("a b c d e f g h i j k l m n o p q r s t", " ") {
		fresh[k] = 1
	}
	b := make([]byte, 16)
	crand.Read(b)
	start := time.Now()
	time.Sleep(20 * time.Millisecond)
	slept := time.Since(start)
	out, _ := json.Marshal(map[string]any{
		"rand":     rand.Int63(),
		"randv2":   randv2.Uint64(),
		"order":    order(fresh),
		"initmap":  order(atInit),
		"crypto":   hex.EncodeToString(b),
		"now_ms":   time.Now().UnixMilli(),
		"slept_us": slept.Microseconds(),
		"env":      len(os.Environ()),
		"args":     len(os.Args),
	})
	return string(out)
}
"#;

#[test]
fn every_fresh_instance_gets_fresh_randomness_and_reads_the_clocks_right() {
    let p = TestProject::new(
        &processor_workflow("probe", "probe.go", ""),
        &[("probe.go", PROBE)],
    );
    let project = p.load();
    for snapshot in [true, false] {
        let reports = build(&project, snapshot);
        let b = built(&reports, "probe");
        assert_eq!(b.record.snapshot, snapshot);
        let h = harness();
        let c = h.load_file(&b.path).unwrap();
        let runs: Vec<serde_json::Value> = (0..5)
            .map(|_| {
                let d = c.deliver(&Message::new("in.probe", "x")).unwrap();
                assert_eq!(d.result, Ok(()), "{}", d.stderr);
                serde_json::from_str(&d.body_to("out.probe").unwrap()).unwrap()
            })
            .collect();
        let distinct = |key: &str| {
            runs.iter()
                .map(|r| r[key].to_string())
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        };
        // 63- and 64-bit draws and 16 random bytes: any repeat means shared state.
        for key in ["rand", "randv2", "crypto"] {
            assert_eq!(distinct(key), 5, "snapshot={snapshot} {key}: {runs:#?}");
        }
        // Iteration order of 20 keys: five equal orders would mean a shared seed.
        assert!(distinct("order") > 1, "snapshot={snapshot}: {runs:#?}");
        assert!(distinct("initmap") > 1, "snapshot={snapshot}: {runs:#?}");
        let host_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        for r in &runs {
            let now = r["now_ms"].as_i64().unwrap();
            assert!(
                (host_ms - now).abs() < 10_000,
                "snapshot={snapshot}: {now} vs host {host_ms}"
            );
            let slept = r["slept_us"].as_i64().unwrap();
            assert!(
                (20_000..2_000_000).contains(&slept),
                "snapshot={snapshot}: slept {slept} µs"
            );
            // Nothing of the building process's environment or arguments.
            assert_eq!(r["env"], 0, "{r}");
            assert_eq!(r["args"], 0, "{r}");
        }
    }
}

const GC_HEAVY: &str = r#"package main

import (
	"fmt"
	"runtime"
	"strconv"
)

func exec_task(arg string) string {
	if arg == "panic" {
		var m map[string]int
		m["x"] = 1
	}
	n, _ := strconv.Atoi(arg)
	total := 0
	keep := map[int][]byte{}
	for i := 0; i < n; i++ {
		b := make([]byte, 1024+i%512)
		b[0] = byte(i)
		total += len(b) + int(b[0])
		if i%97 == 0 {
			keep[i] = b
		}
		if i%5000 == 0 {
			runtime.GC()
		}
	}
	return fmt.Sprintf("%d %d", total, len(keep))
}
"#;

#[test]
fn gc_pressure_and_panics_behave_as_without_snapshot() {
    let n = 60_000usize;
    let total: usize = (0..n).map(|i| 1024 + i % 512 + (i % 256)).sum();
    let kept = (0..n).filter(|i| i % 97 == 0).count();
    let expected = format!("{total} {kept}");
    let p = TestProject::new(
        &processor_workflow("gc", "gc.go", ""),
        &[("gc.go", GC_HEAVY)],
    );
    let project = p.load();
    for snapshot in [true, false] {
        let reports = build(&project, snapshot);
        let b = built(&reports, "gc");
        assert_eq!(b.record.snapshot, snapshot);
        let h = harness();
        let c = h.load_file(&b.path).unwrap();
        let d = c.deliver(&Message::new("in.gc", n.to_string())).unwrap();
        assert_eq!(
            d.body_to("out.gc").as_deref(),
            Some(expected.as_str()),
            "{}",
            d.stderr
        );
        let d = c.deliver(&Message::new("in.gc", "panic")).unwrap();
        let err = d.result.unwrap_err();
        assert!(err.contains("assignment to entry in nil map"), "{err}");
        // The next message is served, on a fresh instance and on a warm one.
        let d = c.deliver(&Message::new("in.gc", "10")).unwrap();
        assert_eq!(d.result, Ok(()));
        let mut s = c.session().unwrap();
        let (r, _) = s.deliver(&Message::new("in.gc", "panic")).unwrap();
        assert!(r.is_err());
        let (r, published) = s.deliver(&Message::new("in.gc", "3")).unwrap();
        assert_eq!(r, Ok(()));
        assert_eq!(published.len(), 1);
    }
}

#[test]
fn snapshot_can_be_turned_off_per_project_and_task_and_is_cached_per_core_module() {
    let wf = FOUR_TEMPLATES.replace(
        "project_name: four\n",
        "project_name: four\nsnapshot: false\n",
    );
    let wf = wf.replacen(
        "    component_name: produce\n",
        "    component_name: produce\n    snapshot: true\n",
        1,
    );
    let p = TestProject::new(&wf, &[("convert.go", CONVERT)]);
    let project = p.load();
    let reports = build(&project, true);
    assert!(!built(&reports, "convert").record.snapshot);
    assert!(built(&reports, "produce").record.snapshot);
    // --no-snapshot wins over workflow.yaml.
    let reports = build(&project, false);
    assert!(!built(&reports, "produce").record.snapshot);

    // A bad value is a diagnostic with the field and the fix.
    let bad = TestProject::new(
        &processor_workflow("x", "c.go", "    snapshot: maybe\n"),
        &[("c.go", CONVERT)],
    );
    let err = Project::load(bad.path())
        .err()
        .expect("invalid")
        .to_string();
    assert!(
        err.contains("snapshot") && err.contains("true or false"),
        "{err}"
    );

    // The snapshot step runs once per distinct core module: an edit that does
    // not change the code (a comment) compiles again but is not snapshotted again.
    let p = TestProject::new(&processor_workflow("c", "c.go", ""), &[("c.go", CONVERT)]);
    let project = p.load();
    let stages = Arc::new(Mutex::new(Vec::new()));
    let run = |project: &Project| {
        let mut o = options(project);
        let seen = stages.clone();
        o.reporter = Arc::new(StageLog(seen));
        let r = pipeline::build(project, &go(), &o, &|_| {});
        built(&r, "c").record.clone()
    };
    let first = run(&project);
    assert!(first.snapshot);
    std::fs::write(
        p.path().join("tasks/c.go"),
        format!("{CONVERT}\n// a comment\n"),
    )
    .unwrap();
    stages.lock().unwrap().clear();
    let second = run(&p.load());
    let seen = stages.lock().unwrap().clone();
    assert!(seen.contains(&Stage::Compile), "{seen:?}");
    assert!(!seen.contains(&Stage::Snapshot), "{seen:?}");
    assert!(second.snapshot);
    assert_eq!(second.sha256, first.sha256);
    assert_ne!(second.key, first.key);
}

#[test]
fn bench_prints_the_figures_as_json_with_exactly_its_keys() {
    let example = support::copy_example();
    let cache = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pelato-test-cache");
    for (flag, snapshot) in [(None, true), (Some("--no-snapshot"), false)] {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pelato"));
        cmd.args(["bench"])
            .arg(example.path())
            .args([
                "temp-convert",
                "--input",
                r#"{"sensor":"s","fahrenheit":212}"#,
                "-n",
                "20",
                "--output",
                "json",
            ])
            .env("PELATO_CACHE_DIR", &cache);
        if let Some(f) = flag {
            cmd.arg(f);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut want = vec![
            "component",
            "snapshot",
            "instantiate_p50_us",
            "instantiate_p99_us",
            "fresh_p50_us",
            "fresh_p99_us",
            "warm_p50_us",
            "warm_p99_us",
            "n",
        ];
        want.sort();
        let mut keys = keys;
        keys.sort();
        assert_eq!(keys, want);
        assert_eq!(v["component"], "temp-convert");
        assert_eq!(v["snapshot"], snapshot);
        assert_eq!(v["n"], 20);
        let f = |k: &str| v[k].as_f64().unwrap();
        for what in ["instantiate", "fresh", "warm"] {
            let (p50, p99) = (f(&format!("{what}_p50_us")), f(&format!("{what}_p99_us")));
            assert!(p50 > 0.0 && p50 <= p99, "{what}: {v}");
        }
        // A fresh delivery includes an instantiation; a warm call does not.
        assert!(f("fresh_p50_us") > f("warm_p50_us"), "{v}");
    }
}

/// The build runs Go's init in the interpreter; a WASI call it does not answer
/// would send every build to the slow Cranelift fallback without failing.
#[test]
fn the_interpreter_runs_init_of_every_template_without_the_fallback() {
    use pelato::snapshot::{snapshot_with, Engine};
    let p = TestProject::new(FOUR_TEMPLATES, &[("convert.go", CONVERT)]);
    let project = p.load();
    for r in pipeline::gen(&project) {
        assert!(r.failure().is_none(), "gen: {:?}", r.failure());
    }
    let o = options(&project);
    let go_env = pelato::gomod::GoEnv::new(&project.env, &o.cache_dir, false);
    let toolchain = go();
    for task in &project.workflow.tasks {
        let dir = project
            .workflow
            .root
            .join(pelato::gen::GEN_DIR)
            .join(&task.component_name);
        let core = toolchain
            .compile_with(&dir, &o.cache_dir, &go_env)
            .unwrap()
            .wasm;
        let interpreted = snapshot_with(&core, Engine::Interpreter)
            .unwrap_or_else(|e| panic!("{}: {e:?}", task.component_name));
        let compiled = snapshot_with(&core, Engine::Cranelift).unwrap();
        // The same module with the same initialized state, up to the values
        // init drew from the clocks and random_get.
        let near = interpreted.wasm.len().abs_diff(compiled.wasm.len());
        assert!(near < 4096, "{}: {near} bytes apart", task.component_name);
    }
}

/// Data segments of each core module inside a component.
fn core_segment_counts(component: &[u8]) -> Vec<u32> {
    let mut counts = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(component) {
        if let Ok(wasmparser::Payload::ModuleSection {
            unchecked_range, ..
        }) = payload
        {
            let module = &component[unchecked_range.start as usize..unchecked_range.end as usize];
            counts.push(pelato::segments::count(module));
        }
    }
    counts
}

#[test]
fn snapshotted_components_carry_few_data_segments() {
    let example = support::copy_example();
    let project = Project::load(example.path()).unwrap();
    let reports = build(&project, true);
    let b = built(&reports, "temp-convert");
    assert!(b.record.snapshot);
    let bytes = std::fs::read(&b.path).unwrap();
    let go = core_segment_counts(&bytes).into_iter().max().unwrap();
    // Go's linker plus Wizer leave ~52,000; compacted, a few hundred at most.
    assert!(go < 1000, "{go} data segments in the Go core module");
}

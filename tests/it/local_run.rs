//! `pelato run` and `pelato dev` as users run them: real Go builds, the real
//! embedded wasmtime, a real HTTP client, a real `nats-server`.

use crate::support::nats::{free_port, NatsServer};
use crate::support::project::{copy_example, copy_project, pelato};

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// JSON lines of a `--output json` run.
fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Asserts that a run succeeded (showing its stderr if not).
fn assert_ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Bodies published on `subject` across all hops, sorted.
fn published_on(lines: &[Value], subject: &str) -> Vec<String> {
    let mut out: Vec<String> = lines
        .iter()
        .filter(|l| !l["task"].is_null())
        .flat_map(|l| l["published"].as_array().cloned().unwrap_or_default())
        .filter(|p| p["subject"] == subject)
        .map(|p| p["body"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

/// Hops of `component`.
fn hops<'a>(lines: &'a [Value], component: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l["component"] == component)
        .collect()
}

/// Ends of chains (messages no task consumes) on `topic`, sorted.
fn unconsumed(lines: &[Value], topic: &str) -> Vec<String> {
    let mut out: Vec<String> = lines
        .iter()
        .filter(|l| l["task"].is_null() && l["topic"] == topic)
        .map(|l| l["body"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

#[test]
fn run_once_routes_the_example_and_reports_each_hop() {
    let dir = copy_example();
    let out = pelato()
        .arg("run")
        .arg(dir.path())
        .args(["--once", "--output", "json"])
        .args([
            "--send",
            "sensors.gh1.raw",
            r#"{"sensor":"gh1","fahrenheit":212}"#,
        ])
        .args([
            "--send",
            "sensors.cellar.raw",
            r#"{"sensor":"cellar","fahrenheit":54.5}"#,
        ])
        .args(["--send", "ticks.minute", "2026-12-04T10:00:00Z"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let lines = json_lines(&out.stdout);
    assert_eq!(
        published_on(&lines, "sensors.celsius"),
        [
            r#"{"sensor":"cellar","celsius":12.5}"#,
            r#"{"sensor":"gh1","celsius":100}"#
        ]
    );
    // Only the hot reading is an alert; the comfortable one publishes nothing.
    assert_eq!(
        published_on(&lines, "sensors.alerts"),
        [r#"{"sensor":"gh1","celsius":100,"level":"critical"}"#]
    );
    assert_eq!(
        unconsumed(&lines, "sensors.alerts"),
        [r#"{"sensor":"gh1","celsius":100,"level":"critical"}"#]
    );
    let filter = hops(&lines, "anomaly-filter");
    assert_eq!(filter.len(), 2);
    let cellar = filter
        .iter()
        .find(|h| h["input"].as_str().unwrap().contains("cellar"))
        .unwrap();
    assert_eq!(cellar["published"], serde_json::json!([]));
    assert_eq!(cellar["error"], Value::Null);
    // Each hop has the documented keys.
    for h in hops(&lines, "temp-convert") {
        assert_eq!(h["task"], "Convert Fahrenheit readings to Celsius");
        assert!(h["topic"].as_str().unwrap().starts_with("sensors."));
        assert!(h["elapsed_us"].as_u64().unwrap() > 0);
        assert!(h["input"].is_string());
    }
    assert_eq!(
        published_on(&lines, "fleet.status"),
        [r#"{"at":"2026-12-04T10:00:00Z","status":"ok"}"#]
    );

    // A failing delivery is reported, the others are served, the exit code says so.
    let out = pelato()
        .arg("run")
        .arg(dir.path())
        .args(["--once", "--output", "json", "-q"])
        .args(["--send", "sensors.bad.raw", "not json"])
        .args([
            "--send",
            "sensors.gh2.raw",
            r#"{"sensor":"gh2","fahrenheit":-40}"#,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let lines = json_lines(&out.stdout);
    let bad = hops(&lines, "temp-convert")
        .into_iter()
        .find(|h| h["input"] == "not json")
        .unwrap();
    assert!(
        bad["error"].as_str().unwrap().contains("invalid reading"),
        "{bad}"
    );
    assert_eq!(
        published_on(&lines, "sensors.alerts"),
        [r#"{"sensor":"gh2","celsius":-40,"level":"critical"}"#]
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 delivery(ies) failed"));
}

#[test]
fn run_reads_stdin_and_refuses_bad_input() {
    let dir = copy_example();
    let mut child = pelato()
        .arg("run")
        .arg(dir.path())
        .args(["--once", "--stdin", "--output", "json", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"# a comment\n\nsensors.a.raw {\"sensor\":\"a\",\"fahrenheit\":32}\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_ok(&out);
    assert_eq!(
        published_on(&json_lines(&out.stdout), "sensors.celsius"),
        [r#"{"sensor":"a","celsius":0}"#]
    );

    // A wildcard is not a subject one can publish on.
    let out = pelato()
        .arg("run")
        .arg(dir.path())
        .args(["--once", "--send", "sensors.*.raw", "{}"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--send sensors.*.raw") && err.contains("wildcard"),
        "{err}"
    );
    // --once without anything to send.
    let out = pelato()
        .arg("run")
        .arg(dir.path())
        .arg("--once")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--once needs messages"));
}

const SHOUT: &str = r#"package main

import "strings"

func exec_task(arg string) string {
	if strings.HasPrefix(arg, "panic") {
		panic("asked to panic: " + arg)
	}
	return strings.ToUpper(arg) + "!"
}
"#;

#[test]
fn run_routes_with_nats_wildcards() {
    let dir = tempfile::tempdir().unwrap();
    let task = |name: &str, source: &str, dest: &str| {
        format!(
            "  - name: {name}\n    type: processor_nats\n    code: shout.go\n    targets: [edge]\n    source_topic: {source}\n    dest_topic: {dest}\n    component_name: {name}\n    version: 1.0.0\n"
        )
    };
    let wf = format!(
        "project_name: wild\ntasks:\n{}{}{}{}{}",
        task("star", "in.*", "out.star"),
        task("tail", "in.>", "out.tail"),
        task("exact", "in.x", "out.exact"),
        task("ping", "loop.a", "loop.b"),
        task("pong", "loop.b", "loop.a")
    );
    std::fs::write(dir.path().join("workflow.yaml"), wf).unwrap();
    std::fs::create_dir(dir.path().join("tasks")).unwrap();
    std::fs::write(dir.path().join("tasks/shout.go"), SHOUT).unwrap();
    let out = pelato()
        .arg("run")
        .arg(dir.path())
        .args(["--once", "--output", "json", "-q"])
        .args(["--send", "in.x", "x"])
        .args(["--send", "in.y", "y"])
        .args(["--send", "in.y.z", "yz"])
        .args(["--send", "other", "o"])
        .args(["--send", "in.p", "panic please"])
        .args(["--send", "loop.a", "r", "--max-hops", "5"])
        .output()
        .unwrap();
    // One delivery panicked (star and tail both got `panic please`).
    assert!(!out.status.success());
    let lines = json_lines(&out.stdout);
    assert_eq!(published_on(&lines, "out.exact"), ["X!"]);
    assert_eq!(published_on(&lines, "out.star"), ["X!", "Y!"]);
    assert_eq!(published_on(&lines, "out.tail"), ["X!", "Y!", "YZ!"]);
    assert_eq!(unconsumed(&lines, "other"), ["o"]);
    let failed: Vec<_> = lines.iter().filter(|l| l["error"].is_string()).collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(failed
        .iter()
        .all(|f| f["error"].as_str().unwrap().contains("asked to panic")));
    // A task publishing to its own topic is stopped after --max-hops, and it says so.
    assert_eq!(hops(&lines, "ping").len() + hops(&lines, "pong").len(), 5);
    let dropped: Vec<_> = lines.iter().filter(|l| l["dropped"].is_string()).collect();
    assert_eq!(dropped.len(), 1, "{dropped:?}");
    assert_eq!(dropped[0]["topic"], "loop.b");
    assert!(dropped[0]["dropped"].as_str().unwrap().contains("loop"));
}

/// A `pelato run`/`dev` in the background with its output collected line by line.
struct Background {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Background {
    fn start(mut cmd: Command) -> Background {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let collect = |r: Box<dyn std::io::Read + Send>| {
            let lines = Arc::new(Mutex::new(Vec::new()));
            let l = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(r).lines() {
                    let Ok(line) = line else { break };
                    l.lock().unwrap().push(line);
                }
            });
            lines
        };
        let stdout = collect(Box::new(child.stdout.take().unwrap()));
        let stderr = collect(Box::new(child.stderr.take().unwrap()));
        Background {
            child,
            stdout,
            stderr,
        }
    }

    /// Waits until a stderr line contains `what` (builds can take a while).
    fn wait_stderr(&self, what: &str, after: usize) {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let seen = {
                let lines = self.stderr.lock().unwrap();
                lines[after.min(lines.len())..]
                    .iter()
                    .any(|l| l.contains(what))
            };
            if seen {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no `{what}` on stderr:\n{}",
                self.stderr.lock().unwrap().join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stderr_len(&self) -> usize {
        self.stderr.lock().unwrap().len()
    }

    /// The JSON lines so far.
    fn lines(&self) -> Vec<Value> {
        self.stdout
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Waits until `pred` holds for the JSON lines.
    fn wait_lines(&self, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let lines = self.lines();
            if pred(&lines) {
                return lines;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; stdout:\n{}\nstderr:\n{}",
                self.stdout.lock().unwrap().join("\n"),
                self.stderr.lock().unwrap().join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn send_line(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Ctrl-C, then the exit status.
    fn interrupt(mut self) -> std::process::ExitStatus {
        let ok = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "did not stop after Ctrl-C");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn run_serves_http_and_ticks_until_ctrl_c() {
    let (_tmp, dir) = copy_project("tests/e2e/fixtures/all-templates");
    let port = free_port();
    let wf = std::fs::read_to_string(dir.join("workflow.yaml")).unwrap();
    // The HTTP task on a free port, and `shout` consuming what it publishes: a chain.
    let wf = wf
        .replace("# e2e:http_port", &format!("http_port: {port}"))
        .replace("source_topic: e2e.shout.in", "source_topic: e2e.ingest.out");
    std::fs::write(dir.join("workflow.yaml"), wf).unwrap();
    let mut cmd = pelato();
    cmd.arg("run")
        .arg(&dir)
        .args(["--output", "json", "--tick", "e2e.tick=200ms"]);
    let run = Background::start(cmd);
    run.wait_stderr(&format!("listens on http://127.0.0.1:{port}/"), 0);

    // A real HTTP POST.
    let client = reqwest::blocking::Client::new();
    let resp = client
        .post(format!("http://127.0.0.1:{port}/readings"))
        .body(r#"{"device":"d7","value":3.5}"#)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.text().unwrap(),
        r#"{"device":"D7","value":3.5,"accepted":true}"#
    );
    let bad = client
        .post(format!("http://127.0.0.1:{port}/"))
        .body("garbage")
        .send()
        .unwrap();
    assert_eq!(bad.status().as_u16(), 500);
    let lines = run.wait_lines("the chain's end and two ticks", |l| {
        !unconsumed(l, "e2e.shout.out").is_empty() && hops(l, "ticker").len() >= 2
    });
    let http = hops(&lines, "ingest");
    let ok = http.iter().find(|h| h["error"].is_null()).unwrap();
    assert_eq!(ok["http"]["method"], "POST");
    assert_eq!(ok["http"]["path"], "/readings");
    assert_eq!(ok["topic"], format!("http://127.0.0.1:{port}/readings"));
    assert!(http
        .iter()
        .any(|h| h["http"]["status"] == 500 && h["error"].is_string()));
    assert_eq!(
        unconsumed(&lines, "e2e.shout.out"),
        [r#"{"DEVICE":"D7","VALUE":3.5,"ACCEPTED":TRUE}!"#]
    );
    let ticks = hops(&lines, "ticker");
    assert_eq!(ticks[0]["input"], "1");
    assert_eq!(ticks[0]["published"][0]["body"], r#"{"tick":1,"square":1}"#);
    assert_eq!(ticks[1]["input"], "2");
    let status = run.interrupt();
    assert!(status.success(), "{status:?}");
}

#[test]
fn run_bridges_a_real_nats() {
    let nats = NatsServer::start();
    let dir = copy_example();
    let mut cmd = pelato();
    cmd.arg("run")
        .arg(dir.path())
        .args(["--output", "json", "--no-http"])
        .arg("--nats")
        .arg(format!("nats://{}", nats.addr()));
    let run = Background::start(cmd);
    run.wait_stderr("bridged to NATS", 0);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use futures::StreamExt;
        let client = async_nats::connect(nats.addr()).await.unwrap();
        let mut celsius = client.subscribe("sensors.celsius").await.unwrap();
        client.flush().await.unwrap();
        client
            .publish(
                "sensors.field.raw",
                r#"{"sensor":"field","fahrenheit":50}"#.into(),
            )
            .await
            .unwrap();
        let m = tokio::time::timeout(Duration::from_secs(30), celsius.next())
            .await
            .expect("a message on sensors.celsius")
            .unwrap();
        assert_eq!(&m.payload[..], br#"{"sensor":"field","celsius":10}"#);
        // Request/reply through the local task.
        let reply = tokio::time::timeout(
            Duration::from_secs(30),
            client.request(
                "sensors.porch.raw",
                r#"{"sensor":"porch","fahrenheit":212}"#.into(),
            ),
        )
        .await
        .expect("a reply")
        .unwrap();
        assert_eq!(&reply.payload[..], br#"{"sensor":"porch","celsius":100}"#);
    });
    let lines = run.wait_lines("the alert", |l| !unconsumed(l, "sensors.alerts").is_empty());
    assert!(hops(&lines, "temp-convert")
        .iter()
        .any(|h| h["reply_to"].is_string()));
    assert!(run.interrupt().success());
}

const GREET_V1: &str =
    "package main\n\nfunc exec_task(arg string) string {\n\treturn \"hello \" + arg\n}\n";
const GREET_V2: &str =
    "package main\n\nfunc exec_task(arg string) string {\n\treturn \"goodbye \" + arg\n}\n";
const ECHO: &str = "package main\n\nfunc exec_task(arg string) string {\n\treturn arg\n}\n";

#[test]
fn dev_swaps_a_rebuilt_task_without_losing_messages() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("proj");
    std::fs::create_dir_all(root.join("tasks")).unwrap();
    std::fs::write(
        root.join("workflow.yaml"),
        "project_name: devloop\ntasks:\n  - name: greet\n    type: processor_nats\n    code: greet.go\n    targets: [edge]\n    source_topic: greet.in\n    dest_topic: greet.out\n    component_name: greet\n    version: 1.0.0\n    tests:\n      - input: 'x'\n        expect: 'hello x'\n  - name: echo\n    type: processor_nats\n    code: echo.go\n    targets: [edge]\n    source_topic: echo.in\n    dest_topic: echo.out\n    component_name: echo\n    version: 1.0.0\n",
    )
    .unwrap();
    std::fs::write(root.join("tasks/greet.go"), GREET_V1).unwrap();
    std::fs::write(root.join("tasks/echo.go"), ECHO).unwrap();
    let mut cmd = pelato();
    cmd.arg("dev")
        .arg(&root)
        .args(["--stdin", "--output", "json", "--poll-ms", "100"]);
    let mut dev = Background::start(cmd);
    dev.wait_stderr("Ctrl-C to stop", 0);
    dev.send_line("greet.in a");
    dev.wait_lines("hello a", |l| published_on(l, "greet.out") == ["hello a"]);

    // Edit greet while echo messages flow.
    let mark = dev.stderr_len();
    std::fs::write(root.join("tasks/greet.go"), GREET_V2).unwrap();
    let mut sent = 0;
    let deadline = Instant::now() + Duration::from_secs(300);
    while !dev.stderr.lock().unwrap()[mark..]
        .iter()
        .any(|l| l.contains("rebuilt and swapped in"))
    {
        assert!(Instant::now() < deadline, "no swap");
        dev.send_line(&format!("echo.in m{sent}"));
        sent += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    // Its test case now fails, and that is shown.
    dev.wait_stderr("tests FAILED 1/1", mark);
    dev.send_line("greet.in b");
    let lines = dev.wait_lines("goodbye b", |l| {
        published_on(l, "greet.out").contains(&"goodbye b".to_string())
            && published_on(l, "echo.out").len() == sent
    });
    // Every echo message was served, across the swap.
    let mut want: Vec<String> = (0..sent).map(|i| format!("m{i}")).collect();
    want.sort();
    assert_eq!(published_on(&lines, "echo.out"), want);

    // A broken edit: the error is shown and the previous version keeps serving.
    let mark = dev.stderr_len();
    std::fs::write(
        root.join("tasks/greet.go"),
        "package main\n\nfunc exec_task(arg string) string {\n\treturn undefined\n}\n",
    )
    .unwrap();
    dev.wait_stderr("the previous version keeps serving", mark);
    dev.send_line("greet.in c");
    dev.wait_lines("goodbye c", |l| {
        published_on(l, "greet.out").contains(&"goodbye c".to_string())
    });
    assert!(dev.interrupt().success());
}

#[test]
fn run_feeds_dbsync_from_a_chain_and_writes_with_db() {
    use crate::support::postgres::Postgres;
    use crate::support::project::{TestProject, CONVERT};
    let wf = r#"project_name: chain-db
tasks:
  - name: relay
    type: processor_nats
    code: convert.go
    targets: [edge]
    source_topic: sensors.raw
    dest_topic: sensors.converted
    component_name: relay
    version: 1.0.0
  - name: store
    type: dbsync
    code: convert.go
    targets: [cloud]
    source_topic: sensors.converted
    component_name: store
    version: 1.0.0
"#;
    let p = TestProject::new(wf, &[("convert.go", CONVERT)]);
    // Without --db: the SQL the task would run is shown on its hop.
    let out = pelato()
        .arg("run")
        .arg(p.path())
        .args(["--once", "--output", "json", "-q"])
        .args([
            "--send",
            "sensors.raw",
            r#"{"sensor":"a","fahrenheit":212}"#,
        ])
        .output()
        .unwrap();
    assert_ok(&out);
    let lines = json_lines(&out.stdout);
    let store = hops(&lines, "store");
    assert_eq!(store.len(), 1, "{lines:?}");
    let sql = store[0]["sql"].as_array().expect("sql on the dbsync hop");
    assert!(
        sql.iter()
            .any(|s| s["sql"].as_str().unwrap().contains("INSERT")),
        "{sql:?}"
    );

    // With --db: rows written to a real Postgres.
    let pg = Postgres::start();
    let out = pelato()
        .arg("run")
        .arg(p.path())
        .args(["--once", "--db", "--output", "json", "-q"])
        .args(["--send", "sensors.raw", r#"{"sensor":"b","fahrenheit":32}"#])
        .args([
            "--send",
            "sensors.raw",
            r#"{"sensor":"c","fahrenheit":212}"#,
        ])
        .envs(pg.env())
        .env_remove("POSTGRES_TLS_REQUIRED")
        .output()
        .unwrap();
    assert_ok(&out);
    assert_eq!(
        pg.psql("SELECT string_agg(payload->>'sensor', ',' ORDER BY payload->>'sensor') FROM pelato_events"),
        "b,c"
    );
}

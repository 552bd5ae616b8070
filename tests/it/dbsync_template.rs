//! The `dbsync` template and runtime config, end to end with real parts: the
//! real Go compiler builds the tasks, the embedded wasmtime harness runs them,
//! and `wasmcloud:postgres` reaches a real Postgres cluster started by the test
//! (Debian's `initdb` + `pg_ctl` on 127.0.0.1). The rows are asserted with psql.

use crate::support::project as support;

use crate::support::postgres;

use std::collections::HashMap;
use std::process::Command;

use pelato::harness::{Delivery, Harness, HarnessConfig, Message};
use pelato::pipeline::TaskReport;
use postgres::Postgres;
use support::{build, options, TestProject, CONVERT};

const WORKFLOW: &str = r#"project_name: db
tasks:
  - name: store events
    type: dbsync
    code: tasks/convert.go
    targets: [cloud]
    source_topic: sensors.events
    component_name: store-events
    version: 1.0.0
    tests:
      - name: converted reading is what gets written
        input: '{"sensor":"a","fahrenheit":212}'
        expect: '{"celsius":100,"sensor":"a"}'
      - name: panics are errors
        input: boom
        expect_error: kaboom
  - name: store readings
    type: dbsync
    code: tasks/convert.go
    targets: [cloud]
    source_topic: sensors.readings
    component_name: store-readings
    version: 1.0.0
    config:
      table: readings
      mode: columns
  - name: relay
    type: processor
    code: tasks/convert.go
    targets: [edge]
    source_topic: sensors.raw
    dest_topic: sensors.converted
    component_name: relay
    version: 1.0.0
"#;

fn path_of<'a>(reports: &'a [TaskReport], component: &str) -> &'a std::path::Path {
    let r = reports
        .iter()
        .find(|r| r.component == component)
        .expect("task");
    match &r.build {
        Some(Ok(b)) => &b.path,
        other => panic!(
            "{component} did not build: {other:?} (gen: {:?})",
            r.gen.as_ref().map(|g| g.is_ok())
        ),
    }
}

fn harness(pg: Option<&Postgres>, runtime: &[(&str, &str)]) -> Harness {
    Harness::new(HarnessConfig {
        postgres: pg.map(Postgres::config),
        runtime_config: runtime
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<HashMap<_, _>>(),
        ..HarnessConfig::default()
    })
    .expect("harness")
}

fn ask(h: &Harness, path: &std::path::Path, subject: &str, body: &str) -> Delivery {
    h.load_file(path)
        .expect("load")
        .deliver(&Message::new(subject, body).with_reply_to("reply.here"))
        .expect("delivery")
}

fn reply(d: &Delivery) -> String {
    d.body_to("reply.here").expect("a reply")
}

/// `pelato call PROJECT store-events --db --input INPUT` with the cluster's POSTGRES_*
/// variables (POSTGRES_TLS_REQUIRED left to the project's `.env`).
fn call_db(p: &TestProject, pg: &Postgres, input: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pelato"))
        .args(["call"])
        .arg(p.path())
        .args(["store-events", "--db", "--input", input])
        .envs(pg.env())
        .env_remove("POSTGRES_TLS_REQUIRED")
        .output()
        .unwrap()
}

#[test]
fn dbsync_writes_rows_to_a_real_postgres_and_reads_its_settings_at_run_time() {
    let pg = Postgres::start();
    pg.psql(
        "CREATE TABLE readings (id serial PRIMARY KEY, sensor text NOT NULL, celsius double precision, at timestamptz NOT NULL DEFAULT now())",
    );
    let p = TestProject::new(WORKFLOW, &[("convert.go", CONVERT)]);
    let project = p.load();
    let reports = build(&project);
    let events = path_of(&reports, "store-events");
    let readings = path_of(&reports, "store-readings");
    let h = harness(Some(&pg), &[]);

    // mode row (the default): the table is created on first use; JSON results
    // are stored as jsonb, anything else as a JSON string; "" writes nothing.
    let d = ask(
        &h,
        events,
        "sensors.events",
        r#"{"sensor":"a","fahrenheit":212}"#,
    );
    assert_eq!(d.result, Ok(()), "{}", d.stderr);
    assert_eq!(reply(&d), r#"{"celsius":100,"sensor":"a"}"#);
    let d = ask(&h, events, "sensors.events", "plain text");
    assert_eq!(d.result, Ok(()));
    let d = ask(&h, events, "sensors.events", "");
    assert_eq!(d.result, Ok(()));
    assert!(
        d.sql.is_empty(),
        "an empty result writes nothing: {:?}",
        d.sql
    );
    assert_eq!(
        pg.psql(
            "SELECT subject, payload::text, received_at <= now() FROM pelato_events ORDER BY id"
        ),
        "sensors.events|{\"sensor\": \"a\", \"celsius\": 100}|t\nsensors.events|\"plain text\"|t"
    );

    // mode columns: the object's fields fill the same-named columns; the others
    // keep their defaults.
    let d = ask(
        &h,
        readings,
        "sensors.readings",
        r#"{"sensor":"cellar","fahrenheit":32}"#,
    );
    assert_eq!(d.result, Ok(()), "{}", d.stderr);
    assert_eq!(
        pg.psql("SELECT id, sensor, celsius, at IS NOT NULL FROM readings"),
        "1|cellar|0|t"
    );
    // A result that is not an object is an error, and the requester hears it.
    let d = ask(&h, readings, "sensors.readings", "not json");
    let err = d.result.clone().unwrap_err();
    assert!(err.contains("must return a JSON object"), "{err}");
    assert!(
        reply(&d).starts_with("error: mode columns"),
        "{}",
        reply(&d)
    );
    // A field that is no column is reported by Postgres, not dropped silently.
    let d = ask(
        &h,
        readings,
        "sensors.readings",
        r#"{"sensor":"x","humidity":3}"#,
    );
    let err = d.result.clone().unwrap_err();
    assert!(err.contains("humidity"), "{err}");
    assert_eq!(pg.psql("SELECT count(*) FROM readings"), "1");

    // A panic is an error reply, and the next message is processed.
    let d = ask(&h, events, "sensors.events", "boom now");
    assert!(d.result.clone().unwrap_err().contains("kaboom: boom now"));
    assert!(reply(&d).starts_with("error: exec_task panicked"));
    assert_eq!(ask(&h, events, "sensors.events", "after").result, Ok(()));
    assert_eq!(pg.psql("SELECT count(*) FROM pelato_events"), "3");

    // Runtime config overrides the workflow's settings without a rebuild.
    let other = harness(Some(&pg), &[("table", "audit.events_copy")]);
    pg.psql("CREATE SCHEMA audit");
    let d = ask(&other, events, "sensors.events", r#"{"n":1}"#);
    assert_eq!(d.result, Ok(()), "{}", d.stderr);
    assert_eq!(
        pg.psql("SELECT payload::text FROM audit.events_copy"),
        r#"{"n": 1}"#
    );
    let bad = harness(Some(&pg), &[("table", "Robert'); DROP TABLE readings;--")]);
    let d = ask(&bad, events, "sensors.events", "x");
    assert!(d.result.unwrap_err().contains("is not a valid table name"));
    let missing = harness(Some(&pg), &[("table", "nope"), ("mode", "columns")]);
    let d = ask(&missing, readings, "sensors.readings", r#"{"sensor":"x"}"#);
    assert!(d.result.unwrap_err().contains("does not exist"));
    assert_eq!(pg.psql("SELECT count(*) FROM readings"), "1");

    // The processor's dest topic is runtime config too.
    let relay = path_of(&reports, "relay");
    let msg = Message::new("sensors.raw", r#"{"sensor":"b","fahrenheit":50}"#);
    let d = harness(None, &[])
        .load_file(relay)
        .unwrap()
        .deliver(&msg)
        .unwrap();
    assert_eq!(
        d.body_to("sensors.converted").as_deref(),
        Some(r#"{"celsius":10,"sensor":"b"}"#)
    );
    let d = harness(None, &[("dest-topic", "sensors.rerouted")])
        .load_file(relay)
        .unwrap()
        .deliver(&msg)
        .unwrap();
    assert_eq!(d.published.len(), 1, "{:?}", d.published);
    assert_eq!(
        d.body_to("sensors.rerouted").as_deref(),
        Some(r#"{"celsius":10,"sensor":"b"}"#)
    );

    // `pelato call --db` runs against the same database and prints the reply;
    // the password never shows.
    let out = call_db(&p, &pg, r#"{"sensor":"cli","fahrenheit":41}"#);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        r#"{"celsius":5,"sensor":"cli"}"#
    );
    assert!(
        stderr.contains("sql ran: INSERT INTO \"pelato_events\""),
        "{stderr}"
    );
    assert!(!stderr.contains(&pg.password), "{stderr}");
    assert_eq!(
        pg.psql("SELECT payload->>'sensor' FROM pelato_events ORDER BY id DESC LIMIT 1"),
        "cli"
    );

    // POSTGRES_TLS_REQUIRED (here from the project's .env) is honoured by --db: this
    // Postgres has no TLS, so the call fails and says why, instead of writing in plain text.
    let rows = pg.psql("SELECT count(*) FROM pelato_events");
    std::fs::write(p.path().join(".env"), "POSTGRES_TLS_REQUIRED=true\n").unwrap();
    let out = call_db(&p, &pg, r#"{"sensor":"tls","fahrenheit":41}"#);
    std::fs::remove_file(p.path().join(".env")).unwrap();
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{shown}");
    assert!(
        shown.contains("with TLS (POSTGRES_TLS_REQUIRED=true)")
            && shown.contains("server does not support TLS"),
        "{shown}"
    );
    assert!(!shown.contains(&pg.password), "{shown}");
    assert_eq!(pg.psql("SELECT count(*) FROM pelato_events"), rows);

    // The same through the library: the harness refuses to fall back to plain text.
    let tls = Harness::new(HarnessConfig {
        postgres: Some(pelato::harness::PostgresConfig {
            tls_required: true,
            ..pg.config()
        }),
        ..HarnessConfig::default()
    })
    .expect("harness");
    let d = ask(
        &tls,
        events,
        "sensors.events",
        r#"{"sensor":"lib","fahrenheit":41}"#,
    );
    let answer = format!(
        "{} {:?}",
        d.body_to("reply.here").unwrap_or_default(),
        d.result
    );
    assert!(answer.contains("server does not support TLS"), "{answer}");
    assert_eq!(pg.psql("SELECT count(*) FROM pelato_events"), rows);
}

#[test]
fn without_a_database_dbsync_statements_are_recorded_and_test_cases_run() {
    let p = TestProject::new(WORKFLOW, &[("convert.go", CONVERT)]);
    let project = p.load();
    let reports = build(&project);
    let h = harness(None, &[]);
    let d = ask(
        &h,
        path_of(&reports, "store-readings"),
        "sensors.readings",
        r#"{"sensor":"s","fahrenheit":212}"#,
    );
    assert_eq!(d.result, Ok(()));
    assert_eq!(d.sql.len(), 1, "{:?}", d.sql);
    assert_eq!(
        d.sql[0].sql,
        r#"INSERT INTO "readings" ("celsius", "sensor") SELECT "celsius", "sensor" FROM jsonb_populate_record(NULL::"readings", $1::jsonb)"#
    );
    assert_eq!(
        d.sql[0].params,
        vec![r#"{"celsius":100,"sensor":"s"}"#.to_string()]
    );

    // The workflow's own test cases (expect = what is written and replied).
    let opts = options(&project);
    let harness = Harness::new(opts.harness.clone()).unwrap();
    let task = project.task("store-events").unwrap();
    let built = reports
        .iter()
        .find(|r| r.component == "store-events")
        .and_then(|r| r.built())
        .unwrap();
    let summary = pelato::pipeline::test_task(&project, &harness, task, built).unwrap();
    assert_eq!(summary.cases.len(), 2);
    for c in &summary.cases {
        assert!(c.passed, "{}: {}", c.name, c.diff);
    }

    // `call` without --db shows the SQL it would run.
    let out = Command::new(env!("CARGO_BIN_EXE_pelato"))
        .arg("call")
        .arg(p.path())
        .args(["store-events", "--input", "hello"])
        .env_remove("POSTGRES_HOST")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello");
    assert!(
        stderr.contains("recorded, not run (add --db to run it)"),
        "{stderr}"
    );
    // --db without settings names what is missing.
    let out = Command::new(env!("CARGO_BIN_EXE_pelato"))
        .arg("call")
        .arg(p.path())
        .args(["store-events", "--db", "--input", "hello"])
        .env_remove("POSTGRES_HOST")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--db needs a Postgres: set POSTGRES_HOST")
    );
}

#[test]
fn manifests_carry_runtime_config_and_never_the_database_password() {
    let workflow = format!(
        "{WORKFLOW}  - name: web\n    type: http_producer_nats\n    code: tasks/convert.go\n    targets: [edge]\n    source_topic: web.in\n    dest_topic: web.out\n    component_name: web\n    version: 1.0.0\n    http_port: 8088\n"
    );
    let p = TestProject::new(&workflow, &[("convert.go", CONVERT)]);
    std::fs::write(
        p.path().join(".env"),
        "POSTGRES_HOST=db.internal\nPOSTGRES_USERNAME=writer\nPOSTGRES_PASSWORD=TopSecret-42\nPOSTGRES_DATABASE=iot\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pelato"))
        .arg("gen")
        .arg(p.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read =
        |c: &str| std::fs::read_to_string(p.path().join("gen").join(c).join("wadm.yaml")).unwrap();
    let yaml = |c: &str| -> serde_yaml::Value { serde_yaml::from_str(&read(c)).unwrap() };

    let relay = yaml("relay");
    let props = &relay["spec"]["components"][0]["properties"]["config"][0]["properties"];
    assert_eq!(props["dest-topic"].as_str(), Some("sensors.converted"));

    let readings = read("store-readings");
    assert!(!readings.contains("TopSecret-42"), "{readings}");
    let m = yaml("store-readings");
    let comp = &m["spec"]["components"][0];
    let settings = &comp["properties"]["config"][0]["properties"];
    assert_eq!(settings["table"].as_str(), Some("readings"));
    assert_eq!(settings["mode"].as_str(), Some("columns"));
    let link = &comp["traits"][1]["properties"];
    assert_eq!(link["package"].as_str(), Some("postgres"));
    let target = &link["target"];
    assert_eq!(
        target["config"][0]["properties"]["POSTGRES_HOST"].as_str(),
        Some("db.internal")
    );
    assert_eq!(
        target["config"][0]["properties"]["POSTGRES_USERNAME"].as_str(),
        Some("writer")
    );
    assert_eq!(
        target["secrets"][0]["name"].as_str(),
        Some("POSTGRES_PASSWORD")
    );
    assert_eq!(
        target["secrets"][0]["properties"]["policy"].as_str(),
        Some("pelato-secrets")
    );

    let web = read("web");
    assert!(web.contains("address: \"0.0.0.0:8088\""), "{web}");
}

#[test]
fn bad_task_config_names_the_field_and_the_fix() {
    let bad = WORKFLOW.replace("mode: columns", "mode: colums\n      tabel: x");
    let p = TestProject::new(&bad, &[("convert.go", CONVERT)]);
    let out = Command::new(env!("CARGO_BIN_EXE_pelato"))
        .arg("gen")
        .arg(p.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("config.mode"), "{err}");
    assert!(err.contains("write one of: row, columns"), "{err}");
    assert!(err.contains("config.tabel"), "{err}");
    assert!(err.contains("did you mean `table`?"), "{err}");
    assert!(
        !p.path().join("gen").exists(),
        "nothing is written on failure"
    );

    for (config, msg) in [
        (
            "config: 3",
            "must be a mapping of setting names to values, found a number",
        ),
        (
            "config:\n      Bad Key: x",
            "\"Bad Key\" is not a valid setting name",
        ),
        (
            "config:\n      table: [a, b]",
            "must be a string, number or true/false, found a list",
        ),
    ] {
        let bad = WORKFLOW.replace(
            "config:\n      table: readings\n      mode: columns",
            config,
        );
        assert_ne!(bad, WORKFLOW);
        let p = TestProject::new(&bad, &[("convert.go", CONVERT)]);
        let out = Command::new(env!("CARGO_BIN_EXE_pelato"))
            .arg("gen")
            .arg(p.path())
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(msg), "{config}: {err}");
    }

    let bad = WORKFLOW.replace("table: readings", "table: Readings-1");
    let p = TestProject::new(&bad, &[("convert.go", CONVERT)]);
    let out = Command::new(env!("CARGO_BIN_EXE_pelato"))
        .arg("gen")
        .arg(p.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"Readings-1\" is not a valid Postgres table name"),
        "{err}"
    );
}

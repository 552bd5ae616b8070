//! PELATO end to end on a real wasmCloud 1.9 lattice.
//!
//! Each test starts its own lattice (NATS, registry, wadm, an `edge` and a
//! `cloud` host, see `pelato_e2e::Lattice`) and drives the real `pelato`
//! binary (`$PELATO_BIN`) against it, then checks what the hosts actually do:
//! messages in, exact messages out, where components run, what `deploy` and
//! `remove` report and leave behind.
//!
//! Run with `tests/e2e/run` (builds everything, release). The tests run one at
//! a time (`--test-threads=1`): they share the machine's two cores and the HTTP
//! template's port.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pelato_e2e::lattice::Placement;
use pelato_e2e::messaging::{publish, request, Collector, SETTLE};
use pelato_e2e::process::port_in_use;
use pelato_e2e::{copy_project, Lattice, Pelato, Run};

/// A whole `brush` (Go compile of every task on a cold cache, componentize,
/// test, push, deploy) on a loaded 2-core machine.
const BRUSH_TIMEOUT: Duration = Duration::from_secs(900);
/// `push`, `deploy`, `remove`, `status`.
const CMD_TIMEOUT: Duration = Duration::from_secs(180);
/// A message through one or two components.
const MSG_TIMEOUT: Duration = Duration::from_secs(10);
/// Hosts' inventories reflecting a deploy or a removal.
const PLACEMENT_TIMEOUT: Duration = Duration::from_secs(45);

/// Whether the test sets the `http_producer_nats` task's `http_port:` (the port
/// of the builtin HTTP server in its manifest) to a random free port. With
/// `false`, the manifest keeps PELATO's default `0.0.0.0:8000` and the test
/// needs port 8000 free.
const PELATO_HAS_HTTP_PORT: bool = true;
/// PELATO's default HTTP port, used when [`PELATO_HAS_HTTP_PORT`] is false.
const DEFAULT_HTTP_PORT: u16 = 8000;

/// One test's lattice, PELATO pointed at it, and a scratch directory.
struct Ctx {
    lattice: Lattice,
    pelato: Pelato,
    work: tempfile::TempDir,
    /// Every application message on the lattice, shown when an expectation fails.
    wiretap: Collector,
}

impl Ctx {
    async fn start() -> Ctx {
        let lattice = Lattice::start().await.expect("start the test lattice");
        let work = tempfile::Builder::new()
            .prefix("pelato-e2e-work-")
            .tempdir()
            .expect("temp dir");
        // A persistent cache (set by tests/e2e/run) keeps re-runs fast; by
        // default every run starts cold, in its own directory.
        let cache = std::env::var_os("PELATO_E2E_CACHE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| work.path().join("pelato-cache"));
        let pelato = Pelato::new(&lattice.registry.authority(), lattice.nats_port(), &cache)
            .expect("pelato binary");
        let wiretap = Collector::wiretap(&lattice.client).await.expect("wiretap");
        Ctx {
            lattice,
            pelato,
            work,
            wiretap,
        }
    }

    /// Expects exactly `expected` on the collector's subject within
    /// [`MSG_TIMEOUT`] (see [`Collector::check_exactly`]); a failure also shows
    /// the last application messages seen on the lattice.
    async fn expect(&self, c: &Collector, expected: &[&str], context: &str) {
        if let Err(e) = c.check_exactly(expected, MSG_TIMEOUT, context).await {
            panic!(
                "{e}\nlast application messages on the lattice:\n{}",
                self.wiretap.dump(60)
            );
        }
    }

    /// Copies a project into the scratch directory; returns its path.
    fn project(&self, src: &Path, name: &str) -> PathBuf {
        let dest = self.work.path().join(name);
        copy_project(src, &dest).expect("copy project");
        dest
    }

    /// `pelato push`, then warm the hosts' shared OCI cache with every image the
    /// generated manifests name. Both in-process hosts would otherwise pull the
    /// same image at once into the one cache wasmCloud keeps per process (a
    /// race of running two hosts in one process, not of PELATO); with the
    /// component on every target host, that happens for any multi-target task.
    async fn push_and_prefetch(&self, project: &Path) {
        self.pelato(&["push", path(project)], BRUSH_TIMEOUT)
            .await
            .assert_success();
        let registry = self.lattice.registry.authority();
        let mut refs = BTreeSet::new();
        for entry in std::fs::read_dir(project.join("gen")).expect("gen dir") {
            let manifest = entry.expect("gen entry").path().join("wadm.yaml");
            let Ok(text) = std::fs::read_to_string(&manifest) else {
                continue;
            };
            refs.extend(
                text.lines()
                    .filter_map(|l| l.trim().strip_prefix("image:"))
                    .map(|r| r.trim().trim_matches('"').to_string())
                    .filter(|r| r.starts_with(&registry)),
            );
        }
        for r in &refs {
            self.lattice.prefetch(r).await.expect("prefetch");
        }
    }

    async fn pelato(&self, args: &[&str], timeout: Duration) -> Run {
        let run = self
            .pelato
            .run(args, timeout)
            .await
            .unwrap_or_else(|e| panic!("run pelato {args:?}: {e:#}"));
        if std::env::var_os("PELATO_E2E_VERBOSE").is_some() {
            eprintln!("{}", run.describe());
        }
        run
    }

    async fn placement(&self, what: &str, ok: impl Fn(&Placement) -> bool) -> Placement {
        match self
            .lattice
            .wait_for_placement(what, PLACEMENT_TIMEOUT, ok)
            .await
        {
            Ok(p) => p,
            Err(e) => panic!("{e:#}\n{}", self.lattice.logs()),
        }
    }

    async fn collector(&self, subject: &str) -> Collector {
        Collector::new(&self.lattice.client, subject)
            .await
            .expect("subscribe")
    }

    async fn publish(&self, subject: &str, body: &str) {
        publish(&self.lattice.client, subject, body)
            .await
            .expect("publish");
    }

    async fn request(&self, subject: &str, body: &str) -> String {
        request(&self.lattice.client, subject, body, MSG_TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// Runs `pelato remove`, then checks wadm no longer stores `apps` and no
    /// host runs anything of them.
    async fn remove_and_check_gone(&self, project: &Path, apps: &[&str]) {
        let run = self.pelato(&["remove", path(project)], CMD_TIMEOUT).await;
        run.assert_success();
        for app in apps {
            run.assert_output_contains(&format!("removed     {app}"));
        }
        let stored = self.lattice.app_names().await.expect("list manifests");
        for app in apps {
            assert!(
                !stored.contains(*app),
                "`{app}` is still stored in wadm after `pelato remove` (stored: {stored:?}): {}",
                run.describe()
            );
        }
        self.placement("the removed apps' components and providers to stop", |p| {
            apps.iter().all(|a| !p.runs_anything_of(a))
        })
        .await;
    }

    async fn stop(self) {
        self.lattice.stop().await;
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// One of the original PELATO's example projects (`fixtures/original/`).
fn original(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/original")
        .join(name)
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The README's IoT example: `pelato brush`, then the pipeline on the hosts:
/// exact outputs on each topic, the convert → filter chain, request/reply, a
/// malformed reading, placement by `targets`, remove, and a plain
/// `pelato deploy` of the same project afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn iot_sensors_example_on_edge_and_cloud_hosts() {
    let ctx = Ctx::start().await;
    let project = ctx.project(&example("iot-sensors"), "iot-sensors");
    let apps = [
        "iot-sensors-temp-convert",
        "iot-sensors-anomaly-filter",
        "iot-sensors-fleet-status",
    ];

    // 1. brush: gen → build → test → push → deploy, following status to Deployed.
    ctx.push_and_prefetch(&project).await;
    let brush = ctx.pelato(&["brush", path(&project)], BRUSH_TIMEOUT).await;
    brush.assert_success();
    for app in apps {
        brush.assert_deployed_after_reconciling(app);
    }
    assert_eq!(
        ctx.lattice.app_names().await.expect("list manifests"),
        set(&apps),
        "wadm should store exactly the example's three apps"
    );

    // 2. Placement: each component on the hosts its `targets` name.
    let p = ctx
        .placement("the three components on their hosts", |p| {
            !p.hosts_running("temp-convert").is_empty()
                && !p.hosts_running("anomaly-filter").is_empty()
                && !p.hosts_running("fleet-status").is_empty()
        })
        .await;
    assert_eq!(
        p.hosts_running("temp-convert"),
        set(&["edge"]),
        "temp-convert (targets: [edge]) must run on the edge host only:\n{p}"
    );
    assert_eq!(
        p.hosts_running("fleet-status"),
        set(&["cloud"]),
        "fleet-status (targets: [cloud]) must run on the cloud host only:\n{p}"
    );
    // targets: [edge, cloud]: on every edge and cloud host, next to the
    // messaging provider there (the queue group hands each message to one).
    assert_eq!(
        p.hosts_running("anomaly-filter"),
        set(&["edge", "cloud"]),
        "anomaly-filter (targets: [edge, cloud]) must run on both hosts:\n{p}"
    );
    // Its messaging provider is a daemonscaler on every target host.
    assert_eq!(
        p.hosts_with_provider_of("iot-sensors-anomaly-filter"),
        set(&["edge", "cloud"]),
        "anomaly-filter's messaging provider must run on both hosts:\n{p}"
    );
    assert_eq!(
        p.hosts_with_provider_of("iot-sensors-temp-convert"),
        set(&["edge"]),
        "temp-convert's provider on the edge host only:\n{p}"
    );
    assert_eq!(
        p.hosts_with_provider_of("iot-sensors-fleet-status"),
        set(&["cloud"]),
        "fleet-status's provider on the cloud host only:\n{p}"
    );

    // 3. Messages: raw readings → sensors.celsius → sensors.alerts.
    let celsius = ctx.collector("sensors.celsius").await;
    let alerts = ctx.collector("sensors.alerts").await;
    ctx.publish(
        "sensors.greenhouse-1.raw",
        r#"{"sensor":"greenhouse-1","fahrenheit":212}"#,
    )
    .await;
    ctx.publish(
        "sensors.cellar.raw",
        r#"{"sensor":"cellar","fahrenheit":54.5}"#,
    )
    .await;
    ctx.publish(
        "sensors.attic.raw",
        r#"{"sensor":"attic","fahrenheit":100}"#,
    )
    .await;
    ctx.publish(
        "sensors.freezer.raw",
        r#"{"sensor":"freezer","fahrenheit":-4}"#,
    )
    .await;
    ctx.expect(
        &celsius,
        &[
            r#"{"sensor":"greenhouse-1","celsius":100}"#,
            r#"{"sensor":"cellar","celsius":12.5}"#,
            r#"{"sensor":"attic","celsius":37.8}"#,
            r#"{"sensor":"freezer","celsius":-20}"#,
        ],
        "temp-convert output",
    )
    .await;
    // The filter got convert's outputs as its inputs: the comfortable cellar
    // reading is dropped, the others are tagged.
    ctx.expect(
        &alerts,
        &[
            r#"{"sensor":"greenhouse-1","celsius":100,"level":"critical"}"#,
            r#"{"sensor":"attic","celsius":37.8,"level":"warning"}"#,
            r#"{"sensor":"freezer","celsius":-20,"level":"critical"}"#,
        ],
        "anomaly-filter output (chained after temp-convert)",
    )
    .await;

    // 4. Request/reply: the glue answers the reply-to with the result.
    celsius.clear();
    alerts.clear();
    assert_eq!(
        ctx.request(
            "sensors.porch.raw",
            r#"{"sensor":"porch","fahrenheit":32.05}"#
        )
        .await,
        r#"{"sensor":"porch","celsius":0}"#,
        "temp-convert's reply"
    );
    ctx.expect(
        &celsius,
        &[r#"{"sensor":"porch","celsius":0}"#],
        "a request's result is also published to dest_topic",
    )
    .await;
    ctx.expect(
        &alerts,
        &[r#"{"sensor":"porch","celsius":0,"level":"warning"}"#],
        "the filter chained after a request",
    )
    .await;
    assert_eq!(
        ctx.request("sensors.celsius", r#"{"sensor":"kiln","celsius":900}"#)
            .await,
        r#"{"sensor":"kiln","celsius":900,"level":"critical"}"#,
        "anomaly-filter's reply"
    );
    assert_eq!(
        ctx.request("sensors.celsius", r#"{"sensor":"office","celsius":21}"#)
            .await,
        "",
        "a comfortable reading: the filter replies with its empty result"
    );
    let status = ctx.collector("fleet.status").await;
    assert_eq!(
        ctx.request("ticks.minute", "2026-11-24T11:00:00+01:00")
            .await,
        r#"{"at":"2026-11-24T10:00:00Z","status":"ok"}"#,
        "fleet-status's reply"
    );
    ctx.publish("ticks.minute", "yesterday").await;
    ctx.expect(
        &status,
        &[
            r#"{"at":"2026-11-24T10:00:00Z","status":"ok"}"#,
            r#"{"at":"","status":"bad tick: yesterday"}"#,
        ],
        "fleet-status output",
    )
    .await;

    // 5. A malformed reading: the requester gets `error: …`, nothing is
    // published, and the next reading goes through.
    celsius.clear();
    let reply = ctx.request("sensors.broken.raw", "not json").await;
    assert!(
        reply.starts_with("error: ") && reply.contains("invalid reading"),
        "a malformed reading must get an `error: … invalid reading …` reply, got {reply:?}"
    );
    assert_eq!(
        ctx.request(
            "sensors.broken.raw",
            r#"{"sensor":"broken","fahrenheit":50}"#
        )
        .await,
        r#"{"sensor":"broken","celsius":10}"#,
        "the message after a failed one is processed normally"
    );
    ctx.expect(
        &celsius,
        &[r#"{"sensor":"broken","celsius":10}"#],
        "nothing published for the malformed reading",
    )
    .await;

    // 6. pelato status reports the three apps deployed.
    let st = ctx.pelato(&["status", path(&project)], CMD_TIMEOUT).await;
    st.assert_success();
    for app in apps {
        assert!(
            st.stderr
                .lines()
                .any(|l| l.contains(app) && l.contains("deployed")),
            "`pelato status` should report {app} deployed: {}",
            st.describe()
        );
    }

    // 7. remove: the apps leave wadm and the hosts.
    ctx.remove_and_check_gone(&project, &apps).await;
    let nothing = ctx.collector("sensors.celsius").await;
    ctx.publish("sensors.late.raw", r#"{"sensor":"late","fahrenheit":212}"#)
        .await;
    ctx.expect(&nothing, &[], "after remove nothing processes readings")
        .await;

    // 8. `pelato deploy` (no build, no push) brings the same apps back.
    let deploy = ctx.pelato(&["deploy", path(&project)], CMD_TIMEOUT).await;
    deploy.assert_success();
    for app in apps {
        deploy.assert_deployed_after_reconciling(app);
    }
    ctx.placement("the redeployed components", |p| {
        p.hosts_running("temp-convert") == set(&["edge"])
            && p.hosts_running("fleet-status") == set(&["cloud"])
            && p.hosts_running("anomaly-filter") == set(&["edge", "cloud"])
    })
    .await;
    assert_eq!(
        ctx.request(
            "sensors.again.raw",
            r#"{"sensor":"again","fahrenheit":212}"#
        )
        .await,
        r#"{"sensor":"again","celsius":100}"#,
        "temp-convert answers after the redeploy"
    );
    // Re-deploying an unchanged project sends nothing and still exits 0.
    let again = ctx.pelato(&["deploy", path(&project)], CMD_TIMEOUT).await;
    again.assert_success().assert_output_contains("(unchanged)");
    ctx.remove_and_check_gone(&project, &apps).await;
    ctx.stop().await;
}

/// Every messaging template (processor_nats, producer_nats,
/// http_producer_nats) on the hosts, including a task that panics.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_template_on_the_hosts() {
    let ctx = Ctx::start().await;
    let project = ctx.project(&fixture("all-templates"), "all-templates");
    let http_port = if PELATO_HAS_HTTP_PORT {
        let port = pelato_e2e::process::free_port().expect("free port");
        let wf = project.join("workflow.yaml");
        let text = std::fs::read_to_string(&wf).expect("workflow");
        std::fs::write(
            &wf,
            text.replace("# e2e:http_port", &format!("http_port: {port}")),
        )
        .expect("workflow");
        port
    } else {
        assert!(
            !port_in_use(DEFAULT_HTTP_PORT),
            "port {DEFAULT_HTTP_PORT} is taken: the http_producer_nats manifest binds \
             0.0.0.0:{DEFAULT_HTTP_PORT} when the workflow sets no `http_port:`"
        );
        DEFAULT_HTTP_PORT
    };
    let apps = ["e2e-all-shout", "e2e-all-ticker", "e2e-all-ingest"];

    ctx.push_and_prefetch(&project).await;
    let brush = ctx.pelato(&["brush", path(&project)], BRUSH_TIMEOUT).await;
    brush.assert_success();
    for app in apps {
        brush.assert_deployed_after_reconciling(app);
    }

    let p = ctx
        .placement("the three components on their hosts", |p| {
            !p.hosts_running("shout").is_empty()
                && !p.hosts_running("ticker").is_empty()
                && !p.hosts_running("ingest").is_empty()
        })
        .await;
    assert_eq!(p.hosts_running("shout"), set(&["cloud"]), "shout:\n{p}");
    assert_eq!(p.hosts_running("ticker"), set(&["edge"]), "ticker:\n{p}");
    assert_eq!(p.hosts_running("ingest"), set(&["edge"]), "ingest:\n{p}");
    // The HTTP app adds the builtin HTTP server next to the messaging provider
    // (the host's inventory names builtin providers without their scheme).
    let ingest_providers: BTreeSet<String> = p
        .providers
        .values()
        .flatten()
        .filter(|pr| pr.app == "e2e-all-ingest")
        .map(|pr| pr.image_ref.clone())
        .collect();
    assert_eq!(
        ingest_providers,
        set(&["http-server", "messaging-nats"]),
        "ingest's providers:\n{p}"
    );

    // processor_nats, and a panic: error reply, nothing published, next one fine.
    let shouts = ctx.collector("e2e.shout.out").await;
    ctx.publish("e2e.shout.in", "hello").await;
    ctx.expect(&shouts, &["HELLO!"], "shout output").await;
    shouts.clear();
    let reply = ctx.request("e2e.shout.in", "panic please").await;
    assert!(
        reply.starts_with("error: ") && reply.contains("asked to panic: panic please"),
        "a panicking task must reply `error: …asked to panic…`, got {reply:?}"
    );
    assert_eq!(
        ctx.request("e2e.shout.in", "still alive").await,
        "STILL ALIVE!",
        "the message after a panic is processed normally"
    );
    ctx.publish("e2e.shout.in", "panic silently").await;
    ctx.publish("e2e.shout.in", "after").await;
    ctx.expect(
        &shouts,
        &["STILL ALIVE!", "AFTER!"],
        "a panic publishes nothing; the other messages are processed",
    )
    .await;

    // producer_nats: a trigger produces a report, or nothing.
    let ticks = ctx.collector("e2e.ticks").await;
    ctx.publish("e2e.tick", "7").await;
    ctx.publish("e2e.tick", "not a number").await;
    ctx.publish("e2e.tick", "12").await;
    ctx.expect(
        &ticks,
        &[r#"{"tick":7,"square":49}"#, r#"{"tick":12,"square":144}"#],
        "ticker output",
    )
    .await;
    assert_eq!(
        ctx.request("e2e.tick", "3").await,
        r#"{"tick":3,"square":9}"#,
        "ticker's reply"
    );
    assert_eq!(
        ctx.request("e2e.tick", "nothing").await,
        "",
        "an empty production replies empty"
    );

    // http_producer_nats: POST runs the task, publishes and answers.
    let ingested = ctx.collector("e2e.ingest.out").await;
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(MSG_TIMEOUT)
        .build()
        .expect("http client");
    let url = format!("http://127.0.0.1:{http_port}/");
    let post = |body: &'static str| {
        let http = http.clone();
        let url = url.clone();
        async move {
            let r = http
                .post(&url)
                .body(body)
                .send()
                .await
                .unwrap_or_else(|e| panic!("POST {url}: {e}"));
            let status = r.status().as_u16();
            (status, r.text().await.expect("response body"))
        }
    };
    assert_eq!(
        post(r#"{"device":"pump-3","value":4.25}"#).await,
        (
            200,
            r#"{"device":"PUMP-3","value":4.25,"accepted":true}"#.to_string()
        ),
        "POST → exec_task(body) as the 200 response"
    );
    let (status, body) = post("garbage").await;
    assert_eq!(status, 500, "a panic is a 500 (body {body:?})");
    assert!(
        body.contains("bad payload"),
        "the 500 carries the panic's reason, got {body:?}"
    );
    assert_eq!(
        post(r#"{"device":"valve","value":-1}"#).await,
        (
            200,
            r#"{"device":"VALVE","value":-1,"accepted":true}"#.to_string()
        ),
        "the request after a panic is served normally"
    );
    let get = http
        .get(&url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(get.status().as_u16(), 405, "GET is not allowed");
    // The same task over NATS (source_topic), with a reply and an error reply.
    assert_eq!(
        ctx.request("e2e.ingest.in", r#"{"device":"nats-1","value":1}"#)
            .await,
        r#"{"device":"NATS-1","value":1,"accepted":true}"#,
        "ingest over NATS"
    );
    let reply = ctx.request("e2e.ingest.in", "{broken").await;
    assert!(
        reply.starts_with("error: ") && reply.contains("bad payload"),
        "ingest's error reply, got {reply:?}"
    );
    ctx.expect(
        &ingested,
        &[
            r#"{"device":"PUMP-3","value":4.25,"accepted":true}"#,
            r#"{"device":"VALVE","value":-1,"accepted":true}"#,
            r#"{"device":"NATS-1","value":1,"accepted":true}"#,
        ],
        "ingest publishes every successful result to dest_topic, nothing for failures",
    )
    .await;

    ctx.remove_and_check_gone(&project, &apps).await;
    // The HTTP server went with its app.
    let gone = http.post(&url).body("{}").send().await;
    assert!(
        gone.is_err(),
        "nothing should serve {url} after remove, got {:?}",
        gone.map(|r| r.status())
    );
    ctx.stop().await;
}

/// A task targeting both host types with two instances runs on both hosts,
/// and each message is processed once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn task_on_both_host_types_processes_each_message_once() {
    let ctx = Ctx::start().await;
    let project = ctx.project(&fixture("both-hosts"), "both-hosts");
    let app = "e2e-both-echo-everywhere";
    // Both in-process hosts start this component at once: warm their shared
    // OCI cache first (see `push_and_prefetch`).
    ctx.push_and_prefetch(&project).await;
    ctx.pelato(&["deploy", path(&project)], CMD_TIMEOUT)
        .await
        .assert_success()
        .assert_deployed_after_reconciling(app);
    let p = ctx
        .placement("echo-everywhere on both hosts", |p| {
            p.hosts_running("echo-everywhere") == set(&["edge", "cloud"])
        })
        .await;
    assert_eq!(
        p.hosts_with_provider_of(app),
        set(&["edge", "cloud"]),
        "providers:\n{p}"
    );
    let out = ctx.collector("e2e.echo.out").await;
    for i in 0..6 {
        ctx.publish("e2e.echo.in", &format!("m{i}")).await;
    }
    ctx.expect(
        &out,
        &[
            "echo:m0", "echo:m1", "echo:m2", "echo:m3", "echo:m4", "echo:m5",
        ],
        "each message on source_topic is processed once, though the component runs on two hosts",
    )
    .await;
    ctx.remove_and_check_gone(&project, &[app]).await;
    ctx.stop().await;
}

/// The original PELATO thesis's example project as written there (a
/// project name with spaces, `code:` without `tasks/`, underscore component
/// names, `http_producer_nats` → `processor_nats`), brushed onto the hosts:
/// the underscore names reach the registry, wadm and the hosts unchanged, and
/// an HTTP POST flows through both tasks. Only `http_port:` is added (a free
/// port instead of the default 8000).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn original_thesis_project_on_the_hosts() {
    let ctx = Ctx::start().await;
    let project = ctx.project(
        &original("temperature-data-analysis"),
        "temperature-data-analysis",
    );
    let http_port = pelato_e2e::process::free_port().expect("free port");
    let wf = project.join("workflow.yaml");
    let text = std::fs::read_to_string(&wf).expect("workflow");
    let text = text.replacen(
        "    version: 1.0.0\n",
        &format!("    version: 1.0.0\n    http_port: {http_port}\n"),
        1,
    );
    std::fs::write(&wf, text).expect("workflow");
    let apps = [
        "temperature-data-analysis-celsius-to-kelvin-conversion",
        "temperature-data-analysis-temp-filter",
    ];

    ctx.push_and_prefetch(&project).await;
    let brush = ctx.pelato(&["brush", path(&project)], BRUSH_TIMEOUT).await;
    brush.assert_success();
    for app in apps {
        brush.assert_deployed_after_reconciling(app);
    }
    let p = ctx
        .placement("both components on their hosts", |p| {
            !p.hosts_running("celsius_to_kelvin_conversion").is_empty()
                && !p.hosts_running("temp_filter").is_empty()
        })
        .await;
    assert_eq!(
        p.hosts_running("celsius_to_kelvin_conversion"),
        set(&["edge"]),
        "conversion:\n{p}"
    );
    assert_eq!(
        p.hosts_running("temp_filter"),
        set(&["cloud"]),
        "filter:\n{p}"
    );

    // NATS in: celsius → kelvin → filtered (a measurement error is dropped).
    let kelvin = ctx.collector("living_room_kelvin_data").await;
    let filtered = ctx.collector("filtered_kelvin_data").await;
    ctx.publish(
        "living_room_celsius_data",
        r#"{"sensor":"sofa","celsius":21.5}"#,
    )
    .await;
    ctx.publish(
        "living_room_celsius_data",
        r#"{"sensor":"oven","celsius":180}"#,
    )
    .await;
    ctx.expect(
        &kelvin,
        &[
            r#"{"sensor":"sofa","kelvin":294.65}"#,
            r#"{"sensor":"oven","kelvin":453.15}"#,
        ],
        "conversion output",
    )
    .await;
    ctx.expect(
        &filtered,
        &[r#"{"sensor":"sofa","kelvin":294.65}"#],
        "filter output (chained after the conversion)",
    )
    .await;

    // HTTP in: a POST to the conversion runs the same chain and answers.
    kelvin.clear();
    filtered.clear();
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(MSG_TIMEOUT)
        .build()
        .expect("http client");
    let url = format!("http://127.0.0.1:{http_port}/");
    let mut answer = None;
    // The HTTP server provider may still be binding right after Deployed.
    for _ in 0..50 {
        match http
            .post(&url)
            .body(r#"{"sensor":"window","celsius":-1}"#)
            .send()
            .await
        {
            Ok(r) => {
                answer = Some((r.status().as_u16(), r.text().await.unwrap_or_default()));
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let (status, body) =
        answer.unwrap_or_else(|| panic!("POST {url}: no answer\n{}", ctx.lattice.logs()));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, r#"{"sensor":"window","kelvin":272.15}"#);
    ctx.expect(
        &kelvin,
        &[r#"{"sensor":"window","kelvin":272.15}"#],
        "conversion output after the POST",
    )
    .await;
    // Below 0 °C: dropped by the filter.
    ctx.expect(&filtered, &[], "filter output after the POST")
        .await;

    ctx.remove_and_check_gone(&project, &apps).await;
    ctx.stop().await;
}

/// A target label no host has: `pelato deploy` fails and says what wadm says.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unsatisfiable_target_reports_wadms_reason() {
    let ctx = Ctx::start().await;
    let project = ctx.project(&fixture("moon"), "moon");
    let app = "e2e-moon-moon-echo";
    ctx.pelato(&["push", path(&project)], BRUSH_TIMEOUT)
        .await
        .assert_success();
    let deploy = ctx
        .pelato(
            &["deploy", path(&project), "--deploy-timeout", "15"],
            CMD_TIMEOUT,
        )
        .await;
    assert!(
        !deploy.success() && !deploy.timed_out,
        "deploying to a label no host has must fail: {}",
        deploy.describe()
    );
    // wadm's reasons, as printed by PELATO: the component's and the
    // provider's daemonscalers cannot be placed.
    deploy
        .assert_output_contains("Could not satisfy daemonscaler moon for 127.0.0.1")
        .assert_output_contains("moon-echo:1.0.0, 0 eligible hosts found")
        .assert_output_contains("0 eligible hosts found");
    assert!(
        deploy.transitions(app).iter().any(|s| s == "failed"),
        "the failed transition must be printed: {}",
        deploy.describe()
    );
    let (state, message) = ctx.lattice.app_status(app).await.expect("wadm status");
    assert_eq!(state, "failed", "wadm's status of {app}: {message}");
    // Nothing was placed anywhere.
    let p = ctx.lattice.placement().await.expect("placement");
    assert!(!p.runs_anything_of(app), "nothing of {app} may run:\n{p}");
    ctx.remove_and_check_gone(&project, &[app]).await;
    // Give the hosts a moment to publish anything late before stopping.
    tokio::time::sleep(SETTLE).await;
    ctx.stop().await;
}

/// Two projects whose tasks share a `component_name` (with different versions
/// and topics) run side by side: each keeps its own topics, and removing one
/// leaves the other working.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_projects_sharing_a_component_name_keep_their_own_topics() {
    let ctx = Ctx::start().await;
    let a = ctx.project(&fixture("twin-a"), "twin-a");
    let b = ctx.project(&fixture("twin-b"), "twin-b");
    for (project, app) in [(&a, "e2e-twin-a-twin"), (&b, "e2e-twin-b-twin")] {
        ctx.push_and_prefetch(project).await;
        ctx.pelato(&["brush", path(project)], BRUSH_TIMEOUT)
            .await
            .assert_success()
            .assert_deployed_after_reconciling(app);
    }
    ctx.placement("both twins on the edge host", |p| {
        p.components
            .get("edge")
            .is_some_and(|cs| cs.iter().filter(|c| c.app.starts_with("e2e-twin-")).count() == 2)
    })
    .await;
    let out_a = ctx.collector("twin.a.out").await;
    let out_b = ctx.collector("twin.b.out").await;
    ctx.publish("twin.a.in", "1").await;
    ctx.publish("twin.b.in", "2").await;
    ctx.expect(&out_a, &["a:1"], "project a's task, on its own topics")
        .await;
    ctx.expect(&out_b, &["b:2"], "project b's task, on its own topics")
        .await;
    // Removing b must leave a alone.
    ctx.remove_and_check_gone(&b, &["e2e-twin-b-twin"]).await;
    out_a.clear();
    ctx.publish("twin.a.in", "3").await;
    ctx.expect(&out_a, &["a:3"], "project a after project b was removed")
        .await;
    ctx.remove_and_check_gone(&a, &["e2e-twin-a-twin"]).await;
    ctx.stop().await;
}

//! `pelato::pipeline::brush` as a library user calls it, without the CLI:
//! gen → build → test → push (a real registry) → deploy (a real NATS and
//! wadm), with typed outcomes in each task's report and the progress told to
//! the caller's own `Reporter`.

use crate::support::project as support;

use crate::support::nats as nats_support;
use crate::support::registry as registry_support;

use std::sync::{Arc, Mutex};

use nats_support::{start_wadm, unique_lattice, NatsServer};
use pelato::deploy::{AppState, DeployOptions};
use pelato::pipeline::deploy::{DeployStageOptions, Deployed};
use pelato::pipeline::push::PushStageOptions;
use pelato::pipeline::{self, BrushOptions, Project, Reporter, Stage};
use pelato::report::StageDetail;
use registry_support::Registry;

/// Keeps what the pipeline reports.
#[derive(Default)]
struct Recorder {
    stages: Mutex<Vec<(String, Stage)>>,
    lines: Mutex<Vec<String>>,
}

impl Reporter for Recorder {
    fn stage(&self, component: &str, stage: Stage) {
        self.stages
            .lock()
            .unwrap()
            .push((component.to_string(), stage));
    }
    fn info(&self, line: &str) {
        self.lines.lock().unwrap().push(line.to_string());
    }
    fn warn(&self, line: &str) {
        self.lines.lock().unwrap().push(format!("WARN {line}"));
    }
}

#[test]
fn a_library_user_brushes_without_the_cli() {
    let registry = Registry::start();
    let nats = NatsServer::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let _wadm = rt.block_on(start_wadm(&nats));
    let lattice = unique_lattice("lib");

    let dir = support::copy_example();
    let mut project = Project::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    project.settings.registry_url = Some(format!("http://{}", registry.addr()));
    let recorder = Arc::new(Recorder::default());
    let mut opts = support::options(&project);
    opts.reporter = recorder.clone();
    let stages = BrushOptions {
        push: PushStageOptions::default(),
        deploy: DeployStageOptions {
            nats: Some(nats.options(&lattice)),
            deploy: DeployOptions {
                wait: false,
                ..DeployOptions::default()
            },
            single_app: false,
            discovery: None,
        },
    };
    let (reports, deployed) =
        pipeline::brush(&project, &support::go(), &opts, &stages).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(deployed, Deployed::Ran);
    assert_eq!(reports.len(), 3);
    for r in &reports {
        assert!(r.failure().is_none(), "{}: {:?}", r.component, r.failure());
        let pushed = r.push.as_ref().expect("pushed").as_ref().unwrap();
        assert!(
            pushed.pinned_reference.starts_with(&format!(
                "{}/{}@sha256:",
                registry.addr(),
                r.component
            )),
            "{}",
            pushed.pinned_reference
        );
        let app = r.deploy.as_ref().expect("deployed").as_ref().unwrap();
        assert_eq!(app.app, format!("iot-sensors-{}", r.component));
        // No host in this lattice: stored and deployed, waiting for hosts.
        assert_ne!(app.state, AppState::Failed, "{app:?}");
        // The record is typed per stage, in order.
        let record = r.record(dir.path());
        let names: Vec<&str> = record.stages.iter().map(|s| s.detail.name()).collect();
        assert_eq!(names, ["gen", "build", "test", "push", "deploy"]);
        match &record.stages[3].detail {
            StageDetail::Push { reference, digest } => {
                assert_eq!(reference.as_deref(), Some(pushed.pinned_reference.as_str()));
                assert!(digest.as_deref().unwrap().starts_with("sha256:"));
            }
            other => panic!("{other:?}"),
        }
        // The generated manifest now names the pushed digest.
        let yaml =
            std::fs::read_to_string(dir.path().join(format!("gen/{}/wadm.yaml", r.component)))
                .unwrap();
        assert!(yaml.contains(&pushed.pinned_reference), "{yaml}");
    }
    // The caller's reporter heard every stage of every task, and the lines.
    let stages = recorder.stages.lock().unwrap();
    for c in ["temp-convert", "anomaly-filter", "fleet-status"] {
        for s in [Stage::Compile, Stage::Test, Stage::Push, Stage::Deploy] {
            assert!(stages.contains(&(c.to_string(), s)), "{c} {s}: {stages:?}");
        }
    }
    let lines = recorder.lines.lock().unwrap();
    assert!(
        lines.iter().any(|l| l.contains("pushed temp-convert")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("deploying to lattice `{lattice}`"))),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.starts_with("WARN")), "{lines:?}");
}

#[test]
fn without_a_lattice_the_library_says_how_to_deploy() {
    let dir = support::copy_example();
    let project = Project::load(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let opts = support::options(&project);
    let (reports, deployed) =
        pipeline::brush(&project, &support::go(), &opts, &BrushOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
    // No registry: pushed to the project's OCI layout; no NATS: not deployed.
    assert!(dir.path().join(".pelato/oci/index.json").is_file());
    match deployed {
        Deployed::NotConfigured { manifests, hint } => {
            assert_eq!(manifests.len(), 3);
            assert!(hint.contains("wash app deploy"), "{hint}");
        }
        other => panic!("{other:?}"),
    }
    for r in &reports {
        assert!(r.push.as_ref().unwrap().is_ok());
        assert!(r.deploy.is_none());
    }
}

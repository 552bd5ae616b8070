//! Rendering tests: what `gen` writes for a project (no compiler needed).

use std::path::Path;

use pelato::config::Settings;
use pelato::gen::{self, Generator};
use pelato::pipeline::{self, Project};
use pelato::workflow::Workflow;
use wadm_types::{Manifest, TraitProperty};

fn copy_project(from: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut stack = vec![(from.to_path_buf(), dir.path().to_path_buf())];
    while let Some((src, dst)) = stack.pop() {
        std::fs::create_dir_all(&dst).unwrap();
        for e in std::fs::read_dir(&src).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push((e.path(), dst.join(e.file_name())));
            } else {
                std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
            }
        }
    }
    dir
}

fn fixture(name: &str) -> tempfile::TempDir {
    copy_project(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/valid")
            .join(name),
    )
}

fn settings() -> Settings {
    Settings::from_sources(|_| None, None).unwrap()
}

#[test]
fn gen_writes_a_go_module_and_a_valid_manifest_per_task() {
    let dir = fixture("new_dialect");
    let project = Project::load(dir.path()).unwrap();
    let reports = pipeline::gen(&project);
    assert_eq!(reports.len(), 3);
    for r in &reports {
        let g = r.gen.as_ref().unwrap().as_ref().unwrap();
        for f in [
            "go.mod",
            gen::BINDINGS_FILE,
            gen::GLUE_FILE,
            gen::TASK_FILE,
            gen::MANIFEST_FILE,
        ] {
            assert!(g.dir.join(f).is_file(), "{} missing {f}", r.component);
        }
        assert_eq!(g.dir, dir.path().join("gen").join(&r.component));
        // The usual modes (a new folder's, a new file's), not a private
        // temporary folder's 0700: gen/ is read by the rest of the team.
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let probe = tempfile::tempdir().unwrap();
        std::fs::create_dir(probe.path().join("d")).unwrap();
        std::fs::write(probe.path().join("f"), "").unwrap();
        assert_eq!(
            mode(&g.dir),
            mode(&probe.path().join("d")),
            "{}",
            r.component
        );
        assert_eq!(mode(&g.dir.join("go.mod")), mode(&probe.path().join("f")));
    }

    let convert = dir.path().join("gen/convert");
    // The user's file is copied with a //line directive pointing back at it.
    let task = std::fs::read_to_string(convert.join(gen::TASK_FILE)).unwrap();
    let user = std::fs::read_to_string(dir.path().join("tasks/convert.go")).unwrap();
    assert_eq!(task, format!("//line tasks/convert.go:1\n{user}"));
    // The bindings export the handler and import the consumer, with both allocators.
    let b = std::fs::read_to_string(convert.join(gen::BINDINGS_FILE)).unwrap();
    assert!(b.contains("//go:wasmexport wasmcloud:messaging/handler@0.2.0#handle-message"));
    assert!(b.contains("//go:wasmimport wasmcloud:messaging/consumer@0.2.0 publish"));
    assert!(b.contains("//go:wasmexport cabi_realloc\n"));
    assert!(b.contains("//go:wasmexport cabi_realloc_adapter\n"));
    assert!(
        b.contains("const pelatoMaxMessageBytes = 65536"),
        "project-wide max_message_size"
    );
    assert!(!b.contains("import \"runtime\""), "no runtime internals");
    let s = std::fs::read_to_string(
        dir.path()
            .join("gen/summarize-readings")
            .join(gen::BINDINGS_FILE),
    )
    .unwrap();
    assert!(
        s.contains("const pelatoMaxMessageBytes = 1048576"),
        "task-level max_message_size wins"
    );
    // The glue carries the topics as quoted literals.
    let glue = std::fs::read_to_string(convert.join(gen::GLUE_FILE)).unwrap();
    assert!(
        glue.contains("\"dest-topic\": \"weather.fahrenheit\","),
        "{glue}"
    );

    // The manifest: the component on every host of each target host-type (as the
    // builtin provider is), links with a queue-group subscription.
    let m: Manifest =
        serde_yaml::from_str(&std::fs::read_to_string(convert.join(gen::MANIFEST_FILE)).unwrap())
            .unwrap();
    assert_eq!(m.metadata.name, "weather-pipeline-convert");
    assert_eq!(m.version(), "1.2.0");
    assert_eq!(
        m.metadata
            .annotations
            .get("pelato.dev/task")
            .map(String::as_str),
        Some("convert")
    );
    let comp = m
        .spec
        .components
        .iter()
        .find(|c| c.name == "convert")
        .unwrap();
    let traits = comp.traits.as_ref().unwrap();
    let spread = traits
        .iter()
        .find_map(|t| match &t.properties {
            TraitProperty::SpreadScaler(s) if t.trait_type == "daemonscaler" => Some(s),
            _ => None,
        })
        .unwrap();
    assert_eq!(spread.instances, 2, "instances per host");
    let labels: Vec<&str> = spread
        .spread
        .iter()
        .map(|s| s.requirements["host-type"].as_str())
        .collect();
    assert_eq!(labels, vec!["edge", "cloud"]);
    assert!(!traits.iter().any(|t| t.trait_type == "spreadscaler"));
    let yaml = std::fs::read_to_string(convert.join(gen::MANIFEST_FILE)).unwrap();
    assert!(
        yaml.contains("subscriptions: \"weather.celsius|weather-pipeline-convert\""),
        "{yaml}"
    );
    assert!(
        yaml.contains("name: \"weather-pipeline-convert-consumer\""),
        "{yaml}"
    );
    assert!(yaml.contains("interfaces: [consumer]") && yaml.contains("interfaces: [handler]"));
    assert!(yaml.contains("image: \"wasmcloud+builtin://messaging-nats\""));
}

#[test]
fn three_targets_place_the_component_on_each() {
    let dir = fixture("new_dialect");
    let wf_path = dir.path().join("workflow.yaml");
    let wf = std::fs::read_to_string(&wf_path)
        .unwrap()
        .replace("targets: [edge, cloud]", "targets: [edge, cloud, gateway]");
    std::fs::write(&wf_path, wf).unwrap();
    let project = Project::load(dir.path()).unwrap();
    let task = project.task("convert").unwrap();
    let r = project
        .generator
        .render(&project.workflow, task, &settings())
        .unwrap();
    let m: Manifest = serde_yaml::from_str(&r.files[gen::MANIFEST_FILE]).unwrap();
    assert_eq!(m.spec.components.len(), 2);
    for c in &m.spec.components {
        let labels: Vec<&str> = c
            .traits
            .iter()
            .flatten()
            .find_map(|t| match &t.properties {
                TraitProperty::SpreadScaler(s) if t.trait_type == "daemonscaler" => Some(s),
                _ => None,
            })
            .unwrap()
            .spread
            .iter()
            .map(|s| s.requirements["host-type"].as_str())
            .collect();
        assert_eq!(labels, vec!["edge", "cloud", "gateway"], "{}", c.name);
    }
}

#[test]
fn workflow_values_cannot_inject_go_or_yaml() {
    let dir = fixture("new_dialect");
    let wf_path = dir.path().join("workflow.yaml");
    let evil = r#"name: 'x" + os.Exit(1) + " # spec: {evil: 1}'"#;
    let wf = std::fs::read_to_string(&wf_path)
        .unwrap()
        .replacen("name: convert", evil, 1);
    std::fs::write(&wf_path, wf).unwrap();
    let project = Project::load(dir.path()).unwrap();
    let task = project.task("convert").unwrap();
    let r = project
        .generator
        .render(&project.workflow, task, &settings())
        .unwrap();
    let m: Manifest = serde_yaml::from_str(&r.files[gen::MANIFEST_FILE]).unwrap();
    assert_eq!(
        m.metadata
            .annotations
            .get("pelato.dev/task")
            .map(String::as_str),
        Some(r#"x" + os.Exit(1) + " # spec: {evil: 1}"#)
    );
    let glue = &r.files[gen::GLUE_FILE];
    assert!(
        glue.contains(r#"pelatoTaskName    = "x\" + os.Exit(1) + \" # spec: {evil: 1}""#),
        "{glue}"
    );
}

#[test]
fn nothing_is_written_when_validation_fails() {
    let dir = copy_project(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/invalid/several_problems"),
    );
    let err = Project::load(dir.path()).err().expect("invalid project");
    assert!(err.to_string().contains("problems found"), "{err}");
    assert!(!dir.path().join("gen").exists());
    assert!(!dir.path().join("build").exists());
}

#[test]
fn registry_url_sets_the_image_reference() {
    let dir = fixture("old_dialect");
    let g = Generator::new().unwrap();
    let wf = Workflow::load(dir.path(), &g.templates().infos()).unwrap();
    let s = Settings::from_sources(
        |k| match k {
            "REGISTRY_URL" => Some("http://127.0.0.1:5000/".into()),
            "NATS_HOST" => Some("10.1.2.3".into()),
            "NATS_PORT" => Some("4333".into()),
            _ => None,
        },
        None,
    )
    .unwrap();
    let task = &wf.tasks[0];
    let r = g.render(&wf, task, &s).unwrap();
    let yaml = &r.files[gen::MANIFEST_FILE];
    assert!(
        yaml.contains(&format!(
            "image: \"127.0.0.1:5000/{}:{}\"",
            task.component_name, task.version
        )),
        "{yaml}"
    );
    assert!(
        yaml.contains("cluster_uris: \"nats://10.1.2.3:4333\""),
        "{yaml}"
    );
    // Without a registry the manifest points at the local build output.
    let r = g.render(&wf, task, &settings()).unwrap();
    assert!(r.files[gen::MANIFEST_FILE].contains("image: \"file://"));
}

#[test]
fn a_task_defining_main_or_pelato_names_is_refused_with_its_line() {
    let dir = fixture("new_dialect");
    let p = dir.path().join("tasks/convert.go");
    let src = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, format!("{src}\nfunc main() {{}}\n")).unwrap();
    let project = Project::load(dir.path()).unwrap();
    let reports = pipeline::gen(&project);
    let r = reports.iter().find(|r| r.component == "convert").unwrap();
    let err = r.gen.as_ref().unwrap().as_ref().unwrap_err().to_string();
    let line = src.lines().count() + 2;
    assert!(
        err.contains(&format!("tasks/convert.go:{line}: remove `func main()`")),
        "{err}"
    );
    // The other tasks were generated anyway.
    assert!(dir.path().join("gen/heartbeat/wadm.yaml").is_file());
    assert!(!dir.path().join("gen/convert").exists());
}

#[test]
fn the_messaging_provider_is_configurable() {
    let dir = fixture("old_dialect");
    let wf_path = dir.path().join("workflow.yaml");
    let text = std::fs::read_to_string(&wf_path).unwrap();
    std::fs::write(
        &wf_path,
        format!("messaging_provider: ghcr.io/wasmcloud/messaging-nats:0.24.0\n{text}"),
    )
    .unwrap();
    let project = Project::load(dir.path()).unwrap();
    let task = &project.workflow.tasks[0];
    let r = project
        .generator
        .render(&project.workflow, task, &settings())
        .unwrap();
    let yaml = &r.files[gen::MANIFEST_FILE];
    assert!(
        yaml.contains("image: \"ghcr.io/wasmcloud/messaging-nats:0.24.0\""),
        "{yaml}"
    );
    assert!(!yaml.contains("wasmcloud+builtin"));

    for bad in [
        "ghcr.io/wasmcloud/messaging-nats:latest",
        "messaging nats",
        "ghcr.io/x/y",
    ] {
        std::fs::write(&wf_path, format!("messaging_provider: {bad}\n{text}")).unwrap();
        let err = Project::load(dir.path())
            .err()
            .expect("refused")
            .to_string();
        assert!(
            err.contains("field `messaging_provider`")
                && err.contains("is not a provider reference"),
            "{bad}: {err}"
        );
    }
}

//! User templates: a project's `templates/` (or `PELATO_TEMPLATES`) adds task
//! types without recompiling PELATO; broken ones get clear errors.

use crate::support::project as support;

use std::path::Path;
use std::process::Command;

use pelato::harness::{Harness, Message};
use pelato::templates::{TemplateError, TemplateSet};
use support::{build, options, TestProject};

const SHOUT_TOML: &str = r#"name = "shout_nats"
aliases = ["shout"]
world = "acme:shout/shouter@0.1.0"
description = "like processor_nats, but the result is shouted"
required = ["source_topic", "dest_topic"]
"#;

const SHOUT_WIT: &str = "package acme:shout@0.1.0;\n\nworld shouter {\n    import wasmcloud:messaging/consumer@0.2.0;\n    export wasmcloud:messaging/handler@0.2.0;\n}\n";

const SHOUT_GLUE: &str = r#"package main

import "strings"

const pelatoDestTopic = {{go_str dest_topic}}

func pelatoOnHandlerHandleMessage(msg pelatoBrokerMessage) pelatoResult[struct{}, string] {
	out := strings.ToUpper(exec_task(string(msg.Body))) + "!"
	pelatoConsumerPublish(pelatoBrokerMessage{Subject: pelatoDestTopic, Body: []byte(out)})
	return pelatoResult[struct{}, string]{}
}

func main() {}
"#;

fn write_template(root: &Path, name: &str, files: &[(&str, &str)]) {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for (f, text) in files {
        std::fs::write(dir.join(f), text).unwrap();
    }
}

fn builtin_manifest() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/processor_nats/wadm.yaml.hbs"),
    )
    .unwrap()
}

const WORKFLOW: &str = "project_name: loud\ntasks:\n  - name: greet\n    type: shout\n    code: tasks/greet.go\n    targets: [edge]\n    source_topic: in.greet\n    dest_topic: out.greet\n    component_name: greet\n    version: 1.0.0\n    tests:\n      - input: world\n        expect: HELLO, WORLD!\n";

#[test]
fn a_project_template_with_its_own_world_builds_and_runs() {
    let p = TestProject::new(
        WORKFLOW,
        &[(
            "greet.go",
            "package main\n\nfunc exec_task(arg string) string { return \"hello, \" + arg }\n",
        )],
    );
    let manifest = builtin_manifest();
    write_template(
        &p.path().join("templates"),
        "shout",
        &[
            ("template.toml", SHOUT_TOML),
            ("world.wit", SHOUT_WIT),
            ("glue.go.hbs", SHOUT_GLUE),
            ("wadm.yaml.hbs", &manifest),
        ],
    );
    let project = p.load();
    assert!(project
        .generator
        .templates()
        .names()
        .contains(&"shout_nats".to_string()));
    assert_eq!(project.workflow.tasks[0].template, "shout_nats");
    let reports = build(&project);
    let b = reports[0]
        .built()
        .unwrap_or_else(|| panic!("{:?}", reports[0].failure()));
    let harness = Harness::new(options(&project).harness).unwrap();
    let summary =
        pelato::pipeline::test_task(&project, &harness, &project.workflow.tasks[0], b).unwrap();
    assert!(
        summary.cases.iter().all(|c| c.passed),
        "{:?}",
        summary.cases
    );
    let d = harness
        .load_file(&b.path)
        .unwrap()
        .deliver(&Message::new("in.greet", "you"))
        .unwrap();
    assert_eq!(d.body_to("out.greet").as_deref(), Some("HELLO, YOU!"));

    // `pelato templates` lists it with its world, and PELATO_TEMPLATES works too.
    let out = Command::new(env!("CARGO_BIN_EXE_pelato"))
        .arg("templates")
        .arg(p.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("shout_nats (also: shout)"), "{text}");
    assert!(text.contains("world acme:shout/shouter@0.1.0"), "{text}");
    let shared = tempfile::tempdir().unwrap();
    std::fs::rename(
        p.path().join("templates/shout"),
        shared.path().join("shout"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pelato"))
        .env("PELATO_TEMPLATES", shared.path())
        .arg("templates")
        .arg(p.path())
        .output()
        .unwrap();
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("shout_nats"));
    // ... and so does PELATO_TEMPLATES in the project's .env.
    std::fs::write(
        p.path().join(".env"),
        format!("PELATO_TEMPLATES={}\n", shared.path().display()),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pelato"))
        .env_remove("PELATO_TEMPLATES")
        .arg("templates")
        .arg(p.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("shout_nats"), "{text}");
}

fn discover_err(files: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    write_template(&dir.path().join("templates"), "broken", files);
    match TemplateSet::discover(dir.path())
        .and_then(|s| pelato::templates::Wit::for_templates(&s).map(|_| ()))
    {
        Err(e @ TemplateError::User { .. }) => e.to_string(),
        Err(other) => panic!("expected a user-template error, got {other}"),
        Ok(()) => panic!("a broken template was accepted"),
    }
}

#[test]
fn broken_user_templates_get_clear_errors() {
    let manifest = builtin_manifest();
    let e = discover_err(&[("template.toml", SHOUT_TOML), ("wadm.yaml.hbs", &manifest)]);
    assert!(
        e.contains("templates/broken: glue.go.hbs:") && e.contains("fix: add the Go glue template"),
        "{e}"
    );

    let e = discover_err(&[
        ("template.toml", "name = \"x\"\n"),
        ("glue.go.hbs", SHOUT_GLUE),
        ("wadm.yaml.hbs", &manifest),
    ]);
    assert!(
        e.contains("template.toml") && e.contains("missing field"),
        "{e}"
    );

    let clash = SHOUT_TOML.replace("shout_nats", "processor_nats");
    let e = discover_err(&[
        ("template.toml", &clash),
        ("glue.go.hbs", SHOUT_GLUE),
        ("wadm.yaml.hbs", &manifest),
    ]);
    assert!(
        e.contains("the name `processor_nats` is already taken by a built-in template"),
        "{e}"
    );

    let e = discover_err(&[
        ("template.toml", SHOUT_TOML),
        ("glue.go.hbs", "{{#if}}"),
        ("wadm.yaml.hbs", &manifest),
    ]);
    assert!(e.contains("glue.go.hbs: handlebars syntax error"), "{e}");

    let e = discover_err(&[
        ("template.toml", SHOUT_TOML),
        (
            "world.wit",
            "package acme:shout@0.1.0;\nworld shouter { import wasmcloud:nope/x@0.1.0; }\n",
        ),
        ("glue.go.hbs", SHOUT_GLUE),
        ("wadm.yaml.hbs", &manifest),
    ]);
    assert!(
        e.contains("world.wit") && e.contains("wasmcloud:nope"),
        "{e}"
    );
}

#[test]
fn a_template_whose_glue_misses_an_export_is_refused_at_gen() {
    let p = TestProject::new(
        WORKFLOW,
        &[(
            "greet.go",
            "package main\n\nfunc exec_task(arg string) string { return arg }\n",
        )],
    );
    let manifest = builtin_manifest();
    write_template(
        &p.path().join("templates"),
        "shout",
        &[
            ("template.toml", SHOUT_TOML),
            ("world.wit", SHOUT_WIT),
            ("glue.go.hbs", "package main\n\nfunc main() {}\n"),
            ("wadm.yaml.hbs", &manifest),
        ],
    );
    let project = p.load();
    let reports = pelato::pipeline::gen(&project);
    let err = reports[0]
        .gen
        .as_ref()
        .unwrap()
        .as_ref()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("template `shout_nats` must define `func pelatoOnHandlerHandleMessage(a0 pelatoBrokerMessage) pelatoResult[struct{}, string]`"),
        "{err}"
    );
}

/// What a user template's template.toml requires is enforced when the
/// project loads, with the field, the line and the fix.
#[test]
fn a_user_templates_required_fields_are_enforced() {
    let p = TestProject::new(
        &WORKFLOW.replace("    dest_topic: out.greet\n", ""),
        &[(
            "greet.go",
            "package main\n\nfunc exec_task(arg string) string { return arg }\n",
        )],
    );
    let templates = p.path().join("templates");
    write_template(
        &templates,
        "shout_nats",
        &[
            ("template.toml", SHOUT_TOML),
            ("world.wit", SHOUT_WIT),
            ("glue.go.hbs", SHOUT_GLUE),
            ("wadm.yaml.hbs", &builtin_manifest()),
        ],
    );
    let e = match pelato::pipeline::Project::load(p.path()) {
        Ok(_) => panic!("a task without a required field must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("field `dest_topic`: required field `dest_topic` is missing"),
        "{e}"
    );
    // Any task field can be required: `instances` here.
    let toml = SHOUT_TOML.replace(
        "required = [\"source_topic\", \"dest_topic\"]",
        "required = [\"source_topic\", \"instances\"]",
    );
    std::fs::write(templates.join("shout_nats/template.toml"), toml).unwrap();
    let e = match pelato::pipeline::Project::load(p.path()) {
        Ok(_) => panic!("a task without a required field must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("workflow.yaml:3: task \"greet\", field `instances`: required field `instances` is missing (a `shout` task needs it"),
        "{e}"
    );
    assert!(e.contains("fix: add `instances:` to the task"), "{e}");
}

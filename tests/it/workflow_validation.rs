//! Loads every project under `fixtures/` and checks what `Workflow::load`
//! reports: valid projects give the right tasks; each invalid project gives
//! diagnostics naming the file, the task, the field, the line and a fix.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::project::{copy_project, copy_tree};
use pelato::templates::TemplateSet;
use pelato::workflow::{Diagnostic, Expect, TemplateInfo, Workflow, WorkflowError, WORKFLOW_FILE};

/// The built-in templates, as the checker sees them.
fn builtin() -> Vec<TemplateInfo> {
    TemplateSet::builtin().expect("built-in templates").infos()
}

fn fixture(kind: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(kind)
        .join(name)
}

fn load_dir(dir: &Path) -> Result<Workflow, WorkflowError> {
    Workflow::load(dir, &builtin())
}

/// Loads an invalid project; checks the error lists every diagnostic and returns them.
fn diags_of(dir: &Path) -> Vec<Diagnostic> {
    match load_dir(dir) {
        Ok(w) => panic!("{} loaded but should be invalid: {w:#?}", dir.display()),
        Err(WorkflowError::Io { path, source }) => {
            panic!("unexpected I/O error on {}: {source}", path.display())
        }
        Err(e @ WorkflowError::Invalid(_)) => {
            let shown = e.to_string();
            let diags = e.diagnostics().to_vec();
            assert!(!diags.is_empty());
            let n = diags.len();
            let header = if n == 1 {
                "1 problem found".to_string()
            } else {
                format!("{n} problems found")
            };
            assert!(shown.starts_with(&header), "{shown}");
            assert_eq!(shown.lines().count(), n + 1, "{shown}");
            for d in &diags {
                assert!(shown.contains(&d.to_string()), "{shown}\nmissing {d}");
                assert!(d.fix.is_some(), "diagnostic without a fix: {d}");
            }
            diags
        }
    }
}

fn invalid(name: &str) -> Vec<Diagnostic> {
    diags_of(&fixture("invalid", name))
}

/// The single diagnostic of an invalid fixture.
fn only(name: &str) -> Diagnostic {
    let d = invalid(name);
    assert_eq!(d.len(), 1, "{name}: expected one problem, got {d:#?}");
    d.into_iter().next().expect("one")
}

fn fix(d: &Diagnostic) -> &str {
    d.fix.as_deref().unwrap_or("")
}

/// Asserts the common shape of a workflow.yaml field diagnostic.
fn assert_field(d: &Diagnostic, task: &str, field: &str, line: usize) {
    assert_eq!(d.file, Path::new(WORKFLOW_FILE), "{d}");
    assert_eq!(d.task.as_deref(), Some(task), "{d}");
    assert_eq!(d.field.as_deref(), Some(field), "{d}");
    assert_eq!(d.line, Some(line), "{d}");
    let shown = d.to_string();
    let prefix = if task.starts_with("task #") {
        format!("workflow.yaml:{line}: {task}, field `{field}`: ")
    } else {
        format!("workflow.yaml:{line}: task {task:?}, field `{field}`: ")
    };
    assert!(
        shown.starts_with(&prefix),
        "{shown}\nexpected prefix {prefix}"
    );
    assert!(shown.contains(" — fix: "), "{shown}");
}

/// A project in a temp folder with the given workflow.yaml and `tasks/convert.go`.
fn temp_project(workflow: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(dir.path().join("tasks")).expect("mkdir");
    fs::write(
        dir.path().join("tasks/convert.go"),
        "package main\n\nfunc exec_task(arg string) string { return arg }\n",
    )
    .expect("write go");
    fs::write(dir.path().join(WORKFLOW_FILE), workflow).expect("write yaml");
    dir
}

const ONE_TASK: &str = "\
project_name: demo
tasks:
  - name: convert
    type: processor_nats
    code: tasks/convert.go
    targets: [edge]
    source_topic: orders.new
    dest_topic: orders.done
    component_name: convert
    version: 1.0.0
";

// ---------------------------------------------------------------- valid

#[test]
fn valid_new_dialect() {
    let w = load_dir(&fixture("valid", "new_dialect")).unwrap_or_else(|e| panic!("{e}"));
    assert!(w.root.is_absolute());
    assert_eq!(w.file, w.root.join("workflow.yaml"));
    assert_eq!(w.project_name, "weather-pipeline");
    assert_eq!(w.toolchain.as_deref(), Some("go@1.25"));
    assert_eq!(w.max_message_size, Some(65536));
    assert_eq!(w.tasks.len(), 3);

    let t = &w.tasks[0];
    assert_eq!(t.name, "convert");
    assert_eq!(t.template, "processor_nats");
    assert_eq!(t.type_as_written, "processor_nats");
    assert_eq!(t.code, Path::new("tasks/convert.go"));
    assert!(t.code_path.is_absolute() && t.code_path.ends_with("tasks/convert.go"));
    assert_eq!(t.targets, ["edge", "cloud"]);
    assert_eq!(t.source_topic, "weather.celsius");
    assert_eq!(t.dest_topic.as_deref(), Some("weather.fahrenheit"));
    assert_eq!(t.component_name, "convert");
    assert_eq!(t.version, semver::Version::new(1, 2, 0));
    assert_eq!(t.instances, 2);
    assert_eq!(t.max_message_size, None);
    assert_eq!(w.max_message_size_for(t), Some(65536));
    assert_eq!(t.line, Some(8));
    let names: Vec<&str> = t.tests.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["freezing point", "case 2", "not a number"]);
    assert_eq!(t.tests[0].input, "0");
    assert_eq!(t.tests[0].expect, Expect::Output("32.0".into()));
    assert_eq!(t.tests[0].line, Some(18));
    assert_eq!(t.tests[1].line, Some(21));
    assert_eq!(
        t.tests[2].expect,
        Expect::Error("is not a temperature".into())
    );

    let t = &w.tasks[1];
    assert_eq!(t.name, "summarize readings");
    assert_eq!(t.targets, ["cloud"]);
    assert_eq!(t.source_topic, "weather.readings.*");
    assert_eq!(t.max_message_size, Some(1_048_576));
    assert_eq!(w.max_message_size_for(t), Some(1_048_576));
    assert_eq!(
        t.tests[0].expect,
        Expect::Output(r#"{"count":3,"min":1.5,"max":5,"mean":3}"#.into())
    );
    assert_eq!(t.tests[1].expect, Expect::Output(String::new()));
    assert_eq!(t.line, Some(27));

    let t = &w.tasks[2];
    assert_eq!(t.template, "producer_nats");
    assert_eq!(t.targets, ["edge"]);
    assert_eq!(t.source_topic, "ticks.>");
    assert_eq!(
        t.version,
        semver::Version::parse("1.0.0-beta.1").expect("semver")
    );
    assert_eq!(t.instances, 1);
    assert_eq!(t.tests.len(), 1);

    assert_eq!(
        w.task_by_component("summarize-readings")
            .map(|t| t.name.as_str()),
        Some("summarize readings")
    );
    assert!(w.task_by_component("nope").is_none());
}

#[test]
fn valid_old_dialect() {
    let w = load_dir(&fixture("valid", "old_dialect")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(w.project_name, "legacy_orders");
    assert_eq!(w.toolchain, None);
    assert_eq!(w.max_message_size, None);
    let got: Vec<(&str, &str, &str)> = w
        .tasks
        .iter()
        .map(|t| {
            (
                t.name.as_str(),
                t.type_as_written.as_str(),
                t.template.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("Uppercase", "processor", "processor_nats"),
            ("Reverse", "processing", "processor_nats"),
            ("Clock", "producer", "producer_nats"),
        ]
    );
    for t in &w.tasks {
        assert_eq!(t.targets, ["default"]);
        assert!(t.tests.is_empty());
        assert_eq!(t.instances, 1);
    }
    // `./tasks/reverse.go` is normalized.
    assert_eq!(w.tasks[1].code, Path::new("tasks/reverse.go"));
    assert_eq!(w.tasks[1].version, semver::Version::new(0, 3, 1));
    assert_eq!(w.tasks[2].line, Some(21));
}

#[test]
fn user_templates_are_accepted_when_known() {
    let p = temp_project(&ONE_TASK.replace("type: processor_nats", "type: my_template"));
    let mut known = builtin();
    let e = Workflow::load(p.path(), &known).unwrap_err();
    assert!(
        e.to_string().contains("unknown task type \"my_template\""),
        "{e}"
    );
    known.push(TemplateInfo {
        name: "my_template".into(),
        ..TemplateInfo::default()
    });
    let w = Workflow::load(p.path(), &known).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(w.tasks[0].template, "my_template");
}

#[test]
fn symlink_inside_tasks_is_fine() {
    let p = temp_project(&ONE_TASK.replace("tasks/convert.go", "tasks/alias.go"));
    std::os::unix::fs::symlink("convert.go", p.path().join("tasks/alias.go")).expect("symlink");
    let w = load_dir(p.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(w.tasks[0].code, Path::new("tasks/alias.go"));
    assert!(w.tasks[0].code_path.ends_with("tasks/convert.go"));
}

// ---------------------------------------------------------------- invalid fixtures

#[test]
fn missing_code_file() {
    let d = only("missing_code_file");
    assert_field(&d, "convert", "code", 5);
    assert!(d.message.contains("tasks/convrt.go does not exist"), "{d}");
    assert!(fix(&d).contains("did you mean `tasks/convert.go`?"), "{d}");
}

#[test]
fn code_outside_tasks() {
    let d = invalid("code_outside_tasks");
    // `code: convert.go` (task "root-level") is the original PELATO's form:
    // tasks/convert.go, never the convert.go beside workflow.yaml.
    assert_eq!(d.len(), 2, "{d:#?}");
    assert_field(&d[0], "absolute", "code", 5);
    assert!(d[0].message.contains("is an absolute path"), "{}", d[0]);
    assert_field(&d[1], "parent", "code", 13);
    assert!(d[1].message.contains("uses `..`"), "{}", d[1]);
    for x in &d {
        assert!(fix(x).contains("code: tasks/convert.go"), "{x}");
    }
}

#[test]
fn symlink_escaping_tasks_is_rejected() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("project");
    copy_tree(&fixture("invalid", "symlink_escape"), &dir);
    std::os::unix::fs::symlink("../outside/secret.go", dir.join("tasks/link.go")).expect("symlink");
    let d = diags_of(&dir);
    assert_eq!(d.len(), 1, "{d:#?}");
    let d = &d[0];
    assert_field(d, "linked", "code", 5);
    assert!(d.message.contains("symbolic link"), "{d}");
    assert!(
        d.message.contains("outside the project's tasks/ folder"),
        "{d}"
    );
    assert!(d.message.contains("outside/secret.go"), "{d}");
    assert!(fix(d).contains("copy of the file"), "{d}");

    // A link to a file outside the project entirely is rejected the same way.
    fs::remove_file(dir.join("tasks/link.go")).expect("rm");
    let elsewhere = tmp.path().join("elsewhere.go");
    fs::write(
        &elsewhere,
        "package main\nfunc exec_task(a string) string { return a }\n",
    )
    .expect("write");
    std::os::unix::fs::symlink(&elsewhere, dir.join("tasks/link.go")).expect("symlink");
    let d = diags_of(&dir);
    assert!(
        d[0].message.contains("outside the project's tasks/ folder"),
        "{}",
        d[0]
    );
}

#[test]
fn duplicate_component_name() {
    let d = only("duplicate_component_name");
    assert_field(&d, "second", "component_name", 17);
    assert!(
        d.message
            .contains("\"convert\" is already used by task \"first\" (line 9)"),
        "{d}"
    );
    assert!(fix(&d).contains("component_name: second"), "{d}");
}

#[test]
fn bad_component_name() {
    let d = only("bad_component_name");
    assert_field(&d, "convert", "component_name", 9);
    assert!(
        d.message
            .contains("\"Convert_CSV\" is not a valid component name"),
        "{d}"
    );
    assert!(fix(&d).contains("`component_name: convert_csv`"), "{d}");
}

#[test]
fn non_semver_version() {
    let d = only("non_semver_version");
    assert_field(&d, "convert", "version", 10);
    assert_eq!(
        d.to_string(),
        "workflow.yaml:10: task \"convert\", field `version`: \"1.0\" is not a semantic version — fix: write MAJOR.MINOR.PATCH, e.g. 1.0.0"
    );
}

#[test]
fn unknown_type() {
    let d = only("unknown_type");
    assert_field(&d, "convert", "type", 4);
    assert!(d.message.contains("unknown task type \"procesor\""), "{d}");
    let f = fix(&d);
    assert!(f.contains("did you mean `processor`?"), "{d}");
    for t in [
        "processor_nats",
        "producer_nats",
        "http_producer_nats",
        "dbsync",
        "processing (= processor_nats)",
    ] {
        assert!(f.contains(t), "{d} lacks {t}");
    }
}

#[test]
fn empty_targets() {
    let d = only("empty_targets");
    assert_field(&d, "convert", "targets", 6);
    assert!(d.message.contains("`targets` is empty"), "{d}");
    assert!(fix(&d).contains("targets: [default]"), "{d}");
}

#[test]
fn both_target_and_targets() {
    let d = only("both_target_and_targets");
    assert_field(&d, "convert", "target", 7);
    assert!(
        d.message.contains("both `targets` and `target` are set"),
        "{d}"
    );
    assert!(fix(&d).contains("keep only one"), "{d}");
}

#[test]
fn bad_source_subject() {
    let d = only("bad_source_subject");
    assert_field(&d, "convert", "source_topic", 7);
    assert!(
        d.message.contains("\"orders..new\" has an empty token"),
        "{d}"
    );
    assert!(fix(&d).contains("\"orders.new\""), "{d}");
}

#[test]
fn wildcard_dest_subject() {
    let d = only("wildcard_dest_subject");
    assert_field(&d, "convert", "dest_topic", 8);
    assert!(
        d.message.contains("\"orders.*\" contains a wildcard"),
        "{d}"
    );
    assert!(fix(&d).contains("concrete subject"), "{d}");
}

#[test]
fn yaml_syntax_error() {
    let d = only("yaml_syntax_error");
    assert_eq!(d.file, Path::new("workflow.yaml"));
    assert_eq!(d.line, Some(6), "{d}");
    assert!(d.message.contains("is not valid YAML"), "{d}");
    assert!(d.message.contains("line 7 column 17"), "{d}");
    assert!(
        fix(&d).contains("close the `[` opened at line 6, column 14"),
        "{d}"
    );
}

#[test]
fn alias_bomb_is_rejected_quickly() {
    let start = Instant::now();
    let d = only("alias_bomb");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(d.file, Path::new("workflow.yaml"));
    assert!(d.message.contains("alias bomb"), "{d}");
    assert!(fix(&d).contains("write the values out"), "{d}");
}

#[test]
fn empty_file() {
    let d = only("empty_file");
    assert_eq!(d.file, Path::new("workflow.yaml"));
    assert!(d.message.contains("contains only comments"), "{d}");
    assert!(fix(&d).contains("project_name: my-project"), "{d}");

    let p = temp_project("");
    let d = diags_of(p.path());
    assert!(d[0].message.contains("workflow.yaml is empty"), "{}", d[0]);
}

#[test]
fn unknown_key_typo() {
    let d = invalid("unknown_key_typo");
    assert_eq!(d.len(), 2, "{d:#?}");
    let typo = d
        .iter()
        .find(|x| x.field.as_deref() == Some("tagets"))
        .expect("typo diag");
    assert_field(typo, "convert", "tagets", 6);
    assert!(typo.message.contains("unknown key `tagets`"), "{typo}");
    assert!(fix(typo).contains("did you mean `targets`?"), "{typo}");
    let missing = d
        .iter()
        .find(|x| x.field.as_deref() == Some("targets"))
        .expect("missing diag");
    assert!(
        missing.message.contains("`tagets` looks like a typo"),
        "{missing}"
    );
}

#[test]
fn wrong_package() {
    let d = only("wrong_package");
    assert_eq!(d.file, Path::new("tasks/convert.go"));
    assert_eq!(d.task.as_deref(), Some("convert"));
    assert_eq!(d.line, Some(1));
    assert!(
        d.message
            .contains("tasks/convert.go declares `package tasks`; PELATO tasks are `package main`"),
        "{d}"
    );
    assert!(fix(&d).contains("`package main`"), "{d}");
    assert!(
        d.to_string()
            .starts_with("tasks/convert.go:1: task \"convert\": "),
        "{d}"
    );
}

#[test]
fn missing_exec_task() {
    let d = only("missing_exec_task");
    assert_eq!(d.file, Path::new("tasks/convert.go"));
    assert_eq!(d.task.as_deref(), Some("convert"));
    assert!(
        d.message
            .contains("has no `func exec_task(arg string) string`"),
        "{d}"
    );
    assert!(
        fix(&d).contains("func exec_task(arg string) string {"),
        "{d}"
    );
}

#[test]
fn mistyped_exec_task() {
    let d = only("mistyped_exec_task");
    assert_eq!(d.file, Path::new("tasks/convert.go"));
    assert_eq!(d.task.as_deref(), Some("convert"));
    assert_eq!(d.line, Some(6));
    assert!(
        d.message
            .contains("found `func exec_task(arg []byte) []byte`"),
        "{d}"
    );
    assert!(
        d.message
            .contains("expected `func exec_task(arg string) string`"),
        "{d}"
    );
    assert!(fix(&d).contains("change line 6"), "{d}");
}

#[test]
fn missing_workflow() {
    let dir = fixture("invalid", "missing_workflow");
    let d = only("missing_workflow");
    assert_eq!(d.file, Path::new("workflow.yaml"));
    assert!(
        d.message.contains("no workflow.yaml in the project folder"),
        "{d}"
    );
    let root = fs::canonicalize(&dir).expect("canon");
    assert!(
        fix(&d).contains(&format!("create {}", root.join("workflow.yaml").display())),
        "{d}"
    );

    // A misnamed file is pointed out.
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(tmp.path().join("workflow.yml"), ONE_TASK).expect("write");
    let d = diags_of(tmp.path());
    assert!(
        fix(&d[0]).contains("rename workflow.yml to workflow.yaml"),
        "{}",
        d[0]
    );

    // And a folder that does not exist.
    let d = diags_of(&tmp.path().join("nope"));
    assert!(d[0].message.contains("does not exist"), "{}", d[0]);
}

/// (file, task, field, line, message part) of an expected diagnostic.
type Expected = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<usize>,
    &'static str,
);

#[test]
fn several_problems_are_all_reported() {
    let d = invalid("several_problems");
    let expect: &[Expected] = &[
        (
            "workflow.yaml",
            None,
            Some("project_name"),
            Some(1),
            "contains a control character",
        ),
        (
            "workflow.yaml",
            None,
            Some("max_message_size"),
            Some(2),
            "10 bytes is out of range",
        ),
        (
            "workflow.yaml",
            Some("convert"),
            Some("dest_topic"),
            Some(9),
            "contains a wildcard",
        ),
        (
            "workflow.yaml",
            Some("convert"),
            Some("component_name"),
            Some(10),
            "\"Convert\" is not a valid component name",
        ),
        (
            "workflow.yaml",
            Some("convert"),
            Some("version"),
            Some(11),
            "\"1.0\" is not a semantic version",
        ),
        (
            "tasks/convert.go",
            Some("convert"),
            None,
            Some(1),
            "declares `package foo`",
        ),
        (
            "workflow.yaml",
            Some("convert"),
            Some("name"),
            Some(12),
            "task name \"convert\" is already used",
        ),
        (
            "workflow.yaml",
            Some("convert"),
            Some("type"),
            Some(13),
            "unknown task type \"procesor\"",
        ),
        (
            "workflow.yaml",
            Some("convert"),
            Some("code"),
            Some(14),
            "tasks/missing.go does not exist",
        ),
        (
            "workflow.yaml",
            Some("convert"),
            Some("targets"),
            Some(15),
            "`targets` is empty",
        ),
        (
            "workflow.yaml",
            Some("convert"),
            Some("source_topic"),
            Some(16),
            "contains whitespace",
        ),
        (
            "workflow.yaml",
            Some("convert"),
            Some("colour"),
            Some(20),
            "unknown key `colour`",
        ),
        (
            "workflow.yaml",
            Some("task #3"),
            Some("name"),
            Some(21),
            "required field `name` is missing",
        ),
        (
            "workflow.yaml",
            Some("task #3"),
            Some("dest_topic"),
            Some(21),
            "required field `dest_topic` is missing",
        ),
        (
            "workflow.yaml",
            Some("task #3"),
            Some("code"),
            Some(22),
            "uses `..`",
        ),
        (
            "workflow.yaml",
            Some("task #3"),
            Some("version"),
            Some(26),
            "\"v1.2.3\" is not a semantic version",
        ),
        (
            "workflow.yaml",
            Some("task #3"),
            Some("instances"),
            Some(27),
            "0 is not a whole number from 1 to 1000",
        ),
        (
            "workflow.yaml",
            Some("task #3"),
            Some("tests"),
            Some(29),
            "neither `expect` nor `expect_error`",
        ),
    ];
    for (file, task, field, line, msg) in expect {
        let found = d.iter().any(|x| {
            x.file == Path::new(file)
                && x.task.as_deref() == *task
                && x.field.as_deref() == *field
                && x.line == *line
                && x.message.contains(msg)
        });
        assert!(
            found,
            "missing {file}:{line:?} {task:?} {field:?} {msg:?} in\n{d:#?}"
        );
    }
    assert_eq!(d.len(), expect.len(), "{d:#?}");
    let v = d
        .iter()
        .find(|x| x.field.as_deref() == Some("version") && x.task.as_deref() == Some("task #3"));
    assert!(fix(v.expect("v")).contains("drop the leading `v`"));
    let n = d
        .iter()
        .find(|x| x.field.as_deref() == Some("name") && x.task.as_deref() == Some("task #3"));
    assert!(fix(n.expect("n")).contains("name: ticker"));
}

// ---------------------------------------------------------------- more cases, in temp folders

#[test]
fn test_case_problems() {
    let p = temp_project(&format!(
        "{ONE_TASK}    tests:\n      - input: \"a\"\n        expect: \"A\"\n        expect_error: \"x\"\n      - input: 42\n        expect: \"42\"\n      - name: typo\n        input: \"a\"\n        expected: \"A\"\n      - just a string\n"
    ));
    let d = diags_of(p.path());
    let has = |line: usize, msg: &str| {
        d.iter().any(|x| {
            x.line == Some(line)
                && x.field.as_deref() == Some("tests")
                && x.task.as_deref() == Some("convert")
                && x.message.contains(msg)
        })
    };
    assert!(has(14, "both `expect` and `expect_error`"), "{d:#?}");
    assert!(
        has(15, "`input` must be a string, found a number"),
        "{d:#?}"
    );
    assert!(has(19, "unknown key `expected`"), "{d:#?}");
    assert!(has(17, "neither `expect` nor `expect_error`"), "{d:#?}");
    assert!(has(20, "must be a mapping"), "{d:#?}");
    let typo = d
        .iter()
        .find(|x| x.message.contains("`expected`"))
        .expect("typo");
    assert!(fix(typo).contains("did you mean `expect`?"), "{typo}");
}

#[test]
fn top_level_problems() {
    let d = diags_of(temp_project("- just\n- a list\n").path());
    assert!(d[0].message.contains("must be a mapping"), "{}", d[0]);

    let d = diags_of(temp_project("project: demo\ntoolchain: rust@1.80\ntasks: []\n").path());
    let has = |field: &str, line: usize, msg: &str| {
        d.iter().any(|x| {
            x.field.as_deref() == Some(field) && x.line == Some(line) && x.message.contains(msg)
        })
    };
    assert!(has("project", 1, "unknown key `project`"), "{d:#?}");
    // A missing project_name is a note (the folder's name is used), not an error.
    assert!(
        !d.iter().any(|x| x.field.as_deref() == Some("project_name")),
        "{d:#?}"
    );
    assert!(has("toolchain", 2, "only `go` and `tinygo`"), "{d:#?}");
    assert!(has("tasks", 3, "`tasks` is empty"), "{d:#?}");
    let typo = d
        .iter()
        .find(|x| x.field.as_deref() == Some("project"))
        .expect("typo");
    assert!(fix(typo).contains("did you mean `project_name`?"), "{typo}");

    let d = diags_of(temp_project(&format!("{ONE_TASK}---\nproject_name: other\n")).path());
    assert!(
        d[0].message.contains("more than one YAML document"),
        "{}",
        d[0]
    );

    let d = diags_of(temp_project("project_name: demo\ntasks:\n\t- name: x\n").path());
    assert!(fix(&d[0]).contains("spaces, not tabs"), "{}", d[0]);
}

#[test]
fn subject_feedback_loop_is_reported() {
    let p = temp_project(&ONE_TASK.replace("source_topic: orders.new", "source_topic: orders.*"));
    let p2 = temp_project(&ONE_TASK.replace("dest_topic: orders.done", "dest_topic: orders.new"));
    for p in [p, p2] {
        let d = diags_of(p.path());
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_field(&d[0], "convert", "dest_topic", 8);
        assert!(d[0].message.contains("endless loop"), "{}", d[0]);
    }
}

#[test]
fn number_and_range_fields() {
    let p = temp_project(&format!(
        "{ONE_TASK}    instances: 1001\n    max_message_size: 100000000\n    component_name2: x\n"
    ));
    let d = diags_of(p.path());
    assert!(
        d.iter()
            .any(|x| x.field.as_deref() == Some("instances") && x.line == Some(11)),
        "{d:#?}"
    );
    assert!(
        d.iter()
            .any(|x| x.field.as_deref() == Some("max_message_size")
                && x.line == Some(12)
                && x.message.contains("out of range")),
        "{d:#?}"
    );
    assert!(
        d.iter()
            .any(|x| x.field.as_deref() == Some("component_name2")),
        "{d:#?}"
    );

    let p = temp_project(&ONE_TASK.replace("version: 1.0.0", "version: 2"));
    let d = diags_of(p.path());
    assert_field(&d[0], "convert", "version", 10);
    assert!(fix(&d[0]).contains("2.0.0"), "{}", d[0]);
}

#[test]
fn shared_code_file_is_checked_once() {
    let p = temp_project(&format!(
        "{ONE_TASK}{}",
        ONE_TASK
            .split_once("tasks:\n")
            .map(|(_, t)| t)
            .unwrap_or("")
            .replace("name: convert", "name: convert-again")
            .replace("component_name: convert", "component_name: convert-again")
    ));
    fs::write(
        p.path().join("tasks/convert.go"),
        "package lib\n\nfunc exec_task(arg string) string { return arg }\n",
    )
    .expect("write");
    let d = diags_of(p.path());
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].file, Path::new("tasks/convert.go"));
}

fn original(name: &str) -> PathBuf {
    fixture("original", name)
}

#[test]
fn original_readme_example_loads_as_the_original_reads_it() {
    let (_tmp, dir) = copy_project("fixtures/original/data-aggregation");
    let w = load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    // No project_name: the folder's name, with a note that says so.
    assert_eq!(w.project_name, "data-aggregation");
    assert_eq!(w.notes.len(), 1, "{:#?}", w.notes);
    assert_eq!(w.notes[0].field.as_deref(), Some("project_name"));
    assert!(
        w.notes[0].message.contains("named after its folder"),
        "{}",
        w.notes[0]
    );
    assert!(
        fix(&w.notes[0]).contains("project_name: data-aggregation"),
        "{}",
        w.notes[0]
    );
    let t = &w.tasks[0];
    assert_eq!(t.name, "Data Aggregation");
    assert_eq!(t.template, "processor_nats");
    assert_eq!(t.code, Path::new("tasks/aggregate.go"));
    assert_eq!(
        t.code_path,
        dir.join("tasks/aggregate.go").canonicalize().unwrap()
    );
    assert_eq!(t.targets, ["edge", "cloud"]);
    assert_eq!(t.source_topic, "temp_sensor");
    assert_eq!(t.dest_topic.as_deref(), Some("aggregated_data"));
    assert_eq!(t.component_name, "data_aggregation");
    assert_eq!(t.version.to_string(), "1.0.0");
}

#[test]
fn original_thesis_setup_example_loads_despite_its_listing_indentation() {
    let w = load_dir(&original("test-project")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(w.project_name, "Test_project");
    assert_eq!(w.project_slug(), "Test_project");
    let t = &w.tasks[0];
    assert_eq!(t.template, "producer_nats");
    assert_eq!(t.code, Path::new("tasks/sensor_read.go"));
    assert_eq!(t.component_name, "temp_sensor_data");
    assert_eq!(t.targets, ["cloud", "edge"]);
    // Lines keep their numbers: the task starts on line 3.
    assert_eq!(t.line, Some(3));
    assert_eq!(w.notes.len(), 1, "{:#?}", w.notes);
    let n = &w.notes[0];
    assert_eq!(n.line, Some(2));
    assert!(n.message.contains("indented by 4 more spaces"), "{n}");
    assert!(
        fix(n).contains("remove 4 spaces at the start of lines 2-13"),
        "{n}"
    );
}

#[test]
fn original_thesis_template_example_loads() {
    let w = load_dir(&original("temperature-data-analysis")).unwrap_or_else(|e| panic!("{e}"));
    assert!(w.notes.is_empty(), "{:#?}", w.notes);
    assert_eq!(w.project_name, "Temperature data analysis");
    assert_eq!(w.project_slug(), "Temperature-data-analysis");
    let names: Vec<_> = w
        .tasks
        .iter()
        .map(|t| {
            (
                t.template.as_str(),
                t.component_name.as_str(),
                t.code.clone(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            (
                "http_producer_nats",
                "celsius_to_kelvin_conversion",
                PathBuf::from("tasks/convert.go")
            ),
            (
                "processor_nats",
                "temp_filter",
                PathBuf::from("tasks/filter.go")
            ),
        ]
    );
    assert_eq!(w.tasks[1].version.to_string(), "1.0.2");
}

#[test]
fn code_in_both_forms_and_the_written_form_wins() {
    // `code: tasks/convert.go` (PELATO's docs) and `code: convert.go` (the
    // original's) name the same file.
    for code in ["tasks/convert.go", "convert.go", "./convert.go"] {
        let p = temp_project(&ONE_TASK.replace("code: tasks/convert.go", &format!("code: {code}")));
        let w = load_dir(p.path()).unwrap_or_else(|e| panic!("{code}: {e}"));
        assert_eq!(w.tasks[0].code, Path::new("tasks/convert.go"), "{code}");
    }
    // A sub-folder of tasks/ in the original's form.
    let p = temp_project(&ONE_TASK.replace("code: tasks/convert.go", "code: sub/convert.go"));
    fs::create_dir_all(p.path().join("tasks/sub")).unwrap();
    fs::copy(
        p.path().join("tasks/convert.go"),
        p.path().join("tasks/sub/convert.go"),
    )
    .unwrap();
    let w = load_dir(p.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(w.tasks[0].code, Path::new("tasks/sub/convert.go"));
    // A missing file is named where the original would look for it.
    let p = temp_project(&ONE_TASK.replace("code: tasks/convert.go", "code: convrt.go"));
    let d = diags_of(p.path());
    assert!(
        d[0].message.contains("tasks/convrt.go does not exist"),
        "{}",
        d[0]
    );
    assert!(
        fix(&d[0]).contains("did you mean `tasks/convert.go`?"),
        "{}",
        d[0]
    );
    // Leaving tasks/ is still refused, in either form.
    for code in ["../convert.go", "tasks/../../convert.go", "/tmp/convert.go"] {
        let p = temp_project(&ONE_TASK.replace("code: tasks/convert.go", &format!("code: {code}")));
        let d = diags_of(p.path());
        assert_eq!(d.len(), 1, "{code}: {d:#?}");
        assert_field(&d[0], "convert", "code", 5);
    }
}

#[test]
fn component_names_follow_the_oci_grammar() {
    for ok in [
        "data_aggregation",
        "temp__sensor",
        "v1.convert",
        "a--b",
        "temp-convert",
    ] {
        let p = temp_project(
            &ONE_TASK.replace("component_name: convert", &format!("component_name: {ok}")),
        );
        let w = load_dir(p.path()).unwrap_or_else(|e| panic!("{ok}: {e}"));
        assert_eq!(w.tasks[0].component_name, ok);
    }
    for (bad, suggestion) in [
        ("Temp Sensor", "temp-sensor"),
        ("temp sensor_data", "temp-sensor_data"),
        ("TempSensor", "tempsensor"),
        ("temp___x", "temp-x"),
        ("_temp", "temp"),
        ("temp.", "temp"),
    ] {
        let p = temp_project(&ONE_TASK.replace(
            "component_name: convert",
            &format!("component_name: \"{bad}\""),
        ));
        let d = diags_of(p.path());
        assert_eq!(d.len(), 1, "{bad}: {d:#?}");
        assert_field(&d[0], "convert", "component_name", 9);
        assert!(
            d[0].message.contains("not a valid component name"),
            "{}",
            d[0]
        );
        assert!(
            fix(&d[0]).contains(&format!("`component_name: {suggestion}`")),
            "{bad}: {}",
            d[0]
        );
    }
}

#[test]
fn component_names_that_differ_only_in_separators_are_refused() {
    let second = "  - name: other\n    type: processor_nats\n    code: convert.go\n    targets: [edge]\n    source_topic: orders.new\n    dest_topic: orders.other\n    component_name: con.vert\n    version: 1.0.0\n";
    let wf = ONE_TASK.replace("component_name: convert", "component_name: con_vert") + second;
    let d = diags_of(temp_project(&wf).path());
    assert_eq!(d.len(), 1, "{d:#?}");
    assert!(
        d[0].message.contains("differs from \"con_vert\""),
        "{}",
        d[0]
    );
    assert!(d[0].message.contains("same component id"), "{}", d[0]);
}

#[test]
fn project_names_are_free_text_but_not_empty_or_control() {
    let with =
        |name: &str| ONE_TASK.replace("project_name: demo", &format!("project_name: {name}"));
    let w = load_dir(temp_project(&with("Analisi temperatura – soggiorno")).path()).unwrap();
    assert_eq!(w.project_slug(), "Analisi-temperatura-soggiorno");
    for bad in ["\"\"", "\"   \"", "\"a\\tb\""] {
        let d = diags_of(temp_project(&with(bad)).path());
        assert_eq!(d[0].field.as_deref(), Some("project_name"), "{bad}: {d:#?}");
    }
}

#[test]
fn an_indented_ellipsis_gets_a_clear_error() {
    let wf = format!("{ONE_TASK}  ...\n");
    let d = diags_of(temp_project(&wf).path());
    assert!(
        fix(&d[0]).contains("an indented `...` is not YAML"),
        "{}",
        d[0]
    );
}

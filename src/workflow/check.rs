//! The checker: every field of workflow.yaml and every task file, all
//! problems collected with their lines.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use serde_yaml::{Mapping, Value};

use super::error::invalid;
use super::names::*;
use super::outline::{Outline, Seg};
use super::subject::{subject_matches, validate_subject, SubjectRole};
use super::yaml::{parse_yaml, read_workflow};
use super::*;
use crate::diagnostic::is_numbered_label;

/// A checked `code:`: project-relative path, canonical path, and each Go file's
/// project-relative path and text.
type CheckedCode = (PathBuf, PathBuf, Vec<(PathBuf, String)>);

pub(super) const TOP_KEYS: &[&str] = &[
    "project_name",
    "tasks",
    "toolchain",
    "max_message_size",
    "snapshot",
    "messaging_provider",
    "postgres_provider",
];
pub(super) const TASK_KEYS: &[&str] = &[
    "name",
    "type",
    "code",
    "targets",
    "target",
    "source_topic",
    "dest_topic",
    "component_name",
    "version",
    "instances",
    "max_message_size",
    "snapshot",
    "config",
    "http_port",
    "tests",
];
pub(super) const TEST_KEYS: &[&str] = &["name", "input", "expect", "expect_error"];

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "an empty value",
        Value::Bool(_) => "a true/false value",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// Collects diagnostics about workflow.yaml with line numbers.
struct Checker<'a> {
    root: &'a Path,
    display: PathBuf,
    outline: Outline,
    diags: Vec<Diagnostic>,
    /// Notes: what was read in a way worth telling (never a reason to refuse).
    notes: Vec<Diagnostic>,
    /// The template catalogue.
    templates: &'a [TemplateInfo],
    /// Canonical paths of the Go files already checked.
    go_checked: Vec<PathBuf>,
}

/// ` (`tagets` looks like a typo of it)` when an unknown key of `m` is close to `field`.
fn typo_hint(m: &Mapping, field: &str) -> String {
    m.keys()
        .filter_map(Value::as_str)
        .find(|k| !TASK_KEYS.contains(k) && suggest(k, TASK_KEYS) == Some(field))
        .map(|k| format!(" (`{k}` looks like a typo of it)"))
        .unwrap_or_default()
}

pub(super) fn task_path(i: usize, field: &str) -> [Seg<'_>; 3] {
    [Seg::Key("tasks"), Seg::Index(i), Seg::Key(field)]
}

impl Checker<'_> {
    fn push(
        &mut self,
        path: &[Seg<'_>],
        task: Option<&str>,
        field: Option<&str>,
        message: String,
        fix: Option<String>,
    ) {
        let mut d = Diagnostic::new(&self.display, message).with_line(self.outline.line_best(path));
        d.task = task.map(str::to_string);
        d.field = field.map(str::to_string);
        d.fix = fix;
        self.diags.push(d);
    }

    /// Reports keys of `map` that are not in `allowed`.
    fn check_keys(
        &mut self,
        map: &Mapping,
        allowed: &[&str],
        prefix: &[Seg<'_>],
        task: Option<&str>,
        what: &str,
    ) {
        for key in map.keys() {
            let Some(k) = key.as_str() else {
                self.push(
                    prefix,
                    task,
                    None,
                    format!("{what} has a key that is {}, not a name", describe(key)),
                    Some(format!("use only these keys: {}", allowed.join(", "))),
                );
                continue;
            };
            if allowed.contains(&k) {
                continue;
            }
            let mut path = prefix.to_vec();
            path.push(Seg::Key(k));
            let fix = match suggest(k, allowed) {
                Some(s) => format!("did you mean `{s}`? rename `{k}` to `{s}`"),
                None => format!(
                    "remove `{k}`; the keys allowed here are: {}",
                    allowed.join(", ")
                ),
            };
            self.push(
                &path,
                task,
                Some(k),
                format!("unknown key `{k}` in {what}"),
                Some(fix),
            );
        }
    }

    /// A required string field of a task.
    fn task_str(
        &mut self,
        m: &Mapping,
        i: usize,
        label: &str,
        field: &str,
        example: &str,
    ) -> Option<String> {
        match m.get(field) {
            None | Some(Value::Null) => {
                self.push(
                    &task_path(i, field),
                    Some(label),
                    Some(field),
                    format!("required field `{field}` is missing{}", typo_hint(m, field)),
                    Some(format!("add `{field}: {example}` to the task")),
                );
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.push(
                    &task_path(i, field),
                    Some(label),
                    Some(field),
                    format!("must be a string, found {}", describe(other)),
                    Some(format!(
                        "write it as a quoted string, e.g. `{field}: {example}`"
                    )),
                );
                None
            }
        }
    }

    fn size_field(&mut self, v: &Value, path: &[Seg<'_>], task: Option<&str>) -> Option<u64> {
        let fix = format!(
            "write a whole number of bytes from {MIN_MESSAGE_SIZE} (1 KiB) to {MAX_MESSAGE_SIZE} (64 MiB), e.g. `max_message_size: 1048576`"
        );
        match v.as_u64() {
            Some(n) if (MIN_MESSAGE_SIZE..=MAX_MESSAGE_SIZE).contains(&n) => Some(n),
            Some(n) => {
                self.push(
                    path,
                    task,
                    Some("max_message_size"),
                    format!("{n} bytes is out of range"),
                    Some(fix),
                );
                None
            }
            None => {
                let shown = match v {
                    Value::String(s) => format!("{s:?}"),
                    Value::Number(n) => n.to_string(),
                    other => describe(other).to_string(),
                };
                self.push(
                    path,
                    task,
                    Some("max_message_size"),
                    format!("{shown} is not a whole number of bytes"),
                    Some(fix),
                );
                None
            }
        }
    }

    fn check_code(&mut self, i: usize, label: &str, code: &str) -> Option<CheckedCode> {
        let path = task_path(i, "code");
        let bad = |this: &mut Self, msg: String, fix: String| {
            this.push(&path, Some(label), Some("code"), msg, Some(fix));
        };
        let p = Path::new(code);
        let base = p
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| "task.go".into());
        let suggested = format!("{TASKS_DIR}/{base}");
        if code.trim().is_empty() {
            bad(
                self,
                "`code` is empty".into(),
                "write the name of the task's Go file in tasks/, e.g. `code: convert.go`".into(),
            );
            return None;
        }
        if p.is_absolute()
            || code.starts_with('/')
            || code.starts_with('\\')
            || code.get(1..2) == Some(":")
        {
            bad(
                self,
                format!("{code:?} is an absolute path; `code` must be a path relative to the project folder, under {TASKS_DIR}/"),
                format!("move the file into the project's {TASKS_DIR}/ folder and write `code: {suggested}`"),
            );
            return None;
        }
        let mut rel = PathBuf::new();
        for c in p.components() {
            match c {
                Component::CurDir => {}
                Component::Normal(n) => rel.push(n),
                Component::ParentDir => {
                    bad(
                        self,
                        format!("{code:?} uses `..`; task files must stay inside the project's {TASKS_DIR}/ folder"),
                        format!("move the file into {TASKS_DIR}/ and write `code: {suggested}`"),
                    );
                    return None;
                }
                Component::RootDir | Component::Prefix(_) => {
                    bad(
                        self,
                        format!("{code:?} is an absolute path"),
                        format!("write `code: {suggested}`"),
                    );
                    return None;
                }
            }
        }
        // `code` names a file inside tasks/: `convert.go` (the original
        // PELATO's form: it copies `{project}/tasks/{code}`) or
        // `tasks/convert.go` (PELATO's). The written form wins when both exist.
        let mut comps = rel.components();
        let written_under_tasks =
            comps.next().is_some_and(|c| c.as_os_str() == TASKS_DIR) && comps.next().is_some();
        let inside_tasks = Path::new(TASKS_DIR).join(&rel);
        let rel = if written_under_tasks
            && (self.root.join(&rel).exists() || !self.root.join(&inside_tasks).exists())
        {
            rel
        } else {
            inside_tasks
        };
        // `code: convert/` names a folder of Go files (package main).
        if self.root.join(&rel).is_dir() {
            return self.check_code_folder(i, label, rel);
        }
        if rel.extension().is_none_or(|e| e != "go") {
            bad(
                self,
                format!("{code:?} is not a Go file (the name must end in `.go`)"),
                format!("point `code` at the task's .go file in {TASKS_DIR}/, e.g. `code: {TASKS_DIR}/convert.go`"),
            );
            return None;
        }
        let abs = self.root.join(&rel);
        let shown = rel.display().to_string();
        if !abs.exists() {
            let tasks_dir = self.root.join(TASKS_DIR);
            let mut go_files: Vec<String> = fs::read_dir(&tasks_dir)
                .map(|rd| {
                    rd.filter_map(Result::ok)
                        .filter_map(|e| e.file_name().to_str().map(str::to_string))
                        .filter(|n| n.ends_with(".go"))
                        .map(|n| format!("{TASKS_DIR}/{n}"))
                        .collect()
                })
                .unwrap_or_default();
            go_files.sort();
            let cands: Vec<&str> = go_files.iter().map(String::as_str).collect();
            let fix = if let Some(s) = suggest(&shown, &cands) {
                format!("did you mean `{s}`? write `code: {s}`, or create {shown}")
            } else if !tasks_dir.is_dir() {
                format!("create the folder {TASKS_DIR}/ and write the task in {shown}")
            } else if go_files.is_empty() {
                format!("create {shown} (package main, `{EXEC_TASK_SIGNATURE}`)")
            } else {
                format!(
                    "create {shown}, or point `code` at one of: {}",
                    go_files.join(", ")
                )
            };
            bad(self, format!("code file {shown} does not exist"), fix);
            return None;
        }
        let canon = match fs::canonicalize(&abs) {
            Ok(c) => c,
            Err(e) => {
                bad(
                    self,
                    format!("code file {shown} cannot be resolved: {e}"),
                    format!("make sure {shown} is a readable file"),
                );
                return None;
            }
        };
        if !canon.starts_with(self.root.join(TASKS_DIR)) {
            bad(
                self,
                format!(
                    "{shown} resolves to {} (through a symbolic link), outside the project's {TASKS_DIR}/ folder",
                    canon.display()
                ),
                format!("replace the link with a copy of the file: {shown} must be a regular file inside {TASKS_DIR}/"),
            );
            return None;
        }
        if !canon.is_file() {
            bad(
                self,
                format!("{shown} is not a file"),
                format!("point `code` at a .go file, e.g. `code: {TASKS_DIR}/convert.go`"),
            );
            return None;
        }
        let bytes = match fs::read(&canon) {
            Ok(b) => b,
            Err(e) => {
                bad(
                    self,
                    format!("code file {shown} cannot be read: {e}"),
                    format!("check the permissions of {shown}"),
                );
                return None;
            }
        };
        match String::from_utf8(bytes) {
            Ok(src) => Some((rel.clone(), canon, vec![(rel, src)])),
            Err(e) => {
                let upto = e.utf8_error().valid_up_to();
                let line = e.as_bytes()[..upto].iter().filter(|b| **b == b'\n').count() + 1;
                self.diags.push(
                    Diagnostic::new(
                        &rel,
                        format!("{shown} is not UTF-8 text (invalid byte at line {line})"),
                    )
                    .with_line(Some(line))
                    .with_task(label)
                    .with_fix("save the file as UTF-8 (Go source files must be UTF-8)"),
                );
                None
            }
        }
    }

    /// `code:` naming a folder inside tasks/: its `.go` files, minus `_test.go`.
    fn check_code_folder(&mut self, i: usize, label: &str, rel: PathBuf) -> Option<CheckedCode> {
        let shown = format!("{}/", rel.display());
        let path = task_path(i, "code");
        let bad = |this: &mut Self, msg: String, fix: String| {
            this.push(&path, Some(label), Some("code"), msg, Some(fix));
        };
        let canon = match fs::canonicalize(self.root.join(&rel)) {
            Ok(c) if c.starts_with(self.root.join(TASKS_DIR)) => c,
            Ok(c) => {
                bad(
                    self,
                    format!(
                        "{shown} resolves to {}, outside the project's {TASKS_DIR}/ folder",
                        c.display()
                    ),
                    format!("move the task's files into a folder inside {TASKS_DIR}/"),
                );
                return None;
            }
            Err(e) => {
                bad(
                    self,
                    format!("{shown} cannot be resolved: {e}"),
                    format!("make sure {shown} is a readable folder"),
                );
                return None;
            }
        };
        let mut names: Vec<String> = match fs::read_dir(&canon) {
            Ok(rd) => rd
                .filter_map(Result::ok)
                .filter(|e| e.path().is_file())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| n.ends_with(".go") && !n.ends_with("_test.go"))
                .collect(),
            Err(e) => {
                bad(
                    self,
                    format!("{shown} cannot be read: {e}"),
                    format!("check the permissions of {shown}"),
                );
                return None;
            }
        };
        names.sort();
        if names.is_empty() {
            bad(
                self,
                format!("the task folder {shown} holds no .go files"),
                format!("put the task's Go files (package main, one `{EXEC_TASK_SIGNATURE}`) in {shown}"),
            );
            return None;
        }
        let mut files = Vec::new();
        for n in names {
            let file_rel = rel.join(&n);
            match fs::read_to_string(canon.join(&n)) {
                Ok(src) => files.push((file_rel, src)),
                Err(e) => {
                    bad(
                        self,
                        format!("{} cannot be read as UTF-8 text: {e}", file_rel.display()),
                        "save the file as UTF-8 (Go source files must be UTF-8)".into(),
                    );
                    return None;
                }
            }
        }
        Some((rel, canon, files))
    }

    fn check_targets(&mut self, m: &Mapping, i: usize, label: &str) -> Option<Vec<String>> {
        let (field, value) = match (m.get("targets"), m.get("target")) {
            (Some(_), Some(_)) => {
                self.push(
                    &task_path(i, "target"),
                    Some(label),
                    Some("target"),
                    "both `targets` and `target` are set".into(),
                    Some("keep only one: `targets: [a, b]` (or the older `target: a`)".into()),
                );
                return None;
            }
            (Some(v), None) => ("targets", v),
            (None, Some(v)) => ("target", v),
            (None, None) => {
                self.push(
                    &task_path(i, "targets"),
                    Some(label),
                    Some("targets"),
                    format!("required field `targets` is missing{}", typo_hint(m, "targets")),
                    Some("add `targets: [default]` with the label(s) of the hosts that should run the task".into()),
                );
                return None;
            }
        };
        let path = task_path(i, field);
        let raw: Vec<&Value> = match value {
            Value::Sequence(s) => s.iter().collect(),
            Value::Null => Vec::new(),
            other => vec![other],
        };
        let mut out: Vec<String> = Vec::new();
        let mut ok = true;
        if raw.is_empty() {
            self.push(
                &path,
                Some(label),
                Some(field),
                format!("`{field}` is empty; a task needs at least one target"),
                Some(format!(
                    "list at least one label, e.g. `{field}: [default]`"
                )),
            );
            return None;
        }
        for v in raw {
            match v {
                Value::String(s) if is_valid_target(s) => {
                    if !out.contains(s) {
                        out.push(s.clone());
                    }
                }
                Value::String(s) if s.trim().is_empty() => {
                    ok = false;
                    self.push(
                        &path,
                        Some(label),
                        Some(field),
                        "a target label is empty".into(),
                        Some(format!(
                            "remove the empty entry or write a label, e.g. `{field}: [default]`"
                        )),
                    );
                }
                Value::String(s) => {
                    ok = false;
                    let cleaned: String = s
                        .chars()
                        .map(|c| {
                            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                                c
                            } else {
                                '-'
                            }
                        })
                        .collect();
                    self.push(
                        &path,
                        Some(label),
                        Some(field),
                        format!("target {s:?} is not a valid label (allowed: letters, digits, `.`, `_`, `-`)"),
                        Some(format!("write e.g. {cleaned:?}")),
                    );
                }
                other => {
                    ok = false;
                    self.push(
                        &path,
                        Some(label),
                        Some(field),
                        format!("each target must be a string, found {}", describe(other)),
                        Some(format!(
                            "write labels as strings, e.g. `{field}: [default]`"
                        )),
                    );
                }
            }
        }
        ok.then_some(out)
    }

    fn check_subject(
        &mut self,
        i: usize,
        label: &str,
        field: &str,
        subject: &str,
        role: SubjectRole,
    ) -> bool {
        match validate_subject(subject, role) {
            Ok(()) => true,
            Err(msg) => {
                let fix = match role {
                    SubjectRole::Publish if subject.contains(['*', '>']) => {
                        "publish to one concrete subject, e.g. `orders.converted` (wildcards are only for `source_topic`)".to_string()
                    }
                    _ => {
                        let cleaned: String = subject
                            .split(|c: char| c == '.' || c.is_whitespace() || c.is_control())
                            .filter(|t| !t.is_empty())
                            .collect::<Vec<_>>()
                            .join(".");
                        if cleaned.is_empty() || cleaned == subject {
                            "write dot-separated tokens, e.g. `orders.new` (subscriptions may use `*` for one token and a final `>`)".to_string()
                        } else {
                            format!("write dot-separated tokens without spaces, e.g. {cleaned:?}")
                        }
                    }
                };
                self.push(
                    &task_path(i, field),
                    Some(label),
                    Some(field),
                    msg,
                    Some(fix),
                );
                false
            }
        }
    }

    fn check_version(&mut self, m: &Mapping, i: usize, label: &str) -> Option<semver::Version> {
        let path = task_path(i, "version");
        let fix_semver = "write MAJOR.MINOR.PATCH, e.g. 1.0.0".to_string();
        match m.get("version") {
            None | Some(Value::Null) => {
                self.push(
                    &path,
                    Some(label),
                    Some("version"),
                    "required field `version` is missing".into(),
                    Some("add `version: 1.0.0`".into()),
                );
                None
            }
            Some(Value::String(s)) => match semver::Version::parse(s.trim()) {
                Ok(v) => Some(v),
                Err(e) => {
                    let fix = match s
                        .trim()
                        .strip_prefix(['v', 'V'])
                        .map(semver::Version::parse)
                    {
                        Some(Ok(v)) => format!("drop the leading `v`: `version: {v}`"),
                        _ => fix_semver,
                    };
                    self.push(
                        &path,
                        Some(label),
                        Some("version"),
                        format!("{s:?} is not a semantic version ({e})"),
                        Some(fix),
                    );
                    None
                }
            },
            Some(Value::Number(n)) => {
                let raw = self
                    .outline
                    .raw_value(&path)
                    .map(str::to_string)
                    .unwrap_or_else(|| n.to_string());
                let parts: Vec<&str> = raw.split('.').collect();
                let fix = if parts.len() == 2
                    && parts
                        .iter()
                        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                {
                    format!("write MAJOR.MINOR.PATCH, e.g. {raw}.0")
                } else if !raw.contains('.') && raw.bytes().all(|b| b.is_ascii_digit()) {
                    format!("write MAJOR.MINOR.PATCH, e.g. {raw}.0.0")
                } else {
                    fix_semver
                };
                self.push(
                    &path,
                    Some(label),
                    Some("version"),
                    format!("{raw:?} is not a semantic version"),
                    Some(fix),
                );
                None
            }
            Some(other) => {
                self.push(
                    &path,
                    Some(label),
                    Some("version"),
                    format!("{} is not a semantic version", describe(other)),
                    Some(fix_semver),
                );
                None
            }
        }
    }

    fn check_tests(&mut self, v: &Value, i: usize, label: &str) -> Option<Vec<TestCase>> {
        let tpath = task_path(i, "tests");
        let seq = match v {
            Value::Null => return Some(Vec::new()),
            Value::Sequence(s) => s,
            other => {
                self.push(
                    &tpath,
                    Some(label),
                    Some("tests"),
                    format!("`tests` must be a list of cases, found {}", describe(other)),
                    Some("write `tests:` followed by entries like `- input: \"...\"` and `expect: \"...\"`".into()),
                );
                return None;
            }
        };
        let mut cases = Vec::new();
        let mut ok = true;
        for (j, case) in seq.iter().enumerate() {
            let cpath = [
                Seg::Key("tasks"),
                Seg::Index(i),
                Seg::Key("tests"),
                Seg::Index(j),
            ];
            let line = self.outline.line_best(&cpath);
            let Value::Mapping(cm) = case else {
                ok = false;
                self.push(
                    &cpath,
                    Some(label),
                    Some("tests"),
                    format!("test case #{} must be a mapping with `input` and `expect`, found {}", j + 1, describe(case)),
                    Some("write `- input: \"...\"` with `expect: \"...\"` (or `expect_error: \"...\"`)".into()),
                );
                continue;
            };
            let name = match cm.get("name") {
                Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
                _ => format!("case {}", j + 1),
            };
            let at = |k: &'static str| {
                [
                    Seg::Key("tasks"),
                    Seg::Index(i),
                    Seg::Key("tests"),
                    Seg::Index(j),
                    Seg::Key(k),
                ]
            };
            let what = format!("test case {name:?}");
            let before = self.diags.len();
            self.check_keys(cm, TEST_KEYS, &cpath, Some(label), &what);
            // Keys reported by check_keys carry the key as field; group them under `tests`.
            for d in &mut self.diags[before..] {
                if let Some(f) = d.field.take() {
                    d.message = format!("{} (key `{f}`)", d.message);
                }
                d.field = Some("tests".into());
            }
            if let Some(v) = cm.get("name") {
                if !matches!(v, Value::String(_) | Value::Null) {
                    self.push(
                        &at("name"),
                        Some(label),
                        Some("tests"),
                        format!("{what}: `name` must be a string, found {}", describe(v)),
                        Some("quote it, e.g. `name: \"doubles the value\"`".into()),
                    );
                    ok = false;
                }
            }
            let input = match cm.get("input") {
                Some(Value::String(s)) => Some(s.clone()),
                None => {
                    self.push(
                        &cpath,
                        Some(label),
                        Some("tests"),
                        format!("{what}: `input` is missing"),
                        Some("add `input: \"...\"` (the argument passed to exec_task)".into()),
                    );
                    None
                }
                Some(other) => {
                    self.push(
                        &at("input"),
                        Some(label),
                        Some("tests"),
                        format!(
                            "{what}: `input` must be a string, found {}",
                            describe(other)
                        ),
                        Some("quote the input, e.g. `input: \"42\"`".into()),
                    );
                    None
                }
            };
            let expect = match (cm.get("expect"), cm.get("expect_error")) {
                (Some(_), Some(_)) => {
                    self.push(&at("expect_error"), Some(label), Some("tests"), format!("{what}: both `expect` and `expect_error` are set"), Some("keep `expect` for the output or `expect_error` for an expected failure, not both".into()));
                    None
                }
                (None, None) => {
                    self.push(&cpath, Some(label), Some("tests"), format!("{what}: neither `expect` nor `expect_error` is set"), Some("add `expect: \"...\"` (the exact output; \"\" for no output) or `expect_error: \"...\"`".into()));
                    None
                }
                (Some(Value::String(s)), None) => Some(Expect::Output(s.clone())),
                (None, Some(Value::String(s))) => Some(Expect::Error(s.clone())),
                (Some(other), None) => {
                    self.push(&at("expect"), Some(label), Some("tests"), format!("{what}: `expect` must be a string, found {}", describe(other)), Some("quote the expected output, e.g. `expect: \"84\"`; write `expect: \"\"` when nothing is published".into()));
                    None
                }
                (None, Some(other)) => {
                    self.push(
                        &at("expect_error"),
                        Some(label),
                        Some("tests"),
                        format!(
                            "{what}: `expect_error` must be a string, found {}",
                            describe(other)
                        ),
                        Some(
                            "quote the expected error text, e.g. `expect_error: \"invalid input\"`"
                                .into(),
                        ),
                    );
                    None
                }
            };
            match (input, expect) {
                (Some(input), Some(expect)) if self.diags.len() == before => cases.push(TestCase {
                    name,
                    input,
                    expect,
                    line,
                }),
                _ => ok = false,
            }
        }
        ok.then_some(cases)
    }

    fn check_task(&mut self, i: usize, v: &Value) -> Option<Task> {
        let numbered = format!("task #{}", i + 1);
        let Value::Mapping(m) = v else {
            self.push(
                &[Seg::Key("tasks"), Seg::Index(i)],
                Some(&numbered),
                None,
                format!("each task must be a mapping of fields, found {}", describe(v)),
                Some("write the task as `- name: ...` followed by `type:`, `code:`, `targets:`, `source_topic:`, `component_name:`, `version:`".into()),
            );
            return None;
        };
        let label = match m.get("name") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            _ => numbered,
        };
        let label = label.as_str();
        let before = self.diags.len();
        self.check_keys(
            m,
            TASK_KEYS,
            &[Seg::Key("tasks"), Seg::Index(i)],
            Some(label),
            "the task",
        );

        let name_example = m
            .get("component_name")
            .and_then(Value::as_str)
            .filter(|c| is_valid_component_name(c))
            .map(str::to_string)
            .or_else(|| {
                m.get("code")
                    .and_then(Value::as_str)
                    .and_then(|c| Path::new(c).file_stem())
                    .map(|s| s.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "convert".into());
        let name = self.task_str(m, i, label, "name", &name_example);
        if let Some(n) = &name {
            if let Err(msg) = validate_task_name(n) {
                let fix = if n.trim().is_empty() {
                    "give the task a name, e.g. `name: convert`".to_string()
                } else {
                    let shorter: String = n
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(MAX_TASK_NAME_LEN)
                        .collect();
                    format!(
                        "use a short name without control characters, e.g. {:?}",
                        shorter.trim()
                    )
                };
                self.push(
                    &task_path(i, "name"),
                    Some(label),
                    Some("name"),
                    msg,
                    Some(fix),
                );
            }
        }

        let type_example = self
            .templates
            .first()
            .map_or_else(|| "my_template".to_string(), |t| t.name.clone());
        let type_written = self.task_str(m, i, label, "type", &type_example);
        let info = type_written.as_ref().and_then(|t| {
            if let Some(info) = self
                .templates
                .iter()
                .find(|x| x.name == *t || x.aliases.iter().any(|a| a == t))
            {
                return Some(info);
            }
            let mut names: Vec<String> = self.templates.iter().map(|x| x.name.clone()).collect();
            let mut cands: Vec<&str> = self.templates.iter().map(|x| x.name.as_str()).collect();
            for x in self.templates {
                for alias in &x.aliases {
                    names.push(format!("{alias} (= {})", x.name));
                    cands.push(alias);
                }
            }
            let fix = match suggest(t, &cands) {
                Some(s) => format!("did you mean `{s}`? known types: {}", names.join(", ")),
                None => format!("use one of the known types: {}", names.join(", ")),
            };
            self.push(
                &task_path(i, "type"),
                Some(label),
                Some("type"),
                format!("unknown task type {t:?}"),
                Some(fix),
            );
            None
        });
        let template = info.map(|x| x.name.clone());
        let needs = |field: &str| info.is_some_and(|x| x.required.iter().any(|r| r == field));

        let code = self.task_str(m, i, label, "code", "tasks/convert.go");
        let code_checked = code.as_ref().and_then(|c| self.check_code(i, label, c));

        let targets = self.check_targets(m, i, label);

        let source = self.task_str(m, i, label, "source_topic", "orders.new");
        let source_ok = source.as_ref().is_some_and(|s| {
            self.check_subject(i, label, "source_topic", s, SubjectRole::Subscribe)
        });

        let dest_required = needs("dest_topic");
        let dest = match m.get("dest_topic") {
            None | Some(Value::Null) if dest_required => {
                self.push(
                    &task_path(i, "dest_topic"),
                    Some(label),
                    Some("dest_topic"),
                    format!("required field `dest_topic` is missing (a `{}` task publishes its result)", type_written.as_deref().unwrap_or("")),
                    Some("add `dest_topic: orders.converted` (the subject the result is published to)".into()),
                );
                None
            }
            None | Some(Value::Null) => None,
            Some(_) => self.task_str(m, i, label, "dest_topic", "orders.converted"),
        };
        if let Some(d) = &dest {
            if self.check_subject(i, label, "dest_topic", d, SubjectRole::Publish) && source_ok {
                if let Some(s) = &source {
                    if subject_matches(s, d) {
                        self.push(
                            &task_path(i, "dest_topic"),
                            Some(label),
                            Some("dest_topic"),
                            format!("{d:?} matches this task's own source_topic {s:?}: every result would be fed back to the task in an endless loop"),
                            Some("publish to a subject the task does not subscribe to, e.g. add a suffix such as `.done`".into()),
                        );
                    }
                }
            }
        }

        let component = self.task_str(m, i, label, "component_name", "convert");
        if let Some(c) = &component {
            if !is_valid_component_name(c) {
                let why = if c.len() > MAX_NAME_LEN {
                    format!(
                        "{c:?} is {} characters long; at most {MAX_NAME_LEN} are allowed",
                        c.len()
                    )
                } else {
                    format!("{c:?} is not a valid component name (it names the OCI repository: lowercase letters and digits, joined by `-`, `_`, `__` or `.`; no spaces or upper case)")
                };
                self.push(
                    &task_path(i, "component_name"),
                    Some(label),
                    Some("component_name"),
                    why,
                    Some(format!(
                        "write e.g. `component_name: {}`",
                        suggest_component_name(c)
                    )),
                );
            }
        }

        let version = self.check_version(m, i, label);

        let instances = match m.get("instances") {
            None | Some(Value::Null) => Some(1),
            Some(v) => self
                .ranged_int(
                    v,
                    i,
                    label,
                    "instances",
                    u64::from(MAX_INSTANCES),
                    &format!("a whole number from 1 to {MAX_INSTANCES}"),
                    "write e.g. `instances: 1`",
                )
                .and_then(|n| u32::try_from(n).ok()),
        };

        let max_size = match m.get("max_message_size") {
            None | Some(Value::Null) => Some(None),
            Some(v) => self
                .size_field(v, &task_path(i, "max_message_size"), Some(label))
                .map(Some),
        };

        let snapshot =
            self.snapshot_field(m.get("snapshot"), &task_path(i, "snapshot"), Some(label));
        let config = self.check_config(m, i, label);
        let http_port = self.check_http_port(m, i, label, info);
        self.check_required(m, i, label, info, type_written.as_deref());

        let tests = match m.get("tests") {
            None => Some(Vec::new()),
            Some(v) => self.check_tests(v, i, label),
        };

        // The Go file's own problems come after the task's workflow.yaml problems;
        // a file shared by several tasks is checked once.
        let code_checked = code_checked.map(|(rel, canon, files)| {
            if !self.go_checked.contains(&canon) {
                self.go_checked.push(canon.clone());
                for d in check_go_task_files(&rel, &files) {
                    self.diags.push(d.with_task(label));
                }
            }
            (rel, canon)
        });
        if self.diags.len() != before {
            return None;
        }
        let task = Task {
            name: name?,
            template: template?,
            type_as_written: type_written?,
            code: code_checked.as_ref()?.0.clone(),
            code_path: code_checked?.1,
            targets: targets?,
            source_topic: source?,
            dest_topic: dest,
            component_name: component?,
            version: version?,
            instances: instances?,
            max_message_size: max_size?,
            snapshot: snapshot?,
            config: config?,
            http_port: http_port?,
            tests: tests?,
            line: self.outline.line_best(&[Seg::Key("tasks"), Seg::Index(i)]),
        };
        Some(task)
    }
}

impl Checker<'_> {
    /// `snapshot: true|false` (project or task); `Some(None)` when absent.
    fn snapshot_field(
        &mut self,
        v: Option<&Value>,
        path: &[Seg<'_>],
        task: Option<&str>,
    ) -> Option<Option<bool>> {
        match v {
            None | Some(Value::Null) => Some(None),
            Some(Value::Bool(b)) => Some(Some(*b)),
            Some(other) => {
                self.push(
                    path,
                    task,
                    Some("snapshot"),
                    format!("must be true or false, found {}", describe(other)),
                    Some("write `snapshot: false` to ship components that run Go's init on every instance".into()),
                );
                None
            }
        }
    }

    /// A top-level provider reference (`messaging_provider`, `postgres_provider`).
    fn provider_field(
        &mut self,
        top: &Mapping,
        key: &'static str,
        example_a: &str,
        example_b: &str,
    ) -> Option<Option<String>> {
        match top.get(key) {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(p)) if is_valid_provider_ref(p) => Some(Some(p.clone())),
            Some(other) => {
                self.push(
                    &[Seg::Key(key)],
                    None,
                    Some(key),
                    format!(
                        "{} is not a provider reference",
                        match other {
                            Value::String(p) => format!("{p:?}"),
                            v => describe(v).to_string(),
                        }
                    ),
                    Some(format!("write `{key}: {example_a}` or an OCI reference with a tag, e.g. `{example_b}`")),
                );
                None
            }
        }
    }

    /// `config:`: a mapping of setting names to scalar values.
    fn check_config(
        &mut self,
        m: &Mapping,
        i: usize,
        label: &str,
    ) -> Option<BTreeMap<String, String>> {
        let map = match m.get("config") {
            None | Some(Value::Null) => return Some(BTreeMap::new()),
            Some(Value::Mapping(map)) => map,
            Some(other) => {
                self.push(
                    &task_path(i, "config"),
                    Some(label),
                    Some("config"),
                    format!(
                        "must be a mapping of setting names to values, found {}",
                        describe(other)
                    ),
                    Some("write e.g. `config: { table: readings }`".into()),
                );
                return None;
            }
        };
        let mut out = BTreeMap::new();
        let mut ok = true;
        for (k, v) in map {
            let Some(key) = k.as_str() else {
                self.push(
                    &task_path(i, "config"),
                    Some(label),
                    Some("config"),
                    format!("setting names must be strings, found {}", describe(k)),
                    Some("write setting names as plain words, e.g. `table`".into()),
                );
                ok = false;
                continue;
            };
            let path = [
                Seg::Key("tasks"),
                Seg::Index(i),
                Seg::Key("config"),
                Seg::Key(key),
            ];
            let valid_key = !key.is_empty()
                && key.len() <= 64
                && key.starts_with(|c: char| c.is_ascii_lowercase())
                && key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
            if !valid_key {
                self.push(
                    &path,
                    Some(label),
                    Some(&format!("config.{key}")),
                    format!("{key:?} is not a valid setting name"),
                    Some(
                        "use lower-case letters, digits, `-` and `_`, starting with a letter"
                            .into(),
                    ),
                );
                ok = false;
                continue;
            }
            let value = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                other => {
                    self.push(
                        &path,
                        Some(label),
                        Some(&format!("config.{key}")),
                        format!(
                            "must be a string, number or true/false, found {}",
                            describe(other)
                        ),
                        Some(format!("write e.g. `{key}: value`")),
                    );
                    ok = false;
                    continue;
                }
            };
            out.insert(key.to_string(), value);
        }
        ok.then_some(out)
    }

    /// `http_port`: a TCP port, only for templates that serve HTTP.
    fn check_http_port(
        &mut self,
        m: &Mapping,
        i: usize,
        label: &str,
        info: Option<&TemplateInfo>,
    ) -> Option<Option<u16>> {
        let v = match m.get("http_port") {
            None | Some(Value::Null) => return Some(None),
            Some(v) => v,
        };
        if let Some(x) = info.filter(|x| !x.http) {
            let http: Vec<&str> = self
                .templates
                .iter()
                .filter(|t| t.http)
                .map(|t| t.name.as_str())
                .collect();
            let which = if http.is_empty() {
                "templates that serve HTTP".to_string()
            } else {
                http.iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            self.push(
                &task_path(i, "http_port"),
                Some(label),
                Some("http_port"),
                format!(
                    "`http_port` only applies to {which} tasks; this one is `{}`",
                    x.name
                ),
                Some("remove `http_port` from this task".into()),
            );
            return None;
        }
        self.ranged_int(
            v,
            i,
            label,
            "http_port",
            65535,
            "a TCP port (1 to 65535)",
            &format!("write e.g. `http_port: {DEFAULT_HTTP_PORT}`"),
        )
        .and_then(|n| u16::try_from(n).ok())
        .map(Some)
    }

    /// A task field holding a whole number from 1 to `max`; reports anything else.
    #[allow(clippy::too_many_arguments)]
    fn ranged_int(
        &mut self,
        v: &Value,
        i: usize,
        label: &str,
        field: &str,
        max: u64,
        what: &str,
        fix: &str,
    ) -> Option<u64> {
        match v.as_u64() {
            Some(n) if (1..=max).contains(&n) => Some(n),
            _ => {
                let shown = match v {
                    Value::Number(n) => n.to_string(),
                    Value::String(s) => format!("{s:?}"),
                    other => describe(other).to_string(),
                };
                self.push(
                    &task_path(i, field),
                    Some(label),
                    Some(field),
                    format!("{shown} is not {what}"),
                    Some(fix.to_string()),
                );
                None
            }
        }
    }
}

/// First use of a task name: (task label, line).
type FirstUse = HashMap<String, (String, Option<usize>)>;

/// First use of a component id part (see [`host_component_id`]): (task
/// label, component_name as written, line).
type FirstComponent = HashMap<String, (String, String, Option<usize>)>;

impl Checker<'_> {
    /// Reports a task name or component_name already used by an earlier task.
    fn check_duplicates(
        &mut self,
        i: usize,
        m: &Mapping,
        names: &mut FirstUse,
        components: &mut FirstComponent,
    ) -> bool {
        let mut ok = true;
        let name = m
            .get("name")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty());
        let label = name.map_or_else(|| format!("task #{}", i + 1), str::to_string);
        if let Some(n) = name {
            let line = self.outline.line_best(&task_path(i, "name"));
            if let Some((_, first_line)) = names.get(n) {
                let at = first_line
                    .map(|l| format!(" (line {l})"))
                    .unwrap_or_default();
                self.push(
                    &task_path(i, "name"),
                    Some(&label),
                    Some("name"),
                    format!("task name {n:?} is already used by an earlier task{at}"),
                    Some(format!("give each task its own name, e.g. `name: {n}-2`")),
                );
                ok = false;
            } else {
                names.insert(n.to_string(), (label.clone(), line));
            }
        }
        let Some(c) = m
            .get("component_name")
            .and_then(Value::as_str)
            .filter(|c| is_valid_component_name(c))
        else {
            return ok;
        };
        let line = self.outline.line_best(&task_path(i, "component_name"));
        // wadm maps `-`, `_` and `.` alike in the component's host id, so
        // `temp-convert` and `temp_convert` would be one component there.
        let key = wadm_id_part(c);
        if let Some((first, first_name, first_line)) = components.get(&key) {
            let at = first_line
                .map(|l| format!(" (line {l})"))
                .unwrap_or_default();
            let mut alt = name.map(kebab_case).unwrap_or_default();
            if alt.is_empty() || alt == c || components.contains_key(&wadm_id_part(&alt)) {
                alt = format!("{c}-2");
            }
            let first_shown = if is_numbered_label(first) {
                first.clone()
            } else {
                format!("task {first:?}")
            };
            let what = if first_name == c {
                format!("component_name {c:?} is already used by {first_shown}{at}; each task is its own component and needs its own name")
            } else {
                format!("component_name {c:?} differs from {first_name:?} of {first_shown}{at} only in its separators; wadm gives both the same component id on the host (`…-{key}`)")
            };
            self.push(
                &task_path(i, "component_name"),
                Some(&label),
                Some("component_name"),
                what,
                Some(format!("rename it, e.g. `component_name: {alt}`")),
            );
            ok = false;
        } else {
            components.insert(key, (label, c.to_string(), line));
        }
        ok
    }

    fn check_document(&mut self, value: &Value, file: &Path) -> Option<Workflow> {
        let Value::Mapping(top) = value else {
            self.push(
                &[],
                None,
                None,
                format!(
                    "the top level of workflow.yaml must be a mapping of `key: value` lines, found {}",
                    describe(value)
                ),
                Some("start the file with `project_name: my-project` followed by a `tasks:` list".into()),
            );
            return None;
        };
        self.check_keys(top, TOP_KEYS, &[], None, "the top level of workflow.yaml");

        let project_name = match top.get("project_name") {
            // The original PELATO's README example has no project_name: use
            // the folder's name, and say so.
            None | Some(Value::Null) => {
                let folder = self
                    .root
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .filter(|n| validate_project_name(n).is_ok())
                    .unwrap_or_else(|| "project".into());
                self.notes.push(
                    Diagnostic::new(
                        &self.display,
                        format!("no `project_name`: the project is named after its folder, {folder:?}"),
                    )
                    .with_field("project_name")
                    .with_fix(format!("add `project_name: {folder}` (or another name) at the top of workflow.yaml to choose it")),
                );
                Some(folder)
            }
            Some(Value::String(s)) => match validate_project_name(s) {
                Ok(()) => Some(s.trim().to_string()),
                Err(why) => {
                    let shorter: String = s
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(MAX_TASK_NAME_LEN)
                        .collect();
                    let shorter = shorter.trim();
                    let fix = if shorter.is_empty() {
                        "write e.g. `project_name: my-project`, or remove the line to use the folder's name".to_string()
                    } else {
                        format!("write e.g. `project_name: {shorter}`")
                    };
                    self.push(
                        &[Seg::Key("project_name")],
                        None,
                        Some("project_name"),
                        why,
                        Some(fix),
                    );
                    None
                }
            },
            Some(other) => {
                self.push(
                    &[Seg::Key("project_name")],
                    None,
                    Some("project_name"),
                    format!("must be a string, found {}", describe(other)),
                    Some("write e.g. `project_name: my-project`".into()),
                );
                None
            }
        };

        let toolchain = match top.get("toolchain") {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(s)) => match validate_toolchain_spec(s) {
                Ok(()) => Some(Some(s.clone())),
                Err(msg) => {
                    self.push(&[Seg::Key("toolchain")], None, Some("toolchain"), msg, Some("write `toolchain: go@1.25` or `toolchain: tinygo@0.39`, or remove the line".into()));
                    None
                }
            },
            Some(other) => {
                self.push(
                    &[Seg::Key("toolchain")],
                    None,
                    Some("toolchain"),
                    format!("must be a string like `go@1.25`, found {}", describe(other)),
                    Some("write `toolchain: go@1.25` or `toolchain: tinygo@0.39`".into()),
                );
                None
            }
        };

        let max_message_size = match top.get("max_message_size") {
            None | Some(Value::Null) => Some(None),
            Some(v) => self
                .size_field(v, &[Seg::Key("max_message_size")], None)
                .map(Some),
        };

        let snapshot = self.snapshot_field(top.get("snapshot"), &[Seg::Key("snapshot")], None);
        let messaging_provider = self.provider_field(
            top,
            "messaging_provider",
            "wasmcloud+builtin://messaging-nats",
            "ghcr.io/wasmcloud/messaging-nats:0.24.0",
        );
        let postgres_provider = self.provider_field(
            top,
            "postgres_provider",
            "registry.local:5000/sqldb-postgres:0.10.0",
            "ghcr.io/wasmcloud/sqldb-postgres:0.10.0",
        );

        let example = "add a `tasks:` list, e.g. `tasks:` then `  - name: convert` with `type`, `code`, `targets`, `source_topic`, `dest_topic`, `component_name`, `version`";
        let task_values: &[Value] = match top.get("tasks") {
            None => {
                self.push(
                    &[Seg::Key("tasks")],
                    None,
                    Some("tasks"),
                    "required field `tasks` is missing".into(),
                    Some(example.into()),
                );
                &[]
            }
            Some(Value::Sequence(seq)) if !seq.is_empty() => seq,
            Some(Value::Sequence(_)) | Some(Value::Null) => {
                self.push(
                    &[Seg::Key("tasks")],
                    None,
                    Some("tasks"),
                    "`tasks` is empty; a project needs at least one task".into(),
                    Some(example.into()),
                );
                &[]
            }
            Some(other) => {
                self.push(
                    &[Seg::Key("tasks")],
                    None,
                    Some("tasks"),
                    format!("`tasks` must be a list, found {}", describe(other)),
                    Some("write each task as a list entry starting with `- name: ...`".into()),
                );
                &[]
            }
        };

        let mut tasks = Vec::new();
        let mut all_ok = true;
        let mut names = FirstUse::new();
        let mut components = FirstComponent::new();
        for (i, tv) in task_values.iter().enumerate() {
            let before = self.diags.len();
            match self.check_task(i, tv) {
                Some(t) => tasks.push(t),
                None => all_ok = false,
            }
            if let Value::Mapping(m) = tv {
                if !self.check_duplicates(i, m, &mut names, &mut components) {
                    all_ok = false;
                }
            }
            // Each task's problems in file order: workflow.yaml by line, then its Go file.
            let display = self.display.clone();
            self.diags[before..].sort_by_key(|d| (d.file != display, d.line.unwrap_or(usize::MAX)));
        }

        if !all_ok || !self.diags.is_empty() || task_values.is_empty() {
            return None;
        }
        Some(Workflow {
            root: self.root.to_path_buf(),
            file: file.to_path_buf(),
            project_name: project_name?,
            toolchain: toolchain?,
            max_message_size: max_message_size?,
            snapshot: snapshot?,
            messaging_provider: messaging_provider?,
            postgres_provider: postgres_provider?,
            tasks,
            notes: std::mem::take(&mut self.notes),
        })
    }
}

impl Checker<'_> {
    /// What the task's template requires (`required` in its template.toml)
    /// beyond the fields every task has: each missing field is reported.
    /// `dest_topic` is checked where it is read.
    fn check_required(
        &mut self,
        m: &Mapping,
        i: usize,
        label: &str,
        info: Option<&TemplateInfo>,
        type_written: Option<&str>,
    ) {
        let Some(info) = info else { return };
        for field in &info.required {
            if ALWAYS_CHECKED.contains(&field.as_str()) {
                continue;
            }
            let present = match field.as_str() {
                "targets" => m.contains_key("targets") || m.contains_key("target"),
                f => !matches!(m.get(f), None | Some(Value::Null)),
            };
            if !present {
                self.push(
                    &task_path(i, field),
                    Some(label),
                    Some(field),
                    format!(
                        "required field `{field}` is missing (a `{}` task needs it: `required` in its template.toml)",
                        type_written.unwrap_or(&info.name)
                    ),
                    Some(format!("add `{field}:` to the task")),
                );
            }
        }
    }
}

/// Fields every task must set, checked (with their own messages) whatever
/// the template; `dest_topic` is read with the template's `required`.
const ALWAYS_CHECKED: &[&str] = &[
    "name",
    "type",
    "code",
    "targets",
    "source_topic",
    "component_name",
    "version",
    "dest_topic",
];

/// Loads and validates the project in `project_dir` (see [`Workflow::load`]).
pub(super) fn load(
    project_dir: &Path,
    templates: &[TemplateInfo],
) -> Result<Workflow, WorkflowError> {
    let display = PathBuf::from(WORKFLOW_FILE);
    match fs::metadata(project_dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(invalid(
                Diagnostic::new(
                    project_dir,
                    format!("{} is a file, not a project folder", project_dir.display()),
                )
                .with_fix("pass the folder that holds workflow.yaml and tasks/"),
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(invalid(
                Diagnostic::new(
                    project_dir,
                    format!(
                        "the project folder {} does not exist",
                        project_dir.display()
                    ),
                )
                .with_fix("pass the folder that holds workflow.yaml and tasks/"),
            ))
        }
        Err(e) => {
            return Err(WorkflowError::Io {
                path: project_dir.to_path_buf(),
                source: e,
            })
        }
    }
    let root = fs::canonicalize(project_dir).map_err(|e| WorkflowError::Io {
        path: project_dir.to_path_buf(),
        source: e,
    })?;
    let file = root.join(WORKFLOW_FILE);
    let text = read_workflow(&root, &file, &display)?;
    let (value, text, notes) = parse_yaml(&display, &text)?;
    let mut checker = Checker {
        root: &root,
        display,
        outline: Outline::parse(&text),
        diags: Vec::new(),
        notes,
        templates,
        go_checked: Vec::new(),
    };
    let workflow = checker.check_document(&value, &file);
    match workflow {
        Some(w) if checker.diags.is_empty() => Ok(w),
        _ => {
            if checker.diags.is_empty() {
                // Defensive: a rejected document always carries a diagnostic.
                checker
                    .diags
                    .push(Diagnostic::new(&checker.display, "the workflow is invalid"));
            }
            Err(WorkflowError::Invalid(checker.diags))
        }
    }
}

//! Parse and validate a project's `workflow.yaml` and its `tasks/*.go` files.
//!
//! A PELATO project is a folder holding a `workflow.yaml` and a `tasks/` folder
//! with one Go file per task (`package main`, `func exec_task(arg string) string`).
//! [`Workflow::load`] reads the YAML, checks every field of every task, checks the
//! Go files, and either returns a fully validated [`Workflow`] or a
//! [`WorkflowError::Invalid`] listing *every* problem found, each as a
//! [`Diagnostic`] with file, line, task, field and a concrete fix.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use serde_yaml::{Mapping, Value};

/// Name of the workflow file at the root of a project folder.
pub const WORKFLOW_FILE: &str = "workflow.yaml";

/// Folder (relative to the project root) that holds the Go task files.
pub const TASKS_DIR: &str = "tasks";

/// Canonical names of the built-in templates.
pub const BUILTIN_TEMPLATES: [&str; 4] = [
    "processor_nats",
    "producer_nats",
    "http_producer_nats",
    "dbsync",
];

/// Accepted aliases of built-in template names (alias, canonical name).
pub const TEMPLATE_ALIASES: [(&str, &str); 3] = [
    ("processor", "processor_nats"),
    ("processing", "processor_nats"),
    ("producer", "producer_nats"),
];

/// Smallest accepted `max_message_size`, in bytes (1 KiB).
pub const MIN_MESSAGE_SIZE: u64 = 1024;

/// Largest accepted `max_message_size`, in bytes (64 MiB).
pub const MAX_MESSAGE_SIZE: u64 = 64 * 1024 * 1024;

/// The sqldb-postgres provider image dbsync manifests use by default; point
/// `postgres_provider` at a copy in your own registry on an air-gapped lattice.
pub const DEFAULT_POSTGRES_PROVIDER: &str = "ghcr.io/wasmcloud/sqldb-postgres:0.10.0";

/// Port an `http_producer_nats` task listens on when `http_port` is not set.
pub const DEFAULT_HTTP_PORT: u16 = 8000;

/// Largest accepted `instances` count.
pub const MAX_INSTANCES: u32 = 1000;

/// Longest accepted `project_name` and `component_name`.
pub const MAX_NAME_LEN: usize = 63;

/// Longest accepted task `name`.
pub const MAX_TASK_NAME_LEN: usize = 128;

/// The signature every task file must define.
pub const EXEC_TASK_SIGNATURE: &str = "func exec_task(arg string) string";

/// workflow.yaml files larger than this are rejected without being parsed.
const MAX_WORKFLOW_BYTES: u64 = 4 * 1024 * 1024;

const TOP_KEYS: &[&str] = &[
    "project_name",
    "tasks",
    "toolchain",
    "max_message_size",
    "messaging_provider",
    "postgres_provider",
];
const TASK_KEYS: &[&str] = &[
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
    "config",
    "http_port",
    "tests",
];
const TEST_KEYS: &[&str] = &["name", "input", "expect", "expect_error"];

/// Whether `p` can name a wasmCloud provider: a `wasmcloud+builtin://` name, or
/// an OCI reference with an explicit tag or digest (the host refuses `latest`).
pub fn is_valid_provider_ref(p: &str) -> bool {
    if let Some(name) = p.strip_prefix("wasmcloud+builtin://") {
        return !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    }
    let ok_chars = p
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c));
    let last = p.rsplit('/').next().unwrap_or(p);
    ok_chars
        && p.contains('/')
        && (last.contains('@') || last.contains(':'))
        && !p.ends_with(":latest")
}

/// Resolves a task `type` to its canonical built-in template name.
///
/// `processor`, `processing` and `processor_nats` give `processor_nats`;
/// `producer` and `producer_nats` give `producer_nats`; `http_producer_nats`
/// and `dbsync` are their own canonical names. Anything else gives `None`
/// (it may still be a user template, see [`Workflow::load`]).
pub fn canonical_template(type_name: &str) -> Option<&'static str> {
    match type_name {
        "processor" | "processing" | "processor_nats" => Some("processor_nats"),
        "producer" | "producer_nats" => Some("producer_nats"),
        "http_producer_nats" => Some("http_producer_nats"),
        "dbsync" => Some("dbsync"),
        _ => None,
    }
}

/// A validated project: the parsed `workflow.yaml` with every task checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    /// Project folder, absolute and canonicalized.
    pub root: PathBuf,
    /// Absolute path of `workflow.yaml`.
    pub file: PathBuf,
    /// `project_name` as written: free text for display and metrics (it may
    /// contain spaces, as in the original PELATO); the folder's name when
    /// workflow.yaml has none. Where an identifier is needed, PELATO uses
    /// [`Workflow::project_slug`].
    pub project_name: String,
    /// Requested toolchain as written, e.g. `go@1.25` or `tinygo@0.39`.
    pub toolchain: Option<String>,
    /// Project-wide `max_message_size` in bytes.
    pub max_message_size: Option<u64>,
    /// `messaging_provider`: the NATS messaging provider the manifests use,
    /// `wasmcloud+builtin://messaging-nats` (the default) or an OCI reference.
    pub messaging_provider: Option<String>,
    /// `postgres_provider`: the sqldb-postgres provider image `dbsync` tasks
    /// link to (default [`DEFAULT_POSTGRES_PROVIDER`]).
    pub postgres_provider: Option<String>,
    /// The tasks, in file order.
    pub tasks: Vec<Task>,
    /// Notes about how workflow.yaml was read (a missing `project_name`,
    /// the original PELATO's listing indentation): shown, never fatal.
    pub notes: Vec<Diagnostic>,
}

/// One validated task of a workflow.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Task `name` as written.
    pub name: String,
    /// Canonical built-in template name, or the user template's name.
    pub template: String,
    /// The `type` exactly as written in workflow.yaml (may be an alias).
    pub type_as_written: String,
    /// The task file (or folder) relative to the project root, e.g. `tasks/convert.go`
    /// (for `code: convert.go`, the original PELATO's form, as for
    /// `code: tasks/convert.go`).
    pub code: PathBuf,
    /// Absolute, canonicalized path of the Go file, or of the task folder (`code: convert/`).
    pub code_path: PathBuf,
    /// Target labels, from `targets` or `target` (duplicates removed, order kept).
    pub targets: Vec<String>,
    /// NATS subject the task subscribes to (may hold wildcards).
    pub source_topic: String,
    /// NATS subject the task publishes to (no wildcards).
    pub dest_topic: Option<String>,
    /// Component name: OCI repository path component and wadm name.
    pub component_name: String,
    /// Component version.
    pub version: semver::Version,
    /// Number of instances to run (default 1).
    pub instances: u32,
    /// Task-specific `max_message_size` in bytes.
    pub max_message_size: Option<u64>,
    /// `config:`: values for the template's settings (e.g. dbsync's `table`),
    /// as strings. They reach the component as runtime config; the template
    /// declares which keys exist (checked when the project loads).
    pub config: BTreeMap<String, String>,
    /// `http_port`: port of the HTTP server an `http_producer_nats` task
    /// listens on (default [`DEFAULT_HTTP_PORT`]).
    pub http_port: Option<u16>,
    /// Test cases declared under `tests:`.
    pub tests: Vec<TestCase>,
    /// 1-based line of the task's entry in workflow.yaml.
    pub line: Option<usize>,
}

/// One test case of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCase {
    /// Case name (default `case N`, 1-based).
    pub name: String,
    /// Argument passed to `exec_task`.
    pub input: String,
    /// What the task must do with that input.
    pub expect: Expect,
    /// 1-based line of the case's entry in workflow.yaml.
    pub line: Option<usize>,
}

/// Expected outcome of a test case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Exact body published to `dest_topic`; `""` means nothing is published.
    Output(String),
    /// The task fails with an error containing this substring (`""` matches any error).
    Error(String),
}

/// One problem found in a project, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// File the problem is in, relative to the project root when it is inside
    /// it (e.g. `workflow.yaml`, `tasks/convert.go`).
    pub file: PathBuf,
    /// 1-based line in `file`, when known.
    pub line: Option<usize>,
    /// Task name, or `task #N` (1-based) for a task without a usable name.
    pub task: Option<String>,
    /// Field of workflow.yaml concerned (e.g. `version`, `tests`).
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// A concrete way to fix it.
    pub fix: Option<String>,
}

impl Diagnostic {
    /// A diagnostic about `file` with only a message.
    pub fn new(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.into(),
            line: None,
            task: None,
            field: None,
            message: message.into(),
            fix: None,
        }
    }

    /// Sets the line.
    pub fn with_line(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }

    /// Sets the task.
    pub fn with_task(mut self, task: impl Into<String>) -> Self {
        self.task = Some(task.into());
        self
    }

    /// Sets the field.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Sets the fix.
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// Whether a task label is a generated `task #N` rather than a name.
fn is_numbered_label(task: &str) -> bool {
    task.strip_prefix("task #")
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        f.write_str(": ")?;
        if let Some(task) = &self.task {
            if is_numbered_label(task) {
                f.write_str(task)?;
            } else {
                write!(f, "task {task:?}")?;
            }
            if self.field.is_some() {
                f.write_str(", ")?;
            } else {
                f.write_str(": ")?;
            }
        }
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, " — fix: {fix}")?;
        }
        Ok(())
    }
}

/// Why a project could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// A file or folder could not be read for a reason other than the
    /// project's content (permissions, I/O failure).
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The path that could not be read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The project is invalid; every problem found is listed.
    #[error("{}", render_diagnostics(.0))]
    Invalid(Vec<Diagnostic>),
}

impl WorkflowError {
    /// The diagnostics of an [`WorkflowError::Invalid`] error (empty for I/O errors).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            WorkflowError::Invalid(d) => d,
            WorkflowError::Io { .. } => &[],
        }
    }
}

fn render_diagnostics(diags: &[Diagnostic]) -> String {
    let n = diags.len();
    let mut out = format!(
        "{n} problem{} found in the project:",
        if n == 1 { "" } else { "s" }
    );
    for d in diags {
        out.push_str("\n  ");
        out.push_str(&d.to_string());
    }
    out
}

/// Role of a NATS subject: what the task does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectRole {
    /// Subscription (`source_topic`): `*` as a whole token and `>` as the whole
    /// last token are allowed.
    Subscribe,
    /// Publication (`dest_topic`): no wildcards at all.
    Publish,
}

/// Checks a NATS subject for its role; the error describes the problem.
pub fn validate_subject(subject: &str, role: SubjectRole) -> Result<(), String> {
    if subject.is_empty() {
        return Err("the subject is empty".into());
    }
    if let Some(c) = subject
        .chars()
        .find(|c| c.is_whitespace() || c.is_control())
    {
        let what = if c.is_whitespace() {
            "whitespace"
        } else {
            "a control character"
        };
        return Err(format!(
            "{subject:?} contains {what} ({c:?}); NATS subjects cannot contain spaces, tabs or control characters"
        ));
    }
    if subject.starts_with('.') || subject.ends_with('.') || subject.contains("..") {
        return Err(format!(
            "{subject:?} has an empty token (a leading dot, a trailing dot or two dots in a row)"
        ));
    }
    let tokens: Vec<&str> = subject.split('.').collect();
    for (i, tok) in tokens.iter().enumerate() {
        let has_wild = tok.contains('*') || tok.contains('>');
        if !has_wild {
            continue;
        }
        match role {
            SubjectRole::Publish => {
                return Err(format!(
                    "{subject:?} contains a wildcard (`*` or `>`); a task can only publish to a concrete subject"
                ));
            }
            SubjectRole::Subscribe => {
                if *tok == "*" {
                    continue;
                }
                if *tok == ">" {
                    if i + 1 != tokens.len() {
                        return Err(format!(
                            "{subject:?} uses `>` before the last token; `>` may only be the whole last token"
                        ));
                    }
                    continue;
                }
                return Err(format!(
                    "{subject:?} has the token {tok:?}; wildcards must be whole tokens (`*` or a final `>`)"
                ));
            }
        }
    }
    Ok(())
}

/// Whether `subject` (concrete) would be delivered to a subscription on `pattern`.
pub fn subject_matches(pattern: &str, subject: &str) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    let s: Vec<&str> = subject.split('.').collect();
    for (i, pt) in p.iter().enumerate() {
        if *pt == ">" {
            return s.len() > i;
        }
        match s.get(i) {
            Some(st) if *pt == "*" || pt == st => {}
            _ => return false,
        }
    }
    p.len() == s.len()
}

/// Whether `name` is a valid `component_name`: one OCI repository path
/// component, `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` (the OCI distribution
/// spec's grammar), at most 63 characters. `temp-convert`, `data_aggregation`
/// and `v1.convert` are valid; upper case, spaces, `___` and a leading or
/// trailing separator are not.
pub fn is_valid_component_name(name: &str) -> bool {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return false;
    }
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // A run of [a-z0-9]+ ...
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        // ... then one separator: `.`, `_`, `__` or `-+`, followed by more.
        let sep_start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &name[sep_start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok || i == bytes.len() {
            return false;
        }
    }
    true
}

/// The id wadm gives a component on the host, from its application and
/// component names: both lower-cased, every character other than an ASCII
/// letter or digit replaced by `_`, joined by `-` (wadm 0.21's
/// `compute_component_id`). Two component names that differ only in their
/// separators (`temp-convert`, `temp_convert`, `temp.convert`) get the same id.
pub fn host_component_id(app: &str, component: &str) -> String {
    format!("{}-{}", wadm_id_part(app), wadm_id_part(component))
}

/// One name as wadm writes it in a component id: lower-cased, every
/// character other than an ASCII letter or digit replaced by `_`.
fn wadm_id_part(name: &str) -> String {
    name.to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// A valid `component_name` close to `name`: lower-cased, with every run of
/// characters outside the OCI grammar turned into `-` and `_`/`.` kept where
/// they are legal (`Temp Sensor_Data` → `temp-sensor_data`); `task` if
/// nothing usable is left.
pub fn suggest_component_name(name: &str) -> String {
    let lower: String = name
        .trim()
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    // Re-join the alphanumeric runs with a legal separator each.
    let mut out = String::new();
    let mut sep = String::new();
    for c in lower.chars() {
        if c.is_ascii_alphanumeric() {
            if !out.is_empty() && !sep.is_empty() {
                let legal =
                    sep == "." || sep == "_" || sep == "__" || sep.chars().all(|c| c == '-');
                out.push_str(if legal { &sep } else { "-" });
            }
            sep.clear();
            out.push(c);
        } else {
            sep.push(c);
        }
    }
    if out.len() > MAX_NAME_LEN {
        out.truncate(MAX_NAME_LEN);
        while out.ends_with(|c: char| !c.is_ascii_alphanumeric()) {
            out.pop();
        }
    }
    if out.is_empty() {
        "task".into()
    } else {
        out
    }
}

/// Turns any name into a valid component name in lower-kebab-case
/// (`ConvertCSV_v2` → `convert-csv-v2`); `task` if nothing usable is left.
pub fn kebab_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && i > 0 {
                let prev = chars[i - 1];
                let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
                if prev.is_ascii_lowercase()
                    || prev.is_ascii_digit()
                    || (prev.is_ascii_uppercase() && next_lower)
                {
                    out.push('-');
                }
            }
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let mut out: String = out
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if out.len() > MAX_NAME_LEN {
        out.truncate(MAX_NAME_LEN);
        while out.ends_with('-') {
            out.pop();
        }
    }
    if out.is_empty() {
        "task".into()
    } else {
        out
    }
}

/// Whether `name` is an identifier-safe project name: ASCII letters,
/// digits, `-`, `_`; at most 63 characters. Such a name is its own
/// [`project_slug`].
pub fn is_valid_project_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The identifier PELATO uses where a name must be one (wadm application
/// names `<slug>-<component>`, runtime config names): `project_name` with
/// every run of characters other than ASCII letters, digits, `-` and `_`
/// replaced by one `-`, leading and trailing `-` trimmed, cut to 63
/// characters; `project` if nothing is left. Case is kept, so a name that is
/// already an identifier maps to itself: `Temperature data analysis` →
/// `Temperature-data-analysis`, `Test_project` → `Test_project`.
pub fn project_slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out = out.trim_matches('-').to_string();
    if out.len() > MAX_NAME_LEN {
        out.truncate(MAX_NAME_LEN);
        while out.ends_with('-') {
            out.pop();
        }
    }
    if out.is_empty() {
        "project".into()
    } else {
        out
    }
}

/// Checks a `project_name` (free text, as in the original PELATO: it may
/// contain spaces); the error describes the problem.
pub fn validate_project_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("the project name is empty".into());
    }
    let n = name.chars().count();
    if n > MAX_TASK_NAME_LEN {
        return Err(format!(
            "the project name is {n} characters long; at most {MAX_TASK_NAME_LEN} are allowed"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "the project name {name:?} contains a control character"
        ));
    }
    Ok(())
}

/// Whether `label` is a valid target label: `[A-Za-z0-9._-]+`.
pub fn is_valid_target(label: &str) -> bool {
    !label.is_empty()
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// Checks a task `name`; the error describes the problem.
pub fn validate_task_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("the task name is empty".into());
    }
    let n = name.chars().count();
    if n > MAX_TASK_NAME_LEN {
        return Err(format!(
            "the task name is {n} characters long; at most {MAX_TASK_NAME_LEN} are allowed"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "the task name {name:?} contains a control character"
        ));
    }
    Ok(())
}

/// Checks a `toolchain` value: `go@VERSION` or `tinygo@VERSION` (VERSION like `1.25`).
pub fn validate_toolchain_spec(spec: &str) -> Result<(), String> {
    let Some((kind, version)) = spec.split_once('@') else {
        return Err(format!("{spec:?} is not of the form `kind@version`"));
    };
    if kind != "go" && kind != "tinygo" {
        return Err(format!(
            "{spec:?} names the toolchain {kind:?}; only `go` and `tinygo` are supported"
        ));
    }
    let parts: Vec<&str> = version.split('.').collect();
    if parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "{spec:?} has the version {version:?}; expected numbers like `1.25` or `0.39.0`"
        ));
    }
    Ok(())
}

/// Levenshtein edit distance between two strings (by characters).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let len = lower.chars().count();
    let threshold = match len {
        0..=3 => 1,
        4..=7 => 2,
        _ => 3,
    };
    if let Some(c) = candidates.iter().find(|c| **c == lower) {
        return Some(c);
    }
    // A shortened key such as `dest` for `dest_topic`.
    if len >= 4 {
        let mut prefixed = candidates.iter().filter(|c| c.starts_with(&lower));
        if let (Some(c), None) = (prefixed.next(), prefixed.next()) {
            return Some(c);
        }
    }
    let mut best: Option<(usize, &'a str)> = None;
    for &c in candidates {
        let d = edit_distance(&lower, c);
        if d <= threshold && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    if let Some((_, c)) = best {
        return Some(c);
    }
    None
}

// ---------------------------------------------------------------------------
// Line numbers: a rough outline of the YAML block structure.

#[derive(Debug)]
struct OutlineLine {
    /// 1-based line number.
    no: usize,
    /// Column of the first non-space character.
    indent: usize,
    /// Column of the first `- ` marker, when the line starts a sequence item.
    dash: Option<usize>,
    /// Key on this line and its column.
    key: Option<(String, usize)>,
    /// Text after `key:` (comment removed), or after the dashes.
    value: String,
}

/// One step of a path into the YAML document.
#[derive(Debug, Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

#[derive(Debug, Default)]
struct Outline {
    lines: Vec<OutlineLine>,
}

fn strip_yaml_comment(value: &str) -> &str {
    let v = value.trim();
    if v.starts_with('"') || v.starts_with('\'') {
        return v;
    }
    let mut prev_ws = true;
    for (i, c) in v.char_indices() {
        if c == '#' && prev_ws {
            return v[..i].trim_end();
        }
        prev_ws = c == ' ' || c == '\t';
    }
    v
}

/// Splits `key: value` (plain or quoted key); `None` when the text holds no key.
fn split_key(s: &str) -> Option<(String, &str)> {
    let first = s.chars().next()?;
    if first == '"' || first == '\'' {
        let mut escaped = false;
        let mut end = None;
        for (i, c) in s.char_indices().skip(1) {
            if first == '"' && !escaped && c == '\\' {
                escaped = true;
                continue;
            }
            if c == first && !escaped {
                end = Some(i);
                break;
            }
            escaped = false;
        }
        let end = end?;
        let key = s[1..end].to_string();
        let after = s[end + 1..].trim_start();
        let rest = after.strip_prefix(':')?;
        if rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t') {
            return Some((key, strip_yaml_comment(rest)));
        }
        return None;
    }
    if "[{&*!|>%@`#?,".contains(first) {
        return None;
    }
    let mut prev_ws = false;
    let mut iter = s.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if c == '#' && prev_ws {
            return None;
        }
        if c == ':' {
            let next = iter.peek().map(|&(_, n)| n);
            if next.is_none() || next == Some(' ') || next == Some('\t') {
                let key = s[..i].trim_end().to_string();
                return Some((key, strip_yaml_comment(&s[i + 1..])));
            }
        }
        prev_ws = c == ' ' || c == '\t';
    }
    None
}

impl Outline {
    fn parse(text: &str) -> Outline {
        let mut lines = Vec::new();
        let mut block_parent: Option<usize> = None;
        for (i, raw) in text.lines().enumerate() {
            let indent = raw.bytes().take_while(|b| *b == b' ').count();
            let rest = &raw[indent..];
            if rest.trim().is_empty() {
                continue;
            }
            if let Some(col) = block_parent {
                if indent > col {
                    continue;
                }
                block_parent = None;
            }
            if rest.starts_with('#') {
                continue;
            }
            if indent == 0 && (rest.starts_with("---") || rest.starts_with("...")) {
                continue;
            }
            let mut col = indent;
            let mut s = rest;
            let mut dash = None;
            while s == "-" || s.starts_with("- ") || s.starts_with("-\t") {
                if dash.is_none() {
                    dash = Some(col);
                }
                let after = &s[1..];
                let ws = after
                    .bytes()
                    .take_while(|b| *b == b' ' || *b == b'\t')
                    .count();
                col += 1 + ws;
                s = &after[ws..];
            }
            let (key, value) = match split_key(s) {
                Some((k, v)) => (Some((k, col)), v.to_string()),
                None => (None, strip_yaml_comment(s).to_string()),
            };
            if value.starts_with('|') || value.starts_with('>') {
                block_parent = Some(match (&key, dash) {
                    (Some((_, c)), _) => *c,
                    (None, Some(d)) => d,
                    (None, None) => indent,
                });
            }
            lines.push(OutlineLine {
                no: i + 1,
                indent,
                dash,
                key,
                value,
            });
        }
        Outline { lines }
    }

    fn find_key(&self, range: std::ops::Range<usize>, key: &str) -> Option<(usize, usize)> {
        let first = range.clone().find(|&j| self.lines[j].key.is_some())?;
        let col = self.lines[first].key.as_ref()?.1;
        let idx = range.clone().find(|&j| {
            self.lines[j]
                .key
                .as_ref()
                .is_some_and(|(k, c)| *c == col && k == key)
        })?;
        let end = (idx + 1..range.end)
            .find(|&m| {
                let l = &self.lines[m];
                l.indent < col || (l.indent == col && l.dash != Some(col))
            })
            .unwrap_or(range.end);
        Some((idx, end))
    }

    fn find_index(&self, range: std::ops::Range<usize>, index: usize) -> Option<(usize, usize)> {
        let first = range.clone().find(|&j| self.lines[j].dash.is_some())?;
        let col = self.lines[first].dash?;
        let mut starts = Vec::new();
        for j in range.clone() {
            let l = &self.lines[j];
            if l.indent < col {
                break;
            }
            if l.dash == Some(col) {
                starts.push(j);
            }
        }
        let start = *starts.get(index)?;
        let end = starts.get(index + 1).copied().unwrap_or(range.end);
        Some((start, end))
    }

    /// Walks `path`; returns the outline index of every step that was found.
    fn walk(&self, path: &[Seg<'_>]) -> Vec<usize> {
        let mut found = Vec::new();
        let mut range = 0..self.lines.len();
        for seg in path {
            let step = match *seg {
                Seg::Key(k) => self
                    .find_key(range.clone(), k)
                    .map(|(i, end)| (i, i + 1, end)),
                Seg::Index(n) => self
                    .find_index(range.clone(), n)
                    .map(|(i, end)| (i, i, end)),
            };
            match step {
                Some((idx, start, end)) => {
                    found.push(idx);
                    range = start..end;
                }
                None => break,
            }
        }
        found
    }

    /// Line of the deepest node of `path` that was found.
    fn line_best(&self, path: &[Seg<'_>]) -> Option<usize> {
        self.walk(path).last().map(|&i| self.lines[i].no)
    }

    /// Raw text of the value at `path`, when the whole path was found on a key line.
    fn raw_value(&self, path: &[Seg<'_>]) -> Option<&str> {
        let found = self.walk(path);
        if found.len() != path.len() {
            return None;
        }
        found.last().map(|&i| self.lines[i].value.as_str())
    }
}

// ---------------------------------------------------------------------------
// Go task file check.

#[derive(Debug)]
struct GoTok<'a> {
    text: &'a str,
    start: usize,
    line: usize,
}

/// Replaces comments and string/rune literals by spaces (newlines kept).
fn strip_go(source: &str) -> String {
    #[derive(PartialEq)]
    enum St {
        Code,
        Line,
        Block,
        Str,
        Raw,
        Rune,
    }
    let mut out = String::with_capacity(source.len());
    let mut st = St::Code;
    let mut chars = source.chars().peekable();
    let blank = |c: char, out: &mut String| out.push(if c == '\n' { '\n' } else { ' ' });
    while let Some(c) = chars.next() {
        match st {
            St::Code => match c {
                '/' if chars.peek() == Some(&'/') => {
                    st = St::Line;
                    out.push(' ');
                }
                '/' if chars.peek() == Some(&'*') => {
                    chars.next();
                    st = St::Block;
                    out.push_str("  ");
                }
                '"' => {
                    st = St::Str;
                    out.push(' ');
                }
                '`' => {
                    st = St::Raw;
                    out.push(' ');
                }
                '\'' => {
                    st = St::Rune;
                    out.push(' ');
                }
                _ => out.push(c),
            },
            St::Line => {
                if c == '\n' {
                    st = St::Code;
                }
                blank(c, &mut out);
            }
            St::Block => {
                if c == '*' && chars.peek() == Some(&'/') {
                    chars.next();
                    out.push(' ');
                    st = St::Code;
                }
                blank(c, &mut out);
            }
            St::Str | St::Rune => {
                let close = if st == St::Str { '"' } else { '\'' };
                if c == '\\' {
                    out.push(' ');
                    if let Some(n) = chars.next() {
                        blank(n, &mut out);
                    }
                    continue;
                }
                if c == close || c == '\n' {
                    st = St::Code;
                }
                blank(c, &mut out);
            }
            St::Raw => {
                if c == '`' {
                    st = St::Code;
                }
                blank(c, &mut out);
            }
        }
    }
    out
}

fn go_tokens(cleaned: &str) -> Vec<GoTok<'_>> {
    let mut toks = Vec::new();
    let mut line = 1;
    let mut iter = cleaned.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if c == '\n' {
            line += 1;
            continue;
        }
        if c.is_whitespace() {
            continue;
        }
        if c.is_alphanumeric() || c == '_' {
            let mut end = i + c.len_utf8();
            while let Some(&(j, n)) = iter.peek() {
                if n.is_alphanumeric() || n == '_' {
                    end = j + n.len_utf8();
                    iter.next();
                } else {
                    break;
                }
            }
            toks.push(GoTok {
                text: &cleaned[i..end],
                start: i,
                line,
            });
        } else {
            toks.push(GoTok {
                text: &cleaned[i..i + c.len_utf8()],
                start: i,
                line,
            });
        }
    }
    toks
}

fn is_go_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// Whether the tokens after `exec_task` form `(ident string) string`.
fn exec_task_signature_ok(sig: &[&str]) -> bool {
    let rest = match sig {
        ["(", p, "string", ")", rest @ ..] if is_go_ident(p) => rest,
        ["(", p, "string", ",", ")", rest @ ..] if is_go_ident(p) => rest,
        _ => return false,
    };
    match rest {
        ["string"] | ["(", "string", ")"] => true,
        ["(", r, "string", ")"] => is_go_ident(r),
        _ => false,
    }
}

/// Checks a Go task file without a Go parser.
///
/// Comments and literals are ignored. The file must declare `package main`
/// and exactly one `func exec_task(<name> string) string` (whitespace and the
/// parameter name are free). Other functions and imports are not checked.
/// Diagnostics name `display_path` and carry the Go file's line numbers.
pub fn check_go_task(display_path: &Path, source: &str) -> Vec<Diagnostic> {
    let shown = display_path.display().to_string();
    let mut diags = Vec::new();
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let cleaned = strip_go(source);
    let toks = go_tokens(&cleaned);
    let diag = |line: Option<usize>, msg: String, fix: String| {
        Diagnostic::new(display_path, msg)
            .with_line(line)
            .with_fix(fix)
    };

    match (toks.first(), toks.get(1)) {
        (Some(p), Some(name)) if p.text == "package" => {
            if name.text != "main" {
                diags.push(diag(
                    Some(name.line),
                    format!(
                        "{shown} declares `package {}`; PELATO tasks are `package main`",
                        name.text
                    ),
                    format!("change line {} to `package main`", name.line),
                ));
            }
        }
        (None, _) => {
            diags.push(diag(
                None,
                format!("{shown} is empty (no `package main` and no `exec_task`)"),
                format!(
                    "write the task: `package main` on the first line, then `{EXEC_TASK_SIGNATURE} {{ ... }}`"
                ),
            ));
            return diags;
        }
        (Some(t), _) => {
            diags.push(diag(
                Some(t.line),
                format!("{shown} has no `package` clause at the top"),
                "add `package main` as the first line of the file".into(),
            ));
        }
    }

    let mut exact: Vec<usize> = Vec::new();
    let mut wrong: Vec<(usize, String)> = Vec::new();
    let mut similar: Vec<(usize, String)> = Vec::new();
    let mut methods: Vec<usize> = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if t.text != "func" {
            continue;
        }
        let Some(name) = toks.get(i + 1) else {
            continue;
        };
        if name.text == "(" {
            // A method: `func (r T) exec_task(...)`.
            let mut depth = 0usize;
            let mut k = i + 1;
            while let Some(tk) = toks.get(k) {
                match tk.text {
                    "(" => depth += 1,
                    ")" => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                k += 1;
            }
            if toks.get(k + 1).is_some_and(|n| n.text == "exec_task") {
                methods.push(t.line);
            }
            continue;
        }
        if name.text != "exec_task" {
            let norm: String = name
                .text
                .chars()
                .filter(|c| *c != '_')
                .flat_map(char::to_lowercase)
                .collect();
            if norm == "exectask" {
                similar.push((t.line, name.text.to_string()));
            }
            continue;
        }
        // Collect the signature up to the body's `{` at parenthesis depth 0.
        let mut depth = 0i32;
        let mut k = i + 2;
        let mut sig: Vec<&str> = Vec::new();
        let mut end = name.start + name.text.len();
        while let Some(tk) = toks.get(k) {
            if tk.text == "{" && depth == 0 {
                break;
            }
            if sig.len() >= 64 || tk.text == "func" && depth == 0 && !sig.is_empty() {
                break;
            }
            match tk.text {
                "(" | "[" => depth += 1,
                ")" | "]" => depth -= 1,
                _ => {}
            }
            sig.push(tk.text);
            end = tk.start + tk.text.len();
            k += 1;
        }
        if exec_task_signature_ok(&sig) {
            exact.push(t.line);
        } else {
            let found = cleaned
                .get(t.start..end)
                .unwrap_or("func exec_task")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .replace("( ", "(")
                .replace(" )", ")");
            wrong.push((t.line, found));
        }
    }

    for (line, found) in &wrong {
        diags.push(diag(
            Some(*line),
            format!(
                "`func exec_task` has the wrong signature: found `{found}`, expected `{EXEC_TASK_SIGNATURE}`"
            ),
            format!(
                "change line {line} to `{EXEC_TASK_SIGNATURE} {{` (one string parameter, one string result)"
            ),
        ));
    }
    if exact.len() > 1 {
        let lines: Vec<String> = exact.iter().map(ToString::to_string).collect();
        diags.push(diag(
            exact.get(1).copied(),
            format!(
                "`func exec_task` is declared {} times (lines {})",
                exact.len(),
                lines.join(", ")
            ),
            "keep exactly one `func exec_task`".into(),
        ));
    }
    if exact.is_empty() && wrong.is_empty() {
        let mut msg = format!("{shown} has no `{EXEC_TASK_SIGNATURE}`");
        let mut line = None;
        let fix;
        if let Some((l, name)) = similar.first() {
            msg.push_str(&format!(" (line {l} declares `func {name}`)"));
            line = Some(*l);
            fix = format!("rename `{name}` to `exec_task`: `{EXEC_TASK_SIGNATURE}`");
        } else if let Some(l) = methods.first() {
            msg.push_str(&format!(
                " (line {l} declares `exec_task` as a method; it must be a plain function)"
            ));
            line = Some(*l);
            fix = format!("remove the receiver: `{EXEC_TASK_SIGNATURE} {{ ... }}`");
        } else {
            fix = format!(
                "add `{EXEC_TASK_SIGNATURE} {{ ... }}`; PELATO calls it with each input message and uses the string it returns"
            );
        }
        diags.push(diag(line, msg, fix));
    }
    diags
}

/// A checked `code:`: project-relative path, canonical path, and each Go file's
/// project-relative path and text.
type CheckedCode = (PathBuf, PathBuf, Vec<(PathBuf, String)>);

/// Checks a task's Go files (issue 16): one file as [`check_go_task`]; a folder's files each
/// for `package main`, and `exec_task` declared in exactly one of them.
pub fn check_go_task_files(display_path: &Path, files: &[(PathBuf, String)]) -> Vec<Diagnostic> {
    if let [(file, src)] = files {
        if file == display_path {
            return check_go_task(file, src);
        }
    }
    let mut diags = Vec::new();
    let mut declaring = Vec::new();
    for (file, src) in files {
        let declares = go_tokens(&strip_go(src))
            .windows(2)
            .any(|w| w[0].text == "func" && w[1].text == "exec_task");
        let missing = format!("{} has no `{EXEC_TASK_SIGNATURE}`", file.display());
        for d in check_go_task(file, src) {
            if declares || !d.message.starts_with(&missing) {
                diags.push(d);
            }
        }
        if declares {
            declaring.push(file.display().to_string());
        }
    }
    let shown = format!("{}/", display_path.display());
    match declaring.len() {
        0 => diags.push(
            Diagnostic::new(
                display_path,
                format!("none of the files of {shown} declares `{EXEC_TASK_SIGNATURE}`"),
            )
            .with_fix(format!(
                "add `{EXEC_TASK_SIGNATURE} {{ ... }}` to one file of {shown}"
            )),
        ),
        1 => {}
        _ => diags.push(
            Diagnostic::new(
                display_path,
                format!(
                    "`func exec_task` is declared in several files of {shown}: {}",
                    declaring.join(", ")
                ),
            )
            .with_fix("keep exactly one `func exec_task` in the folder"),
        ),
    }
    diags
}

// ---------------------------------------------------------------------------
// Loading.

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

fn invalid(d: Diagnostic) -> WorkflowError {
    WorkflowError::Invalid(vec![d])
}

/// Collects diagnostics about workflow.yaml with line numbers.
struct Checker<'a> {
    root: &'a Path,
    display: PathBuf,
    outline: Outline,
    diags: Vec<Diagnostic>,
    /// Notes: what was read in a way worth telling (never a reason to refuse).
    notes: Vec<Diagnostic>,
    known: &'a [String],
    /// `(alias, canonical)` type names: built-in and user templates'.
    aliases: Vec<(String, String)>,
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

fn task_path(i: usize, field: &str) -> [Seg<'_>; 3] {
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
        // issue 16: `code: convert/` names a folder of Go files (package main).
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

    /// `code:` naming a folder inside tasks/ (issue 16): its `.go` files, minus `_test.go`.
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

        let type_written = self.task_str(m, i, label, "type", "processor_nats");
        let template = type_written.as_ref().and_then(|t| {
            let resolved = canonical_template(t)
                .or_else(|| {
                    self.aliases
                        .iter()
                        .find(|(a, _)| a == t)
                        .map(|(_, c)| c.as_str())
                })
                .unwrap_or(t);
            if self.known.iter().any(|k| k == resolved) {
                return Some(resolved.to_string());
            }
            let mut names: Vec<String> = self.known.to_vec();
            for (alias, canon) in &self.aliases {
                if self.known.iter().any(|k| k == canon) {
                    names.push(format!("{alias} (= {canon})"));
                }
            }
            let mut cands: Vec<&str> = self.known.iter().map(String::as_str).collect();
            cands.extend(self.aliases.iter().map(|(a, _)| a.as_str()));
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

        let code = self.task_str(m, i, label, "code", "tasks/convert.go");
        let code_checked = code.as_ref().and_then(|c| self.check_code(i, label, c));

        let targets = self.check_targets(m, i, label);

        let source = self.task_str(m, i, label, "source_topic", "orders.new");
        let source_ok = source.as_ref().is_some_and(|s| {
            self.check_subject(i, label, "source_topic", s, SubjectRole::Subscribe)
        });

        let dest_required = matches!(
            template.as_deref(),
            Some("processor_nats" | "producer_nats" | "http_producer_nats")
        );
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

        let config = self.check_config(m, i, label);
        let http_port = self.check_http_port(m, i, label, template.as_deref());

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
            config: config?,
            http_port: http_port?,
            tests: tests?,
            line: self.outline.line_best(&[Seg::Key("tasks"), Seg::Index(i)]),
        };
        Some(task)
    }
}

impl Checker<'_> {
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
        template: Option<&str>,
    ) -> Option<Option<u16>> {
        let v = match m.get("http_port") {
            None | Some(Value::Null) => return Some(None),
            Some(v) => v,
        };
        if template.is_some_and(|t| t != "http_producer_nats") {
            self.push(
                &task_path(i, "http_port"),
                Some(label),
                Some("http_port"),
                format!(
                    "`http_port` only applies to `http_producer_nats` tasks; this one is `{}`",
                    template.unwrap_or_default()
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
            messaging_provider: messaging_provider?,
            postgres_provider: postgres_provider?,
            tasks,
            notes: std::mem::take(&mut self.notes),
        })
    }
}

/// Reads workflow.yaml, turning the common failures into diagnostics.
fn read_workflow(root: &Path, file: &Path, display: &Path) -> Result<String, WorkflowError> {
    let meta = match fs::metadata(file) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let near: Option<String> = fs::read_dir(root).ok().and_then(|rd| {
                rd.filter_map(Result::ok)
                    .filter_map(|e| e.file_name().to_str().map(str::to_string))
                    .find(|n| {
                        let l = n.to_lowercase();
                        n != WORKFLOW_FILE && (l == "workflow.yaml" || l == "workflow.yml")
                    })
            });
            let fix = match near {
                Some(n) => format!("rename {n} to {WORKFLOW_FILE}"),
                None => format!(
                    "create {} with a `project_name:` line and a `tasks:` list (one entry per tasks/*.go file)",
                    file.display()
                ),
            };
            return Err(invalid(
                Diagnostic::new(
                    display,
                    format!(
                        "no {WORKFLOW_FILE} in the project folder {}",
                        root.display()
                    ),
                )
                .with_fix(fix),
            ));
        }
        Err(e) => {
            return Err(WorkflowError::Io {
                path: file.to_path_buf(),
                source: e,
            })
        }
    };
    if !meta.is_file() {
        return Err(invalid(
            Diagnostic::new(display, format!("{WORKFLOW_FILE} is not a regular file"))
                .with_fix(format!("replace it with a {WORKFLOW_FILE} file")),
        ));
    }
    if meta.len() > MAX_WORKFLOW_BYTES {
        return Err(invalid(
            Diagnostic::new(
                display,
                format!(
                    "{WORKFLOW_FILE} is {} bytes; at most {MAX_WORKFLOW_BYTES} are accepted",
                    meta.len()
                ),
            )
            .with_fix("keep workflow.yaml to the project's settings and task list"),
        ));
    }
    let bytes = fs::read(file).map_err(|e| WorkflowError::Io {
        path: file.to_path_buf(),
        source: e,
    })?;
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with('\u{feff}') {
                text.drain(..'\u{feff}'.len_utf8());
            }
            Ok(text)
        }
        Err(e) => {
            let upto = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..upto].iter().filter(|b| **b == b'\n').count() + 1;
            Err(invalid(
                Diagnostic::new(
                    display,
                    format!("{WORKFLOW_FILE} is not UTF-8 text (invalid byte at line {line})"),
                )
                .with_line(Some(line))
                .with_fix("save workflow.yaml as UTF-8"),
            ))
        }
    }
}

/// For "... while parsing a flow sequence at line L column C": (L, C, `[`).
fn flow_opening(msg: &str) -> Option<(usize, usize, char)> {
    if !msg.contains("did not find expected") {
        return None;
    }
    let (rest, bracket) =
        if let Some(r) = msg.split("while parsing a flow sequence at line ").nth(1) {
            (r, '[')
        } else {
            (
                msg.split("while parsing a flow mapping at line ").nth(1)?,
                '{',
            )
        };
    let mut words = rest.split_whitespace();
    let line = words.next()?.parse().ok()?;
    let column = match (words.next(), words.next()) {
        (Some("column"), Some(c)) => c
            .trim_end_matches(|ch: char| !ch.is_ascii_digit())
            .parse()
            .ok()?,
        _ => return None,
    };
    Some((line, column, bracket))
}

/// The original PELATO's thesis prints workflow.yaml with every line after
/// the first indented by four more spaces (a typesetting artifact, e.g.
/// `project_name: Test_project` then `    tasks:`), which is not valid YAML.
/// When `text` has that shape — the first line at column 0, every later
/// non-blank line indented by at least `n > 0` spaces — returns it with `n`
/// spaces removed from those lines, and `n`. Line numbers do not change.
fn dedent_listing(text: &str) -> Option<(String, usize)> {
    let mut lines = text.lines();
    let first = lines.next()?;
    if first.is_empty() || first.starts_with([' ', '\t']) {
        return None;
    }
    let n = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches(' ').len())
        .min()?;
    if n == 0 {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i == 0 || l.trim().is_empty() {
            out.push_str(l);
        } else {
            out.push_str(&l[n..]);
        }
    }
    Some((out, n))
}

/// Parses the YAML text, turning syntax problems, alias bombs and empty files
/// into a diagnostic. Returns the value, the text it was read from (see
/// [`dedent_listing`]) and the notes about how it was read.
fn parse_yaml(
    display: &Path,
    text: &str,
) -> Result<(Value, String, Vec<Diagnostic>), WorkflowError> {
    match parse_yaml_text(display, text) {
        Ok(v) => Ok((v, text.to_string(), Vec::new())),
        Err(first) => {
            let Some((dedented, n)) = dedent_listing(text) else {
                return Err(first);
            };
            let Ok(v) = parse_yaml_text(display, &dedented) else {
                return Err(first);
            };
            let last = text.lines().count();
            let note = Diagnostic::new(
                display,
                format!("every line after the first is indented by {n} more spaces than line 1 (as in the original PELATO thesis's listings), which YAML does not allow; it was read as if lines 2-{last} were not indented by those {n} spaces"),
            )
            .with_line(Some(2))
            .with_fix(format!("remove {n} spaces at the start of lines 2-{last}"));
            Ok((v, dedented, vec![note]))
        }
    }
}

/// [`parse_yaml`] on the text as it is.
fn parse_yaml_text(display: &Path, text: &str) -> Result<Value, WorkflowError> {
    let diag = |msg: String| Diagnostic::new(display, msg);
    let mut value: Value = match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let msg = e.to_string();
            let line = e.location().map(|l| l.line());
            let d = if msg.contains("repetition limit exceeded") {
                diag(format!(
                    "{WORKFLOW_FILE} uses YAML aliases (`*name`) that expand to an enormous document (an \"alias bomb\"); it was rejected without being expanded"
                ))
                .with_fix("write the values out instead of referencing anchors (`&name` / `*name`)")
            } else if msg.contains("recursion limit exceeded") {
                diag(format!("{WORKFLOW_FILE} is nested too deeply ({msg})"))
                    .with_line(line)
                    .with_fix("flatten the structure: workflow.yaml needs only a few levels (top level, tasks, tests)")
            } else if msg.contains("more than one document") {
                diag(format!(
                    "{WORKFLOW_FILE} contains more than one YAML document (`---` separators)"
                ))
                .with_fix("keep a single document: remove the extra `---` lines")
            } else {
                let opened = flow_opening(&msg);
                let line = opened.map(|(l, _, _)| l).or(line);
                let raw_line = line.and_then(|l| text.lines().nth(l.saturating_sub(1)));
                let stray_end = text
                    .lines()
                    .enumerate()
                    .find(|(_, l)| l.trim() == "..." && l.starts_with(' '));
                let fix = if raw_line.is_some_and(|l| {
                    l.starts_with('\t') || l.trim_start_matches(' ').starts_with('\t')
                }) {
                    "indent with spaces, not tabs".to_string()
                } else if let Some((i, _)) = stray_end {
                    format!("line {}: an indented `...` is not YAML (`...` ends a document only at the start of a line); to mark omitted tasks, delete the line or make it a comment (`# ...`)", i + 1)
                } else if let Some((l, c, bracket)) = opened {
                    format!(
                        "close the `{bracket}` opened at line {l}, column {c} (or quote the value if the `{bracket}` is meant as text)"
                    )
                } else {
                    match e.location() {
                        Some(l) => format!(
                            "fix the YAML near line {}, column {} (check the indentation, the space after each `key:`, and quote values containing `: ` or ` #`)",
                            l.line(),
                            l.column()
                        ),
                        None => "fix the YAML syntax (check indentation and quoting)".to_string(),
                    }
                };
                diag(format!("{WORKFLOW_FILE} is not valid YAML: {msg}"))
                    .with_line(line)
                    .with_fix(fix)
            };
            return Err(invalid(d));
        }
    };
    if let Err(e) = value.apply_merge() {
        return Err(invalid(
            diag(format!(
                "{WORKFLOW_FILE} has an invalid merge key (`<<`): {e}"
            ))
            .with_fix("merge only mappings: `<<: *defaults` where `&defaults` is a mapping"),
        ));
    }
    if value.is_null() {
        let only_comments = text.lines().any(|l| l.trim_start().starts_with('#'));
        let what = if only_comments {
            "contains only comments"
        } else {
            "is empty"
        };
        return Err(invalid(diag(format!("{WORKFLOW_FILE} {what}")).with_fix(
            "write at least `project_name: my-project` and a `tasks:` list with one entry per tasks/*.go file",
        )));
    }
    Ok(value)
}

impl Workflow {
    /// Loads and validates the project in `project_dir`.
    ///
    /// `known_templates` lists the canonical template names available (built-in
    /// and user templates); a task `type` is resolved with [`canonical_template`]
    /// first, then looked up there. On failure, [`WorkflowError::Invalid`] lists
    /// every problem found in workflow.yaml and the Go task files.
    pub fn load(project_dir: &Path, known_templates: &[String]) -> Result<Workflow, WorkflowError> {
        Self::load_with_aliases(project_dir, known_templates, &[])
    }

    /// Like [`Workflow::load`], with extra `(alias, canonical)` type names
    /// (user templates' aliases) on top of the built-in ones.
    pub fn load_with_aliases(
        project_dir: &Path,
        known_templates: &[String],
        extra_aliases: &[(String, String)],
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
            known: known_templates,
            aliases: TEMPLATE_ALIASES
                .iter()
                .map(|(a, c)| (a.to_string(), c.to_string()))
                .chain(extra_aliases.iter().cloned())
                .collect(),
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

    /// The project's name as an identifier ([`project_slug`] of
    /// `project_name`): the prefix of wadm application and config names.
    pub fn project_slug(&self) -> String {
        project_slug(&self.project_name)
    }

    /// The task whose `component_name` is `name`.
    pub fn task_by_component(&self, name: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.component_name == name)
    }

    /// The effective `max_message_size` of a task: its own, else the project's.
    pub fn max_message_size_for(&self, task: &Task) -> Option<u64> {
        task.max_message_size.or(self.max_message_size)
    }
}

/// The canonical names of the built-in templates, as owned strings (handy for
/// [`Workflow::load`] when no user templates exist).
pub fn builtin_template_names() -> Vec<String> {
    BUILTIN_TEMPLATES.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_templates_and_aliases() {
        assert_eq!(canonical_template("processor"), Some("processor_nats"));
        assert_eq!(canonical_template("processing"), Some("processor_nats"));
        assert_eq!(canonical_template("processor_nats"), Some("processor_nats"));
        assert_eq!(canonical_template("producer"), Some("producer_nats"));
        assert_eq!(canonical_template("producer_nats"), Some("producer_nats"));
        assert_eq!(
            canonical_template("http_producer_nats"),
            Some("http_producer_nats")
        );
        assert_eq!(canonical_template("dbsync"), Some("dbsync"));
        assert_eq!(canonical_template("Processor"), None);
        assert_eq!(canonical_template("mine"), None);
    }

    #[test]
    fn subjects_for_subscription() {
        use SubjectRole::Subscribe as S;
        for ok in [
            "orders",
            "orders.new",
            "orders.*",
            "*.new",
            "orders.>",
            ">",
            "a.*.c.>",
            "$SYS.x",
            "a-b_c.d",
        ] {
            assert!(validate_subject(ok, S).is_ok(), "{ok}");
        }
        for bad in [
            "",
            " ",
            "orders new",
            "orders.\tnew",
            ".orders",
            "orders.",
            "orders..new",
            "orders*",
            "or*ders.x",
            "orders.>.new",
            "orders.>x",
            "a\u{7}b",
        ] {
            assert!(validate_subject(bad, S).is_err(), "{bad:?}");
        }
        assert!(validate_subject("orders.>.x", S)
            .unwrap_err()
            .contains("last token"));
        assert!(validate_subject("a..b", S)
            .unwrap_err()
            .contains("empty token"));
        assert!(validate_subject("a b", S)
            .unwrap_err()
            .contains("whitespace"));
    }

    #[test]
    fn subjects_for_publication() {
        use SubjectRole::Publish as P;
        assert!(validate_subject("orders.converted", P).is_ok());
        for bad in ["orders.*", "orders.>", ">", "*", "orders*", "a..b", ""] {
            assert!(validate_subject(bad, P).is_err(), "{bad:?}");
        }
        assert!(validate_subject("orders.*", P)
            .unwrap_err()
            .contains("wildcard"));
    }

    #[test]
    fn subject_matching() {
        assert!(subject_matches("a.b", "a.b"));
        assert!(subject_matches("a.*", "a.b"));
        assert!(!subject_matches("a.*", "a.b.c"));
        assert!(subject_matches("a.>", "a.b.c"));
        assert!(!subject_matches("a.>", "a"));
        assert!(subject_matches(">", "x"));
        assert!(!subject_matches("a.b", "a.c"));
    }

    #[test]
    fn component_names() {
        // The OCI distribution spec's path component grammar.
        for ok in [
            "a",
            "convert",
            "convert-2",
            "0x",
            "a1-b2",
            "con_vert",
            "con__vert",
            "con.vert",
            "a---b",
            "celsius_to_kelvin_conversion",
        ] {
            assert!(is_valid_component_name(ok), "{ok}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "_a",
            "a_",
            ".a",
            "a.",
            "a___b",
            "a..b",
            "a._b",
            "Convert",
            "a b",
            &"a".repeat(64),
        ] {
            assert!(!is_valid_component_name(bad), "{bad}");
        }
        assert!(is_valid_component_name(&"a".repeat(63)));
        assert_eq!(kebab_case("ConvertCSV_v2"), "convert-csv-v2");
        assert_eq!(kebab_case("myTask"), "my-task");
        assert_eq!(kebab_case("HTTPServer"), "http-server");
        assert_eq!(kebab_case("--Weird  Name!!"), "weird-name");
        assert_eq!(kebab_case("___"), "task");
        assert!(is_valid_component_name(&kebab_case(&"Ab".repeat(60))));
        for name in [
            "Temp Sensor",
            "a___b",
            "__x__",
            "Ünïcode name",
            &"Ab_".repeat(40),
        ] {
            let s = suggest_component_name(name);
            assert!(is_valid_component_name(&s), "{name:?} -> {s:?}");
        }
        assert_eq!(
            host_component_id("Temperature-data-analysis-temp-filter", "temp_filter"),
            "temperature_data_analysis_temp_filter-temp_filter"
        );
    }

    #[test]
    fn project_slugs() {
        assert_eq!(
            project_slug("Temperature data analysis"),
            "Temperature-data-analysis"
        );
        assert_eq!(project_slug("Test_project"), "Test_project");
        assert_eq!(project_slug("  a  /  b  "), "a-b");
        assert_eq!(project_slug("–––"), "project");
        assert!(project_slug(&"x y".repeat(50)).len() <= MAX_NAME_LEN);
        // A name that is already an identifier is its own slug.
        for name in ["iot-sensors", "legacy_orders", "My_Project-1"] {
            assert!(is_valid_project_name(name));
            assert_eq!(project_slug(name), name);
        }
    }

    #[test]
    fn listing_indentation_is_undone_only_when_every_later_line_has_it() {
        let (t, n) = dedent_listing("a: 1\n    b:\n      - c\n\n    ...\n").unwrap();
        assert_eq!((t.as_str(), n), ("a: 1\nb:\n  - c\n\n...\n", 4));
        assert!(dedent_listing("a: 1\nb: 2\n").is_none());
        assert!(dedent_listing("  a: 1\n  b: 2\n").is_none());
        assert!(dedent_listing("a: 1\n").is_none());
    }

    #[test]
    fn project_task_and_target_names() {
        assert!(is_valid_project_name("My_Project-1"));
        assert!(!is_valid_project_name("my project"));
        assert!(!is_valid_project_name(""));
        assert!(!is_valid_project_name(&"p".repeat(64)));
        assert!(validate_task_name("Convert CSV → JSON").is_ok());
        assert!(validate_task_name("").is_err());
        assert!(validate_task_name("  ").is_err());
        assert!(validate_task_name("a\nb").is_err());
        assert!(validate_task_name(&"n".repeat(129)).is_err());
        assert!(validate_task_name(&"n".repeat(128)).is_ok());
        assert!(is_valid_target("edge-1.eu_west"));
        assert!(!is_valid_target("edge 1"));
        assert!(!is_valid_target(""));
    }

    #[test]
    fn toolchain_specs() {
        assert!(validate_toolchain_spec("go@1.25").is_ok());
        assert!(validate_toolchain_spec("tinygo@0.39.0").is_ok());
        assert!(validate_toolchain_spec("go").is_err());
        assert!(validate_toolchain_spec("rust@1.80").is_err());
        assert!(validate_toolchain_spec("go@latest").is_err());
        assert!(validate_toolchain_spec("go@1..2").is_err());
    }

    #[test]
    fn edit_distance_and_suggestions() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
        assert_eq!(suggest("tagets", TASK_KEYS), Some("targets"));
        assert_eq!(suggest("sorce_topic", TASK_KEYS), Some("source_topic"));
        assert_eq!(suggest("Version", TASK_KEYS), Some("version"));
        assert_eq!(suggest("dest", TASK_KEYS), Some("dest_topic"));
        assert_eq!(suggest("expected", TEST_KEYS), Some("expect"));
        assert_eq!(suggest("project", TOP_KEYS), Some("project_name"));
        assert_eq!(suggest("zzzzzz", TASK_KEYS), None);
        assert_eq!(suggest("test", TASK_KEYS), Some("tests"));
        assert_eq!(suggest("componen", TASK_KEYS), Some("component_name"));
    }

    const SAMPLE: &str = "\
# comment
project_name: demo   # trailing
tasks:
  - name: first
    type: processor
    code: tasks/a.go
    tests:
      - name: one
        input: |
          name: not a key
          version: nope
        expect: \"x\"
      - input: \"y\"
        expect: \"\"
    version: 1.0
  -   name: second

      version: 2.0.0
- name: bogus
";

    #[test]
    fn outline_locates_lines() {
        let o = Outline::parse(SAMPLE);
        assert_eq!(o.line_best(&[Seg::Key("project_name")]), Some(2));
        assert_eq!(o.line_best(&[Seg::Key("tasks")]), Some(3));
        assert_eq!(o.line_best(&[Seg::Key("tasks"), Seg::Index(0)]), Some(4));
        assert_eq!(o.line_best(&task_path(0, "name")), Some(4));
        assert_eq!(o.line_best(&task_path(0, "code")), Some(6));
        assert_eq!(o.line_best(&task_path(0, "version")), Some(15));
        assert_eq!(o.raw_value(&task_path(0, "version")), Some("1.0"));
        let case = |j, k| {
            [
                Seg::Key("tasks"),
                Seg::Index(0),
                Seg::Key("tests"),
                Seg::Index(j),
                Seg::Key(k),
            ]
        };
        assert_eq!(o.line_best(&case(0, "name")), Some(8));
        assert_eq!(o.line_best(&case(0, "expect")), Some(12));
        assert_eq!(o.line_best(&case(1, "input")), Some(13));
        assert_eq!(o.line_best(&case(1, "expect")), Some(14));
        assert_eq!(o.line_best(&task_path(1, "name")), Some(16));
        assert_eq!(o.line_best(&task_path(1, "version")), Some(18));
        // Missing field: falls back to the task's line.
        assert_eq!(o.line_best(&task_path(1, "code")), Some(16));
        assert_eq!(o.raw_value(&task_path(1, "code")), None);
        assert_eq!(o.line_best(&[Seg::Key("project_name")]), Some(2));
        assert_eq!(o.raw_value(&[Seg::Key("project_name")]), Some("demo"));
    }

    #[test]
    fn outline_compact_sequences() {
        let text = "project_name: x\ntasks:\n- name: a\n  version: 1.0\n- name: b\n  code: c\n";
        let o = Outline::parse(text);
        assert_eq!(o.line_best(&task_path(0, "version")), Some(4));
        assert_eq!(o.line_best(&task_path(1, "code")), Some(6));
        assert_eq!(o.line_best(&[Seg::Key("tasks"), Seg::Index(1)]), Some(5));
    }

    fn go(src: &str) -> Vec<Diagnostic> {
        check_go_task(Path::new("tasks/x.go"), src)
    }

    #[test]
    fn go_check_accepts_valid_variants() {
        for src in [
            "package main\n\nfunc exec_task(arg string) string { return arg }\n",
            "// c\npackage   main\nimport \"strings\"\nfunc exec_task( input   string ) string {\n return strings.ToUpper(input)\n}\nfunc helper() {}\n",
            "package main\nfunc exec_task(s string) (string) { return s }\n",
            "\u{feff}package main\nfunc exec_task(s string) string { return s }\n",
            "package main\nfunc exec_task(s string,) (out string) { out = s; return }\n",
            "/* func exec_task(x int) int {} */ package main\nvar s = \"func exec_task(x int)\"\nfunc exec_task(a string) string { return `package foo` }\n",
        ] {
            assert_eq!(go(src), Vec::new(), "{src}");
        }
    }

    #[test]
    fn go_check_wrong_package() {
        let d = go("package foo\n\nfunc exec_task(arg string) string { return arg }\n");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].line, Some(1));
        assert!(d[0]
            .message
            .contains("tasks/x.go declares `package foo`; PELATO tasks are `package main`"));
        assert_eq!(d[0].file, Path::new("tasks/x.go"));
        let d = go("import \"fmt\"\nfunc exec_task(arg string) string { return arg }\n");
        assert!(d[0].message.contains("no `package` clause"), "{d:?}");
    }

    #[test]
    fn go_check_missing_and_mistyped() {
        let d = go("package main\n\nfunc main() {}\n");
        assert_eq!(d.len(), 1);
        assert!(d[0]
            .message
            .contains("has no `func exec_task(arg string) string`"));
        assert!(d[0]
            .fix
            .as_deref()
            .unwrap_or("")
            .contains("func exec_task(arg string) string"));

        let d = go("package main\n\nfunc ExecTask(arg string) string { return arg }\n");
        assert!(d[0].message.contains("ExecTask"));
        assert_eq!(d[0].line, Some(3));

        let d = go("package main\n\n// x\nfunc exec_task(n int) (string, error) {\n\treturn \"\", nil\n}\n");
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].line, Some(4));
        assert!(
            d[0].message
                .contains("found `func exec_task(n int) (string, error)`"),
            "{}",
            d[0].message
        );
        assert!(d[0]
            .message
            .contains("expected `func exec_task(arg string) string`"));

        let d = go(
            "package main\ntype T struct{}\nfunc (t T) exec_task(a string) string { return a }\n",
        );
        assert!(d[0].message.contains("method"), "{d:?}");

        let d = go("package main\nfunc exec_task(a string) string { return a }\nfunc exec_task(b string) string { return b }\n");
        assert!(d[0].message.contains("2 times"), "{d:?}");

        let d = go("");
        assert!(d[0].message.contains("empty"));
    }

    #[test]
    fn diagnostic_display() {
        let d = Diagnostic::new("workflow.yaml", "\"1.0\" is not a semantic version")
            .with_line(Some(14))
            .with_task("convert")
            .with_field("version")
            .with_fix("write MAJOR.MINOR.PATCH, e.g. 1.0.0");
        assert_eq!(
            d.to_string(),
            "workflow.yaml:14: task \"convert\", field `version`: \"1.0\" is not a semantic version — fix: write MAJOR.MINOR.PATCH, e.g. 1.0.0"
        );
        let d = Diagnostic::new("workflow.yaml", "missing").with_task("task #2");
        assert_eq!(d.to_string(), "workflow.yaml: task #2: missing");
        let e = WorkflowError::Invalid(vec![d.clone(), d]);
        let s = e.to_string();
        assert!(s.starts_with("2 problems found"));
        assert_eq!(s.lines().count(), 3);
    }
}

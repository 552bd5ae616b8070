//! A project's `workflow.yaml` and its task files: the model, and loading
//! with every problem reported at once.
//!
//! A PELATO project is a folder holding a `workflow.yaml` and a `tasks/`
//! folder with the Go code of each task (`package main`,
//! `func exec_task(arg string) string`). [`Workflow::load`] reads the YAML,
//! checks every field of every task against what its template needs (the
//! caller passes the template catalogue as [`TemplateInfo`]s: this module
//! knows no template by name), checks the Go files, and either returns a
//! fully validated [`Workflow`] or a [`WorkflowError::Invalid`] listing
//! *every* problem found, each as a [`Diagnostic`] with file, line, task,
//! field and a concrete fix.
//!
//! - [`names`]: component, project, task and target names, slugs, suggestions;
//! - [`subject`]: the NATS subject grammar;
//! - `yaml` and `outline`: reading the file and finding lines;
//! - `check`: the checker itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod check;
mod error;
pub mod names;
mod outline;
pub mod subject;
mod yaml;

pub use crate::diagnostic::Diagnostic;
pub use crate::gosrc::{check_go_task, check_go_task_files, EXEC_TASK_SIGNATURE};
pub use error::WorkflowError;
pub use names::{
    edit_distance, host_component_id, is_valid_component_name, is_valid_project_name,
    is_valid_provider_ref, is_valid_target, kebab_case, project_slug, suggest,
    suggest_component_name, validate_project_name, validate_task_name, validate_toolchain_spec,
};
pub use subject::{subject_matches, validate_subject, SubjectRole};

/// Name of the workflow file at the root of a project folder.
pub const WORKFLOW_FILE: &str = "workflow.yaml";

/// Folder (relative to the project root) that holds the Go task files.
pub const TASKS_DIR: &str = "tasks";

/// Smallest accepted `max_message_size`, in bytes (1 KiB).
pub const MIN_MESSAGE_SIZE: u64 = 1024;

/// Largest accepted `max_message_size`, in bytes (64 MiB).
pub const MAX_MESSAGE_SIZE: u64 = 64 * 1024 * 1024;

/// The sqldb-postgres provider image dbsync manifests use by default; point
/// `postgres_provider` at a copy in your own registry on an air-gapped lattice.
pub const DEFAULT_POSTGRES_PROVIDER: &str = "ghcr.io/wasmcloud/sqldb-postgres:0.10.0";

/// Port an HTTP template's task (`http_producer_nats`) listens on when `http_port` is not set.
pub const DEFAULT_HTTP_PORT: u16 = 8000;

/// Largest accepted `instances` count.
pub const MAX_INSTANCES: u32 = 1000;

/// Longest accepted `project_name` and `component_name`.
pub const MAX_NAME_LEN: usize = 63;

/// Longest accepted task `name`.
pub const MAX_TASK_NAME_LEN: usize = 128;

/// What the checker needs to know about one template: the template
/// catalogue (`templates::TemplateSet::infos`) describes each one this way,
/// from its `template.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TemplateInfo {
    /// Canonical name, the `type` users write.
    pub name: String,
    /// Other accepted spellings of `type`.
    pub aliases: Vec<String>,
    /// Task fields a task of this type must set (`required` in
    /// template.toml), e.g. `dest_topic`.
    pub required: Vec<String>,
    /// Whether the template serves HTTP (`http = true`): its tasks may set
    /// `http_port`, and two of them on one port and host label conflict.
    pub http: bool,
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
    /// Project-wide `snapshot` (pre-initialize components; default on).
    pub snapshot: Option<bool>,
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
    /// Task-specific `snapshot` (see [`Workflow::snapshot_for`]).
    pub snapshot: Option<bool>,
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

impl Workflow {
    /// Loads and validates the project in `project_dir`.
    ///
    /// `templates` is the template catalogue: a task's `type` is looked up
    /// by name and alias there, and what the template requires is checked.
    /// On failure, [`WorkflowError::Invalid`] lists every problem found in
    /// workflow.yaml and the task files.
    pub fn load(project_dir: &Path, templates: &[TemplateInfo]) -> Result<Workflow, WorkflowError> {
        check::load(project_dir, templates)
    }

    /// The project's name as an identifier ([`project_slug`] of
    /// `project_name`): the prefix of wadm application and config names.
    pub fn project_slug(&self) -> String {
        names::project_slug(&self.project_name)
    }

    /// The task whose `component_name` is `name`.
    pub fn task_by_component(&self, name: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.component_name == name)
    }

    /// Whether a task's component is pre-initialized: its own `snapshot`, else
    /// the project's, else true.
    pub fn snapshot_for(&self, task: &Task) -> bool {
        task.snapshot.or(self.snapshot).unwrap_or(true)
    }

    /// The effective `max_message_size` of a task: its own, else the project's.
    pub fn max_message_size_for(&self, task: &Task) -> Option<u64> {
        task.max_message_size.or(self.max_message_size)
    }
}

//! Deploy and remove PELATO applications through wadm over NATS, with live status.
//!
//! The `gen` stage writes one wadm application per task (`PROJECT/gen/<component>/wadm.yaml`).
//! This module takes those manifests as input and talks to a wadm running on a wasmCloud 1.x
//! lattice:
//!
//! 1. [`load_manifest`] parses and validates a manifest offline (wadm's own validation plus
//!    PELATO's checks). An invalid manifest never reaches the lattice.
//! 2. [`connect`] opens the NATS connection and checks that a wadm answers on the lattice.
//! 3. [`deploy`] stores (`put`) and deploys each application. Re-deploying an unchanged manifest
//!    is a no-op; a changed manifest must carry a new `version` annotation (or none at all, in
//!    which case wadm assigns one). With [`DeployOptions::wait`] it follows wadm's status until
//!    every application is deployed, has failed, or the timeout expires.
//! 4. [`status`] reports the current state, [`remove`] undeploys and deletes applications.
//!
//! Every failure is a [`DeployError`] whose message says what went wrong and what to do.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_nats::{ConnectErrorKind, RequestErrorKind};
use wadm_client::error::ClientError;
use wadm_types::api::{ModelSummary, Status, StatusType};
use wadm_types::{
    Component, LinkProperty, Manifest, Metadata, Properties, Specification, Trait, TraitProperty,
    APPLICATION_KIND, DEFAULT_LINK_NAME, DESCRIPTION_ANNOTATION_KEY, OAM_VERSION,
    VERSION_ANNOTATION_KEY,
};

/// Lattice used when none is configured (the wasmCloud default).
pub const DEFAULT_LATTICE: &str = "default";
/// Default NATS client port.
pub const DEFAULT_NATS_PORT: u16 = 4222;
/// How long one request to wadm (put, deploy, status, …) may take before it is a timeout.
pub const WADM_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Interval between two status polls while waiting for applications.
pub const STATUS_POLL_INTERVAL: Duration = Duration::from_millis(200);
/// While waiting, a `failed` status must persist this long before it is final: wadm reports a
/// spread as failed as soon as it sees one host but not yet the others (hosts join one by one),
/// and recovers by itself when they appear.
pub const FAILED_GRACE: Duration = Duration::from_secs(3);
/// After deploying a new version of an application that was already deployed, wadm may still
/// show the previous version's status for a moment. A status identical to the one before the
/// deploy is only believed after it has been seen for this long.
pub const STALE_STATUS_GRACE: Duration = Duration::from_secs(1);
/// The status wadm reports for an application none of its scalers has reported on yet.
pub const WADM_NO_STATUS_MESSAGE: &str =
    "Waiting for status: Lattice contains no hosts, deployment not started.";
/// How many applications are put/deployed concurrently.
const APPLY_CONCURRENCY: usize = 8;

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/// How to reach the NATS server of the lattice that wadm manages.
#[derive(Clone)]
pub struct NatsOptions {
    /// NATS host name or IP address.
    pub host: String,
    /// NATS client port (4222 by default).
    pub port: u16,
    /// wasmCloud lattice name (`default` by default).
    pub lattice: String,
    /// NATS credentials file (`.creds`, JWT + seed). Exclusive with `nkey_seed`/`jwt`.
    pub creds_file: Option<PathBuf>,
    /// NKey seed (`SU…`). Alone: NKey authentication; with `jwt`: JWT authentication.
    /// Never printed by `Debug`.
    pub nkey_seed: Option<String>,
    /// User JWT; requires `nkey_seed` to sign the server nonce. Never printed by `Debug`.
    pub jwt: Option<String>,
    /// PEM file with the root CA certificate(s) of the NATS server (implies TLS).
    pub tls_ca: Option<PathBuf>,
    /// Require TLS for the connection.
    pub tls_required: bool,
    /// How long establishing the connection may take.
    pub connect_timeout: Duration,
}

impl Default for NatsOptions {
    fn default() -> Self {
        NatsOptions {
            host: "127.0.0.1".to_string(),
            port: DEFAULT_NATS_PORT,
            lattice: DEFAULT_LATTICE.to_string(),
            creds_file: None,
            nkey_seed: None,
            jwt: None,
            tls_ca: None,
            tls_required: false,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

impl fmt::Debug for NatsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("NatsOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("lattice", &self.lattice)
            .field("creds_file", &self.creds_file)
            .field("nkey_seed", &redact(&self.nkey_seed))
            .field("jwt", &redact(&self.jwt))
            .field("tls_ca", &self.tls_ca)
            .field("tls_required", &self.tls_required)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

impl NatsOptions {
    /// `host:port` as used in messages (IPv6 addresses are bracketed).
    pub fn address(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The NATS URL to connect to (`nats://` or, when TLS is required, `tls://`).
    pub fn url(&self) -> String {
        let scheme = if self.tls_required { "tls" } else { "nats" };
        format!("{scheme}://{}", self.address())
    }
}

/// How [`deploy`] behaves once wadm has acknowledged the applications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployOptions {
    /// Follow wadm's status until every application is deployed, failed, or `timeout` expires.
    pub wait: bool,
    /// Maximum time to wait (counted from the last acknowledgement) when `wait` is set.
    pub timeout: Duration,
}

impl Default for DeployOptions {
    fn default() -> Self {
        DeployOptions {
            wait: false,
            timeout: Duration::from_secs(120),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reports
// ---------------------------------------------------------------------------------------------

/// State of a wadm application, as wadm reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AppState {
    /// Everything the manifest asks for is running.
    Deployed,
    /// wadm is reconciling (starting components/providers, putting links and config).
    Deploying,
    /// wadm has not started: typically no host in the lattice yet.
    Waiting,
    /// wadm cannot satisfy the manifest (e.g. no host matches a spread requirement).
    Failed,
    /// The application is stored but not deployed.
    Undeployed,
    /// Any other status wadm reports (e.g. `unhealthy`).
    Unknown(String),
}

impl AppState {
    /// Maps wadm's status type to an [`AppState`].
    pub fn from_wadm(status: StatusType) -> AppState {
        match status {
            StatusType::Deployed => AppState::Deployed,
            StatusType::Reconciling => AppState::Deploying,
            StatusType::Waiting => AppState::Waiting,
            StatusType::Failed => AppState::Failed,
            StatusType::Undeployed => AppState::Undeployed,
            StatusType::Unhealthy => AppState::Unknown("unhealthy".to_string()),
        }
    }
}

impl fmt::Display for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppState::Deployed => f.write_str("deployed"),
            AppState::Deploying => f.write_str("deploying"),
            AppState::Waiting => f.write_str("waiting"),
            AppState::Failed => f.write_str("failed"),
            AppState::Undeployed => f.write_str("undeployed"),
            AppState::Unknown(s) => f.write_str(s),
        }
    }
}

/// What happened to one application (returned by [`deploy`] and [`status`], and passed to the
/// `on_event` callback at each state transition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppReport {
    /// wadm application name (`metadata.name`).
    pub app: String,
    /// PELATO task the application was generated from (the app name for [`status`]).
    pub task: String,
    /// Application version deployed (the `version` annotation, or the one wadm assigned).
    pub version: String,
    /// Last state seen.
    pub state: AppState,
    /// wadm's status message, verbatim (e.g. "Waiting for status: Lattice contains no hosts,
    /// deployment not started." or "Could not satisfy spread edge for …").
    pub message: String,
    /// `false` when the manifest was already stored and deployed unchanged: nothing was sent.
    pub changed: bool,
    /// Every (state, message) seen, in order, starting with the first one observed.
    pub transitions: Vec<(AppState, String)>,
}

/// Outcome of [`remove`] for one application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoveReport {
    /// wadm application name.
    pub app: String,
    /// `false` when the application was not in wadm (not an error).
    pub removed: bool,
    /// Versions that were stored and have been deleted.
    pub versions: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Everything that can go wrong while deploying, with a message saying what to do.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DeployError {
    /// The manifest file could not be read.
    #[error("task `{task}`: cannot read manifest {path}: {reason}")]
    Read {
        /// Task name.
        task: String,
        /// Manifest file.
        path: String,
        /// I/O error.
        reason: String,
    },
    /// The manifest file is not a valid wadm manifest (YAML/structure).
    #[error("task `{task}`: cannot parse manifest {path}: {reason}")]
    Parse {
        /// Task name.
        task: String,
        /// Manifest file.
        path: String,
        /// Parser message.
        reason: String,
    },
    /// The manifest parsed but failed validation; nothing was sent to wadm.
    #[error("task `{task}`: invalid manifest {path} (nothing was sent to wadm):\n{}",
        .errors.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
    InvalidManifest {
        /// Task name.
        task: String,
        /// Manifest file (or `<in memory>`).
        path: String,
        /// One line per problem.
        errors: Vec<String>,
    },
    /// `--single-app` could not combine the manifests.
    #[error("cannot merge the tasks into one application: {0}")]
    Merge(String),
    /// The NATS options are inconsistent (e.g. a JWT without a seed).
    #[error("invalid NATS settings: {0}")]
    NatsConfig(String),
    /// Nothing answered at the NATS address.
    #[error(
        "cannot reach NATS at {addr}: {reason}. Check that nats-server is running there and \
             that NATS_HOST/NATS_PORT point at it (wasmCloud's NATS listens on 4222 by default)"
    )]
    Unreachable {
        /// `host:port`.
        addr: String,
        /// Underlying error.
        reason: String,
    },
    /// The NATS server refused the credentials.
    #[error(
        "NATS at {addr} refused the connection: {reason}. Check the credentials (creds file, \
             NKey seed/JWT) and that this user may publish to wadm.api.> and subscribe to _INBOX.>"
    )]
    Auth {
        /// `host:port`.
        addr: String,
        /// Underlying error.
        reason: String,
    },
    /// TLS negotiation failed.
    #[error(
        "TLS with NATS at {addr} failed: {reason}. Check the CA file and whether the server \
             requires (or does not offer) TLS"
    )]
    Tls {
        /// `host:port`.
        addr: String,
        /// Underlying error.
        reason: String,
    },
    /// NATS answered "no responders": no wadm listens on this lattice.
    #[error("{}", no_wadm_message(.lattice.as_deref()))]
    NoWadm {
        /// Lattice name, when known.
        lattice: Option<String>,
    },
    /// wadm did not answer in time.
    #[error("timed out after {:.1}s waiting for wadm to {what}. wadm may be overloaded or its \
             JetStream unavailable; retry, and check the wadm logs", .after.as_secs_f64())]
    Timeout {
        /// The operation that timed out.
        what: String,
        /// How long we waited.
        after: Duration,
    },
    /// Any other NATS transport error.
    #[error("NATS error while trying to {what}: {reason}")]
    Nats {
        /// The operation.
        what: String,
        /// Underlying error.
        reason: String,
    },
    /// wadm refused the request; `message` is wadm's message, verbatim.
    #[error("wadm rejected the {action} of app `{app}` (task `{task}`): {message}")]
    Rejected {
        /// Application name.
        app: String,
        /// Task name.
        task: String,
        /// `put`, `deploy`, `undeploy`, `delete`, …
        action: String,
        /// wadm's message.
        message: String,
    },
    /// The manifest was stored in wadm but deploying it failed: the app is NOT running.
    #[error(
        "app `{app}` (task `{task}`) version {version} was stored in wadm but NOT deployed: \
             {reason}. Re-run the deploy once the cause is fixed (the stored version is reused), \
             or remove it with `pelato remove <project folder>` (`wash app delete {app}`)"
    )]
    StoredNotDeployed {
        /// Application name.
        app: String,
        /// Task name.
        task: String,
        /// Stored version.
        version: String,
        /// Why the deploy failed.
        reason: String,
    },
    /// Same version, different content: wadm never replaces a stored version.
    #[error(
        "app `{app}` (task `{task}`): version `{version}` is already stored in wadm with \
             different content. Bump the `version` annotation in {path} (wadm keeps every \
             version and never overwrites one), or remove the annotation to let wadm assign one"
    )]
    VersionConflict {
        /// Application name.
        app: String,
        /// Task name.
        task: String,
        /// The conflicting version.
        version: String,
        /// Manifest file.
        path: String,
    },
    /// The application is not stored in wadm.
    #[error("app `{app}` is not stored in wadm on this lattice (see `wash app list`)")]
    NotFound {
        /// Application name.
        app: String,
    },
    /// The same application name appears twice in one deploy.
    #[error(
        "app `{app}` appears more than once (tasks `{first_task}` and `{task}`); \
             application names must be unique"
    )]
    Duplicate {
        /// Application name.
        app: String,
        /// Task of the first occurrence.
        first_task: String,
        /// Task of this occurrence.
        task: String,
    },
    /// While waiting, wadm reported the application as failed.
    #[error("app `{}` (task `{}`) version {} failed: {}. It stays deployed in wadm, which \
             keeps retrying; fix the cause (e.g. start a host with the missing labels) or remove \
             it with `pelato remove <project folder>` (`wash app delete {}`)",
        .report.app, .report.task, .report.version, nonempty(&.report.message), .report.app)]
    Failed {
        /// Report at the time of failure.
        report: Box<AppReport>,
    },
    /// While waiting, the timeout expired before the application was deployed.
    #[error("app `{}` (task `{}`) version {} was not deployed within {:.1}s: last state {} — {}. \
             It stays deployed in wadm, which keeps trying; follow it with `pelato status <project folder>` \
             or `wash app status {}`",
        .report.app, .report.task, .report.version, .waited.as_secs_f64(), .report.state,
        nonempty(&.report.message), .report.app)]
    WaitTimeout {
        /// Report at the time of the timeout.
        report: Box<AppReport>,
        /// How long we waited.
        waited: Duration,
    },
}

fn no_wadm_message(lattice: Option<&str>) -> String {
    let (on, subject) = match lattice {
        Some(l) => (format!("on lattice `{l}`"), format!("wadm.api.{l}.*")),
        None => (
            "on this lattice".to_string(),
            "wadm.api.<lattice>.*".to_string(),
        ),
    };
    format!(
        "no wadm is answering {on} (NATS reported no responders for {subject}). Start wadm \
         next to this NATS server (`wash up` starts NATS, wadm and a host), or check that \
         NATS_HOST/NATS_PORT point at the NATS server of your lattice"
    )
}

fn nonempty(s: &str) -> &str {
    let s = s.trim().trim_end_matches('.');
    if s.is_empty() {
        "(no message from wadm)"
    } else {
        s
    }
}

impl DeployError {
    /// The application report carried by [`DeployError::Failed`] and
    /// [`DeployError::WaitTimeout`] (version, last state, transitions).
    pub fn report(&self) -> Option<&AppReport> {
        match self {
            DeployError::Failed { report } | DeployError::WaitTimeout { report, .. } => {
                Some(report)
            }
            _ => None,
        }
    }
}

/// Converts a wadm client error into a [`DeployError`].
fn client_error(err: ClientError, app: &str, task: &str, action: &str) -> DeployError {
    let what = format!("{action} app `{app}`");
    match err {
        ClientError::NatsError(e) => request_error(&e, &what),
        ClientError::ApiError(message) => DeployError::Rejected {
            app: app.to_string(),
            task: task.to_string(),
            action: action.to_string(),
            message,
        },
        ClientError::NotFound(_) => DeployError::NotFound {
            app: app.to_string(),
        },
        ClientError::Serialization(e) => DeployError::Nats {
            what,
            reason: format!("unexpected reply from wadm: {e}"),
        },
        ClientError::ManifestLoad(e) | ClientError::Other(e) => DeployError::Nats {
            what,
            reason: format!("{e:#}"),
        },
    }
}

fn request_error(e: &async_nats::RequestError, what: &str) -> DeployError {
    match e.kind() {
        RequestErrorKind::NoResponders => DeployError::NoWadm { lattice: None },
        RequestErrorKind::TimedOut => DeployError::Timeout {
            what: what.to_string(),
            after: WADM_REQUEST_TIMEOUT,
        },
        RequestErrorKind::Other => DeployError::Nats {
            what: what.to_string(),
            reason: e.to_string(),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Manifests
// ---------------------------------------------------------------------------------------------

/// One wadm application to deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppManifest {
    /// PELATO task name, used in messages.
    pub task: String,
    /// File the manifest was read from, if any.
    pub path: Option<PathBuf>,
    /// The parsed manifest.
    pub manifest: Manifest,
}

impl AppManifest {
    /// Application name (`metadata.name`).
    pub fn name(&self) -> &str {
        self.manifest.metadata.name.trim()
    }

    /// The explicit `version` annotation, if any (`None`: wadm assigns a version on put).
    pub fn version(&self) -> Option<&str> {
        self.manifest
            .metadata
            .annotations
            .get(VERSION_ANNOTATION_KEY)
            .map(String::as_str)
    }

    /// The manifest's file for messages (`<in memory>` without one).
    pub fn source(&self) -> String {
        display_path(self.path.as_deref())
    }

    /// Validates the manifest offline (wadm's rules and PELATO's); returns the warnings,
    /// each naming the task and file, or [`DeployError::InvalidManifest`].
    pub fn validate(&self) -> Result<Vec<String>, DeployError> {
        check_manifest(&self.task, self.path.as_deref(), &self.manifest, None)
    }

    /// The validation warnings (empty when the manifest is invalid: see [`Self::validate`]).
    pub fn warnings(&self) -> Vec<String> {
        self.validate().unwrap_or_default()
    }
}

fn display_path(path: Option<&Path>) -> String {
    path.map(|p| p.display().to_string())
        .unwrap_or_else(|| "<in memory>".to_string())
}

/// Reads, parses and validates a wadm manifest offline. Errors and warnings name the task and
/// the file; nothing is sent anywhere.
pub fn load_manifest(task: &str, path: &Path) -> Result<AppManifest, DeployError> {
    let file = path.display().to_string();
    let raw = std::fs::read(path).map_err(|e| DeployError::Read {
        task: task.to_string(),
        path: file.clone(),
        reason: e.to_string(),
    })?;
    let manifest = parse_manifest(task, &file, &raw)?;
    check_manifest(task, Some(path), &manifest, Some(&raw))?;
    Ok(AppManifest {
        task: task.to_string(),
        path: Some(path.to_path_buf()),
        manifest,
    })
}

/// Parses manifest text (YAML or JSON) and validates it like [`load_manifest`]; `origin` names
/// the source in messages.
pub fn parse_app_manifest(
    task: &str,
    origin: &str,
    text: &str,
) -> Result<AppManifest, DeployError> {
    let manifest = parse_manifest(task, origin, text.as_bytes())?;
    check_manifest(task, None, &manifest, Some(text.as_bytes())).map_err(|e| match e {
        DeployError::InvalidManifest { task, errors, .. } => DeployError::InvalidManifest {
            task,
            path: origin.to_string(),
            errors,
        },
        other => other,
    })?;
    Ok(AppManifest {
        task: task.to_string(),
        path: None,
        manifest,
    })
}

fn parse_manifest(task: &str, file: &str, raw: &[u8]) -> Result<Manifest, DeployError> {
    crate::manifest::parse(raw).map_err(|e| DeployError::Parse {
        task: task.to_string(),
        path: file.to_string(),
        reason: e.to_string(),
    })
}

/// Runs the one manifest validation ([`crate::manifest::validate`]). Returns the warnings, each
/// naming the task and file, or the errors.
fn check_manifest(
    task: &str,
    path: Option<&Path>,
    manifest: &Manifest,
    raw_yaml: Option<&[u8]>,
) -> Result<Vec<String>, DeployError> {
    let file = display_path(path);
    let found = crate::manifest::validate(manifest, raw_yaml);
    if found.errors.is_empty() {
        Ok(found
            .warnings
            .into_iter()
            .map(|w| format!("task `{task}` ({file}): warning: {w}"))
            .collect())
    } else {
        Err(DeployError::InvalidManifest {
            task: task.to_string(),
            path: file,
            errors: found.errors,
        })
    }
}

/// `--single-app`: combines the per-task applications into one application `name` (version
/// `version`; empty = let wadm assign one). Components keep their names; capability providers
/// with identical properties (image, id, config) are merged into one, links pointing at the
/// merged-away names are retargeted, and the provider's links are united. Conflicting
/// definitions under the same name are an error.
pub fn merge_single_app(
    name: &str,
    version: &str,
    apps: &[AppManifest],
) -> Result<AppManifest, DeployError> {
    if apps.is_empty() {
        return Err(DeployError::Merge("no applications to merge".to_string()));
    }
    // (component, task) in order of appearance
    let mut components: Vec<(Component, String)> = Vec::new();
    let mut policies: Vec<(wadm_types::Policy, String)> = Vec::new();
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    for app in apps {
        // provider renames for this app: old name -> kept name
        let mut renames: HashMap<String, String> = HashMap::new();
        let mut incoming: Vec<Component> = Vec::new();
        for c in &app.manifest.spec.components {
            if let Properties::Capability { properties } = &c.properties {
                if let Some((kept, _)) = components.iter().find(|(k, _)| {
                    matches!(&k.properties, Properties::Capability { properties: p } if p == properties)
                }) {
                    if kept.name != c.name {
                        renames.insert(c.name.clone(), kept.name.clone());
                    }
                }
            }
            incoming.push(c.clone());
        }
        for mut c in incoming {
            retarget_links(&mut c, &renames);
            let target_name = renames.get(&c.name).cloned().unwrap_or(c.name.clone());
            if let Some((existing, first_task)) =
                components.iter_mut().find(|(k, _)| k.name == target_name)
            {
                if *existing == c {
                    continue;
                }
                match (&existing.properties, &c.properties) {
                    (
                        Properties::Capability { properties: a },
                        Properties::Capability { properties: b },
                    ) if a == b => {
                        merge_provider_traits(existing, &c, first_task, &app.task)?;
                    }
                    _ => {
                        return Err(DeployError::Merge(format!(
                            "component `{}` is defined differently by tasks `{first_task}` and \
                             `{}`; rename one of them",
                            c.name, app.task
                        )))
                    }
                }
            } else {
                components.push((c, app.task.clone()));
            }
        }
        for p in &app.manifest.spec.policies {
            match policies.iter().find(|(q, _)| q.name == p.name) {
                Some((q, _)) if q == p => {}
                Some((_, t)) => {
                    return Err(DeployError::Merge(format!(
                        "policy `{}` is defined differently by tasks `{t}` and `{}`",
                        p.name, app.task
                    )))
                }
                None => policies.push((p.clone(), app.task.clone())),
            }
        }
        for (k, v) in &app.manifest.metadata.labels {
            labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    let tasks: Vec<&str> = apps.iter().map(|a| a.task.as_str()).collect();
    let mut annotations = BTreeMap::new();
    if !version.trim().is_empty() {
        annotations.insert(
            VERSION_ANNOTATION_KEY.to_string(),
            version.trim().to_string(),
        );
    }
    annotations.insert(
        DESCRIPTION_ANNOTATION_KEY.to_string(),
        format!("PELATO application with tasks: {}", tasks.join(", ")),
    );
    let manifest = Manifest {
        api_version: OAM_VERSION.to_string(),
        kind: APPLICATION_KIND.to_string(),
        metadata: Metadata {
            name: name.to_string(),
            annotations,
            labels,
        },
        spec: Specification {
            components: components.into_iter().map(|(c, _)| c).collect(),
            policies: policies.into_iter().map(|(p, _)| p).collect(),
        },
    };
    let merged = AppManifest {
        task: tasks.join(", "),
        path: None,
        manifest,
    };
    merged.validate().map_err(|e| match e {
        DeployError::InvalidManifest { errors, .. } => DeployError::Merge(format!(
            "the merged application `{name}` is invalid:\n{}",
            errors
                .iter()
                .map(|e| format!("  - {e}"))
                .collect::<Vec<_>>()
                .join("\n")
        )),
        other => other,
    })?;
    Ok(merged)
}

fn retarget_links(c: &mut Component, renames: &HashMap<String, String>) {
    if renames.is_empty() {
        return;
    }
    for t in c.traits.iter_mut().flatten() {
        if let TraitProperty::Link(LinkProperty { target, .. }) = &mut t.properties {
            if let Some(new) = renames.get(&target.name) {
                target.name = new.clone();
            }
        }
    }
}

/// Merges the traits of provider `other` into `kept` (same provider properties): scalers must
/// agree, links are united.
fn merge_provider_traits(
    kept: &mut Component,
    other: &Component,
    kept_task: &str,
    other_task: &str,
) -> Result<(), DeployError> {
    let kept_traits = kept.traits.get_or_insert_with(Vec::new);
    for t in other.traits.iter().flatten() {
        if t.is_scaler() {
            match kept_traits.iter().find(|k| k.is_scaler()) {
                Some(k) if k == t => {}
                Some(_) => {
                    return Err(DeployError::Merge(format!(
                        "provider `{}` is scaled differently by tasks `{kept_task}` and \
                         `{other_task}`; give them the same spreadscaler",
                        kept.name
                    )))
                }
                None => kept_traits.push(t.clone()),
            }
        } else if !kept_traits.contains(t) {
            let mut t = t.clone();
            // A source may hold one link per (name, namespace, package): the provider's links
            // to the components of the other tasks get their own names (the target's name).
            if let TraitProperty::Link(l) = &mut t.properties {
                let clashes = |l: &LinkProperty, traits: &[Trait]| {
                    traits.iter().any(|k| match &k.properties {
                        TraitProperty::Link(o) => {
                            o.name.as_deref().unwrap_or(DEFAULT_LINK_NAME)
                                == l.name.as_deref().unwrap_or(DEFAULT_LINK_NAME)
                                && o.namespace == l.namespace
                                && o.package == l.package
                        }
                        _ => false,
                    })
                };
                if clashes(l, kept_traits) {
                    let base = l.target.name.clone();
                    let mut n = 1;
                    l.name = Some(base.clone());
                    while clashes(l, kept_traits) {
                        n += 1;
                        l.name = Some(format!("{base}-{n}"));
                    }
                }
            }
            kept_traits.push(t);
        }
    }
    Ok(())
}

/// What to tell the user when no NATS is configured: the exact commands that deploy the
/// generated manifests, with PELATO or with `wash`, and `run` (a ready `pelato run`
/// command line, see [`run_command`]) to see the workflow work locally now.
pub fn deploy_hint(manifest_paths: &[PathBuf], run: Option<&str>) -> String {
    let mut out = String::new();
    if manifest_paths.is_empty() {
        out.push_str("No NATS server is configured and there are no manifests to deploy yet.\n");
        out.push_str("Generate them first, then deploy with:\n");
        out.push_str("  NATS_HOST=127.0.0.1 NATS_PORT=4222 pelato deploy\n");
        return out;
    }
    out.push_str(
        "No NATS server is configured, so nothing was deployed. The wadm manifests are ready:\n",
    );
    for p in manifest_paths {
        out.push_str(&format!("  {}\n", p.display()));
    }
    out.push_str(
        "\nTo deploy them with PELATO, point it at the NATS server of your wasmCloud lattice \
                  (wadm must run there; `wash up` starts a host with NATS and wadm):\n",
    );
    out.push_str("  NATS_HOST=127.0.0.1 NATS_PORT=4222 pelato deploy\n");
    out.push_str("\nOr deploy them with wash:\n");
    for p in manifest_paths {
        out.push_str(&format!(
            "  wash app deploy {}\n",
            shell_quote(&p.display().to_string())
        ));
    }
    out.push_str(
        "\nTo see the workflow work now, without a lattice, run it locally: every task in the \
         embedded wasmtime, wired by topic:\n",
    );
    out.push_str(&format!(
        "  {}\n",
        run.unwrap_or("pelato run <project> --send <topic> <body>")
    ));
    out
}

/// A `pelato run` command line for a project folder that sends `body` on `topic`
/// and ends when the message and everything it caused have been handled.
pub fn run_command(project_dir: &str, topic: &str, body: &str) -> String {
    format!(
        "pelato run {} --once --send {} {}",
        shell_quote(project_dir),
        shell_quote(topic),
        shell_quote(body)
    )
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:=@,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Content comparison through JSON, so that the stored copy (which went through wadm's
/// serializer) compares equal to the local one; optionally ignoring the `version` annotation.
fn same_content(a: &Manifest, b: &Manifest, ignore_version: bool) -> bool {
    let norm = |m: &Manifest| {
        let mut v = serde_json::to_value(m).unwrap_or(serde_json::Value::Null);
        if ignore_version {
            if let Some(ann) = v
                .pointer_mut("/metadata/annotations")
                .and_then(|a| a.as_object_mut())
            {
                ann.remove(VERSION_ANNOTATION_KEY);
            }
        }
        v
    };
    norm(a) == norm(b)
}

// ---------------------------------------------------------------------------------------------
// NATS / wadm
// ---------------------------------------------------------------------------------------------

fn valid_lattice(lattice: &str) -> bool {
    !lattice.is_empty()
        && !lattice
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '.' | '*' | '>'))
}

/// Builds a NATS `.creds` document from a JWT and a seed, so JWT auth needs no extra crate.
fn creds_document(jwt: &str, seed: &str) -> String {
    format!(
        "-----BEGIN NATS USER JWT-----\n{}\n------END NATS USER JWT------\n\n\
         -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n",
        jwt.trim(),
        seed.trim()
    )
}

/// Reads a secret given either literally or as a path to a file holding it.
fn literal_or_file(
    value: &str,
    looks_literal: impl Fn(&str) -> bool,
) -> Result<String, DeployError> {
    if looks_literal(value.trim()) {
        return Ok(value.trim().to_string());
    }
    let p = Path::new(value);
    if p.is_file() {
        return std::fs::read_to_string(p)
            .map(|s| s.trim().to_string())
            .map_err(|e| DeployError::NatsConfig(format!("cannot read {}: {e}", p.display())));
    }
    Ok(value.trim().to_string())
}

/// Opens a NATS connection as described by `opts`.
pub async fn connect_nats(opts: &NatsOptions) -> Result<async_nats::Client, DeployError> {
    if !valid_lattice(&opts.lattice) {
        return Err(DeployError::NatsConfig(format!(
            "lattice name `{}` is not usable in NATS subjects (no spaces, `.`, `*` or `>`)",
            opts.lattice
        )));
    }
    let addr = opts.address();
    let mut o = async_nats::ConnectOptions::new()
        .name("pelato")
        .connection_timeout(opts.connect_timeout)
        .request_timeout(Some(WADM_REQUEST_TIMEOUT));
    let seed = opts
        .nkey_seed
        .as_deref()
        .map(|s| literal_or_file(s, |v| v.len() == 58 && v.starts_with('S')))
        .transpose()?;
    let jwt = opts
        .jwt
        .as_deref()
        .map(|j| literal_or_file(j, |v| v.starts_with("eyJ")))
        .transpose()?;
    match (&opts.creds_file, seed, jwt) {
        (Some(creds), None, None) => {
            o = o.credentials_file(creds).await.map_err(|e| {
                DeployError::NatsConfig(format!(
                    "cannot use credentials file {}: {e}",
                    creds.display()
                ))
            })?;
        }
        (Some(_), _, _) => {
            return Err(DeployError::NatsConfig(
                "give either a credentials file or an NKey seed/JWT, not both".to_string(),
            ))
        }
        (None, Some(seed), Some(jwt)) => {
            o = o
                .credentials(&creds_document(&jwt, &seed))
                .map_err(|e| DeployError::NatsConfig(format!("invalid JWT or NKey seed: {e}")))?;
        }
        (None, Some(seed), None) => o = o.nkey(seed),
        (None, None, Some(_)) => {
            return Err(DeployError::NatsConfig(
                "a JWT needs the matching NKey seed to sign the server's challenge".to_string(),
            ))
        }
        (None, None, None) => {}
    }
    if let Some(ca) = &opts.tls_ca {
        o = o.add_root_certificates(ca.clone()).require_tls(true);
    }
    if opts.tls_required {
        o = o.require_tls(true);
    }
    let budget = opts.connect_timeout + Duration::from_secs(1);
    let connected = tokio::time::timeout(budget, o.connect(opts.url())).await;
    match connected {
        Err(_) => Err(DeployError::Unreachable {
            addr,
            reason: format!("no answer within {}s", opts.connect_timeout.as_secs_f32()),
        }),
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => {
            // The error's Display repeats its source; the source alone reads best.
            let reason = match std::error::Error::source(&e) {
                Some(src) => src.to_string(),
                None => e.to_string(),
            };
            Err(match e.kind() {
                ConnectErrorKind::Authentication | ConnectErrorKind::AuthorizationViolation => {
                    DeployError::Auth { addr, reason }
                }
                ConnectErrorKind::Tls => DeployError::Tls { addr, reason },
                ConnectErrorKind::ServerParse => {
                    DeployError::NatsConfig(format!("bad NATS address {addr}: {reason}"))
                }
                ConnectErrorKind::TimedOut => DeployError::Unreachable {
                    addr,
                    reason: format!("timed out after {}s", opts.connect_timeout.as_secs_f32()),
                },
                _ => DeployError::Unreachable { addr, reason },
            })
        }
    }
}

/// Connects to NATS and checks that a wadm answers on `opts.lattice`
/// ([`DeployError::NoWadm`] otherwise), returning a wadm client for that lattice.
pub async fn connect(opts: &NatsOptions) -> Result<wadm_client::Client, DeployError> {
    let nats = connect_nats(opts).await?;
    let client = wadm_client::Client::from_nats_client(&opts.lattice, None, nats);
    ping_wadm(&client, &opts.lattice).await?;
    Ok(client)
}

/// What [`connect_checked`] found on the lattice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatticeCheck {
    /// Lattice name.
    pub lattice: String,
    /// Number of applications wadm stores for this lattice.
    pub apps: usize,
    /// Whether at least one wasmCloud host answered a ping on this lattice.
    pub host_answering: bool,
}

impl LatticeCheck {
    /// A warning to show when no host answers: deployments will wait until a host joins, and a
    /// misspelt lattice looks exactly like this (wadm serves every lattice on its NATS, so a
    /// wrong lattice name is accepted silently).
    pub fn warning(&self) -> Option<String> {
        (!self.host_answering).then(|| {
            format!(
                "no wasmCloud host answers on lattice `{}`: applications will wait until a host \
                 joins. If your hosts run on another lattice (their WASMCLOUD_LATTICE), use that \
                 name",
                self.lattice
            )
        })
    }
}

/// Like [`connect`], and also reports whether any wasmCloud host answers on the lattice (see
/// [`LatticeCheck::warning`]).
pub async fn connect_checked(
    opts: &NatsOptions,
) -> Result<(wadm_client::Client, LatticeCheck), DeployError> {
    let nats = connect_nats(opts).await?;
    let client = wadm_client::Client::from_nats_client(&opts.lattice, None, nats.clone());
    let apps = ping_wadm(&client, &opts.lattice).await?;
    let subject = format!("wasmbus.ctl.v1.{}.host.ping", opts.lattice);
    let host_answering = matches!(
        tokio::time::timeout(
            Duration::from_secs(2),
            nats.request(subject, Vec::new().into())
        )
        .await,
        Ok(Ok(_))
    );
    Ok((
        client,
        LatticeCheck {
            lattice: opts.lattice.clone(),
            apps,
            host_answering,
        },
    ))
}

/// Asks wadm for its application list; `Ok(n)` = wadm answers and stores `n` applications.
/// `lattice` is only used to name the lattice in the error.
pub async fn ping_wadm(client: &wadm_client::Client, lattice: &str) -> Result<usize, DeployError> {
    let mut result = client.list_manifests().await;
    if matches!(&result, Err(ClientError::NatsError(e)) if e.kind() == RequestErrorKind::NoResponders)
    {
        // A wadm that has just started may not have its subscription registered yet.
        tokio::time::sleep(Duration::from_millis(250)).await;
        result = client.list_manifests().await;
    }
    match result {
        Ok(list) => Ok(list.len()),
        Err(ClientError::NatsError(e)) if e.kind() == RequestErrorKind::NoResponders => {
            Err(DeployError::NoWadm {
                lattice: Some(lattice.to_string()),
            })
        }
        Err(e) => Err(client_error(e, "*", "-", "list the applications of")),
    }
}

async fn list_summaries(
    client: &wadm_client::Client,
) -> Result<HashMap<String, ModelSummary>, DeployError> {
    let list = client
        .list_manifests()
        .await
        .map_err(|e| client_error(e, "*", "-", "list the applications of"))?;
    Ok(list.into_iter().map(|m| (m.name.clone(), m)).collect())
}

/// wadm's status message; when the overall message is empty, the messages of the scalers
/// that are not deployed.
fn status_message(status: &Status) -> String {
    let top = status.info.message.trim();
    if !top.is_empty() || status.info.status_type == StatusType::Deployed {
        return top.to_string();
    }
    status
        .scalers
        .iter()
        .filter(|s| s.info.status_type != StatusType::Deployed && !s.info.message.trim().is_empty())
        .map(|s| s.info.message.trim().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn observed(summary: &ModelSummary) -> (AppState, String) {
    (
        AppState::from_wadm(summary.detailed_status.info.status_type),
        status_message(&summary.detailed_status),
    )
}

/// Result of the put/deploy phase for one app.
struct Applied {
    version: String,
    changed: bool,
    /// Status before the deploy, for apps that were already deployed (stale-status guard).
    before: Option<(AppState, String)>,
}

async fn apply_one(
    client: wadm_client::Client,
    app: AppManifest,
    existing: Option<ModelSummary>,
) -> Result<Applied, DeployError> {
    let name = app.name().to_string();
    let task = app.task.clone();
    let before = existing
        .as_ref()
        .filter(|s| s.deployed_version.is_some())
        .map(observed);
    let mut to_deploy: Option<String> = None;
    if let Some(summary) = &existing {
        match app.version() {
            Some(v) => {
                let versions = match client.list_versions(&name).await {
                    Ok(v) => v,
                    Err(ClientError::NotFound(_)) => Vec::new(),
                    Err(e) => return Err(client_error(e, &name, &task, "list the versions of")),
                };
                if let Some(info) = versions.iter().find(|i| i.version == v) {
                    let stored = client
                        .get_manifest(&name, Some(v))
                        .await
                        .map_err(|e| client_error(e, &name, &task, "fetch"))?;
                    if !same_content(&stored, &app.manifest, false) {
                        return Err(DeployError::VersionConflict {
                            app: name,
                            task,
                            version: v.to_string(),
                            path: app.source(),
                        });
                    }
                    if info.deployed {
                        return Ok(Applied {
                            version: v.to_string(),
                            changed: false,
                            before,
                        });
                    }
                    to_deploy = Some(v.to_string());
                }
            }
            None => {
                let candidate = summary
                    .deployed_version
                    .clone()
                    .unwrap_or_else(|| summary.version.clone());
                let stored = client
                    .get_manifest(&name, Some(&candidate))
                    .await
                    .map_err(|e| client_error(e, &name, &task, "fetch"))?;
                if same_content(&stored, &app.manifest, true) {
                    if summary.deployed_version.as_deref() == Some(candidate.as_str()) {
                        return Ok(Applied {
                            version: candidate,
                            changed: false,
                            before,
                        });
                    }
                    to_deploy = Some(candidate);
                }
            }
        }
    }
    let version = match to_deploy {
        Some(v) => v,
        None => {
            let (_, v) = client
                .put_manifest(&app.manifest)
                .await
                .map_err(|e| client_error(e, &name, &task, "put"))?;
            v
        }
    };
    match client.deploy_manifest(&name, Some(&version)).await {
        Ok(_) => Ok(Applied {
            version,
            changed: true,
            before,
        }),
        Err(e) => Err(DeployError::StoredNotDeployed {
            app: name.clone(),
            task: task.clone(),
            version,
            reason: match client_error(e, &name, &task, "deploy") {
                DeployError::Rejected { message, .. } => format!("wadm said: {message}"),
                other => other.to_string(),
            },
        }),
    }
}

/// Per-app bookkeeping of the wait loop.
struct Tracker {
    idx: usize,
    report: AppReport,
    before: Option<(AppState, String)>,
    acked_at: Instant,
    seen_new: bool,
    failed_since: Option<Instant>,
    /// Last observation, even a provisional one (used when time runs out).
    last_seen: Option<(AppState, String)>,
}

impl Tracker {
    /// Records an observation; returns true when it is a new transition.
    fn observe(&mut self, state: AppState, message: String, now: Instant) -> bool {
        self.last_seen = Some((state.clone(), message.clone()));
        if self.report.changed && !self.seen_new {
            let same_as_before = self
                .before
                .as_ref()
                .is_some_and(|(s, m)| *s == state && *m == message);
            // wadm answers with this made-up status until the app's scalers publish one, even
            // when hosts are there: only believe it once it has lasted.
            let no_status_yet = state == AppState::Waiting && message == WADM_NO_STATUS_MESSAGE;
            if (same_as_before || no_status_yet)
                && now.duration_since(self.acked_at) < STALE_STATUS_GRACE
            {
                return false;
            }
            self.seen_new = true;
        }
        let new = self
            .report
            .transitions
            .last()
            .is_none_or(|(s, m)| *s != state || *m != message);
        self.report.state = state.clone();
        self.report.message = message.clone();
        if new {
            self.report.transitions.push((state, message));
        }
        if self.report.state == AppState::Failed {
            self.failed_since.get_or_insert(now);
        } else {
            self.failed_since = None;
        }
        new
    }
}

/// Puts and deploys each application; returns one result per app, in order. A failure of one
/// app does not stop the others. Unchanged applications are not sent again
/// ([`AppReport::changed`] = false). With [`DeployOptions::wait`], follows wadm's status until
/// each app is deployed ([`Ok`]), failed ([`DeployError::Failed`]) or the timeout expires
/// ([`DeployError::WaitTimeout`]); `on_event` is called at every transition seen (and once per
/// app without `wait`).
pub async fn deploy(
    client: &wadm_client::Client,
    apps: &[AppManifest],
    opts: &DeployOptions,
    on_event: &mut (dyn FnMut(&AppReport) + Send),
) -> Vec<Result<AppReport, DeployError>> {
    let mut results: Vec<Option<Result<AppReport, DeployError>>> =
        apps.iter().map(|_| None).collect();

    // 1. Offline validation and duplicate names: rejected apps are never sent.
    let mut seen: HashMap<String, String> = HashMap::new();
    for (i, app) in apps.iter().enumerate() {
        if let Err(e) = app.validate() {
            results[i] = Some(Err(e));
            continue;
        }
        if let Some(first) = seen.get(app.name()) {
            results[i] = Some(Err(DeployError::Duplicate {
                app: app.name().to_string(),
                first_task: first.clone(),
                task: app.task.clone(),
            }));
            continue;
        }
        seen.insert(app.name().to_string(), app.task.clone());
    }

    // 2. What wadm holds already (one request for all apps).
    let pending: Vec<usize> = (0..apps.len()).filter(|i| results[*i].is_none()).collect();
    if pending.is_empty() {
        return finish(results);
    }
    let existing = match list_summaries(client).await {
        Ok(m) => m,
        Err(e) => {
            for i in pending {
                results[i] = Some(Err(e.clone()));
            }
            return finish(results);
        }
    };

    // 3. Put + deploy, a few at a time.
    let mut applied: Vec<(usize, Applied, Instant)> = Vec::new();
    let mut set = tokio::task::JoinSet::new();
    let mut queue = pending.into_iter();
    loop {
        while set.len() < APPLY_CONCURRENCY {
            let Some(i) = queue.next() else { break };
            let app = apps[i].clone();
            let summary = existing.get(app.name()).cloned();
            let client = client.clone();
            set.spawn(async move { (i, apply_one(client, app, summary).await) });
        }
        let Some(joined) = set.join_next().await else {
            break;
        };
        match joined {
            Ok((i, Ok(a))) => applied.push((i, a, Instant::now())),
            Ok((i, Err(e))) => results[i] = Some(Err(e)),
            // A task that panicked leaves its slot empty; `finish` reports it.
            Err(_) => {}
        }
    }
    applied.sort_by_key(|(i, _, _)| *i);

    // 4. Status.
    let mut trackers: Vec<Tracker> = applied
        .into_iter()
        .map(|(i, a, at)| Tracker {
            idx: i,
            report: AppReport {
                app: apps[i].name().to_string(),
                task: apps[i].task.clone(),
                version: a.version,
                state: AppState::Unknown("unknown".to_string()),
                message: String::new(),
                changed: a.changed,
                transitions: Vec::new(),
            },
            before: a.before,
            acked_at: at,
            seen_new: false,
            failed_since: None,
            last_seen: None,
        })
        .collect();

    if !opts.wait {
        match list_summaries(client).await {
            Ok(summaries) => {
                for mut t in trackers {
                    if let Some(s) = summaries.get(&t.report.app) {
                        let (state, msg) = observed(s);
                        t.report.state = state.clone();
                        t.report.message = msg.clone();
                        t.report.transitions.push((state, msg));
                    }
                    on_event(&t.report);
                    results[t.idx] = Some(Ok(t.report));
                }
            }
            Err(_) => {
                // The deploys were acknowledged; only the status read failed.
                for mut t in trackers {
                    t.report.message = "deploy acknowledged; status unavailable".to_string();
                    on_event(&t.report);
                    results[t.idx] = Some(Ok(t.report));
                }
            }
        }
        return finish(results);
    }

    let started = Instant::now();
    let deadline = started + opts.timeout;
    let mut last_error: Option<DeployError>;
    while !trackers.is_empty() {
        let now = Instant::now();
        match list_summaries(client).await {
            Ok(summaries) => {
                last_error = None;
                let mut still = Vec::new();
                for mut t in trackers {
                    let Some(s) = summaries.get(&t.report.app) else {
                        results[t.idx] = Some(Err(DeployError::NotFound {
                            app: t.report.app.clone(),
                        }));
                        continue;
                    };
                    // Ignore status that belongs to another version (someone redeployed).
                    if s.deployed_version.as_deref() == Some(t.report.version.as_str()) {
                        let (state, msg) = observed(s);
                        if t.observe(state, msg, now) {
                            on_event(&t.report);
                        }
                    }
                    let done = match t.report.state {
                        AppState::Deployed => true,
                        AppState::Failed => t
                            .failed_since
                            .is_some_and(|since| now.duration_since(since) >= FAILED_GRACE),
                        _ => false,
                    };
                    if done {
                        let idx = t.idx;
                        results[idx] = Some(if t.report.state == AppState::Deployed {
                            Ok(t.report)
                        } else {
                            Err(DeployError::Failed {
                                report: Box::new(t.report),
                            })
                        });
                    } else {
                        still.push(t);
                    }
                }
                trackers = still;
            }
            Err(DeployError::NoWadm { lattice }) => {
                // wadm went away: no point in waiting for it.
                for t in trackers.drain(..) {
                    results[t.idx] = Some(Err(DeployError::NoWadm {
                        lattice: lattice.clone(),
                    }));
                }
                break;
            }
            Err(e) => last_error = Some(e),
        }
        if trackers.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            let waited = started.elapsed();
            for mut t in trackers.drain(..) {
                let idx = t.idx;
                if t.report.transitions.is_empty() {
                    if let Some((state, message)) = t.last_seen.take() {
                        t.report.state = state.clone();
                        t.report.message = message.clone();
                        t.report.transitions.push((state, message));
                        on_event(&t.report);
                    }
                }
                results[idx] = Some(Err(match (&last_error, t.report.state.clone()) {
                    (_, AppState::Failed) => DeployError::Failed {
                        report: Box::new(t.report),
                    },
                    (Some(e), _) if t.report.transitions.is_empty() => e.clone(),
                    _ => DeployError::WaitTimeout {
                        report: Box::new(t.report),
                        waited,
                    },
                }));
            }
            break;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        tokio::time::sleep(STATUS_POLL_INTERVAL.min(left)).await;
    }
    finish(results)
}

/// Turns the per-app slots into results; an empty slot (a task that panicked) is an error.
fn finish(
    results: Vec<Option<Result<AppReport, DeployError>>>,
) -> Vec<Result<AppReport, DeployError>> {
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(DeployError::Nats {
                    what: "deploy".to_string(),
                    reason: "internal error: the deploy task stopped unexpectedly".to_string(),
                })
            })
        })
        .collect()
}

/// Current state of each named application (one result per name, in order);
/// [`DeployError::NotFound`] for an application wadm does not hold.
pub async fn status(
    client: &wadm_client::Client,
    app_names: &[String],
) -> Vec<Result<AppReport, DeployError>> {
    let summaries = match list_summaries(client).await {
        Ok(s) => s,
        Err(e) => return app_names.iter().map(|_| Err(e.clone())).collect(),
    };
    app_names
        .iter()
        .map(|name| {
            let s = summaries
                .get(name.trim())
                .ok_or_else(|| DeployError::NotFound { app: name.clone() })?;
            let (state, message) = observed(s);
            Ok(AppReport {
                app: s.name.clone(),
                task: s.name.clone(),
                version: s
                    .deployed_version
                    .clone()
                    .unwrap_or_else(|| s.version.clone()),
                state: state.clone(),
                message: message.clone(),
                changed: false,
                transitions: vec![(state, message)],
            })
        })
        .collect()
}

/// Lists the applications wadm holds on the lattice (name, versions, status).
pub async fn list(client: &wadm_client::Client) -> Result<Vec<ModelSummary>, DeployError> {
    let mut list: Vec<ModelSummary> = list_summaries(client).await?.into_values().collect();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(list)
}

/// Undeploys each application and deletes all its stored versions (one result per name, in
/// order). An application that is not there is reported with `removed: false`, not an error.
pub async fn remove(
    client: &wadm_client::Client,
    app_names: &[String],
) -> Vec<Result<RemoveReport, DeployError>> {
    let mut out = Vec::with_capacity(app_names.len());
    for name in app_names {
        out.push(remove_one(client, name.trim()).await);
    }
    out
}

async fn remove_one(client: &wadm_client::Client, name: &str) -> Result<RemoveReport, DeployError> {
    let versions = match client.list_versions(name).await {
        Ok(v) => v.into_iter().map(|v| v.version).collect::<Vec<_>>(),
        Err(ClientError::NotFound(_)) => {
            return Ok(RemoveReport {
                app: name.to_string(),
                removed: false,
                versions: Vec::new(),
            })
        }
        Err(e) => return Err(client_error(e, name, name, "list the versions of")),
    };
    match client.undeploy_manifest(name).await {
        Ok(_) | Err(ClientError::NotFound(_)) => {}
        Err(e) => return Err(client_error(e, name, name, "undeploy")),
    }
    let deleted = client
        .delete_manifest(name, None)
        .await
        .map_err(|e| client_error(e, name, name, "delete"))?;
    Ok(RemoveReport {
        app: name.to_string(),
        removed: deleted || !versions.is_empty(),
        versions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: convert
  annotations:
    version: 1.0.0
spec:
  components:
    - name: convert
      type: component
      properties:
        image: 127.0.0.1:5000/convert:1.0.0
      traits:
        - type: spreadscaler
          properties:
            instances: 2
            spread:
              - name: edge
                weight: 50
                requirements:
                  host-type: edge
              - name: cloud
                weight: 50
                requirements:
                  host-type: cloud
    - name: nats
      type: capability
      properties:
        image: wasmcloud+builtin://messaging-nats
      traits:
        - type: link
          properties:
            target:
              name: convert
            namespace: wasmcloud
            package: messaging
            interfaces: [handler]
            source:
              config:
                - name: convert-subscription
                  properties:
                    subscriptions: pelato.convert
"#;

    fn good(task: &str) -> AppManifest {
        parse_app_manifest(task, "good.yaml", GOOD).expect("valid")
    }

    #[test]
    fn valid_manifest_loads_from_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("wadm.yaml");
        std::fs::write(&p, GOOD).unwrap();
        let app = load_manifest("convert", &p).unwrap();
        assert_eq!(app.name(), "convert");
        assert_eq!(app.version(), Some("1.0.0"));
        assert!(app.warnings().is_empty(), "{:?}", app.warnings());
        assert_eq!(app.path.as_deref(), Some(p.as_path()));
    }

    #[test]
    fn weights_must_sum_to_100() {
        let bad = GOOD.replace(
            "weight: 50\n                requirements:\n                  host-type: cloud",
            "weight: 40\n                requirements:\n                  host-type: cloud",
        );
        let err = parse_app_manifest("convert", "bad.yaml", &bad).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("task `convert`"), "{msg}");
        assert!(msg.contains("bad.yaml"), "{msg}");
        assert!(msg.contains("sum to 90"), "{msg}");
    }

    #[test]
    fn missing_image_and_empty_link_are_errors() {
        let bad = GOOD
            .replace(
                "        image: 127.0.0.1:5000/convert:1.0.0\n",
                "        id: convert\n",
            )
            .replace("interfaces: [handler]", "interfaces: []");
        let err = parse_app_manifest("t", "x.yaml", &bad).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("component `convert` has no `image`"), "{msg}");
        assert!(msg.contains("lists no interfaces"), "{msg}");
        assert!(!msg.contains("either 'image' or 'application'"), "{msg}");
    }

    #[test]
    fn unreadable_and_unparsable_files() {
        let err = load_manifest("t", Path::new("/nonexistent/wadm.yaml")).unwrap_err();
        assert!(matches!(err, DeployError::Read { .. }), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("wadm.yaml");
        std::fs::write(&p, "apiVersion: [").unwrap();
        let err = load_manifest("t", &p).unwrap_err();
        assert!(matches!(err, DeployError::Parse { .. }), "{err}");
        assert!(err.to_string().contains("task `t`"));
    }

    #[test]
    fn wrong_kind_and_latest_version_rejected() {
        let bad = GOOD.replace("kind: Application", "kind: Deployment");
        assert!(parse_app_manifest("t", "x", &bad)
            .unwrap_err()
            .to_string()
            .contains("kind is"));
        let bad = GOOD.replace("version: 1.0.0", "version: latest");
        assert!(parse_app_manifest("t", "x", &bad).is_err());
    }

    #[test]
    fn merge_dedupes_identical_providers_and_retargets_links() {
        let a = good("convert");
        let b_text = GOOD
            .replace(
                "name: convert\n  annotations",
                "name: resize\n  annotations",
            )
            .replace(
                "- name: convert\n      type: component",
                "- name: resize\n      type: component",
            )
            .replace("convert:1.0.0", "resize:1.0.0")
            .replace(
                "name: convert\n            namespace",
                "name: resize\n            namespace",
            )
            .replace("convert-subscription", "resize-subscription")
            .replace("pelato.convert", "pelato.resize")
            .replace("- name: nats\n", "- name: nats-resize\n");
        let b = parse_app_manifest("resize", "b.yaml", &b_text).unwrap();
        let merged = merge_single_app("pelato", "2.0.0", &[a, b]).unwrap();
        assert_eq!(merged.version(), Some("2.0.0"));
        assert_eq!(merged.task, "convert, resize");
        let names: Vec<_> = merged
            .manifest
            .spec
            .components
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["convert", "nats", "resize"]);
        let nats = &merged.manifest.spec.components[1];
        let links = nats
            .traits
            .as_ref()
            .unwrap()
            .iter()
            .filter(|t| t.is_link())
            .count();
        assert_eq!(links, 2, "both handler links kept on the single provider");
        let link_names: Vec<_> = nats
            .traits
            .iter()
            .flatten()
            .filter_map(|t| match &t.properties {
                TraitProperty::Link(l) => Some((l.name.clone(), l.target.name.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(
            link_names,
            [
                (None, "convert".to_string()),
                (Some("resize".to_string()), "resize".to_string())
            ]
        );
    }

    #[test]
    fn merge_conflicting_components_fails() {
        let a = good("a");
        let b = parse_app_manifest(
            "b",
            "b",
            &GOOD
                .replace("instances: 2", "instances: 4")
                .replace("name: convert\n  annotations", "name: other\n  annotations"),
        )
        .unwrap();
        let err = merge_single_app("pelato", "1", &[a, b]).unwrap_err();
        assert!(err.to_string().contains("defined differently"), "{err}");
    }

    #[test]
    fn merge_without_version_has_no_annotation() {
        let merged = merge_single_app("pelato", "", &[good("a")]).unwrap();
        assert_eq!(merged.version(), None);
    }

    #[test]
    fn same_content_ignores_version_only_when_asked() {
        let a = good("a").manifest;
        let mut b = a.clone();
        b.metadata
            .annotations
            .insert("version".into(), "01JXYZ".into());
        assert!(!same_content(&a, &b, false));
        assert!(same_content(&a, &b, true));
        // A JSON round trip (what wadm stores) compares equal.
        let rt: Manifest = serde_json::from_slice(&serde_json::to_vec(&a).unwrap()).unwrap();
        assert!(same_content(&a, &rt, false));
    }

    #[test]
    fn hint_names_commands_and_files() {
        let h = deploy_hint(
            &[
                PathBuf::from("proj/gen/convert/wadm.yaml"),
                PathBuf::from("my dir/wadm.yaml"),
            ],
            Some(&run_command("proj", "orders.new", r#"{"id": 1}"#)),
        );
        assert!(
            h.contains(r#"pelato run proj --once --send orders.new '{"id": 1}'"#),
            "{h}"
        );
        assert!(
            h.contains("NATS_HOST=127.0.0.1 NATS_PORT=4222 pelato deploy"),
            "{h}"
        );
        assert!(
            h.contains("wash app deploy proj/gen/convert/wadm.yaml"),
            "{h}"
        );
        assert!(h.contains("wash app deploy 'my dir/wadm.yaml'"), "{h}");
    }

    #[test]
    fn debug_redacts_secrets() {
        let o = NatsOptions {
            nkey_seed: Some("SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRBU".into()),
            jwt: Some("eyJhbGciOi.secret".into()),
            ..Default::default()
        };
        let d = format!("{o:?}");
        assert!(!d.contains("SUAMLK"), "{d}");
        assert!(!d.contains("secret"), "{d}");
        assert!(d.contains("<redacted>"));
        assert_eq!(o.url(), "nats://127.0.0.1:4222");
        let v6 = NatsOptions {
            host: "::1".into(),
            tls_required: true,
            ..Default::default()
        };
        assert_eq!(v6.url(), "tls://[::1]:4222");
    }

    #[test]
    fn state_mapping_and_errors_read_well() {
        assert_eq!(
            AppState::from_wadm(StatusType::Reconciling),
            AppState::Deploying
        );
        assert_eq!(
            AppState::from_wadm(StatusType::Unhealthy).to_string(),
            "unhealthy"
        );
        let e = DeployError::NoWadm {
            lattice: Some("edge-lab".into()),
        };
        assert!(e
            .to_string()
            .starts_with("no wadm is answering on lattice `edge-lab`"));
        let e = DeployError::Unreachable {
            addr: "127.0.0.1:4".into(),
            reason: "refused".into(),
        };
        assert!(e
            .to_string()
            .starts_with("cannot reach NATS at 127.0.0.1:4"));
    }

    #[test]
    fn tracker_ignores_stale_status_then_records_transitions() {
        let now = Instant::now();
        let mut t = Tracker {
            idx: 0,
            report: AppReport {
                app: "a".into(),
                task: "a".into(),
                version: "2".into(),
                state: AppState::Unknown("unknown".into()),
                message: String::new(),
                changed: true,
                transitions: vec![],
            },
            before: Some((AppState::Deployed, String::new())),
            acked_at: now,
            seen_new: false,
            failed_since: None,
            last_seen: None,
        };
        assert!(!t.observe(AppState::Waiting, WADM_NO_STATUS_MESSAGE.into(), now));
        assert!(!t.observe(AppState::Deployed, String::new(), now));
        assert!(t.observe(AppState::Deploying, "Scaling".into(), now));
        assert!(!t.observe(AppState::Deploying, "Scaling".into(), now));
        assert!(t.observe(AppState::Deployed, String::new(), now));
        assert_eq!(t.report.transitions.len(), 2);
    }

    #[tokio::test]
    async fn lattice_names_are_checked_before_connecting() {
        let o = NatsOptions {
            lattice: "a.b".into(),
            ..Default::default()
        };
        assert!(matches!(
            connect_nats(&o).await,
            Err(DeployError::NatsConfig(_))
        ));
        let o = NatsOptions {
            jwt: Some("eyJx".into()),
            ..Default::default()
        };
        assert!(matches!(
            connect_nats(&o).await,
            Err(DeployError::NatsConfig(_))
        ));
    }
}

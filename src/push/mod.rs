//! Publishing components as OCI artifacts that wasmCloud pulls.
//!
//! A component is published exactly the way `wash push` publishes it (the CNCF "Wasm OCI
//! Artifact" layout):
//!
//! * manifest media type `application/vnd.oci.image.manifest.v1+json` (set explicitly),
//! * config media type `application/vnd.wasm.config.v0+json` whose body is
//!   `{"architecture":"wasm","os":"wasip2","created":…,"layerDigests":["sha256:…"],
//!   "component":{"exports":[…],"imports":[…],"target":null}}` with the component's real
//!   imports and exports (see [`artifact_config`]),
//! * exactly one layer, `application/wasm`, holding the component bytes,
//! * manifest annotations `org.opencontainers.image.{created,version,title,source}` plus the
//!   caller's own annotations under the `dev.pelato.` prefix.
//!
//! Two destinations exist ([`Destination`]):
//!
//! * a real registry ([`RegistryTarget`], e.g. from `REGISTRY_URL` through
//!   [`registry_from_settings`]); plain HTTP is used only for loopback hosts and for hosts
//!   listed in [`RegistryTarget::insecure_hosts`] (see [`plain_http_allowed`]);
//! * a local OCI image layout directory (the default when no registry is configured), which can
//!   later be copied to a registry with [`copy_layout_to_registry`] (`pelato push --from-layout`).
//!
//! # Reference formats
//!
//! [`PushOutcome::reference`] and [`PushOutcome::pinned_reference`] are:
//!
//! | destination | `reference`                               | `pinned_reference`                           |
//! |-------------|-------------------------------------------|----------------------------------------------|
//! | registry    | `127.0.0.1:5000/team/temp-convert:1.0.0`  | `127.0.0.1:5000/team/temp-convert@sha256:…`  |
//! | layout      | `oci-layout:/abs/dir:temp-convert:1.0.0`  | `oci-layout:/abs/dir:temp-convert@sha256:…`  |
//!
//! The registry forms are what a wadm manifest's `image:` field takes. The layout forms name the
//! absolute layout directory after the `oci-layout:` scheme, then the repository and the tag (or
//! digest); wasmCloud cannot pull them directly: copy the layout to a registry first.
//!
//! # Behaviour
//!
//! * Idempotent: when the tag already holds the same component (same layer digest, same
//!   annotations apart from `created`), nothing is uploaded and
//!   [`PushOutcome::already_present`] is `true`. A blob the destination already has is never
//!   uploaded again.
//! * A tag that holds a *different* artifact is only replaced with [`PushOptions::force`]; the
//!   error ([`PushError::TagExists`]) says so and names `--force`.
//! * The manifest (the tag) is written only after every blob is in place, so a failed push
//!   leaves nothing half-tagged.
//! * Transient registry failures (connection errors, dropped connections, HTTP 5xx and 429) are
//!   retried with bounded exponential backoff ([`RetryPolicy`]).
//! * Credentials are never printed: [`RegistryAuth`]'s `Debug` redacts the password and error
//!   messages never include it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

mod artifact;
mod auth;
mod error;
mod layout;
mod registry;
mod settings;

pub use artifact::{artifact_config, component_interfaces, ComponentInterfaces};
pub use auth::{default_docker_config_path, docker_config_credentials, DockerCredential};
pub use error::PushError;
pub use layout::{layout_reference, validate_layout};
pub use registry::{copy_layout_to_registry, copy_layout_to_registry_with};
pub use settings::{destination_from_settings, plain_http_allowed, registry_from_settings};

/// Media type of the OCI image manifest that carries a component.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// Media type of the Wasm artifact config blob.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// Media type of the single layer, the component itself.
pub const LAYER_MEDIA_TYPE: &str = "application/wasm";
/// Media type of an OCI image index (`index.json` of a layout).
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// Prefix given to the caller's own manifest annotations ([`ComponentArtifact::annotations`]).
pub const ANNOTATION_PREFIX: &str = "dev.pelato.";
/// Index annotation naming a manifest in an OCI layout; its value is `<name>:<version>`.
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";
/// Scheme that starts a layout reference (see the module documentation).
pub const LAYOUT_REFERENCE_SCHEME: &str = "oci-layout:";

/// A component ready to be published.
#[derive(Clone, PartialEq, Eq)]
pub struct ComponentArtifact {
    /// The component bytes (a WebAssembly component, not a core module).
    pub wasm: Vec<u8>,
    /// Repository name, e.g. `temp-convert` (lower case, OCI repository grammar; may contain `/`).
    pub name: String,
    /// Tag: a semantic version such as `1.0.0` (build metadata `+…` is not allowed in a tag).
    pub version: String,
    /// Extra manifest annotations (task, template, toolchain, …). Keys are prefixed with
    /// [`ANNOTATION_PREFIX`] unless they already start with it.
    pub annotations: BTreeMap<String, String>,
    /// Source location recorded as `org.opencontainers.image.source`, when known.
    pub source: Option<String>,
}

impl fmt::Debug for ComponentArtifact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentArtifact")
            .field("wasm", &format_args!("<{} bytes>", self.wasm.len()))
            .field("name", &self.name)
            .field("version", &self.version)
            .field("annotations", &self.annotations)
            .field("source", &self.source)
            .finish()
    }
}

/// What a successful push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOutcome {
    /// Tagged reference: `host[:port]/repo:tag` for a registry, `oci-layout:/abs/dir:repo:tag`
    /// for a layout (see the module documentation).
    pub reference: String,
    /// Manifest digest, `sha256:<hex>`.
    pub digest: String,
    /// Reference pinned to the manifest digest: `host[:port]/repo@sha256:…` (usable by
    /// wasmCloud) or `oci-layout:/abs/dir:repo@sha256:…`.
    pub pinned_reference: String,
    /// Digest of the `application/wasm` layer, i.e. `sha256` of the component bytes.
    pub layer_digest: String,
    /// Number of blobs (layer and config) actually uploaded or written; the manifest is not
    /// counted. `0` when everything was already present.
    pub blobs_uploaded: usize,
    /// Bytes sent: uploaded blobs plus the manifest when it was written.
    pub bytes_uploaded: u64,
    /// `true` when the tag already held this very component and nothing was written.
    pub already_present: bool,
}

/// Where a component is published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An OCI registry.
    Registry(RegistryTarget),
    /// A local OCI image layout directory (created if missing; one index for many components).
    Layout(PathBuf),
}

/// An OCI registry to push to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryTarget {
    /// `host[:port]`, optionally followed by a repository path prefix: `host:5000/team`.
    pub registry: String,
    /// How to authenticate.
    pub auth: RegistryAuth,
    /// Hosts (`host` or `host:port`) that may be reached over plain HTTP although they are not
    /// loopback hosts.
    pub insecure_hosts: Vec<String>,
}

/// How to authenticate against a registry.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum RegistryAuth {
    /// No credentials.
    Anonymous,
    /// HTTP Basic credentials. `Debug` never shows the password.
    Basic {
        /// User name.
        user: String,
        /// Password or token; never printed.
        password: String,
    },
    /// Credentials from the Docker config (`$DOCKER_CONFIG/config.json` or
    /// `~/.docker/config.json`) for exactly the target registry host: `credHelpers`,
    /// `credsStore` or `auths[host].auth`. Anonymous when nothing matches.
    #[default]
    DockerConfig,
}

impl fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryAuth::Anonymous => f.write_str("Anonymous"),
            RegistryAuth::Basic { user, .. } => f
                .debug_struct("Basic")
                .field("user", user)
                .field("password", &format_args!("<redacted>"))
                .finish(),
            RegistryAuth::DockerConfig => f.write_str("DockerConfig"),
        }
    }
}

/// Options of a push.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushOptions {
    /// Replace a tag that already holds a different artifact (`--force`).
    pub force: bool,
}

/// Bounded exponential backoff for transient registry failures (connection errors, dropped
/// connections, HTTP 5xx and 429).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total tries of one request (at least 1).
    pub attempts: u32,
    /// Delay before the second try; doubled before each following one.
    pub base_delay: Duration,
    /// Upper bound of one delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// Delay before try number `next_attempt` (2 for the first retry).
    pub fn delay_before(&self, next_attempt: u32) -> Duration {
        let exp = next_attempt.saturating_sub(2).min(16);
        self.base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay)
    }
}

/// Progress of a push, reported through [`PushControl::on_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushEvent {
    /// The destination already had this blob; it was not uploaded.
    BlobSkipped {
        /// Blob digest.
        digest: String,
        /// Blob size in bytes.
        size: u64,
    },
    /// The blob was uploaded (or written into the layout).
    BlobUploaded {
        /// Blob digest.
        digest: String,
        /// Blob size in bytes.
        size: u64,
    },
    /// All blobs are in place; the manifest (and so the tag) is about to be written.
    WritingManifest {
        /// Manifest digest.
        digest: String,
    },
    /// The tag now points at the manifest.
    Tagged {
        /// Tagged reference.
        reference: String,
        /// Manifest digest.
        digest: String,
    },
}

/// Callback receiving [`PushEvent`]s; called synchronously on the pushing task.
pub type PushEventHook = Arc<dyn Fn(&PushEvent) + Send + Sync>;

/// Knobs of a push beyond [`PushOptions`]: retries, timeouts, progress events and the Docker
/// config location. [`PushControl::default`] is what [`push`] uses.
#[derive(Clone)]
pub struct PushControl {
    /// Retry policy for transient registry failures.
    pub retry: RetryPolicy,
    /// Timeout of one TCP (and TLS) connection attempt.
    pub connect_timeout: Duration,
    /// Timeout of one read from the registry.
    pub read_timeout: Duration,
    /// Progress callback.
    pub on_event: Option<PushEventHook>,
    /// Docker config file used by [`RegistryAuth::DockerConfig`]; `None` means
    /// [`default_docker_config_path`].
    pub docker_config: Option<PathBuf>,
}

impl Default for PushControl {
    fn default() -> Self {
        PushControl {
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(120),
            on_event: None,
            docker_config: None,
        }
    }
}

impl fmt::Debug for PushControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushControl")
            .field("retry", &self.retry)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("on_event", &self.on_event.as_ref().map(|_| "<hook>"))
            .field("docker_config", &self.docker_config)
            .finish()
    }
}

impl PushControl {
    pub(crate) fn emit(&self, event: PushEvent) {
        if let Some(hook) = &self.on_event {
            hook(&event);
        }
    }
}

/// Publishes `artifact` to `dest` with the default [`PushControl`].
///
/// See the module documentation for the artifact layout, idempotence, `force` and errors.
pub async fn push(
    artifact: &ComponentArtifact,
    dest: &Destination,
    opts: &PushOptions,
) -> Result<PushOutcome, PushError> {
    push_with(artifact, dest, opts, &PushControl::default()).await
}

/// Publishes `artifact` to `dest`, with explicit retries, timeouts and progress events.
pub async fn push_with(
    artifact: &ComponentArtifact,
    dest: &Destination,
    opts: &PushOptions,
    ctl: &PushControl,
) -> Result<PushOutcome, PushError> {
    let prepared = artifact::Prepared::from_artifact(artifact, &artifact::created_now())?;
    let pending = artifact::Pending::Prepared(prepared);
    match dest {
        Destination::Registry(target) => registry::push_pending(pending, target, opts, ctl).await,
        Destination::Layout(dir) => {
            let dir = absolute_dir(dir)?;
            let force = opts.force;
            let ctl = ctl.clone();
            tokio::task::spawn_blocking(move || layout::push_pending(&dir, pending, force, &ctl))
                .await
                .map_err(|e| PushError::Layout {
                    path: PathBuf::new(),
                    detail: format!("the layout writer stopped unexpectedly: {e}"),
                })?
        }
    }
}

pub(crate) fn absolute_dir(dir: &Path) -> Result<PathBuf, PushError> {
    std::path::absolute(dir).map_err(|source| PushError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

//! Errors of the push module.

use std::path::PathBuf;

/// Why a push (or a layout operation) failed. Messages name the registry and the reference;
/// they never contain credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The artifact cannot be published as given (bad name, version, annotation or not a
    /// component).
    #[error("invalid artifact: {0}")]
    InvalidArtifact(String),

    /// A registry setting (`REGISTRY_URL`, user, password) cannot be used.
    #[error("invalid registry setting: {0}")]
    InvalidSettings(String),

    /// The Docker config or a credential helper could not provide credentials.
    #[error("cannot read registry credentials: {0}")]
    Credentials(String),

    /// The tag already holds a different artifact and `force` was not set.
    #[error(
        "{reference} already exists with digest {existing} and the new artifact has digest {new}; \
         refusing to overwrite the tag: bump the version or pass --force to replace it"
    )]
    TagExists {
        /// The tagged reference.
        reference: String,
        /// Digest the tag holds now.
        existing: String,
        /// Digest of the artifact that was not pushed.
        new: String,
    },

    /// No connection could be made to the registry.
    #[error(
        "cannot reach registry {registry} while pushing {reference} \
         (gave up after {attempts} attempt(s)): {detail}"
    )]
    Unreachable {
        /// `host[:port]`.
        registry: String,
        /// The reference being pushed.
        reference: String,
        /// Tries made.
        attempts: u32,
        /// Underlying cause.
        detail: String,
    },

    /// The TLS handshake failed, typically HTTPS against a plain-HTTP registry.
    #[error(
        "TLS connection to registry {registry} failed while pushing {reference}: {detail}. \
         If this registry serves plain HTTP, list it as an insecure registry \
         (or use an http:// REGISTRY_URL)"
    )]
    Tls {
        /// `host[:port]`.
        registry: String,
        /// The reference being pushed.
        reference: String,
        /// Underlying cause.
        detail: String,
    },

    /// HTTP 401 or 403: missing, wrong or insufficient credentials.
    #[error("registry {registry} refused access to {reference} (HTTP {status}): {hint}")]
    Unauthorized {
        /// `host[:port]`.
        registry: String,
        /// The reference being pushed.
        reference: String,
        /// 401 or 403.
        status: u16,
        /// What to do about it.
        hint: String,
    },

    /// HTTP 404 on an upload: the repository does not exist and the registry does not create it.
    #[error(
        "registry {registry} has no repository for {reference} (HTTP 404): create the repository \
         (or project) first or check the registry path prefix. {detail}"
    )]
    RepositoryNotFound {
        /// `host[:port]`.
        registry: String,
        /// The reference being pushed.
        reference: String,
        /// Registry's explanation.
        detail: String,
    },

    /// HTTP 5xx or 429 that persisted through the retries.
    #[error(
        "registry {registry} failed with HTTP {status} while pushing {reference} \
         (gave up after {attempts} attempt(s)): {detail}"
    )]
    Server {
        /// `host[:port]`.
        registry: String,
        /// The reference being pushed.
        reference: String,
        /// HTTP status.
        status: u16,
        /// Tries made.
        attempts: u32,
        /// Registry's explanation.
        detail: String,
    },

    /// The connection broke in the middle of a request, through all the retries.
    #[error(
        "connection to registry {registry} dropped while pushing {reference} \
         (gave up after {attempts} attempt(s)): {detail}"
    )]
    ConnectionDropped {
        /// `host[:port]`.
        registry: String,
        /// The reference being pushed.
        reference: String,
        /// Tries made.
        attempts: u32,
        /// Underlying cause.
        detail: String,
    },

    /// Any other registry protocol failure.
    #[error("registry {registry} failed while pushing {reference}: {detail}")]
    Registry {
        /// `host[:port]`.
        registry: String,
        /// The reference being pushed.
        reference: String,
        /// What went wrong.
        detail: String,
    },

    /// A local OCI layout cannot be used.
    #[error("OCI layout {}: {detail}", path.display())]
    Layout {
        /// The layout directory.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },

    /// The layout has no manifest for the requested `<name>:<version>`.
    #[error("OCI layout {} has no component {reference} (index.json has no `org.opencontainers.image.ref.name` = {reference})", path.display())]
    NotInLayout {
        /// The layout directory.
        path: PathBuf,
        /// `<name>:<version>`.
        reference: String,
    },

    /// A file operation failed.
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl PushError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        PushError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn layout(path: impl Into<PathBuf>, detail: impl Into<String>) -> Self {
        PushError::Layout {
            path: path.into(),
            detail: detail.into(),
        }
    }
}

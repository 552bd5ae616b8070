//! Pushing to an OCI registry: existing-tag check, blob de-duplication, retries and error
//! classification on top of `oci-client`.

use std::collections::HashSet;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::task::Poll;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::{Client, Reference};

use super::artifact::{Blob, ManifestSummary, Pending};
use super::auth::{self, scrub};
use super::settings::{parse_registry, plain_http_allowed};
use super::{
    layout, PushControl, PushError, PushEvent, PushOptions, PushOutcome, RegistryTarget,
    RetryPolicy, INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE,
};

const DOCKER_MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// How one registry request failed, before it is turned into a [`PushError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// No connection could be made.
    Connect(String),
    /// TLS handshake failed.
    Tls(String),
    /// The connection broke or timed out mid-request.
    Dropped(String),
    /// The registry answered with an HTTP error status.
    Status { code: u16, detail: String },
    /// Anything else.
    Other(String),
}

impl Failure {
    /// Worth retrying: connection trouble, 5xx and 429.
    pub fn transient(&self) -> bool {
        match self {
            Failure::Connect(_) | Failure::Dropped(_) => true,
            Failure::Status { code, .. } => *code == 429 || *code >= 500,
            Failure::Tls(_) | Failure::Other(_) => false,
        }
    }
}

/// One push to one `registry/repository:tag`.
struct Session {
    client: Client,
    auth: oci_client::secrets::RegistryAuth,
    reference: Reference,
    /// `host[:port]`.
    registry: String,
    /// `prefix/name`.
    repository: String,
    /// `host[:port]/repository:tag`.
    display_ref: String,
    secrets: Vec<String>,
    has_credentials: bool,
    retry: RetryPolicy,
}

impl Session {
    fn open(
        target: &RegistryTarget,
        name: &str,
        tag: &str,
        ctl: &PushControl,
    ) -> Result<Session, PushError> {
        let parsed = parse_registry(&target.registry)?;
        let repository = match &parsed.prefix {
            Some(prefix) => format!("{prefix}/{name}"),
            None => name.to_string(),
        };
        let reference = Reference::with_tag(
            parsed.host_port.clone(),
            repository.clone(),
            tag.to_string(),
        );
        let plain = parsed.plain_http == Some(true)
            || plain_http_allowed(&parsed.host_port, &target.insecure_hosts);
        let protocol = if plain {
            ClientProtocol::HttpsExcept(vec![reference.resolve_registry().to_string()])
        } else {
            ClientProtocol::Https
        };
        let resolved = auth::resolve(&target.auth, &parsed.host_port, ctl)?;
        let display_ref = format!("{}/{repository}:{tag}", parsed.host_port);
        let config = ClientConfig {
            protocol,
            use_monolithic_push: true,
            connect_timeout: Some(ctl.connect_timeout),
            read_timeout: Some(ctl.read_timeout),
            platform_resolver: None,
            ..Default::default()
        };
        let client = Client::try_from(config).map_err(|e| PushError::Registry {
            registry: parsed.host_port.clone(),
            reference: display_ref.clone(),
            detail: format!("cannot set up the HTTP client: {e}"),
        })?;
        Ok(Session {
            client,
            auth: resolved.auth,
            reference,
            registry: parsed.host_port,
            repository,
            display_ref,
            secrets: resolved.secrets,
            has_credentials: resolved.has_credentials,
            retry: ctl.retry,
        })
    }

    /// Runs `op` with bounded exponential backoff on transient failures.
    async fn attempt<T, F, Fut>(&self, mut op: F) -> Result<T, (Failure, u32)>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, OciDistributionError>>,
    {
        let max = self.retry.attempts.max(1);
        let mut attempt = 1;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let failure = classify(&e);
                    if failure.transient() && attempt < max {
                        attempt += 1;
                        tokio::time::sleep(self.retry.delay_before(attempt)).await;
                        continue;
                    }
                    return Err((failure, attempt));
                }
            }
        }
    }

    fn error(&self, failure: Failure, attempts: u32) -> PushError {
        let registry = self.registry.clone();
        let reference = self.display_ref.clone();
        let clean = |s: &str| scrub(s.trim(), &self.secrets);
        match failure {
            Failure::Connect(detail) => PushError::Unreachable {
                registry,
                reference,
                attempts,
                detail: clean(&detail),
            },
            Failure::Tls(detail) => PushError::Tls {
                registry,
                reference,
                detail: clean(&detail),
            },
            Failure::Dropped(detail) => PushError::ConnectionDropped {
                registry,
                reference,
                attempts,
                detail: clean(&detail),
            },
            Failure::Status { code: 401, .. } => {
                let hint = if self.has_credentials {
                    format!(
                        "the registry rejected the credentials; check the user name and password \
                         (REGISTRY_USER / REGISTRY_PASSWORD, or `docker login {}`)",
                        self.registry
                    )
                } else {
                    format!(
                        "the registry requires credentials; set REGISTRY_USER and \
                         REGISTRY_PASSWORD or run `docker login {}`",
                        self.registry
                    )
                };
                PushError::Unauthorized {
                    registry,
                    reference,
                    status: 401,
                    hint,
                }
            }
            Failure::Status { code: 403, .. } => PushError::Unauthorized {
                registry,
                reference,
                status: 403,
                hint: "the credentials are not allowed to push to this repository".into(),
            },
            Failure::Status { code: 404, detail } => PushError::RepositoryNotFound {
                registry,
                reference,
                detail: clean(&detail),
            },
            Failure::Status { code, detail } if code == 429 || code >= 500 => PushError::Server {
                registry,
                reference,
                status: code,
                attempts,
                detail: clean(&detail),
            },
            Failure::Status { code, detail } => PushError::Registry {
                registry,
                reference,
                detail: format!("HTTP {code}: {}", clean(&detail)),
            },
            Failure::Other(detail) => PushError::Registry {
                registry,
                reference,
                detail: clean(&detail),
            },
        }
    }

    /// The manifest the tag points at now (raw bytes and digest), if any.
    async fn existing_manifest(&self) -> Result<Option<(Vec<u8>, String)>, PushError> {
        let accept = [
            MANIFEST_MEDIA_TYPE,
            INDEX_MEDIA_TYPE,
            DOCKER_MANIFEST_V2,
            DOCKER_MANIFEST_LIST,
        ];
        let r = self
            .attempt(|| {
                self.client
                    .pull_manifest_raw(&self.reference, &self.auth, &accept)
            })
            .await;
        match r {
            Ok(found) => Ok(Some(found)),
            Err((Failure::Status { code: 404, .. }, _)) => Ok(None),
            Err((f, n)) => Err(self.error(f, n)),
        }
    }

    /// Whether the repository already has the blob (a one-byte ranged GET).
    async fn blob_exists(&self, digest: &str) -> Result<bool, PushError> {
        self.client
            .store_auth_if_needed(self.reference.resolve_registry(), &self.auth)
            .await;
        let r = self
            .attempt(|| {
                self.client
                    .pull_blob_stream_partial(&self.reference, digest, 0, Some(1))
            })
            .await;
        match r {
            Ok(_) => Ok(true),
            Err((Failure::Status { code: 404, .. }, _)) => Ok(false),
            Err((f, n)) => Err(self.error(f, n)),
        }
    }

    async fn upload_blob(&self, blob: &Blob) -> Result<(), PushError> {
        self.attempt(|| {
            self.client
                .push_blob(&self.reference, &blob.data, &blob.digest)
        })
        .await
        .map(|_| ())
        .map_err(|(f, n)| self.error(f, n))
    }

    async fn put_manifest(&self, manifest: &Blob) -> Result<(), PushError> {
        self.attempt(|| {
            self.client.push_manifest_raw(
                &self.reference,
                manifest.data.clone(),
                MANIFEST_MEDIA_TYPE
                    .parse()
                    .expect("the manifest media type is a valid header value"),
            )
        })
        .await
        .map(|_| ())
        .map_err(|(f, n)| self.error(f, n))
    }

    fn outcome(
        &self,
        layer_digest: &str,
        digest: &str,
        blobs_uploaded: usize,
        bytes_uploaded: u64,
        already_present: bool,
    ) -> PushOutcome {
        PushOutcome {
            reference: self.display_ref.clone(),
            digest: digest.to_string(),
            pinned_reference: format!("{}/{}@{digest}", self.registry, self.repository),
            layer_digest: layer_digest.to_string(),
            blobs_uploaded,
            bytes_uploaded,
            already_present,
        }
    }

    /// Uploads `blob` unless the repository has it (`known_present` saves the check).
    /// Returns the bytes uploaded, `None` when skipped.
    async fn ensure_blob(
        &self,
        blob: &Blob,
        known_present: Option<bool>,
        ctl: &PushControl,
    ) -> Result<Option<u64>, PushError> {
        let present = match known_present {
            Some(p) => p,
            None => self.blob_exists(&blob.digest).await?,
        };
        if present {
            ctl.emit(PushEvent::BlobSkipped {
                digest: blob.digest.clone(),
                size: blob.size(),
            });
            return Ok(None);
        }
        self.upload_blob(blob).await?;
        ctl.emit(PushEvent::BlobUploaded {
            digest: blob.digest.clone(),
            size: blob.size(),
        });
        Ok(Some(blob.size()))
    }
}

/// Polls all futures concurrently on the current task and returns their outputs in order.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(v) => *output = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("every future completed"))
        .collect()
}

/// Pushes an artifact: the tag and the largest blob are checked together; an unchanged
/// artifact stops there. Otherwise the missing blobs are uploaded concurrently and the manifest
/// is written last, once every blob is in place.
pub(crate) async fn push_pending(
    pending: Pending,
    target: &RegistryTarget,
    opts: &PushOptions,
    ctl: &PushControl,
) -> Result<PushOutcome, PushError> {
    let session = Session::open(target, pending.name(), pending.tag(), ctl)?;
    let first = pending.first_blob().digest.clone();
    let (existing, first_present) =
        tokio::join!(session.existing_manifest(), session.blob_exists(&first));

    if let Some((bytes, existing)) = existing? {
        let summary = ManifestSummary::parse(&bytes).ok();
        if pending.matches(&existing, summary.as_ref()) {
            return Ok(session.outcome(pending.layer_digest(), &existing, 0, 0, true));
        }
        if !opts.force {
            let built = pending.finish()?;
            return Err(PushError::TagExists {
                reference: session.display_ref.clone(),
                existing,
                new: built.manifest.digest,
            });
        }
    }
    let first_present = first_present?;
    let built = pending.finish()?;

    let mut seen = HashSet::new();
    let jobs: Vec<_> = built
        .blobs
        .iter()
        .filter(|b| seen.insert(b.digest.as_str()))
        .map(|b| {
            let known = (b.digest == first).then_some(first_present);
            session.ensure_blob(b, known, ctl)
        })
        .collect();
    let mut blobs_uploaded = 0;
    let mut bytes_uploaded = 0;
    for result in join_all(jobs).await {
        if let Some(size) = result? {
            blobs_uploaded += 1;
            bytes_uploaded += size;
        }
    }

    let new_digest = &built.manifest.digest;
    ctl.emit(PushEvent::WritingManifest {
        digest: new_digest.clone(),
    });
    session.put_manifest(&built.manifest).await?;
    bytes_uploaded += built.manifest.size();
    ctl.emit(PushEvent::Tagged {
        reference: session.display_ref.clone(),
        digest: new_digest.clone(),
    });
    Ok(session.outcome(
        &built.layer_digest,
        new_digest,
        blobs_uploaded,
        bytes_uploaded,
        false,
    ))
}

/// Copies the component `<name>:<version>` of an OCI layout to a registry, byte for byte (the
/// manifest digest does not change). Same idempotence and `force` rules as [`super::push`].
/// This is `pelato push --from-layout`.
pub async fn copy_layout_to_registry(
    layout: &Path,
    name: &str,
    version: &str,
    target: &RegistryTarget,
    opts: &PushOptions,
) -> Result<PushOutcome, PushError> {
    copy_layout_to_registry_with(layout, name, version, target, opts, &PushControl::default()).await
}

/// [`copy_layout_to_registry`] with explicit retries, timeouts and progress events.
pub async fn copy_layout_to_registry_with(
    layout_dir: &Path,
    name: &str,
    version: &str,
    target: &RegistryTarget,
    opts: &PushOptions,
    ctl: &PushControl,
) -> Result<PushOutcome, PushError> {
    let dir = super::absolute_dir(layout_dir)?;
    let (name, version) = (name.to_string(), version.to_string());
    let built = tokio::task::spawn_blocking(move || layout::load(&dir, &name, &version))
        .await
        .map_err(|e| PushError::layout(layout_dir, format!("the layout reader stopped: {e}")))??;
    push_pending(Pending::Built(built), target, opts, ctl).await
}

/// Maps an `oci-client` error to a [`Failure`].
pub(crate) fn classify(e: &OciDistributionError) -> Failure {
    match e {
        OciDistributionError::RequestError(re) => {
            let status = re.status().map(|s| s.as_u16());
            let err: &(dyn std::error::Error + 'static) = re;
            classify_transport(err, re.is_connect(), re.is_timeout(), status)
        }
        OciDistributionError::IoError(io) => classify_transport(io, false, false, None),
        OciDistributionError::ServerError { code, message, .. } => Failure::Status {
            code: *code,
            detail: message.clone(),
        },
        OciDistributionError::UnauthorizedError { .. } => Failure::Status {
            code: 401,
            detail: String::new(),
        },
        OciDistributionError::AuthenticationFailure(reason) => Failure::Status {
            code: 401,
            detail: reason.clone(),
        },
        OciDistributionError::RegistryError { envelope, .. } => {
            let detail = envelope
                .errors
                .iter()
                .map(|e| format!("{:?}: {}", e.code, e.message))
                .collect::<Vec<_>>()
                .join("; ");
            let code = envelope.errors.first().map(|e| match e.code {
                OciErrorCode::Unauthorized => 401,
                OciErrorCode::Denied => 403,
                OciErrorCode::NameUnknown
                | OciErrorCode::ManifestUnknown
                | OciErrorCode::BlobUnknown
                | OciErrorCode::NotFound => 404,
                OciErrorCode::Toomanyrequests => 429,
                _ => 400,
            });
            match code {
                Some(code) => Failure::Status { code, detail },
                None => Failure::Other(e.to_string()),
            }
        }
        other => Failure::Other(other.to_string()),
    }
}

/// Classifies a transport error from its source chain.
fn classify_transport(
    err: &(dyn std::error::Error + 'static),
    is_connect: bool,
    is_timeout: bool,
    status: Option<u16>,
) -> Failure {
    let mut messages: Vec<String> = Vec::new();
    let mut io_kind = None;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        let m = e.to_string();
        if !messages.iter().any(|prev| prev.contains(&m)) {
            messages.push(m);
        }
        if io_kind.is_none() {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                io_kind = Some(io.kind());
            }
        }
        cur = e.source();
    }
    let detail = messages.join(": ");
    if let Some(code) = status {
        return Failure::Status { code, detail };
    }
    // The outermost message names the URL; look for TLS trouble in the causes only.
    let inner = messages
        .iter()
        .skip(1)
        .map(|m| m.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(" | ");
    let tls_words = [
        "tls",
        "ssl",
        "certificate",
        "handshake",
        "invalidcontenttype",
        "corrupt message",
        "invalid peer",
    ];
    if tls_words.iter().any(|w| inner.contains(w)) {
        return Failure::Tls(detail);
    }
    use std::io::ErrorKind as K;
    if matches!(
        io_kind,
        Some(K::ConnectionRefused | K::NotFound | K::AddrNotAvailable)
    ) {
        return Failure::Connect(detail);
    }
    if is_connect {
        return Failure::Connect(detail);
    }
    if is_timeout {
        return Failure::Dropped(format!("timed out: {detail}"));
    }
    Failure::Dropped(detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_are_bounded() {
        let p = RetryPolicy {
            attempts: 5,
            base_delay: std::time::Duration::from_millis(100),
            max_delay: std::time::Duration::from_millis(250),
        };
        assert_eq!(p.delay_before(2).as_millis(), 100);
        assert_eq!(p.delay_before(3).as_millis(), 200);
        assert_eq!(p.delay_before(4).as_millis(), 250);
        assert_eq!(p.delay_before(40).as_millis(), 250);
    }

    #[test]
    fn classification() {
        let server = |code| OciDistributionError::ServerError {
            code,
            url: "http://x/v2/".into(),
            message: "boom".into(),
        };
        assert!(classify(&server(503)).transient());
        assert!(classify(&server(429)).transient());
        assert!(!classify(&server(401)).transient());
        assert_eq!(
            classify(&OciDistributionError::UnauthorizedError { url: "u".into() }),
            Failure::Status {
                code: 401,
                detail: String::new()
            }
        );
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(matches!(
            classify(&OciDistributionError::IoError(refused)),
            Failure::Connect(_)
        ));
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let f = classify(&OciDistributionError::IoError(reset));
        assert!(matches!(f, Failure::Dropped(_)) && f.transient());
        let envelope: oci_client::errors::OciEnvelope = serde_json::from_str(
            r#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}"#,
        )
        .unwrap();
        assert!(matches!(
            classify(&OciDistributionError::RegistryError {
                envelope,
                url: "u".into()
            }),
            Failure::Status { code: 404, .. }
        ));
    }

    #[test]
    fn error_messages_never_carry_secrets() {
        let ctl = PushControl::default();
        let target = RegistryTarget {
            registry: "reg.example:5000/team".into(),
            auth: super::super::RegistryAuth::Basic {
                user: "alice".into(),
                password: "pa55word!".into(),
            },
            insecure_hosts: vec![],
        };
        let s = Session::open(&target, "comp", "1.0.0", &ctl).unwrap();
        assert_eq!(s.display_ref, "reg.example:5000/team/comp:1.0.0");
        for f in [
            Failure::Status {
                code: 401,
                detail: "echo pa55word!".into(),
            },
            Failure::Status {
                code: 500,
                detail: "echo pa55word!".into(),
            },
            Failure::Other("Basic YWxpY2U6cGE1NXdvcmQh".into()),
            Failure::Connect("pa55word!".into()),
        ] {
            let msg = s.error(f, 3).to_string();
            assert!(
                !msg.contains("pa55word!") && !msg.contains("YWxpY2U6cGE1NXdvcmQh"),
                "{msg}"
            );
            assert!(msg.contains("reg.example:5000"), "{msg}");
        }
        let msg = s
            .error(
                Failure::Status {
                    code: 401,
                    detail: String::new(),
                },
                1,
            )
            .to_string();
        assert!(msg.contains("rejected the credentials"), "{msg}");
    }
}

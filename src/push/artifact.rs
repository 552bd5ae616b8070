//! Building the artifact: config body, manifest, digests, name and tag checks.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::util::digest::sha256_digest;
use serde::Serialize;
use serde_json::{json, Value};

use super::{
    ComponentArtifact, PushError, ANNOTATION_PREFIX, CONFIG_MEDIA_TYPE, LAYER_MEDIA_TYPE,
    MANIFEST_MEDIA_TYPE,
};

pub(crate) const ANN_CREATED: &str = "org.opencontainers.image.created";
pub(crate) const ANN_VERSION: &str = "org.opencontainers.image.version";
pub(crate) const ANN_TITLE: &str = "org.opencontainers.image.title";
pub(crate) const ANN_SOURCE: &str = "org.opencontainers.image.source";

/// The interface names a component imports and exports, as recorded in the artifact config.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ComponentInterfaces {
    /// Imported interfaces (`wasi:io/streams@0.2.0`) and top-level imported names, in world order.
    pub imports: Vec<String>,
    /// Exported interfaces (`wasmcloud:messaging/handler@0.2.0`) and top-level exported names.
    pub exports: Vec<String>,
}

/// Decodes a component and lists its imports and exports (interfaces by their full
/// `namespace:package/interface@version` name, other items by their plain name).
pub fn component_interfaces(wasm: &[u8]) -> Result<ComponentInterfaces, PushError> {
    check_component_header(wasm)?;
    let decoded = wit_parser::decoding::decode(wasm).map_err(|e| {
        PushError::InvalidArtifact(format!(
            "not a WebAssembly component (a core module must be componentized first): {e:#}"
        ))
    })?;
    let (resolve, world_id) = match decoded {
        wit_parser::decoding::DecodedWasm::Component(resolve, world) => (resolve, world),
        wit_parser::decoding::DecodedWasm::WitPackage(..) => {
            return Err(PushError::InvalidArtifact(
                "this is a WIT package, not a component".into(),
            ))
        }
    };
    let world = &resolve.worlds[world_id];
    let name = |key: &wit_parser::WorldKey| match key {
        wit_parser::WorldKey::Interface(id) => resolve.id_of(*id),
        wit_parser::WorldKey::Name(n) => Some(n.clone()),
    };
    Ok(ComponentInterfaces {
        imports: world.imports.keys().filter_map(name).collect(),
        exports: world.exports.keys().filter_map(name).collect(),
    })
}

/// The body of the `application/vnd.wasm.config.v0+json` config blob for `wasm`:
/// `{"architecture":"wasm","os":"wasip2","created":created,"layerDigests":[layer_digest],
/// "component":{"exports":[…],"imports":[…],"target":null}}`.
///
/// `layer_digest` must be the `sha256:` digest of `wasm`; `created` an RFC 3339 time.
pub fn artifact_config(wasm: &[u8], layer_digest: &str, created: &str) -> Result<Value, PushError> {
    let actual = sha256_digest(wasm);
    if layer_digest != actual {
        return Err(PushError::InvalidArtifact(format!(
            "layer digest {layer_digest} is not the digest of the component ({actual})"
        )));
    }
    if !looks_like_rfc3339(created) {
        return Err(PushError::InvalidArtifact(format!(
            "created time {created:?} is not an RFC 3339 date-time"
        )));
    }
    let interfaces = component_interfaces(wasm)?;
    Ok(config_body(&interfaces, layer_digest, created))
}

fn config_body(interfaces: &ComponentInterfaces, layer_digest: &str, created: &str) -> Value {
    json!({
        "architecture": "wasm",
        "os": "wasip2",
        "created": created,
        "layerDigests": [layer_digest],
        "component": {
            "exports": interfaces.exports,
            "imports": interfaces.imports,
            "target": Value::Null,
        }
    })
}

/// Cheap check of the binary header: WebAssembly, and a component rather than a core module.
fn check_component_header(wasm: &[u8]) -> Result<(), PushError> {
    if wasm.len() < 8 || &wasm[0..4] != b"\0asm" {
        return Err(PushError::InvalidArtifact(
            "the bytes are not WebAssembly (missing the \\0asm header)".into(),
        ));
    }
    // Bytes 6..8 are the layer: 0 for a core module, 1 for a component.
    if wasm[6..8] != [1, 0] {
        return Err(PushError::InvalidArtifact(
            "this is a core WebAssembly module, not a WebAssembly component: componentize it first"
                .into(),
        ));
    }
    Ok(())
}

/// Creation time: `SOURCE_DATE_EPOCH` when set (reproducible builds), else now; RFC 3339 UTC.
pub(crate) fn created_now() -> String {
    let secs = crate::config::from_process("SOURCE_DATE_EPOCH")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        });
    format_rfc3339(secs)
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn format_rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

fn looks_like_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b't')
        && b[13] == b':'
        && b[16] == b':'
        && [0..4, 5..7, 8..10, 11..13, 14..16, 17..19]
            .iter()
            .all(|r| b[r.clone()].iter().all(u8::is_ascii_digit))
}

/// Checks an OCI repository name (lower case components separated by `/`).
pub(crate) fn validate_repository(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the component name is empty".into());
    }
    if name.len() > 255 {
        return Err(format!("the name {name:?} is longer than 255 characters"));
    }
    for component in name.split('/') {
        if !valid_path_component(component) {
            return Err(format!(
                "{name:?} is not a valid OCI repository name: use lower-case letters, digits and \
                 single '.', '_', '__' or '-' separators (e.g. temp-convert)"
            ));
        }
    }
    Ok(())
}

fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator: '.', '_', '__' or one or more '-'.
        let start = i;
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if i == start || i >= b.len() || !is_alnum(b[i]) {
            return false;
        }
    }
    true
}

fn is_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// Checks the version: a semantic version usable as an OCI tag.
pub(crate) fn validate_version(version: &str) -> Result<(), String> {
    semver::Version::parse(version)
        .map_err(|e| format!("version {version:?} is not a semantic version such as 1.0.0: {e}"))?;
    if version.contains('+') {
        return Err(format!(
            "version {version:?} has build metadata ('+'), which an OCI tag cannot hold"
        ));
    }
    if !valid_tag(version) {
        return Err(format!("version {version:?} is not a valid OCI tag"));
    }
    Ok(())
}

pub(crate) fn valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// One content-addressed blob.
#[derive(Clone)]
pub(crate) struct Blob {
    pub media_type: String,
    pub digest: String,
    pub data: Vec<u8>,
}

impl Blob {
    pub fn new(media_type: &str, data: Vec<u8>) -> Blob {
        Blob {
            media_type: media_type.to_string(),
            digest: sha256_digest(&data),
            data,
        }
    }

    pub fn size(&self) -> u64 {
        self.data.len() as u64
    }
}

/// What identifies the content of a manifest apart from its creation time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ManifestSummary {
    pub config_media_type: String,
    pub config_digest: String,
    pub layers: Vec<(String, String)>,
    pub annotations: BTreeMap<String, String>,
}

impl ManifestSummary {
    pub fn parse(bytes: &[u8]) -> Result<ManifestSummary, String> {
        let v: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("manifest is not JSON: {e}"))?;
        let desc = |d: &Value| -> Option<(String, String)> {
            Some((
                d.get("mediaType")?.as_str()?.to_string(),
                d.get("digest")?.as_str()?.to_string(),
            ))
        };
        let (config_media_type, config_digest) = v
            .get("config")
            .and_then(desc)
            .ok_or("manifest has no config descriptor")?;
        let layers = v
            .get("layers")
            .and_then(Value::as_array)
            .ok_or("manifest has no layers")?
            .iter()
            .map(|l| desc(l).ok_or("manifest has a malformed layer descriptor"))
            .collect::<Result<Vec<_>, _>>()?;
        let annotations = v
            .get("annotations")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        Ok(ManifestSummary {
            config_media_type,
            config_digest,
            layers,
            annotations,
        })
    }

    /// Same component and annotations, ignoring the creation time (and so the config digest).
    pub fn same_content(&self, other: &ManifestSummary) -> bool {
        self.config_media_type == other.config_media_type
            && self.layers == other.layers
            && same_annotations(&self.annotations, &other.annotations)
    }

    /// All blob digests the manifest references (layers, then config).
    pub fn blob_digests(&self) -> Vec<String> {
        let mut v: Vec<String> = self.layers.iter().map(|(_, d)| d.clone()).collect();
        v.push(self.config_digest.clone());
        v
    }
}

/// Annotations equal apart from the creation time.
fn same_annotations(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> bool {
    let strip = |m: &BTreeMap<String, String>| {
        m.iter()
            .filter(|(k, _)| k.as_str() != ANN_CREATED)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    strip(a) == strip(b)
}

/// An artifact ready to be written: its manifest and every blob the manifest references.
#[derive(Clone)]
pub(crate) struct Built {
    /// Repository name (without registry prefix).
    pub name: String,
    /// Tag.
    pub tag: String,
    /// The manifest blob (raw bytes as pushed).
    pub manifest: Blob,
    /// Layers, then the config.
    pub blobs: Vec<Blob>,
    pub summary: ManifestSummary,
    /// Digest of the `application/wasm` layer (or of the first layer).
    pub layer_digest: String,
}

#[derive(Serialize)]
struct DescriptorJson<'a> {
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    digest: &'a str,
    size: u64,
}

#[derive(Serialize)]
struct ManifestJson<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    config: DescriptorJson<'a>,
    layers: Vec<DescriptorJson<'a>>,
    annotations: &'a BTreeMap<String, String>,
}

/// A component whose layer and annotations are known; the config (which needs the component
/// decoded) and the manifest are made by [`Prepared::finish`], so that an unchanged re-push is
/// recognised without decoding anything.
#[derive(Clone)]
pub(crate) struct Prepared {
    pub name: String,
    pub tag: String,
    pub layer: Blob,
    pub annotations: BTreeMap<String, String>,
    pub created: String,
}

impl Prepared {
    /// Checks the name, version, annotations and binary header, and hashes the component.
    pub fn from_artifact(
        artifact: &ComponentArtifact,
        created: &str,
    ) -> Result<Prepared, PushError> {
        validate_repository(&artifact.name).map_err(PushError::InvalidArtifact)?;
        validate_version(&artifact.version).map_err(PushError::InvalidArtifact)?;
        check_component_header(&artifact.wasm)?;
        if !looks_like_rfc3339(created) {
            return Err(PushError::InvalidArtifact(format!(
                "created time {created:?} is not an RFC 3339 date-time"
            )));
        }
        let mut annotations = BTreeMap::new();
        for (key, value) in &artifact.annotations {
            let key = if key.starts_with(ANNOTATION_PREFIX) {
                key.clone()
            } else {
                format!("{ANNOTATION_PREFIX}{key}")
            };
            if key.len() == ANNOTATION_PREFIX.len()
                || key.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(PushError::InvalidArtifact(format!(
                    "annotation key {key:?} is empty or contains whitespace"
                )));
            }
            annotations.insert(key, value.clone());
        }
        annotations.insert(ANN_CREATED.to_string(), created.to_string());
        annotations.insert(ANN_VERSION.to_string(), artifact.version.clone());
        annotations.insert(ANN_TITLE.to_string(), artifact.name.clone());
        if let Some(source) = artifact.source.as_deref().filter(|s| !s.is_empty()) {
            annotations.insert(ANN_SOURCE.to_string(), source.to_string());
        }
        Ok(Prepared {
            name: artifact.name.clone(),
            tag: artifact.version.clone(),
            layer: Blob::new(LAYER_MEDIA_TYPE, artifact.wasm.clone()),
            annotations,
            created: created.to_string(),
        })
    }

    /// Whether `existing` holds this very component with the same annotations (the creation
    /// time, and so the config digest, may differ).
    pub fn matches(&self, existing: &ManifestSummary) -> bool {
        existing.config_media_type == CONFIG_MEDIA_TYPE
            && existing.layers == [(LAYER_MEDIA_TYPE.to_string(), self.layer.digest.clone())]
            && same_annotations(&existing.annotations, &self.annotations)
    }

    /// Decodes the component and builds the config and the manifest.
    pub fn finish(self) -> Result<Built, PushError> {
        let interfaces = component_interfaces(&self.layer.data)?;
        let config_value = config_body(&interfaces, &self.layer.digest, &self.created);
        let config_bytes = serde_json::to_vec(&config_value)
            .map_err(|e| PushError::InvalidArtifact(format!("cannot encode the config: {e}")))?;
        let config = Blob::new(CONFIG_MEDIA_TYPE, config_bytes);
        let layer = self.layer;
        let annotations = self.annotations;
        let manifest_json = ManifestJson {
            schema_version: 2,
            media_type: MANIFEST_MEDIA_TYPE,
            config: DescriptorJson {
                media_type: CONFIG_MEDIA_TYPE,
                digest: &config.digest,
                size: config.size(),
            },
            layers: vec![DescriptorJson {
                media_type: LAYER_MEDIA_TYPE,
                digest: &layer.digest,
                size: layer.size(),
            }],
            annotations: &annotations,
        };
        let manifest_bytes = serde_json::to_vec(&manifest_json)
            .map_err(|e| PushError::InvalidArtifact(format!("cannot encode the manifest: {e}")))?;
        let summary = ManifestSummary {
            config_media_type: CONFIG_MEDIA_TYPE.to_string(),
            config_digest: config.digest.clone(),
            layers: vec![(LAYER_MEDIA_TYPE.to_string(), layer.digest.clone())],
            annotations,
        };
        Ok(Built {
            name: self.name,
            tag: self.tag,
            manifest: Blob::new(MANIFEST_MEDIA_TYPE, manifest_bytes),
            layer_digest: layer.digest.clone(),
            blobs: vec![layer, config],
            summary,
        })
    }
}

/// What a push writes: a component still to be finished, or a complete artifact (read from a
/// layout).
pub(crate) enum Pending {
    Prepared(Prepared),
    Built(Built),
}

impl Pending {
    pub fn name(&self) -> &str {
        match self {
            Pending::Prepared(p) => &p.name,
            Pending::Built(b) => &b.name,
        }
    }

    pub fn tag(&self) -> &str {
        match self {
            Pending::Prepared(p) => &p.tag,
            Pending::Built(b) => &b.tag,
        }
    }

    pub fn layer_digest(&self) -> &str {
        match self {
            Pending::Prepared(p) => &p.layer.digest,
            Pending::Built(b) => &b.layer_digest,
        }
    }

    /// The largest blob, known before [`Pending::finish`]: checked early and concurrently.
    pub fn first_blob(&self) -> &Blob {
        match self {
            Pending::Prepared(p) => &p.layer,
            Pending::Built(b) => &b.blobs[0],
        }
    }

    /// Whether the manifest `existing_digest` (parsed as `existing`) already is this artifact.
    pub fn matches(&self, existing_digest: &str, existing: Option<&ManifestSummary>) -> bool {
        match self {
            Pending::Prepared(p) => existing.is_some_and(|e| p.matches(e)),
            Pending::Built(b) => {
                existing_digest == b.manifest.digest
                    || existing.is_some_and(|e| e.same_content(&b.summary))
            }
        }
    }

    pub fn finish(self) -> Result<Built, PushError> {
        match self {
            Pending::Prepared(p) => p.finish(),
            Pending::Built(b) => Ok(b),
        }
    }
}

impl Built {
    /// An artifact read back from somewhere else (an OCI layout): the manifest bytes are kept
    /// as they are so that the digest does not change.
    pub fn from_parts(
        name: &str,
        tag: &str,
        manifest: Blob,
        blobs: Vec<Blob>,
    ) -> Result<Built, String> {
        let summary = ManifestSummary::parse(&manifest.data)?;
        let layer_digest = summary
            .layers
            .iter()
            .find(|(mt, _)| mt == LAYER_MEDIA_TYPE)
            .or(summary.layers.first())
            .map(|(_, d)| d.clone())
            .ok_or("the manifest has no layer")?;
        Ok(Built {
            name: name.to_string(),
            tag: tag.to_string(),
            manifest,
            blobs,
            summary,
            layer_digest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formatting() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(1_718_000_000), "2024-06-10T06:13:20Z");
        assert!(looks_like_rfc3339(&created_now()));
        assert!(!looks_like_rfc3339("yesterday"));
    }

    #[test]
    fn repository_names() {
        for ok in [
            "temp-convert",
            "a",
            "team/temp_convert",
            "a.b",
            "a__b",
            "a--b",
            "x9",
        ] {
            assert!(validate_repository(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "Temp", "-a", "a-", "a..b", "a___b", "a//b", "/a", "a b", "a:b",
        ] {
            assert!(validate_repository(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions() {
        assert!(validate_version("1.0.0").is_ok());
        assert!(validate_version("1.2.3-rc.1").is_ok());
        assert!(validate_version("latest").is_err());
        assert!(validate_version("1.0").is_err());
        let e = validate_version("1.0.0+build5").unwrap_err();
        assert!(e.contains("build metadata"), "{e}");
    }

    #[test]
    fn config_rejects_non_components() {
        let core_module = b"\0asm\x01\0\0\0".to_vec();
        let digest = sha256_digest(&core_module);
        let e = artifact_config(&core_module, &digest, "2024-01-01T00:00:00Z").unwrap_err();
        assert!(e.to_string().contains("not a WebAssembly component"), "{e}");
        let mut bad_component = b"\0asm\x0d\0\x01\0".to_vec();
        bad_component.extend_from_slice(b"\x07garbage");
        let d = sha256_digest(&bad_component);
        let e = artifact_config(&bad_component, &d, "2024-01-01T00:00:00Z").unwrap_err();
        assert!(e.to_string().contains("not a WebAssembly component"), "{e}");
        let e = artifact_config(
            b"hello world",
            &sha256_digest(b"hello world"),
            "2024-01-01T00:00:00Z",
        )
        .unwrap_err();
        assert!(e.to_string().contains("not WebAssembly"), "{e}");
        let e = artifact_config(&core_module, "sha256:00", "2024-01-01T00:00:00Z").unwrap_err();
        assert!(e.to_string().contains("layer digest"), "{e}");
    }

    #[test]
    fn same_content_ignores_created() {
        let mut a = ManifestSummary {
            config_media_type: CONFIG_MEDIA_TYPE.into(),
            config_digest: "sha256:aa".into(),
            layers: vec![(LAYER_MEDIA_TYPE.into(), "sha256:11".into())],
            annotations: BTreeMap::from([(ANN_CREATED.to_string(), "t1".to_string())]),
        };
        let mut b = a.clone();
        b.config_digest = "sha256:bb".into();
        b.annotations.insert(ANN_CREATED.into(), "t2".into());
        assert!(a.same_content(&b));
        a.annotations.insert("dev.pelato.task".into(), "x".into());
        assert!(!a.same_content(&b));
    }
}

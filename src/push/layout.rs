//! Local OCI image layout: atomic, locked writes; spec validation; reading back for a copy.
//!
//! Layout: `oci-layout` (`{"imageLayoutVersion":"1.0.0"}`), `index.json` (one entry per
//! component, `org.opencontainers.image.ref.name` = `<name>:<version>`), `blobs/sha256/<hex>`.
//! Blobs are written to a temporary file and renamed into place; `index.json` is rewritten the
//! same way (with the usual file mode). An OS lock on `.pelato-push.lock` serialises writers, across
//! threads and processes.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use crate::util::digest::Algorithm;
use crate::util::fs::write_atomic as write_file_atomic;
use crate::util::lock::LockedFile;
use serde_json::{json, Value};

use super::artifact::{valid_tag, validate_repository, Blob, Built, ManifestSummary, Pending};
use super::{
    PushControl, PushError, PushEvent, PushOutcome, INDEX_MEDIA_TYPE, LAYOUT_REFERENCE_SCHEME,
    MANIFEST_MEDIA_TYPE, REF_NAME_ANNOTATION,
};

const LAYOUT_FILE: &str = "oci-layout";
const INDEX_FILE: &str = "index.json";
const LOCK_FILE: &str = ".pelato-push.lock";
const LAYOUT_VERSION: &str = "1.0.0";
const DOCKER_MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// The layout reference of a component: `oci-layout:<abs dir>:<name>:<tag>`, or
/// `oci-layout:<abs dir>:<name>@sha256:…` when `tag_or_digest` is a digest.
pub fn layout_reference(dir: &Path, name: &str, tag_or_digest: &str) -> String {
    let sep = if tag_or_digest.contains(':') {
        '@'
    } else {
        ':'
    };
    format!(
        "{LAYOUT_REFERENCE_SCHEME}{}:{name}{sep}{tag_or_digest}",
        dir.display()
    )
}

/// Splits a digest into algorithm and encoded part, checking the OCI digest grammar and, for
/// `sha256`/`sha512`, the hex length.
fn parse_digest(digest: &str) -> Result<(&str, &str), String> {
    let (alg, enc) = digest
        .split_once(':')
        .ok_or_else(|| format!("digest {digest:?} has no algorithm prefix"))?;
    let alg_ok = !alg.is_empty()
        && alg.split(['+', '.', '_', '-']).all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    let enc_ok = !enc.is_empty()
        && enc
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'=' | b'_' | b'-'));
    if !alg_ok || !enc_ok {
        return Err(format!("digest {digest:?} is malformed"));
    }
    let hex_len = match alg {
        "sha256" => Some(64),
        "sha512" => Some(128),
        _ => None,
    };
    if let Some(n) = hex_len {
        if enc.len() != n
            || !enc
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        {
            return Err(format!(
                "digest {digest:?} is malformed ({alg} needs {n} lower-case hex digits)"
            ));
        }
    }
    Ok((alg, enc))
}

fn valid_media_type(mt: &str) -> bool {
    let Some((t, s)) = mt.split_once('/') else {
        return false;
    };
    let tok = |x: &str| {
        !x.is_empty()
            && x.len() <= 127
            && x.bytes().all(|c| {
                c.is_ascii_alphanumeric()
                    || matches!(
                        c,
                        b'!' | b'#' | b'$' | b'&' | b'-' | b'^' | b'_' | b'.' | b'+'
                    )
            })
    };
    tok(t) && tok(s)
}

fn blob_path(dir: &Path, digest: &str) -> Result<PathBuf, String> {
    let (alg, enc) = parse_digest(digest)?;
    Ok(dir.join("blobs").join(alg).join(enc))
}

/// Hashes the file at `path` with the digest's algorithm; returns (matches, size).
fn hash_file(path: &Path, digest: &str) -> io::Result<(bool, u64)> {
    let (alg, enc) =
        parse_digest(digest).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let alg = Algorithm::from_name(alg).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::Unsupported,
            format!("digest algorithm {alg} is not supported"),
        )
    })?;
    let (hex, size) = alg.hex_reader(File::open(path)?, &mut |_| {})?;
    Ok((hex == enc, size))
}

/// Reads a blob and checks its digest (and size when known).
fn read_blob(dir: &Path, digest: &str, size: Option<u64>) -> Result<Vec<u8>, String> {
    let path = blob_path(dir, digest)?;
    let data = fs::read(&path).map_err(|e| format!("blob {digest} cannot be read: {e}"))?;
    if let Some(size) = size {
        if data.len() as u64 != size {
            return Err(format!(
                "blob {digest} has {} bytes, its descriptor says {size}",
                data.len()
            ));
        }
    }
    let actual = match Algorithm::from_name(parse_digest(digest)?.0) {
        Some(alg) => alg.digest(&data),
        None => {
            let other = parse_digest(digest)?.0;
            return Err(format!("digest algorithm {other} is not supported"));
        }
    };
    if actual != digest {
        return Err(format!(
            "blob {digest} is corrupt: its content hashes to {actual}"
        ));
    }
    Ok(data)
}

/// Whether the blob is present with the right content.
fn blob_intact(dir: &Path, digest: &str) -> bool {
    match blob_path(dir, digest) {
        Ok(p) => matches!(hash_file(&p, digest), Ok((true, _))),
        Err(_) => false,
    }
}

/// Writes `data` to `dest` atomically (see [`crate::util::fs::write_atomic`]).
fn write_atomic(dest: &Path, data: &[u8]) -> Result<(), PushError> {
    write_file_atomic(dest, data).map_err(|e| PushError::io(dest, e))
}

/// Takes the layout's lock (an OS file lock on `.pelato-push.lock`), waiting for another push
/// into the same layout if needed. A push that dies releases it with its process.
fn lock_layout(dir: &Path) -> Result<LockedFile, PushError> {
    let path = dir.join(LOCK_FILE);
    LockedFile::acquire(&path, &mut || {}).map_err(|e| PushError::io(&path, e))
}

fn ensure_layout_file(dir: &Path) -> Result<(), PushError> {
    let path = dir.join(LAYOUT_FILE);
    match fs::read(&path) {
        Ok(bytes) => {
            let v: Value = serde_json::from_slice(&bytes)
                .map_err(|e| PushError::layout(dir, format!("oci-layout is not JSON: {e}")))?;
            match v.get("imageLayoutVersion").and_then(Value::as_str) {
                Some(LAYOUT_VERSION) => Ok(()),
                other => Err(PushError::layout(
                    dir,
                    format!("unsupported imageLayoutVersion {other:?} (expected \"1.0.0\")"),
                )),
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let body = serde_json::to_vec(&json!({ "imageLayoutVersion": LAYOUT_VERSION }))
                .expect("static JSON");
            write_atomic(&path, &body)
        }
        Err(e) => Err(PushError::io(path, e)),
    }
}

fn read_index(dir: &Path) -> Result<Value, PushError> {
    let path = dir.join(INDEX_FILE);
    match fs::read(&path) {
        Ok(bytes) => {
            let v: Value = serde_json::from_slice(&bytes)
                .map_err(|e| PushError::layout(dir, format!("index.json is not JSON: {e}")))?;
            if !v.is_object() || !v.get("manifests").is_none_or(Value::is_array) {
                return Err(PushError::layout(
                    dir,
                    "index.json is not an OCI image index (no manifests array)",
                ));
            }
            Ok(v)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(json!({
            "schemaVersion": 2,
            "mediaType": INDEX_MEDIA_TYPE,
            "manifests": [],
        })),
        Err(e) => Err(PushError::io(path, e)),
    }
}

fn ref_name_of(entry: &Value) -> Option<&str> {
    entry
        .get("annotations")
        .and_then(|a| a.get(REF_NAME_ANNOTATION))
        .and_then(Value::as_str)
}

/// The state of the manifest a tag points at in the layout.
enum Existing {
    /// Manifest and all its blobs present and intact.
    Intact(ManifestSummary),
    /// Something is missing or corrupt: the entry may be replaced.
    Damaged,
}

fn existing_state(dir: &Path, digest: &str) -> Existing {
    let Ok(bytes) = read_blob(dir, digest, None) else {
        return Existing::Damaged;
    };
    let Ok(summary) = ManifestSummary::parse(&bytes) else {
        return Existing::Damaged;
    };
    if summary.blob_digests().iter().all(|d| blob_intact(dir, d)) {
        Existing::Intact(summary)
    } else {
        Existing::Damaged
    }
}

/// Writes an artifact into the layout at `dir` (absolute).
pub(crate) fn push_pending(
    dir: &Path,
    pending: Pending,
    force: bool,
    ctl: &PushControl,
) -> Result<PushOutcome, PushError> {
    let sha_dir = dir.join("blobs").join("sha256");
    fs::create_dir_all(&sha_dir).map_err(|e| PushError::io(&sha_dir, e))?;
    let _lock = lock_layout(dir)?;
    ensure_layout_file(dir)?;
    let mut index = read_index(dir)?;

    let (name, tag) = (pending.name().to_string(), pending.tag().to_string());
    let ref_name = format!("{name}:{tag}");
    let outcome =
        |layer: &str, digest: &str, blobs: usize, bytes: u64, already: bool| PushOutcome {
            reference: layout_reference(dir, &name, &tag),
            digest: digest.to_string(),
            pinned_reference: layout_reference(dir, &name, digest),
            layer_digest: layer.to_string(),
            blobs_uploaded: blobs,
            bytes_uploaded: bytes,
            already_present: already,
        };

    let existing = index
        .get("manifests")
        .and_then(Value::as_array)
        .and_then(|m| {
            m.iter()
                .filter(|e| ref_name_of(e) == Some(ref_name.as_str()))
                .find_map(|e| e.get("digest").and_then(Value::as_str).map(str::to_string))
        });
    if let Some(existing) = existing {
        if let Existing::Intact(summary) = existing_state(dir, &existing) {
            if pending.matches(&existing, Some(&summary)) {
                return Ok(outcome(pending.layer_digest(), &existing, 0, 0, true));
            }
            if !force {
                let built = pending.finish()?;
                return Err(PushError::TagExists {
                    reference: layout_reference(dir, &name, &tag),
                    existing,
                    new: built.manifest.digest,
                });
            }
        }
    }
    let built = pending.finish()?;
    let new_digest = built.manifest.digest.clone();

    let mut blobs_uploaded = 0;
    let mut bytes_uploaded = 0;
    let mut seen = HashSet::new();
    for blob in &built.blobs {
        if !seen.insert(blob.digest.as_str()) {
            continue;
        }
        if write_blob(dir, blob)? {
            blobs_uploaded += 1;
            bytes_uploaded += blob.size();
            ctl.emit(PushEvent::BlobUploaded {
                digest: blob.digest.clone(),
                size: blob.size(),
            });
        } else {
            ctl.emit(PushEvent::BlobSkipped {
                digest: blob.digest.clone(),
                size: blob.size(),
            });
        }
    }
    ctl.emit(PushEvent::WritingManifest {
        digest: new_digest.clone(),
    });
    if write_blob(dir, &built.manifest)? {
        bytes_uploaded += built.manifest.size();
    }

    let entry = json!({
        "mediaType": built.manifest.media_type,
        "digest": new_digest,
        "size": built.manifest.size(),
        "annotations": { REF_NAME_ANNOTATION: ref_name },
    });
    let obj = index.as_object_mut().expect("read_index returns an object");
    obj.entry("schemaVersion").or_insert(json!(2));
    obj.entry("mediaType").or_insert(json!(INDEX_MEDIA_TYPE));
    let manifests = obj
        .entry("manifests")
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .expect("read_index checked manifests");
    manifests.retain(|e| ref_name_of(e) != Some(ref_name.as_str()));
    manifests.push(entry);
    let body = serde_json::to_vec_pretty(&index)
        .map_err(|e| PushError::layout(dir, format!("cannot encode index.json: {e}")))?;
    write_atomic(&dir.join(INDEX_FILE), &body)?;
    ctl.emit(PushEvent::Tagged {
        reference: layout_reference(dir, &name, &tag),
        digest: new_digest.clone(),
    });
    Ok(outcome(
        &built.layer_digest,
        &new_digest,
        blobs_uploaded,
        bytes_uploaded,
        false,
    ))
}

/// Writes a blob unless it is already there intact. Returns whether it was written.
fn write_blob(dir: &Path, blob: &Blob) -> Result<bool, PushError> {
    let path = blob_path(dir, &blob.digest).map_err(|e| PushError::layout(dir, e))?;
    if blob_intact(dir, &blob.digest) {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| PushError::io(parent, e))?;
    }
    write_atomic(&path, &blob.data)?;
    Ok(true)
}

/// Reads `<name>:<version>` from the layout, checking every digest.
pub(crate) fn load(dir: &Path, name: &str, version: &str) -> Result<Built, PushError> {
    validate_repository(name).map_err(PushError::InvalidArtifact)?;
    if !valid_tag(version) {
        return Err(PushError::InvalidArtifact(format!(
            "{version:?} is not a valid OCI tag"
        )));
    }
    let reference = format!("{name}:{version}");
    if !dir.join(INDEX_FILE).exists() {
        return Err(PushError::layout(
            dir,
            "not an OCI image layout (index.json is missing)",
        ));
    }
    let index = read_index(dir)?;
    let entry = index
        .get("manifests")
        .and_then(Value::as_array)
        .and_then(|m| {
            m.iter()
                .find(|e| ref_name_of(e) == Some(reference.as_str()))
        })
        .ok_or_else(|| PushError::NotInLayout {
            path: dir.to_path_buf(),
            reference: reference.clone(),
        })?;
    let digest = entry.get("digest").and_then(Value::as_str).ok_or_else(|| {
        PushError::layout(dir, format!("the entry for {reference} has no digest"))
    })?;
    let media_type = entry
        .get("mediaType")
        .and_then(Value::as_str)
        .unwrap_or(MANIFEST_MEDIA_TYPE);
    if media_type != MANIFEST_MEDIA_TYPE {
        return Err(PushError::layout(
            dir,
            format!("{reference} is a {media_type}, not an OCI image manifest"),
        ));
    }
    let size = entry.get("size").and_then(Value::as_u64);
    let manifest_bytes = read_blob(dir, digest, size).map_err(|e| PushError::layout(dir, e))?;
    let manifest = Blob {
        media_type: media_type.to_string(),
        digest: digest.to_string(),
        data: manifest_bytes,
    };
    let summary = ManifestSummary::parse(&manifest.data).map_err(|e| PushError::layout(dir, e))?;
    let mut blobs = Vec::new();
    for (mt, d) in summary.layers.iter().chain(std::iter::once(&(
        summary.config_media_type.clone(),
        summary.config_digest.clone(),
    ))) {
        let data = read_blob(dir, d, None).map_err(|e| PushError::layout(dir, e))?;
        blobs.push(Blob {
            media_type: mt.clone(),
            digest: d.clone(),
            data,
        });
    }
    Built::from_parts(name, version, manifest, blobs).map_err(|e| PushError::layout(dir, e))
}

/// Checks that `dir` is a valid OCI image layout (image-spec `image-layout.md`): the
/// `oci-layout` file and its version, the `index.json` schema (schemaVersion 2, media types,
/// well-formed digests and sizes), that every referenced blob exists with the right size and
/// digest, and that each manifest's config and layers exist and match (nested indexes too).
/// Returns every problem found.
pub fn validate_layout(dir: &Path) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    match fs::read(dir.join(LAYOUT_FILE)) {
        Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) => match v.get("imageLayoutVersion").and_then(Value::as_str) {
                Some(LAYOUT_VERSION) => {}
                Some(other) => problems.push(format!(
                    "oci-layout: imageLayoutVersion is {other:?}, expected \"1.0.0\""
                )),
                None => problems.push("oci-layout: imageLayoutVersion is missing".into()),
            },
            Err(e) => problems.push(format!("oci-layout is not JSON: {e}")),
        },
        Err(e) => problems.push(format!("oci-layout file cannot be read: {e}")),
    }
    if !dir.join("blobs").is_dir() {
        problems.push("the blobs directory is missing".into());
    }
    match fs::read(dir.join(INDEX_FILE)) {
        Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
            Ok(index) => {
                let mut checker = Checker {
                    dir,
                    problems: &mut problems,
                    checked: HashSet::new(),
                };
                checker.index(&index, "index.json", 0);
                let mut refs: BTreeMap<String, usize> = BTreeMap::new();
                if let Some(m) = index.get("manifests").and_then(Value::as_array) {
                    for e in m {
                        if let Some(r) = ref_name_of(e) {
                            *refs.entry(r.to_string()).or_default() += 1;
                        }
                    }
                }
                for (r, n) in refs.into_iter().filter(|(_, n)| *n > 1) {
                    problems.push(format!(
                        "index.json: ref name {r:?} is used by {n} manifests"
                    ));
                }
            }
            Err(e) => problems.push(format!("index.json is not JSON: {e}")),
        },
        Err(e) => problems.push(format!("index.json cannot be read: {e}")),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

struct Checker<'a> {
    dir: &'a Path,
    problems: &'a mut Vec<String>,
    /// Blobs already checked (digest), to visit shared blobs once.
    checked: HashSet<String>,
}

impl Checker<'_> {
    fn index(&mut self, index: &Value, at: &str, depth: usize) {
        if !index.is_object() {
            self.problems.push(format!("{at}: not a JSON object"));
            return;
        }
        match index.get("schemaVersion").and_then(Value::as_u64) {
            Some(2) => {}
            other => self
                .problems
                .push(format!("{at}: schemaVersion is {other:?}, expected 2")),
        }
        if let Some(mt) = index.get("mediaType") {
            if mt.as_str() != Some(INDEX_MEDIA_TYPE) {
                self.problems.push(format!(
                    "{at}: mediaType is {mt}, expected {INDEX_MEDIA_TYPE}"
                ));
            }
        }
        let Some(manifests) = index.get("manifests").and_then(Value::as_array) else {
            self.problems
                .push(format!("{at}: manifests is missing or not an array"));
            return;
        };
        for (i, desc) in manifests.iter().enumerate() {
            let here = format!("{at} manifests[{i}]");
            let Some((mt, digest, size)) = self.descriptor(desc, &here) else {
                continue;
            };
            let is_manifest = mt == MANIFEST_MEDIA_TYPE || mt == DOCKER_MANIFEST_V2;
            let is_index = mt == INDEX_MEDIA_TYPE || mt == DOCKER_MANIFEST_LIST;
            if !is_manifest && !is_index {
                self.blob(&digest, size, &here, false);
                continue;
            }
            let Some(bytes) = self.blob(&digest, size, &here, true) else {
                continue;
            };
            let parsed: Value = match serde_json::from_slice(&bytes) {
                Ok(v) => v,
                Err(e) => {
                    self.problems
                        .push(format!("{here}: manifest {digest} is not JSON: {e}"));
                    continue;
                }
            };
            let where_ = format!("{here} ({digest})");
            if is_index {
                if depth >= 8 {
                    self.problems
                        .push(format!("{where_}: indexes nested too deep"));
                } else {
                    self.index(&parsed, &where_, depth + 1);
                }
            } else {
                self.manifest(&parsed, &mt, &where_);
            }
        }
    }

    fn manifest(&mut self, m: &Value, descriptor_mt: &str, at: &str) {
        match m.get("schemaVersion").and_then(Value::as_u64) {
            Some(2) => {}
            other => self
                .problems
                .push(format!("{at}: schemaVersion is {other:?}, expected 2")),
        }
        if let Some(mt) = m.get("mediaType") {
            if mt.as_str() != Some(descriptor_mt) {
                self.problems.push(format!(
                    "{at}: mediaType {mt} differs from its descriptor's {descriptor_mt}"
                ));
            }
        }
        match m.get("config") {
            Some(c) => {
                let here = format!("{at} config");
                if let Some((_, digest, size)) = self.descriptor(c, &here) {
                    self.blob(&digest, size, &here, false);
                }
            }
            None => self.problems.push(format!("{at}: config is missing")),
        }
        match m.get("layers").and_then(Value::as_array) {
            Some(layers) => {
                for (i, l) in layers.iter().enumerate() {
                    let here = format!("{at} layers[{i}]");
                    if let Some((_, digest, size)) = self.descriptor(l, &here) {
                        self.blob(&digest, size, &here, false);
                    }
                }
            }
            None => self
                .problems
                .push(format!("{at}: layers is missing or not an array")),
        }
    }

    /// Checks a descriptor's fields; returns (mediaType, digest, size) when usable.
    fn descriptor(&mut self, d: &Value, at: &str) -> Option<(String, String, u64)> {
        let mut ok = true;
        let mt = d.get("mediaType").and_then(Value::as_str);
        match mt {
            Some(mt) if valid_media_type(mt) => {}
            Some(mt) => {
                self.problems
                    .push(format!("{at}: mediaType {mt:?} is malformed"));
                ok = false;
            }
            None => {
                self.problems.push(format!("{at}: mediaType is missing"));
                ok = false;
            }
        }
        let digest = d.get("digest").and_then(Value::as_str);
        match digest.map(parse_digest) {
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                self.problems.push(format!("{at}: {e}"));
                ok = false;
            }
            None => {
                self.problems.push(format!("{at}: digest is missing"));
                ok = false;
            }
        }
        let size = d.get("size").and_then(Value::as_u64);
        if size.is_none() {
            self.problems.push(format!(
                "{at}: size is missing or not a non-negative integer"
            ));
            ok = false;
        }
        if let Some(a) = d.get("annotations") {
            if !a
                .as_object()
                .is_some_and(|m| m.values().all(Value::is_string))
            {
                self.problems
                    .push(format!("{at}: annotations must map strings to strings"));
            }
        }
        if ok {
            Some((mt?.to_string(), digest?.to_string(), size?))
        } else {
            None
        }
    }

    /// Checks that a blob exists with the right size and digest; returns its bytes if `read`.
    fn blob(&mut self, digest: &str, size: u64, at: &str, read: bool) -> Option<Vec<u8>> {
        let path = match blob_path(self.dir, digest) {
            Ok(p) => p,
            Err(e) => {
                self.problems.push(format!("{at}: {e}"));
                return None;
            }
        };
        if read {
            return match read_blob(self.dir, digest, Some(size)) {
                Ok(b) => Some(b),
                Err(e) => {
                    self.problems.push(format!("{at}: {e}"));
                    None
                }
            };
        }
        if !self.checked.insert(format!("{digest}/{size}")) {
            return None;
        }
        match hash_file(&path, digest) {
            Ok((true, n)) if n == size => {}
            Ok((true, n)) => self.problems.push(format!(
                "{at}: blob {digest} has {n} bytes, its descriptor says {size}"
            )),
            Ok((false, n)) => self.problems.push(format!(
                "{at}: blob {digest} is corrupt: its content ({n} bytes) does not hash to the digest"
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => self
                .problems
                .push(format!("{at}: blob {digest} is missing ({})", path.display())),
            Err(e) => self
                .problems
                .push(format!("{at}: blob {digest} cannot be read: {e}")),
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_grammar() {
        let good = format!("sha256:{}", "a".repeat(64));
        assert!(parse_digest(&good).is_ok());
        assert!(parse_digest(&format!("sha512:{}", "0".repeat(128))).is_ok());
        assert!(
            parse_digest("multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8").is_ok()
        );
        for bad in [
            "sha256",
            "sha256:",
            &format!("sha256:{}", "A".repeat(64)),
            &format!("sha256:{}", "a".repeat(63)),
            &format!("SHA256:{}", "a".repeat(64)),
            "sha256:../../etc/passwd",
            ":abc",
        ] {
            assert!(parse_digest(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn media_types() {
        assert!(valid_media_type(MANIFEST_MEDIA_TYPE));
        assert!(valid_media_type("application/wasm"));
        assert!(!valid_media_type("wasm"));
        assert!(!valid_media_type("application/"));
        assert!(!valid_media_type("app lication/x"));
    }

    #[test]
    fn layout_references() {
        let d = Path::new("/abs/dir");
        assert_eq!(
            layout_reference(d, "temp-convert", "1.0.0"),
            "oci-layout:/abs/dir:temp-convert:1.0.0"
        );
        assert_eq!(
            layout_reference(d, "temp-convert", "sha256:ab"),
            "oci-layout:/abs/dir:temp-convert@sha256:ab"
        );
    }

    fn write_blob_raw(dir: &Path, data: &[u8]) -> String {
        let hex = crate::util::digest::sha256_hex(data);
        fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        fs::write(dir.join("blobs/sha256").join(&hex), data).unwrap();
        format!("sha256:{hex}")
    }

    #[test]
    fn validation_finds_problems() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        // Empty directory: everything is missing.
        let p = validate_layout(dir).unwrap_err();
        assert!(p.iter().any(|m| m.contains("oci-layout")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("index.json")), "{p:?}");

        fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        let config = write_blob_raw(dir, b"{}");
        let layer = write_blob_raw(dir, b"layer-bytes");
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "config": {"mediaType": "application/vnd.wasm.config.v0+json", "digest": config, "size": 2},
            "layers": [{"mediaType": "application/wasm", "digest": layer, "size": 11}],
        }))
        .unwrap();
        let mdigest = write_blob_raw(dir, &manifest);
        let index = json!({
            "schemaVersion": 2,
            "mediaType": INDEX_MEDIA_TYPE,
            "manifests": [{"mediaType": MANIFEST_MEDIA_TYPE, "digest": mdigest, "size": manifest.len(),
                           "annotations": {REF_NAME_ANNOTATION: "a:1.0.0"}}],
        });
        fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
        validate_layout(dir).unwrap();

        // Wrong size in the index, corrupt layer, bad schemaVersion, bad digest.
        let mut bad = index.clone();
        bad["schemaVersion"] = json!(1);
        bad["manifests"][0]["size"] = json!(3);
        bad["manifests"].as_array_mut().unwrap().push(json!({
            "mediaType": MANIFEST_MEDIA_TYPE, "digest": "sha256:XYZ", "size": 1
        }));
        fs::write(dir.join("index.json"), serde_json::to_vec(&bad).unwrap()).unwrap();
        let p = validate_layout(dir).unwrap_err();
        assert!(p.iter().any(|m| m.contains("schemaVersion")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("descriptor says 3")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("malformed")), "{p:?}");

        fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
        fs::write(blob_path(dir, &layer).unwrap(), b"layer-bytez").unwrap();
        let p = validate_layout(dir).unwrap_err();
        assert!(
            p.iter()
                .any(|m| m.contains("corrupt") && m.contains(&layer)),
            "{p:?}"
        );
        fs::remove_file(blob_path(dir, &layer).unwrap()).unwrap();
        let p = validate_layout(dir).unwrap_err();
        assert!(
            p.iter()
                .any(|m| m.contains("missing") && m.contains(&layer)),
            "{p:?}"
        );

        fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"2.0.0"}"#).unwrap();
        let p = validate_layout(dir).unwrap_err();
        assert!(p.iter().any(|m| m.contains("2.0.0")), "{p:?}");
    }

    #[test]
    fn lock_is_exclusive_and_released() {
        let tmp = tempfile::tempdir().unwrap();
        let lock = lock_layout(tmp.path()).unwrap();
        assert!(tmp.path().join(LOCK_FILE).exists());
        // Held: nobody else gets it.
        assert!(LockedFile::try_acquire(&tmp.path().join(LOCK_FILE))
            .unwrap()
            .is_none());
        drop(lock);
        assert!(!tmp.path().join(LOCK_FILE).exists());
        // A lock left by a dead process is taken over.
        fs::write(tmp.path().join(LOCK_FILE), "999999999\n").unwrap();
        let _lock = lock_layout(tmp.path()).unwrap();
    }
}

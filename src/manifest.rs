//! The one validation of a wadm application manifest, used by `gen` (on what it renders) and by
//! `deploy` (on what it is about to send): wadm's own rules (`wadm-types`), on the typed
//! manifest and on the raw YAML, plus PELATO's (OAM header, images, spread weights, links).
//!
//! The check cannot pass by accident: a wadm validation that does not complete, or raw YAML
//! that wadm cannot read, is an error, never "no problems".

use std::collections::HashSet;

use wadm_types::validation::{
    validate_manifest, validate_raw_yaml, ValidationFailure, ValidationFailureLevel,
};
use wadm_types::{
    Manifest, Properties, TraitProperty, APPLICATION_KIND, OAM_VERSION, VERSION_ANNOTATION_KEY,
};

use crate::util::poll;

/// What a validation found: errors make the manifest unusable, warnings do not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// Problems wadm would refuse the manifest for (or PELATO refuses it for).
    pub errors: Vec<String>,
    /// Things worth telling that do not stop a deploy.
    pub warnings: Vec<String>,
}

/// Parses manifest text (YAML or JSON) into wadm's model; the error is the parser's message.
pub fn parse(raw: &[u8]) -> Result<Manifest, serde_yaml::Error> {
    serde_yaml::from_slice(raw)
}

/// Validates `manifest` (and, when given, the `raw` text it was parsed from, for the checks
/// wadm only makes on the YAML): wadm's rules and PELATO's. Warnings about interfaces wadm
/// does not know but a real provider serves (`wasmcloud:postgres`) are left out.
pub fn validate(manifest: &Manifest, raw: Option<&[u8]>) -> Findings {
    let mut failures: Vec<ValidationFailure> = Vec::new();
    let (mut errors, mut warnings) = pelato_checks(manifest);
    match poll::ready(validate_manifest(manifest)) {
        Some(Ok(f)) => failures.extend(f),
        Some(Err(e)) => errors.push(format!("wadm's validation failed: {e:#}")),
        None => errors.push(
            "wadm's validation did not complete (it waited on something), so the manifest is \
             not known to be valid"
                .to_string(),
        ),
    }
    if let Some(raw) = raw {
        match validate_raw_yaml(raw) {
            Ok(more) => failures.extend(more),
            Err(e) => errors.push(format!("the manifest is not readable as YAML: {e:#}")),
        }
    }
    let generic_image = "Component must have either 'image' or 'application' property";
    let has_own_image_error = errors.iter().any(|e| e.contains("has no `image`"));
    for f in failures {
        if has_own_image_error && f.msg == generic_image {
            continue;
        }
        match f.level {
            ValidationFailureLevel::Error => errors.push(f.msg),
            // wadm-types only knows wasmCloud's well-known interfaces; the sqldb-postgres
            // provider's is a real one.
            _ if f.msg.contains("[wasmcloud:postgres/") => {}
            _ => warnings.push(f.msg),
        }
    }
    Findings { errors, warnings }
}

/// PELATO's own checks, on top of wadm's: OAM header, images, spread weights, links.
fn pelato_checks(manifest: &Manifest) -> (Vec<String>, Vec<String>) {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    if manifest.api_version != OAM_VERSION {
        errors.push(format!(
            "apiVersion is `{}`, wadm expects `{OAM_VERSION}`",
            manifest.api_version
        ));
    }
    if manifest.kind != APPLICATION_KIND {
        errors.push(format!(
            "kind is `{}`, wadm expects `{APPLICATION_KIND}`",
            manifest.kind
        ));
    }
    if manifest.metadata.name.trim().is_empty() {
        errors.push("metadata.name is empty".to_string());
    }
    if let Some(v) = manifest.metadata.annotations.get(VERSION_ANNOTATION_KEY) {
        if v.trim().is_empty() {
            errors.push(
                "the `version` annotation is empty: set a version or remove the annotation"
                    .to_string(),
            );
        }
    }
    if manifest.spec.components.is_empty() {
        errors.push("spec.components is empty: nothing to deploy".to_string());
    }
    for c in &manifest.spec.components {
        let (image, application) = match &c.properties {
            Properties::Component { properties } => (&properties.image, &properties.application),
            Properties::Capability { properties } => (&properties.image, &properties.application),
        };
        match (image, application) {
            (None, None) => errors.push(format!(
                "component `{}` has no `image` (an OCI reference such as \
                 registry:5000/name:1.0.0, or wasmcloud+builtin://… for a builtin provider)",
                c.name
            )),
            (Some(img), _) if img.trim().is_empty() => {
                errors.push(format!("component `{}` has no `image` (empty)", c.name))
            }
            (Some(img), _) if img.ends_with(":latest") => warnings.push(format!(
                "component `{}`: image `{img}` uses the `latest` tag, which wasmCloud hosts \
                 refuse by default",
                c.name
            )),
            _ => {}
        }
        for t in c.traits.iter().flatten() {
            match &t.properties {
                TraitProperty::SpreadScaler(p) if t.is_scaler() => {
                    if p.instances == 0 {
                        warnings.push(format!(
                            "component `{}`: {} asks for 0 instances",
                            c.name, t.trait_type
                        ));
                    }
                    if p.spread.iter().any(|s| s.weight.is_some()) {
                        let sum: usize = p
                            .spread
                            .iter()
                            .map(|s| s.weight.unwrap_or(wadm_types::DEFAULT_SPREAD_WEIGHT))
                            .sum();
                        if sum != 100 {
                            let parts = p
                                .spread
                                .iter()
                                .map(|s| {
                                    format!(
                                        "{}={}",
                                        s.name,
                                        s.weight.unwrap_or(wadm_types::DEFAULT_SPREAD_WEIGHT)
                                    )
                                })
                                .collect::<Vec<_>>()
                                .join(", ");
                            errors.push(format!(
                                "component `{}`: {} spread weights sum to {sum} ({parts}); \
                                 they must sum to 100",
                                c.name, t.trait_type
                            ));
                        }
                    }
                    let mut names = HashSet::new();
                    for s in &p.spread {
                        if !names.insert(&s.name) {
                            errors.push(format!(
                                "component `{}`: spread `{}` is listed twice",
                                c.name, s.name
                            ));
                        }
                    }
                }
                TraitProperty::Link(l) => {
                    if l.target.name.trim().is_empty() {
                        errors.push(format!("component `{}`: a link has no target", c.name));
                    }
                    if l.interfaces.is_empty() {
                        errors.push(format!(
                            "component `{}`: link {}:{} to `{}` lists no interfaces",
                            c.name, l.namespace, l.package, l.target.name
                        ));
                    }
                    if l.namespace.trim().is_empty() || l.package.trim().is_empty() {
                        errors.push(format!(
                            "component `{}`: link to `{}` has an empty WIT namespace or package",
                            c.name, l.target.name
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    (errors, warnings)
}

/// Why a manifest's image could not be pinned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    /// The manifest is not a wadm manifest.
    #[error("the manifest does not parse: {0}")]
    Parse(String),
    /// No component of that name has that image.
    #[error("component `{component}` does not reference {image}")]
    NotReferenced {
        /// The component looked for.
        component: String,
        /// The image it should have had.
        image: String,
    },
}

/// Points component `component` of the manifest `raw` from image `from` to
/// `to` (a digest-pinned reference), keeping the text as written (comments,
/// quoting): the manifest is parsed to find the component's image, the
/// image's scalar is replaced, and the result is parsed again to check that
/// exactly that component now names `to`.
pub fn pin_image(raw: &str, component: &str, from: &str, to: &str) -> Result<String, PinError> {
    let image_of = |text: &str| -> Result<Vec<(String, Option<String>)>, PinError> {
        let m = parse(text.as_bytes()).map_err(|e| PinError::Parse(e.to_string()))?;
        Ok(m.spec
            .components
            .iter()
            .map(|c| {
                let image = match &c.properties {
                    Properties::Component { properties } => properties.image.clone(),
                    Properties::Capability { properties } => properties.image.clone(),
                };
                (c.name.clone(), image)
            })
            .collect())
    };
    let not_referenced = || PinError::NotReferenced {
        component: component.to_string(),
        image: from.to_string(),
    };
    let before = image_of(raw)?;
    if !before
        .iter()
        .any(|(n, i)| n == component && i.as_deref() == Some(from))
    {
        return Err(not_referenced());
    }
    let quoted = |s: &str| serde_json::to_string(s).expect("a string serializes");
    let old = format!("image: {}", quoted(from));
    if raw.matches(&old).count() != 1 {
        return Err(not_referenced());
    }
    let pinned = raw.replacen(&old, &format!("image: {}", quoted(to)), 1);
    let after = image_of(&pinned)?;
    let expected: Vec<_> = before
        .into_iter()
        .map(|(n, i)| {
            if n == component {
                (n, Some(to.to_string()))
            } else {
                (n, i)
            }
        })
        .collect();
    if after != expected {
        return Err(not_referenced());
    }
    Ok(pinned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(traits: &str) -> String {
        format!(
            "{{apiVersion: core.oam.dev/v1beta1, kind: Application, metadata: {{name: demo, annotations: {{version: 1.0.0}}}}, \
             spec: {{components: [{{name: demo, type: component, \
             properties: {{image: 'localhost:5000/demo:1.0.0'}}, traits: [{traits}]}}]}}}}"
        )
    }

    fn check(text: &str) -> Findings {
        let m = parse(text.as_bytes()).expect("parses");
        validate(&m, Some(text.as_bytes()))
    }

    #[test]
    fn spread_weights_must_sum_to_100() {
        let spread = |a: u32, b: u32| {
            app(&format!(
                "{{type: spreadscaler, properties: {{instances: 1, spread: \
                 [{{name: a, weight: {a}, requirements: {{host-type: a}}}}, \
                 {{name: b, weight: {b}, requirements: {{host-type: b}}}}]}}}}"
            ))
        };
        assert_eq!(check(&spread(50, 50)).errors, Vec::<String>::new());
        let f = check(&spread(30, 50));
        assert!(
            f.errors
                .iter()
                .any(|e| e.contains("spread weights sum to 80")),
            "{f:?}"
        );
    }

    #[test]
    fn unreadable_raw_yaml_is_an_error_not_silence() {
        let m = parse(app("").as_bytes()).unwrap();
        assert_eq!(validate(&m, None).errors, Vec::<String>::new());
        let f = validate(&m, Some(b"spec: [unclosed"));
        assert!(
            f.errors.iter().any(|e| e.contains("not readable as YAML")),
            "{f:?}"
        );
    }

    #[test]
    fn pin_image_changes_exactly_the_component_and_keeps_the_text() {
        let raw = "# header\napiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: a\n  annotations:\n    version: \"1.0.0\"\nspec:\n  components:\n    - name: \"c\"\n      type: component\n      properties:\n        image: \"reg:5000/c:1.0.0\"\n        # a comment\n";
        let pinned = pin_image(raw, "c", "reg:5000/c:1.0.0", "reg:5000/c@sha256:ab").unwrap();
        assert!(pinned.starts_with("# header\n"), "{pinned}");
        assert!(
            pinned.contains("image: \"reg:5000/c@sha256:ab\""),
            "{pinned}"
        );
        assert!(pinned.contains("# a comment"), "{pinned}");
        assert_eq!(
            pin_image(raw, "other", "reg:5000/c:1.0.0", "x@sha256:ab"),
            Err(PinError::NotReferenced {
                component: "other".into(),
                image: "reg:5000/c:1.0.0".into()
            })
        );
        assert!(matches!(
            pin_image(raw, "c", "reg:5000/c:2.0.0", "x@sha256:ab"),
            Err(PinError::NotReferenced { .. })
        ));
        assert!(matches!(
            pin_image("not: [yaml", "c", "a", "b"),
            Err(PinError::Parse(_))
        ));
    }
}

//! Templates: which WIT world a task type builds against, the handlebars Go glue
//! that implements it, and the wadm manifest it deploys with.
//!
//! Built-in templates and the WIT they use are embedded in the binary, so an
//! installed `pelato` works outside the repository.

use std::path::PathBuf;

use serde::Deserialize;
use wit_parser::{PackageId, Resolve, WorldId};

/// The WIT files PELATO builds against, as (path, contents); dependencies first.
pub const WIT_FILES: &[(&str, &str)] = &[
    (
        "wit/deps/messaging/messaging.wit",
        include_str!("../wit/deps/messaging/messaging.wit"),
    ),
    ("wit/pelato.wit", include_str!("../wit/pelato.wit")),
];

/// Where a template comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateOrigin {
    /// Embedded in the binary.
    Builtin,
    /// Loaded from a directory.
    Dir(PathBuf),
}

/// `template.toml`: a template's description.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateMeta {
    /// Canonical name, the `type` users write in workflow.yaml.
    pub name: String,
    /// Other accepted spellings of `type`.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// WIT world, e.g. `pelato:templates/processor-nats@0.1.0`.
    pub world: String,
    /// One-line description.
    pub description: String,
    /// Task fields this template needs.
    #[serde(default)]
    pub required: Vec<String>,
}

/// A template: metadata plus its glue and manifest sources.
#[derive(Debug, Clone)]
pub struct Template {
    /// Parsed `template.toml`.
    pub meta: TemplateMeta,
    /// Handlebars source of the Go glue (`glue.go.hbs`).
    pub glue: String,
    /// Handlebars source of the wadm manifest (`wadm.yaml.hbs`).
    pub manifest: String,
    /// Where it came from.
    pub origin: TemplateOrigin,
}

/// Errors loading templates or their WIT.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// A template.toml did not parse.
    #[error("template `{origin}`: template.toml is invalid: {message}")]
    Meta {
        /// Template name or directory.
        origin: String,
        /// Parser message.
        message: String,
    },
    /// WIT did not parse or resolve.
    #[error("WIT: {0:#}")]
    Wit(anyhow::Error),
    /// The world named by a template does not exist.
    #[error("template `{template}` names world `{world}`, which is not in the WIT: {message}")]
    World {
        /// Template name.
        template: String,
        /// World it names.
        world: String,
        /// Cause.
        message: String,
    },
}

macro_rules! builtin {
    ($dir:literal) => {
        (
            include_str!(concat!("../templates/", $dir, "/template.toml")),
            include_str!(concat!("../templates/", $dir, "/glue.go.hbs")),
            include_str!(concat!("../templates/", $dir, "/wadm.yaml.hbs")),
        )
    };
}

const BUILTINS: &[(&str, &str, &str)] = &[builtin!("processor_nats"), builtin!("producer_nats")];

/// The set of templates available to a project.
#[derive(Debug, Clone)]
pub struct TemplateSet {
    templates: Vec<Template>,
}

impl TemplateSet {
    /// The built-in templates.
    pub fn builtin() -> Result<TemplateSet, TemplateError> {
        let mut templates = Vec::new();
        for (meta, glue, manifest) in BUILTINS {
            let meta: TemplateMeta = toml::from_str(meta).map_err(|e| TemplateError::Meta {
                origin: "builtin".into(),
                message: e.to_string(),
            })?;
            templates.push(Template {
                meta,
                glue: glue.to_string(),
                manifest: manifest.to_string(),
                origin: TemplateOrigin::Builtin,
            });
        }
        Ok(TemplateSet { templates })
    }

    /// Canonical names of all templates.
    pub fn names(&self) -> Vec<String> {
        self.templates.iter().map(|t| t.meta.name.clone()).collect()
    }

    /// All templates.
    pub fn iter(&self) -> impl Iterator<Item = &Template> {
        self.templates.iter()
    }

    /// Looks a template up by canonical name or alias.
    pub fn get(&self, name: &str) -> Option<&Template> {
        self.templates
            .iter()
            .find(|t| t.meta.name == name || t.meta.aliases.iter().any(|a| a == name))
    }
}

/// The parsed WIT PELATO builds against.
#[derive(Debug, Clone)]
pub struct Wit {
    /// All packages.
    pub resolve: Resolve,
    /// The `pelato:templates` package.
    pub main: PackageId,
}

impl Wit {
    /// Parses the embedded WIT.
    pub fn embedded() -> Result<Wit, TemplateError> {
        let mut resolve = Resolve::default();
        let mut main = None;
        for (path, text) in WIT_FILES {
            main = Some(resolve.push_str(path, text).map_err(TemplateError::Wit)?);
        }
        Ok(Wit {
            resolve,
            main: main.expect("WIT_FILES is not empty"),
        })
    }

    /// Finds the world a template names.
    pub fn world(&self, template: &Template) -> Result<WorldId, TemplateError> {
        // `pelato:templates/processor-nats@0.1.0` → world `processor-nats` of the main package
        self.resolve
            .select_world(&[self.main], Some(&template.meta.world))
            .map_err(|e| TemplateError::World {
                template: template.meta.name.clone(),
                world: template.meta.world.clone(),
                message: format!("{e:#}"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_name_existing_worlds() {
        let set = TemplateSet::builtin().unwrap();
        let wit = Wit::embedded().unwrap();
        assert_eq!(set.names(), vec!["processor_nats", "producer_nats"]);
        for t in set.iter() {
            let w = wit.world(t).unwrap();
            let world = &wit.resolve.worlds[w];
            assert!(!world.exports.is_empty(), "{} exports nothing", t.meta.name);
        }
        assert_eq!(set.get("processing").unwrap().meta.name, "processor_nats");
        assert_eq!(set.get("producer").unwrap().meta.name, "producer_nats");
        assert!(set.get("dbsync").is_none());
    }
}

//! Templates: which WIT world a task type builds against, the handlebars Go glue
//! that implements it, and the wadm manifest it deploys with.
//!
//! Built-in templates and the WIT they use are embedded in the binary, so an
//! installed `pelato` works outside the repository.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use wit_parser::{PackageId, Resolve, WorldId};

/// The WIT files PELATO builds against, as (path, contents); dependencies first.
pub const WIT_FILES: &[(&str, &str)] = &[
    (
        "wit/deps/io/error.wit",
        include_str!("../wit/deps/io/error.wit"),
    ),
    (
        "wit/deps/io/poll.wit",
        include_str!("../wit/deps/io/poll.wit"),
    ),
    (
        "wit/deps/io/streams.wit",
        include_str!("../wit/deps/io/streams.wit"),
    ),
    (
        "wit/deps/io/world.wit",
        include_str!("../wit/deps/io/world.wit"),
    ),
    (
        "wit/deps/clocks/monotonic-clock.wit",
        include_str!("../wit/deps/clocks/monotonic-clock.wit"),
    ),
    (
        "wit/deps/clocks/wall-clock.wit",
        include_str!("../wit/deps/clocks/wall-clock.wit"),
    ),
    (
        "wit/deps/clocks/timezone.wit",
        include_str!("../wit/deps/clocks/timezone.wit"),
    ),
    (
        "wit/deps/clocks/world.wit",
        include_str!("../wit/deps/clocks/world.wit"),
    ),
    (
        "wit/deps/http/package.wit",
        include_str!("../wit/deps/http/package.wit"),
    ),
    (
        "wit/deps/http/types.wit",
        include_str!("../wit/deps/http/types.wit"),
    ),
    (
        "wit/deps/http/handler.wit",
        include_str!("../wit/deps/http/handler.wit"),
    ),
    (
        "wit/deps/messaging/messaging.wit",
        include_str!("../wit/deps/messaging/messaging.wit"),
    ),
    (
        "wit/deps/config/store.wit",
        include_str!("../wit/deps/config/store.wit"),
    ),
    (
        "wit/deps/postgres/types.wit",
        include_str!("../wit/deps/postgres/types.wit"),
    ),
    (
        "wit/deps/postgres/query.wit",
        include_str!("../wit/deps/postgres/query.wit"),
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
    /// Task fields this template needs (checked when the project loads),
    /// e.g. `["source_topic", "dest_topic"]`.
    #[serde(default)]
    pub required: Vec<String>,
    /// Whether the template serves HTTP: its tasks may set `http_port`
    /// (default 8000), and two such tasks on one port and host label are
    /// refused.
    #[serde(default)]
    pub http: bool,
    /// Settings a task may give under `config:`, by name. Every setting
    /// reaches the component as runtime config (the manifest's component
    /// `config:`), and the glue reads it with `pelatoSetting(name)`.
    #[serde(default)]
    pub settings: std::collections::BTreeMap<String, SettingMeta>,
}

/// One template setting (`[settings.<name>]` in template.toml).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SettingMeta {
    /// What it does.
    pub description: String,
    /// Value when the task does not set it.
    #[serde(default)]
    pub default: String,
    /// The values it accepts; empty means any.
    #[serde(default)]
    pub allowed: Vec<String>,
    /// What kind of value it is: `text` (the default) or `sql-table` (a
    /// Postgres table name, `name` or `schema.name` in lower-case letters,
    /// digits and `_`).
    #[serde(default)]
    pub kind: SettingKind,
}

/// What kind of value a setting holds.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum SettingKind {
    /// Any text.
    #[default]
    Text,
    /// A Postgres table name: `name` or `schema.name`, each part lower-case
    /// letters, digits and `_`, not starting with a digit, at most 63 bytes.
    SqlTable,
}

impl SettingKind {
    /// Whether `value` is acceptable for this kind.
    pub fn accepts(self, value: &str) -> bool {
        match self {
            SettingKind::Text => true,
            SettingKind::SqlTable => {
                let parts: Vec<&str> = value.split('.').collect();
                parts.len() <= 2
                    && parts.iter().all(|p| {
                        !p.is_empty()
                            && p.len() <= 63
                            && !p.starts_with(|c: char| c.is_ascii_digit())
                            && p.chars()
                                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    })
            }
        }
    }
}

impl TemplateMeta {
    /// Checks a task's `config:` against this template's settings: every key
    /// must be a setting and every value one the setting allows. Returns one
    /// `(key, problem, fix)` per problem.
    pub fn check_config(
        &self,
        config: &std::collections::BTreeMap<String, String>,
    ) -> Vec<(String, String, String)> {
        let mut problems = Vec::new();
        for (key, value) in config {
            match self.settings.get(key) {
                None => {
                    let names: Vec<&str> = self.settings.keys().map(String::as_str).collect();
                    let fix = if names.is_empty() {
                        format!("remove `config:`: template `{}` has no settings", self.name)
                    } else {
                        match crate::workflow::suggest(key, &names) {
                            Some(s) => format!(
                                "did you mean `{s}`? settings of `{}`: {}",
                                self.name,
                                names.join(", ")
                            ),
                            None => format!("settings of `{}`: {}", self.name, names.join(", ")),
                        }
                    };
                    problems.push((
                        key.clone(),
                        format!("`{key}` is not a setting of template `{}`", self.name),
                        fix,
                    ));
                }
                Some(s) if !s.allowed.is_empty() && !s.allowed.contains(value) => {
                    problems.push((
                        key.clone(),
                        format!("{value:?} is not an accepted value of `{key}`"),
                        format!("write one of: {}", s.allowed.join(", ")),
                    ));
                }
                Some(s) if !s.kind.accepts(value) => {
                    problems.push((
                        key.clone(),
                        format!("{value:?} is not a valid Postgres table name"),
                        "write `name` or `schema.name` in lower-case letters, digits and `_` (e.g. `sensor_readings`)".into(),
                    ));
                }
                Some(_) => {}
            }
        }
        problems
    }

    /// The effective settings of a task: defaults overridden by its `config:`.
    pub fn effective_settings(
        &self,
        config: &std::collections::BTreeMap<String, String>,
    ) -> std::collections::BTreeMap<String, String> {
        let mut out: std::collections::BTreeMap<String, String> = self
            .settings
            .iter()
            .map(|(k, s)| (k.clone(), s.default.clone()))
            .collect();
        for (k, v) in config {
            out.insert(k.clone(), v.clone());
        }
        out
    }
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
    /// A user template's own WIT package (`world.wit`): path and text.
    pub wit: Option<(PathBuf, String)>,
}

/// Environment variable listing extra template directories (`:`-separated);
/// each holds one sub-directory per template.
pub const TEMPLATES_ENV: &str = crate::config::PELATO_TEMPLATES;
/// A project's own template directory.
pub const PROJECT_TEMPLATES_DIR: &str = "templates";

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
    /// A user template directory is broken.
    #[error("template {dir}: {file}: {message} — fix: {fix}")]
    User {
        /// Template directory.
        dir: PathBuf,
        /// File concerned.
        file: String,
        /// What is wrong.
        message: String,
        /// How to fix it.
        fix: String,
    },
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
    /// The environment or the project's `.env` (where `PELATO_TEMPLATES` may be set) is invalid.
    #[error(transparent)]
    Settings(#[from] crate::config::ConfigError),
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

const BUILTINS: &[(&str, &str, &str)] = &[
    builtin!("processor_nats"),
    builtin!("producer_nats"),
    builtin!("http_producer_nats"),
    builtin!("dbsync"),
];

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
                wit: None,
            });
        }
        Ok(TemplateSet { templates })
    }

    /// Built-in templates plus user templates from `PELATO_TEMPLATES` and the
    /// project's `templates/` directory (in that order).
    pub fn discover(project_dir: &Path) -> Result<TemplateSet, TemplateError> {
        let mut set = Self::builtin()?;
        let mut roots = crate::config::Env::load(project_dir)?.template_dirs();
        roots.push(project_dir.join(PROJECT_TEMPLATES_DIR));
        for root in roots {
            let Ok(entries) = std::fs::read_dir(&root) else {
                continue;
            };
            let mut dirs: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("template.toml").is_file())
                .collect();
            dirs.sort();
            for dir in dirs {
                set.add(Template::load_dir(&dir)?)?;
            }
        }
        Ok(set)
    }

    /// Adds a template; its name and aliases must be new.
    pub fn add(&mut self, t: Template) -> Result<(), TemplateError> {
        let names = std::iter::once(&t.meta.name).chain(t.meta.aliases.iter());
        for n in names {
            if let Some(existing) = self.get(n) {
                let dir = match &t.origin {
                    TemplateOrigin::Dir(d) => d.clone(),
                    TemplateOrigin::Builtin => PathBuf::from("builtin"),
                };
                let other = match &existing.origin {
                    TemplateOrigin::Builtin => "a built-in template".to_string(),
                    TemplateOrigin::Dir(d) => d.display().to_string(),
                };
                return Err(TemplateError::User {
                    dir,
                    file: "template.toml".into(),
                    message: format!("the name `{n}` is already taken by {other}"),
                    fix: "give the template (and its aliases) a name of its own".into(),
                });
            }
        }
        self.templates.push(t);
        Ok(())
    }

    /// What the workflow checker needs to know of each template.
    pub fn infos(&self) -> Vec<crate::workflow::TemplateInfo> {
        self.iter()
            .map(|t| crate::workflow::TemplateInfo {
                name: t.meta.name.clone(),
                aliases: t.meta.aliases.clone(),
                required: t.meta.required.clone(),
                http: t.meta.http,
            })
            .collect()
    }

    /// Canonical names of the templates in this set.
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

impl Template {
    /// Loads a user template from a directory holding `template.toml`,
    /// `glue.go.hbs`, `wadm.yaml.hbs` and optionally `world.wit`.
    pub fn load_dir(dir: &Path) -> Result<Template, TemplateError> {
        let err = |file: &str, message: String, fix: &str| TemplateError::User {
            dir: dir.to_path_buf(),
            file: file.to_string(),
            message,
            fix: fix.to_string(),
        };
        let read = |file: &str, fix: &str| {
            std::fs::read_to_string(dir.join(file)).map_err(|e| err(file, e.to_string(), fix))
        };
        let meta_text = read(
            "template.toml",
            "create template.toml with name, world and description",
        )?;
        let meta: TemplateMeta = toml::from_str(&meta_text).map_err(|e| {
            err(
                "template.toml",
                e.to_string(),
                "template.toml needs `name`, `world` and `description` (optional: `aliases`, `required`)",
            )
        })?;
        let glue = read("glue.go.hbs", "add the Go glue template glue.go.hbs")?;
        let manifest = read(
            "wadm.yaml.hbs",
            "add the wadm manifest template wadm.yaml.hbs",
        )?;
        for (file, text) in [("glue.go.hbs", &glue), ("wadm.yaml.hbs", &manifest)] {
            handlebars::Template::compile(text).map_err(|e| {
                err(
                    file,
                    format!("handlebars syntax error: {e}"),
                    "fix the template syntax",
                )
            })?;
        }
        let wit_path = dir.join("world.wit");
        let wit = match std::fs::read_to_string(&wit_path) {
            Ok(text) => Some((wit_path, text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(err("world.wit", e.to_string(), "make world.wit readable")),
        };
        Ok(Template {
            meta,
            glue,
            manifest,
            origin: TemplateOrigin::Dir(dir.to_path_buf()),
            wit,
        })
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
        // Consecutive files in one directory are one package: parse them as a group.
        let mut i = 0;
        while i < WIT_FILES.len() {
            let dir = |p: &str| p.rsplit_once('/').map_or("", |(d, _)| d).to_string();
            let here = dir(WIT_FILES[i].0);
            let mut map = wit_parser::SourceMap::new();
            while i < WIT_FILES.len() && dir(WIT_FILES[i].0) == here {
                map.push_str(WIT_FILES[i].0, WIT_FILES[i].1);
                i += 1;
            }
            let group = map
                .parse()
                .map_err(|(_, e)| TemplateError::Wit(anyhow::anyhow!("{e}")))?;
            main = Some(
                resolve
                    .push_group(group)
                    .map_err(|e| TemplateError::Wit(anyhow::anyhow!("{e:#}")))?,
            );
        }
        Ok(Wit {
            resolve,
            main: main.expect("WIT_FILES is not empty"),
        })
    }

    /// The embedded WIT plus every user template's `world.wit`.
    pub fn for_templates(set: &TemplateSet) -> Result<Wit, TemplateError> {
        let mut wit = Self::embedded()?;
        for t in set.iter() {
            if let (Some((path, text)), TemplateOrigin::Dir(dir)) = (&t.wit, &t.origin) {
                wit.resolve.push_str(path, text).map_err(|e| TemplateError::User {
                    dir: dir.clone(),
                    file: "world.wit".into(),
                    message: format!("{e:#}"),
                    fix: "world.wit must hold one WIT package; it may use wasmcloud:messaging@0.2.0".into(),
                })?;
            }
        }
        for t in set.iter() {
            wit.world(t)?;
        }
        Ok(wit)
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
        assert_eq!(
            set.names(),
            vec![
                "processor_nats",
                "producer_nats",
                "http_producer_nats",
                "dbsync"
            ]
        );
        for t in set.iter() {
            let w = wit.world(t).unwrap();
            let world = &wit.resolve.worlds[w];
            assert!(!world.exports.is_empty(), "{} exports nothing", t.meta.name);
        }
        assert_eq!(set.get("processing").unwrap().meta.name, "processor_nats");
        assert_eq!(set.get("producer").unwrap().meta.name, "producer_nats");
        let db = set.get("dbsync").expect("dbsync is built in");
        assert_eq!(db.meta.world, "pelato:templates/dbsync@0.1.0");
        assert_eq!(db.meta.settings["mode"].default, "row");
        assert_eq!(db.meta.settings["table"].kind, SettingKind::SqlTable);
    }
}

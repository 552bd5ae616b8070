//! `gen`: renders, for each task, a Go module (generated bindings + template glue
//! + the user's file) and a wadm manifest into `PROJECT/gen/<component_name>/`.
//!
//! Everything is rendered and validated in memory first; a task's directory is
//! then replaced atomically (written to a temporary sibling and renamed), so a
//! failure never leaves a half-written project behind.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use handlebars::{Handlebars, RenderErrorReason};
use serde_json::json;

use crate::config::Settings;
use crate::glue::{self, GlueOptions};
use crate::templates::{TemplateSet, Wit};
use crate::workflow::{Task, Workflow};

/// Name of the directory, under the project, that holds generated task modules.
pub const GEN_DIR: &str = "gen";
/// Name of the directory, under the project, that holds built components.
pub const BUILD_DIR: &str = "build";
/// File name of the generated bindings.
pub const BINDINGS_FILE: &str = "zz_pelato_bindings.go";
/// File name of the rendered template glue.
pub const GLUE_FILE: &str = "zz_pelato_glue.go";
/// File name the user's task is copied to.
pub const TASK_FILE: &str = "task.go";
/// File name of the wadm manifest.
pub const MANIFEST_FILE: &str = "wadm.yaml";
/// Default provider image for NATS messaging (the host's builtin provider).
pub const DEFAULT_MESSAGING_PROVIDER: &str = "wasmcloud+builtin://messaging-nats";

/// Runtime config key under which a task's dest topic reaches its component.
pub const DEST_TOPIC_KEY: &str = "dest-topic";

/// Handlebars partial `{{> pelato_settings}}` for glue templates: the task's
/// settings as fallbacks, and `pelatoSetting(key)`, which reads the
/// component's runtime config (`wasi:config/store`, filled by the host from the
/// manifest's component `config:`) and falls back to the workflow.yaml value.
/// Templates using it must import `wasi:config/store@0.2.0-draft`.
pub const SETTINGS_PARTIAL: &str = r#"// pelatoSettingDefaults are the task's settings as workflow.yaml gives them.
var pelatoSettingDefaults = map[string]string{
{{#each settings}}	{{go_str @key}}: {{go_str this}},
{{/each}}}

// pelatoSetting returns the runtime config value of key (the wadm manifest's
// component config), or its workflow.yaml value when the config has none.
func pelatoSetting(key string) string {
	if r := pelatoStoreGet(key); !r.IsErr && r.Ok.Some && r.Ok.Value != "" {
		return r.Ok.Value
	}
	return pelatoSettingDefaults[key]
}
"#;

/// Handlebars partial `{{> pelato_task}}` for glue templates of worlds that
/// import `wasmcloud:messaging/consumer`: `pelatoRunTask` (calls exec_task, a
/// panic becomes an error) and `pelatoFail` (the handler's error result, plus
/// an `error: …` reply when a requester waits). Needs `import "fmt"`.
pub const TASK_PARTIAL: &str = r#"// pelatoRunTask calls the user's exec_task; a panic becomes an error.
func pelatoRunTask(arg string) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("exec_task panicked: %v", r)
		}
	}()
	return exec_task(arg), nil
}

// pelatoFail is the handler's error result; a requester waiting on a reply-to
// is told, rather than left to time out.
func pelatoFail(msg pelatoBrokerMessage, reason string) pelatoResult[struct{}, string] {
	if msg.ReplyTo.Some {
		pelatoConsumerPublish(pelatoBrokerMessage{Subject: msg.ReplyTo.Value, Body: []byte("error: " + reason)})
	}
	return pelatoResult[struct{}, string]{IsErr: true, Err: reason}
}
"#;

/// A task rendered in memory.
#[derive(Debug, Clone)]
pub struct RenderedTask {
    /// Task name.
    pub task: String,
    /// Component name (the directory under `gen/`).
    pub component: String,
    /// Canonical template name.
    pub template: String,
    /// Files of the Go module and the manifest, by file name.
    pub files: BTreeMap<String, String>,
    /// Effective maximum message size (bytes).
    pub max_message_bytes: u64,
    /// wadm application name.
    pub app_name: String,
    /// Warnings from manifest validation.
    pub warnings: Vec<String>,
}

/// A task written to disk.
#[derive(Debug, Clone)]
pub struct GeneratedTask {
    /// What was rendered.
    pub rendered: RenderedTask,
    /// `PROJECT/gen/<component>`.
    pub dir: PathBuf,
}

impl GeneratedTask {
    /// Path of the task's wadm manifest.
    pub fn manifest_path(&self) -> PathBuf {
        self.dir.join(MANIFEST_FILE)
    }
}

/// Why a task could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// Templates or WIT failed to load.
    #[error(transparent)]
    Template(#[from] crate::templates::TemplateError),
    /// The task's type has no template.
    #[error("task `{task}`: no template `{template}`")]
    NoTemplate {
        /// Task name.
        task: String,
        /// Template asked for.
        template: String,
    },
    /// Handlebars failed.
    #[error("task `{task}`: rendering {file} from template `{template}` failed: {message}")]
    Render {
        /// Task name.
        task: String,
        /// Template name.
        template: String,
        /// Output file.
        file: String,
        /// Cause.
        message: String,
    },
    /// Glue generation failed.
    #[error("task `{task}`: {source}")]
    Glue {
        /// Task name.
        task: String,
        /// Cause.
        source: glue::GlueError,
    },
    /// The template's glue does not implement an export of its world.
    #[error(
        "task `{task}`: template `{template}` must define `{signature}` for export `{export}`"
    )]
    MissingHook {
        /// Task name.
        task: String,
        /// Template name.
        template: String,
        /// Expected Go signature.
        signature: String,
        /// WIT export.
        export: String,
    },
    /// The rendered manifest is not a valid wadm application.
    #[error("task `{task}`: the generated wadm manifest is invalid:\n{}", problems.join("\n"))]
    Manifest {
        /// Task name.
        task: String,
        /// wadm-types' findings.
        problems: Vec<String>,
    },
    /// The user's task file has a problem gen can see.
    #[error("{0}")]
    TaskFile(String),
    /// Writing failed.
    #[error("writing {path}: {source}")]
    Io {
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// Renders Go modules and manifests for a workflow.
pub struct Generator {
    templates: TemplateSet,
    wit: Wit,
    hbs: Handlebars<'static>,
}

fn quote_helper(
    h: &handlebars::Helper<'_>,
    _: &Handlebars<'_>,
    _: &handlebars::Context,
    _: &mut handlebars::RenderContext<'_, '_>,
    out: &mut dyn handlebars::Output,
) -> handlebars::HelperResult {
    let v = h
        .param(0)
        .ok_or_else(|| RenderErrorReason::ParamNotFoundForIndex("quote", 0))?;
    let s = match v.value() {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => {
            return Err(RenderErrorReason::Other(format!(
                "`{}` is not set",
                v.relative_path().map(String::as_str).unwrap_or("value")
            ))
            .into())
        }
        other => other.to_string(),
    };
    // A JSON string literal is both a valid YAML double-quoted scalar and a valid
    // Go interpreted string literal (serde_json escapes quotes, backslashes and
    // control characters).
    out.write(&serde_json::to_string(&s).map_err(|e| RenderErrorReason::Other(e.to_string()))?)?;
    Ok(())
}

impl Generator {
    /// A generator over the built-in templates and embedded WIT.
    pub fn new() -> Result<Generator, GenError> {
        Self::with_templates(TemplateSet::builtin()?)
    }

    /// A generator over the templates a project can use: built-ins, then
    /// `PELATO_TEMPLATES` directories, then the project's `templates/`.
    pub fn for_project(project_dir: &Path) -> Result<Generator, GenError> {
        Self::with_templates(TemplateSet::discover(project_dir)?)
    }

    /// A generator over a given template set.
    pub fn with_templates(templates: TemplateSet) -> Result<Generator, GenError> {
        let wit = Wit::for_templates(&templates)?;
        let mut hbs = Handlebars::new();
        hbs.set_strict_mode(true);
        hbs.register_escape_fn(handlebars::no_escape);
        hbs.register_helper("go_str", Box::new(quote_helper));
        hbs.register_helper("yaml_str", Box::new(quote_helper));
        for (name, src) in [
            ("pelato_settings", SETTINGS_PARTIAL),
            ("pelato_task", TASK_PARTIAL),
        ] {
            hbs.register_partial(name, src)
                .map_err(|e| GenError::Render {
                    task: String::new(),
                    template: "(built-in partial)".into(),
                    file: name.into(),
                    message: e.to_string(),
                })?;
        }
        Ok(Generator {
            templates,
            wit,
            hbs,
        })
    }

    /// The template set in use.
    pub fn templates(&self) -> &TemplateSet {
        &self.templates
    }

    /// The WIT in use.
    pub fn wit(&self) -> &Wit {
        &self.wit
    }

    /// Renders one task in memory.
    pub fn render(
        &self,
        wf: &Workflow,
        task: &Task,
        settings: &Settings,
    ) -> Result<RenderedTask, GenError> {
        let template = self
            .templates
            .get(&task.template)
            .ok_or_else(|| GenError::NoTemplate {
                task: task.name.clone(),
                template: task.template.clone(),
            })?;
        let world = self.wit.world(template)?;
        let max_message_bytes = task
            .max_message_size
            .or(wf.max_message_size)
            .unwrap_or(crate::DEFAULT_MAX_MESSAGE_BYTES);
        let glue = glue::generate(
            &self.wit.resolve,
            world,
            &GlueOptions {
                max_message_bytes,
                ..GlueOptions::default()
            },
        )
        .map_err(|source| GenError::Glue {
            task: task.name.clone(),
            source,
        })?;

        let user_files = task_sources(task)?;
        for (shown, _, src) in &user_files {
            check_reserved(shown, src)?;
        }
        let user_module =
            crate::gomod::UserModule::find(&wf.root).map_err(|source| GenError::Io {
                path: wf.root.join(crate::gomod::GO_MOD),
                source,
            })?;

        let ctx = self.context(wf, task, &template.meta, settings, max_message_bytes);
        let render = |file: &str, src: &str| {
            self.hbs
                .render_template(src, &ctx)
                .map_err(|e| GenError::Render {
                    task: task.name.clone(),
                    template: template.meta.name.clone(),
                    file: file.to_string(),
                    message: e.to_string(),
                })
        };
        let glue_src = render(GLUE_FILE, &template.glue)?;
        for hook in &glue.exports {
            if !defines_func(&glue_src, &hook.go_name) {
                return Err(GenError::MissingHook {
                    task: task.name.clone(),
                    template: template.meta.name.clone(),
                    signature: hook.go_signature.clone(),
                    export: hook.export_name.clone(),
                });
            }
        }
        let manifest = render(MANIFEST_FILE, &template.manifest)?;
        let warnings = validate_manifest(&task.name, &manifest)?;

        let mut files = BTreeMap::new();
        // in a project with its own go.mod, the task's package lives inside the
        // user's module (see crate::gomod); its files build for wasip1 only, so the user's
        // `go build ./...` skips them. Otherwise the task is a module of its own.
        let tag = if user_module.is_some() {
            "//go:build wasip1\n\n"
        } else {
            files.insert(
                "go.mod".to_string(),
                format!(
                    "// Generated by pelato. DO NOT EDIT.\nmodule pelato.local/{}\n\ngo 1.24\n",
                    task.component_name
                ),
            );
            ""
        };
        files.insert(BINDINGS_FILE.to_string(), format!("{tag}{}", glue.source));
        files.insert(GLUE_FILE.to_string(), format!("{tag}{glue_src}"));
        // A //line directive makes the compiler report the user's own path and lines.
        for (shown, name, src) in user_files {
            files.insert(name, format!("{tag}//line {}:1\n{src}", shown.display()));
        }
        files.insert(MANIFEST_FILE.to_string(), manifest);
        Ok(RenderedTask {
            task: task.name.clone(),
            component: task.component_name.clone(),
            template: template.meta.name.clone(),
            files,
            max_message_bytes,
            app_name: app_name(wf, task),
            warnings,
        })
    }

    fn context(
        &self,
        wf: &Workflow,
        task: &Task,
        meta: &crate::templates::TemplateMeta,
        settings: &Settings,
        max_message_bytes: u64,
    ) -> serde_json::Value {
        let n = task.targets.len().max(1) as u32;
        let spread: Vec<_> = task
            .targets
            .iter()
            .enumerate()
            .map(|(i, label)| {
                // Weights sum to 100; the remainder goes to the first targets.
                let weight = 100 / n + u32::from((i as u32) < 100 % n);
                json!({ "name": label, "label": label, "weight": weight })
            })
            .collect();
        let nats_url = format!(
            "nats://{}:{}",
            settings.nats_host.as_deref().unwrap_or("127.0.0.1"),
            settings.nats_port.unwrap_or(4222)
        );
        let version = task.version.to_string();
        let mut runtime_settings = meta.effective_settings(&task.config);
        if let Some(dest) = &task.dest_topic {
            runtime_settings.insert(DEST_TOPIC_KEY.to_string(), dest.clone());
        }
        json!({
            "workflow_file": "workflow.yaml",
            "project_name": wf.project_name,
            "task_name": task.name,
            "template": task.template,
            "component_name": task.component_name,
            "app_name": app_name(wf, task),
            "version": version,
            "description": format!("PELATO task {} of project {}", task.name, wf.project_name),
            "source_topic": task.source_topic,
            "dest_topic": task.dest_topic.clone().unwrap_or_default(),
            "instances": task.instances,
            "spread": spread,
            "image": default_image(wf, task, settings),
            "provider_name": "nats-messaging",
            "provider_image": wf.messaging_provider.as_deref().unwrap_or(DEFAULT_MESSAGING_PROVIDER),
            // Named configs are lattice-wide: scope them by application.
            "consumer_config": format!("{}-consumer", app_name(wf, task)),
            "subscription_config": format!("{}-subscription", app_name(wf, task)),
            // A queue group per application: with the provider on several
            // hosts, each message is still handled once.
            "subscription": format!("{}|{}", task.source_topic, app_name(wf, task)),
            "nats_url": nats_url,
            "max_message_size": max_message_bytes,
            "settings": runtime_settings,
            "postgres": {
                "host": settings.postgres_host.as_deref().unwrap_or("127.0.0.1"),
                "port": settings.postgres_port.unwrap_or(5432).to_string(),
                "username": settings.postgres_username.as_deref().unwrap_or("postgres"),
                "database": settings.postgres_database.as_deref().unwrap_or("postgres"),
                "tls_required": settings.postgres_tls_required.to_string(),
                "password_secret": settings.postgres_password_secret.as_deref().unwrap_or("postgres-password"),
                "config_name": format!("{}-postgres", app_name(wf, task)),
                "provider_image": wf.postgres_provider.as_deref().unwrap_or(crate::workflow::DEFAULT_POSTGRES_PROVIDER),
            },
            "settings_config": format!("{}-settings", app_name(wf, task)),
            "http_port": task.http_port.unwrap_or(crate::workflow::DEFAULT_HTTP_PORT),
            "http_address": format!("0.0.0.0:{}", task.http_port.unwrap_or(crate::workflow::DEFAULT_HTTP_PORT)),
        })
    }
}

/// wadm application name of a task: `<project slug>-<component_name>`,
/// lower-cased, with `_` and `.` written as `-` (wadm names allow neither
/// `.` nor, in PELATO's convention, `_`): project `Temperature data
/// analysis`, component `celsius_to_kelvin_conversion` →
/// `temperature-data-analysis-celsius-to-kelvin-conversion`.
pub fn app_name(wf: &Workflow, task: &Task) -> String {
    format!("{}-{}", wf.project_slug(), task.component_name)
        .to_ascii_lowercase()
        .replace(['_', '.'], "-")
}

/// Path where `build` writes a task's component.
pub fn component_path(root: &Path, component: &str) -> PathBuf {
    root.join(BUILD_DIR).join(format!("{component}.wasm"))
}

/// The image reference a manifest uses before anything is pushed: the registry
/// reference when `REGISTRY_URL` is set, else the local build output.
pub fn default_image(wf: &Workflow, task: &Task, settings: &Settings) -> String {
    match &settings.registry_url {
        Some(url) => {
            let host = url
                .trim_start_matches("http://")
                .trim_start_matches("https://")
                .trim_end_matches('/');
            format!("{host}/{}:{}", task.component_name, task.version)
        }
        None => format!(
            "file://{}",
            component_path(&wf.root, &task.component_name).display()
        ),
    }
}

/// The task's Go sources as `(path shown to the user, file name under gen/, text)`: the one
/// file as [`TASK_FILE`], or each `.go` file of a task folder (`_test.go` aside) as
/// `task_<name>`.
fn task_sources(task: &Task) -> Result<Vec<(PathBuf, String, String)>, GenError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| GenError::Io { path, source }
    };
    if !task.code_path.is_dir() {
        let src = fs::read_to_string(&task.code_path).map_err(io(&task.code_path))?;
        return Ok(vec![(task.code.clone(), TASK_FILE.to_string(), src)]);
    }
    let mut names: Vec<String> = fs::read_dir(&task.code_path)
        .map_err(io(&task.code_path))?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.ends_with(".go") && !n.ends_with("_test.go"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let p = task.code_path.join(&n);
            let src = fs::read_to_string(&p).map_err(io(&p))?;
            Ok((task.code.join(&n), format!("task_{n}"), src))
        })
        .collect()
}

fn defines_func(src: &str, name: &str) -> bool {
    src.lines().any(|l| {
        l.trim_start()
            .strip_prefix("func ")
            .and_then(|rest| rest.trim_start().strip_prefix(name))
            .is_some_and(|rest| rest.trim_start().starts_with('(') || rest.starts_with('['))
    })
}

/// Rejects what would clash with the glue: `func main` and `pelato*` identifiers.
fn check_reserved(display: &Path, src: &str) -> Result<(), GenError> {
    let mut problems = Vec::new();
    for (i, line) in src.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("//") {
            continue;
        }
        if t.starts_with("func main()") {
            problems.push(format!(
                "{}:{}: remove `func main()`: PELATO's glue provides it (a task only defines exec_task and its helpers)",
                display.display(),
                i + 1
            ));
        }
        let declares_reserved = ["func pelato", "var pelato", "const pelato", "type pelato"]
            .iter()
            .any(|p| t.starts_with(p));
        if declares_reserved {
            problems.push(format!(
                "{}:{}: names starting with `pelato` are reserved for the generated glue; rename this declaration",
                display.display(),
                i + 1
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(GenError::TaskFile(problems.join("\n")))
    }
}

/// Parses and validates a rendered manifest (the one validation, [`crate::manifest`]); returns
/// the warnings.
pub fn validate_manifest(task: &str, yaml: &str) -> Result<Vec<String>, GenError> {
    let invalid = |problems: Vec<String>| GenError::Manifest {
        task: task.to_string(),
        problems,
    };
    let manifest =
        crate::manifest::parse(yaml.as_bytes()).map_err(|e| invalid(vec![e.to_string()]))?;
    let found = crate::manifest::validate(&manifest, Some(yaml.as_bytes()));
    if found.errors.is_empty() {
        Ok(found.warnings)
    } else {
        Err(invalid(found.errors))
    }
}

/// Writes a rendered task to `ROOT/gen/<component>/`, replacing what was there
/// in one rename.
pub fn write_task(root: &Path, rendered: RenderedTask) -> Result<GeneratedTask, GenError> {
    let gen_root = root.join(GEN_DIR);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| GenError::Io { path, source }
    };
    fs::create_dir_all(&gen_root).map_err(io(&gen_root))?;
    let dir = gen_root.join(&rendered.component);
    // The staging folder gets a new folder's usual mode (not a private
    // temporary folder's 0700): gen/ is read by the rest of the team.
    let staged =
        crate::util::fs::create_staging_dir(&gen_root, &format!(".{}-", rendered.component))
            .map_err(io(&gen_root))?;
    for (name, content) in &rendered.files {
        let p = staged.join(name);
        if let Err(e) = fs::write(&p, content) {
            let _ = fs::remove_dir_all(&staged);
            return Err(io(&p)(e));
        }
    }
    // Swap: move the old directory aside, move the new one in, drop the old one.
    let old = gen_root.join(format!(".{}.old", rendered.component));
    let _ = fs::remove_dir_all(&old);
    let swapped = (|| {
        if dir.exists() {
            fs::rename(&dir, &old)?;
        }
        fs::rename(&staged, &dir)
    })();
    if let Err(e) = swapped {
        let _ = fs::remove_dir_all(&staged);
        return Err(io(&dir)(e));
    }
    let _ = fs::remove_dir_all(&old);
    Ok(GeneratedTask { rendered, dir })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_escapes_injection() {
        let g = Generator::new().unwrap();
        let out = g
            .hbs
            .render_template(
                "a: {{yaml_str x}}\nb: 1\n",
                &json!({"x": "evil\"\nc: injected"}),
            )
            .unwrap();
        let v: serde_yaml::Value = serde_yaml::from_str(&out).unwrap();
        assert_eq!(v["a"].as_str().unwrap(), "evil\"\nc: injected");
        assert!(v.get("c").is_none());
    }

    #[test]
    fn finds_defined_funcs() {
        assert!(defines_func("func pelatoOnX(a int) {}", "pelatoOnX"));
        assert!(!defines_func("func pelatoOnXY(a int) {}", "pelatoOnX"));
        assert!(!defines_func("// func pelatoOnX(", "pelatoOnX"));
    }

    #[test]
    fn reserved_names_are_rejected() {
        let e = check_reserved(
            Path::new("tasks/a.go"),
            "package main\nfunc main() {}\nvar pelatoX = 1\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("tasks/a.go:2: remove `func main()`"), "{e}");
        assert!(
            e.contains("tasks/a.go:3: names starting with `pelato`"),
            "{e}"
        );
    }
}

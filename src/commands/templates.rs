//! `pelato templates [PROJECT]`

use std::process::ExitCode;

use pelato::templates::{TemplateOrigin, TemplateSet, Wit};

use super::ProjectArg;

/// List the built-in and user templates with their WIT worlds.
#[derive(clap::Args, Debug)]
pub struct TemplatesArgs {
    #[command(flatten)]
    project: ProjectArg,
}

impl TemplatesArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let set = TemplateSet::discover(&self.project.project)?;
        let wit = Wit::for_templates(&set)?;
        let mut out = String::new();
        for t in set.iter() {
            let origin = match &t.origin {
                TemplateOrigin::Builtin => "built-in".to_string(),
                TemplateOrigin::Dir(d) => d.display().to_string(),
            };
            let aliases = if t.meta.aliases.is_empty() {
                String::new()
            } else {
                format!(" (also: {})", t.meta.aliases.join(", "))
            };
            out.push_str(&format!(
                "{}{aliases}  [{origin}]\n  {}\n",
                t.meta.name, t.meta.description
            ));
            let world = wit.world(t)?;
            let w = &wit.resolve.worlds[world];
            out.push_str(&format!("  world {}\n", t.meta.world));
            for k in w.imports.keys() {
                out.push_str(&format!("    import {}\n", wit.resolve.name_world_key(k)));
            }
            for k in w.exports.keys() {
                out.push_str(&format!("    export {}\n", wit.resolve.name_world_key(k)));
            }
            for (name, s) in &t.meta.settings {
                let default = if s.default.is_empty() {
                    String::new()
                } else {
                    format!(" (default {:?})", s.default)
                };
                out.push_str(&format!("  config.{name}{default}: {}\n", s.description));
            }
            out.push('\n');
        }
        super::write_stdout(out.as_bytes());
        Ok(ExitCode::SUCCESS)
    }
}

//! `pelato templates [PROJECT]`

use std::process::ExitCode;

use pelato::templates::{TemplateOrigin, TemplateSet, Wit};
use pelato::workflow::Platform;

use super::ProjectArg;

/// List the built-in and user templates with their WIT world on each platform.
#[derive(clap::Args, Debug)]
pub struct TemplatesArgs {
    #[command(flatten)]
    project: ProjectArg,
    #[command(flatten)]
    platform: super::PlatformArg,
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
            let platforms: Vec<Platform> = match self.platform.platform {
                Some(p) => vec![p],
                None => Platform::ALL.to_vec(),
            };
            for p in platforms {
                let Some(name) = t.meta.world_for(p) else {
                    out.push_str(&format!(
                        "  {p}: no world (add `world_v2` to template.toml)\n"
                    ));
                    continue;
                };
                let w = &wit.resolve.worlds[wit.world_for(t, p)?];
                out.push_str(&format!("  {p}: world {name}\n"));
                for k in w.imports.keys() {
                    out.push_str(&format!("    import {}\n", wit.resolve.name_world_key(k)));
                }
                for k in w.exports.keys() {
                    out.push_str(&format!("    export {}\n", wit.resolve.name_world_key(k)));
                }
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

//! `pelato call PROJECT COMPONENT --input X`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use pelato::harness::{Harness, Message};
use pelato::pipeline::{self, Project};

use super::BuildOpts;

/// Build if needed, deliver one message to a component in the harness, and print
/// on stdout exactly the body it published to its dest_topic.
#[derive(clap::Args, Debug)]
pub struct CallArgs {
    /// Project directory (holds workflow.yaml and tasks/).
    project: PathBuf,
    /// component_name of the task to call.
    component: String,
    /// Message body.
    #[arg(
        long,
        conflicts_with = "input_file",
        required_unless_present = "input_file"
    )]
    input: Option<String>,
    /// Read the message body from a file.
    #[arg(long)]
    input_file: Option<PathBuf>,
    /// Subject to deliver on (default: the task's source_topic).
    #[arg(long)]
    subject: Option<String>,
    #[command(flatten)]
    opts: BuildOpts,
}

impl CallArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let project = Project::load(&self.project)?;
        let task = project.task(&self.component)?.clone();
        let body = match (&self.input, &self.input_file) {
            (Some(s), _) => s.clone().into_bytes(),
            (None, Some(p)) => {
                std::fs::read(p).with_context(|| format!("reading --input-file {}", p.display()))?
            }
            (None, None) => unreachable!("clap requires one"),
        };
        let toolchain = pelato::toolchain::select_for_build(
            project.workflow.toolchain.as_deref(),
            self.opts.install,
            &mut pelato::toolchain::install::Bar::stderr(),
        )?
        .toolchain;
        let opts = self.opts.run_options(&project);
        let reports = pipeline::build(&project, &toolchain, &opts, &|_| {});
        let report = reports
            .iter()
            .find(|r| r.component == self.component)
            .expect("the task is in the workflow");
        if let Some((stage, msg)) = report.failure() {
            anyhow::bail!("task `{}` failed at {stage}:\n{msg}", report.task);
        }
        let built = report.built().expect("no failure, so it built");
        let harness = Harness::new(opts.harness.clone())?;
        let component = harness
            .load_file(&built.path)?
            .with_max_message_bytes(built.record.max_message_bytes);
        let subject = self
            .subject
            .unwrap_or_else(|| pipeline::concrete_subject(&task.source_topic));
        let delivery = component.deliver(&Message::new(subject, body))?;
        if !delivery.stderr.is_empty() {
            eprint!("{}", delivery.stderr);
        }
        if let Err(e) = &delivery.result {
            anyhow::bail!("task `{}` returned an error: {e}", task.name);
        }
        let dest = task.dest_topic.clone().unwrap_or_default();
        let body: Vec<u8> = delivery
            .published_to(&dest)
            .flat_map(|p| p.body.iter().copied())
            .collect();
        super::write_stdout(&body);
        Ok(ExitCode::SUCCESS)
    }
}

//! `pelato call PROJECT COMPONENT --input X [--http] [--config KEY=VALUE]`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use pelato::harness::Harness;
use pelato::pipeline;

use super::BuildOpts;

/// Build if needed, deliver one message (or, with `--http`, one POST) to a
/// component in the harness, and print on stdout exactly the body it published
/// to its dest_topic (for a task without one, such as dbsync: its reply).
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
    #[arg(long, conflicts_with = "http")]
    subject: Option<String>,
    /// Send the input as the body of an HTTP POST to the component's
    /// `wasi:http/incoming-handler` (http_producer_nats) instead of a message.
    #[arg(long)]
    http: bool,
    /// Runtime config the component sees (as the manifest's component
    /// `config:` gives it on a host), e.g. `--config dest-topic=orders.test`.
    /// Repeatable.
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    config: Vec<(String, String)>,
    #[command(flatten)]
    opts: BuildOpts,
}

impl CallArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let project = super::load_project(&self.project, &self.opts.platform)?;
        let task = project.task(&self.component)?.clone();
        let body = match (&self.input, &self.input_file) {
            (Some(s), _) => s.clone().into_bytes(),
            (None, Some(p)) => {
                std::fs::read(p).with_context(|| format!("reading --input-file {}", p.display()))?
            }
            (None, None) => unreachable!("clap requires one"),
        };
        let toolchain = self.opts.toolchain(&project)?;
        let mut opts = self.opts.run_options(&project)?;
        opts.harness
            .runtime_config
            .extend(self.config.iter().cloned());
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
        // The dest topic the component will use: its runtime config, if given.
        let dest = opts
            .harness
            .runtime_config
            .get(pelato::gen::DEST_TOPIC_KEY)
            .cloned()
            .unwrap_or_else(|| pipeline::output_subject(&task));
        let published = if self.http {
            let reply = component.post("/", body)?;
            if !reply.stderr.is_empty() {
                eprint!("{}", reply.stderr);
            }
            eprintln!("HTTP {}: {}", reply.status, reply.text());
            if !(200..300).contains(&reply.status) {
                anyhow::bail!(
                    "task `{}` answered HTTP {}: {}",
                    task.name,
                    reply.status,
                    reply.text()
                );
            }
            reply.published
        } else {
            let subject = self
                .subject
                .unwrap_or_else(|| pipeline::concrete_subject(&task.source_topic));
            let delivery = component.deliver(&pipeline::test_message(&task, &subject, body))?;
            if !delivery.stderr.is_empty() {
                eprint!("{}", delivery.stderr);
            }
            for call in &delivery.sql {
                let how = if opts.harness.postgres.is_some() {
                    "ran"
                } else {
                    "recorded, not run (add --db to run it)"
                };
                eprintln!("sql {how}: {} {:?}", call.sql, call.params);
            }
            if let Err(e) = &delivery.result {
                anyhow::bail!("task `{}` returned an error: {e}", task.name);
            }
            delivery.published
        };
        let body: Vec<u8> = published
            .iter()
            .filter(|p| p.subject == dest)
            .flat_map(|p| p.body.iter().copied())
            .collect();
        super::write_stdout(&body);
        Ok(ExitCode::SUCCESS)
    }
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!(
            "{s:?} is not KEY=VALUE (e.g. dest-topic=orders.test)"
        )),
    }
}

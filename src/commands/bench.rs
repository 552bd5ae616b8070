//! `pelato bench PROJECT [COMPONENT...] --input X [-n N] [--output json]`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use pelato::harness::bench::{self, BenchFigures};
use pelato::harness::Harness;
use pelato::pipeline;

use super::{BuildOpts, OutputFormat};

/// Build if needed, then measure what one message costs each component the
/// way the host runs it: store + instantiate, fresh-instance delivery
/// (instantiate + call) and a warm instance's call, as p50/p99 in µs.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Project directory (holds workflow.yaml and tasks/).
    project: PathBuf,
    /// component_name of the tasks to measure (default: all).
    components: Vec<String>,
    /// Message body delivered on each run.
    #[arg(long)]
    input: String,
    /// Runs per figure.
    #[arg(short = 'n', default_value_t = 1000)]
    n: usize,
    /// `json`: one object per component and line, with the keys
    /// component, snapshot, instantiate_p50_us, instantiate_p99_us,
    /// fresh_p50_us, fresh_p99_us, warm_p50_us, warm_p99_us, n.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
    #[command(flatten)]
    opts: BuildOpts,
}

impl BenchArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let project = super::load_project(&self.project, &self.opts.platform)?;
        for c in &self.components {
            project.task(c)?;
        }
        let toolchain = self.opts.toolchain(&project)?;
        let opts = self.opts.run_options(&project)?;
        let reports = pipeline::build(&project, &toolchain, &opts, &|_| {});
        let harness = Harness::new(opts.harness.clone())?;
        let mut figures: Vec<BenchFigures> = Vec::new();
        for r in reports
            .iter()
            .filter(|r| self.components.is_empty() || self.components.contains(&r.component))
        {
            if let Some((stage, msg)) = r.failure() {
                anyhow::bail!("task `{}` failed at {stage}:\n{msg}", r.task);
            }
            let built = r.built().expect("no failure, so it built");
            let task = project.task(&r.component)?;
            let component = harness
                .load_file(&built.path)?
                .with_max_message_bytes(built.record.max_message_bytes);
            let subject = pipeline::concrete_subject(&task.source_topic);
            let msg = pipeline::test_message(task, &subject, self.input.clone().into_bytes());
            let f = bench::run(
                &r.component,
                built.record.snapshot,
                &component,
                &msg,
                self.n,
            )
            .with_context(|| format!("benchmarking `{}`", r.component))?;
            match self.output {
                OutputFormat::Json => {
                    let mut line = serde_json::to_vec(&f)?;
                    line.push(b'\n');
                    super::write_stdout(&line);
                }
                OutputFormat::Text => {
                    if figures.is_empty() {
                        println!(
                            "{:<24} {:>8} {:>22} {:>22} {:>22}",
                            "component",
                            "snapshot",
                            "instantiate p50/p99",
                            "fresh p50/p99",
                            "warm p50/p99"
                        );
                    }
                    let pair = |a: f64, b: f64| format!("{a:.0}/{b:.0} µs");
                    println!(
                        "{:<24} {:>8} {:>22} {:>22} {:>22}",
                        f.component,
                        if f.snapshot { "yes" } else { "no" },
                        pair(f.instantiate_p50_us, f.instantiate_p99_us),
                        pair(f.fresh_p50_us, f.fresh_p99_us),
                        pair(f.warm_p50_us, f.warm_p99_us)
                    );
                }
            }
            figures.push(f);
        }
        if self.output == OutputFormat::Text {
            println!(
                "(n = {} per figure; the host makes a fresh instance per message)",
                self.n
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}

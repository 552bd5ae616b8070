//! `pelato test PROJECT`

use std::process::ExitCode;

use pelato::harness::Harness;
use pelato::pipeline::{self, Project, TaskReport};

use super::{print_built, print_summary, BuildOpts, ProjectArg};

/// Build if needed, then run every task's `tests:` cases in the harness.
#[derive(clap::Args, Debug)]
pub struct TestArgs {
    #[command(flatten)]
    project: ProjectArg,
    #[command(flatten)]
    opts: BuildOpts,
}

/// Runs the test stage over built reports, printing each case.
pub fn run_tests(project: &Project, harness: &Harness, reports: &mut [TaskReport]) {
    for r in reports.iter_mut() {
        let Some(built) = r.built().cloned() else {
            continue;
        };
        let task = project
            .workflow
            .tasks
            .iter()
            .find(|t| t.name == r.task)
            .expect("report comes from the workflow");
        let result = pipeline::test_task(project, harness, task, &built);
        match &result {
            Ok(summary) => {
                for c in &summary.cases {
                    if c.passed {
                        eprintln!(
                            "  pass   {:<24} {} ({:.1} ms)",
                            r.component,
                            c.name,
                            c.elapsed.as_secs_f64() * 1e3
                        );
                    } else {
                        eprintln!("  FAIL   {:<24} {}\n{}", r.component, c.name, c.diff);
                    }
                }
                if summary.cases.is_empty() {
                    eprintln!(
                        "  check  {:<24} world ok (no test cases in workflow.yaml)",
                        r.component
                    );
                }
            }
            Err(e) => eprintln!("  FAIL   {:<24} {e}", r.component),
        }
        r.test = Some(result);
    }
}

impl TestArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let project = Project::load(&self.project.project)?;
        let toolchain = pelato::toolchain::discover()?;
        let opts = self.opts.run_options(&project);
        let mut reports = pipeline::build(&project, &toolchain, &opts, &print_built);
        let harness = Harness::new(opts.harness.clone())?;
        run_tests(&project, &harness, &mut reports);
        Ok(if print_summary(&reports) == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

//! `pelato run PROJECT` and `pelato dev PROJECT`: the whole workflow on this
//! machine, no lattice (the work is in `pelato::local`; this file parses
//! arguments and renders events).

use std::io::IsTerminal;
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

use pelato::harness::{Harness, Message};
use pelato::local::{self, Event, Inputs, Options, Stop};

use super::{BuildOpts, OutputFormat, OutputOpts, ProjectArg, Started};

/// Inputs and settings shared by `run` and `dev`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunFlags {
    /// Inject a message: `--send TOPIC BODY` (repeatable; sent in order).
    #[arg(long, num_args = 2, value_names = ["TOPIC", "BODY"], action = clap::ArgAction::Append)]
    send: Vec<String>,
    /// Read messages from stdin, one per line: `TOPIC BODY` (after the sends).
    #[arg(long)]
    stdin: bool,
    /// Publish a counter (1, 2, …) on TOPIC every INTERVAL (`ms`, `s`, `m`),
    /// e.g. `--tick ticks.minute=1s`. Repeatable.
    #[arg(long, value_name = "TOPIC=INTERVAL", value_parser = parse_tick, conflicts_with = "once")]
    tick: Vec<(String, Duration)>,
    /// Address the HTTP tasks (http_producer_nats) listen on, each on its `http_port`.
    #[arg(long, default_value = "127.0.0.1")]
    http_addr: IpAddr,
    /// Do not open the HTTP tasks' listeners.
    #[arg(long)]
    no_http: bool,
    /// Bridge to a NATS server (`nats://HOST:PORT`): its messages on the tasks'
    /// source topics come in, everything the tasks publish goes out.
    #[arg(long, value_name = "URL", conflicts_with = "once")]
    nats: Option<String>,
    /// Exit once the sent messages (and stdin) and everything they caused have
    /// been handled; the exit code is non-zero if a task failed or timed out.
    #[arg(long)]
    once: bool,
    /// Deliveries that run at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=6))]
    workers: u64,
    /// Injected messages in flight (with everything they caused) before inputs wait.
    #[arg(long, default_value_t = 64)]
    max_in_flight: usize,
    /// Tasks a message may pass through before it is dropped as a loop.
    #[arg(long, default_value_t = 32)]
    max_hops: u32,
    /// Output format: `text` (one line per hop), or `json` (one JSON object per line).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
    /// No build progress; only hops and problems.
    #[arg(short, long)]
    quiet: bool,
}

/// Build what is stale, then run every task in the embedded wasmtime, wired by
/// topic with NATS subject semantics: no lattice needed.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    project: ProjectArg,
    #[command(flatten)]
    flags: RunFlags,
    #[command(flatten)]
    opts: BuildOpts,
}

/// `run`, plus: watch the project, rebuild a changed task, run its tests and
/// swap it in without dropping other tasks' messages.
#[derive(clap::Args, Debug)]
pub struct DevArgs {
    #[command(flatten)]
    project: ProjectArg,
    #[command(flatten)]
    flags: RunFlags,
    #[command(flatten)]
    opts: BuildOpts,
    /// How often the project folder is checked for changes, in milliseconds.
    #[arg(long, default_value_t = 300)]
    poll_ms: u64,
}

impl RunArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        serve("run", &self.project, &self.flags, &self.opts, None)
    }
}

impl DevArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        serve(
            "dev",
            &self.project,
            &self.flags,
            &self.opts,
            Some(Duration::from_millis(self.poll_ms.max(20))),
        )
    }
}

fn parse_tick(s: &str) -> Result<(String, Duration), String> {
    let (topic, every) = s
        .split_once('=')
        .ok_or_else(|| format!("expected TOPIC=INTERVAL (e.g. ticks.minute=1s), got {s:?}"))?;
    local::check_topic(topic)?;
    let every = parse_interval(every)?;
    Ok((topic.to_string(), every))
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((s, "s"), |i| (&s[..i], &s[i..]));
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not an interval: write e.g. 500ms, 1s or 2m"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("{s:?}: the unit must be ms, s or m")),
    };
    if !(0.001..=86_400.0).contains(&secs) {
        return Err(format!("{s:?}: the interval must be between 1ms and 24h"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// How events are printed: hops on stdout (text or JSON lines), everything
/// else on stderr.
struct Renderer {
    json: bool,
    /// Cut bodies to this many characters (on a terminal).
    cut: Option<usize>,
    lock: std::sync::Mutex<()>,
}

impl Renderer {
    fn new(json: bool) -> Renderer {
        Renderer {
            json,
            cut: std::io::stdout().is_terminal().then_some(72),
            lock: std::sync::Mutex::new(()),
        }
    }

    fn body(&self, b: &[u8]) -> String {
        let t = String::from_utf8_lossy(b);
        let t = t.replace('\n', "\\n");
        match self.cut {
            Some(n) if t.chars().count() > n => {
                format!("{}…", t.chars().take(n).collect::<String>())
            }
            _ => t,
        }
    }

    fn clock(t: std::time::SystemTime) -> String {
        let ms = local::event::unix_ms(t);
        let day_ms = ms % 86_400_000;
        format!(
            "{:02}:{:02}:{:02}.{:03}",
            day_ms / 3_600_000,
            (day_ms / 60_000) % 60,
            (day_ms / 1000) % 60,
            day_ms % 1000
        )
    }

    fn render(&self, e: Event) {
        let _g = self.lock.lock().expect("render lock");
        match &e {
            Event::Info(line) => return eprintln!("{line}"),
            Event::Warning(line) => return eprintln!("warning: {line}"),
            _ => {}
        }
        if self.json {
            let line = serde_json::to_string(&e.to_json()).expect("event serializes");
            return super::write_stdout(format!("{line}\n").as_bytes());
        }
        let text = match e {
            Event::Hop(h) => {
                let outcome = match &h.error {
                    None => "ok".to_string(),
                    Some(err) => format!("FAILED: {}", err.lines().next().unwrap_or("")),
                };
                let mut s = format!(
                    "{}  {} → {}  {:.2} ms  {}  {}",
                    Self::clock(h.time),
                    h.topic,
                    h.component,
                    h.elapsed.as_secs_f64() * 1e3,
                    outcome,
                    self.body(&h.input)
                );
                if let Some(http) = &h.http {
                    s.push_str(&format!("  (HTTP {} {})", http.method, http.status));
                }
                for p in &h.published {
                    s.push_str(&format!("\n    ⇒ {}  {}", p.subject, self.body(&p.body)));
                }
                for q in &h.sql {
                    s.push_str(&format!("\n    sql: {}", q.sql.trim()));
                    if !q.params.is_empty() {
                        s.push_str(&format!("  [{}]", q.params.join(", ")));
                    }
                }
                if let Some(err) = &h.error {
                    for l in err.lines().skip(1) {
                        s.push_str(&format!("\n    {l}"));
                    }
                }
                s
            }
            Event::Unconsumed { time, topic, body } => format!(
                "{}  {}  (no task subscribes)  {}",
                Self::clock(time),
                topic,
                self.body(&body)
            ),
            Event::Dropped {
                time,
                topic,
                reason,
            } => format!("{}  {}  DROPPED: {reason}", Self::clock(time), topic),
            Event::Info(_) | Event::Warning(_) => unreachable!("printed above"),
        };
        super::write_stdout(format!("{text}\n").as_bytes());
    }
}

/// Ctrl-C asks the run to stop (in-flight messages finish); a second one exits.
fn stop_on_ctrl_c(stop: Stop) {
    std::thread::Builder::new()
        .name("pelato-ctrl-c".into())
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if tokio::signal::ctrl_c().await.is_err() {
                    return;
                }
                eprintln!("stopping: finishing the messages in flight (Ctrl-C again to quit now)");
                stop.trigger();
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            });
        })
        .expect("spawn the Ctrl-C thread");
}

fn serve(
    command: &'static str,
    project: &ProjectArg,
    flags: &RunFlags,
    opts: &BuildOpts,
    dev_poll: Option<Duration>,
) -> anyhow::Result<ExitCode> {
    let mut sends = Vec::new();
    for pair in flags.send.chunks(2) {
        let [topic, body] = pair else {
            anyhow::bail!("--send takes a TOPIC and a BODY");
        };
        local::check_topic(topic).map_err(|e| anyhow::anyhow!("--send {topic}: {e}"))?;
        sends.push(Message::new(topic.clone(), body.clone()));
    }
    if flags.once && sends.is_empty() && !flags.stdin {
        anyhow::bail!(
            "--once needs messages to handle: give them with --send TOPIC BODY or --stdin"
        );
    }
    let out = OutputOpts {
        output: OutputFormat::Text,
        quiet: flags.quiet || flags.output == OutputFormat::Json,
    };
    let started = Started::build(command, project, opts, &out)?;
    let build_failed = started
        .reports
        .iter()
        .filter(|r| r.failure().is_some())
        .count();
    let harness = Harness::new(started.opts.harness.clone())?;
    let (routes, problems) = local::routes_for(&harness, &started.project, &started.reports, None);
    for (task, why) in &problems {
        eprintln!("warning: task `{task}` {why}\n  (it is not served; the other tasks are)");
    }
    if routes.iter().next().is_none() {
        anyhow::bail!("no task built, so there is nothing to run");
    }
    let renderer = Renderer::new(flags.output == OutputFormat::Json);
    let sink = |e: Event| renderer.render(e);
    let stop = Stop::default();
    stop_on_ctrl_c(stop.clone());
    let options = Options {
        workers: flags.workers as usize,
        max_in_flight: flags.max_in_flight.max(1),
        max_hops: flags.max_hops.max(1),
        http_addr: (!flags.no_http).then_some(flags.http_addr),
        nats: flags.nats.clone(),
    };
    let inputs = Inputs {
        sends,
        stdin: flags.stdin,
        ticks: flags.tick.clone(),
        once: flags.once,
    };
    if !flags.once {
        eprintln!(
            "serving {} task(s){}; Ctrl-C to stop",
            routes.iter().count(),
            if dev_poll.is_some() {
                ", rebuilding on changes"
            } else {
                ""
            }
        );
    }
    let outcome = match dev_poll {
        None => local::serve(routes, &options, &inputs, &sink, &stop, None),
        Some(poll) => {
            let test_harness = Harness::new(started.opts.harness.clone())?;
            let ctx = local::watch::DevContext {
                dir: &started.project.workflow.root,
                harness: &harness,
                test_harness: &test_harness,
                toolchain: &started.toolchain,
                opts: &started.opts,
                poll,
                stop: &stop,
            };
            let side = local::watch::side(&ctx);
            local::serve(routes, &options, &inputs, &sink, &stop, Some(&side))
        }
    };
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => match e.hint() {
            Some(h) => anyhow::bail!("{e}\nhint: {h}"),
            None => return Err(e.into()),
        },
    };
    if outcome.failures > 0 || build_failed > 0 {
        eprintln!(
            "{} delivery(ies) failed{}",
            outcome.failures,
            if build_failed > 0 {
                format!(", {build_failed} task(s) did not build")
            } else {
                String::new()
            }
        );
        if flags.once {
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

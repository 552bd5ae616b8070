//! The local runtime behind `pelato run` and `pelato dev`: every task's
//! component in the embedded harness, wired by topic with NATS subject
//! semantics, with no lattice.
//!
//! - **Routing**: a message reaches every task whose `source_topic` matches
//!   its subject (`*` one token, `>` the rest, else exact); what a task
//!   publishes is routed the same way, reply-to included, so a reply reaches
//!   whoever waits on it (a `--nats` requester, or the end of the chain).
//!   Messages nobody consumes are reported as the end of a chain.
//! - **Delivery**: each message gets a fresh instance, as on a wasmCloud host,
//!   made from the harness's pre-instantiated, pooled component (see
//!   [`crate::harness::pool`]); [`Options::workers`] deliveries run at once.
//! - **Inputs**: [`Inputs::sends`] in order, then stdin lines `TOPIC BODY`;
//!   HTTP requests to each task that exports `wasi:http/incoming-handler` on
//!   its `http_port`; producer ticks; and a real NATS ([`Options::nats`]).
//! - **Bounds**: at most [`Options::max_in_flight`] injected messages (each
//!   with everything it caused) are in flight; inputs wait beyond that.
//!   [`Options::max_hops`] ends publishing loops. A failing, trapping or
//!   timed-out task is reported and does not stop the others.
//! - **Stopping**: [`Stop::trigger`] (Ctrl-C) stops the inputs, lets every
//!   in-flight message finish, then returns; with [`Inputs::once`] the run ends
//!   by itself when the sends and stdin are exhausted and handled.
//!
//! [`watch`] adds `pelato dev`'s rebuild-and-swap loop.

mod dispatch;
pub mod event;
mod http;
mod nats;
pub mod watch;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use dispatch::{Dispatcher, Sink};
pub use event::{Event, Hop};

use crate::harness::{LoadedComponent, Message};

/// How the runtime runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Deliveries that run at once (default 4; the harness pools up to
    /// [`crate::harness::pool::MAX_INSTANCES`] instances, one per delivery).
    pub workers: usize,
    /// Injected messages in flight, with everything they caused, before
    /// inputs wait (default 64).
    pub max_in_flight: usize,
    /// Tasks a message may pass through before it is dropped as a loop
    /// (default 32).
    pub max_hops: u32,
    /// Address the HTTP tasks listen on (default 127.0.0.1); `None`: no
    /// HTTP listeners.
    pub http_addr: Option<IpAddr>,
    /// A NATS server to bridge to (`nats://host:port`): its messages on the
    /// tasks' source topics come in, everything tasks publish goes out.
    pub nats: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            workers: 4,
            max_in_flight: 64,
            max_hops: 32,
            http_addr: Some(IpAddr::from([127, 0, 0, 1])),
            nats: None,
        }
    }
}

/// Where messages come from besides HTTP and NATS.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Messages to inject first, in order.
    pub sends: Vec<Message>,
    /// Then read `TOPIC BODY` lines from stdin until it ends.
    pub stdin: bool,
    /// Publish a counter (`1`, `2`, …) on a topic at an interval.
    pub ticks: Vec<(String, Duration)>,
    /// End when the sends and stdin are exhausted and everything they caused
    /// has been handled (HTTP listeners, ticks and NATS are not started).
    pub once: bool,
}

/// One task being served.
#[derive(Clone)]
pub struct Route<'h> {
    /// Task name.
    pub task: String,
    /// Component name.
    pub component_name: String,
    /// Subscription (`source_topic`).
    pub source_topic: String,
    /// Port it serves HTTP on, when its component handles HTTP.
    pub http_port: Option<u16>,
    /// sha256 of the component being served.
    pub sha256: String,
    /// The loaded component.
    pub component: Arc<LoadedComponent<'h>>,
}

impl Route<'_> {
    /// Whether a message on `subject` reaches this task.
    pub fn consumes(&self, subject: &str) -> bool {
        crate::workflow::subject::subject_matches(&self.source_topic, subject)
    }
}

/// The tasks being served, by name.
#[derive(Clone, Default)]
pub struct Routes<'h> {
    by_task: Vec<Route<'h>>,
}

impl<'h> Routes<'h> {
    /// Routes for these tasks.
    pub fn new(routes: Vec<Route<'h>>) -> Routes<'h> {
        Routes { by_task: routes }
    }

    /// The task named `task`.
    pub fn get(&self, task: &str) -> Option<&Route<'h>> {
        self.by_task.iter().find(|r| r.task == task)
    }

    /// Every route.
    pub fn iter(&self) -> impl Iterator<Item = &Route<'h>> {
        self.by_task.iter()
    }

    /// The tasks a message on `subject` reaches.
    pub fn consumers<'a>(&'a self, subject: &'a str) -> impl Iterator<Item = &'a Route<'h>> + 'a {
        self.by_task.iter().filter(move |r| r.consumes(subject))
    }
}

/// Asks a running [`serve`] to stop; cheap to clone and share.
#[derive(Clone, Default)]
pub struct Stop {
    flag: Arc<AtomicBool>,
    notify: Arc<tokio::sync::Notify>,
}

impl Stop {
    /// Stops the run: inputs stop, in-flight messages finish.
    pub fn trigger(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether [`Stop::trigger`] was called.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Resolves once the run is asked to stop.
    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

/// Why the runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// An HTTP task's port could not be bound.
    #[error("task `{task}` cannot listen on {addr}: {source}")]
    Bind {
        /// Task name.
        task: String,
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The NATS server given with `--nats` could not be reached.
    #[error("cannot connect to NATS at {url}: {message}")]
    Nats {
        /// The URL (credentials removed).
        url: String,
        /// Why.
        message: String,
    },
}

impl LocalError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            LocalError::Bind { .. } => Some(
                "another process uses the port: stop it, set another `http_port` for the task, or pass --http-addr with another address".into(),
            ),
            LocalError::Nats { .. } => Some(
                "check the URL given with --nats (nats://HOST:PORT) and that nats-server runs there".into(),
            ),
            LocalError::Runtime(_) => None,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// Deliveries that failed (task error, trap, timeout).
    pub failures: usize,
}

/// Something that comes in from outside, for the dispatcher to inject.
pub(crate) enum Ingress {
    /// A message.
    Message(Message),
    /// An HTTP request to a task.
    Http(http::Request),
}

/// Capacity of the queue between the inputs and the dispatcher.
const INGRESS_QUEUE: usize = 256;

/// Serves `routes` until [`Stop::trigger`] (or, with [`Inputs::once`], until
/// the inputs are exhausted and handled). `side`, when given, runs on its own
/// thread beside the workers with the dispatcher (`pelato dev`'s watcher);
/// it should return once `stop` is set.
pub fn serve<'h>(
    routes: Routes<'h>,
    opts: &Options,
    inputs: &Inputs,
    sink: Sink<'h>,
    stop: &Stop,
    side: Option<&(dyn Fn(&Dispatcher<'h>) + Sync)>,
) -> Result<Outcome, LocalError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("pelato-run-io")
        .enable_all()
        .build()
        .map_err(LocalError::Runtime)?;
    let (ingress, mut ingress_rx) = tokio::sync::mpsc::channel::<Ingress>(INGRESS_QUEUE);

    // Inputs that need a port or a server are set up first, so that a
    // failure is reported before anything runs.
    let mut listeners = Vec::new();
    if !inputs.once {
        if let Some(addr) = opts.http_addr {
            listeners = rt.block_on(http::bind(&routes, addr))?;
        }
    }
    let bridge = match (&opts.nats, inputs.once) {
        (Some(url), false) => Some(rt.block_on(nats::Bridge::connect(url))?),
        _ => None,
    };
    let outbound = bridge.as_ref().map(|b| b.outbound());
    let subjects: Vec<String> = {
        let mut s: Vec<String> = routes.iter().map(|r| r.source_topic.clone()).collect();
        s.sort();
        s.dedup();
        s
    };
    let dispatcher = Dispatcher::new(routes, opts, outbound, rt.handle().clone(), sink);
    for l in &listeners {
        dispatcher.emit(Event::Info(format!(
            "task `{}` listens on http://{}/",
            l.task, l.addr
        )));
    }
    let d = &dispatcher;
    let workers = opts.workers.max(1);

    let outcome = std::thread::scope(|scope| {
        for i in 0..workers {
            std::thread::Builder::new()
                .name(format!("pelato-run-{i}"))
                .spawn_scoped(scope, move || d.work())
                .expect("spawn a worker thread");
        }
        // Continuous inputs live on the runtime and only hold a sender.
        let _guard = rt.enter();
        let mut tasks = Vec::new();
        let mut publisher = None;
        if !inputs.once {
            for l in listeners {
                tasks.push(tokio::spawn(http::serve(l, ingress.clone())));
            }
            for (topic, every) in &inputs.ticks {
                tasks.push(tokio::spawn(tick(topic.clone(), *every, ingress.clone())));
            }
            if let Some(b) = bridge {
                d.emit(Event::Info(format!(
                    "bridged to NATS at {}: subscribed to {}",
                    b.url(),
                    subjects.join(", ")
                )));
                let (subs, p) = b.start(subjects, ingress.clone());
                tasks.extend(subs);
                publisher = Some(p);
            }
        }
        feed(inputs, ingress, stop.clone());
        if let Some(side) = side {
            scope.spawn(move || side(d));
        }
        // The pump: one place injects, in arrival order.
        rt.block_on(async {
            loop {
                tokio::select! {
                    item = ingress_rx.recv() => match item {
                        Some(Ingress::Message(m)) => d.inject(m).await,
                        Some(Ingress::Http(r)) => d.http(r).await,
                        // Sends and stdin are done: with --once that is the
                        // end, else serve until stopped.
                        None if inputs.once => break,
                        None => { stop.wait().await; break }
                    },
                    _ = stop.wait() => break,
                }
            }
        });
        d.begin_stop();
        for t in &tasks {
            t.abort();
        }
        d.wait_idle();
        d.finish_outbound();
        if let Some(p) = publisher {
            let _ = rt.block_on(tokio::time::timeout(Duration::from_secs(2), p));
        }
        d.stop_workers(workers);
        stop.trigger();
        Outcome {
            failures: d.failures(),
        }
    });
    rt.shutdown_timeout(Duration::from_millis(200));
    Ok(outcome)
}

/// Sends [`Inputs::sends`], then stdin lines, to the dispatcher, on a thread
/// of their own (a blocked stdin read cannot hold up a stop).
fn feed(inputs: &Inputs, ingress: tokio::sync::mpsc::Sender<Ingress>, stop: Stop) {
    let sends = inputs.sends.clone();
    let stdin = inputs.stdin;
    std::thread::Builder::new()
        .name("pelato-run-input".into())
        .spawn(move || {
            for m in sends {
                if stop.is_set() || ingress.blocking_send(Ingress::Message(m)).is_err() {
                    return;
                }
            }
            if stdin {
                use std::io::BufRead;
                for line in std::io::stdin().lock().lines() {
                    let Ok(line) = line else { break };
                    if stop.is_set() {
                        return;
                    }
                    if let Some(m) = parse_line(&line) {
                        if ingress.blocking_send(Ingress::Message(m)).is_err() {
                            return;
                        }
                    }
                }
            }
        })
        .expect("spawn the input thread");
}

/// A stdin line `TOPIC BODY` (the body is the rest of the line after one
/// space or tab; it may be empty). Blank lines and lines starting with `#`
/// are skipped.
pub fn parse_line(line: &str) -> Option<Message> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.trim().is_empty() || line.trim_start().starts_with('#') {
        return None;
    }
    let line = line.trim_start();
    let (topic, body) = match line.find([' ', '\t']) {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, ""),
    };
    Some(Message::new(topic, body))
}

/// Checks a topic given on the command line or stdin: a concrete NATS
/// subject (no wildcards).
pub fn check_topic(topic: &str) -> Result<(), String> {
    crate::workflow::subject::validate_subject(
        topic,
        crate::workflow::subject::SubjectRole::Publish,
    )
}

/// Publishes `1`, `2`, … on `topic` every `every`.
async fn tick(topic: String, every: Duration, ingress: tokio::sync::mpsc::Sender<Ingress>) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n: u64 = 0;
    loop {
        interval.tick().await;
        n += 1;
        let m = Message::new(topic.clone(), n.to_string());
        if ingress.send(Ingress::Message(m)).await.is_err() {
            return;
        }
    }
}

/// The tasks' routes from what was built: the component of each task that
/// built, loaded into `harness`, reusing `previous` routes whose component
/// did not change.
pub fn routes_for<'h>(
    harness: &'h crate::harness::Harness,
    project: &crate::pipeline::Project,
    reports: &[crate::pipeline::TaskReport],
    previous: Option<&Routes<'h>>,
) -> (Routes<'h>, Vec<(String, String)>) {
    let mut routes = Vec::new();
    let mut problems = Vec::new();
    let by_name: HashMap<&str, &crate::workflow::Task> = project
        .workflow
        .tasks
        .iter()
        .map(|t| (t.name.as_str(), t))
        .collect();
    for r in reports {
        let Some(task) = by_name.get(r.task.as_str()) else {
            continue;
        };
        let Some(built) = r.built() else {
            if let Some((stage, msg)) = r.failure() {
                problems.push((r.task.clone(), format!("failed at {stage}: {msg}")));
            }
            continue;
        };
        let reused = previous
            .and_then(|p| p.get(&r.task))
            .filter(|old| old.sha256 == built.record.sha256)
            .map(|old| old.component.clone());
        let component = match reused {
            Some(c) => c,
            None => match harness.load_file(&built.path) {
                Ok(c) => Arc::new(c.with_max_message_bytes(built.record.max_message_bytes)),
                Err(e) => {
                    problems.push((r.task.clone(), format!("cannot load: {e}")));
                    continue;
                }
            },
        };
        let http_port = component
            .handles_http()
            .then(|| task.http_port.unwrap_or(crate::workflow::DEFAULT_HTTP_PORT));
        routes.push(Route {
            task: task.name.clone(),
            component_name: task.component_name.clone(),
            source_topic: task.source_topic.clone(),
            http_port,
            sha256: built.record.sha256.clone(),
            component,
        });
    }
    (Routes::new(routes), problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_lines() {
        let m = parse_line("sensors.a.raw {\"f\": 1}").unwrap();
        assert_eq!(m.subject, "sensors.a.raw");
        assert_eq!(m.body, b"{\"f\": 1}");
        let m = parse_line("  ticks\t2026 x\r").unwrap();
        assert_eq!((m.subject.as_str(), &m.body[..]), ("ticks", &b"2026 x"[..]));
        let m = parse_line("empty.body").unwrap();
        assert!(m.body.is_empty());
        assert!(parse_line("").is_none());
        assert!(parse_line("   ").is_none());
        assert!(parse_line("# a comment").is_none());
    }

    #[test]
    fn topics_must_be_concrete() {
        assert!(check_topic("a.b").is_ok());
        assert!(check_topic("a.*").unwrap_err().contains("wildcard"));
        assert!(check_topic("a b").is_err());
    }
}

//! Routing and delivery: the work queue, the worker loop, and the accounting
//! that makes `--once`, back-pressure and a clean Ctrl-C possible.
//!
//! Every message injected from outside (a `--send`, a stdin line, an HTTP
//! request, a tick, a NATS message) starts a *tree*: the message, what the
//! tasks it reached published, what that caused, and so on. A tree holds one
//! of [`Options::max_in_flight`](super::Options) permits until its last
//! message has been handled, so injectors wait (back-pressure) while that many
//! trees are in flight; messages published by tasks never wait, so workers
//! cannot deadlock on a full queue. A message that has gone through
//! [`Options::max_hops`](super::Options) tasks is dropped and reported: tasks
//! that publish to each other in a loop do not run forever.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Instant, SystemTime};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::event::{Event, Hop, HttpHop};
use super::Routes;
use crate::harness::{HarnessError, Message, Published};

/// Where events go.
pub type Sink<'a> = &'a (dyn Fn(Event) + Sync);

/// How many trees are alive; waited on for `--once` and shutdown.
#[derive(Default)]
struct Outstanding {
    count: Mutex<usize>,
    idle: Condvar,
}

/// One injected message and everything it caused; dropped when the last of
/// its messages has been handled, which releases its in-flight permit.
struct Tree {
    outstanding: Arc<Outstanding>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Tree {
    fn drop(&mut self) {
        let mut n = self.outstanding.count.lock().expect("outstanding lock");
        *n -= 1;
        if *n == 0 {
            self.outstanding.idle.notify_all();
        }
    }
}

/// What a worker does next.
enum Job {
    /// Deliver a message to one task.
    Deliver {
        task: String,
        msg: Message,
        hops: u32,
        tree: Arc<Tree>,
    },
    /// Send an HTTP request to one task and answer the waiting client.
    Http {
        req: super::http::Request,
        tree: Arc<Tree>,
    },
    /// Leave the worker loop.
    Stop,
}

/// Routes messages between the tasks and runs them on the workers.
pub struct Dispatcher<'h> {
    routes: RwLock<Arc<Routes<'h>>>,
    queue_tx: Mutex<std::sync::mpsc::Sender<Job>>,
    queue_rx: Mutex<std::sync::mpsc::Receiver<Job>>,
    outstanding: Arc<Outstanding>,
    in_flight: Arc<Semaphore>,
    max_hops: u32,
    failures: AtomicUsize,
    stopping: AtomicBool,
    outbound: Option<tokio::sync::mpsc::UnboundedSender<super::nats::Outbound>>,
    rt: tokio::runtime::Handle,
    sink: Sink<'h>,
}

impl<'h> Dispatcher<'h> {
    /// A dispatcher over `routes`; `outbound` receives everything tasks
    /// publish (the NATS bridge), `rt` runs the deliveries' I/O.
    pub(crate) fn new(
        routes: Routes<'h>,
        opts: &super::Options,
        outbound: Option<tokio::sync::mpsc::UnboundedSender<super::nats::Outbound>>,
        rt: tokio::runtime::Handle,
        sink: Sink<'h>,
    ) -> Dispatcher<'h> {
        let (tx, rx) = std::sync::mpsc::channel();
        Dispatcher {
            routes: RwLock::new(Arc::new(routes)),
            queue_tx: Mutex::new(tx),
            queue_rx: Mutex::new(rx),
            outstanding: Arc::new(Outstanding::default()),
            in_flight: Arc::new(Semaphore::new(opts.max_in_flight.max(1))),
            max_hops: opts.max_hops.max(1),
            failures: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
            outbound,
            rt,
            sink,
        }
    }

    /// The routes being served.
    pub fn routes(&self) -> Arc<Routes<'h>> {
        self.routes.read().expect("routes lock").clone()
    }

    /// Serves `routes` from now on. Messages already queued for a task that
    /// is still there go to its new version; in-flight deliveries finish on
    /// the version they started with.
    pub fn set_routes(&self, routes: Routes<'h>) {
        *self.routes.write().expect("routes lock") = Arc::new(routes);
    }

    /// Deliveries that failed (task error, trap, timeout) so far.
    pub fn failures(&self) -> usize {
        self.failures.load(Ordering::Relaxed)
    }

    /// Whether shutdown has begun: inputs stop injecting.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// Reports an event.
    pub fn emit(&self, e: Event) {
        (self.sink)(e)
    }

    fn push(&self, job: Job) {
        // The receiver lives as long as the dispatcher: send cannot fail.
        let _ = self.queue_tx.lock().expect("queue lock").send(job);
    }

    async fn new_tree(&self) -> Arc<Tree> {
        let permit = self.in_flight.clone().acquire_owned().await.ok();
        *self.outstanding.count.lock().expect("outstanding lock") += 1;
        Arc::new(Tree {
            outstanding: self.outstanding.clone(),
            _permit: permit,
        })
    }

    /// Injects a message from outside, waiting while
    /// [`Options::max_in_flight`](super::Options) trees are in flight.
    pub async fn inject(&self, msg: Message) {
        let tree = self.new_tree().await;
        self.route(msg, 0, &tree);
    }

    /// Queues an HTTP request for its task; the answer goes to the request's
    /// reply channel.
    pub(crate) async fn http(&self, r: super::http::Request) {
        let tree = self.new_tree().await;
        self.push(Job::Http { req: r, tree });
    }

    /// Queues `msg` for every task whose `source_topic` matches its subject,
    /// or reports it as unconsumed.
    fn route(&self, msg: Message, hops: u32, tree: &Arc<Tree>) {
        let routes = self.routes();
        let consumers: Vec<&str> = routes
            .consumers(&msg.subject)
            .map(|r| r.task.as_str())
            .collect();
        if consumers.is_empty() {
            self.emit(Event::Unconsumed {
                time: SystemTime::now(),
                topic: msg.subject,
                body: msg.body,
            });
            return;
        }
        if hops >= self.max_hops {
            self.emit(Event::Dropped {
                time: SystemTime::now(),
                topic: msg.subject,
                reason: format!(
                    "the message went through {hops} tasks; tasks publish to each other in a loop (raise the limit with --max-hops)"
                ),
            });
            return;
        }
        for task in consumers {
            self.push(Job::Deliver {
                task: task.to_string(),
                msg: msg.clone(),
                hops,
                tree: tree.clone(),
            });
        }
    }

    /// Routes what a task published and hands it to the NATS bridge.
    fn forward(&self, published: &[Published], hops: u32, tree: &Arc<Tree>) {
        for p in published {
            if let Some(out) = &self.outbound {
                let _ = out.send(super::nats::Outbound::Publish(p.clone()));
            }
            let mut m = Message::new(p.subject.clone(), p.body.clone());
            m.reply_to = p.reply_to.clone();
            self.route(m, hops + 1, tree);
        }
    }

    /// A worker: takes jobs until [`Dispatcher::stop_workers`].
    pub fn work(&self) {
        loop {
            let job = self.queue_rx.lock().expect("queue lock").recv();
            match job {
                Ok(Job::Stop) | Err(_) => return,
                Ok(job) => self.run(job),
            }
        }
    }

    fn run(&self, job: Job) {
        match job {
            Job::Stop => {}
            Job::Deliver {
                task,
                msg,
                hops,
                tree,
            } => {
                // The task may have been removed (dev) since the job was queued.
                let Some(route) = self.routes().get(&task).cloned() else {
                    return;
                };
                let time = SystemTime::now();
                let start = Instant::now();
                let outcome = self.rt.block_on(route.component.deliver_async(&msg));
                let elapsed = start.elapsed();
                let mut hop = Hop {
                    time,
                    topic: msg.subject.clone(),
                    task: route.task.clone(),
                    component: route.component_name.clone(),
                    input: msg.body.clone(),
                    reply_to: msg.reply_to.clone(),
                    published: Vec::new(),
                    sql: Vec::new(),
                    error: None,
                    elapsed,
                    http: None,
                    stderr: String::new(),
                };
                match outcome {
                    Ok(d) => {
                        hop.elapsed = d.elapsed;
                        hop.error = d.result.err();
                        hop.published = d.published;
                        hop.sql = d.sql;
                        hop.stderr = d.stderr;
                    }
                    Err(e) => hop.error = Some(e.to_string()),
                }
                if hop.error.is_some() {
                    self.failures.fetch_add(1, Ordering::Relaxed);
                }
                let published = hop.published.clone();
                self.emit(Event::Hop(Box::new(hop)));
                self.forward(&published, hops, &tree);
            }
            Job::Http { req, tree } => {
                let super::http::Request {
                    task,
                    method,
                    path,
                    url,
                    body,
                    reply,
                } = req;
                let Some(route) = self.routes().get(&task).cloned() else {
                    let _ = reply.send(Err(HarnessError::Load(format!(
                        "task `{task}` is no longer served"
                    ))));
                    return;
                };
                let time = SystemTime::now();
                let start = Instant::now();
                let outcome =
                    self.rt
                        .block_on(route.component.request_async(&method, &path, body.clone()));
                let mut hop = Hop {
                    time,
                    topic: url,
                    task: route.task.clone(),
                    component: route.component_name.clone(),
                    input: body,
                    reply_to: None,
                    published: Vec::new(),
                    sql: Vec::new(),
                    error: None,
                    elapsed: start.elapsed(),
                    http: Some(HttpHop {
                        method,
                        path,
                        status: 0,
                    }),
                    stderr: String::new(),
                };
                match &outcome {
                    Ok(r) => {
                        hop.published = r.published.clone();
                        hop.stderr = r.stderr.clone();
                        if let Some(h) = &mut hop.http {
                            h.status = r.status;
                        }
                        if r.status >= 500 {
                            hop.error = Some(format!("HTTP {}: {}", r.status, r.text().trim()));
                        }
                    }
                    Err(e) => hop.error = Some(e.to_string()),
                }
                if hop.error.is_some() {
                    self.failures.fetch_add(1, Ordering::Relaxed);
                }
                let published = hop.published.clone();
                self.emit(Event::Hop(Box::new(hop)));
                self.forward(&published, 0, &tree);
                let _ = reply.send(outcome);
            }
        }
    }

    /// Waits until every injected message and everything it caused has been
    /// handled.
    pub fn wait_idle(&self) {
        let mut n = self.outstanding.count.lock().expect("outstanding lock");
        while *n > 0 {
            n = self.outstanding.idle.wait(n).expect("outstanding lock");
        }
    }

    /// Starts shutdown: inputs stop injecting ([`Dispatcher::stopping`]).
    pub fn begin_stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// Tells the NATS bridge's publisher to flush and stop.
    pub(crate) fn finish_outbound(&self) {
        if let Some(out) = &self.outbound {
            let _ = out.send(super::nats::Outbound::Finish);
        }
    }

    /// Tells `workers` workers to leave their loop once the queue before the
    /// stop is handled.
    pub(crate) fn stop_workers(&self, workers: usize) {
        for _ in 0..workers {
            self.push(Job::Stop);
        }
    }
}

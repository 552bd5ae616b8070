//! What the local runtime tells its caller: one [`Event`] per hop (a task
//! handling a message or an HTTP request), per message nobody consumes, and
//! per change of what is served (`pelato dev`).
//!
//! [`Event::to_json`] is the `--output json` line format (one object per line):
//!
//! ```json
//! {"time_unix_ms": 1764000000000, "topic": "sensors.a.raw", "task": "Convert readings",
//!  "component": "temp-convert", "input": "{\"fahrenheit\":212}", "reply_to": null,
//!  "published": [{"subject": "sensors.celsius", "body": "{\"celsius\":100}"}],
//!  "error": null, "elapsed_us": 412}
//! {"time_unix_ms": 1764000000001, "topic": "sensors.alerts", "body": "…", "task": null}
//! ```
//!
//! Bodies are text (invalid UTF-8 replaced); a hop that ran SQL has `sql`, one
//! driven over HTTP has `http` (`method`, `path`, `status`).

use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use crate::harness::{Published, SqlCall};

/// Something the local runtime reports.
#[derive(Debug, Clone)]
pub enum Event {
    /// A task handled a message (or an HTTP request).
    Hop(Box<Hop>),
    /// A message no task subscribes to: the end of a chain (or, with
    /// `--nats`, what leaves for the network).
    Unconsumed {
        /// When it was published.
        time: SystemTime,
        /// Its subject.
        topic: String,
        /// Its body.
        body: Vec<u8>,
    },
    /// A message that was not delivered, and why (e.g. a publishing loop).
    Dropped {
        /// When.
        time: SystemTime,
        /// Its subject.
        topic: String,
        /// Why it was dropped.
        reason: String,
    },
    /// A line about the runtime itself (listening, rebuilt, swapped in, …).
    Info(String),
    /// A problem that does not stop the runtime (an input line that is not
    /// `TOPIC BODY`, a rebuild that failed while the old version serves).
    Warning(String),
}

/// One task handling one message.
#[derive(Debug, Clone)]
pub struct Hop {
    /// When the delivery started.
    pub time: SystemTime,
    /// Subject it arrived on (for HTTP: the request's URL).
    pub topic: String,
    /// Task name.
    pub task: String,
    /// Component name.
    pub component: String,
    /// The message body (for HTTP: the request body).
    pub input: Vec<u8>,
    /// Reply subject the message carried.
    pub reply_to: Option<String>,
    /// What the task published, in order.
    pub published: Vec<Published>,
    /// SQL the task ran (dbsync).
    pub sql: Vec<SqlCall>,
    /// The task's error, a trap or a timeout; `None` when it succeeded.
    pub error: Option<String>,
    /// Instantiate + call.
    pub elapsed: Duration,
    /// For HTTP: method, path and the response status.
    pub http: Option<HttpHop>,
    /// What the task wrote to stderr.
    pub stderr: String,
}

/// The HTTP side of a hop.
#[derive(Debug, Clone)]
pub struct HttpHop {
    /// Request method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// Response status (0 when the task failed before answering).
    pub status: u16,
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A body as text.
pub fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

impl Event {
    /// The `--output json` object for this event.
    pub fn to_json(&self) -> Value {
        match self {
            Event::Hop(h) => {
                let mut v = json!({
                    "time_unix_ms": unix_ms(h.time),
                    "topic": h.topic,
                    "task": h.task,
                    "component": h.component,
                    "input": text(&h.input),
                    "reply_to": h.reply_to,
                    "published": h.published.iter().map(|p| {
                        let mut o = json!({"subject": p.subject, "body": text(&p.body)});
                        if let Some(r) = &p.reply_to {
                            o["reply_to"] = json!(r);
                        }
                        o
                    }).collect::<Vec<_>>(),
                    "error": h.error,
                    "elapsed_us": h.elapsed.as_micros() as u64,
                });
                if !h.sql.is_empty() {
                    v["sql"] = h
                        .sql
                        .iter()
                        .map(|s| json!({"sql": s.sql, "params": s.params, "batch": s.batch}))
                        .collect();
                }
                if let Some(http) = &h.http {
                    v["http"] =
                        json!({"method": http.method, "path": http.path, "status": http.status});
                }
                if !h.stderr.is_empty() {
                    v["stderr"] = json!(h.stderr);
                }
                v
            }
            Event::Unconsumed { time, topic, body } => json!({
                "time_unix_ms": unix_ms(*time),
                "topic": topic,
                "body": text(body),
                "task": null,
            }),
            Event::Dropped {
                time,
                topic,
                reason,
            } => json!({
                "time_unix_ms": unix_ms(*time),
                "topic": topic,
                "task": null,
                "dropped": reason,
            }),
            Event::Info(line) => json!({"info": line}),
            Event::Warning(line) => json!({"warning": line}),
        }
    }
}

//! Publishing to and listening on the lattice's NATS subjects.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use futures::StreamExt as _;
use tokio::task::JoinHandle;

/// How long to keep listening after the expected messages arrived, to catch
/// duplicates and unexpected extras.
pub const SETTLE: Duration = Duration::from_millis(700);

/// Collects every message on a subject from the moment it is created.
pub struct Collector {
    /// The subject (may contain wildcards).
    pub subject: String,
    seen: Arc<Mutex<Vec<(String, String)>>>,
    task: JoinHandle<()>,
}

impl Collector {
    /// Subscribes to `subject` (the subscription is registered with the server
    /// before this returns, so nothing published afterwards is missed).
    pub async fn new(client: &async_nats::Client, subject: &str) -> Result<Self> {
        Self::filtered(client, subject, |_| true).await
    }

    /// Records every application message on the lattice (`>`, without NATS,
    /// JetStream, wasmCloud and wadm internals), to show in failure messages.
    pub async fn wiretap(client: &async_nats::Client) -> Result<Self> {
        Self::filtered(client, ">", |s| {
            !(s.starts_with('$')
                || s.starts_with("_INBOX")
                || s.starts_with("wasmbus.")
                || s.starts_with("wadm"))
        })
        .await
    }

    /// The last `n` messages as `subject: body` lines.
    pub fn dump(&self, n: usize) -> String {
        let msgs = self.messages();
        let start = msgs.len().saturating_sub(n);
        msgs[start..]
            .iter()
            .map(|(s, b)| format!("  {s}: {b}\n"))
            .collect()
    }

    async fn filtered(
        client: &async_nats::Client,
        subject: &str,
        keep: fn(&str) -> bool,
    ) -> Result<Self> {
        let mut sub = client
            .subscribe(subject.to_string())
            .await
            .map_err(|e| anyhow!("subscribe {subject}: {e}"))?;
        client
            .flush()
            .await
            .map_err(|e| anyhow!("flush after subscribing {subject}: {e}"))?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn({
            let seen = Arc::clone(&seen);
            async move {
                while let Some(msg) = sub.next().await {
                    if !keep(msg.subject.as_str()) {
                        continue;
                    }
                    let body = String::from_utf8_lossy(&msg.payload).into_owned();
                    seen.lock()
                        .expect("collector lock")
                        .push((msg.subject.to_string(), body));
                }
            }
        });
        Ok(Self {
            subject: subject.to_string(),
            seen,
            task,
        })
    }

    /// Bodies received so far.
    pub fn bodies(&self) -> Vec<String> {
        self.seen
            .lock()
            .expect("collector lock")
            .iter()
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// (subject, body) pairs received so far.
    pub fn messages(&self) -> Vec<(String, String)> {
        self.seen.lock().expect("collector lock").clone()
    }

    /// Forgets what was received so far.
    pub fn clear(&self) {
        self.seen.lock().expect("collector lock").clear();
    }

    /// Waits until at least `n` messages arrived (or `timeout`), then [`SETTLE`]
    /// more, and returns all bodies received.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<String> {
        let start = Instant::now();
        while self.seen.lock().expect("collector lock").len() < n && start.elapsed() < timeout {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(SETTLE).await;
        self.bodies()
    }

    /// Checks that exactly `expected` (in any order, each exactly once)
    /// arrived within `timeout`, and nothing else within [`SETTLE`] after;
    /// the error describes the difference.
    pub async fn check_exactly(
        &self,
        expected: &[&str],
        timeout: Duration,
        context: &str,
    ) -> Result<(), String> {
        let got = self.wait_for(expected.len(), timeout).await;
        let mut got_sorted = got.clone();
        got_sorted.sort();
        let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        want.sort();
        if got_sorted == want {
            return Ok(());
        }
        Err(format!(
            "{context}: on `{}` expected exactly {expected:#?}\nbut received (in arrival order) {got:#?}",
            self.subject
        ))
    }

    /// Panics unless [`Collector::check_exactly`] passes.
    pub async fn assert_exactly(&self, expected: &[&str], timeout: Duration, context: &str) {
        if let Err(e) = self.check_exactly(expected, timeout, context).await {
            panic!("{e}");
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Sends `body` to `subject` with a reply inbox and returns the reply body,
/// or fails after `timeout`.
pub async fn request(
    client: &async_nats::Client,
    subject: &str,
    body: &str,
    timeout: Duration,
) -> Result<String> {
    let fut = client.request(subject.to_string(), body.to_string().into());
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(msg)) => Ok(String::from_utf8_lossy(&msg.payload).into_owned()),
        Ok(Err(e)) => Err(anyhow!("request on {subject} ({body:?}): {e}")),
        Err(_) => Err(anyhow!(
            "request on {subject} ({body:?}): no reply within {:.1}s",
            timeout.as_secs_f64()
        )),
    }
}

/// Publishes `body` on `subject` and flushes.
pub async fn publish(client: &async_nats::Client, subject: &str, body: &str) -> Result<()> {
    client
        .publish(subject.to_string(), body.to_string().into())
        .await
        .map_err(|e| anyhow!("publish {subject}: {e}"))?;
    client
        .flush()
        .await
        .map_err(|e| anyhow!("flush after publishing {subject}: {e}"))
}

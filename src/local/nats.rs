//! `--nats URL`: the local runtime as one more client of a real NATS, so
//! devices on the network can talk to the laptop. Messages on the tasks'
//! source topics come in (reply-to kept, so a NATS request gets the task's
//! reply); everything the tasks publish goes out. The connection is made with
//! `echo` off: what the runtime publishes is not delivered back to it (it was
//! already routed locally).

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Ingress, LocalError};
use crate::harness::{Message, Published};

/// A connection to NATS and the queue of what goes out on it.
pub(crate) struct Bridge {
    client: async_nats::Client,
    url: String,
    out_tx: mpsc::UnboundedSender<Outbound>,
    out_rx: mpsc::UnboundedReceiver<Outbound>,
}

impl Bridge {
    /// Connects to `url` (`nats://host:port`).
    pub(crate) async fn connect(url: &str) -> Result<Bridge, LocalError> {
        let shown = crate::util::url::redact_userinfo(url);
        let client = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            async_nats::ConnectOptions::new()
                .no_echo()
                .name("pelato-run")
                .connect(url),
        )
        .await
        .map_err(|_| LocalError::Nats {
            url: shown.clone(),
            message: "no answer within 5 s".into(),
        })?
        .map_err(|e| LocalError::Nats {
            url: shown.clone(),
            message: e.to_string(),
        })?;
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        Ok(Bridge {
            client,
            url: shown,
            out_tx,
            out_rx,
        })
    }

    /// The URL, fit to print.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Where the dispatcher puts what tasks publish.
    pub(crate) fn outbound(&self) -> mpsc::UnboundedSender<Outbound> {
        self.out_tx.clone()
    }

    /// Subscribes to `subjects` and starts publishing; returns the
    /// subscriptions (to abort at shutdown) and the publisher (which ends
    /// after [`Outbound::Finish`]).
    pub(crate) fn start(
        self,
        subjects: Vec<String>,
        ingress: mpsc::Sender<Ingress>,
    ) -> (Vec<JoinHandle<()>>, JoinHandle<()>) {
        let mut tasks = Vec::new();
        for subject in subjects {
            let client = self.client.clone();
            let ingress = ingress.clone();
            tasks.push(tokio::spawn(async move {
                let Ok(mut sub) = client.subscribe(subject).await else {
                    return;
                };
                while let Some(m) = sub.next().await {
                    let mut msg = Message::new(m.subject.to_string(), m.payload.to_vec());
                    msg.reply_to = m.reply.map(|r| r.to_string());
                    if ingress.send(Ingress::Message(msg)).await.is_err() {
                        return;
                    }
                }
            }));
        }
        let client = self.client.clone();
        let mut out_rx = self.out_rx;
        let publisher = tokio::spawn(async move {
            while let Some(Outbound::Publish(p)) = out_rx.recv().await {
                let _ = match p.reply_to {
                    Some(reply) => {
                        client
                            .publish_with_reply(p.subject, reply, p.body.into())
                            .await
                    }
                    None => client.publish(p.subject, p.body.into()).await,
                };
                // Flush when the queue runs dry: one write for a burst.
                if out_rx.is_empty() {
                    let _ = client.flush().await;
                }
            }
            let _ = client.flush().await;
        });
        (tasks, publisher)
    }
}

/// What the publisher is asked to do.
pub(crate) enum Outbound {
    /// Publish a message.
    Publish(Published),
    /// Flush and stop (every in-flight message has been handled).
    Finish,
}

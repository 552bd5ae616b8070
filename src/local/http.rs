//! HTTP ingress: each task whose component exports
//! `wasi:http/incoming-handler` gets a listener on its `http_port`, as its
//! HTTP server provider gives it on a host. A request is handled by a fresh
//! instance on the workers; what the task published is routed like any
//! message.

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use super::{Ingress, LocalError, Routes};
use crate::harness::{HarnessError, HttpReply};

/// Largest request body the listeners accept; the component's own
/// `max_message_size` applies below it.
const MAX_BODY: usize = 64 << 20;

/// An HTTP request on its way to a task.
pub(crate) struct Request {
    pub(crate) task: String,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) url: String,
    pub(crate) body: Vec<u8>,
    pub(crate) reply: oneshot::Sender<Result<HttpReply, HarnessError>>,
}

/// A bound listener for one task.
pub(crate) struct Listener {
    pub(crate) task: String,
    pub(crate) addr: SocketAddr,
    listener: TcpListener,
}

/// Binds a listener on `addr` for each HTTP task.
pub(crate) async fn bind(routes: &Routes<'_>, addr: IpAddr) -> Result<Vec<Listener>, LocalError> {
    let mut out = Vec::new();
    for r in routes.iter() {
        let Some(port) = r.http_port else { continue };
        let at = SocketAddr::new(addr, port);
        let listener = TcpListener::bind(at)
            .await
            .map_err(|source| LocalError::Bind {
                task: r.task.clone(),
                addr: at,
                source,
            })?;
        out.push(Listener {
            task: r.task.clone(),
            addr: listener.local_addr().unwrap_or(at),
            listener,
        });
    }
    Ok(out)
}

/// Accepts connections until the task is aborted.
pub(crate) async fn serve(l: Listener, ingress: mpsc::Sender<Ingress>) {
    loop {
        let Ok((stream, _)) = l.listener.accept().await else {
            continue;
        };
        let task = l.task.clone();
        let addr = l.addr;
        let ingress = ingress.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                handle(req, task.clone(), addr, ingress.clone())
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

fn respond(status: u16, body: impl Into<Bytes>) -> hyper::Response<Full<Bytes>> {
    let mut r = hyper::Response::new(Full::new(body.into()));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    r
}

async fn handle(
    req: hyper::Request<Incoming>,
    task: String,
    addr: SocketAddr,
    ingress: mpsc::Sender<Ingress>,
) -> Result<hyper::Response<Full<Bytes>>, std::convert::Infallible> {
    let method = req.method().to_string();
    let path = req
        .uri()
        .path_and_query()
        .map_or("/".to_string(), |p| p.to_string());
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes().to_vec(),
        Err(e) => return Ok(respond(413, format!("cannot read the request body: {e}\n"))),
    };
    let (reply, answer) = oneshot::channel();
    let request = Request {
        task,
        url: format!("http://{addr}{path}"),
        method,
        path,
        body,
        reply,
    };
    if ingress.send(Ingress::Http(request)).await.is_err() {
        return Ok(respond(503, "pelato run is stopping\n"));
    }
    Ok(match answer.await {
        Ok(Ok(r)) => respond(r.status, r.body),
        Ok(Err(HarnessError::Timeout(t))) => {
            respond(504, format!("the task did not answer within {t:?}\n"))
        }
        Ok(Err(e)) => respond(500, format!("{e}\n")),
        Err(_) => respond(503, "pelato run is stopping\n"),
    })
}

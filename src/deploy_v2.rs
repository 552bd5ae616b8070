//! `deploy | status | remove` for wasmCloud 2 (`platform: wasmcloud-v2`)
//! without Kubernetes: PELATO drives `wash host` hosts directly over NATS the
//! way the runtime-operator does.
//!
//! This is the operator's **internal** protocol (protojson over NATS
//! request/reply, `proto/wasmcloud/runtime/v2/*.proto` at wasmCloud v2.7.0),
//! not a documented API; it is tested against `wash host` 2.10.3:
//!
//! - hosts publish a heartbeat on `runtime.operator.heartbeat.<host-id>`
//!   every 15 s (and once at start) with their `id` and `labels`
//!   (`hostgroup`). There is no broadcast ping, so discovery listens for one
//!   heartbeat interval ([`DEFAULT_DISCOVERY`]);
//! - `runtime.host.<id>.workload.start|stop|status` start, stop and ask
//!   about one workload by its id. A host has no "list workloads", so every
//!   workload id is deterministic (`<deployment>-<replica>`): a re-deploy
//!   finds what runs, and `remove` stops it.
//!
//! What spec each workload was started with is recorded in
//! `.pelato/wasmcloud-v2.json` in the project, so an unchanged re-deploy
//! sends nothing and a changed one stops and restarts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::deploy::DeployError;

/// How long discovery listens for host heartbeats: one heartbeat interval
/// of `wash host` (15 s) plus a margin.
pub const DEFAULT_DISCOVERY: Duration = Duration::from_secs(16);

/// How long one request to a host may take (a start pulls the image first).
pub const HOST_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Subject hosts heartbeat on (`<host-id>` last).
pub const HEARTBEAT_SUBJECTS: &str = "runtime.operator.heartbeat.*";

/// The host version this protocol is tested against.
pub const TESTED_HOST_VERSION: &str = "2.10.3";

/// Where the started workloads and their spec digests are recorded.
pub const STATE_FILE: &str = ".pelato/wasmcloud-v2.json";

/// The namespace PELATO's workloads are started in.
pub const WORKLOAD_NAMESPACE: &str = "pelato";

/// What can go wrong talking to wasmCloud 2 hosts; each message says what to do.
#[derive(Debug, Clone, thiserror::Error)]
pub enum V2Error {
    /// NATS could not be reached (or configured).
    #[error(transparent)]
    Nats(#[from] DeployError),
    /// No host heartbeat was seen.
    #[error("no wasmCloud 2 host heartbeat on NATS {nats} within {secs:.0} s: start hosts with `wash host --host-group <group> --scheduler-nats-url nats://{nats} --data-nats-url nats://{nats} --allow-insecure-registries`, or wait longer with --discovery-timeout")]
    NoHosts {
        /// NATS address.
        nats: String,
        /// Seconds listened.
        secs: f64,
    },
    /// No discovered host is in the host group a workload needs.
    #[error("`{deployment}` needs a host in host group `{group}`, but the hosts seen are in {seen}: start one with `wash host --host-group {group}` on this NATS, or change the task's `targets`")]
    NoHostInGroup {
        /// The WorkloadDeployment.
        deployment: String,
        /// Its host group.
        group: String,
        /// The host groups that were seen.
        seen: String,
    },
    /// A WorkloadDeployment file could not be read or is not usable.
    #[error("cannot use {path}: {reason} (run `pelato gen --platform wasmcloud-v2` again)")]
    Manifest {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A host did not answer or answered something unreadable.
    #[error("host {host}: {what} of workload `{workload}` failed: {reason}")]
    Request {
        /// Host id.
        host: String,
        /// `workload.start` etc.
        what: String,
        /// Workload id.
        workload: String,
        /// Why; a start without answer usually means the component failed to
        /// instantiate (the host's log says why).
        reason: String,
    },
    /// The host reported the workload failed.
    #[error("workload `{workload}` on host {host} failed: {state} {message}")]
    Failed {
        /// Workload id.
        workload: String,
        /// Host id.
        host: String,
        /// The host's state.
        state: String,
        /// The host's reason.
        message: String,
    },
    /// The workload did not reach running in time.
    #[error("workload `{workload}` on host {host} is still {state} after {secs:.0} s: raise --deploy-timeout, or look at the host's log")]
    Timeout {
        /// Workload id.
        workload: String,
        /// Host id.
        host: String,
        /// Last state seen.
        state: String,
        /// Seconds waited.
        secs: f64,
    },
    /// The state file could not be written.
    #[error("cannot write {path}: {reason}")]
    State {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// A discovered host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// Host id (the subject suffix of its API).
    pub id: String,
    /// Its `hostgroup` label.
    pub hostgroup: String,
    /// Its friendly name.
    pub name: String,
    /// Its version.
    pub version: String,
}

fn host_from_heartbeat(hb: &Value, subject: &str) -> Option<Host> {
    let id = hb["id"]
        .as_str()
        .filter(|s| !s.is_empty())
        .or_else(|| subject.rsplit('.').next())?
        .to_string();
    Some(Host {
        id,
        hostgroup: hb["labels"]["hostgroup"]
            .as_str()
            .unwrap_or("default")
            .to_string(),
        name: hb["friendlyName"].as_str().unwrap_or_default().to_string(),
        version: hb["version"].as_str().unwrap_or_default().to_string(),
    })
}

/// Finds the hosts on NATS, sorted by id. Hosts in `known` (ids recorded by
/// an earlier deploy) are asked directly (`runtime.host.<id>.heartbeat`);
/// others are found by their heartbeats. Discovery ends as soon as every
/// host group in `groups` has a host, or at the latest after `window` (one
/// heartbeat interval finds every host).
pub async fn discover(
    client: &async_nats::Client,
    window: Duration,
    known: &[String],
    groups: &BTreeSet<String>,
) -> Result<Vec<Host>, V2Error> {
    let mut sub = client
        .subscribe(HEARTBEAT_SUBJECTS)
        .await
        .map_err(|e| DeployError::NatsConfig(format!("cannot subscribe to heartbeats: {e}")))?;
    let mut hosts: BTreeMap<String, Host> = BTreeMap::new();
    for id in known {
        let subject = format!("runtime.host.{id}.heartbeat");
        let req = async_nats::Request::new().timeout(Some(Duration::from_secs(2)));
        if let Ok(msg) = client.send_request(subject.clone(), req).await {
            if let Ok(hb) = serde_json::from_slice::<Value>(&msg.payload) {
                if let Some(h) = host_from_heartbeat(&hb, &subject) {
                    hosts.insert(h.id.clone(), h);
                }
            }
        }
    }
    let covered = |hosts: &BTreeMap<String, Host>| {
        !groups.is_empty()
            && groups
                .iter()
                .all(|g| hosts.values().any(|h| &h.hostgroup == g))
    };
    let deadline = tokio::time::Instant::now() + window;
    while !covered(&hosts) {
        let Ok(Some(msg)) = tokio::time::timeout_at(deadline, sub.next()).await else {
            break;
        };
        let Ok(hb) = serde_json::from_slice::<Value>(&msg.payload) else {
            continue;
        };
        if let Some(h) = host_from_heartbeat(&hb, &msg.subject) {
            hosts.insert(h.id.clone(), h);
        }
    }
    let _ = sub.unsubscribe().await;
    Ok(hosts.into_values().collect())
}

/// The host groups `plans` need.
pub fn groups(plans: &[WorkloadPlan]) -> BTreeSet<String> {
    plans.iter().map(|p| p.hostgroup.clone()).collect()
}

/// One replica of a WorkloadDeployment: what is started on one host.
#[derive(Debug, Clone)]
pub struct WorkloadPlan {
    /// Deterministic workload id: `<deployment>-<replica>`.
    pub id: String,
    /// The WorkloadDeployment's name.
    pub deployment: String,
    /// The host group it must run in.
    pub hostgroup: String,
    /// The `workload` of the start request (protojson).
    pub workload: Value,
    /// Digest of the spec: a change restarts the workload.
    pub digest: String,
}

/// Reads a `workloaddeployment.yaml` written by `gen` into one plan per replica.
pub fn load_plans(path: &Path) -> Result<Vec<WorkloadPlan>, V2Error> {
    let bad = |reason: String| V2Error::Manifest {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let mut plans = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let v: Value = Value::deserialize(doc).map_err(|e| bad(e.to_string()))?;
        if v.is_null() {
            continue;
        }
        let name = v["metadata"]["name"]
            .as_str()
            .ok_or_else(|| bad("no metadata.name".into()))?
            .to_string();
        let spec = &v["spec"]["template"]["spec"];
        let hostgroup = spec["hostSelector"]["hostgroup"]
            .as_str()
            .ok_or_else(|| bad(format!("`{name}` has no hostSelector.hostgroup")))?
            .to_string();
        let replicas = v["spec"]["replicas"].as_u64().unwrap_or(1);
        let annotations = v["metadata"]["annotations"].clone();
        let workload = json!({
            "namespace": WORKLOAD_NAMESPACE,
            "name": name,
            "annotations": if annotations.is_object() { annotations } else { json!({}) },
            "witWorld": {
                "components": spec["components"].clone(),
                "hostInterfaces": spec["hostInterfaces"].clone(),
            }
        });
        let digest =
            crate::util::digest::sha256_hex(workload.to_string().as_bytes())[..16].to_string();
        for i in 0..replicas {
            plans.push(WorkloadPlan {
                id: format!("{name}-{i}"),
                deployment: name.clone(),
                hostgroup: hostgroup.clone(),
                workload: workload.clone(),
                digest: digest.clone(),
            });
        }
    }
    Ok(plans)
}

/// A workload's state as a host reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostStatus {
    /// `WORKLOAD_STATE_RUNNING` etc.
    pub state: String,
    /// The host's message.
    pub message: String,
}

impl HostStatus {
    /// Running.
    pub fn running(&self) -> bool {
        self.state == "WORKLOAD_STATE_RUNNING"
    }
    /// Unknown to the host.
    pub fn not_found(&self) -> bool {
        self.state == "WORKLOAD_STATE_NOT_FOUND"
    }
    /// Failed or finished: it will not become running.
    pub fn failed(&self) -> bool {
        matches!(
            self.state.as_str(),
            "WORKLOAD_STATE_ERROR" | "WORKLOAD_STATE_COMPLETED"
        )
    }
}

async fn host_request(
    client: &async_nats::Client,
    host: &str,
    command: &str,
    workload: &str,
    body: Value,
    timeout: Duration,
) -> Result<HostStatus, V2Error> {
    let fail = |reason: String| V2Error::Request {
        host: host.to_string(),
        what: command.to_string(),
        workload: workload.to_string(),
        reason,
    };
    let subject = format!("runtime.host.{host}.{command}");
    let req = async_nats::Request::new()
        .payload(serde_json::to_vec(&body).expect("JSON").into())
        .timeout(Some(timeout));
    let msg = client.send_request(subject, req).await.map_err(|e| {
        fail(match e.kind() {
            async_nats::RequestErrorKind::TimedOut => format!(
                "no answer within {:.0} s (the host answers nothing when a component cannot be instantiated, e.g. an import not declared in hostInterfaces: its log says why)",
                timeout.as_secs_f64()
            ),
            async_nats::RequestErrorKind::NoResponders => {
                "the host is gone (no responders): run the command again to discover the current hosts".into()
            }
            _ => e.to_string(),
        })
    })?;
    let v: Value = serde_json::from_slice(&msg.payload)
        .map_err(|e| fail(format!("unreadable answer: {e}")))?;
    let st = &v["workloadStatus"];
    Ok(HostStatus {
        state: st["workloadState"]
            .as_str()
            .unwrap_or("WORKLOAD_STATE_UNSPECIFIED")
            .to_string(),
        message: st["message"].as_str().unwrap_or_default().to_string(),
    })
}

/// Asks `host` about workload `id`.
pub async fn workload_status(
    client: &async_nats::Client,
    host: &str,
    id: &str,
) -> Result<HostStatus, V2Error> {
    host_request(
        client,
        host,
        "workload.status",
        id,
        json!({ "workloadId": id }),
        Duration::from_secs(10),
    )
    .await
}

/// Stops workload `id` on `host`.
pub async fn workload_stop(
    client: &async_nats::Client,
    host: &str,
    id: &str,
) -> Result<HostStatus, V2Error> {
    host_request(
        client,
        host,
        "workload.stop",
        id,
        json!({ "workloadId": id }),
        Duration::from_secs(30),
    )
    .await
}

/// The recorded workloads: id → where and with what spec.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// Workload id → record.
    pub workloads: BTreeMap<String, Record>,
    /// Ids of the hosts seen by the last deploy (asked directly next time).
    #[serde(default)]
    pub hosts: Vec<String>,
}

/// Where a workload was started, and with what spec.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    /// Host id.
    pub host: String,
    /// Spec digest.
    pub digest: String,
}

impl State {
    /// Reads the project's state (empty when there is none).
    pub fn load(root: &Path) -> State {
        std::fs::read(root.join(STATE_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Writes the project's state.
    pub fn save(&self, root: &Path) -> Result<(), V2Error> {
        let path: PathBuf = root.join(STATE_FILE);
        let err = |e: std::io::Error| V2Error::State {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        std::fs::write(&path, serde_json::to_vec_pretty(self).expect("JSON")).map_err(err)
    }
}

/// What happened to one workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadReport {
    /// Workload id.
    pub id: String,
    /// The WorkloadDeployment.
    pub deployment: String,
    /// Host id (empty when it runs nowhere).
    pub host: String,
    /// Host group.
    pub hostgroup: String,
    /// State on the host.
    pub state: String,
    /// The host's message.
    pub message: String,
    /// Whether anything was sent to change it.
    pub changed: bool,
}

/// Where each plan should run: where it already runs with the same host
/// group, else the host of its group with the fewest workloads planned,
/// ties by id.
fn place(
    plans: &[WorkloadPlan],
    hosts: &[Host],
    running: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<String>, V2Error> {
    let mut load: BTreeMap<&str, usize> = hosts.iter().map(|h| (h.id.as_str(), 0)).collect();
    let mut out = Vec::new();
    for p in plans {
        let group: Vec<&Host> = hosts
            .iter()
            .filter(|h| h.hostgroup == p.hostgroup)
            .collect();
        if group.is_empty() {
            let seen: BTreeSet<&str> = hosts.iter().map(|h| h.hostgroup.as_str()).collect();
            return Err(V2Error::NoHostInGroup {
                deployment: p.deployment.clone(),
                group: p.hostgroup.clone(),
                seen: seen
                    .iter()
                    .map(|g| format!("`{g}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let already = running
            .get(&p.id)
            .and_then(|on| group.iter().find(|h| on.contains(&h.id)));
        let host = match already {
            Some(h) => h.id.clone(),
            None => group
                .iter()
                .min_by_key(|h| (load[h.id.as_str()], h.id.clone()))
                .map(|h| h.id.clone())
                .expect("non-empty group"),
        };
        *load.get_mut(host.as_str()).expect("known host") += 1;
        out.push(host);
    }
    Ok(out)
}

/// Where each of `ids` exists (any state but not found), over all `hosts`.
pub async fn locate(
    client: &async_nats::Client,
    hosts: &[Host],
    ids: &[String],
) -> Result<BTreeMap<String, Vec<(String, HostStatus)>>, V2Error> {
    let mut out: BTreeMap<String, Vec<(String, HostStatus)>> = BTreeMap::new();
    for id in ids {
        for h in hosts {
            let st = workload_status(client, &h.id, id).await?;
            if !st.not_found() {
                out.entry(id.clone()).or_default().push((h.id.clone(), st));
            }
        }
    }
    Ok(out)
}

/// Deploys `plans` on `hosts`: places each replica in its host group,
/// starts what is not running with the same spec (stopping an older spec
/// first), follows status until running, failed or `timeout`, stops stale
/// copies elsewhere and records the result in the project's state.
pub async fn deploy(
    client: &async_nats::Client,
    root: &Path,
    hosts: &[Host],
    plans: &[WorkloadPlan],
    timeout: Duration,
    on_event: &mut dyn FnMut(&WorkloadReport),
) -> Result<Vec<Result<WorkloadReport, V2Error>>, V2Error> {
    let mut state = State::load(root);
    let ids: Vec<String> = plans.iter().map(|p| p.id.clone()).collect();
    let found = locate(client, hosts, &ids).await?;
    let running: BTreeMap<String, Vec<String>> = found
        .iter()
        .map(|(id, on)| (id.clone(), on.iter().map(|(h, _)| h.clone()).collect()))
        .collect();
    let placement = place(plans, hosts, &running)?;
    let mut results = Vec::new();
    let mut started: Vec<(usize, String)> = Vec::new();
    for (i, (p, host)) in plans.iter().zip(&placement).enumerate() {
        let here = found
            .get(&p.id)
            .and_then(|on| on.iter().find(|(h, _)| h == host).map(|(_, s)| s.clone()));
        let same = state.workloads.get(&p.id)
            == Some(&Record {
                host: host.clone(),
                digest: p.digest.clone(),
            });
        // copies elsewhere (moved or stale) go
        for (h, _) in found.get(&p.id).into_iter().flatten() {
            if h != host {
                workload_stop(client, h, &p.id).await?;
            }
        }
        if let (Some(st), true) = (&here, same) {
            if st.running() {
                let r = WorkloadReport {
                    id: p.id.clone(),
                    deployment: p.deployment.clone(),
                    host: host.clone(),
                    hostgroup: p.hostgroup.clone(),
                    state: st.state.clone(),
                    message: st.message.clone(),
                    changed: false,
                };
                on_event(&r);
                results.push(Ok(r));
                continue;
            }
        }
        if here.is_some() {
            workload_stop(client, host, &p.id).await?;
            wait_gone(client, host, &p.id, timeout).await?;
        }
        let body = json!({ "workloadId": p.id, "workload": p.workload });
        let st = match host_request(
            client,
            host,
            "workload.start",
            &p.id,
            body,
            HOST_REQUEST_TIMEOUT,
        )
        .await
        {
            Ok(st) => st,
            Err(e) => {
                results.push(Err(e));
                continue;
            }
        };
        state.workloads.insert(
            p.id.clone(),
            Record {
                host: host.clone(),
                digest: p.digest.clone(),
            },
        );
        let r = WorkloadReport {
            id: p.id.clone(),
            deployment: p.deployment.clone(),
            host: host.clone(),
            hostgroup: p.hostgroup.clone(),
            state: st.state.clone(),
            message: st.message.clone(),
            changed: true,
        };
        on_event(&r);
        results.push(Ok(r));
        started.push((i, host.clone()));
    }
    state.hosts = hosts.iter().map(|h| h.id.clone()).collect();
    state.save(root)?;
    // follow what was started
    let begin = Instant::now();
    for (i, host) in started {
        let p = &plans[i];
        let Some(Ok(report)) = results.get_mut(i) else {
            continue;
        };
        loop {
            let st = HostStatus {
                state: report.state.clone(),
                message: report.message.clone(),
            };
            if st.running() {
                break;
            }
            if st.failed() || st.not_found() {
                results[i] = Err(V2Error::Failed {
                    workload: p.id.clone(),
                    host: host.clone(),
                    state: st.state,
                    message: st.message,
                });
                break;
            }
            if begin.elapsed() > timeout {
                results[i] = Err(V2Error::Timeout {
                    workload: p.id.clone(),
                    host: host.clone(),
                    state: st.state,
                    secs: timeout.as_secs_f64(),
                });
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            match workload_status(client, &host, &p.id).await {
                Ok(s) => {
                    report.state = s.state;
                    report.message = s.message;
                    if report.state == "WORKLOAD_STATE_RUNNING" {
                        on_event(report);
                    }
                }
                Err(e) => {
                    results[i] = Err(e);
                    break;
                }
            }
        }
    }
    Ok(results)
}

async fn wait_gone(
    client: &async_nats::Client,
    host: &str,
    id: &str,
    timeout: Duration,
) -> Result<(), V2Error> {
    let begin = Instant::now();
    loop {
        let st = workload_status(client, host, id).await?;
        if st.not_found() {
            return Ok(());
        }
        if begin.elapsed() > timeout {
            return Err(V2Error::Timeout {
                workload: id.to_string(),
                host: host.to_string(),
                state: st.state,
                secs: timeout.as_secs_f64(),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The status of each plan on every host: one report per plan, with an
/// empty host and `WORKLOAD_STATE_NOT_FOUND` when it runs nowhere.
pub async fn status(
    client: &async_nats::Client,
    hosts: &[Host],
    plans: &[WorkloadPlan],
) -> Result<Vec<WorkloadReport>, V2Error> {
    let ids: Vec<String> = plans.iter().map(|p| p.id.clone()).collect();
    let found = locate(client, hosts, &ids).await?;
    let mut out = Vec::new();
    for p in plans {
        let on = found.get(&p.id).cloned().unwrap_or_default();
        if on.is_empty() {
            out.push(WorkloadReport {
                id: p.id.clone(),
                deployment: p.deployment.clone(),
                host: String::new(),
                hostgroup: p.hostgroup.clone(),
                state: "WORKLOAD_STATE_NOT_FOUND".into(),
                message: String::new(),
                changed: false,
            });
        }
        for (h, st) in on {
            out.push(WorkloadReport {
                id: p.id.clone(),
                deployment: p.deployment.clone(),
                host: h,
                hostgroup: p.hostgroup.clone(),
                state: st.state,
                message: st.message,
                changed: false,
            });
        }
    }
    Ok(out)
}

/// Stops every workload of `plans` (and every one recorded in the project's
/// state) on every host, waits until each is gone and clears the state.
/// Returns one report per workload stopped.
pub async fn remove(
    client: &async_nats::Client,
    root: &Path,
    hosts: &[Host],
    plans: &[WorkloadPlan],
    timeout: Duration,
) -> Result<Vec<WorkloadReport>, V2Error> {
    let state = State::load(root);
    let mut hosts: Vec<Host> = hosts.to_vec();
    for (id, rec) in &state.workloads {
        // a recorded host not seen now is asked anyway (it may just be quiet)
        if !hosts.iter().any(|h| h.id == rec.host) {
            hosts.push(Host {
                id: rec.host.clone(),
                hostgroup: String::new(),
                name: String::new(),
                version: String::new(),
            });
        }
        let _ = id;
    }
    let hosts = &hosts[..];
    let mut ids: BTreeSet<String> = plans.iter().map(|p| p.id.clone()).collect();
    ids.extend(state.workloads.keys().cloned());
    let ids: Vec<String> = ids.into_iter().collect();
    let found = locate(client, hosts, &ids).await?;
    let mut out = Vec::new();
    for (id, on) in found {
        for (h, _) in on {
            let st = workload_stop(client, &h, &id).await?;
            wait_gone(client, &h, &id, timeout).await?;
            let plan = plans.iter().find(|p| p.id == id);
            out.push(WorkloadReport {
                id: id.clone(),
                deployment: plan.map(|p| p.deployment.clone()).unwrap_or_default(),
                host: h.clone(),
                hostgroup: plan.map(|p| p.hostgroup.clone()).unwrap_or_default(),
                state: st.state,
                message: st.message,
                changed: true,
            });
        }
    }
    State {
        workloads: BTreeMap::new(),
        hosts: state.hosts,
    }
    .save(root)?;
    Ok(out)
}

/// One line per workload for `status` (no "unchanged").
pub fn report_line_status(r: &WorkloadReport) -> String {
    let mut r = r.clone();
    r.changed = true;
    report_line(&r)
}

/// One line per workload for the CLI; `(unchanged)` when nothing was sent.
pub fn report_line(r: &WorkloadReport) -> String {
    let state = r.state.trim_start_matches("WORKLOAD_STATE_");
    let host = if r.host.is_empty() { "-" } else { &r.host };
    format!(
        "  {:<36} {:<8} {:<10} host {host}{}{}",
        r.id,
        r.hostgroup,
        state,
        if r.message.is_empty() {
            String::new()
        } else {
            format!(" {}", r.message)
        },
        if r.changed { "" } else { " (unchanged)" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(id: &str, group: &str) -> Host {
        Host {
            id: id.into(),
            hostgroup: group.into(),
            name: String::new(),
            version: String::new(),
        }
    }

    fn plan(id: &str, group: &str) -> WorkloadPlan {
        WorkloadPlan {
            id: id.into(),
            deployment: id.into(),
            hostgroup: group.into(),
            workload: json!({}),
            digest: "d".into(),
        }
    }

    #[test]
    fn placement_spreads_within_the_group_and_keeps_running_ones() {
        let hosts = [host("a", "edge"), host("b", "edge"), host("c", "cloud")];
        let plans = [
            plan("x-0", "edge"),
            plan("x-1", "edge"),
            plan("y-0", "cloud"),
        ];
        let p = place(&plans, &hosts, &BTreeMap::new()).unwrap();
        assert_eq!(p, ["a", "b", "c"]);
        let running = BTreeMap::from([("x-0".to_string(), vec!["b".to_string()])]);
        let p = place(&plans, &hosts, &running).unwrap();
        assert_eq!(p, ["b", "a", "c"]);
    }

    #[test]
    fn a_missing_host_group_names_the_group_and_the_fix() {
        let e = place(
            &[plan("x-0", "gpu")],
            &[host("a", "edge")],
            &BTreeMap::new(),
        )
        .unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("host group `gpu`") && m.contains("`edge`"),
            "{m}"
        );
        assert!(m.contains("wash host --host-group gpu"), "{m}");
    }
}

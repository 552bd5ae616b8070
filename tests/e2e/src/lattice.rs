//! One wasmCloud 1.x lattice in this process: a test-started NATS server and
//! OCI registry (child processes), wadm, and two wasmCloud hosts labelled
//! `host-type=edge` and `host-type=cloud`, everything on 127.0.0.1.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use tokio::task::JoinSet;
use wasmcloud_control_interface::HostInventory;
use wasmcloud_host::wasmbus::Features;
use wasmcloud_host::{OciConfig, WasmbusHost, WasmbusHostConfig};

use crate::nats::NatsServer;
use crate::process::wait_for;
use crate::registry::Registry;

/// The lattice name PELATO deploys to by default (`--lattice default`).
pub const LATTICE: &str = "default";

/// Host heartbeat interval: wadm learns about hosts (and their inventory) this often.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// The label key PELATO's spread requirements use.
pub const HOST_TYPE: &str = "host-type";

type Shutdown = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// One in-process wasmCloud host.
pub struct TestHost {
    /// The host's public key (its id on the control interface).
    pub id: String,
    /// The value of its `host-type` label (`edge` or `cloud`).
    pub host_type: String,
    host: Arc<WasmbusHost>,
    shutdown: Option<Shutdown>,
}

impl TestHost {
    /// The in-process host.
    pub fn host(&self) -> &Arc<WasmbusHost> {
        &self.host
    }
}

/// Everything a deployed PELATO project needs, on loopback only.
///
/// Child processes (NATS, registry) are killed by PID when this is dropped;
/// call [`Lattice::stop`] first for an orderly host shutdown.
pub struct Lattice {
    /// The NATS server.
    pub nats: NatsServer,
    /// The OCI registry.
    pub registry: Registry,
    /// The two hosts: `[edge, cloud]`.
    pub hosts: Vec<TestHost>,
    /// A NATS client for the test.
    pub client: async_nats::Client,
    /// wadm's API client.
    pub wadm: wadm_client::Client,
    /// Control-interface client (host inventories).
    pub ctl: wasmcloud_control_interface::Client,
    wadm_tasks: JoinSet<anyhow::Result<()>>,
    /// Temporary directory holding NATS' store, the registry storage and logs.
    /// Last field: dropped (deleted) after the processes using it are killed.
    pub dir: tempfile::TempDir,
}

/// Log filter when `RUST_LOG` is unset: warnings (e.g. a component failing a
/// message), without two per-request notices (wadm's "deprecated subject" for
/// the `model.list` that wadm-client 0.10 sends, the provider SDK's "Ignoring
/// duplicate link put").
pub const DEFAULT_LOG_FILTER: &str =
    "warn,wadm::server=error,wasmcloud_provider_sdk::provider=error";

/// Installs a `tracing` subscriber once (filter from `RUST_LOG`, default
/// [`DEFAULT_LOG_FILTER`]), so host and wadm warnings show in a failing
/// test's output.
pub fn init_tracing() {
    use std::sync::Once;
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}

impl Lattice {
    /// Starts NATS, the registry, wadm and the two hosts, and waits until wadm
    /// has seen both hosts' heartbeats. Takes about 1.5 s.
    pub async fn start() -> Result<Self> {
        init_tracing();
        let dir = tempfile::Builder::new().prefix("pelato-e2e-").tempdir()?;
        let nats_dir = dir.path().join("nats");
        let reg_dir = dir.path().join("registry");
        std::fs::create_dir_all(&nats_dir)?;
        std::fs::create_dir_all(&reg_dir)?;
        let nats = NatsServer::start(&nats_dir).await?;
        let registry = Registry::start(&reg_dir).await?;

        let wadm_tasks = wadm::start_wadm(wadm::config::WadmConfig {
            nats_server: format!("127.0.0.1:{}", nats.port),
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow!("start_wadm: {e:#}"))?;

        let client = async_nats::ConnectOptions::new()
            .name("pelato-e2e")
            .request_timeout(Some(Duration::from_secs(5)))
            .connect(nats.url())
            .await
            .context("connect to the test NATS server")?;
        let wadm = wadm_client::Client::from_nats_client(LATTICE, None, client.clone());
        let ctl = wasmcloud_control_interface::ClientBuilder::new(client.clone())
            .lattice(LATTICE)
            .timeout(Duration::from_secs(5))
            .build();

        let mut lattice = Self {
            nats,
            registry,
            hosts: Vec::new(),
            client,
            wadm,
            ctl,
            wadm_tasks,
            dir,
        };
        for host_type in ["edge", "cloud"] {
            let host = lattice.start_host(host_type).await?;
            lattice.hosts.push(host);
        }
        lattice.wait_for_hosts(Duration::from_secs(30)).await?;
        Ok(lattice)
    }

    async fn start_host(&self, host_type: &str) -> Result<TestHost> {
        let url = wasmcloud_host::url::Url::parse(&self.nats.url())?;
        let key = Arc::new(nkeys::KeyPair::new_server());
        let id = key.public_key();
        let config = WasmbusHostConfig {
            ctl_nats_url: url.clone(),
            rpc_nats_url: url,
            lattice: Arc::from(LATTICE),
            labels: HashMap::from([(HOST_TYPE.to_string(), host_type.to_string())]),
            host_key: Some(key),
            heartbeat_interval: Some(HEARTBEAT),
            rpc_timeout: Duration::from_secs(5),
            oci_opts: OciConfig {
                allowed_insecure: vec![self.registry.authority()],
                ..OciConfig::default()
            },
            experimental_features: Features::new()
                .enable_builtin_messaging_nats()
                .enable_builtin_http_server(),
            ..WasmbusHostConfig::default()
        };
        let (host, shutdown) = WasmbusHost::new(config)
            .await
            .with_context(|| format!("start the {host_type} wasmCloud host"))?;
        Ok(TestHost {
            id,
            host_type: host_type.to_string(),
            host,
            shutdown: Some(Box::pin(shutdown)),
        })
    }

    /// Waits until both hosts answer inventory requests on the control
    /// interface with their labels, then one heartbeat interval so wadm has
    /// seen them. (A direct request per host: `get_hosts` is a scatter-gather
    /// that always waits for its whole timeout.)
    async fn wait_for_hosts(&self, timeout: Duration) -> Result<()> {
        wait_for(
            "both hosts to answer on the control interface",
            timeout,
            Duration::from_millis(50),
            || async {
                for h in &self.hosts {
                    let inv = self.inventory(&h.id).await?;
                    if inv.labels().get(HOST_TYPE) != Some(&h.host_type) {
                        return Ok(None);
                    }
                }
                Ok(Some(()))
            },
        )
        .await?;
        // wadm builds its view of hosts from heartbeats; give it one full interval.
        tokio::time::sleep(HEARTBEAT + Duration::from_millis(300)).await;
        Ok(())
    }

    /// The host with this `host-type` label.
    pub fn host(&self, host_type: &str) -> &TestHost {
        self.hosts
            .iter()
            .find(|h| h.host_type == host_type)
            .unwrap_or_else(|| panic!("no {host_type} host"))
    }

    /// `host-type` label of a host id.
    pub fn host_type_of(&self, id: &str) -> Option<&str> {
        self.hosts
            .iter()
            .find(|h| h.id == id)
            .map(|h| h.host_type.as_str())
    }

    /// `127.0.0.1:PORT` of NATS.
    pub fn nats_port(&self) -> u16 {
        self.nats.port
    }

    /// One host's inventory, over the control interface.
    pub async fn inventory(&self, host_id: &str) -> Result<HostInventory> {
        let resp = self
            .ctl
            .get_host_inventory(host_id)
            .await
            .map_err(|e| anyhow!("inventory of {host_id}: {e}"))?;
        if !resp.succeeded() {
            bail!("inventory of {host_id}: {}", resp.message());
        }
        resp.into_data()
            .ok_or_else(|| anyhow!("inventory of {host_id}: empty response"))
    }

    /// What runs where: for every host (`host-type` label), the image
    /// references of its components and the ids of its providers.
    pub async fn placement(&self) -> Result<Placement> {
        let mut p = Placement::default();
        for h in &self.hosts {
            let inv = self.inventory(&h.id).await?;
            for c in inv.components() {
                p.components
                    .entry(h.host_type.clone())
                    .or_default()
                    .push(ComponentRun {
                        id: c.id().to_string(),
                        image_ref: c.image_ref().to_string(),
                        max_instances: c.max_instances(),
                        app: c
                            .annotations()
                            .and_then(|a| a.get(APPSPEC))
                            .cloned()
                            .unwrap_or_default(),
                    });
            }
            for prov in inv.providers() {
                p.providers
                    .entry(h.host_type.clone())
                    .or_default()
                    .push(ProviderRun {
                        id: prov.id().to_string(),
                        image_ref: prov.image_ref().unwrap_or_default().to_string(),
                        app: prov
                            .annotations()
                            .and_then(|a| a.get(APPSPEC))
                            .cloned()
                            .unwrap_or_default(),
                    });
            }
        }
        Ok(p)
    }

    /// Polls [`Lattice::placement`] until `ok` accepts it, or fails after
    /// `timeout` showing the last placement.
    pub async fn wait_for_placement(
        &self,
        what: &str,
        timeout: Duration,
        ok: impl Fn(&Placement) -> bool,
    ) -> Result<Placement> {
        let start = Instant::now();
        loop {
            let p = self.placement().await?;
            if ok(&p) {
                return Ok(p);
            }
            if start.elapsed() >= timeout {
                bail!(
                    "timed out after {:.0}s waiting for {what}; hosts run:\n{p}",
                    timeout.as_secs_f64()
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Pulls `image_ref` into the hosts' OCI cache (`$TMPDIR/wasmcloud_ocicache`,
    /// shared by both in-process hosts).
    ///
    /// wasmCloud 1.9 writes that cache in place (truncate, then write): when two
    /// hosts sharing it pull the same image at the same moment, one can read
    /// the file while the other rewrites it ("magic header not detected").
    /// Hosts on separate machines never share it; here, a component placed on
    /// both hosts must be prefetched so both hosts hit the cache.
    pub async fn prefetch(&self, image_ref: &str) -> Result<()> {
        let oci = OciConfig {
            allowed_insecure: vec![self.registry.authority()],
            ..OciConfig::default()
        };
        wasmcloud_host::fetch_component(image_ref, false, &oci, &HashMap::new())
            .await
            .with_context(|| format!("prefetch {image_ref}"))?;
        Ok(())
    }

    /// Names of the applications stored in wadm.
    pub async fn app_names(&self) -> Result<BTreeSet<String>> {
        let list = self
            .wadm
            .list_manifests()
            .await
            .map_err(|e| anyhow!("wadm list_manifests: {e}"))?;
        Ok(list.into_iter().map(|m| m.name).collect())
    }

    /// wadm's status of one application: (status type, message).
    pub async fn app_status(&self, app: &str) -> Result<(String, String)> {
        let s = self
            .wadm
            .get_manifest_status(app)
            .await
            .map_err(|e| anyhow!("wadm status of {app}: {e}"))?;
        Ok((
            format!("{:?}", s.info.status_type).to_lowercase(),
            s.info.message.clone(),
        ))
    }

    /// Logs of the child processes, for failure messages.
    pub fn logs(&self) -> String {
        format!(
            "--- nats-server log (tail) ---\n{}\n--- docker-registry log (tail) ---\n{}",
            self.nats.log_tail(3000),
            self.registry.log_tail(3000)
        )
    }

    /// Stops wadm (so it does not react to hosts going away), then the hosts
    /// (orderly: they publish `host_stopped`); the child processes go when
    /// `self` is dropped.
    pub async fn stop(mut self) {
        self.wadm_tasks.abort_all();
        while tokio::time::timeout(Duration::from_secs(5), self.wadm_tasks.join_next())
            .await
            .ok()
            .flatten()
            .is_some()
        {}
        for h in &mut self.hosts {
            if let Some(shutdown) = h.shutdown.take() {
                match tokio::time::timeout(Duration::from_secs(10), shutdown).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => eprintln!("host {} shutdown: {e:#}", h.host_type),
                    Err(_) => eprintln!("host {} shutdown timed out", h.host_type),
                }
            }
        }
    }
}

/// Annotation wadm puts on what it starts: the application's name.
pub const APPSPEC: &str = "wasmcloud.dev/appspec";

/// A component running on a host.
#[derive(Debug, Clone)]
pub struct ComponentRun {
    /// Component id (wadm: `<app>-<component>`).
    pub id: String,
    /// OCI reference it was started from.
    pub image_ref: String,
    /// Max concurrent instances on this host.
    pub max_instances: u32,
    /// wadm application (from the `wasmcloud.dev/appspec` annotation).
    pub app: String,
}

/// A provider running on a host.
#[derive(Debug, Clone)]
pub struct ProviderRun {
    /// Provider id.
    pub id: String,
    /// Reference it was started from (e.g. `wasmcloud+builtin://messaging-nats`).
    pub image_ref: String,
    /// wadm application (from the `wasmcloud.dev/appspec` annotation).
    pub app: String,
}

/// What runs on each host, keyed by the host's `host-type` label.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// Components per host type.
    pub components: BTreeMap<String, Vec<ComponentRun>>,
    /// Providers per host type.
    pub providers: BTreeMap<String, Vec<ProviderRun>>,
}

impl Placement {
    /// Host types running a component whose image is `<registry>/<repo>:…`
    /// (or `@sha256:…`).
    pub fn hosts_running(&self, repo: &str) -> BTreeSet<String> {
        self.components
            .iter()
            .filter(|(_, cs)| cs.iter().any(|c| image_repo(&c.image_ref) == repo))
            .map(|(h, _)| h.clone())
            .collect()
    }

    /// Host types running a provider of application `app`.
    pub fn hosts_with_provider_of(&self, app: &str) -> BTreeSet<String> {
        self.providers
            .iter()
            .filter(|(_, ps)| ps.iter().any(|p| p.app == app))
            .map(|(h, _)| h.clone())
            .collect()
    }

    /// Whether any component or provider of application `app` still runs.
    pub fn runs_anything_of(&self, app: &str) -> bool {
        self.components.values().flatten().any(|c| c.app == app)
            || self.providers.values().flatten().any(|p| p.app == app)
    }

    /// Total components and providers running.
    pub fn total(&self) -> usize {
        self.components.values().map(Vec::len).sum::<usize>()
            + self.providers.values().map(Vec::len).sum::<usize>()
    }
}

impl std::fmt::Display for Placement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.total() == 0 {
            return writeln!(f, "  (nothing)");
        }
        for (host, cs) in &self.components {
            for c in cs {
                writeln!(
                    f,
                    "  {host:<6} component {} ({}, max {}, app {})",
                    c.id, c.image_ref, c.max_instances, c.app
                )?;
            }
        }
        for (host, ps) in &self.providers {
            for p in ps {
                writeln!(
                    f,
                    "  {host:<6} provider  {} ({}, app {})",
                    p.id, p.image_ref, p.app
                )?;
            }
        }
        Ok(())
    }
}

/// `127.0.0.1:5000/temp-convert:1.0.0` or `…/temp-convert@sha256:…` → `temp-convert`.
pub fn image_repo(image_ref: &str) -> &str {
    let path = image_ref.split_once('/').map_or(image_ref, |(_, p)| p);
    let end = path.find(['@', ':']).unwrap_or(path.len());
    &path[..end]
}

#[cfg(test)]
mod tests {
    use super::image_repo;

    #[test]
    fn image_repos() {
        assert_eq!(
            image_repo("127.0.0.1:5000/temp-convert:1.0.0"),
            "temp-convert"
        );
        assert_eq!(
            image_repo("127.0.0.1:5000/temp-convert@sha256:abcd"),
            "temp-convert"
        );
        assert_eq!(image_repo("127.0.0.1:5000/a/b:1"), "a/b");
    }
}

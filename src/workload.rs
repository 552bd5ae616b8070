//! wasmCloud 2 manifests: one `WorkloadDeployment`
//! (`runtime.wasmcloud.dev/v1alpha1`) per task and target, validated against
//! the runtime-operator's own CRD schema (v2.7.0, vendored under
//! `crds/wasmcloud-v2.7.0/`) before anything is written.
//!
//! How a task maps:
//!
//! - each target becomes a host group: `hostSelector: {hostgroup: <target>}`.
//!   A selector is an exact-match AND, so a task on several targets gets one
//!   WorkloadDeployment per target (`<app>-<target>`), each with `instances`
//!   replicas: it runs on every host group it names;
//! - `instances` → `spec.replicas`;
//! - every interface the component's world imports or exports (besides the
//!   WASI ones the preview1 adapter needs) is declared in `hostInterfaces`,
//!   since a v2 host refuses to instantiate an undeclared import:
//!   messaging with `subscriptions: <source_topic>`, the config store with
//!   the task's runtime settings (`dest-topic`, template settings),
//!   `wasi:http` with `host: <http_host>`, postgres with `database`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use crate::workflow::{Task, Workflow};

/// The vendored CRD the manifests are checked against.
pub const CRD_YAML: &str =
    include_str!("../crds/wasmcloud-v2.7.0/runtime.wasmcloud.dev_workloaddeployments.yaml");

/// The wasmCloud release the CRD comes from.
pub const CRD_VERSION: &str = "v2.7.0";

/// API version of the generated documents.
pub const API_VERSION: &str = "runtime.wasmcloud.dev/v1alpha1";

/// File each task's WorkloadDeployments are written to, under `gen/<component>/`.
pub const WORKLOAD_FILE: &str = "workloaddeployment.yaml";

/// Interface packages the WASI preview1 adapter imports: the host serves
/// them to every component, they are not declared.
const ADAPTER_PACKAGES: &[&str] = &[
    "wasi:cli",
    "wasi:io",
    "wasi:clocks",
    "wasi:random",
    "wasi:filesystem",
];

/// What a task's WorkloadDeployments are made from, beyond the workflow.
#[derive(Debug, Clone)]
pub struct WorkloadInputs {
    /// The component's image reference.
    pub image: String,
    /// The interfaces its world imports and exports, e.g.
    /// `wasmcloud:messaging/consumer@0.2.0`.
    pub interfaces: Vec<String>,
    /// The runtime config the component reads (`dest-topic`, template settings).
    pub settings: BTreeMap<String, String>,
    /// The database dbsync writes to (the host's `--postgres-url` names the server).
    pub database: String,
}

/// A `ns:pkg/iface@version` name, split.
fn split_interface(name: &str) -> Option<(&str, &str, &str, &str)> {
    let (ns, rest) = name.split_once(':')?;
    let (pkg, rest) = rest.split_once('/')?;
    let (iface, version) = rest.split_once('@').unwrap_or((rest, ""));
    Some((ns, pkg, iface, version))
}

/// A Kubernetes object name part: lower-case letters, digits and `-`.
fn dns_label(s: &str) -> String {
    let mut out: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    out.trim_matches('-').to_string()
}

/// The `hostInterfaces` of a component with these interfaces.
pub fn host_interfaces(wf: &Workflow, task: &Task, inputs: &WorkloadInputs) -> Vec<Value> {
    // (namespace, package, version) → interfaces, in first-seen order
    let mut packages: Vec<((String, String, String), Vec<String>)> = Vec::new();
    for name in &inputs.interfaces {
        let Some((ns, pkg, iface, version)) = split_interface(name) else {
            continue;
        };
        if ADAPTER_PACKAGES.contains(&format!("{ns}:{pkg}").as_str()) || iface == "types" {
            continue;
        }
        let key = (ns.to_string(), pkg.to_string(), version.to_string());
        match packages.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) if !list.iter().any(|i| i == iface) => list.push(iface.to_string()),
            Some(_) => {}
            None => packages.push((key, vec![iface.to_string()])),
        }
    }
    packages
        .into_iter()
        .map(|((ns, pkg, version), interfaces)| {
            let config: BTreeMap<String, String> = match (ns.as_str(), pkg.as_str()) {
                ("wasmcloud", "messaging") => {
                    [("subscriptions".to_string(), task.source_topic.clone())].into()
                }
                ("wasi", "config") => inputs.settings.clone(),
                ("wasi", "http") => [("host".to_string(), wf.http_host_for(task))].into(),
                ("wasmcloud", "postgres") => {
                    [("database".to_string(), inputs.database.clone())].into()
                }
                _ => BTreeMap::new(),
            };
            let mut entry = Map::new();
            entry.insert("namespace".into(), json!(ns));
            entry.insert("package".into(), json!(pkg));
            // `wasi:http` is served at any 0.2.x: leave the version to the host
            let any_version = version.is_empty() || (ns == "wasi" && pkg == "http");
            if !any_version {
                entry.insert("version".into(), json!(version));
            }
            entry.insert("interfaces".into(), json!(interfaces));
            if !config.is_empty() {
                entry.insert("config".into(), json!(config));
            }
            Value::Object(entry)
        })
        .collect()
}

/// The name of a task's WorkloadDeployment on `target`: the app name, plus
/// `-<target>` when the task has several targets.
pub fn deployment_name(wf: &Workflow, task: &Task, target: &str) -> String {
    let app = wf.app_name(task);
    if task.targets.len() > 1 {
        format!("{app}-{}", dns_label(target))
    } else {
        app
    }
}

/// A task's WorkloadDeployments, one per target, as JSON values.
pub fn workload_deployments(wf: &Workflow, task: &Task, inputs: &WorkloadInputs) -> Vec<Value> {
    let interfaces = host_interfaces(wf, task, inputs);
    let component = dns_label(&task.component_name);
    task.targets
        .iter()
        .map(|target| {
            json!({
                "apiVersion": API_VERSION,
                "kind": "WorkloadDeployment",
                "metadata": {
                    "name": deployment_name(wf, task, target),
                    "labels": {
                        "app.kubernetes.io/managed-by": "pelato",
                        "pelato.dev/app": wf.app_name(task),
                        "pelato.dev/target": dns_label(target),
                    },
                    "annotations": {
                        "pelato.dev/task": task.name,
                        "pelato.dev/project": wf.project_name,
                        "pelato.dev/version": task.version.to_string(),
                    },
                },
                "spec": {
                    "replicas": task.instances,
                    "template": {
                        "spec": {
                            "hostSelector": { "hostgroup": target },
                            "components": [{
                                "name": component,
                                "image": inputs.image,
                            }],
                            "hostInterfaces": interfaces,
                        }
                    }
                }
            })
        })
        .collect()
}

/// Renders documents as one multi-document YAML file.
pub fn to_yaml(docs: &[Value]) -> String {
    let mut out = String::from("# Generated by pelato for wasmCloud 2 (runtime-operator CRDs ");
    out.push_str(CRD_VERSION);
    out.push_str("): `kubectl apply -f` this file, or `pelato deploy --platform wasmcloud-v2`.\n");
    for d in docs {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(d).expect("JSON values serialize to YAML"));
    }
    out
}

fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let crd: Value = serde_yaml::from_str(CRD_YAML).expect("the vendored CRD parses");
        crd["spec"]["versions"]
            .as_array()
            .and_then(|v| v.iter().find(|v| v["name"] == "v1alpha1"))
            .map(|v| v["schema"]["openAPIV3Schema"].clone())
            .expect("the vendored CRD has v1alpha1")
    })
}

/// Validates a WorkloadDeployment against the vendored CRD's schema, with
/// unknown fields refused (as the API server prunes or, in strict mode,
/// refuses them). Returns every problem, each with its path. The CEL rules
/// (`x-kubernetes-validations`) are not evaluated.
pub fn validate(doc: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    check(schema(), doc, "", &mut problems);
    match doc["metadata"]["name"].as_str() {
        Some(n) if is_dns_subdomain(n) => {}
        Some(n) => problems.push(format!(
            "metadata.name: {n:?} is not a DNS subdomain name (lower-case letters, digits, `-` and `.`, at most 253)"
        )),
        None => problems.push("metadata.name: required".into()),
    }
    if doc["apiVersion"] != API_VERSION {
        problems.push(format!("apiVersion: must be {API_VERSION}"));
    }
    if doc["kind"] != "WorkloadDeployment" {
        problems.push("kind: must be WorkloadDeployment".into());
    }
    problems
}

fn is_dns_subdomain(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 253
        && n.split('.').all(|l| {
            !l.is_empty()
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

fn at(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn check(s: &Value, v: &Value, path: &str, out: &mut Vec<String>) {
    let shown = if path.is_empty() { "(document)" } else { path };
    let int_or_string = s["x-kubernetes-int-or-string"] == true;
    if let Some(t) = s["type"].as_str() {
        let ok = match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string() || (int_or_string && v.is_i64()),
            "integer" => v.is_i64() || v.is_u64() || (int_or_string && v.is_string()),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            _ => true,
        };
        if !ok {
            out.push(format!("{shown}: must be {t}, found {v}"));
            return;
        }
    }
    if let Some(allowed) = s["enum"].as_array() {
        if !allowed.contains(v) {
            out.push(format!(
                "{shown}: {v} is not one of {}",
                Value::Array(allowed.clone())
            ));
        }
    }
    match v {
        Value::Object(m) => {
            for r in s["required"].as_array().into_iter().flatten() {
                if let Some(r) = r.as_str() {
                    if !m.contains_key(r) {
                        out.push(format!("{}: required field missing", at(path, r)));
                    }
                }
            }
            let props = s["properties"].as_object();
            let preserve = s["x-kubernetes-preserve-unknown-fields"] == true;
            for (k, val) in m {
                if let Some(ps) = props.and_then(|p| p.get(k)) {
                    check(ps, val, &at(path, k), out);
                } else if let Some(ap) = s.get("additionalProperties").filter(|a| a.is_object()) {
                    check(ap, val, &at(path, k), out);
                } else if props.is_some() && !preserve {
                    out.push(format!(
                        "{}: unknown field (not in the {CRD_VERSION} CRD)",
                        at(path, k)
                    ));
                }
            }
            if let Some(n) = s["maxProperties"].as_u64() {
                if m.len() as u64 > n {
                    out.push(format!("{shown}: at most {n} entries"));
                }
            }
        }
        Value::Array(items) => {
            if let Some(n) = s["minItems"].as_u64() {
                if (items.len() as u64) < n {
                    out.push(format!("{shown}: needs at least {n} entries"));
                }
            }
            if let Some(n) = s["maxItems"].as_u64() {
                if items.len() as u64 > n {
                    out.push(format!("{shown}: at most {n} entries"));
                }
            }
            if let Some(is) = s.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(is, item, &format!("{path}[{i}]"), out);
                }
            }
        }
        Value::String(st) => {
            let len = st.chars().count() as u64;
            if let Some(n) = s["maxLength"].as_u64() {
                if len > n {
                    out.push(format!("{shown}: longer than {n} characters"));
                }
            }
            if let Some(n) = s["minLength"].as_u64() {
                if len < n {
                    out.push(format!("{shown}: shorter than {n} characters"));
                }
            }
            if let Some(p) = s["pattern"].as_str() {
                if regex::Regex::new(p).is_ok_and(|re| !re.is_match(st)) {
                    out.push(format!("{shown}: {st:?} does not match {p}"));
                }
            }
        }
        Value::Number(n) => {
            if let (Some(min), Some(x)) = (s["minimum"].as_f64(), n.as_f64()) {
                if x < min {
                    out.push(format!("{shown}: must be at least {min}"));
                }
            }
            if let (Some(max), Some(x)) = (s["maximum"].as_f64(), n.as_f64()) {
                if x > max {
                    out.push(format!("{shown}: must be at most {max}"));
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        json!({
            "apiVersion": API_VERSION,
            "kind": "WorkloadDeployment",
            "metadata": {"name": "demo-echo"},
            "spec": {"replicas": 1, "template": {"spec": {
                "hostSelector": {"hostgroup": "edge"},
                "components": [{"name": "echo", "image": "127.0.0.1:5000/echo:1.0.0"}],
                "hostInterfaces": [{"namespace": "wasmcloud", "package": "messaging",
                    "version": "0.2.0", "interfaces": ["consumer", "handler"],
                    "config": {"subscriptions": "in.echo"}}]
            }}}
        })
    }

    #[test]
    fn the_operators_sample_shape_passes_and_unknown_fields_are_refused() {
        assert_eq!(validate(&sample()), Vec::<String>::new());
        let mut bad = sample();
        bad["spec"]["template"]["metadata"] = json!({"labels": {"a": "b"}});
        bad["spec"]["template"]["spec"]["components"][0]["address"] = json!("0.0.0.0:8080");
        bad["spec"]["replicas"] = json!("two");
        bad["spec"]["template"]["spec"]["hostInterfaces"][0]
            .as_object_mut()
            .unwrap()
            .remove("package");
        bad["metadata"]["name"] = json!("Demo_Echo");
        let problems = validate(&bad).join("\n");
        for want in [
            "spec.template.metadata: unknown field",
            "spec.template.spec.components[0].address: unknown field",
            "spec.replicas: must be integer",
            "spec.template.spec.hostInterfaces[0].package: required field missing",
            "metadata.name: \"Demo_Echo\" is not a DNS subdomain name",
        ] {
            assert!(problems.contains(want), "{want}:\n{problems}");
        }
        let mut bad = sample();
        bad["spec"]["template"]["spec"]["hostInterfaces"][0]["name"] = json!("Echo_1");
        assert!(validate(&bad)
            .join("\n")
            .contains("does not match ^[a-z0-9][a-z0-9-]*$"));
    }
}

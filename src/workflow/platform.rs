//! Which wasmCloud a project is built and deployed for.
//!
//! `platform:` in workflow.yaml (or `--platform` on the command line) picks
//! one of two targets that differ in what the host serves and how work is
//! placed on it:
//!
//! - [`Platform::WasmcloudV1`] (the default): wasmCloud 1.x hosts (1.9),
//!   wadm applications (OAM manifests), capability providers, and
//!   `wasi:config/store@0.2.0-draft`;
//! - [`Platform::WasmcloudV2`]: wasmCloud 2.x hosts (`wash host`), the
//!   runtime-operator's `WorkloadDeployment`s, host plugins, and
//!   `wasi:config/store@0.2.0-rc.1`.

use std::fmt;
use std::str::FromStr;

/// A wasmCloud generation PELATO builds and deploys for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Platform {
    /// wasmCloud 1.x: wadm manifests, providers, config `0.2.0-draft`.
    #[default]
    WasmcloudV1,
    /// wasmCloud 2.x: WorkloadDeployments, host plugins, config `0.2.0-rc.1`.
    WasmcloudV2,
}

impl Platform {
    /// Every platform, default first.
    pub const ALL: [Platform; 2] = [Platform::WasmcloudV1, Platform::WasmcloudV2];

    /// The spelling used in workflow.yaml and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::WasmcloudV1 => "wasmcloud-v1",
            Platform::WasmcloudV2 => "wasmcloud-v2",
        }
    }

    /// The version of `wasi:config` the platform's hosts serve.
    pub fn config_version(self) -> &'static str {
        match self {
            Platform::WasmcloudV1 => "0.2.0-draft",
            Platform::WasmcloudV2 => "0.2.0-rc.1",
        }
    }

    /// The accepted spellings, for messages.
    pub fn names() -> [&'static str; 2] {
        [Self::ALL[0].as_str(), Self::ALL[1].as_str()]
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A platform name that is neither `wasmcloud-v1` nor `wasmcloud-v2`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown platform {given:?}: expected `wasmcloud-v1` or `wasmcloud-v2`{}", suggestion.map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
pub struct UnknownPlatform {
    /// What was given.
    pub given: String,
    /// The closest accepted name, if any is close.
    pub suggestion: Option<&'static str>,
}

impl FromStr for Platform {
    type Err = UnknownPlatform;

    fn from_str(s: &str) -> Result<Platform, UnknownPlatform> {
        match s {
            "wasmcloud-v1" => Ok(Platform::WasmcloudV1),
            "wasmcloud-v2" => Ok(Platform::WasmcloudV2),
            other => {
                let lower = other.trim().to_ascii_lowercase();
                // `v2`, `wasmcloud2`, `wasmCloud-v2`, `wasmcloud_v2`: the generation is clear
                let suggestion = if lower.ends_with('2') {
                    Some("wasmcloud-v2")
                } else if lower.ends_with('1') {
                    Some("wasmcloud-v1")
                } else {
                    super::names::suggest(&lower, &Self::names())
                };
                Err(UnknownPlatform {
                    given: other.to_string(),
                    suggestion,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_suggests() {
        assert_eq!("wasmcloud-v2".parse(), Ok(Platform::WasmcloudV2));
        assert_eq!("wasmcloud-v1".parse(), Ok(Platform::WasmcloudV1));
        assert_eq!(Platform::default(), Platform::WasmcloudV1);
        let e = "v2".parse::<Platform>().unwrap_err();
        assert_eq!(e.suggestion, Some("wasmcloud-v2"));
        assert!(e.to_string().contains("did you mean `wasmcloud-v2`"), "{e}");
        assert_eq!("k8s".parse::<Platform>().unwrap_err().suggestion, None);
    }
}

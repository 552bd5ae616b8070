//! PELATO: from a plain Go function to a WebAssembly component running on wasmCloud.
//!
//! The library holds all the work; the `pelato` binary is a thin clap front end.
//! One module per pipeline stage:
//!
//! | stage | module |
//! |---|---|
//! | parse + validate `workflow.yaml` | [`workflow`] |
//! | settings from env / `.env` | [`config`] |
//! | templates and embedded WIT | [`templates`] |
//! | WIT → Go glue generator | [`glue`] |
//! | `gen` (Go module + wadm manifest per task) | [`gen`] |
//! | the one wadm manifest validation | [`manifest`] |
//! | find a Go/TinyGo toolchain | [`toolchain`] |
//! | `build` (compile + componentize, cached) | [`build`] |
//! | `test`/`call` (embedded wasmtime) | [`harness`] |
//! | `push` (OCI) | [`push`] |
//! | `deploy`/`remove`/`status` (wadm over NATS) | [`deploy`] |
//! | the whole pipeline | [`pipeline`] |
//! | run reports, metrics | [`report`] |
//! | shared plumbing: atomic writes, digests, the file lock, folders | [`util`] |

pub mod build;
pub mod config;
pub mod deploy;
pub mod gen;
pub mod glue;
pub mod gomod;
pub mod harness;
pub mod manifest;
pub mod pipeline;
pub mod push;
pub mod report;
pub mod templates;
pub mod toolchain;
pub mod util;
pub mod workflow;

/// Default largest message payload a component accepts: NATS' default
/// `max_payload` (1 MiB). Override with `max_message_size` in workflow.yaml.
pub const DEFAULT_MAX_MESSAGE_BYTES: u64 = 1024 * 1024;

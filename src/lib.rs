//! PELATO: from a plain Go function to a WebAssembly component running on wasmCloud.
//!
//! The library holds all the work; the `pelato` binary is a thin clap front end.
//! One module per pipeline stage:
//!
//! | stage | module |
//! |---|---|
//! | a problem in the user's files, with line and fix | [`diagnostic`] |
//! | parse + validate `workflow.yaml` (model, names, subjects, checker) | [`workflow`] |
//! | the Go task checker (`package main`, `exec_task`) | [`gosrc`] |
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
//! | `deploy`/`remove`/`status` on wasmCloud 2 hosts (the operator protocol over NATS) | [`deploy_v2`] |
//! | the whole pipeline: every stage gen → deploy, typed outcomes, a `Reporter` | [`pipeline`] |
//! | `run`/`dev`: every task in the harness, wired by topic, no lattice | [`local`] |
//! | pre-initialized (snapshotted) Go modules | [`snapshot`] |
//! | fewer data segments, so instances start faster | [`segments`] |
//! | run reports, metrics | [`report`] |
//! | shared plumbing: atomic writes, digests, the file lock, folders | [`util`] |

pub mod build;
pub mod config;
pub mod deploy;
pub mod deploy_v2;
pub mod diagnostic;
pub mod gen;
pub mod glue;
pub mod gomod;
pub mod gosrc;
pub mod harness;
pub mod local;
pub mod manifest;
pub mod pipeline;
pub mod push;
pub mod report;
pub mod segments;
pub mod snapshot;
pub mod templates;
pub mod toolchain;
pub mod util;
pub mod workflow;
pub mod workload;

/// Default largest message payload a component accepts: NATS' default
/// `max_payload` (1 MiB). Override with `max_message_size` in workflow.yaml.
pub const DEFAULT_MAX_MESSAGE_BYTES: u64 = 1024 * 1024;

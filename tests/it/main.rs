//! PELATO's integration tests, in one binary: one link of wasmtime and the
//! rest instead of one per file (as cargo and uv lay theirs out). Each module
//! is one area; `support` holds what they share (real servers, projects, the
//! Go toolchain). Run one area with `cargo test --test it cli_push::`.

mod support;

mod cli;
mod cli_deploy;
mod cli_push;
mod dbsync_template;
mod deploy_wadm;
mod gen_render;
mod glue_resources;
mod glue_roundtrip;
mod go_modules;
mod http_template;
mod library_brush;
mod local_run;
mod original_projects;
mod pipeline_go;
mod platform;
mod push_registry;
mod snapshot;
mod toolchain_cli;
mod toolchain_go;
mod toolchain_store;
mod user_templates;
mod wasmcloud_v2;
mod workflow_validation;

//! PELATO end to end: the real `pelato` binary against a real lattice.
//!
//! [`lattice::Lattice::start`] brings up, on 127.0.0.1 only:
//! * `nats-server` 2.10+ with JetStream (a child process, random port),
//! * Debian's `docker-registry` (a child process, random port, plain HTTP),
//! * wadm 0.21 (in process),
//! * two wasmCloud 1.9 hosts (`wasmcloud-host` 0.27.1, in process) labelled
//!   `host-type=edge` and `host-type=cloud`, with the builtin NATS messaging
//!   and HTTP server providers and a 1 s heartbeat.
//!
//! [`pelato::Pelato`] runs the `pelato` binary with `REGISTRY_URL` / `NATS_*`
//! pointing there; [`messaging`] publishes and collects NATS messages.

pub mod lattice;
pub mod messaging;
pub mod nats;
pub mod pelato;
pub mod process;
pub mod registry;

pub use lattice::Lattice;
pub use pelato::{copy_project, Pelato, Run};

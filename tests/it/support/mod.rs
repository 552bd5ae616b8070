//! What the integration tests share: throw-away projects and the real Go
//! (`project`), real servers started on loopback (`nats` + wadm, `registry`,
//! `postgres`), the glue round-trip kit (`glue`) and the toolchain fixtures
//! (`toolchain`).

#![allow(dead_code)]

pub mod glue;
pub mod nats;
pub mod postgres;
pub mod project;
pub mod registry;
pub mod toolchain;
pub mod wash;

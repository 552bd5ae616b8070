//! Shared plumbing with one home each. Nothing here depends on the rest of the crate: every
//! other module may use `util`, and `util` uses only `std` and small external crates.
//!
//! | concept | item |
//! |---|---|
//! | atomic writes with the usual file mode | [`fs::write_atomic`] |
//! | sha256 (and the OCI digest form) | [`digest`] |
//! | the one inter-process lock | [`lock::LockedFile`] |
//! | polling a future that does no I/O | [`poll::ready`] |
//! | platform cache and data folders | [`dirs`] |
//! | an error with its causes | [`error::chain`] |
//! | a URL fit to print (no credentials) | [`url::redact_userinfo`] |

pub mod digest;
pub mod dirs;
pub mod error;
pub mod fs;
pub mod lock;
pub mod poll;
pub mod url;

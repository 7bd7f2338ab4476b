//! Plain types and rules of wid, with no I/O.
//!
//! Everything here is data and pure functions: the clock abstraction, cloud profiles,
//! ids, the AADSTS error catalogue, the rules that Azure applies to managed identities and
//! their federated identity credentials, and the parser for ARM resource paths. The servers
//! and clients in the other crates map these to and from the wire.

pub mod aadsts;
pub mod arm_api;
pub mod arm_path;
pub mod clock;
pub mod cloud;
pub mod connection;
pub mod deployment;
pub mod federated;
pub mod ids;
pub mod rbac;
pub mod resources;
pub mod secret;
pub mod time_fmt;

pub use clock::{Clock, ManualClock, SystemClock};
pub use cloud::CloudProfile;
pub use secret::Secret;

//! The `wid` binary as a library: the command line, `wid up` (the server that hosts the
//! stand-in cloud over HTTPS), the data directory, and the HTTPS client the CLI uses.
//!
//! Nothing depends on this crate; it depends on all the others.

pub mod cli;
pub mod client;
pub mod cloud;
pub mod home;
pub mod observe;
pub mod output;
pub mod server;
pub mod tls;

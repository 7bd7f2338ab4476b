//! The `wid` binary as a library: the command line, `wid up` (the server that hosts the
//! stand-in cloud over HTTPS), the data directory, and the HTTPS client the CLI uses.
//!
//! `agent` is `wid agent`'s core (the managed identity endpoint a worker pod's task
//! processes share), in the library so that tests run it in-process with an injected clock.
//!
//! Nothing depends on this crate; it depends on all the others.

pub mod agent;
pub mod cli;
pub mod client;
pub mod cloud;
pub mod home;
pub mod observe;
pub mod output;
pub mod server;
pub mod tls;

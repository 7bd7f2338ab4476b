//! `wid ad ...`, as `az ad`: the directory's service principals (`ad_sp.rs`).

use clap::Subcommand;

use super::{CliError, Context};

/// `wid ad ...`
#[derive(Debug, Subcommand)]
pub enum AdCommand {
    /// Service principals.
    #[command(subcommand)]
    Sp(super::ad_sp::SpCommand),
}

/// Runs `wid ad ...`.
pub async fn run(ctx: &Context, cmd: AdCommand) -> Result<(), CliError> {
    match cmd {
        AdCommand::Sp(c) => super::ad_sp::run(ctx, c).await,
    }
}

//! The `wid` command.

fn main() -> std::process::ExitCode {
    wid::cli::main()
}

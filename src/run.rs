//! Top-level dispatch: parse the command line, resolve the configuration once, then
//! run one job (list, talk or reap) and turn its outcome into an exit code.

use clap::Parser;

use crate::cli::Cli;
use crate::config;

/// Runs seance with the process's arguments and returns the exit code: 0 success,
/// 1 runtime error (printed once as `seance: <error>`), 2 usage error (from clap), or
/// claude's status for a talk.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return code;
        }
    };
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("seance: {e:#}");
            1
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<i32> {
    let cfg = config::resolve(cli)?;
    crate::list::run(&cfg)
}

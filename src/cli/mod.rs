//! The command line: the only place that knows clap, environment variables and the terminal.

pub mod emulator;

use std::process::ExitCode;

pub fn main() -> ExitCode {
    ExitCode::SUCCESS
}

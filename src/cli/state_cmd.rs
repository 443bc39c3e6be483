//! `fk state push` and `fk state pull`: the moves are `ops::push` and `ops::pull`; this says
//! what they did.

use std::path::Path;
use std::time::Duration;

use crate::ops::{self, Context, Moved, Pulled, Transfer};

use super::walk::Terminal;
use super::{CliResult, EXIT_OK};

pub async fn push(
    module: &Path,
    file: &Path,
    lock_timeout: Duration,
    context: &Context,
) -> CliResult {
    let moved = ops::push(module, file, lock_timeout, context, &Terminal::default()).await?;
    match moved.transfer {
        Transfer::Nothing => print_already_there(&moved),
        Transfer::Write => println!(
            "Pushed serial {} of lineage `{}` to `{}`.",
            moved.serial, moved.lineage, moved.onto
        ),
    }
    Ok(EXIT_OK)
}

pub async fn pull(module: &Path, file: Option<&Path>, context: &Context) -> CliResult {
    match ops::pull(module, file, context).await? {
        Pulled::State(state) => {
            let text = serde_json::to_string_pretty(&state).unwrap_or_default();
            println!("{text}");
        }
        Pulled::Moved(moved) => match moved.transfer {
            Transfer::Nothing => print_already_there(&moved),
            Transfer::Write => println!(
                "Pulled serial {} of lineage `{}` into `{}`.",
                moved.serial, moved.lineage, moved.onto
            ),
        },
    }
    Ok(EXIT_OK)
}

fn print_already_there(moved: &Moved) {
    println!(
        "`{}` already holds this state (serial {}).",
        moved.onto, moved.serial
    );
}

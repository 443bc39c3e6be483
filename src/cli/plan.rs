//! `fk plan`.

use std::io::Write as _;

use crate::ops::{self, Checks, Context, ProviderFlags};
use crate::plan::Mode;
use crate::render;

use super::args::PlanArgs;
use super::walk::{Terminal, print_plan};
use super::{CliResult, EXIT_CHANGES, EXIT_OK, workspace};

pub(crate) async fn run(args: PlanArgs, context: &Context) -> CliResult {
    // A destroy plans no resource's values: the module's evaluation is checked first.
    let (mode, checks) = if args.destroy {
        (Mode::Destroy, Checks::All)
    } else {
        (Mode::Normal, Checks::BeforePlanning)
    };
    let flags = ProviderFlags::default();
    let loaded = workspace(&args.module, &args.run.vars, flags, checks, context)?;
    let state_file = args.run.state.state.as_deref();
    let store = ops::store(&loaded.module, &loaded.variables, state_file, context)?;
    let options = args.run.plan_options(mode);
    let plan = ops::plan(&loaded, store.as_ref(), &options, &Terminal::default()).await?;
    if args.json {
        let text = serde_json::to_string_pretty(&render::plan_json(&plan)).unwrap_or_default();
        println!("{text}");
        let _ = std::io::stdout().flush();
    } else {
        print_plan(&plan);
    }
    if let Some(out) = &args.out {
        ops::save_plan(out, &loaded.module.dir, &plan, context)?;
        eprintln!(
            "\nSaved the plan to {}: `fk apply {}` applies exactly it.",
            out.display(),
            out.display()
        );
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}

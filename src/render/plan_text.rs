//! The plan as a person reads it: one block per changed resource, one line per changed
//! attribute path, secrets redacted per attribute, lists and multi-line strings diffed line by
//! line, replacements with their cause, and the footer.

use std::fmt::Write as _;

use console::Style;
use similar::{ChangeTag, TextDiff};

use crate::plan::{Action, Mode, Plan, PlanCost, ResourceChange};
use crate::value::{Path, PathSeg, Value, path_to_string};

const UNKNOWN: &str = "(known after apply)";
const SENSITIVE: &str = "(sensitive value)";

/// Styles for the plan; all plain when colour is off.
struct Palette {
    add: Style,
    change: Style,
    remove: Style,
    dim: Style,
    bold: Style,
}

impl Palette {
    fn new(color: bool) -> Palette {
        let style = |style: Style| style.force_styling(color);
        Palette {
            add: style(Style::new().green()),
            change: style(Style::new().yellow()),
            remove: style(Style::new().red()),
            dim: style(Style::new().dim()),
            bold: style(Style::new().bold()),
        }
    }

    fn for_symbol(&self, symbol: &str) -> &Style {
        match symbol {
            "+" => &self.add,
            "-" => &self.remove,
            _ => &self.change,
        }
    }
}

/// A leaf of a resource's attributes as the plan shows it.
#[derive(Debug)]
struct Row {
    path: Path,
    before: Option<Value>,
    after: Option<Value>,
    /// True when a secret sits at or above this path on either side.
    sensitive: bool,
}

pub fn plan_text(plan: &Plan, color: bool) -> String {
    let palette = Palette::new(color);
    let mut out = String::new();
    if !plan.drift.is_empty() {
        out.push_str("Refresh found objects that changed since the last apply (outside fk, or with time):\n\n");
        for drift in &plan.drift {
            match &drift.changed_paths {
                None => {
                    let _ = writeln!(out, "  # {} was deleted outside fk", drift.address);
                }
                Some(paths) => {
                    let names: Vec<String> = paths.iter().map(|path| format!("`{path}`")).collect();
                    let _ = writeln!(out, "  # {} changed: {}", drift.address, names.join(", "));
                }
            }
        }
        out.push('\n');
    }
    for warning in &plan.warnings {
        let _ = writeln!(out, "warning: {warning}\n");
    }
    if !plan.has_changes() {
        out.push_str(match plan.mode {
            Mode::Normal => "No changes. The infrastructure matches the module.\n",
            Mode::Destroy => "No changes. Nothing is left to destroy.\n",
        });
        if let Some(cost) = &plan.cost {
            let _ = writeln!(
                out,
                "\n{} {}/hour, unchanged by this plan",
                palette.bold.apply_to("Estimated cost:"),
                money(cost, cost.after_per_hour)
            );
        }
        return out;
    }
    if !plan.changes.is_empty() {
        out.push_str("fk will perform the following actions:\n");
        let mut sorted: Vec<&ResourceChange> = plan.changes.iter().collect();
        sorted.sort_by(|left, right| {
            left.address
                .cmp(&right.address)
                .then(left.deposed.cmp(&right.deposed))
        });
        for change in sorted {
            out.push('\n');
            render_change(&mut out, change, &palette);
        }
    }
    render_outputs(&mut out, plan, &palette);
    let _ = writeln!(
        out,
        "\n{} {} to add, {} to change, {} to destroy.",
        palette.bold.apply_to("Plan:"),
        plan.n_add(),
        plan.n_change(),
        plan.n_destroy()
    );
    if let Some(cost) = &plan.cost {
        render_cost(&mut out, cost, &palette);
    }
    out
}

/// An amount per hour in the estimate's currency: `$0.1729`, `0.1729 EUR`.
fn money(cost: &PlanCost, amount: f64) -> String {
    match cost.currency.as_str() {
        "USD" => format!("${amount:.4}"),
        other => format!("{amount:.4} {other}"),
    }
}

/// The footer's estimate: the totals, one line per priced resource, where the prices come from.
fn render_cost(out: &mut String, cost: &PlanCost, palette: &Palette) {
    let money = |amount: f64| money(cost, amount);
    let _ = write!(
        out,
        "\n{} {}/hour after apply (now {}/hour)",
        palette.bold.apply_to("Estimated cost:"),
        money(cost.after_per_hour),
        money(cost.before_per_hour)
    );
    if !cost.unknown.is_empty() {
        let names: Vec<String> = cost.unknown.iter().map(|a| format!("`{a}`")).collect();
        let _ = write!(
            out,
            ", not counting {} (known after apply)",
            names.join(", ")
        );
    }
    out.push('\n');
    let width = cost
        .resources
        .iter()
        .map(|resource| resource.address.to_string().len())
        .max()
        .unwrap_or(0);
    for resource in &cost.resources {
        let figure = match (resource.before_per_hour, resource.after_per_hour) {
            (_, Some(after)) => format!("{}/hour", money(after)),
            (Some(_), None) if cost.unknown.contains(&resource.address) => {
                "(known after apply)".to_string()
            }
            (Some(before), None) => format!("{}/hour until destroyed", money(before)),
            (None, None) => "(known after apply)".to_string(),
        };
        let line = format!(
            "  {:width$}  {figure}  {}",
            resource.address.to_string(),
            resource.basis
        );
        let _ = writeln!(out, "{}", palette.dim.apply_to(line));
    }
    for source in &cost.sources {
        let _ = writeln!(
            out,
            "  {}",
            palette.dim.apply_to(format!("prices: {source}"))
        );
    }
}

fn headline(change: &ResourceChange) -> String {
    let address = &change.address;
    let verb = match change.action {
        Action::NoOp => "has no changes".to_string(),
        Action::Create => "will be created".to_string(),
        Action::Update => "will be updated in place".to_string(),
        Action::DeleteThenCreate | Action::CreateThenDelete => "must be replaced".to_string(),
        Action::Delete if change.deposed => "(deposed object) will be destroyed".to_string(),
        Action::Delete => "will be destroyed".to_string(),
    };
    match &change.action_reason {
        Some(reason) => format!("# {address} {verb} ({reason})"),
        None => format!("# {address} {verb}"),
    }
}

fn render_change(out: &mut String, change: &ResourceChange, palette: &Palette) {
    let symbol = change.action.symbol();
    let _ = writeln!(out, "  {}", palette.bold.apply_to(headline(change)));
    for cause in &change.replace_causes {
        let _ = writeln!(
            out,
            "  #   `{}` forces replacement: {}",
            cause.path_text(),
            cause.reason
        );
    }
    if change.action == Action::CreateThenDelete {
        let _ = writeln!(
            out,
            "  #   the new object is created before the old one is destroyed"
        );
    }
    for note in &change.notes {
        let _ = writeln!(out, "  #   {note}");
    }
    let _ = writeln!(
        out,
        "{:>3} {}",
        palette.for_symbol(&symbol[..1]).apply_to(symbol),
        palette.bold.apply_to(&change.address)
    );
    let mut rows = Vec::new();
    flatten(
        change.before.as_ref(),
        change.after.as_ref(),
        &mut Vec::new(),
        false,
        &mut rows,
    );
    let width = rows
        .iter()
        .filter(|row| row_symbol(row, change.action).is_some())
        .map(|row| path_to_string(&row.path).len())
        .max()
        .unwrap_or(0);
    let mut n_unchanged = 0;
    let mut n_rendered = 0;
    for row in &rows {
        let Some(row_mark) = row_symbol(row, change.action) else {
            let present =
                |value: &Option<Value>| value.as_ref().is_some_and(|value| !value.is_null());
            if present(&row.before) && present(&row.after) {
                n_unchanged += 1;
            }
            continue;
        };
        let forces = change
            .replace_causes
            .iter()
            .any(|cause| cause.path == row.path);
        render_row(out, row, row_mark, width, forces, palette);
        n_rendered += 1;
    }
    if n_rendered == 0 && change.action == Action::Update {
        render_hidden_changes(out, change, palette);
    }
    if n_unchanged > 0 && change.action != Action::Delete {
        let noun = if n_unchanged == 1 {
            "attribute"
        } else {
            "attributes"
        };
        let _ = writeln!(
            out,
            "        {}",
            palette
                .dim
                .apply_to(format!("({n_unchanged} unchanged {noun} hidden)"))
        );
    }
}

/// An update whose rows all look unchanged (a secret that went from unset to set, say) still
/// says what changes: one line per changed path, its value redacted when it is a secret.
fn render_hidden_changes(out: &mut String, change: &ResourceChange, palette: &Palette) {
    let (before, after) = (
        change.before.clone().unwrap_or_default(),
        change.after.clone().unwrap_or_default(),
    );
    let style = palette.for_symbol("~");
    for path in crate::value::changed_paths(&before, &after) {
        let parsed = crate::value::path_from_string(&path);
        let secret = [&before, &after].iter().any(|value| {
            value
                .get_path(&parsed)
                .is_some_and(|value| value.is_sensitive() || !value.sensitive_paths().is_empty())
        }) || is_sensitive_path(&before, &parsed)
            || is_sensitive_path(&after, &parsed);
        let shown = if secret { SENSITIVE } else { "(changed)" };
        let _ = writeln!(out, "      {} {path} = {shown}", style.apply_to("~"));
    }
}

/// True when any value on the way to `path` is marked sensitive.
fn is_sensitive_path(value: &Value, path: &[crate::value::PathSeg]) -> bool {
    (0..=path.len()).any(|depth| {
        value
            .get_path(&path[..depth])
            .is_some_and(|value| value.is_sensitive())
    })
}

/// `+`, `-`, `~`, or `None` for an unchanged row.
fn row_symbol(row: &Row, action: Action) -> Option<&'static str> {
    let present = |value: &Option<Value>| value.as_ref().is_some_and(|value| !value.is_null());
    match action {
        Action::Create => present(&row.after).then_some("+"),
        Action::Delete => present(&row.before).then_some("-"),
        _ => match (present(&row.before), present(&row.after)) {
            (false, false) => None,
            (false, true) => Some("+"),
            (true, false) => Some("-"),
            (true, true) => {
                let (Some(before), Some(after)) = (&row.before, &row.after) else {
                    return None;
                };
                (!before.same_data(after)).then_some("~")
            }
        },
    }
}

fn render_row(
    out: &mut String,
    row: &Row,
    mark: &str,
    width: usize,
    forces: bool,
    palette: &Palette,
) {
    let name = path_to_string(&row.path);
    let style = palette.for_symbol(mark);
    let suffix = if forces { "  # forces replacement" } else { "" };
    let shown = |value: &Option<Value>| -> String {
        match value {
            Some(value) if row.sensitive && value.is_unknown() => {
                "(sensitive value, known after apply)".to_string()
            }
            _ if row.sensitive => SENSITIVE.to_string(),
            Some(value) => scalar(value),
            None => "null".to_string(),
        }
    };
    let lines_of = |value: &Option<Value>| {
        value
            .as_ref()
            .and_then(|value| multiline(value, row.sensitive))
    };
    if mark == "~"
        && let (Some(old_lines), Some(new_lines)) = (lines_of(&row.before), lines_of(&row.after))
    {
        let (open, close) = if matches!(
            row.after.as_ref().map(Value::unmarked),
            Some(Value::List(_))
        ) {
            ("[", "]")
        } else {
            ("<<-EOT", "EOT")
        };
        let _ = writeln!(
            out,
            "      {} {name:width$} = {open}{suffix}",
            style.apply_to("~")
        );
        let old_refs: Vec<&str> = old_lines.iter().map(String::as_str).collect();
        let new_refs: Vec<&str> = new_lines.iter().map(String::as_str).collect();
        let diff = TextDiff::from_slices(&old_refs, &new_refs);
        for line in diff.iter_all_changes() {
            let (sign, line_style) = match line.tag() {
                ChangeTag::Equal => (" ", &palette.dim),
                ChangeTag::Delete => ("-", &palette.remove),
                ChangeTag::Insert => ("+", &palette.add),
            };
            let _ = writeln!(
                out,
                "          {} {}",
                line_style.apply_to(sign),
                line.value()
            );
        }
        let _ = writeln!(out, "        {close}");
        return;
    }
    // A long list or a multi-line string added or removed whole: one item per line.
    let whole = match mark {
        "+" => Some(&row.after),
        "-" => Some(&row.before),
        _ => None,
    };
    if let Some(side) = whole
        && let Some(lines) = lines_of(side)
        && (lines.len() > 3 || lines.iter().map(String::len).sum::<usize>() > 60)
    {
        let is_list = matches!(side.as_ref().map(Value::unmarked), Some(Value::List(_)));
        let (open, close) = if is_list {
            ("[", "]")
        } else {
            ("<<-EOT", "EOT")
        };
        let _ = writeln!(
            out,
            "      {} {name:width$} = {open}{suffix}",
            style.apply_to(mark)
        );
        for line in &lines {
            let _ = writeln!(out, "            {line}");
        }
        let _ = writeln!(out, "        {close}");
        return;
    }
    let text = match mark {
        "+" => shown(&row.after),
        "-" => shown(&row.before),
        _ if row.sensitive && row.after.as_ref().is_some_and(Value::is_unknown) => {
            format!("{SENSITIVE} -> {UNKNOWN}")
        }
        _ if row.sensitive => format!("{SENSITIVE}  # value changed"),
        _ => format!("{} -> {}", shown(&row.before), shown(&row.after)),
    };
    let _ = writeln!(
        out,
        "      {} {name:width$} = {text}{suffix}",
        style.apply_to(mark)
    );
}

/// A one-line rendering of a leaf value.
fn scalar(value: &Value) -> String {
    match value {
        Value::Sensitive(_) => SENSITIVE.into(),
        Value::Unknown => UNKNOWN.into(),
        Value::String(text) if text.contains('\n') => {
            format!("<<-EOT ({} lines)", text.lines().count())
        }
        Value::String(text) => format!("{text:?}"),
        Value::List(items) => {
            let shown: Vec<String> = items.iter().map(scalar).collect();
            format!("[{}]", shown.join(", "))
        }
        Value::Map(map) if map.is_empty() => "{}".into(),
        other => other.to_string(),
    }
}

/// Lines for a line-by-line diff: a list of scalars, or a multi-line string.
fn multiline(value: &Value, sensitive: bool) -> Option<Vec<String>> {
    if sensitive {
        return None;
    }
    match value {
        Value::List(items) if items.iter().all(is_scalar) => Some(
            items
                .iter()
                .map(|item| format!("{},", scalar(item)))
                .collect(),
        ),
        Value::String(text) if text.contains('\n') => {
            Some(text.lines().map(String::from).collect())
        }
        _ => None,
    }
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::List(_) | Value::Map(_))
}

/// Leaves of both sides, walking maps and lists of maps by path; lists of scalars and empty
/// containers are leaves.
fn flatten(
    before: Option<&Value>,
    after: Option<&Value>,
    at: &mut Path,
    sensitive: bool,
    rows: &mut Vec<Row>,
) {
    let sensitive = sensitive
        || before.is_some_and(Value::is_sensitive)
        || after.is_some_and(Value::is_sensitive);
    let before_inner = before.map(Value::unmarked);
    let after_inner = after.map(Value::unmarked);
    let is_branch = |value: Option<&Value>| match value {
        Some(Value::Map(map)) => !map.is_empty(),
        Some(Value::List(items)) => !items.is_empty() && !items.iter().all(is_scalar),
        _ => false,
    };
    if !sensitive && (is_branch(before_inner) || is_branch(after_inner)) {
        let both_lists = matches!(
            (before_inner, after_inner),
            (Some(Value::List(_)) | None, Some(Value::List(_)) | None)
        );
        let both_maps = matches!(
            (before_inner, after_inner),
            (
                Some(Value::Map(_)) | None | Some(Value::Null),
                Some(Value::Map(_)) | None | Some(Value::Null)
            )
        );
        if both_maps {
            let empty = std::collections::BTreeMap::new();
            let left = before_inner.and_then(Value::as_map).unwrap_or(&empty);
            let right = after_inner.and_then(Value::as_map).unwrap_or(&empty);
            let keys: std::collections::BTreeSet<&String> =
                left.keys().chain(right.keys()).collect();
            for key in keys {
                at.push(PathSeg::Key(key.clone()));
                flatten(left.get(key), right.get(key), at, sensitive, rows);
                at.pop();
            }
            return;
        }
        if both_lists {
            let empty = Vec::new();
            let left = before_inner.and_then(Value::as_list).unwrap_or(&empty);
            let right = after_inner.and_then(Value::as_list).unwrap_or(&empty);
            for idx in 0..left.len().max(right.len()) {
                at.push(PathSeg::Index(idx));
                flatten(left.get(idx), right.get(idx), at, sensitive, rows);
                at.pop();
            }
            return;
        }
    }
    rows.push(Row {
        path: at.clone(),
        before: before.cloned(),
        after: after.cloned(),
        sensitive,
    });
}

fn render_outputs(out: &mut String, plan: &Plan, palette: &Palette) {
    let changed: Vec<_> = plan
        .output_changes
        .iter()
        .filter(|output| match (&output.before, &output.after) {
            (Some(before), Some(after)) => !before.same_data(after),
            (None, None) => false,
            _ => true,
        })
        .collect();
    if changed.is_empty() {
        return;
    }
    out.push_str("\nChanges to outputs:\n");
    let width = changed
        .iter()
        .map(|output| output.name.len())
        .max()
        .unwrap_or(0);
    for output in changed {
        let show = |value: &Value| {
            if output.sensitive || value.contains_sensitive() {
                SENSITIVE.to_string()
            } else {
                scalar(value)
            }
        };
        let (mark, text) = match (&output.before, &output.after) {
            (None, Some(after)) => ("+", show(after)),
            (Some(before), None) => ("-", show(before)),
            (Some(_), Some(after)) if output.sensitive => {
                ("~", format!("{}  # value changed", show(after)))
            }
            (Some(before), Some(after)) => ("~", format!("{} -> {}", show(before), show(after))),
            (None, None) => continue,
        };
        let _ = writeln!(
            out,
            "  {} {:width$} = {text}",
            palette.for_symbol(mark).apply_to(mark),
            output.name
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::Address;

    fn update(before: Value, after: Value) -> ResourceChange {
        ResourceChange {
            address: Address::new("azure_container_group", "etcd"),
            action: Action::Update,
            action_reason: None,
            replace_causes: Vec::new(),
            notes: vec!["updates in place: restarts every container of the group".into()],
            prior_id: Some("/id".into()),
            before: Some(before),
            after: Some(after),
            dependencies: Vec::new(),
            create_before_destroy: false,
            deposed: false,
        }
    }

    #[test]
    fn an_update_whose_only_change_is_a_secret_still_shows_a_line() {
        // ARM held a secure variable fk cannot read back (a sensitive null); the module no
        // longer sets it: every row looks unchanged, yet the group is updated.
        let secret_held = Value::Map(
            [("REF".to_string(), Value::Null.sensitive())]
                .into_iter()
                .collect(),
        );
        let before = Value::Map(
            [
                ("name".to_string(), Value::str("fk-etcd")),
                ("secure_env".to_string(), secret_held),
            ]
            .into_iter()
            .collect(),
        );
        let after = Value::Map(
            [("name".to_string(), Value::str("fk-etcd"))]
                .into_iter()
                .collect(),
        );
        let mut out = String::new();
        render_change(&mut out, &update(before, after), &Palette::new(false));
        assert!(
            out.contains("~ secure_env.REF = (sensitive value)")
                || out.contains("~ secure_env = (sensitive value)"),
            "{out}"
        );
        assert!(!out.contains("hunter2"));
    }
}

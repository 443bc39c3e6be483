//! `make bench`: speed and memory of the real binary on generated modules of `data`
//! resources, in two shapes (long dependency chains; wide fan-out), at 1,000, 10,000 and
//! 50,000 resources. For each: plan from empty state (`--refresh=false`), apply from empty
//! (durable state), and the no-change plan after it. Prints wall time and peak memory; asserts
//! nothing (machines are shared and noisy).
//!
//! Usage: `fk-bench [--sizes 1000,10000,50000] [--fk target/release/fk]`

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Clone, Copy)]
enum Shape {
    /// Chains of 1,000 resources, each depending on the one before.
    Chains,
    /// One root; every other resource depends on it.
    FanOut,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Chains => "chains",
            Shape::FanOut => "fan-out",
        }
    }
}

fn module(shape: Shape, n_resources: usize) -> String {
    let mut text = String::with_capacity(n_resources * 80);
    for idx in 0..n_resources {
        let _ = writeln!(text, "[resource.data.r{idx}]");
        let parent = match shape {
            Shape::Chains if idx % 1000 != 0 => Some(idx - 1),
            Shape::FanOut if idx != 0 => Some(0),
            _ => None,
        };
        match parent {
            Some(parent) => {
                // `id` keeps every value the same size (an `output` chain would grow each string).
                let _ = writeln!(text, "input = \"${{data.r{parent}.id}}-{idx}\"\n");
            }
            None => {
                let _ = writeln!(text, "input = \"root-{idx}\"\n");
            }
        }
    }
    text
}

struct Measure {
    wall: Duration,
    peak_rss_mb: f64,
    exit: i32,
}

/// Runs fk and measures it with wait4 (this child's own peak resident set).
// The child is reaped by `wait4`, which std cannot do, so clippy cannot see the wait.
#[allow(clippy::zombie_processes)]
fn run(fk: &Path, dir: &Path, args: &[&str]) -> Measure {
    let started = Instant::now();
    let child = Command::new(fk)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot run {}: {err}", fk.display()));
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills; the pid is our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    let exit = if waited == pid && libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Measure {
        wall,
        peak_rss_mb: usage.ru_maxrss as f64 / 1024.0,
        exit,
    }
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|model| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown cpu".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .next()
                .map(|line| line.split_whitespace().nth(1).unwrap_or("0").to_string())
        })
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| format!("{:.0} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_default();
    format!("{cpus} cpus ({model}), {memory}")
}

fn main() {
    let mut sizes = vec![1_000usize, 10_000, 50_000];
    let mut fk = PathBuf::from("target/release/fk");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--sizes" => {
                sizes = args
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .filter_map(|size| size.trim().parse().ok())
                    .collect();
            }
            "--fk" => fk = PathBuf::from(args.next().unwrap_or_default()),
            other => {
                eprintln!("unknown argument `{other}`");
                std::process::exit(1);
            }
        }
    }
    let fk = fk.canonicalize().unwrap_or(fk);
    println!("fk-bench on {}", machine());
    println!(
        "{:<8} {:>7}  {:>22}  {:>22}  {:>22}",
        "shape", "n", "plan (empty state)", "apply (from empty)", "no-change plan"
    );
    for shape in [Shape::Chains, Shape::FanOut] {
        for &n_resources in &sizes {
            let dir = tempfile_dir(shape, n_resources);
            let module_dir = dir.join("bench");
            std::fs::create_dir_all(&module_dir).expect("bench dir");
            std::fs::write(module_dir.join("main.toml"), module(shape, n_resources))
                .expect("module");
            let plan = run(&fk, &dir, &["plan", "bench", "--refresh=false"]);
            let apply = run(
                &fk,
                &dir,
                &["apply", "bench", "--auto-approve", "--refresh=false"],
            );
            let replan = run(&fk, &dir, &["plan", "bench", "--detailed-exitcode"]);
            let cell = |measure: &Measure, expected: i32| {
                let flag = if measure.exit == expected {
                    ""
                } else {
                    " (exit!)"
                };
                format!(
                    "{:>7.3}s {:>7.1} MB{flag}",
                    measure.wall.as_secs_f64(),
                    measure.peak_rss_mb
                )
            };
            println!(
                "{:<8} {:>7}  {:>22}  {:>22}  {:>22}",
                shape.name(),
                n_resources,
                cell(&plan, 0),
                cell(&apply, 0),
                cell(&replan, 0)
            );
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

fn tempfile_dir(shape: Shape, n_resources: usize) -> PathBuf {
    std::env::temp_dir().join(format!(
        "fk-bench-{}-{}-{n_resources}",
        std::process::id(),
        shape.name()
    ))
}

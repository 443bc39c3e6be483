//! `make bench`: speed and memory of the real binary on generated modules of `data`
//! resources, in two shapes (long dependency chains; wide fan-out), at 1,000, 10,000 and
//! 50,000 resources. For each: plan from empty state (`--refresh=false`), apply from empty
//! (durable state), and the no-change plan after it. Prints wall time and peak memory; asserts
//! nothing (machines are shared and noisy).
//!
//! Then, against the emulator (in process, over real HTTP): the apply of
//! `modules/frankenetes` with a provisioning delay per operation, against its critical path;
//! and the refresh of 1,000 container groups with 20 ms latency per call at parallelism 10,
//! against its ideal.
//!
//! Usage: `fk-bench [--sizes 1000,10000,50000] [--fk target/release/fk] [--skip-engine]`

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
            "--skip-engine" => sizes.clear(),
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
    emulator_benches(&fk);
}

const REGIONS: [&str; 10] = [
    "westeurope",
    "northeurope",
    "eastus",
    "eastus2",
    "westus",
    "westus2",
    "uksouth",
    "francecentral",
    "japaneast",
    "australiaeast",
];

/// `n_groups` small container groups spread over ten regions (the emulator enforces the
/// 100-core quota per region, as Azure does).
fn groups_module(n_groups: usize) -> String {
    let mut text = String::from(
        "[resource.azure_resource_group.bench]\nname = \"bench\"\nlocation = \"westeurope\"\n\n",
    );
    for idx in 0..n_groups {
        let region = REGIONS[idx % REGIONS.len()];
        let _ = write!(
            text,
            "[resource.azure_container_group.g{idx}]\nname = \"g{idx}\"\nresource_group = \"${{azure_resource_group.bench.name}}\"\nlocation = \"{region}\"\n\n[[resource.azure_container_group.g{idx}.containers]]\nname = \"c\"\nimage = \"busybox:1.36\"\ncpu = 0.5\nmemory_gb = 0.5\n\n"
        );
    }
    text
}

fn run_with_endpoint(fk: &Path, dir: &Path, endpoint: &str, args: &[&str]) -> (Duration, i32) {
    let started = Instant::now();
    let status = Command::new(fk)
        .args(args)
        .current_dir(dir)
        .env("FK_ARM_ENDPOINT", endpoint)
        .env(
            "AZURE_SUBSCRIPTION_ID",
            "00000000-0000-0000-0000-000000000000",
        )
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|status| status.code().unwrap_or(-1))
        .unwrap_or(-1);
    (started.elapsed(), status)
}

fn emulator_benches(fk: &Path) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let repo = std::env::current_dir().expect("cwd");

    // 1. modules/frankenetes with a provisioning delay D per operation. The critical path is
    //    storage account → etcd → apiserver → (controller-manager | scheduler | kubelet):
    //    four delays.
    let delay = Duration::from_secs(3);
    let emulator = runtime
        .block_on(fk::emulator::start(fk::emulator::EmulatorConfig {
            provisioning_delay: delay,
            ..Default::default()
        }))
        .expect("emulator");
    let dir = std::env::temp_dir().join(format!("fk-bench-frankenetes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let module = repo.join("modules/frankenetes");
    let (wall, exit) = run_with_endpoint(
        fk,
        &dir,
        &emulator.base_url,
        &["apply", module.to_str().unwrap_or(""), "--auto-approve"],
    );
    let critical = delay * 4;
    println!(
        "frankenetes apply on the emulator, {}s per operation: {:.2}s wall, critical path {:.0}s, ratio {:.3} (target <= 1.15){}",
        delay.as_secs(),
        wall.as_secs_f64(),
        critical.as_secs_f64(),
        wall.as_secs_f64() / critical.as_secs_f64(),
        if exit == 0 { "" } else { " (exit!)" }
    );
    runtime.block_on(emulator.shutdown());
    let _ = std::fs::remove_dir_all(&dir);

    // 2. Refresh of 1,000 container groups, 20 ms per call, parallelism 10: ideal 2 s.
    let n_groups = 1000;
    let emulator = runtime
        .block_on(fk::emulator::start(fk::emulator::EmulatorConfig {
            provisioning_delay: Duration::from_millis(0),
            ..Default::default()
        }))
        .expect("emulator");
    let dir = std::env::temp_dir().join(format!("fk-bench-refresh-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("groups")).expect("dir");
    std::fs::write(dir.join("groups/main.toml"), groups_module(n_groups)).expect("module");
    let (setup, exit) = run_with_endpoint(
        fk,
        &dir,
        &emulator.base_url,
        &["apply", "groups", "--auto-approve", "--parallelism", "50"],
    );
    if exit != 0 {
        println!(
            "refresh bench: creating {n_groups} groups failed (exit {exit}) after {:.1}s",
            setup.as_secs_f64()
        );
    }
    emulator.set_faults(fk::emulator::FaultConfig {
        latency_ms: 20,
        ..Default::default()
    });
    let (wall, exit) = run_with_endpoint(
        fk,
        &dir,
        &emulator.base_url,
        &[
            "plan",
            "groups",
            "--parallelism",
            "10",
            "--detailed-exitcode",
        ],
    );
    let ideal = Duration::from_millis(20) * n_groups as u32 / 10;
    println!(
        "refresh of {n_groups} container groups, 20 ms per call, parallelism 10: {:.2}s wall, ideal {:.1}s, ratio {:.3} (target <= 1.3){}",
        wall.as_secs_f64(),
        ideal.as_secs_f64(),
        wall.as_secs_f64() / ideal.as_secs_f64(),
        if exit == 0 { "" } else { " (exit!)" }
    );
    runtime.block_on(emulator.shutdown());
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir(shape: Shape, n_resources: usize) -> PathBuf {
    std::env::temp_dir().join(format!(
        "fk-bench-{}-{}-{n_resources}",
        std::process::id(),
        shape.name()
    ))
}

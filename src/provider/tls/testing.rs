//! Test helpers: run the system's `openssl` on PEM text, the way an operator would check
//! what fk made.

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `openssl ARGS` with `input` on stdin; returns stdout and stderr together.
/// Panics (a test failure) when openssl cannot run or exits non-zero.
pub(crate) fn openssl(args: &[&str], input: &str) -> String {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())
        .expect("openssl reads its input");
    let output = child.wait_with_output().expect("openssl finishes");
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "openssl {args:?} failed: {shown}");
    shown
}

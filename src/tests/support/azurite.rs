//! Azurite, Microsoft's storage emulator, started for one test on a free loopback port and
//! killed when the test ends. Missing Azurite fails the test with how to install it.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The emulator's development account and its documented key.
pub const ACCOUNT: &str = "devstoreaccount1";
pub const ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

const INSTALL_HINT: &str = "azurite-blob was not found: install it with `npm --prefix .ci install --no-save azurite@3.35.0` (Node 20; `.ci/run` does this), or put `azurite-blob` on PATH";

pub struct Azurite {
    child: Child,
    pub port: u16,
    _workdir: tempfile::TempDir,
}

impl Azurite {
    pub fn start() -> Azurite {
        let program = find_azurite().unwrap_or_else(|| panic!("{INSTALL_HINT}"));
        let port = super::free_port();
        let workdir = tempfile::tempdir().expect("a temp dir for azurite");
        let child = Command::new(&program)
            .args(["--blobHost", "127.0.0.1", "--blobPort"])
            .arg(port.to_string())
            .args(["--inMemoryPersistence", "--skipApiVersionCheck", "--silent"])
            .current_dir(workdir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start {}: {error}\n{INSTALL_HINT}",
                    program.display()
                )
            });
        let azurite = Azurite {
            child,
            port,
            _workdir: workdir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "azurite did not answer on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        azurite
    }

    /// The path-style endpoint of the development account.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{ACCOUNT}", self.port)
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `.ci/node_modules/.bin`, `node_modules/.bin` in the repository, then PATH.
fn find_azurite() -> Option<PathBuf> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        repo.join(".ci/node_modules/.bin/azurite-blob"),
        repo.join("node_modules/.bin/azurite-blob"),
    ];
    if let Some(found) = candidates.into_iter().find(|path| path.is_file()) {
        return Some(found);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("azurite-blob"))
        .find(|candidate| candidate.is_file())
}

//! Why an emulator could not start or keep its world.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why an emulator could not start or keep its world.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot listen on `{addr}`: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot read the world file `{path}`: {source}")]
    ReadWorld {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the world file `{path}` is not a valid emulator world: {source}")]
    ParseWorld {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write the world file `{path}`: {source}")]
    WriteWorld {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot load the specification `{path}`: {message}")]
    Spec { path: PathBuf, message: String },
    #[error("the emulator server failed: {0}")]
    Serve(std::io::Error),
}

//! The local ARM-compatible Azure emulator.

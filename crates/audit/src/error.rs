//! Errors of the audit crate that are not findings about the log itself.
//!
//! A tampered log is reported as [`crate::Tampered`], never as an [`AuditError`]: an
//! `AuditError` means the audit machinery could not do its job (key file unreadable,
//! checkpoint file malformed, no OS randomness), which callers handle differently.

use std::path::PathBuf;

/// Why a key, checkpoint or encoding operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// Reading or writing a key or checkpoint file failed.
    #[error("audit: cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. "read key file".
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The key file exists but does not hold a valid SM2 secret key.
    #[error("audit: key file {} is invalid: {reason}", path.display())]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A hex string (hash, tag, public key) could not be decoded.
    #[error("audit: invalid {what}: {reason}")]
    InvalidEncoding {
        /// What was being decoded, e.g. "hash".
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A checkpoint line could not be parsed.
    #[error("audit: checkpoint {location}is malformed: {reason}")]
    CheckpointLine {
        /// "file F line N " when read from a file, empty otherwise.
        location: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A checkpoint cannot be created from the given values.
    #[error("audit: cannot create checkpoint: {0}")]
    InvalidCheckpoint(String),
    /// The operating system's random number generator failed.
    #[error("audit: OS randomness unavailable: {0}")]
    Randomness(String),
    /// SM2 signing failed (should not happen with a valid key).
    #[error("audit: SM2 signing failed")]
    Signing,
}

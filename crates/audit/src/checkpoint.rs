//! Signed checkpoints and the checkpoint file kept outside the database.
//!
//! A checkpoint states "record `seq` of the log has chain hash `head`", signed with SM2 at
//! time `at`. Kept in a plain append-only text file next to (not inside) the database, it
//! lets a verifier holding only the public key detect a chain that was rewritten and
//! re-hashed, and a log whose newest records were cut off.
//!
//! File format: one checkpoint per line, `seq head_hex at sig_hex`, separated by single
//! spaces. The signed message is `"YSCKPT1" || field(seq as 8-byte i64) || field(head) ||
//! field(at)` with the same length-prefixed fields as the record encoding.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::AuditError;
use crate::record::{Hash, put_field};

/// Version tag of the signed checkpoint message.
const CHECKPOINT_VERSION: &[u8; 7] = b"YSCKPT1";

/// A signed statement that record `seq` of the log has chain hash `head`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The record the checkpoint covers (all records up to and including it).
    pub seq: i64,
    /// The chain hash of record `seq`.
    pub head: Hash,
    /// When the checkpoint was signed (RFC 3339, no whitespace).
    pub at: String,
    /// SM2 signature, `r || s` (64 bytes).
    pub signature: Vec<u8>,
}

/// The bytes an SM2 checkpoint signature covers.
pub(crate) fn checkpoint_message(seq: i64, head: &Hash, at: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(CHECKPOINT_VERSION.len() + 12 + 36 + 4 + at.len());
    out.extend_from_slice(CHECKPOINT_VERSION);
    put_field(&mut out, &seq.to_be_bytes());
    put_field(&mut out, &head.0);
    put_field(&mut out, at.as_bytes());
    out
}

/// Rejects values that could not be written as one checkpoint line and read back.
pub(crate) fn validate_checkpoint_fields(seq: i64, at: &str) -> Result<(), String> {
    if seq < 0 {
        return Err(format!("sequence number {seq} is negative"));
    }
    if at.is_empty() {
        return Err("timestamp is empty".to_owned());
    }
    if at.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("timestamp {at:?} contains whitespace"));
    }
    Ok(())
}

impl Checkpoint {
    /// One line of text, without a newline: `seq head_hex at sig_hex`.
    pub fn to_line(&self) -> String {
        format!("{} {} {} {}", self.seq, self.head.to_hex(), self.at, hex::encode(&self.signature))
    }

    /// Parses a line written by [`Checkpoint::to_line`] (surrounding whitespace ignored).
    ///
    /// Only the syntax is checked here; the signature is checked by
    /// [`crate::PublicKey::verify_checkpoint`].
    pub fn parse_line(line: &str) -> Result<Checkpoint, AuditError> {
        parse_line_at(line, String::new())
    }
}

fn parse_line_at(line: &str, location: String) -> Result<Checkpoint, AuditError> {
    let bad = |reason: String| AuditError::CheckpointLine { location: location.clone(), reason };
    let parts: Vec<&str> = line.split_whitespace().collect();
    let [seq, head, at, sig] = parts.as_slice() else {
        return Err(bad(format!(
            "expected 4 space-separated fields (seq head at signature), found {}",
            parts.len()
        )));
    };
    let seq: i64 = seq.parse().map_err(|_| bad(format!("sequence number {seq:?} is not an integer")))?;
    let head = Hash::from_hex(head).map_err(|e| bad(e.to_string()))?;
    validate_checkpoint_fields(seq, at).map_err(&bad)?;
    let signature = hex::decode(sig).map_err(|e| bad(format!("signature is not hex: {e}")))?;
    Ok(Checkpoint { seq, head, at: (*at).to_owned(), signature })
}

/// The file of checkpoints kept outside the database.
#[derive(Debug, Clone)]
pub struct CheckpointLog {
    path: PathBuf,
}

impl CheckpointLog {
    /// A checkpoint log at `path` (the file is created on first append).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CheckpointLog { path: path.into() }
    }

    /// The file this log reads and appends.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one checkpoint line and fsyncs, so a checkpoint reported as written survives
    /// a crash. Parent directories are created.
    pub fn append(&self, checkpoint: &Checkpoint) -> Result<(), AuditError> {
        let io = |action: &'static str| {
            let path = self.path.clone();
            move |source| AuditError::Io { action, path, source }
        };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(io("create directory for checkpoint file"))?;
        }
        let mut file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.path)
            .map_err(io("open checkpoint file"))?;
        // One write call for the whole line: with O_APPEND concurrent appenders cannot
        // interleave inside a line.
        let line = format!("{}\n", checkpoint.to_line());
        file.write_all(line.as_bytes()).map_err(io("append to checkpoint file"))?;
        file.sync_all().map_err(io("sync checkpoint file"))
    }

    /// Every checkpoint in file order. A missing file is an empty log (no checkpoint was
    /// written yet); blank lines are skipped; any malformed line is an error, because a
    /// checkpoint file that cannot be read completely must not pass as intact.
    pub fn read_all(&self) -> Result<Vec<Checkpoint>, AuditError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(AuditError::Io {
                    action: "read checkpoint file",
                    path: self.path.clone(),
                    source,
                });
            }
        };
        text.lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| {
                let location = format!("file {} line {} ", self.path.display(), i + 1);
                parse_line_at(line, location)
            })
            .collect()
    }
}

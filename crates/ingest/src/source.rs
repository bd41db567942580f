//! Byte-level readers of the source: counting (size limit, SM3 digest of the bytes as received,
//! progress) and streaming GB18030 → UTF-8 decoding that reports the line of a bad sequence.
//!
//! Faults are carried through `std::io::Error` (the CSV parser only speaks io) as a
//! [`SourceFault`] payload and recovered with [`SourceFault::of`].

use std::fmt;
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use encoding_rs::{DecoderResult, GB18030};
use sm3::{Digest, Sm3};

use crate::error::ImportError;

/// A fault detected below the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFault {
    /// More than the limit was read.
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// An undecodable byte sequence on this line.
    Undecodable {
        /// Line (1-based).
        line: u64,
    },
}

impl fmt::Display for SourceFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceFault::TooLarge { limit } => write!(f, "source larger than {limit} bytes"),
            SourceFault::Undecodable { line } => write!(f, "undecodable text at line {line}"),
        }
    }
}

impl std::error::Error for SourceFault {}

impl SourceFault {
    fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }

    /// The fault carried by an io error, if any.
    pub fn of(error: &io::Error) -> Option<SourceFault> {
        error.get_ref().and_then(|e| e.downcast_ref::<SourceFault>()).copied()
    }
}

/// Converts an io error into an import error, recovering a carried fault.
pub fn import_error(error: &io::Error) -> ImportError {
    match SourceFault::of(error) {
        Some(SourceFault::TooLarge { limit }) => ImportError::TooLarge { limit },
        Some(SourceFault::Undecodable { line }) => ImportError::UndecodableText { line },
        None => ImportError::Io(error.to_string()),
    }
}

/// Byte count and running SM3 digest of a source, shared between the reading thread and the
/// progress reporter.
#[derive(Debug)]
pub struct SourceState {
    count: AtomicU64,
    hasher: Mutex<Sm3>,
}

impl Default for SourceState {
    fn default() -> Self {
        SourceState { count: AtomicU64::new(0), hasher: Mutex::new(Sm3::new()) }
    }
}

impl SourceState {
    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Hex SM3 digest of the bytes read so far.
    pub fn digest(&self) -> String {
        let hasher = match self.hasher.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        hex::encode(hasher.finalize())
    }
}

/// Counts and hashes the bytes read, and fails once more than `limit` were read.
pub struct CountingReader<R> {
    inner: R,
    limit: u64,
    state: Arc<SourceState>,
}

impl<R: Read> CountingReader<R> {
    /// Wraps `inner`, recording into `state`.
    pub fn new(inner: R, limit: u64, state: Arc<SourceState>) -> Self {
        CountingReader { inner, limit, state }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let count = self.state.count.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if count > self.limit {
            return Err(SourceFault::TooLarge { limit: self.limit }.into_io());
        }
        match self.state.hasher.lock() {
            Ok(mut hasher) => hasher.update(&buf[..n]),
            Err(poisoned) => poisoned.into_inner().update(&buf[..n]),
        }
        Ok(n)
    }
}

/// Streams GB18030 (GBK) text out as UTF-8; a malformed sequence is a
/// [`SourceFault::Undecodable`] naming its line.
pub struct Gb18030Reader<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    in_start: usize,
    in_end: usize,
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
    eof: bool,
    finished: bool,
    newlines: u64,
}

const DECODE_BUFFER: usize = 64 * 1024;

impl<R: Read> Gb18030Reader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        Gb18030Reader {
            inner,
            decoder: GB18030.new_decoder_without_bom_handling(),
            input: vec![0; DECODE_BUFFER],
            in_start: 0,
            in_end: 0,
            output: vec![0; DECODE_BUFFER * 2],
            out_start: 0,
            out_end: 0,
            eof: false,
            finished: false,
            newlines: 0,
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        while self.out_start == self.out_end && !self.finished {
            if self.in_start == self.in_end && !self.eof {
                let n = self.inner.read(&mut self.input)?;
                self.in_start = 0;
                self.in_end = n;
                self.eof = n == 0;
            }
            let src = &self.input[self.in_start..self.in_end];
            let (result, read, written) =
                self.decoder.decode_to_utf8_without_replacement(src, &mut self.output, self.eof);
            self.in_start += read;
            self.out_start = 0;
            self.out_end = written;
            let newlines = self.output[..written].iter().filter(|&&b| b == b'\n').count() as u64;
            match result {
                DecoderResult::Malformed(..) => {
                    return Err(SourceFault::Undecodable { line: self.newlines + newlines + 1 }.into_io());
                }
                DecoderResult::InputEmpty => {
                    if self.eof {
                        self.finished = true;
                    }
                }
                DecoderResult::OutputFull => {}
            }
            self.newlines += newlines;
        }
        Ok(())
    }
}

impl<R: Read> Read for Gb18030Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.fill()?;
        let n = buf.len().min(self.out_end - self.out_start);
        buf[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
        self.out_start += n;
        Ok(n)
    }
}

#[cfg(test)]
#[path = "source_test.rs"]
mod tests;

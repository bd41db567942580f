//! Errors of the encrypted store.
//!
//! Everything that can go wrong between a key file and a decrypted byte range is one
//! [`VaultError`]. Inside the `ObjectStore` implementation it travels as the `source` of an
//! `object_store::Error::Generic` (store name [`STORE_NAME`]), so callers such as Parquet readers
//! see a clear message ("integrity check failed for chunk 3 of data/x.parquet") rather than
//! garbage plaintext, and code that knows this crate can downcast the source to a `VaultError`.

use std::path::PathBuf;

/// The `store` name used in `object_store::Error::Generic` raised by this crate.
pub const STORE_NAME: &str = "EncryptedStore";

/// Why a key or encryption operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// Reading or writing the key file failed.
    #[error("vault: cannot {action} key file {}: {source}", path.display())]
    KeyFileIo {
        /// What was being done, e.g. "read".
        action: &'static str,
        /// The key file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The key file exists but is not a valid key file.
    #[error("vault: key file {} is malformed: {reason}", path.display())]
    KeyFileMalformed {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The key file can be read by other users (unix permissions other than 0600/0400).
    #[error("vault: key file {} has permissions {mode:o}; it must be readable by its owner only (0600)", path.display())]
    KeyFilePermissions {
        /// The key file.
        path: PathBuf,
        /// The permission bits found.
        mode: u32,
    },
    /// The object was encrypted under a master key the key provider does not hold.
    #[error("vault: master key {key_id} is not available from this key provider (it holds {available})")]
    UnknownKey {
        /// The key id named in the object header.
        key_id: String,
        /// The key ids the provider holds, comma-separated.
        available: String,
    },
    /// The wrapped data key does not authenticate under the named master key.
    #[error(
        "vault: cannot unwrap the data key of {path} with master key {key_id} (wrong key or tampered header)"
    )]
    UnwrapFailed {
        /// The object.
        path: String,
        /// The key id named in the header.
        key_id: String,
    },
    /// The object does not start with an encrypted-object header.
    #[error("vault: {path} is not an encrypted object (bad magic)")]
    NotEncrypted {
        /// The object.
        path: String,
    },
    /// The header names a format version this build does not know.
    #[error("vault: {path} uses unsupported format version {version}")]
    UnsupportedVersion {
        /// The object.
        path: String,
        /// The version byte found.
        version: u8,
    },
    /// The header cannot be parsed or fails its own MAC.
    #[error("vault: header of {path} is invalid: {reason}")]
    HeaderInvalid {
        /// The object.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A chunk failed its MAC: it was edited, moved, truncated or is not the chunk expected there.
    #[error("vault: integrity check failed for chunk {chunk} of {path}")]
    ChunkIntegrity {
        /// The object.
        path: String,
        /// The chunk index.
        chunk: u64,
    },
    /// The stored object size does not fit the chunk layout (truncated or extended).
    #[error("vault: {path} has an invalid size {size} for its chunk layout (truncated or extended)")]
    BadSize {
        /// The object.
        path: String,
        /// The ciphertext size found.
        size: u64,
    },
    /// The inner store returned fewer or more bytes than the chunk layout requires.
    #[error("vault: inner store returned {got} bytes for {path}, expected {expected}")]
    ShortRead {
        /// The object.
        path: String,
        /// Bytes expected.
        expected: u64,
        /// Bytes received.
        got: u64,
    },
    /// The requested plaintext range lies outside the object.
    #[error("vault: invalid range {range} for {path} of {size} bytes")]
    InvalidRange {
        /// The object.
        path: String,
        /// The range requested.
        range: String,
        /// Plaintext size.
        size: u64,
    },
    /// The configuration is invalid (e.g. a chunk size that is not a multiple of 16).
    #[error("vault: invalid configuration: {0}")]
    Config(String),
    /// The operating system's random number generator failed.
    #[error("vault: OS randomness unavailable: {0}")]
    Randomness(String),
}

impl VaultError {
    /// A stable snake_case identifier for the API.
    pub fn code(&self) -> &'static str {
        match self {
            VaultError::KeyFileIo { .. } => "vault_key_file_io",
            VaultError::KeyFileMalformed { .. } => "vault_key_file_malformed",
            VaultError::KeyFilePermissions { .. } => "vault_key_file_permissions",
            VaultError::UnknownKey { .. } => "vault_unknown_key",
            VaultError::UnwrapFailed { .. } => "vault_unwrap_failed",
            VaultError::NotEncrypted { .. } => "vault_not_encrypted",
            VaultError::UnsupportedVersion { .. } => "vault_unsupported_version",
            VaultError::HeaderInvalid { .. } => "vault_header_invalid",
            VaultError::ChunkIntegrity { .. } => "vault_chunk_integrity",
            VaultError::BadSize { .. } => "vault_bad_size",
            VaultError::ShortRead { .. } => "vault_short_read",
            VaultError::InvalidRange { .. } => "vault_invalid_range",
            VaultError::Config(_) => "vault_config",
            VaultError::Randomness(_) => "vault_randomness",
        }
    }

    /// A specific message in Chinese for users.
    pub fn message_zh(&self) -> String {
        match self {
            VaultError::KeyFileIo { path, .. } => format!("无法读写密钥文件 {}", path.display()),
            VaultError::KeyFileMalformed { path, reason } => {
                format!("密钥文件 {} 格式错误：{reason}", path.display())
            }
            VaultError::KeyFilePermissions { path, mode } => {
                format!("密钥文件 {} 的权限为 {mode:o}，只允许文件所有者读写（0600）", path.display())
            }
            VaultError::UnknownKey { key_id, .. } => format!("找不到主密钥 {key_id}，请检查密钥文件配置"),
            VaultError::UnwrapFailed { path, key_id } => {
                format!("无法用主密钥 {key_id} 解开数据对象 {path} 的数据密钥（密钥错误或对象头被篡改）")
            }
            VaultError::NotEncrypted { path } => format!("数据对象 {path} 不是加密对象"),
            VaultError::UnsupportedVersion { path, version } => {
                format!("数据对象 {path} 的加密格式版本 {version} 不受支持")
            }
            VaultError::HeaderInvalid { path, .. } => format!("数据对象 {path} 的对象头无效或被篡改"),
            VaultError::ChunkIntegrity { path, chunk } => {
                format!("数据对象 {path} 的第 {chunk} 个数据块完整性校验失败（可能被篡改）")
            }
            VaultError::BadSize { path, .. } => format!("数据对象 {path} 的长度不正确（可能被截断）"),
            VaultError::ShortRead { path, .. } => format!("读取数据对象 {path} 时返回的字节数不正确"),
            VaultError::InvalidRange { path, .. } => format!("请求的数据对象 {path} 字节范围无效"),
            VaultError::Config(_) => "加密存储配置无效".to_string(),
            VaultError::Randomness(_) => "系统随机数生成器不可用".to_string(),
        }
    }

    /// Wraps the error for the `object_store` API.
    pub fn into_store_error(self) -> object_store::Error {
        object_store::Error::Generic { store: STORE_NAME, source: Box::new(self) }
    }
}

impl From<VaultError> for object_store::Error {
    fn from(e: VaultError) -> Self {
        e.into_store_error()
    }
}

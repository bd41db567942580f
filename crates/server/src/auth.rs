//! Credentials: argon2id password hashes, random secrets, TOTP (RFC 6238, for authenticator apps),
//! and the pluggable identity verifier (实名核验).

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use hmac::{Hmac, KeyInit, Mac};
use yunshu_domain::ids::ResidentId;
use yunshu_domain::personnel::IdentityStatus;

use crate::error::AppError;

fn argon2() -> Result<Argon2<'static>, AppError> {
    // OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).map_err(AppError::internal)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

pub fn hash_password(password: &str) -> Result<String, AppError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(AppError::internal)?;
    let hash: PasswordHash =
        argon2()?.hash_password_with_salt(password.as_bytes(), &salt).map_err(AppError::internal)?;
    Ok(hash.to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    argon2().is_ok_and(|a| a.verify_password(password.as_bytes(), hash).is_ok())
}

/// A random secret as hex (sessions, CSRF tokens, API tokens).
pub fn random_hex(bytes: usize) -> Result<String, AppError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(AppError::internal)?;
    Ok(hex::encode(buf))
}

/// Constant-time comparison for secrets.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub fn base32_encode(data: &[u8]) -> String {
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in data {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            let i = ((buffer >> (bits - 5)) & 31) as usize;
            out.push(char::from(BASE32.get(i).copied().unwrap_or(b'A')));
            bits -= 5;
        }
    }
    if bits > 0 {
        let i = ((buffer << (5 - bits)) & 31) as usize;
        out.push(char::from(BASE32.get(i).copied().unwrap_or(b'A')));
    }
    out
}

pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in s.chars().filter(|c| *c != '=' && !c.is_whitespace()) {
        let v = BASE32.iter().position(|b| char::from(*b) == c.to_ascii_uppercase())?;
        buffer = (buffer << 5) | v as u32;
        bits += 5;
        if bits >= 8 {
            out.push(((buffer >> (bits - 8)) & 0xff) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

/// A new TOTP secret (160 bits, base32 as authenticator apps expect).
pub fn new_totp_secret() -> Result<String, AppError> {
    let mut buf = [0u8; 20];
    getrandom::fill(&mut buf).map_err(AppError::internal)?;
    Ok(base32_encode(&buf))
}

/// The 6-digit TOTP code for a time step (RFC 6238 with HMAC-SHA1, 30 s steps — what every
/// authenticator app speaks).
pub fn totp_code(secret_b32: &str, step: u64) -> Option<u32> {
    let key = base32_decode(secret_b32)?;
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&key).ok()?;
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest.get(19)? & 0x0f);
    let slice = digest.get(offset..offset + 4)?;
    let bin = u32::from_be_bytes([slice[0] & 0x7f, slice[1], slice[2], slice[3]]);
    Some(bin % 1_000_000)
}

/// Accepts the code of the current step or one step either side (clock drift).
pub fn totp_check(secret_b32: &str, unix_seconds: i64, code: &str) -> bool {
    let Ok(code) = code.trim().parse::<u32>() else {
        return false;
    };
    let step = (unix_seconds.max(0) as u64) / 30;
    [step.saturating_sub(1), step, step + 1].iter().any(|s| totp_code(secret_b32, *s) == Some(code))
}

/// What an identity verifier said.
#[derive(Debug, Clone)]
pub struct Verification {
    pub status: IdentityStatus,
    pub verifier: String,
    pub detail: String,
}

/// 实名核验: confirms that a name and a resident ID belong together. Production plugs in the
/// provincial or national (公安) service; the default only checks what can be checked offline.
pub trait IdentityVerifier: Send + Sync {
    fn verify(&self, name: &str, id: &ResidentId) -> Verification;
}

/// The default verifier: format, birth date and check character (already guaranteed by
/// [`ResidentId`]), and it says so — it has not asked any authority.
pub struct FormatOnlyVerifier;

impl IdentityVerifier for FormatOnlyVerifier {
    fn verify(&self, _name: &str, id: &ResidentId) -> Verification {
        Verification {
            status: IdentityStatus::Verified,
            verifier: "format-only".into(),
            detail: format!(
                "仅校验了身份证号码格式、出生日期（{}）与校验位；未连接公安实名核验服务",
                id.birth_date()
            ),
        }
    }
}

#[cfg(test)]
#[path = "auth_test.rs"]
mod tests;

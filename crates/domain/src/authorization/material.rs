//! Uploaded materials (申请材料, evidence): a file described by kind, name, media type, size and SM3
//! digest. The bytes live in the object store; the domain checks the description at the edge so a
//! record holding a [`Material`] is known to be acceptable.

use thiserror::Error;

code_enum! {
    /// Kind of application material (Art. 13(1)); the first four are required.
    pub enum MaterialKind {
        DevelopmentPlan => ("development_plan", "应用场景开发利用方案"),
        SecurityCommitment => ("security_commitment", "数据安全承诺书"),
        CreditReport => ("credit_report", "信用状况报告"),
        QualificationProof => ("qualification_proof", "资格证明材料"),
        Other => ("other", "其他材料"),
    }
}

impl MaterialKind {
    /// Kinds every application must include.
    pub const REQUIRED: [MaterialKind; 4] = [
        MaterialKind::DevelopmentPlan,
        MaterialKind::SecurityCommitment,
        MaterialKind::CreditReport,
        MaterialKind::QualificationProof,
    ];
}

/// Accepted extensions and the media types each may be declared with.
const ALLOWED: &[(&str, &[&str])] = &[
    ("pdf", &["application/pdf"]),
    ("doc", &["application/msword"]),
    ("docx", &["application/vnd.openxmlformats-officedocument.wordprocessingml.document"]),
    ("xls", &["application/vnd.ms-excel"]),
    ("xlsx", &["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]),
    ("jpg", &["image/jpeg"]),
    ("jpeg", &["image/jpeg"]),
    ("png", &["image/png"]),
    ("zip", &["application/zip", "application/x-zip-compressed"]),
    ("ofd", &["application/ofd"]),
];

/// A checked material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Material {
    kind: MaterialKind,
    file_name: String,
    media_type: String,
    size: u64,
    sm3_hex: String,
}

impl Material {
    /// Checks a material: a plain file name (no path) with an allowed extension, a media type that
    /// matches it, a size in `1..=max_bytes`, and a 64-digit hex SM3 digest (stored lowercase).
    pub fn new(
        kind: MaterialKind,
        file_name: &str,
        media_type: &str,
        size: u64,
        sm3_hex: &str,
        max_bytes: u64,
    ) -> Result<Material, MaterialError> {
        let file_name = file_name.trim();
        if file_name.is_empty()
            || file_name.len() > 255
            || file_name.contains(['/', '\\', '\0'])
            || file_name.starts_with('.')
        {
            return Err(MaterialError::BadFileName);
        }
        let extension =
            file_name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).unwrap_or_default();
        let Some((_, media_types)) = ALLOWED.iter().find(|(ext, _)| *ext == extension) else {
            return Err(MaterialError::TypeNotAllowed { extension });
        };
        let media_type = media_type.trim().to_ascii_lowercase();
        if !media_types.contains(&media_type.as_str()) {
            return Err(MaterialError::MediaTypeMismatch { extension, media_type });
        }
        if size == 0 {
            return Err(MaterialError::Empty);
        }
        if size > max_bytes {
            return Err(MaterialError::TooLarge { size, max_bytes });
        }
        if sm3_hex.len() != 64 || !sm3_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(MaterialError::BadDigest);
        }
        Ok(Material {
            kind,
            file_name: file_name.to_owned(),
            media_type,
            size,
            sm3_hex: sm3_hex.to_ascii_lowercase(),
        })
    }

    /// Rebuilds a stored material: the same checks except the size limit, which may have been
    /// lowered since the upload.
    pub fn restore(
        kind: MaterialKind,
        file_name: &str,
        media_type: &str,
        size: u64,
        sm3_hex: &str,
    ) -> Result<Material, MaterialError> {
        Material::new(kind, file_name, media_type, size, sm3_hex, u64::MAX)
    }

    pub fn kind(&self) -> MaterialKind {
        self.kind
    }
    pub fn file_name(&self) -> &str {
        &self.file_name
    }
    pub fn media_type(&self) -> &str {
        &self.media_type
    }
    pub fn size(&self) -> u64 {
        self.size
    }
    pub fn sm3_hex(&self) -> &str {
        &self.sm3_hex
    }
}

/// Kinds of `REQUIRED` missing from `materials`, in order.
pub fn missing_required(materials: &[Material]) -> Vec<MaterialKind> {
    MaterialKind::REQUIRED.into_iter().filter(|kind| !materials.iter().any(|m| m.kind == *kind)).collect()
}

/// A rejected material.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MaterialError {
    #[error("the file name must be a plain name")]
    BadFileName,
    #[error("files of type .{extension} are not accepted")]
    TypeNotAllowed { extension: String },
    #[error("media type {media_type} does not match .{extension}")]
    MediaTypeMismatch { extension: String, media_type: String },
    #[error("the file is empty")]
    Empty,
    #[error("the file has {size} bytes, more than {max_bytes}")]
    TooLarge { size: u64, max_bytes: u64 },
    #[error("the SM3 digest must be 64 hex digits")]
    BadDigest,
}

impl MaterialError {
    pub fn code(&self) -> &'static str {
        match self {
            MaterialError::BadFileName => "material.bad_file_name",
            MaterialError::TypeNotAllowed { .. } => "material.type_not_allowed",
            MaterialError::MediaTypeMismatch { .. } => "material.media_type_mismatch",
            MaterialError::Empty => "material.empty",
            MaterialError::TooLarge { .. } => "material.too_large",
            MaterialError::BadDigest => "material.bad_digest",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            MaterialError::BadFileName => "文件名无效（不能为空、不能含路径）".to_owned(),
            MaterialError::TypeNotAllowed { extension } => {
                format!("不接受 .{extension} 类型的文件；仅限 pdf、doc、docx、xls、xlsx、jpg、png、zip、ofd")
            }
            MaterialError::MediaTypeMismatch { extension, media_type } => {
                format!("文件类型 {media_type} 与扩展名 .{extension} 不符")
            }
            MaterialError::Empty => "文件为空".to_owned(),
            MaterialError::TooLarge { size, max_bytes } => {
                format!("文件大小 {:.1} MB 超过上限 {:.1} MB", mib(*size), mib(*max_bytes))
            }
            MaterialError::BadDigest => "文件 SM3 摘要应为 64 位十六进制数".to_owned(),
        }
    }
}

#[allow(clippy::cast_precision_loss)] // display only
fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[cfg(test)]
#[path = "material_test.rs"]
mod tests;

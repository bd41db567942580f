//! Unit tests of `material`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

const SM3: &str = "66C7F0F462EEEDD9D1F2D46BDC10E4E24167C4875CF2F7A2297DA02B8F4BA8E0";
const MAX: u64 = 20 * 1024 * 1024;

#[test]
fn accepts_the_allowed_types() {
    let cases = [
        ("方案.pdf", "application/pdf"),
        ("承诺书.DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("报告.doc", "application/msword"),
        ("清单.xls", "application/vnd.ms-excel"),
        ("清单.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("执照.jpg", "image/jpeg"),
        ("执照.png", "image/png"),
        ("证明.zip", "application/zip"),
        ("公文.ofd", "application/ofd"),
    ];
    for (name, media) in cases {
        let m = Material::new(MaterialKind::Other, name, media, 10, SM3, MAX).unwrap();
        assert_eq!(m.sm3_hex(), SM3.to_ascii_lowercase(), "stored lowercase");
    }
}

#[test]
fn rejects_bad_materials() {
    let cases: [(&str, &str, u64, &str, &str); 7] = [
        ("run.exe", "application/octet-stream", 10, SM3, "material.type_not_allowed"),
        ("方案", "application/pdf", 10, SM3, "material.type_not_allowed"),
        ("方案.pdf", "image/png", 10, SM3, "material.media_type_mismatch"),
        ("../方案.pdf", "application/pdf", 10, SM3, "material.bad_file_name"),
        ("方案.pdf", "application/pdf", 0, SM3, "material.empty"),
        ("方案.pdf", "application/pdf", MAX + 1, SM3, "material.too_large"),
        ("方案.pdf", "application/pdf", 10, "abc", "material.bad_digest"),
    ];
    for (name, media, size, digest, code) in cases {
        let err = Material::new(MaterialKind::Other, name, media, size, digest, MAX).unwrap_err();
        assert_eq!(err.code(), code, "{name} {media} {size}");
        assert!(!err.message_zh().is_empty());
    }
    assert!(Material::new(MaterialKind::Other, "a.pdf", "application/pdf", MAX, SM3, MAX).is_ok());
    let err = Material::new(MaterialKind::Other, "a.pdf", "application/pdf", 30 << 20, SM3, MAX).unwrap_err();
    assert_eq!(err.message_zh(), "文件大小 30.0 MB 超过上限 20.0 MB");
    assert!(Material::restore(MaterialKind::Other, "a.pdf", "application/pdf", 30 << 20, SM3).is_ok());
}

#[test]
fn the_first_four_kinds_are_required() {
    let m = |kind| Material::new(kind, "a.pdf", "application/pdf", 1, SM3, MAX).unwrap();
    let given = vec![m(MaterialKind::DevelopmentPlan), m(MaterialKind::Other), m(MaterialKind::CreditReport)];
    assert_eq!(
        missing_required(&given),
        vec![MaterialKind::SecurityCommitment, MaterialKind::QualificationProof]
    );
}

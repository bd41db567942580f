use super::is_staging;

#[test]
fn staging_names() {
    assert!(is_staging("20261208-ab.parquet.staging-12-34-0"));
    assert!(is_staging("v3.parquet.staging"));
    assert!(is_staging("v3.parquet.staging#17"));
    assert!(is_staging("x.parquet#1"));
    assert!(!is_staging("x.parquet"));
    assert!(!is_staging("x#y.parquet"));
    assert!(!is_staging("x.parquet#"));
}

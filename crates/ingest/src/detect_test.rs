use super::*;

#[test]
fn formats_by_magic_then_name() {
    assert_eq!(SourceFormat::detect("a.csv", b"PK\x03\x04rest"), SourceFormat::Xlsx);
    assert_eq!(SourceFormat::detect("a.bin", b"PAR1...."), SourceFormat::Parquet);
    assert_eq!(SourceFormat::detect("a.txt", b"  {\"a\":1}\n"), SourceFormat::JsonLines);
    assert_eq!(SourceFormat::detect("a.csv", b"a,b\n1,2\n"), SourceFormat::Csv);
    assert_eq!(SourceFormat::detect("A.XLSX", b""), SourceFormat::Xlsx);
}

#[test]
fn encodings() {
    assert_eq!(TextEncoding::detect("姓名,年龄\n".as_bytes()), TextEncoding::Utf8);
    // Cut in the middle of a character: still UTF-8.
    let bytes = "姓名".as_bytes();
    assert_eq!(TextEncoding::detect(&bytes[..4]), TextEncoding::Utf8);
    let (gbk, _, _) = encoding_rs::GBK.encode("姓名,年龄\n");
    assert_eq!(TextEncoding::detect(&gbk), TextEncoding::Gb18030);
}

#[test]
fn delimiters() {
    assert_eq!(detect_delimiter(b"a,b,c\n1,2,3\n"), b',');
    assert_eq!(detect_delimiter(b"a;b;c\n1;2,5;3\n"), b';');
    assert_eq!(detect_delimiter(b"a\tb\n1\t2\n"), b'\t');
    assert_eq!(detect_delimiter(b"a|b\n\"x|y\"|2\n"), b'|');
    assert_eq!(detect_delimiter(b"single\n1\n"), b',');
}

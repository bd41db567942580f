#![allow(clippy::unwrap_used)]
use super::*;

#[test]
fn decodes_gbk_and_names_the_bad_line() {
    let (gbk, _, _) = encoding_rs::GBK.encode("姓名,城市\n张三,昆明\n");
    let mut out = String::new();
    Gb18030Reader::new(&gbk[..]).read_to_string(&mut out).unwrap();
    assert_eq!(out, "姓名,城市\n张三,昆明\n");

    let mut bad = gbk.to_vec();
    bad.extend_from_slice(b"x,\xFF\xFE\n");
    let error = Gb18030Reader::new(&bad[..]).read_to_string(&mut String::new()).unwrap_err();
    assert_eq!(SourceFault::of(&error), Some(SourceFault::Undecodable { line: 3 }));
}

#[test]
fn counting_enforces_the_limit_while_reading() {
    let data = vec![b'a'; 10_000];
    let mut reader = CountingReader::new(&data[..], 5_000, Arc::default());
    let error = io::copy(&mut reader, &mut io::sink()).unwrap_err();
    assert_eq!(import_error(&error), ImportError::TooLarge { limit: 5_000 });

    let state = Arc::new(SourceState::default());
    let mut reader = CountingReader::new(&b"abc"[..], 5_000, state.clone());
    io::copy(&mut reader, &mut io::sink()).unwrap();
    assert_eq!(state.bytes(), 3);
    // GB/T 32905 example 1.
    assert_eq!(state.digest(), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
}

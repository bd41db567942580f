//! Unit tests of `pages`.
use super::{PAGE_SIZE, csv_field, paginate, urlencode};

#[test]
fn lists_are_paged() {
    let (rows, p) = paginate((0..120).collect::<Vec<_>>(), Some(2), "/x?q=&");
    assert_eq!(rows.len(), PAGE_SIZE);
    assert_eq!(rows[0], 50);
    assert_eq!((p.total, p.page, p.pages), (120, 2, 3));
    assert_eq!((p.prev.as_str(), p.next.as_str()), ("/x?q=&page=1", "/x?q=&page=3"));
    let (rows, p) = paginate((0..120).collect::<Vec<_>>(), Some(99), "/x?");
    assert_eq!((rows.len(), p.page, p.next.as_str()), (20, 3, ""));
    let (rows, p) = paginate(Vec::<u8>::new(), None, "/x?");
    assert_eq!((rows.len(), p.pages, p.prev.as_str()), (0, 1, ""));
    assert_eq!(urlencode("昆明 a&b"), "%E6%98%86%E6%98%8E%20a%26b");
}

#[test]
fn csv_fields_are_quoted_and_never_formulas() {
    assert_eq!(csv_field("云南省数据局"), "云南省数据局");
    assert_eq!(csv_field("a,b"), "\"a,b\"");
    assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    assert_eq!(csv_field("+86"), "'+86");
    assert_eq!(csv_field("@x"), "'@x");
}

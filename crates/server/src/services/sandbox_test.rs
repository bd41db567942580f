#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::*;

#[test]
fn csv_text_cells_never_start_a_formula() {
    for (cell, out) in
        [("=1+1", "'=1+1"), ("+86", "'+86"), ("-x", "'-x"), ("@SUM(A1)", "'@SUM(A1)"), ("昆明", "昆明")]
    {
        assert_eq!(defuse(cell), out);
    }
    assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
}

#[test]
fn a_stored_report_keeps_its_lines() {
    let full = [
        ReportLine {
            code: "cell.threshold".into(),
            outcome: "fail".into(),
            message: "列“n”有 3 个单元格…".into(),
        },
        ReportLine {
            code: "cell.threshold".into(),
            outcome: "fail".into(),
            message: "列“m”有 1 个单元格…".into(),
        },
        ReportLine {
            code: "identifier.mobile".into(),
            outcome: "fail".into(),
            message: "列“x”有 2 行…".into(),
        },
    ];
    let text = full.iter().map(report_line_text).collect::<Vec<_>>().join("\n");
    let out = OutputRecord {
        id: 1,
        query_id: 1,
        project_id: 1,
        operator_org_id: 1,
        requester_id: 1,
        grade: "l3".into(),
        check_outcome: "fail".into(),
        check_report: text,
        object_path: String::new(),
        sm3: String::new(),
        rows: 0,
        status: "pending".into(),
        released_on: None,
        created_at: chrono::Utc::now(),
        run_state: "done".into(),
        run_error: String::new(),
        elapsed_ms: 0,
    };
    assert_eq!(report_lines(&out).len(), 3);
    assert_eq!(report_lines(&out)[2].code, "identifier.mobile");
}

#[test]
fn charges_add_up_exactly_and_a_damaged_one_spends_everything() {
    let q = |charges: &str| QueryRecord {
        id: 1,
        project_id: 1,
        user_id: 1,
        mode: "real".into(),
        sql: String::new(),
        fingerprint: String::new(),
        tables: String::new(),
        outcome: "ok".into(),
        error_code: String::new(),
        rows: 0,
        suppressed: 0,
        units_object: String::new(),
        differencing_with: None,
        dp_charges: charges.into(),
        elapsed_ms: 0,
        created_at: chrono::Utc::now(),
    };
    let tenth = Epsilon::new(1, 10).unwrap();
    let spent = spent_by_grant(&(0..10).map(|_| q(&charge_line(7, tenth))).collect::<Vec<_>>());
    assert_eq!(spent[&7], Some(Epsilon::new(1, 1).unwrap()));
    let spent = spent_by_grant(&[q("7:1/10"), q("7:garbage")]);
    assert_eq!(spent[&7], None);
}

#[test]
fn amounts_show_to_the_fen_without_floating_noise() {
    assert_eq!(fen(500_567.749_999_999_9), "500567.75");
    assert_eq!(fen(100.0), "100");
    assert_eq!(fen(0.1 + 0.2), "0.3");
    assert_eq!(fen(-0.001), "0");
    assert_eq!(fen(1234.5), "1234.5");
}

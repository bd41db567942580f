#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::fingerprint::fixed;
use arrow::array::{Float64Array, Int64Array};

fn spec(values: Vec<(ValueKind, &str)>) -> GateSpec {
    GateSpec {
        gate: 0,
        classes: vec![ClassSpec { tables: "t".into(), k: 10 }],
        values: values
            .into_iter()
            .map(|(kind, name)| ValueSpec { name: name.into(), kind, class: 0, computed: false })
            .collect(),
        rules: Rules::default(),
    }
}

/// Rows `(unit, measure, include)` for one value, as the gate's arguments.
fn args(rows: &[(i64, f64, bool)]) -> Vec<ArrayRef> {
    vec![
        Arc::new(Int64Array::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())),
        Arc::new(Float64Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())),
        Arc::new(BooleanArray::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())),
        Arc::new(Float64Array::from(vec![1.0; rows.len()])),
    ]
}

fn stats_of(g: &mut GateGroups, emit: EmitTo) -> Vec<GroupStats> {
    let a = g.evaluate(emit).unwrap();
    let a = a.as_binary::<i32>();
    (0..a.len()).map(|i| GroupStats::decode(a.value(i)).unwrap()).collect()
}

#[test]
fn contributions_are_per_unit_after_narrowing() {
    let spec = spec(vec![(ValueKind::Sum, "s")]);
    let mut g = GateGroups::new(Arc::new(Layout::new(&spec)));
    // Twelve people, two rows each; only person 3's rows pass the narrowing in group 1.
    let mut rows = vec![];
    let mut groups = vec![];
    for p in 0..12i64 {
        for m in 0..2 {
            rows.push((p, 100.0 + p as f64 + m as f64, true));
            groups.push(0usize);
            rows.push((p, 50.0, p == 3));
            groups.push(1usize);
        }
    }
    g.update_batch(&args(&rows), &groups, None, 2).unwrap();
    let s = stats_of(&mut g, EmitTo::All);
    assert_eq!(s[0].units, vec![12]);
    assert_eq!(s[0].values[0].contributing, vec![12]);
    // A person's two rows are one contribution: the largest is person 11's 111 + 112.
    assert_eq!(s[0].values[0].top1, 223.0);
    // Group 1 has twelve people but one contributor.
    assert_eq!(s[1].units, vec![12]);
    assert_eq!(s[1].values[0].contributing, vec![1]);
    assert_eq!(s[1].values[0].fingerprint.decode(10), crate::fingerprint::Decoded::Units(1));
}

#[test]
fn partial_states_merge_to_the_same_statistics() {
    let spec = spec(vec![(ValueKind::Count, "n"), (ValueKind::Sum, "s")]);
    let layout = Arc::new(Layout::new(&spec));
    let rows: Vec<(i64, f64, bool)> = (0..40).map(|i| (i % 15, i as f64 * 1.5, i % 3 != 0)).collect();
    let mut args4 = args(&rows);
    // Two values: (1.0, include, 1.0) for the count, then the sum's.
    let n = rows.len();
    let count_args: Vec<ArrayRef> = vec![
        Arc::new(Float64Array::from(vec![1.0; n])),
        Arc::new(BooleanArray::from(vec![true; n])),
        Arc::new(Float64Array::from(vec![1.0; n])),
    ];
    args4.splice(1..1, count_args);
    let groups: Vec<usize> = (0..n).map(|i| i % 2).collect();
    let mut whole = GateGroups::new(layout.clone());
    whole.update_batch(&args4, &groups, None, 2).unwrap();
    // The same rows in two partial accumulators, merged through their states.
    let (a, b): (Vec<usize>, Vec<usize>) = (0..n).partition(|i| i % 4 < 2);
    let take = |idx: &[usize]| -> Vec<ArrayRef> {
        let idx = arrow::array::UInt32Array::from(idx.iter().map(|i| *i as u32).collect::<Vec<_>>());
        args4.iter().map(|c| arrow::compute::take(c.as_ref(), &idx, None).unwrap()).collect()
    };
    let mut merged = GateGroups::new(layout.clone());
    for part in [&a, &b] {
        let mut p = GateGroups::new(layout.clone());
        let g: Vec<usize> = part.iter().map(|i| i % 2).collect();
        p.update_batch(&take(part), &g, None, 2).unwrap();
        let state = p.state(EmitTo::All).unwrap();
        merged.merge_batch(&state, &[0, 1], 2).unwrap();
    }
    let x = stats_of(&mut whole, EmitTo::All);
    let y = stats_of(&mut merged, EmitTo::All);
    for (p, q) in x.iter().zip(&y) {
        assert_eq!(p.units, q.units);
        for (v, w) in p.values.iter().zip(&q.values) {
            assert_eq!(v.contributing, w.contributing);
            assert_eq!(v.fingerprint, w.fingerprint);
            assert!((v.total - w.total).abs() < 1e-9);
        }
    }
    // Converting rows to states one by one and merging gives the same again.
    let states = whole_state_rows(&layout, &args4);
    let mut from_rows = GateGroups::new(layout);
    from_rows.merge_batch(&[states], &groups, 2).unwrap();
    let z = stats_of(&mut from_rows, EmitTo::All);
    assert_eq!(x[0].values[1].fingerprint, z[0].values[1].fingerprint);
}

fn whole_state_rows(layout: &Arc<Layout>, args: &[ArrayRef]) -> ArrayRef {
    GateGroups::new(layout.clone()).convert_to_state(args, None).unwrap().remove(0)
}

#[test]
fn emitting_the_first_groups_keeps_the_rest() {
    let spec = spec(vec![(ValueKind::Count, "n")]);
    let mut g = GateGroups::new(Arc::new(Layout::new(&spec)));
    let rows: Vec<(i64, f64, bool)> = (0..30).map(|i| (i, 1.0, true)).collect();
    let groups: Vec<usize> = (0..30).map(|i| i % 3).collect();
    g.update_batch(&args(&rows), &groups, None, 3).unwrap();
    let first = stats_of(&mut g, EmitTo::First(1));
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].units, vec![10]);
    let rest = stats_of(&mut g, EmitTo::All);
    assert_eq!(rest.len(), 2);
    assert!(rest.iter().all(|s| s.units == vec![10]));
}

#[test]
fn statistics_round_trip() {
    let mut fp = Fingerprint::new(36);
    fp.insert(unit_key(5), fixed(2.0));
    let s = GroupStats {
        units: vec![12, 3],
        values: vec![ValueStats {
            contributing: vec![11, 2],
            total: 9.5,
            top1: 4.0,
            top2: 3.0,
            fingerprint: fp,
        }],
    };
    let mut b = vec![];
    s.encode(&mut b);
    assert_eq!(GroupStats::decode(&b), Some(s));
    assert_eq!(GroupStats::decode(&b[..b.len() - 1]), None);
}

//! Unit tests of `dummy`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;

use arrow::array::{Decimal128Array, Int32Array, LargeStringArray, TimestampMillisecondArray};
use arrow::datatypes::{Float64Type, Int64Type};
use yunshu_domain::ids::Mobile;
use yunshu_domain::regions::RegionCode;

use super::*;

fn strings(array: &ArrayRef) -> Vec<String> {
    text_values(array)
}

fn column(name: &str, kind: Semantic, data_type: DataType) -> DummyColumn {
    DummyColumn { name: name.to_owned(), kind, data_type, nullable: true, stats: CoarseStats::default() }
}

fn yunnan_counties() -> HashSet<String> {
    RegionTree::yunnan()
        .unwrap()
        .all()
        .filter(|r| r.level() == RegionLevel::County)
        .map(|r| r.code().as_str().to_owned())
        .collect()
}

#[test]
fn every_generated_identifier_parses() {
    let birth = (NaiveDate::from_ymd_opt(1960, 3, 1).unwrap(), NaiveDate::from_ymd_opt(1999, 8, 31).unwrap());
    let mut id = column("身份证号", Semantic::ResidentId, DataType::Utf8);
    id.stats.date_range = Some(birth);
    let columns = vec![
        id,
        column("信用代码", Semantic::Uscc, DataType::LargeUtf8),
        column("手机", Semantic::Mobile, DataType::Utf8View),
        column("区划", Semantic::RegionCode, DataType::Utf8),
        column("区划数字", Semantic::RegionCode, DataType::Int64),
        column("姓名", Semantic::ChineseName, DataType::Utf8),
    ];
    let batch = generate(&columns, 500, 1).unwrap();
    assert_eq!(batch.num_rows(), 500);
    let counties = yunnan_counties();
    for value in strings(batch.column(0)) {
        let parsed = ResidentId::parse(&value).unwrap();
        assert!(counties.contains(parsed.region_code()));
        assert!(parsed.birth_date() >= birth.0 && parsed.birth_date() <= birth.1);
    }
    for value in strings(batch.column(1)) {
        let parsed = Uscc::parse(&value).unwrap();
        assert!(counties.contains(parsed.region_code()));
    }
    for value in strings(batch.column(2)) {
        Mobile::parse(&value).unwrap();
    }
    for index in [3, 4] {
        let values = strings(batch.column(index));
        assert_eq!(values.len(), 500);
        for value in values {
            RegionCode::parse(&value).unwrap();
            assert!(counties.contains(&value), "{value}");
        }
    }
    for value in strings(batch.column(5)) {
        let n = value.chars().count();
        assert!((2..=3).contains(&n), "{value}");
    }
}

fn numbers_with_extremes() -> (ArrayRef, f64, f64) {
    // 200 values between 1 000 and 5 000 plus one low and one high outlier: the outliers are one
    // person's values and must not reach the statistics.
    let mut values: Vec<i64> = (0..200).map(|i| 1_000 + i * 20 + (i * 7) % 13).collect();
    values.push(-3_217);
    values.push(987_654);
    let array: ArrayRef = Arc::new(Int64Array::from(values));
    (array, -3_217.0, 987_654.0)
}

#[test]
fn stats_never_contain_the_exact_extremes() {
    let (ints, min, max) = numbers_with_extremes();
    let stats = CoarseStats::from_column(&ints, Semantic::Integer);
    let q = stats.quantiles.unwrap();
    assert!(q.iter().all(|&v| v != min && v != max), "{q:?}");
    assert!(q[0] > min && q[4] < max, "{q:?}");
    // Two significant digits.
    for v in q {
        assert_eq!(v, round_2_significant(v));
    }
    assert!(q.windows(2).all(|w| w[0] <= w[1]));

    let floats: ArrayRef = cast(&ints, &DataType::Float64).unwrap();
    let fq = CoarseStats::from_column(&floats, Semantic::Decimal).quantiles.unwrap();
    assert_eq!(fq, q);

    // Dates: the oldest and newest are outliers, and the range is widened to whole months.
    let min_date = NaiveDate::from_ymd_opt(1931, 4, 17).unwrap();
    let max_date = NaiveDate::from_ymd_opt(2023, 11, 23).unwrap();
    let mut days: Vec<i32> = (0..100).map(|i| 7_000 + i * 37).collect();
    days.push(days_from_date(min_date) as i32);
    days.push(days_from_date(max_date) as i32);
    let dates: ArrayRef = Arc::new(Date32Array::from(days));
    let (low, high) = CoarseStats::from_column(&dates, Semantic::Date).date_range.unwrap();
    assert!(low > min_date && high < max_date);
    assert_eq!(low.day(), 1);
    assert_eq!(high, last_of_month(high));

    // Dummy numbers stay inside the coarse 5th–95th percentile range.
    let col = DummyColumn {
        name: "金额".to_owned(),
        kind: Semantic::Integer,
        data_type: DataType::Int64,
        nullable: false,
        stats,
    };
    let batch = generate(&[col], 1_000, 3).unwrap();
    let generated = batch.column(0).as_primitive::<Int64Type>();
    assert!(generated.iter().flatten().all(|v| (q[0] as i64..=q[4] as i64).contains(&v)));
}

#[test]
fn small_columns_keep_no_distribution() {
    let few: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5]));
    assert_eq!(CoarseStats::from_column(&few, Semantic::Integer).quantiles, None);
}

#[test]
fn rare_category_values_never_appear() {
    let mut values = vec!["常见甲"; 50];
    values.extend(vec!["常见乙"; 30]);
    values.extend(vec!["罕见丙"; 9]);
    values.push("稀有丁");
    let array: ArrayRef = Arc::new(StringArray::from(values));
    let stats = CoarseStats::from_column(&array, Semantic::Category);
    let names: Vec<&str> = stats.categories.iter().map(|(v, _)| v.as_str()).collect();
    assert_eq!(names, vec!["常见乙", "常见甲", OTHER_CATEGORY]);
    assert_eq!(stats.categories[2].1, 10);
    let col = DummyColumn {
        name: "类别".to_owned(),
        kind: Semantic::Category,
        data_type: DataType::Utf8,
        nullable: true,
        stats,
    };
    let generated: HashSet<String> =
        strings(generate(&[col], 2_000, 5).unwrap().column(0)).into_iter().collect();
    assert!(!generated.contains("罕见丙") && !generated.contains("稀有丁"));
    assert!(generated.contains("常见甲") && generated.contains(OTHER_CATEGORY));
}

#[test]
fn null_share_is_rounded_to_five_percent() {
    let values: Vec<Option<i64>> = (0..100).map(|i| if i % 10 < 3 { None } else { Some(i) }).collect();
    let array: ArrayRef = Arc::new(Int64Array::from(values));
    let stats = CoarseStats::from_column(&array, Semantic::Integer);
    assert_eq!(stats.null_fraction, 0.3);
    let one_null: Vec<Option<i64>> = (0..100).map(|i| if i == 0 { None } else { Some(i) }).collect();
    let one_null: ArrayRef = Arc::new(Int64Array::from(one_null));
    assert_eq!(CoarseStats::from_column(&one_null, Semantic::Integer).null_fraction, 0.0);
    let col = DummyColumn {
        name: "n".to_owned(),
        kind: Semantic::Integer,
        data_type: DataType::Int64,
        nullable: true,
        stats,
    };
    let batch = generate(&[col], 4_000, 8).unwrap();
    let share = batch.column(0).null_count() as f64 / 4_000.0;
    assert!((share - 0.3).abs() < 0.03, "{share}");
}

/// A "real" table with the types importers write.
fn real_batch() -> RecordBatch {
    let n = 60;
    let schema = Arc::new(Schema::new(vec![
        Field::new("sfzh", DataType::Utf8, false),
        Field::new("xm", DataType::LargeUtf8, true),
        Field::new("nl", DataType::Int32, true),
        Field::new("je", DataType::Decimal128(12, 2), true),
        Field::new("rq", DataType::Date32, true),
        Field::new("sj", DataType::Timestamp(TimeUnit::Millisecond, Some("+08:00".into())), true),
        Field::new("sf", DataType::Boolean, true),
        Field::new("bz", DataType::Utf8, true),
        Field::new("xq", DataType::Utf8, true),
    ]));
    let ids: Vec<String> = (0..n)
        .map(|i| {
            ResidentId::complete(&format!("530102{}0101{:03}", 1950 + i, i)).unwrap().as_str().to_owned()
        })
        .collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(ids)),
        Arc::new(LargeStringArray::from((0..n).map(|i| format!("测试{i}")).collect::<Vec<_>>())),
        Arc::new(Int32Array::from((0..n).map(|i| Some(20 + i)).collect::<Vec<_>>())),
        Arc::new(
            Decimal128Array::from((0..n).map(|i| Some(i128::from(i) * 1_234)).collect::<Vec<_>>())
                .with_precision_and_scale(12, 2)
                .unwrap(),
        ),
        Arc::new(Date32Array::from((0..n).map(|i| Some(18_000 + i * 10)).collect::<Vec<_>>())),
        Arc::new(
            TimestampMillisecondArray::from(
                (0..n).map(|i| Some(1_700_000_000_000 + i64::from(i) * 3_600_000)).collect::<Vec<_>>(),
            )
            .with_timezone("+08:00"),
        ),
        Arc::new(BooleanArray::from((0..n).map(|i| Some(i % 4 == 0)).collect::<Vec<_>>())),
        Arc::new(StringArray::from(
            (0..n).map(|i| Some("备注".repeat(1 + i as usize % 3))).collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            (0..n).map(|i| Some(if i < 40 { "530102" } else { "530103" })).collect::<Vec<_>>(),
        )),
    ];
    RecordBatch::try_new(schema, columns).unwrap()
}

fn profile(batch: &RecordBatch) -> Vec<DummyColumn> {
    let kinds = [
        Semantic::ResidentId,
        Semantic::ChineseName,
        Semantic::Integer,
        Semantic::Decimal,
        Semantic::Date,
        Semantic::DateTime,
        Semantic::Boolean,
        Semantic::Text,
        Semantic::RegionCode,
    ];
    batch
        .schema()
        .fields()
        .iter()
        .zip(kinds)
        .zip(batch.columns())
        .map(|((field, kind), array)| DummyColumn::profile(field, kind, array))
        .collect()
}

#[test]
fn schema_equals_input_and_generation_is_deterministic() {
    let real = real_batch();
    let columns = profile(&real);
    let dummy = generate(&columns, 300, 42).unwrap();
    assert_eq!(dummy.schema(), real.schema());
    assert_eq!(dummy.num_rows(), 300);
    assert_eq!(dummy, generate(&columns, 300, 42).unwrap());
    assert_ne!(dummy, generate(&columns, 300, 43).unwrap());
    // Non-nullable columns get no nulls.
    assert_eq!(dummy.column(0).null_count(), 0);
    // The ID birth dates follow the real (coarsened) range 1953–2006.
    let (low, high) = columns[0].stats.date_range.unwrap();
    assert_eq!(low.day(), 1);
    for value in strings(dummy.column(0)) {
        let birth = ResidentId::parse(&value).unwrap().birth_date();
        assert!(birth >= low && birth <= high);
    }
    // Region codes seen in ≥ 10 real rows are reused.
    let regions: HashSet<String> = strings(dummy.column(8)).into_iter().collect();
    assert_eq!(regions, ["530102".to_owned(), "530103".to_owned()].into());
    assert!(columns[6].stats.true_fraction.unwrap() == 0.25);
    assert!(dummy.column(3).as_primitive::<arrow::datatypes::Decimal128Type>().len() == 300);
    let _ = cast(dummy.column(2), &DataType::Float64).unwrap().as_primitive::<Float64Type>().len();
    assert_eq!(generate(&columns, 0, 1).unwrap().num_rows(), 0);
}

#[test]
fn mismatched_types_are_refused() {
    let bad = column("身份证号", Semantic::ResidentId, DataType::Int64);
    let err = generate(&[bad], 10, 1).unwrap_err();
    assert_eq!(err.code(), "dummy.unsupported_type");
    assert!(err.message_zh().contains("身份证号"));
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// For any seed, every identifier is well-formed and the output is reproducible.
        #[test]
        fn identifiers_parse_for_any_seed(seed in any::<u64>()) {
            let columns = vec![
                column("身份证号", Semantic::ResidentId, DataType::Utf8),
                column("信用代码", Semantic::Uscc, DataType::Utf8),
                column("手机", Semantic::Mobile, DataType::Utf8),
            ];
            let batch = generate(&columns, 20, seed).unwrap();
            for value in strings(batch.column(0)) {
                prop_assert!(ResidentId::is_valid(&value));
            }
            for value in strings(batch.column(1)) {
                prop_assert!(Uscc::is_valid(&value));
            }
            for value in strings(batch.column(2)) {
                prop_assert!(Mobile::is_valid(&value));
            }
            prop_assert_eq!(batch, generate(&columns, 20, seed).unwrap());
        }
    }
}

#[test]
fn monthly_dates_stay_monthly() {
    // 缴费月份: every value the first of a month → dummy dates are too; daily dates stay daily.
    let monthly: Vec<Option<i32>> = (0..200)
        .map(|i| Some(days_from_date(NaiveDate::from_ymd_opt(2026, 1 + (i % 5) as u32, 1).unwrap()) as i32))
        .collect();
    let daily: Vec<Option<i32>> = (0..200)
        .map(|i| Some(days_from_date(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()) as i32 + i))
        .collect();
    let field = Field::new("d", DataType::Date32, true);
    for (values, expect_monthly) in [(monthly, true), (daily, false)] {
        let array: ArrayRef = Arc::new(Date32Array::from(values));
        let col = DummyColumn::profile(&field, Semantic::Date, &array);
        assert_eq!(col.stats.month_grain, expect_monthly);
        let batch = generate(&[col], 500, 7).unwrap();
        let out = batch.column(0).as_primitive::<Date32Type>();
        let all_first = out.iter().flatten().all(|d| date_from_days(i64::from(d)).day() == 1);
        assert_eq!(all_first, expect_monthly);
    }
}

#[test]
fn semantics_come_from_the_profile_then_the_type_then_the_name() {
    let text = DataType::Utf8;
    assert_eq!(Semantic::infer("法定代表人证件", &text, Some("resident_id")), Semantic::ResidentId);
    assert_eq!(Semantic::infer("参保人姓名", &text, None), Semantic::ChineseName);
    assert_eq!(Semantic::infer("所在区县", &text, None), Semantic::RegionCode);
    assert_eq!(Semantic::infer("联系手机", &text, None), Semantic::Mobile);
    assert_eq!(Semantic::infer("行业门类", &text, None), Semantic::Category);
    assert_eq!(Semantic::infer("缴费月份", &DataType::Date32, None), Semantic::Date);
    assert_eq!(Semantic::infer("缴费基数", &DataType::Float64, None), Semantic::Decimal);
    assert_eq!(Semantic::infer("人数", &DataType::Int64, None), Semantic::Integer);
}

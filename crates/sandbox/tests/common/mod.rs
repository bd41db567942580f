//! A small fixture: 301 people in four regions (one region holds a single, rare person) and their
//! payments, with the policy of benchmarks.md plus an aggregate-only salary and a non-sensitive
//! occupation dimension.
#![allow(dead_code, clippy::needless_range_loop)]

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Date32Array, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use datafusion::datasource::{MemTable, TableProvider};
use yunshu_domain::catalog::UsageClass::*;
use yunshu_sandbox::{ColumnPolicy, Dataset, Limits, PseudonymKey, Sandbox, TablePolicy};

pub const RARE_REGION: &str = "530629";
pub const RARE_SALARY: f64 = 98_765.43;
pub const RARE_OCCUPATION: &str = "OCC-RARE-777";
pub const PEOPLE: usize = 301;

pub struct Fixture {
    pub people: Arc<MemTable>,
    pub payments: Arc<MemTable>,
    /// Every value of a protected column that must never reach the developer.
    pub secrets: Vec<String>,
}

fn day(y: i32, m: u32, d: u32) -> i32 {
    let date = chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
    (date - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
}

pub fn fixture() -> Fixture {
    let regions = ["530102", "530103", "530402"];
    let mut ids = vec![];
    let mut cards = vec![];
    let mut names = vec![];
    let mut mobiles = vec![];
    let mut regs = vec![];
    let mut births = vec![];
    let mut genders = vec![];
    let mut occs = vec![];
    let mut salaries = vec![];
    let mut secrets = vec![];
    for i in 0..PEOPLE {
        let rare = i == PEOPLE - 1;
        ids.push(i as i64 + 1);
        let card = format!("530102199{}{:02}{:02}{:04}", i % 10, 1 + i % 12, 1 + i % 28, 1000 + i);
        let name = format!("测试人员{i:03}号");
        let mobile = format!("139{:08}", 10_000_000 + i * 7);
        let salary = if rare {
            RARE_SALARY
        } else {
            3_000.0 + ((i * 7919) % 10007) as f64 * 1.37 + (i % 7) as f64 * 0.001
        };
        secrets.extend([card.clone(), name.clone(), mobile.clone(), format!("{salary:.3}")]);
        cards.push(card);
        names.push(name);
        mobiles.push(mobile);
        regs.push(if rare { RARE_REGION.to_string() } else { regions[i % 3].to_string() });
        births.push(day(1960 + (i % 40) as i32, 1 + (i % 12) as u32, 1 + (i % 28) as u32));
        genders.push(if i % 2 == 0 { "男" } else { "女" });
        occs.push(if rare { RARE_OCCUPATION.to_string() } else { format!("职业{}", i % 4) });
        salaries.push(salary);
    }
    secrets.push(RARE_OCCUPATION.into());
    let schema = Arc::new(Schema::new(vec![
        Field::new("person_id", DataType::Int64, false),
        Field::new("id_card", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("mobile", DataType::Utf8, false),
        Field::new("region", DataType::Utf8, false),
        Field::new("birth_date", DataType::Date32, false),
        Field::new("gender", DataType::Utf8, false),
        Field::new("occupation", DataType::Utf8, false),
        Field::new("salary", DataType::Float64, false),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(ids.clone())),
        Arc::new(StringArray::from(cards)),
        Arc::new(StringArray::from(names)),
        Arc::new(StringArray::from(mobiles)),
        Arc::new(StringArray::from(regs.clone())),
        Arc::new(Date32Array::from(births)),
        Arc::new(StringArray::from(genders)),
        Arc::new(StringArray::from(occs)),
        Arc::new(Float64Array::from(salaries)),
    ];
    let people = Arc::new(
        MemTable::try_new(schema.clone(), vec![vec![RecordBatch::try_new(schema, cols).unwrap()]]).unwrap(),
    );

    let pschema = Arc::new(Schema::new(vec![
        Field::new("person_id", DataType::Int64, false),
        Field::new("region", DataType::Utf8, false),
        Field::new("month", DataType::Date32, false),
        Field::new("amount", DataType::Float64, false),
    ]));
    let (mut pid, mut preg, mut pm, mut pa) = (vec![], vec![], vec![], vec![]);
    for i in 0..PEOPLE {
        for m in 0..5u32 {
            pid.push(i as i64 + 1);
            preg.push(regs[i].clone());
            pm.push(day(2025, 1 + m, 1));
            pa.push(100.0 + (i * 5 + m as usize) as f64 * 0.37);
        }
    }
    let pcols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(pid)),
        Arc::new(StringArray::from(preg)),
        Arc::new(Date32Array::from(pm)),
        Arc::new(Float64Array::from(pa)),
    ];
    let payments = Arc::new(
        MemTable::try_new(pschema.clone(), vec![vec![RecordBatch::try_new(pschema, pcols).unwrap()]])
            .unwrap(),
    );
    Fixture { people, payments, secrets }
}

pub fn people_policy() -> TablePolicy {
    TablePolicy {
        name: "people".into(),
        unit: Some("person_id".into()),
        unit_per_row: true,
        k: 10,
        columns: vec![
            ColumnPolicy::new("person_id", JoinKey, true),
            ColumnPolicy::new("id_card", Hidden, true),
            ColumnPolicy::new("name", Hidden, true),
            ColumnPolicy::new("mobile", Hidden, true),
            ColumnPolicy::new("region", Dimension, true),
            ColumnPolicy::new("birth_date", Dimension, true),
            ColumnPolicy::new("gender", Dimension, true),
            ColumnPolicy::new("occupation", Dimension, false),
            ColumnPolicy::new("salary", Aggregate, true),
        ],
        row_filter: None,
        dp: None,
    }
}

pub fn payments_policy() -> TablePolicy {
    TablePolicy {
        name: "payments".into(),
        unit: Some("person_id".into()),
        unit_per_row: false,
        k: 10,
        columns: vec![
            ColumnPolicy::new("person_id", JoinKey, true),
            ColumnPolicy::new("region", Dimension, false),
            ColumnPolicy::new("month", Dimension, false),
            ColumnPolicy::new("amount", Aggregate, true),
        ],
        row_filter: None,
        dp: None,
    }
}

pub fn sandbox_with(f: &Fixture, people: TablePolicy, limits: Limits) -> Sandbox {
    let people_t: Arc<dyn TableProvider> = f.people.clone();
    let payments_t: Arc<dyn TableProvider> = f.payments.clone();
    Sandbox::new(
        vec![
            Dataset { policy: people, provider: people_t },
            Dataset { policy: payments_policy(), provider: payments_t },
        ],
        PseudonymKey::derive(b"test-secret", "project-7"),
        limits,
    )
    .unwrap()
}

pub fn sandbox(f: &Fixture) -> Sandbox {
    sandbox_with(f, people_policy(), Limits::default())
}

/// Every cell of a result, as text.
pub fn cells(batches: &[RecordBatch]) -> Vec<String> {
    let mut out = vec![];
    for b in batches {
        for c in b.columns() {
            let s = arrow::compute::cast(c, &DataType::Utf8).unwrap();
            let s = s.as_any().downcast_ref::<StringArray>().unwrap();
            for v in s.iter().flatten() {
                out.push(v.to_string());
            }
        }
    }
    out
}

/// Employers planted in [`social`]: one with a single employee, one with three, one of exactly ten
/// where one person holds 41 000 of 86 000 (bases), and one of ten one person dominates.
pub const SOLO: &str = "91530100SOLO000001";
pub const TRIO: &str = "91530100TRIO000003";
pub const TEN: &str = "91530100TENX000010";
pub const DOMINATED: &str = "91530100DOMI000010";
/// The one person who paid in June (everyone else pays January to May).
pub const JUNE_PAYER: i64 = 7;
pub const JUNE_AMOUNT: f64 = 1_234.56;
pub const SOLO_BASE: f64 = 23_456.78;

/// 社会保险缴费信息 in small: the fixture's 301 people (same ids as `people`) pay five months each
/// under twelve ordinary employers, plus the planted groups above.
pub fn social() -> (Arc<MemTable>, Vec<String>) {
    let (mut pid, mut emp, mut month, mut base, mut amount) = (vec![], vec![], vec![], vec![], vec![]);
    let mut secrets = vec![];
    let mut add = |p: i64, e: &str, m: u32, b: f64, a: f64| {
        pid.push(p);
        emp.push(e.to_owned());
        month.push(day(2026, m, 1));
        base.push(b);
        amount.push(a);
    };
    for i in 0..PEOPLE as i64 {
        let person = i + 1;
        // Planted employers take the first people; everyone else is spread over twelve employers.
        let (employer, b) = match i {
            0 => (SOLO.to_owned(), SOLO_BASE),
            1..=3 => (TRIO.to_owned(), 7_000.0 + i as f64 * 11.0),
            4..=13 => (TEN.to_owned(), if i == 4 { 41_000.0 } else { 5_000.0 }),
            14..=23 => (DOMINATED.to_owned(), if i == 14 { 100_000.0 } else { 1_000.0 + i as f64 }),
            _ => {
                (format!("9153010{:02}ORDINARY{:03}", i % 12, i % 12), 3_000.0 + ((i * 7919) % 9_973) as f64)
            }
        };
        for m in 1..=5u32 {
            let a = (b * 0.16 * 100.0 + m as f64).round() / 100.0;
            add(person, &employer, m, b, a);
        }
        if person == JUNE_PAYER {
            add(person, &employer, 6, b, JUNE_AMOUNT);
        }
    }
    secrets.extend([format!("{SOLO_BASE:.2}"), format!("{JUNE_AMOUNT:.2}")]);
    let schema = Arc::new(Schema::new(vec![
        Field::new("person_id", DataType::Int64, false),
        Field::new("employer", DataType::Utf8, false),
        Field::new("month", DataType::Date32, false),
        Field::new("base", DataType::Float64, false),
        Field::new("amount", DataType::Float64, false),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(pid)),
        Arc::new(StringArray::from(emp)),
        Arc::new(Date32Array::from(month)),
        Arc::new(Float64Array::from(base)),
        Arc::new(Float64Array::from(amount)),
    ];
    let batch = RecordBatch::try_new(schema.clone(), cols).unwrap();
    (Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap()), secrets)
}

pub fn social_policy() -> TablePolicy {
    TablePolicy {
        name: "social".into(),
        unit: Some("person_id".into()),
        unit_per_row: false,
        k: 10,
        columns: vec![
            ColumnPolicy::new("person_id", JoinKey, true),
            ColumnPolicy::new("employer", Dimension, false),
            ColumnPolicy::new("month", Dimension, false),
            ColumnPolicy::new("base", Aggregate, true),
            ColumnPolicy::new("amount", Aggregate, true),
        ],
        row_filter: None,
        dp: None,
    }
}

/// A session over `people`, `payments` and `social`, with the given unit key context (the developer
/// organisation: fingerprints compare across its projects).
pub fn social_sandbox(f: &Fixture, social: Arc<MemTable>, project: &str) -> Sandbox {
    let people_t: Arc<dyn TableProvider> = f.people.clone();
    let payments_t: Arc<dyn TableProvider> = f.payments.clone();
    let social_t: Arc<dyn TableProvider> = social;
    let key = PseudonymKey::derive(b"test-secret", project);
    let sb = Sandbox::new(vec![], key.clone(), Limits::default())
        .unwrap()
        .with_unit_key(PseudonymKey::derive(b"test-secret", "org-1"));
    for d in [
        Dataset { policy: people_policy(), provider: people_t },
        Dataset { policy: payments_policy(), provider: payments_t },
        Dataset { policy: social_policy(), provider: social_t },
    ] {
        sb.add_dataset(d, &key).unwrap();
    }
    sb
}

/// The value of `column` in the only row of a result, as f64 (`None`: null or no row).
pub fn single(batches: &[RecordBatch], column: &str) -> Option<f64> {
    let b = batches.iter().find(|b| b.num_rows() > 0)?;
    let c = b.column(b.schema().index_of(column).ok()?);
    let c = arrow::compute::cast(c, &DataType::Float64).ok()?;
    let c = c.as_any().downcast_ref::<Float64Array>()?;
    (!c.is_null(0)).then(|| c.value(0))
}

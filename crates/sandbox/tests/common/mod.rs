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

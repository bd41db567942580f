//! The sandbox benchmark (P1, benchmarks.md): generated `people`, `payments` and `enterprises`, five
//! queries, three paths from one process run, alternating:
//!
//! - (a) the developer's query through the whole policy layer ([`Sandbox::run`]: grant tables, plan check
//!   and rewrite, threshold gate, strip) and the output checks, timed until the result is ready for the
//!   outbox;
//! - (b) the protection an expert writes by hand on raw DataFusion: the same query with
//!   `COUNT(DISTINCT person_id) AS units … WHERE units >= 10`, and per value its own count of
//!   contributing people (`COUNT(DISTINCT person_id) FILTER (WHERE amount <> 0)`), the value withheld
//!   below k;
//! - (c) the query on raw DataFusion, unprotected.
//!
//! All three read the same in-memory tables, so the difference is the price of the policy itself.
//! Memory is the peak the session's memory pool recorded during the run (operator state: hash tables,
//! distinct sets), which is what a query adds; the tables themselves are shared.

use std::sync::Arc;
use std::time::Instant;

use arrow::array::{ArrayRef, Date32Array, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::datasource::{MemTable, TableProvider};
use yunshu_domain::catalog::UsageClass;
use yunshu_domain::regions::{RegionLevel, RegionTree};

use crate::engine::{Cancel, Dataset, Sandbox};
use crate::policy::{ColumnPolicy, Limits, SandboxError, TablePolicy};
use crate::table::PseudonymKey;

/// Sizes of the generated data (benchmarks.md: 2M people, 10M payments, 200k enterprises).
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub people: usize,
    pub payments_per_person: usize,
    pub enterprises: usize,
}

impl Size {
    pub fn full() -> Size {
        Size { people: 2_000_000, payments_per_person: 5, enterprises: 200_000 }
    }

    /// The size CI runs with the test build.
    pub fn reduced() -> Size {
        Size { people: 20_000, payments_per_person: 5, enterprises: 2_000 }
    }
}

/// splitmix64: deterministic, seeded, fast.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SURNAMES: &[&str] =
    &["张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴", "段", "杜", "普", "岩", "罗"];
const GIVEN: &[&str] =
    &["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛"];
const INDUSTRIES: &[&str] = &[
    "农林牧渔",
    "采矿",
    "制造",
    "电力燃气",
    "建筑",
    "批发零售",
    "交通运输",
    "住宿餐饮",
    "信息技术",
    "金融",
    "房地产",
    "租赁商务",
    "科研技术",
    "水利环境",
    "居民服务",
    "教育",
    "卫生",
    "文化体育",
    "公共管理",
    "旅游",
];

fn counties() -> Vec<String> {
    match RegionTree::yunnan() {
        Ok(tree) => {
            let mut out = Vec::new();
            for p in tree.prefectures() {
                for c in tree.children(&p.code()) {
                    if c.level() == RegionLevel::County {
                        out.push(c.code().as_str().to_string());
                    }
                }
            }
            if out.is_empty() { vec!["530102".into()] } else { out }
        }
        Err(_) => vec!["530102".into()],
    }
}

/// Days since 1970-01-01 of the first day of a month.
fn month_start(year: i32, month: u32) -> i32 {
    chrono::NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|d| d.signed_duration_since(chrono::NaiveDate::default()).num_days().try_into().ok())
        .unwrap_or(0)
}

/// The three generated tables, in batches of 64k rows split over `partitions`.
pub struct Data {
    pub people: Arc<MemTable>,
    pub payments: Arc<MemTable>,
    pub enterprises: Arc<MemTable>,
    pub rows: usize,
}

fn mem(
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    partitions: usize,
) -> Result<Arc<MemTable>, SandboxError> {
    let mut parts: Vec<Vec<RecordBatch>> = vec![Vec::new(); partitions.max(1)];
    for (i, b) in batches.into_iter().enumerate() {
        parts[i % partitions.max(1)].push(b);
    }
    MemTable::try_new(schema, parts).map(Arc::new).map_err(|e| SandboxError::Internal(e.to_string()))
}

fn batch(schema: &SchemaRef, cols: Vec<ArrayRef>) -> Result<RecordBatch, SandboxError> {
    RecordBatch::try_new(schema.clone(), cols).map_err(|e| SandboxError::Internal(e.to_string()))
}

/// Generates the benchmark data (seeded: the same size gives the same rows).
pub fn generate(size: Size, partitions: usize) -> Result<Data, SandboxError> {
    const CHUNK: usize = 65_536;
    let counties = counties();
    let mut g = Gen(20_261_128);
    let base_birth = month_start(1950, 1);
    let birth_span = month_start(2005, 12) - base_birth;

    let people_schema = Arc::new(Schema::new(vec![
        Field::new("person_id", DataType::Int64, false),
        Field::new("id_card", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("mobile", DataType::Utf8, false),
        Field::new("region", DataType::Utf8, false),
        Field::new("birth_date", DataType::Date32, false),
        Field::new("gender", DataType::Utf8, false),
    ]));
    let mut person_region = Vec::with_capacity(size.people);
    let mut batches = Vec::new();
    let mut start = 0;
    while start < size.people {
        let end = (start + CHUNK).min(size.people);
        let (mut ids, mut cards, mut names, mut mobiles, mut regions, mut births, mut genders) =
            (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
        for i in start..end {
            let region = g.below(counties.len());
            person_region.push(region);
            let birth = base_birth + g.below(birth_span as usize) as i32;
            ids.push(i as i64 + 1);
            cards.push(format!("{}{:08}{:04}", counties[region], 19_500_101 + (i % 500_000), i % 10_000));
            names.push(format!("{}{}", SURNAMES[g.below(SURNAMES.len())], GIVEN[g.below(GIVEN.len())]));
            mobiles.push(format!("13{:09}", g.below(1_000_000_000)));
            regions.push(counties[region].clone());
            births.push(birth);
            genders.push(if g.below(2) == 0 { "男" } else { "女" });
        }
        batches.push(batch(
            &people_schema,
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(StringArray::from(cards)),
                Arc::new(StringArray::from(names)),
                Arc::new(StringArray::from(mobiles)),
                Arc::new(StringArray::from(regions)),
                Arc::new(Date32Array::from(births)),
                Arc::new(StringArray::from(genders)),
            ],
        )?);
        start = end;
    }
    let people = mem(people_schema, batches, partitions)?;

    let ent_schema = Arc::new(Schema::new(vec![
        Field::new("enterprise_id", DataType::Int64, false),
        Field::new("uscc", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("industry", DataType::Utf8, false),
        Field::new("region", DataType::Utf8, false),
        Field::new("registered_capital", DataType::Float64, false),
    ]));
    let mut batches = Vec::new();
    let mut start = 0;
    while start < size.enterprises {
        let end = (start + CHUNK).min(size.enterprises);
        let (mut ids, mut usccs, mut names, mut inds, mut regions, mut caps) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for i in start..end {
            let region = &counties[g.below(counties.len())];
            ids.push(i as i64 + 1);
            usccs.push(format!("91{}MA{:08}", region, i));
            names.push(format!("云南示例企业{}有限公司", i + 1));
            inds.push(INDUSTRIES[g.below(INDUSTRIES.len())]);
            regions.push(region.clone());
            caps.push((g.below(10_000) as f64 + 1.0) * 10_000.0);
        }
        batches.push(batch(
            &ent_schema,
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(StringArray::from(usccs)),
                Arc::new(StringArray::from(names)),
                Arc::new(StringArray::from(inds)),
                Arc::new(StringArray::from(regions)),
                Arc::new(Float64Array::from(caps)),
            ],
        )?);
        start = end;
    }
    let enterprises = mem(ent_schema, batches, partitions)?;

    let pay_schema = Arc::new(Schema::new(vec![
        Field::new("person_id", DataType::Int64, false),
        Field::new("enterprise_id", DataType::Int64, false),
        Field::new("region", DataType::Utf8, false),
        Field::new("month", DataType::Date32, false),
        Field::new("amount", DataType::Float64, false),
    ]));
    let months: Vec<i32> = (2023..=2025).flat_map(|y| (1..=12).map(move |m| month_start(y, m))).collect();
    let total = size.people * size.payments_per_person;
    let mut batches = Vec::new();
    let mut start = 0;
    while start < total {
        let end = (start + CHUNK).min(total);
        let (mut pids, mut eids, mut regions, mut ms, mut amounts) = (vec![], vec![], vec![], vec![], vec![]);
        for _ in start..end {
            let person = g.below(size.people);
            pids.push(person as i64 + 1);
            eids.push(g.below(size.enterprises) as i64 + 1);
            regions.push(counties[person_region[person]].as_str());
            ms.push(months[g.below(months.len())]);
            amounts.push(500.0 + (g.below(2_000_000) as f64) / 100.0);
        }
        batches.push(batch(
            &pay_schema,
            vec![
                Arc::new(Int64Array::from(pids)),
                Arc::new(Int64Array::from(eids)),
                Arc::new(StringArray::from(regions)),
                Arc::new(Date32Array::from(ms)),
                Arc::new(Float64Array::from(amounts)),
            ],
        )?);
        start = end;
    }
    let payments = mem(pay_schema, batches, partitions)?;
    Ok(Data { people, payments, enterprises, rows: total })
}

/// The benchmark policy: person_id is the privacy unit, k = 10; id_card, name, mobile are direct
/// identifiers (hidden); amount is aggregate-only; region, month (and birth date, gender) dimensions.
pub fn policies() -> Vec<TablePolicy> {
    use UsageClass::*;
    vec![
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
            ],
            row_filter: None,
            dp: None,
        },
        TablePolicy {
            name: "payments".into(),
            unit: Some("person_id".into()),
            unit_per_row: false,
            k: 10,
            columns: vec![
                ColumnPolicy::new("person_id", JoinKey, true),
                ColumnPolicy::new("enterprise_id", JoinKey, false),
                ColumnPolicy::new("region", Dimension, false),
                ColumnPolicy::new("month", Dimension, false),
                ColumnPolicy::new("amount", Aggregate, true),
            ],
            row_filter: None,
            dp: None,
        },
        TablePolicy {
            name: "enterprises".into(),
            unit: None,
            unit_per_row: false,
            k: 10,
            columns: vec![
                ColumnPolicy::new("enterprise_id", JoinKey, false),
                ColumnPolicy::new("uscc", Open, false),
                ColumnPolicy::new("name", Open, false),
                ColumnPolicy::new("industry", Open, false),
                ColumnPolicy::new("region", Dimension, false),
                ColumnPolicy::new("registered_capital", Open, false),
            ],
            row_filter: None,
            dp: None,
        },
    ]
}

/// The five queries as the developer writes them, and (b) as an expert protects them by hand with the
/// same per-value protection (benchmarks.md): groups of fewer than k people dropped, and every
/// released aggregate counts its own distinct contributing units — a SUM or AVG counts the people
/// with a non-zero amount (a COUNT(*) or COUNT(DISTINCT person) reuses the group's count) — and is
/// withheld below k.
pub const QUERIES: &[(&str, &str, &str)] = &[
    (
        "Q1",
        "SELECT region, COUNT(*) AS n, SUM(amount) AS total FROM payments GROUP BY region",
        "SELECT region, n, CASE WHEN u_total >= 10 THEN total END AS total FROM (SELECT region, \
         COUNT(*) AS n, SUM(amount) AS total, COUNT(DISTINCT person_id) AS units, \
         COUNT(DISTINCT person_id) FILTER (WHERE amount <> 0) AS u_total \
         FROM payments GROUP BY region) WHERE units >= 10",
    ),
    (
        "Q2",
        "SELECT month, region, AVG(amount) AS avg_amount FROM payments GROUP BY month, region",
        "SELECT month, region, CASE WHEN u_avg >= 10 THEN avg_amount END AS avg_amount FROM (SELECT month, \
         region, AVG(amount) AS avg_amount, COUNT(DISTINCT person_id) AS units, \
         COUNT(DISTINCT person_id) FILTER (WHERE amount <> 0) AS u_avg \
         FROM payments GROUP BY month, region) WHERE units >= 10",
    ),
    (
        "Q3",
        "SELECT e.industry, COUNT(*) AS n, SUM(p.amount) AS total \
         FROM payments p JOIN enterprises e ON p.enterprise_id = e.enterprise_id GROUP BY e.industry",
        "SELECT industry, n, CASE WHEN u_total >= 10 THEN total END AS total FROM (SELECT e.industry, \
         COUNT(*) AS n, SUM(p.amount) AS total, COUNT(DISTINCT p.person_id) AS units, \
         COUNT(DISTINCT p.person_id) FILTER (WHERE p.amount <> 0) AS u_total FROM payments p \
         JOIN enterprises e ON p.enterprise_id = e.enterprise_id GROUP BY e.industry) WHERE units >= 10",
    ),
    (
        "Q4",
        "SELECT pe.gender, (EXTRACT(YEAR FROM pe.birth_date) / 10) * 10 AS decade, AVG(p.amount) AS avg_amount \
         FROM payments p JOIN people pe ON p.person_id = pe.person_id GROUP BY 1, 2",
        "SELECT gender, decade, CASE WHEN u_avg >= 10 THEN avg_amount END AS avg_amount FROM (SELECT pe.gender, \
         (EXTRACT(YEAR FROM pe.birth_date) / 10) * 10 AS decade, AVG(p.amount) AS avg_amount, \
         COUNT(DISTINCT p.person_id) AS units, COUNT(DISTINCT p.person_id) FILTER (WHERE p.amount <> 0) AS u_avg \
         FROM payments p JOIN people pe ON p.person_id = pe.person_id GROUP BY 1, 2) WHERE units >= 10",
    ),
    (
        "Q5",
        "SELECT e.region, e.industry, COUNT(DISTINCT p.person_id) AS insured \
         FROM payments p JOIN enterprises e ON p.enterprise_id = e.enterprise_id \
         WHERE p.month >= DATE '2025-01-01' GROUP BY 1, 2",
        "SELECT region, industry, insured FROM (SELECT e.region, e.industry, \
         COUNT(DISTINCT p.person_id) AS insured \
         FROM payments p JOIN enterprises e ON p.enterprise_id = e.enterprise_id \
         WHERE p.month >= DATE '2025-01-01' GROUP BY 1, 2) WHERE insured >= 10",
    ),
];

/// One query's medians.
#[derive(Debug, Clone)]
pub struct QueryFigures {
    pub name: &'static str,
    pub a_ms: f64,
    pub b_ms: f64,
    pub c_ms: f64,
    pub a_mem: usize,
    pub b_mem: usize,
    pub c_mem: usize,
    pub rows_a: usize,
    pub rows_b: usize,
    pub suppressed: u64,
}

impl QueryFigures {
    pub fn time_ratio(&self) -> f64 {
        self.a_ms / self.b_ms.max(1e-9)
    }

    pub fn mem_ratio(&self) -> f64 {
        self.a_mem as f64 / (self.b_mem.max(1)) as f64
    }

    pub fn price(&self) -> f64 {
        self.a_ms / self.c_ms.max(1e-9)
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

fn median_usize(v: &mut [usize]) -> usize {
    v.sort_unstable();
    if v.is_empty() { 0 } else { v[v.len() / 2] }
}

const LIMITS: Limits =
    Limits { memory_bytes: 8 << 30, timeout: std::time::Duration::from_secs(600), max_output_rows: 100_000 };

fn tables(data: &Data) -> Vec<(String, Arc<dyn TableProvider>)> {
    vec![
        ("people".into(), data.people.clone()),
        ("payments".into(), data.payments.clone()),
        ("enterprises".into(), data.enterprises.clone()),
    ]
}

/// The sandbox a developer's project would get over the benchmark tables.
pub fn protected_sandbox(data: &Data) -> Result<Sandbox, SandboxError> {
    let tables = tables(data);
    let datasets = policies()
        .into_iter()
        .filter_map(|p| {
            tables.iter().find(|(n, _)| *n == p.name).map(|(_, t)| Dataset { policy: p, provider: t.clone() })
        })
        .collect();
    Sandbox::new(datasets, PseudonymKey::derive(b"bench", "project-1"), LIMITS)
}

/// Runs every query `runs` times on each path, alternating a → b → c, and returns the medians.
/// The unprotected session of the baselines (b) and (c).
pub fn raw_sandbox(data: &Data) -> Result<Sandbox, SandboxError> {
    Sandbox::open(tables(data), LIMITS)
}

pub async fn run(data: &Data, runs: usize) -> Result<Vec<QueryFigures>, SandboxError> {
    run_only(data, runs, None).await
}

/// [`run`] for one query only (`Some("Q5")`), or all.
pub async fn run_only(
    data: &Data,
    runs: usize,
    only: Option<&str>,
) -> Result<Vec<QueryFigures>, SandboxError> {
    let raw = raw_sandbox(data)?;
    let protected = protected_sandbox(data)?;
    let cancel = Cancel::default();
    let check_config = crate::checks::CheckConfig::default();
    let no_names = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (name, q, b) in QUERIES.iter().filter(|(n, _, _)| only.is_none_or(|o| o == *n)) {
        let (mut ta, mut tb, mut tc) = (vec![], vec![], vec![]);
        let (mut ma, mut mb, mut mc) = (vec![], vec![], vec![]);
        let (mut rows_a, mut rows_b, mut suppressed) = (0, 0, 0);
        for _ in 0..runs.max(1) {
            protected.reset_peak();
            let t = Instant::now();
            let outcome = protected.run(q, &cancel).await?;
            let _report = crate::release::outcome_checks(&outcome, &check_config, &no_names);
            ta.push(t.elapsed().as_secs_f64() * 1e3);
            ma.push(protected.peak_memory());
            rows_a = outcome.num_rows();
            suppressed = outcome.suppressed;

            raw.reset_peak();
            let t = Instant::now();
            let r = raw.run_open(b, &cancel).await?;
            tb.push(t.elapsed().as_secs_f64() * 1e3);
            mb.push(raw.peak_memory());
            rows_b = r.iter().map(|b| b.num_rows()).sum();

            raw.reset_peak();
            let t = Instant::now();
            raw.run_open(q, &cancel).await?;
            tc.push(t.elapsed().as_secs_f64() * 1e3);
            mc.push(raw.peak_memory());
        }
        out.push(QueryFigures {
            name,
            a_ms: median(&mut ta),
            b_ms: median(&mut tb),
            c_ms: median(&mut tc),
            a_mem: median_usize(&mut ma),
            b_mem: median_usize(&mut mb),
            c_mem: median_usize(&mut mc),
            rows_a,
            rows_b,
            suppressed,
        });
    }
    Ok(out)
}

/// The printed report.
pub fn report(size: Size, rows: usize, runs: usize, figures: &[QueryFigures]) -> String {
    let mut s = format!(
        "云数 sandbox benchmark (P1): people {}, payments {}, enterprises {}, {} runs, medians\n",
        size.people, rows, size.enterprises, runs
    );
    s.push_str("query   (a) policy ms  (b) by hand ms  (c) raw ms   (a)/(b)  mem (a)/(b)  (a)/(c)  rows a/b  suppressed\n");
    for f in figures {
        s.push_str(&format!(
            "{:<6}  {:>13.1}  {:>14.1}  {:>10.1}  {:>7.3}  {:>11.3}  {:>7.3}  {:>4}/{:<4}  {}\n",
            f.name,
            f.a_ms,
            f.b_ms,
            f.c_ms,
            f.time_ratio(),
            f.mem_ratio(),
            f.price(),
            f.rows_a,
            f.rows_b,
            f.suppressed
        ));
    }
    let mut tr: Vec<f64> = figures.iter().map(|f| f.time_ratio()).collect();
    let mut mr: Vec<f64> = figures.iter().map(|f| f.mem_ratio()).collect();
    let mut pr: Vec<f64> = figures.iter().map(|f| f.price()).collect();
    s.push_str(&format!(
        "median over queries: (a)/(b) time {:.3} (goal ≤ 1.15), memory {:.3} (goal ≤ 1.2); price of protection (a)/(c) {:.3}\n",
        median(&mut tr),
        median(&mut mr),
        median(&mut pr)
    ));
    s
}

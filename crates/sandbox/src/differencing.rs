//! Differencing (sandbox.md layer 7): two released values — or a value and the sum of a table's
//! released cells — whose per-unit contributions differ for fewer than k units give those units away
//! by subtraction, whatever their SQL looks like. Judged on the [`Fingerprint`]s the gates recorded
//! ([`crate::gate::ValuePrint`]), within one output and against earlier outputs of the same developer
//! over the same data. A finding holds the output for the reviewers; it is never shown to the
//! developer (a refusal decided on contributions would itself be a bit about them).

use std::collections::{BTreeMap, HashMap};

use crate::fingerprint::Fingerprint;
use crate::gate::ValuePrint;

/// Findings listed per output at most (the count says how many there were).
pub const MAX_FINDINGS: usize = 50;

/// Where a compared value lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueRef {
    /// `None`: the output being checked; `Some(id)`: an earlier output.
    pub output: Option<i64>,
    pub column: String,
    /// The group (`column=value` pairs), or `None` for the sum of a column's released cells.
    pub group: Option<String>,
}

impl ValueRef {
    fn of(v: &ValuePrint, output: Option<i64>) -> ValueRef {
        ValueRef { output, column: v.column.clone(), group: Some(v.group.clone()) }
    }

    /// For reviewers: which value, in Chinese.
    pub fn label_zh(&self) -> String {
        let place = match self.output {
            None => "本输出".to_owned(),
            Some(id) => format!("第 {id} 号输出"),
        };
        match &self.group {
            Some(g) => format!("{place}中 {}（{g}）", self.column),
            None => format!("{place}中 {} 各已放行单元格之和", self.column),
        }
    }
}

/// Two values whose contributions differ for `units` (< k) units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub a: ValueRef,
    pub b: ValueRef,
    pub units: usize,
}

impl Finding {
    pub fn message_zh(&self) -> String {
        format!(
            "{}与{}的逐个体贡献只相差 {} 个个体（差分风险：相减即得这些个体的数据）",
            self.a.label_zh(),
            self.b.label_zh(),
            self.units
        )
    }
}

/// An earlier output's released values.
#[derive(Debug, Clone)]
pub struct Earlier {
    pub output: i64,
    pub values: Vec<ValuePrint>,
}

fn pair(a: &ValuePrint, b: &ValuePrint) -> Option<usize> {
    let k = a.k.max(b.k);
    if a.units.abs_diff(b.units) >= u64::from(k) {
        return None;
    }
    a.fingerprint.minus(&b.fingerprint)?.isolates_fewer_than(k)
}

fn margin_pair(sum: &Fingerprint, k: u32, v: &ValuePrint) -> Option<usize> {
    sum.minus(&v.fingerprint)?.isolates_fewer_than(k.max(v.k))
}

/// The sum of each (gate, column)'s released cells, when it has more than one.
fn margins(values: &[ValuePrint]) -> Vec<((usize, String), Fingerprint, u32)> {
    let mut out: BTreeMap<(usize, String), (Fingerprint, u32, usize)> = BTreeMap::new();
    for v in values {
        let e = out
            .entry((v.gate, v.column.clone()))
            .or_insert_with(|| (Fingerprint::new(v.fingerprint.len()), v.k, 0));
        e.0.add_assign(&v.fingerprint);
        e.1 = e.1.max(v.k);
        e.2 += 1;
    }
    out.into_iter().filter(|(_, (_, _, n))| *n > 1).map(|(key, (fp, k, _))| (key, fp, k)).collect()
}

/// Values by the keys of their non-zero cells: a value differing from another in fewer than k units
/// shares the keys of the cells their (more than k/2) common units fill — dozens of keys — while
/// unrelated values share a cell only by coincidence (one person with the same contribution in two
/// groups), rarely [`SHARED_KEYS`]. So only values sharing that many keys are compared exactly.
struct Index {
    /// (key, value) sorted by key.
    keys: Vec<(u64, u32)>,
}

/// Keys two values must share to be compared exactly.
const SHARED_KEYS: u32 = 3;

/// A key shared by more values than this is a cell many values have in common (one person alone in
/// it): it says nothing about which of them pair, and is skipped.
const MAX_RUN: usize = 64;

impl Index {
    fn new<'a>(prints: impl Iterator<Item = &'a Fingerprint>) -> Index {
        let mut keys: Vec<(u64, u32)> = Vec::new();
        for (i, fp) in prints.enumerate() {
            keys.extend(fp.index_keys().map(|k| (k, i as u32)));
        }
        keys.sort_unstable();
        Index { keys }
    }

    /// Runs of equal keys (each a slice of values), short enough to discriminate.
    fn runs(&self) -> impl Iterator<Item = &[(u64, u32)]> {
        self.keys.chunk_by(|a, b| a.0 == b.0).filter(|r| r.len() > 1 && r.len() <= MAX_RUN)
    }

    /// Pairs `(i, j)`, `i < j`, of indexed values that share enough keys.
    fn pairs(&self) -> Vec<(usize, usize)> {
        let mut shared: HashMap<(u32, u32), u32> = HashMap::new();
        for run in self.runs() {
            for (x, a) in run.iter().enumerate() {
                for b in &run[x + 1..] {
                    if a.1 != b.1 {
                        *shared.entry((a.1.min(b.1), a.1.max(b.1))).or_default() += 1;
                    }
                }
            }
        }
        let mut out: Vec<(usize, usize)> = shared
            .into_iter()
            .filter(|(_, n)| *n >= SHARED_KEYS)
            .map(|((a, b), _)| (a as usize, b as usize))
            .collect();
        out.sort_unstable();
        out
    }

    /// Indices of the indexed values sharing enough keys with `fp`, ascending.
    fn candidates(&self, fp: &Fingerprint) -> Vec<usize> {
        let mut shared: HashMap<u32, u32> = HashMap::new();
        for k in fp.index_keys() {
            let start = self.keys.partition_point(|(x, _)| *x < k);
            let run = self.keys[start..].iter().take_while(|(x, _)| *x == k);
            let run: Vec<u32> = run.take(MAX_RUN + 1).map(|(_, i)| *i).collect();
            if run.len() > MAX_RUN {
                continue;
            }
            for i in run {
                *shared.entry(i).or_default() += 1;
            }
        }
        let mut out: Vec<usize> =
            shared.into_iter().filter(|(_, n)| *n >= SHARED_KEYS).map(|(i, _)| i as usize).collect();
        out.sort_unstable();
        out
    }
}

struct Notes {
    found: Vec<Finding>,
    total: usize,
}

impl Notes {
    fn note(&mut self, f: Finding) {
        self.total += 1;
        if self.found.len() < MAX_FINDINGS {
            self.found.push(f);
        }
    }
}

/// Pairs within one output's values, and margins of one gate against values of another.
pub fn within(values: &[ValuePrint]) -> (Vec<Finding>, usize) {
    let mut n = Notes { found: Vec::new(), total: 0 };
    let index = Index::new(values.iter().map(|v| &v.fingerprint));
    for (i, j) in index.pairs() {
        let (a, b) = (&values[i], &values[j]);
        if let Some(u) = pair(a, b) {
            n.note(Finding { a: ValueRef::of(a, None), b: ValueRef::of(b, None), units: u });
        }
    }
    for ((gate, column), fp, k) in &margins(values) {
        for j in index.candidates(fp) {
            let v = &values[j];
            if v.gate == *gate {
                continue;
            }
            if let Some(u) = margin_pair(fp, *k, v) {
                n.note(Finding {
                    a: ValueRef { output: None, column: column.clone(), group: None },
                    b: ValueRef::of(v, None),
                    units: u,
                });
            }
        }
    }
    (n.found, n.total)
}

/// The new output's values against earlier outputs: value pairs, the new table's column sums against
/// earlier values, and earlier tables' column sums against new values.
pub fn against(values: &[ValuePrint], earlier: &[Earlier]) -> (Vec<Finding>, usize) {
    let mut n = Notes { found: Vec::new(), total: 0 };
    let new_sums = margins(values);
    let new_index = Index::new(values.iter().map(|v| &v.fingerprint));
    for e in earlier {
        let index = Index::new(e.values.iter().map(|v| &v.fingerprint));
        for a in values {
            for j in index.candidates(&a.fingerprint) {
                let b = &e.values[j];
                if let Some(u) = pair(a, b) {
                    n.note(Finding {
                        a: ValueRef::of(a, None),
                        b: ValueRef::of(b, Some(e.output)),
                        units: u,
                    });
                }
            }
        }
        for ((_, column), fp, k) in &new_sums {
            for j in index.candidates(fp) {
                let b = &e.values[j];
                if let Some(u) = margin_pair(fp, *k, b) {
                    n.note(Finding {
                        a: ValueRef { output: None, column: column.clone(), group: None },
                        b: ValueRef::of(b, Some(e.output)),
                        units: u,
                    });
                }
            }
        }
        for ((_, column), fp, k) in margins(&e.values) {
            for j in new_index.candidates(&fp) {
                let a = &values[j];
                if let Some(u) = margin_pair(&fp, k, a) {
                    n.note(Finding {
                        a: ValueRef::of(a, None),
                        b: ValueRef { output: Some(e.output), column: column.clone(), group: None },
                        units: u,
                    });
                }
            }
        }
    }
    (n.found, n.total)
}

/// The stored form of an output's released values (kept with the output, encrypted in the vault).
pub fn encode(values: &[ValuePrint]) -> Vec<u8> {
    let mut out = b"YSFP1".to_vec();
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for v in values {
        out.extend_from_slice(&(v.gate as u32).to_le_bytes());
        for s in [&v.group, &v.column] {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        out.extend_from_slice(&v.units.to_le_bytes());
        out.extend_from_slice(&v.k.to_le_bytes());
        v.fingerprint.encode(&mut out);
    }
    out
}

/// Reads [`encode`]'s form; `None` if it is damaged (the caller then treats the output as
/// uncheckable and holds the new one for review).
pub fn decode(bytes: &[u8]) -> Option<Vec<ValuePrint>> {
    fn u32_at(b: &[u8]) -> Option<(u32, &[u8])> {
        let (x, r) = b.split_first_chunk::<4>()?;
        Some((u32::from_le_bytes(*x), r))
    }
    let rest = bytes.strip_prefix(b"YSFP1")?;
    let (n, mut rest) = u32_at(rest)?;
    let mut out = Vec::with_capacity((n as usize).min(1 << 16));
    for _ in 0..n {
        let (gate, r) = u32_at(rest)?;
        rest = r;
        let mut texts = Vec::with_capacity(2);
        for _ in 0..2 {
            let (len, r) = u32_at(rest)?;
            let (s, r) = r.split_at_checked(len as usize)?;
            texts.push(String::from_utf8(s.to_vec()).ok()?);
            rest = r;
        }
        let (units, r) = rest.split_first_chunk::<8>()?;
        let (k, r) = u32_at(r)?;
        let (fingerprint, r) = Fingerprint::decode_from(r)?;
        rest = r;
        let column = texts.pop()?;
        let group = texts.pop()?;
        out.push(ValuePrint {
            gate: gate as usize,
            group,
            column,
            units: u64::from_le_bytes(*units),
            k,
            fingerprint,
        });
    }
    rest.is_empty().then_some(out)
}

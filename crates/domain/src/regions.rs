//! Administrative divisions (行政区划) of 云南省 with their GB/T 2260 codes, as a tree of
//! province (省) → prefectures (州、市) → counties (县、市、区).
//!
//! The platform scopes data resources, agencies and permissions by region, so it needs to know
//! which region contains which. The data is compiled into the binary from
//! `data/yunnan-regions.tsv` (converted from china-division 2.7.0, WTFPL), so nothing is read from
//! disk at run time.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// The embedded division list: `code<TAB>name<TAB>parent_code`, `#` comments.
const YUNNAN_TSV: &str = include_str!("../data/yunnan-regions.tsv");

/// Errors from parsing region codes or a division table.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RegionError {
    /// Not six ASCII digits.
    #[error("invalid region code {input:?}: expected 6 digits")]
    InvalidCode { input: String },
    /// A line of the division table could not be read.
    #[error("line {line}: {reason}")]
    BadLine { line: usize, reason: String },
    /// The same code appears twice.
    #[error("duplicate region code {code}")]
    DuplicateCode { code: RegionCode },
    /// A parent code that is not in the table.
    #[error("region {code} has unknown parent {parent}")]
    UnknownParent { code: RegionCode, parent: RegionCode },
    /// The parent is not a higher level, or its code does not share the child's prefix.
    #[error("region {code} cannot be a child of {parent}")]
    InconsistentParent { code: RegionCode, parent: RegionCode },
    /// Only provinces may be listed without a parent, and provinces must not have one.
    #[error("region {code}: only provinces may (and must) have no parent")]
    MissingOrUnexpectedParent { code: RegionCode },
}

impl RegionError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            RegionError::InvalidCode { .. } => "region.invalid_code",
            RegionError::BadLine { .. } => "region.bad_line",
            RegionError::DuplicateCode { .. } => "region.duplicate_code",
            RegionError::UnknownParent { .. } => "region.unknown_parent",
            RegionError::InconsistentParent { .. } => "region.inconsistent_parent",
            RegionError::MissingOrUnexpectedParent { .. } => "region.parent",
        }
    }

    /// Message for Chinese-speaking users.
    pub fn message_zh(&self) -> String {
        match self {
            RegionError::InvalidCode { input } => {
                format!("行政区划代码“{input}”无效：应为 6 位数字")
            }
            RegionError::BadLine { line, reason } => {
                format!("行政区划数据第 {line} 行有误：{reason}")
            }
            RegionError::DuplicateCode { code } => format!("行政区划代码 {code} 重复"),
            RegionError::UnknownParent { code, parent } => {
                format!("行政区划 {code} 的上级 {parent} 不存在")
            }
            RegionError::InconsistentParent { code, parent } => {
                format!("行政区划 {code} 不能隶属于 {parent}")
            }
            RegionError::MissingOrUnexpectedParent { code } => {
                format!("行政区划 {code}：只有省级区划可以（且必须）没有上级")
            }
        }
    }
}

/// A GB/T 2260 administrative division code: six ASCII digits, e.g. `530102` (五华区).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode([u8; 6]);

impl RegionCode {
    /// Parses six ASCII digits (surrounding whitespace allowed).
    pub fn parse(input: &str) -> Result<RegionCode, RegionError> {
        let trimmed = input.trim();
        <[u8; 6]>::try_from(trimmed.as_bytes())
            .ok()
            .filter(|bytes| bytes.iter().all(u8::is_ascii_digit))
            .map(RegionCode)
            .ok_or_else(|| RegionError::InvalidCode { input: input.to_owned() })
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Always ASCII digits by construction.
        std::str::from_utf8(&self.0).unwrap_or("000000")
    }

    /// Level implied by the code's shape: `xx0000` province, `xxxx00` prefecture, else county.
    pub fn level(&self) -> RegionLevel {
        match self.0 {
            [_, _, b'0', b'0', b'0', b'0'] => RegionLevel::Province,
            [_, _, _, _, b'0', b'0'] => RegionLevel::Prefecture,
            _ => RegionLevel::County,
        }
    }

    /// Number of leading digits that identify this region (2, 4 or 6); descendants share them.
    fn significant_digits(&self) -> usize {
        match self.level() {
            RegionLevel::Province => 2,
            RegionLevel::Prefecture => 4,
            RegionLevel::County => 6,
        }
    }

    /// The leading digits every code in this region starts with ("53" for the province, "5301" for
    /// 昆明市, the whole code for a county): the store selects an area by this prefix.
    pub fn scope_prefix(&self) -> &str {
        let code = self.as_str();
        code.get(..self.significant_digits()).unwrap_or(code)
    }

    /// Whether `other`'s code starts with this code's significant digits.
    fn is_prefix_of(&self, other: &RegionCode) -> bool {
        let n = self.significant_digits();
        self.0.get(..n) == other.0.get(..n)
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegionCode({})", self.as_str())
    }
}

impl FromStr for RegionCode {
    type Err = RegionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RegionCode::parse(s)
    }
}

/// Level of an administrative division. Ordered from the top: `Province < Prefecture < County`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RegionLevel {
    /// 省级 (省、自治区、直辖市).
    Province,
    /// 地级 (地级市、自治州).
    Prefecture,
    /// 县级 (县、自治县、县级市、市辖区).
    County,
}

/// One division in a [`RegionTree`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    code: RegionCode,
    name: String,
    level: RegionLevel,
    parent: Option<RegionCode>,
}

impl Region {
    /// GB/T 2260 code.
    pub fn code(&self) -> RegionCode {
        self.code
    }

    /// Official name, e.g. `昆明市`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Level derived from the code.
    pub fn level(&self) -> RegionLevel {
        self.level
    }

    /// The division directly above, `None` for a province.
    pub fn parent(&self) -> Option<RegionCode> {
        self.parent
    }
}

/// A validated set of divisions: every parent exists, sits at a higher level and shares the
/// child's code prefix, so walking up always terminates at a province.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionTree {
    regions: BTreeMap<RegionCode, Region>,
}

impl RegionTree {
    /// The 云南省 tree embedded in the binary (1 province, 16 州市, 129 县区).
    pub fn yunnan() -> Result<RegionTree, RegionError> {
        RegionTree::parse_tsv(YUNNAN_TSV)
    }

    /// Parses `code<TAB>name<TAB>parent_code` lines; blank lines and lines starting with `#`
    /// are skipped; the parent is empty for provinces. Line numbers in errors are 1-based.
    pub fn parse_tsv(text: &str) -> Result<RegionTree, RegionError> {
        let mut regions = BTreeMap::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            if raw.trim().is_empty() || raw.starts_with('#') {
                continue;
            }
            let bad = |reason: String| RegionError::BadLine { line, reason };
            let fields: Vec<&str> = raw.split('\t').collect();
            let [code, name, parent] = fields.as_slice() else {
                return Err(bad(format!("expected 3 tab-separated fields, found {}", fields.len())));
            };
            let code = RegionCode::parse(code).map_err(|e| bad(e.to_string()))?;
            let name = name.trim();
            if name.is_empty() {
                return Err(bad(format!("region {code} has no name")));
            }
            let parent = match parent.trim() {
                "" => None,
                p => Some(RegionCode::parse(p).map_err(|e| bad(e.to_string()))?),
            };
            let level = code.level();
            if parent.is_none() != (level == RegionLevel::Province) {
                return Err(RegionError::MissingOrUnexpectedParent { code });
            }
            let region = Region { code, name: name.to_owned(), level, parent };
            if regions.insert(code, region).is_some() {
                return Err(RegionError::DuplicateCode { code });
            }
        }
        // Parents are checked after reading everything so the file order does not matter.
        for region in regions.values() {
            if let Some(parent) = region.parent {
                let Some(p) = regions.get(&parent) else {
                    return Err(RegionError::UnknownParent { code: region.code, parent });
                };
                if p.level >= region.level || !parent.is_prefix_of(&region.code) {
                    return Err(RegionError::InconsistentParent { code: region.code, parent });
                }
            }
        }
        Ok(RegionTree { regions })
    }

    /// The region with this code, if it is in the tree.
    pub fn get(&self, code: &RegionCode) -> Option<&Region> {
        self.regions.get(code)
    }

    /// The first region with exactly this name (names are unique within one province).
    pub fn find_by_name(&self, name: &str) -> Option<&Region> {
        self.regions.values().find(|r| r.name == name)
    }

    /// Direct children, in code order (empty for counties and unknown codes).
    pub fn children(&self, code: &RegionCode) -> Vec<&Region> {
        self.regions.values().filter(|r| r.parent.as_ref() == Some(code)).collect()
    }

    /// All prefecture-level regions (州、市), in code order.
    pub fn prefectures(&self) -> Vec<&Region> {
        self.regions.values().filter(|r| r.level == RegionLevel::Prefecture).collect()
    }

    /// The regions above `code`, nearest first (empty for a province or an unknown code).
    pub fn ancestors(&self, code: &RegionCode) -> Vec<&Region> {
        let mut out = Vec::new();
        let mut current = self.regions.get(code).and_then(|r| r.parent);
        // Terminates: each parent is at a strictly higher level (checked in `parse_tsv`).
        while let Some(parent) = current.and_then(|c| self.regions.get(&c)) {
            out.push(parent);
            current = parent.parent;
        }
        out
    }

    /// Whether `descendant` is `ancestor` or lies below it. Unknown codes are contained in
    /// nothing, so scoping by an unknown region grants nothing.
    pub fn contains(&self, ancestor: &RegionCode, descendant: &RegionCode) -> bool {
        if !self.regions.contains_key(descendant) {
            return false;
        }
        ancestor == descendant || self.ancestors(descendant).iter().any(|r| &r.code == ancestor)
    }

    /// The prefecture a region belongs to: itself for a prefecture, its prefecture for a county,
    /// `None` for a province, an unknown code or a county directly under a province.
    pub fn prefecture_of(&self, code: &RegionCode) -> Option<RegionCode> {
        let region = self.regions.get(code)?;
        if region.level == RegionLevel::Prefecture {
            return Some(region.code);
        }
        self.ancestors(code).into_iter().find(|r| r.level == RegionLevel::Prefecture).map(|r| r.code)
    }

    /// Every region, in code order.
    pub fn all(&self) -> impl Iterator<Item = &Region> + '_ {
        self.regions.values()
    }

    /// Number of regions.
    pub fn len(&self) -> usize {
        self.regions.len()
    }

    /// Whether the tree has no regions.
    pub fn is_empty(&self) -> bool {
        self.regions.is_empty()
    }
}

#[cfg(test)]
#[path = "regions_test.rs"]
mod tests;

//! The resource catalogue (目录, Art. 18), classification and grading (分类分级, Art. 5 and GB/T
//! 43697-2024), registration (登记: 申请 → 受理 → 形式审核 → 公示 → 赋码) and the negative list (负面清单,
//! Art. 15).
//!
//! Everything a provider types about a resource is parsed here into types that cannot hold a bad value:
//! a [`Classification`] is four ranged numbers, a [`DataItem`] carries a grade consistent with its
//! personal-information flags, a [`ResourceMeta`] has sharing conditions exactly when its sharing type
//! needs them. Whether a resource may be *used* is one function, [`usability`], so that every path that
//! touches data (requests, grants, queries, backflow) asks the same question and gets the same answer.

use std::collections::BTreeSet;
use std::fmt;

use chrono::NaiveDate;

use crate::calendar::{Deadline, WorkCalendar, add_years};

code_enum! {
    /// Data grade (数据分级), least to most sensitive, so that `max` is "就高从严".
    pub enum Grade {
        L1 => ("l1", "一般数据 L1（不敏感）"),
        L2 => ("l2", "一般数据 L2（低敏感）"),
        L3 => ("l3", "一般数据 L3（较敏感）"),
        L4 => ("l4", "一般数据 L4（敏感）"),
        Important => ("important", "重要数据"),
        Core => ("core", "核心数据"),
    }
}

code_enum! {
    /// Type of a data item (数据项类型); mirrors the columns the importer writes.
    pub enum FieldKind {
        Text => ("text", "字符串"),
        Integer => ("integer", "整数"),
        Decimal => ("decimal", "小数"),
        Date => ("date", "日期"),
        DateTime => ("datetime", "日期时间"),
        Boolean => ("boolean", "布尔"),
    }
}

code_enum! {
    /// 共享属性 (GB/T 21063.3).
    pub enum SharingType {
        Unconditional => ("unconditional", "无条件共享"),
        Conditional => ("conditional", "有条件共享"),
        NotShared => ("not_shared", "不予共享"),
    }
}

code_enum! {
    /// 开放属性.
    pub enum OpenAttribute {
        Unconditional => ("unconditional", "无条件开放"),
        Conditional => ("conditional", "有条件开放"),
        NotOpen => ("not_open", "不予开放"),
    }
}

code_enum! {
    /// 更新周期; the freshness quality rule checks data against it.
    pub enum UpdateCycle {
        RealTime => ("realtime", "实时"),
        Daily => ("daily", "每日"),
        Weekly => ("weekly", "每周"),
        Monthly => ("monthly", "每月"),
        Quarterly => ("quarterly", "每季度"),
        HalfYearly => ("half_yearly", "每半年"),
        Yearly => ("yearly", "每年"),
        Irregular => ("irregular", "不定期"),
    }
}

impl UpdateCycle {
    /// The age after which a version is stale; `None` for irregular updates.
    pub fn max_age_days(self) -> Option<u32> {
        match self {
            UpdateCycle::RealTime | UpdateCycle::Daily => Some(1),
            UpdateCycle::Weekly => Some(7),
            UpdateCycle::Monthly => Some(31),
            UpdateCycle::Quarterly => Some(92),
            UpdateCycle::HalfYearly => Some(183),
            UpdateCycle::Yearly => Some(366),
            UpdateCycle::Irregular => None,
        }
    }
}

code_enum! {
    /// 资源格式.
    pub enum DataFormat {
        Table => ("table", "数据库表/结构化数据"),
        File => ("file", "电子文件"),
        Api => ("api", "接口"),
    }
}

code_enum! {
    /// How a provider limits a personal-data field for a kind of scenario (Art. 5).
    pub enum ScenarioRuleKind {
        Restricted => ("restricted", "限制使用（需提供单位逐项同意）"),
        Excluded => ("excluded", "禁止使用"),
    }
}

code_enum! {
    /// How a field may appear in the sandbox (sandbox.md "column usage classes").
    pub enum UsageClass {
        Hidden => ("hidden", "不可见"),
        JoinKey => ("join_key", "仅作关联键（假名化）"),
        Aggregate => ("aggregate", "仅聚合"),
        Dimension => ("dimension", "维度"),
        Open => ("open", "开放"),
    }
}

/// Errors in catalogue input and rules. Each has a stable code and a Chinese message naming the fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("classification code")]
    Classification,
    #[error("resource name")]
    Name,
    #[error("abstract")]
    Abstract,
    #[error("item name at {0}")]
    ItemName(usize),
    #[error("duplicate item {0}")]
    DuplicateItem(String),
    #[error("no items")]
    NoItems,
    #[error("too many items")]
    TooManyItems,
    #[error("grade too low for {item}")]
    GradeTooLow { item: String, minimum: Grade },
    #[error("scenario rule on non-personal item {0}")]
    ScenarioRuleNotPersonal(String),
    #[error("sharing conditions missing")]
    SharingConditions,
    #[error("resource code")]
    ResourceCode,
    #[error("code template")]
    CodeTemplate,
    #[error("reason too short")]
    Reason,
    #[error("review record")]
    ReviewRecord,
    #[error("grade policy line {0}")]
    GradePolicy(usize),
    #[error("grade of item {0}")]
    Grade(usize),
    #[error("date")]
    Date,
}

impl CatalogError {
    pub fn code(&self) -> &'static str {
        match self {
            CatalogError::Classification => "catalog.classification",
            CatalogError::Name => "catalog.name",
            CatalogError::Abstract => "catalog.abstract",
            CatalogError::ItemName(_) => "catalog.item_name",
            CatalogError::DuplicateItem(_) => "catalog.item_duplicate",
            CatalogError::NoItems => "catalog.no_items",
            CatalogError::TooManyItems => "catalog.too_many_items",
            CatalogError::GradeTooLow { .. } => "catalog.grade_too_low",
            CatalogError::ScenarioRuleNotPersonal(_) => "catalog.scenario_rule_not_personal",
            CatalogError::SharingConditions => "catalog.sharing_conditions",
            CatalogError::ResourceCode => "catalog.resource_code",
            CatalogError::CodeTemplate => "catalog.code_template",
            CatalogError::Reason => "catalog.reason",
            CatalogError::ReviewRecord => "catalog.review_record",
            CatalogError::GradePolicy(_) => "catalog.grade_policy",
            CatalogError::Grade(_) => "catalog.grade",
            CatalogError::Date => "date.format",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            CatalogError::Classification => {
                "分类代码应为 9 位数字：类（1 位，1–3）项（2 位）目（3 位）细目（3 位），如 301001002".into()
            }
            CatalogError::Name => "资源名称应为 2 至 100 个字符".into(),
            CatalogError::Abstract => "资源摘要应为 10 至 2000 个字符".into(),
            CatalogError::ItemName(i) => {
                format!("第 {i} 个数据项的名称应为 1 至 64 个字符，且不含逗号、引号、换行")
            }
            CatalogError::DuplicateItem(n) => format!("数据项“{n}”重复"),
            CatalogError::NoItems => "至少应有一个数据项".into(),
            CatalogError::TooManyItems => "数据项不得超过 500 个".into(),
            CatalogError::GradeTooLow { item, minimum } => {
                format!("数据项“{item}”含个人信息，按就高从严不得低于 {}", minimum.label_zh())
            }
            CatalogError::ScenarioRuleNotPersonal(n) => {
                format!("数据项“{n}”不含个人信息，不能设置场景限制（第五条只适用于个人信息）")
            }
            CatalogError::SharingConditions => {
                "有条件共享或不予共享的资源应填写共享条件或不予共享依据".into()
            }
            CatalogError::ResourceCode => "资源代码格式不正确".into(),
            CatalogError::CodeTemplate => {
                "登记编码格式应含 {seq} 或 {seq:N}（N 为 4–10 位），可含 {region}、{year}、{type}".into()
            }
            CatalogError::Reason => "理由不少于 10 个字符".into(),
            CatalogError::ReviewRecord => "应填写同级人民政府审核记录：审核结论、日期和会议或文件编号".into(),
            CatalogError::GradePolicy(line) => format!("分级用途配置第 {line} 行格式不正确"),
            CatalogError::Grade(i) => format!("请为第 {i} 个数据项选择分级"),
            CatalogError::Date => "日期格式应为 YYYY-MM-DD".into(),
        }
    }
}

/// 分类 (类/项/目/细目), GB/T 21063.3: class 1 基础信息资源, 2 主题信息资源, 3 部门信息资源.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Classification {
    class: u8,
    item: u8,
    catalog: u16,
    detail: u16,
}

impl Classification {
    /// Parses the 9-digit code, with or without separators: `301001002`, `3-01-001-002`.
    pub fn parse(input: &str) -> Result<Classification, CatalogError> {
        let digits: String = input.chars().filter(|c| !matches!(c, '-' | ' ' | '.')).collect();
        if digits.len() != 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CatalogError::Classification);
        }
        let num = |a: usize, b: usize| digits.get(a..b).and_then(|s| s.parse::<u16>().ok());
        let (Some(class), Some(item), Some(catalog), Some(detail)) =
            (num(0, 1), num(1, 3), num(3, 6), num(6, 9))
        else {
            return Err(CatalogError::Classification);
        };
        if !(1..=3).contains(&class) || item == 0 || catalog == 0 {
            return Err(CatalogError::Classification);
        }
        Ok(Classification { class: class as u8, item: item as u8, catalog, detail })
    }

    /// The 9-digit code.
    pub fn code(&self) -> String {
        format!("{}{:02}{:03}{:03}", self.class, self.item, self.catalog, self.detail)
    }

    /// `3-01-001-002`.
    pub fn display(&self) -> String {
        format!("{}-{:02}-{:03}-{:03}", self.class, self.item, self.catalog, self.detail)
    }

    pub fn class_label_zh(&self) -> &'static str {
        match self.class {
            1 => "基础信息资源",
            2 => "主题信息资源",
            _ => "部门信息资源",
        }
    }
}

/// 资源代码: `{classification}/{provider code}-{sequence}`, the provider code being the provider's
/// 组织机构代码 (characters 9–17 of its 统一社会信用代码), e.g. `301001002/01525306X-0003`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceCode(String);

impl ResourceCode {
    pub fn new(class: &Classification, provider_code: &str, seq: u32) -> Result<ResourceCode, CatalogError> {
        if provider_code.len() != 9 || !provider_code.bytes().all(|b| b.is_ascii_alphanumeric()) || seq == 0 {
            return Err(CatalogError::ResourceCode);
        }
        Ok(ResourceCode(format!("{}/{}-{:04}", class.code(), provider_code, seq)))
    }

    pub fn parse(input: &str) -> Result<ResourceCode, CatalogError> {
        let s = input.trim();
        let (class, rest) = s.split_once('/').ok_or(CatalogError::ResourceCode)?;
        let (provider, seq) = rest.split_once('-').ok_or(CatalogError::ResourceCode)?;
        let class = Classification::parse(class)?;
        let seq: u32 = seq.parse().map_err(|_| CatalogError::ResourceCode)?;
        let code = ResourceCode::new(&class, provider, seq)?;
        if code.0 != s {
            return Err(CatalogError::ResourceCode);
        }
        Ok(code)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Personal-information flags of a field (个人信息标识).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PiFlags {
    /// 直接标识符: identifies a person by itself (ID number, name with mobile, mobile).
    pub direct: bool,
    /// 准标识符: identifies a person in combination (birth date, fine region, gender).
    pub quasi: bool,
    /// 敏感个人信息 (PIPL Art. 28: health, finance, whereabouts, minors …).
    pub sensitive: bool,
}

impl PiFlags {
    pub fn is_personal(&self) -> bool {
        self.direct || self.quasi || self.sensitive
    }

    /// The lowest grade a field with these flags may carry ("就高从严").
    pub fn minimum_grade(&self) -> Grade {
        if self.direct || self.sensitive {
            Grade::L4
        } else if self.quasi {
            Grade::L3
        } else {
            Grade::L1
        }
    }

    pub fn labels_zh(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.direct {
            v.push("直接标识符");
        }
        if self.quasi {
            v.push("准标识符");
        }
        if self.sensitive {
            v.push("敏感个人信息");
        }
        v
    }
}

/// A provider's limit on a personal-data field for one kind of scenario (Art. 5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScenarioRule {
    /// The scenario category as the catalogue of scenarios names it (e.g. 普惠金融, 精准营销).
    pub scenario: String,
    pub kind: ScenarioRuleKind,
}

/// Raw input for one data item, as a form or the API delivers it.
#[derive(Debug, Clone, Default)]
pub struct DataItemInput {
    pub name: String,
    pub kind: String,
    pub description: String,
    pub grade: String,
    pub pi: PiFlags,
    /// `普惠金融:restricted; 精准营销:excluded`
    pub scenario_rules: String,
}

/// One data item (数据项) of a resource, graded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataItem {
    pub name: String,
    pub kind: FieldKind,
    pub description: String,
    pub grade: Grade,
    pub pi: PiFlags,
    pub scenario_rules: Vec<ScenarioRule>,
}

/// Which item of a list an error is about (1-based, as people count).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    pub index: usize,
    pub field: &'static str,
    pub error: CatalogError,
}

fn valid_item_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=64).contains(&n) && !name.chars().any(|c| matches!(c, ',' | '，' | '"' | '\'' | '\n' | '\r' | '\t'))
}

impl DataItem {
    /// Parses one item; `index` is its 1-based position, for messages.
    pub fn parse(index: usize, input: &DataItemInput) -> Result<DataItem, ItemError> {
        let err = |field, error| ItemError { index, field, error };
        let name = input.name.trim().to_owned();
        if !valid_item_name(&name) {
            return Err(err("name", CatalogError::ItemName(index)));
        }
        let kind = FieldKind::parse(&input.kind).unwrap_or(FieldKind::Text);
        let grade = Grade::parse(&input.grade).ok_or(err("grade", CatalogError::Grade(index)))?;
        let minimum = input.pi.minimum_grade();
        if grade < minimum {
            return Err(err("grade", CatalogError::GradeTooLow { item: name, minimum }));
        }
        let mut scenario_rules = Vec::new();
        for part in input.scenario_rules.split([';', '；', '\n']).map(str::trim).filter(|p| !p.is_empty()) {
            let (scenario, kind) = part.split_once([':', '：']).unwrap_or((part, "excluded"));
            let kind = ScenarioRuleKind::parse(kind).unwrap_or(ScenarioRuleKind::Excluded);
            let scenario = scenario.trim().to_owned();
            if scenario.is_empty() || scenario.chars().count() > 32 {
                return Err(err("scenario_rules", CatalogError::ItemName(index)));
            }
            scenario_rules.push(ScenarioRule { scenario, kind });
        }
        if !scenario_rules.is_empty() && !input.pi.is_personal() {
            return Err(err("scenario_rules", CatalogError::ScenarioRuleNotPersonal(name)));
        }
        let description: String = input.description.trim().chars().take(500).collect();
        Ok(DataItem { name, kind, description, grade, pi: input.pi, scenario_rules })
    }

    /// Parses a whole list: every item valid, names unique, 1 to 500 items.
    pub fn parse_all(inputs: &[DataItemInput]) -> Result<Vec<DataItem>, ItemError> {
        if inputs.is_empty() {
            return Err(ItemError { index: 0, field: "items", error: CatalogError::NoItems });
        }
        if inputs.len() > 500 {
            return Err(ItemError { index: 0, field: "items", error: CatalogError::TooManyItems });
        }
        let mut seen = BTreeSet::new();
        let mut items = Vec::with_capacity(inputs.len());
        for (i, input) in inputs.iter().enumerate() {
            let item = DataItem::parse(i + 1, input)?;
            if !seen.insert(item.name.clone()) {
                return Err(ItemError {
                    index: i + 1,
                    field: "name",
                    error: CatalogError::DuplicateItem(item.name),
                });
            }
            items.push(item);
        }
        Ok(items)
    }

    /// `普惠金融:restricted; 精准营销:excluded` — the stored form of the scenario rules.
    pub fn scenario_rules_text(&self) -> String {
        self.scenario_rules
            .iter()
            .map(|r| format!("{}:{}", r.scenario, r.kind.code()))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A resource's grade: the highest of its fields (就高从严). `None` for no fields.
pub fn resource_grade(items: &[DataItem]) -> Option<Grade> {
    items.iter().map(|i| i.grade).max()
}

/// Raw catalogue metadata of a resource.
#[derive(Debug, Clone, Default)]
pub struct ResourceInput {
    pub classification: String,
    pub name: String,
    pub abstract_text: String,
    pub format: String,
    pub sharing_type: String,
    pub sharing_conditions: String,
    pub open_attribute: String,
    pub update_cycle: String,
    pub release_date: String,
    /// Resource codes of related resources, separated by commas, spaces or new lines.
    pub related: String,
}

/// The core catalogue metadata (GB/T 21063.3) of a resource, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceMeta {
    pub classification: Classification,
    pub name: String,
    pub abstract_text: String,
    pub format: DataFormat,
    pub sharing_type: SharingType,
    pub sharing_conditions: String,
    pub open_attribute: OpenAttribute,
    pub update_cycle: UpdateCycle,
    pub release_date: Option<NaiveDate>,
    pub related: Vec<ResourceCode>,
}

/// A field-level error of resource input: which input field, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub error: CatalogError,
}

impl ResourceMeta {
    pub fn parse(input: &ResourceInput) -> Result<ResourceMeta, FieldError> {
        let fe = |field, error| FieldError { field, error };
        let classification =
            Classification::parse(&input.classification).map_err(|e| fe("classification", e))?;
        let name = input.name.trim().to_owned();
        if !(2..=100).contains(&name.chars().count()) {
            return Err(fe("name", CatalogError::Name));
        }
        let abstract_text = input.abstract_text.trim().to_owned();
        if !(10..=2000).contains(&abstract_text.chars().count()) {
            return Err(fe("abstract_text", CatalogError::Abstract));
        }
        let format = DataFormat::parse(&input.format).unwrap_or(DataFormat::Table);
        let sharing_type = SharingType::parse(&input.sharing_type).unwrap_or(SharingType::Conditional);
        let sharing_conditions = input.sharing_conditions.trim().to_owned();
        if sharing_type != SharingType::Unconditional && sharing_conditions.chars().count() < 4 {
            return Err(fe("sharing_conditions", CatalogError::SharingConditions));
        }
        let open_attribute = OpenAttribute::parse(&input.open_attribute).unwrap_or(OpenAttribute::NotOpen);
        let update_cycle = UpdateCycle::parse(&input.update_cycle).unwrap_or(UpdateCycle::Irregular);
        let release_date = match input.release_date.trim() {
            "" => None,
            s => Some(
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map_err(|_| fe("release_date", CatalogError::Date))?,
            ),
        };
        let mut related = Vec::new();
        for part in input.related.split([',', '，', ' ', '\n', ';']).filter(|p| !p.trim().is_empty()) {
            related.push(ResourceCode::parse(part).map_err(|e| fe("related", e))?);
        }
        Ok(ResourceMeta {
            classification,
            name,
            abstract_text,
            format,
            sharing_type,
            sharing_conditions,
            open_attribute,
            update_cycle,
            release_date,
            related,
        })
    }
}

// ---- registration ---------------------------------------------------------------------------------

code_enum! {
    /// 登记类型.
    pub enum RegistrationType {
        Initial => ("initial", "首次登记"),
        Change => ("change", "变更登记"),
        Correction => ("correction", "更正登记"),
        Cancellation => ("cancellation", "注销登记"),
        Supplementary => ("supplementary", "补充登记"),
    }
}

impl RegistrationType {
    /// Whether this type applies to a resource that already holds a registration code.
    pub fn needs_existing_code(self) -> bool {
        matches!(
            self,
            RegistrationType::Change | RegistrationType::Correction | RegistrationType::Cancellation
        )
    }
}

code_enum! {
    /// Status of a registration application.
    pub enum RegistrationStatus {
        Applied => ("applied", "待受理"),
        Accepted => ("accepted", "形式审核中"),
        Returned => ("returned", "退回补正"),
        InNotice => ("in_notice", "公示中"),
        Coded => ("coded", "已赋码"),
        Rejected => ("rejected", "不予登记"),
        Withdrawn => ("withdrawn", "已撤回"),
    }
}

/// Periods of registration in working days *(configurable: the national text was not available)*.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrationPeriods {
    /// The registration body accepts or refuses an application within this many working days.
    pub accept: u32,
    /// Formal review (形式审核) after acceptance.
    pub review: u32,
    /// Public notice (公示) before a code is given.
    pub notice: u32,
}

impl Default for RegistrationPeriods {
    fn default() -> RegistrationPeriods {
        RegistrationPeriods { accept: 5, review: 10, notice: 5 }
    }
}

/// A registration application and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub reg_type: RegistrationType,
    pub status: RegistrationStatus,
    /// Set while in notice and after: the first and the last day of the notice (both shown).
    pub notice: Option<(NaiveDate, NaiveDate)>,
}

/// Errors of registration moves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    #[error("illegal move {action} from {from:?}")]
    IllegalMove { action: &'static str, from: RegistrationStatus },
    #[error("notice not ended")]
    NoticeNotEnded { last_day: NaiveDate },
    #[error("type needs a code")]
    NeedsCode(RegistrationType),
    #[error("already coded")]
    AlreadyCoded,
    #[error("open application")]
    OpenApplication,
    #[error("reason")]
    Reason,
    #[error("calendar")]
    Calendar(String),
}

impl RegistrationError {
    pub fn code(&self) -> &'static str {
        match self {
            RegistrationError::IllegalMove { .. } => "registration.illegal_move",
            RegistrationError::NoticeNotEnded { .. } => "registration.notice_not_ended",
            RegistrationError::NeedsCode(_) => "registration.needs_code",
            RegistrationError::AlreadyCoded => "registration.already_coded",
            RegistrationError::OpenApplication => "registration.open_application",
            RegistrationError::Reason => "registration.reason",
            RegistrationError::Calendar(_) => "calendar.not_published",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            RegistrationError::IllegalMove { action, from } => {
                format!("登记申请当前为“{}”，不能{}", from.label_zh(), action)
            }
            RegistrationError::NoticeNotEnded { last_day } => {
                format!("公示期至 {} 结束，公示期满后方可赋码", last_day.format("%Y-%m-%d"))
            }
            RegistrationError::NeedsCode(t) => format!("{}只适用于已赋码的资源", t.label_zh()),
            RegistrationError::AlreadyCoded => "该资源已赋码，请选择变更、更正或注销登记".into(),
            RegistrationError::OpenApplication => "该资源已有办理中的登记申请".into(),
            RegistrationError::Reason => "请填写理由（不少于 4 个字符）".into(),
            RegistrationError::Calendar(m) => m.clone(),
        }
    }
}

fn need_reason(reason: &str) -> Result<(), RegistrationError> {
    if reason.trim().chars().count() < 4 { Err(RegistrationError::Reason) } else { Ok(()) }
}

impl Registration {
    /// A new application. `coded` says whether the resource already has a registration code;
    /// `open` whether another application for it is still in progress.
    pub fn apply(
        reg_type: RegistrationType,
        coded: bool,
        open: bool,
    ) -> Result<Registration, RegistrationError> {
        if open {
            return Err(RegistrationError::OpenApplication);
        }
        if reg_type.needs_existing_code() && !coded {
            return Err(RegistrationError::NeedsCode(reg_type));
        }
        if !reg_type.needs_existing_code() && coded {
            return Err(RegistrationError::AlreadyCoded);
        }
        Ok(Registration { reg_type, status: RegistrationStatus::Applied, notice: None })
    }

    fn require_status(
        &self,
        from: RegistrationStatus,
        action: &'static str,
    ) -> Result<(), RegistrationError> {
        if self.status == from {
            Ok(())
        } else {
            Err(RegistrationError::IllegalMove { action, from: self.status })
        }
    }

    /// 受理.
    pub fn accept(&mut self) -> Result<(), RegistrationError> {
        self.require_status(RegistrationStatus::Applied, "受理")?;
        self.status = RegistrationStatus::Accepted;
        Ok(())
    }

    /// 不予受理 / 审核不通过: ends the application.
    pub fn reject(&mut self, reason: &str) -> Result<(), RegistrationError> {
        need_reason(reason)?;
        if !matches!(self.status, RegistrationStatus::Applied | RegistrationStatus::Accepted) {
            return Err(RegistrationError::IllegalMove { action: "不予登记", from: self.status });
        }
        self.status = RegistrationStatus::Rejected;
        Ok(())
    }

    /// 退回补正: back to the applicant, during review or when the notice brings up an objection.
    pub fn return_for_correction(&mut self, reason: &str) -> Result<(), RegistrationError> {
        need_reason(reason)?;
        if !matches!(self.status, RegistrationStatus::Accepted | RegistrationStatus::InNotice) {
            return Err(RegistrationError::IllegalMove { action: "退回补正", from: self.status });
        }
        self.status = RegistrationStatus::Returned;
        self.notice = None;
        Ok(())
    }

    /// The applicant resubmits after correcting.
    pub fn resubmit(&mut self) -> Result<(), RegistrationError> {
        self.require_status(RegistrationStatus::Returned, "重新提交")?;
        self.status = RegistrationStatus::Applied;
        Ok(())
    }

    /// The applicant withdraws before a code is given.
    pub fn withdraw(&mut self) -> Result<(), RegistrationError> {
        if !matches!(
            self.status,
            RegistrationStatus::Applied | RegistrationStatus::Accepted | RegistrationStatus::Returned
        ) {
            return Err(RegistrationError::IllegalMove { action: "撤回", from: self.status });
        }
        self.status = RegistrationStatus::Withdrawn;
        Ok(())
    }

    /// 形式审核通过 → 公示 from `today` for `days` working days. The notice starts on `today` and its
    /// last day is `days` working days later (the start day is not counted). A notice reaching into a
    /// year without a published schedule is refused: its end must be certain before it is announced.
    pub fn start_notice(
        &mut self,
        today: NaiveDate,
        days: u32,
        cal: &WorkCalendar,
    ) -> Result<NaiveDate, RegistrationError> {
        self.require_status(RegistrationStatus::Accepted, "公示")?;
        let last =
            cal.add_working_days(today, days).map_err(|e| RegistrationError::Calendar(e.message_zh()))?;
        self.status = RegistrationStatus::InNotice;
        self.notice = Some((today, last));
        Ok(last)
    }

    /// 赋码, only after the last day of the notice has passed.
    pub fn assign_code(&mut self, today: NaiveDate) -> Result<(), RegistrationError> {
        self.require_status(RegistrationStatus::InNotice, "赋码")?;
        if let Some((_, last)) = self.notice
            && today <= last
        {
            return Err(RegistrationError::NoticeNotEnded { last_day: last });
        }
        self.status = RegistrationStatus::Coded;
        Ok(())
    }

    /// Whether the public notice runs on `today` (公示中, from its first to its last day): only then
    /// is it on the public site and open to objections.
    pub fn notice_running(&self, today: NaiveDate) -> bool {
        self.status == RegistrationStatus::InNotice
            && self.notice.is_some_and(|(first, last)| first <= today && today <= last)
    }

    /// Is the application still in progress (blocks a second one)?
    pub fn is_open(&self) -> bool {
        matches!(
            self.status,
            RegistrationStatus::Applied
                | RegistrationStatus::Accepted
                | RegistrationStatus::Returned
                | RegistrationStatus::InNotice
        )
    }
}

/// The configurable format of registration codes: a template with `{region}`, `{year}`, `{type}` and
/// `{seq}` / `{seq:N}` (zero-padded). Codes made before the national registry is connected are
/// provisional and keep that mark beside the national code later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeFormat {
    template: String,
    width: usize,
}

impl CodeFormat {
    pub const DEFAULT: &'static str = "YNGS-{region}-{year}-{seq:6}";

    pub fn parse(template: &str) -> Result<CodeFormat, CatalogError> {
        let t = template.trim();
        let width = if let Some(pos) = t.find("{seq:") {
            let rest = t.get(pos + 5..).ok_or(CatalogError::CodeTemplate)?;
            let end = rest.find('}').ok_or(CatalogError::CodeTemplate)?;
            let w: usize = rest.get(..end).and_then(|s| s.parse().ok()).ok_or(CatalogError::CodeTemplate)?;
            if !(4..=10).contains(&w) {
                return Err(CatalogError::CodeTemplate);
            }
            w
        } else if t.contains("{seq}") {
            6
        } else {
            return Err(CatalogError::CodeTemplate);
        };
        if t.chars().count() > 64 {
            return Err(CatalogError::CodeTemplate);
        }
        Ok(CodeFormat { template: t.to_owned(), width })
    }

    pub fn render(&self, region: &str, year: i32, reg_type: RegistrationType, seq: u64) -> String {
        let seq_text = format!("{seq:0width$}", width = self.width);
        let type_letter = match reg_type {
            RegistrationType::Supplementary => "B",
            _ => "S",
        };
        let mut out = self.template.replace("{region}", region).replace("{year}", &year.to_string());
        out = out.replace("{type}", type_letter);
        out = out.replace(&format!("{{seq:{}}}", self.width), &seq_text).replace("{seq}", &seq_text);
        out
    }
}

impl Default for CodeFormat {
    fn default() -> CodeFormat {
        CodeFormat { template: CodeFormat::DEFAULT.to_owned(), width: 6 }
    }
}

/// The public query code of a registration result (查询码): 12 characters from an alphabet without
/// look-alikes, made from caller-supplied random bytes (the domain has no randomness of its own).
pub fn query_code(random: &[u8; 12]) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    random.iter().map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char).collect()
}

// ---- negative list --------------------------------------------------------------------------------

/// The same-level government's review record (同级人民政府审核) of an exclusion or of its lifting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovernmentReview {
    /// 审核结论.
    pub decision: String,
    pub decided_on: NaiveDate,
    /// Meeting or document reference (会议纪要 / 文号).
    pub reference: String,
}

impl GovernmentReview {
    pub fn parse(
        decision: &str,
        decided_on: &str,
        reference: &str,
    ) -> Result<GovernmentReview, CatalogError> {
        let decision = decision.trim();
        let reference = reference.trim();
        let date = NaiveDate::parse_from_str(decided_on.trim(), "%Y-%m-%d").ok();
        match date {
            Some(decided_on) if decision.chars().count() >= 2 && reference.chars().count() >= 2 => {
                Ok(GovernmentReview {
                    decision: decision.to_owned(),
                    decided_on,
                    reference: reference.to_owned(),
                })
            }
            _ => Err(CatalogError::ReviewRecord),
        }
    }
}

/// An exclusion from authorized operation (负面清单条目).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegativeListEntry {
    pub reasons: String,
    pub review: GovernmentReview,
    pub listed_on: NaiveDate,
    /// The yearly review (Art. 15: 负面清单每年评估调整).
    pub next_review: Deadline,
}

impl NegativeListEntry {
    pub fn new(
        reasons: &str,
        review: GovernmentReview,
        today: NaiveDate,
    ) -> Result<NegativeListEntry, CatalogError> {
        let reasons = reasons.trim();
        if reasons.chars().count() < 10 {
            return Err(CatalogError::Reason);
        }
        Ok(NegativeListEntry {
            reasons: reasons.to_owned(),
            review,
            listed_on: today,
            next_review: yearly_review(today),
        })
    }
}

/// The next yearly review after `from`: the corresponding date a year later (a 年 period ends on the
/// corresponding date); never provisional, it is a calendar date.
pub fn yearly_review(from: NaiveDate) -> Deadline {
    Deadline { due: add_years(from, 1), provisional: false }
}

// ---- whether a resource may be used ---------------------------------------------------------------

/// What the catalogue knows about a resource that bears on its use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UseFacts {
    pub grade: Option<Grade>,
    pub coded: bool,
    pub cancelled: bool,
    pub on_negative_list: bool,
}

code_enum! {
    /// Why a resource may not be used in authorized operation.
    pub enum UseRefusal {
        NegativeList => ("resource.negative_list", "该资源已列入负面清单，不得申请、授权或查询"),
        CoreData => ("resource.core_data", "核心数据不得纳入授权运营"),
        Cancelled => ("resource.cancelled", "该资源已注销登记"),
        NotRegistered => ("resource.not_registered", "该资源尚未完成登记赋码"),
        NoItems => ("resource.no_items", "该资源尚未编目数据项"),
    }
}

/// The one question every data path asks. The negative list is checked first: it overrides everything.
pub fn usability(f: &UseFacts) -> Result<(), UseRefusal> {
    if f.on_negative_list {
        return Err(UseRefusal::NegativeList);
    }
    if f.grade == Some(Grade::Core) {
        return Err(UseRefusal::CoreData);
    }
    if f.cancelled {
        return Err(UseRefusal::Cancelled);
    }
    if !f.coded {
        return Err(UseRefusal::NotRegistered);
    }
    if f.grade.is_none() {
        return Err(UseRefusal::NoItems);
    }
    Ok(())
}

/// The grade → allowed-use mapping (configuration). Core data is never usable whatever the
/// configuration says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GradePolicy {
    rows: Vec<(Grade, BTreeSet<UsageClass>)>,
}

impl GradePolicy {
    /// One line per grade: `l3 = hidden, join_key, aggregate`. `#` starts a comment.
    pub fn parse(text: &str) -> Result<GradePolicy, CatalogError> {
        let mut rows = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (g, classes) = line.split_once('=').ok_or(CatalogError::GradePolicy(i + 1))?;
            let grade = Grade::parse(g).ok_or(CatalogError::GradePolicy(i + 1))?;
            let mut set = BTreeSet::new();
            for c in classes.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                set.insert(UsageClass::parse(c).ok_or(CatalogError::GradePolicy(i + 1))?);
            }
            if grade == Grade::Core {
                set.clear();
            }
            rows.push((grade, set));
        }
        Ok(GradePolicy { rows })
    }

    /// Usage classes a field of `grade` may be granted with.
    pub fn allowed(&self, grade: Grade) -> BTreeSet<UsageClass> {
        if grade == Grade::Core {
            return BTreeSet::new();
        }
        self.rows.iter().find(|(g, _)| *g == grade).map(|(_, s)| s.clone()).unwrap_or_default()
    }

    pub fn to_text(&self) -> String {
        self.rows
            .iter()
            .map(|(g, s)| {
                format!("{} = {}", g.code(), s.iter().map(|c| c.code()).collect::<Vec<_>>().join(", "))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Default for GradePolicy {
    /// The provincial practice of domain.md: L4 only as a pseudonymised join key, L3 aggregate-only,
    /// L2 also as a dimension, L1 open; important data aggregate-only; core data never.
    fn default() -> GradePolicy {
        let text = "l1 = hidden, join_key, aggregate, dimension, open
                    l2 = hidden, join_key, aggregate, dimension
                    l3 = hidden, join_key, aggregate
                    l4 = hidden, join_key
                    important = hidden, aggregate
                    core =";
        GradePolicy::parse(text).unwrap_or(GradePolicy { rows: Vec::new() })
    }
}

#[cfg(test)]
#[path = "catalog_test.rs"]
mod tests;

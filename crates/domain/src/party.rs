//! Parties of the measures (Art. 4–5, platform.md "Who uses it"): organisation types and the roles a
//! user holds inside an organisation.
//!
//! Organisation type says *what the organisation is* under the measures (数据主管部门, 运营机构 …);
//! role says *what the person does inside it* (经办, 负责人 …). Authorization combines both.

use std::collections::BTreeSet;
use std::fmt;

/// Kind of organisation (机构类型). The code strings are stable: they are stored and used in policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrgType {
    /// 数据主管部门 (省数据局, 州市数据局).
    DataAuthority,
    /// 实施机构 (省数据发展促进中心 and prefecture equivalents).
    ImplementingAgency,
    /// 运营机构.
    Operator,
    /// 开发主体 (企业, 科研院所).
    Developer,
    /// 数据提供单位 / 行业主管部门.
    DataProvider,
    /// 公共企事业单位 (供水、供气、供电、公共交通 — Art. 34): a data provider that is a public utility.
    PublicUtility,
    /// 登记机构, designated by the data authority.
    RegistrationBody,
    /// 运营平台建设运行保障机构: runs the platform itself.
    PlatformOperator,
    /// 监管部门 (网信、公安、审计、财政 …): read-only supervision.
    Supervisor,
}

impl OrgType {
    pub const ALL: [OrgType; 9] = [
        OrgType::DataAuthority,
        OrgType::ImplementingAgency,
        OrgType::Operator,
        OrgType::Developer,
        OrgType::DataProvider,
        OrgType::PublicUtility,
        OrgType::RegistrationBody,
        OrgType::PlatformOperator,
        OrgType::Supervisor,
    ];

    pub fn code(self) -> &'static str {
        match self {
            OrgType::DataAuthority => "data_authority",
            OrgType::ImplementingAgency => "implementing_agency",
            OrgType::Operator => "operator",
            OrgType::Developer => "developer",
            OrgType::DataProvider => "data_provider",
            OrgType::PublicUtility => "public_utility",
            OrgType::RegistrationBody => "registration_body",
            OrgType::PlatformOperator => "platform_operator",
            OrgType::Supervisor => "supervisor",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            OrgType::DataAuthority => "数据主管部门",
            OrgType::ImplementingAgency => "实施机构",
            OrgType::Operator => "运营机构",
            OrgType::Developer => "开发主体",
            OrgType::DataProvider => "数据提供单位",
            OrgType::PublicUtility => "公共企事业单位（数据提供）",
            OrgType::RegistrationBody => "登记机构",
            OrgType::PlatformOperator => "平台运行保障机构",
            OrgType::Supervisor => "监管部门",
        }
    }

    pub fn parse(code: &str) -> Result<OrgType, UnknownCode> {
        OrgType::ALL.into_iter().find(|t| t.code() == code).ok_or_else(|| UnknownCode(code.to_owned()))
    }

    /// Public utilities supply data like departments do (Art. 34).
    pub fn is_data_provider(self) -> bool {
        matches!(self, OrgType::DataProvider | OrgType::PublicUtility)
    }
}

impl fmt::Display for OrgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_zh())
    }
}

/// A role a user holds inside their organisation (岗位). A user may hold several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// 经办人: prepares and submits.
    Clerk,
    /// 负责人 (部门负责人): reviews and decides for the organisation.
    Head,
    /// 分管领导: the last step of chains that need it.
    Leader,
    /// 系统管理员 of the organisation (in the bureau and the platform operator: platform administration).
    Admin,
    /// 审核员: an operator's reviewer (output release, product review).
    Reviewer,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Clerk, Role::Head, Role::Leader, Role::Admin, Role::Reviewer];

    pub fn code(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Head => "head",
            Role::Leader => "leader",
            Role::Admin => "admin",
            Role::Reviewer => "reviewer",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Clerk => "经办人",
            Role::Head => "负责人",
            Role::Leader => "分管领导",
            Role::Admin => "系统管理员",
            Role::Reviewer => "审核员",
        }
    }

    pub fn parse(code: &str) -> Result<Role, UnknownCode> {
        Role::ALL.into_iter().find(|r| r.code() == code).ok_or_else(|| UnknownCode(code.to_owned()))
    }
}

/// A non-empty set of roles.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoleSet(BTreeSet<Role>);

impl RoleSet {
    pub fn new(roles: impl IntoIterator<Item = Role>) -> RoleSet {
        RoleSet(roles.into_iter().collect())
    }

    /// Parses a comma-separated list of role codes as stored ("clerk,head").
    pub fn parse_list(list: &str) -> Result<RoleSet, UnknownCode> {
        let mut set = BTreeSet::new();
        for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            set.insert(Role::parse(part)?);
        }
        Ok(RoleSet(set))
    }

    pub fn contains(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }

    /// The stored form, sorted, comma separated.
    pub fn to_list(&self) -> String {
        self.0.iter().map(|r| r.code()).collect::<Vec<_>>().join(",")
    }

    pub fn labels_zh(&self) -> String {
        self.0.iter().map(|r| r.label_zh()).collect::<Vec<_>>().join("、")
    }

    /// Administrators and reviewers must use a second factor in production (platform.md).
    pub fn requires_second_factor(&self) -> bool {
        self.contains(Role::Admin) || self.contains(Role::Reviewer)
    }
}

/// A code that names no known organisation type or role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown code `{0}`")]
pub struct UnknownCode(pub String);

#[cfg(test)]
#[path = "party_test.rs"]
mod tests;

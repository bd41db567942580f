//! Real-name personnel rules (Art. 25(1)): everyone who processes data is real-name authenticated,
//! filed (人员备案), and under a confidentiality agreement (保密协议). Also the password policy.
//!
//! A user lacking any of these may still log in (to complete them), but is refused every data access;
//! [`data_access_gaps`] is the one place that decides it, so later issues call it on every data path.

use chrono::NaiveDate;

/// Result of the identity verifier (实名核验) as recorded on the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityStatus {
    /// Not yet checked.
    Unverified,
    /// Confirmed by the named verifier.
    Verified,
    /// The verifier refused the name/ID pair.
    Failed,
}

impl IdentityStatus {
    pub fn code(&self) -> &'static str {
        match self {
            IdentityStatus::Unverified => "unverified",
            IdentityStatus::Verified => "verified",
            IdentityStatus::Failed => "failed",
        }
    }
    pub fn parse(code: &str) -> IdentityStatus {
        match code {
            "verified" => IdentityStatus::Verified,
            "failed" => IdentityStatus::Failed,
            _ => IdentityStatus::Unverified,
        }
    }
    pub fn label_zh(&self) -> &'static str {
        match self {
            IdentityStatus::Unverified => "未核验",
            IdentityStatus::Verified => "已核验",
            IdentityStatus::Failed => "核验未通过",
        }
    }
}

/// Personnel filing (人员备案) state, decided by the organisation's internal approval chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilingStatus {
    NotSubmitted,
    Pending,
    Approved,
    Returned,
    Rejected,
}

impl FilingStatus {
    pub fn code(self) -> &'static str {
        match self {
            FilingStatus::NotSubmitted => "not_submitted",
            FilingStatus::Pending => "pending",
            FilingStatus::Approved => "approved",
            FilingStatus::Returned => "returned",
            FilingStatus::Rejected => "rejected",
        }
    }
    pub fn parse(code: &str) -> FilingStatus {
        match code {
            "pending" => FilingStatus::Pending,
            "approved" => FilingStatus::Approved,
            "returned" => FilingStatus::Returned,
            "rejected" => FilingStatus::Rejected,
            _ => FilingStatus::NotSubmitted,
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            FilingStatus::NotSubmitted => "未备案",
            FilingStatus::Pending => "备案审核中",
            FilingStatus::Approved => "已备案",
            FilingStatus::Returned => "已退回",
            FilingStatus::Rejected => "备案未通过",
        }
    }
}

/// A confidentiality agreement on file (保密协议).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfidentialityAgreement {
    pub signed_on: NaiveDate,
    /// `None` = valid until the person leaves.
    pub expires_on: Option<NaiveDate>,
}

impl ConfidentialityAgreement {
    /// Builds an agreement; an expiry on or before the signing date is refused.
    pub fn new(signed_on: NaiveDate, expires_on: Option<NaiveDate>) -> Result<Self, PersonnelError> {
        if let Some(exp) = expires_on
            && exp <= signed_on
        {
            return Err(PersonnelError::AgreementExpiryBeforeSigning);
        }
        Ok(ConfidentialityAgreement { signed_on, expires_on })
    }

    /// Current on `today`: signed already and not expired.
    pub fn is_current(&self, today: NaiveDate) -> bool {
        self.signed_on <= today && self.expires_on.is_none_or(|e| today <= e)
    }
}

/// Why a user may not touch data yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessGap {
    Deactivated,
    IdentityNotVerified,
    FilingNotApproved,
    NoCurrentAgreement,
}

impl AccessGap {
    pub fn code(self) -> &'static str {
        match self {
            AccessGap::Deactivated => "personnel.deactivated",
            AccessGap::IdentityNotVerified => "personnel.identity_not_verified",
            AccessGap::FilingNotApproved => "personnel.filing_not_approved",
            AccessGap::NoCurrentAgreement => "personnel.no_current_agreement",
        }
    }
    pub fn message_zh(self) -> &'static str {
        match self {
            AccessGap::Deactivated => "账号已停用",
            AccessGap::IdentityNotVerified => "尚未完成实名核验",
            AccessGap::FilingNotApproved => "人员备案尚未通过",
            AccessGap::NoCurrentAgreement => "没有在有效期内的保密协议",
        }
    }
}

/// The facts about one person that decide data access.
#[derive(Debug, Clone)]
pub struct PersonnelRecord {
    pub active: bool,
    pub identity: IdentityStatus,
    pub filing: FilingStatus,
    pub agreement: Option<ConfidentialityAgreement>,
}

/// Every reason this person is refused data access on `today`; empty means allowed (Art. 25(1)).
pub fn data_access_gaps(p: &PersonnelRecord, today: NaiveDate) -> Vec<AccessGap> {
    let mut gaps = Vec::new();
    if !p.active {
        gaps.push(AccessGap::Deactivated);
    }
    if p.identity != IdentityStatus::Verified {
        gaps.push(AccessGap::IdentityNotVerified);
    }
    if p.filing != FilingStatus::Approved {
        gaps.push(AccessGap::FilingNotApproved);
    }
    if !p.agreement.as_ref().is_some_and(|a| a.is_current(today)) {
        gaps.push(AccessGap::NoCurrentAgreement);
    }
    gaps
}

/// A person's name as registered (实名): 2–40 characters, no control characters or digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<PersonName, PersonnelError> {
        let name = raw.trim();
        let n = name.chars().count();
        if !(2..=40).contains(&n) {
            return Err(PersonnelError::NameLength);
        }
        if name.chars().any(|c| c.is_control() || c.is_ascii_digit() || "<>\"'&;".contains(c)) {
            return Err(PersonnelError::NameCharacters);
        }
        Ok(PersonName(name.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A login name: 3–32 of a–z, 0–9, `.`, `_`, `-`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Username, PersonnelError> {
        let u = raw.trim().to_ascii_lowercase();
        let ok_len = (3..=32).contains(&u.len());
        let ok_first = u.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        let ok_chars = u.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
        if ok_len && ok_first && ok_chars { Ok(Username(u)) } else { Err(PersonnelError::UsernameFormat) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The password policy: at least 10 characters from at least 3 of the 4 classes (upper, lower,
/// digit, symbol), not containing the login name. Returns the password unchanged when it passes.
pub fn check_password_policy(password: &str, username: &str) -> Result<(), PersonnelError> {
    if password.chars().count() < 10 {
        return Err(PersonnelError::PasswordTooShort);
    }
    if password.chars().count() > 128 {
        return Err(PersonnelError::PasswordTooLong);
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|b| **b).count() < 3 {
        return Err(PersonnelError::PasswordTooSimple);
    }
    if !username.is_empty() && password.to_ascii_lowercase().contains(&username.to_ascii_lowercase()) {
        return Err(PersonnelError::PasswordContainsUsername);
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonnelError {
    #[error("the agreement expires on or before its signing date")]
    AgreementExpiryBeforeSigning,
    #[error("a name has 2 to 40 characters")]
    NameLength,
    #[error("a name may not contain digits, markup or control characters")]
    NameCharacters,
    #[error("a login name has 3–32 characters a–z, 0–9, '.', '_', '-' and starts with a letter")]
    UsernameFormat,
    #[error("the password is shorter than 10 characters")]
    PasswordTooShort,
    #[error("the password is longer than 128 characters")]
    PasswordTooLong,
    #[error("the password needs 3 of: upper case, lower case, digits, symbols")]
    PasswordTooSimple,
    #[error("the password contains the login name")]
    PasswordContainsUsername,
}

impl PersonnelError {
    pub fn code(&self) -> &'static str {
        match self {
            PersonnelError::AgreementExpiryBeforeSigning => "agreement.expiry_before_signing",
            PersonnelError::NameLength => "name.length",
            PersonnelError::NameCharacters => "name.characters",
            PersonnelError::UsernameFormat => "username.format",
            PersonnelError::PasswordTooShort => "password.too_short",
            PersonnelError::PasswordTooLong => "password.too_long",
            PersonnelError::PasswordTooSimple => "password.too_simple",
            PersonnelError::PasswordContainsUsername => "password.contains_username",
        }
    }
    pub fn message_zh(&self) -> &'static str {
        match self {
            PersonnelError::AgreementExpiryBeforeSigning => "保密协议的到期日期必须晚于签署日期",
            PersonnelError::NameLength => "姓名应为 2 至 40 个字符",
            PersonnelError::NameCharacters => "姓名不能包含数字、标记符号或控制字符",
            PersonnelError::UsernameFormat => "登录名应为 3 至 32 位小写字母、数字或 . _ -，并以字母开头",
            PersonnelError::PasswordTooShort => "密码至少 10 位",
            PersonnelError::PasswordTooLong => "密码最多 128 位",
            PersonnelError::PasswordTooSimple => "密码须包含大写字母、小写字母、数字、符号中的至少三类",
            PersonnelError::PasswordContainsUsername => "密码不能包含登录名",
        }
    }
}

#[cfg(test)]
#[path = "personnel_test.rs"]
mod tests;

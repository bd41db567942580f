//! The demo story of `ui-and-demo.md` as seed data: the parties of the measures in Yunnan, each
//! organisation with a valid 统一社会信用代码 and at least an 经办 and a 负责人, and personnel in every
//! state (complete, filing awaiting the 负责人, filing returned, no agreement yet). All people and
//! organisations are fictional; identifiers are generated with valid check characters.

mod catalog;
mod data_use;
pub mod datasets;
mod evaluations;
mod onboarding;
mod plans;
mod sanctions;
pub use catalog::seed_catalog;
pub use data_use::seed_data_use;
pub use evaluations::seed_evaluations;
pub use onboarding::seed_onboarding;
pub use plans::seed_plans;
pub use sanctions::seed_sanctions;

use chrono::{DateTime, Duration, Utc};
use yunshu_domain::approval::{Approval, ChainSpec};
use yunshu_domain::ids::{Mobile, ResidentId, Uscc};
use yunshu_domain::party::{OrgType, Role, RoleSet};
use yunshu_domain::personnel::{ConfidentialityAgreement, FilingStatus, IdentityStatus};
use yunshu_domain::regions::RegionCode;
use yunshu_store::approvals::ApprovalSubject;
use yunshu_store::orgs::NewOrg;
use yunshu_store::users::{IdentityResult, NewUser};
use yunshu_store::{AuditCtx, Store, StoreError};

use crate::auth::hash_password;
use crate::services::FILING_ACTION;

/// The password of every demo account (meets the password policy).
pub const DEMO_PASSWORD: &str = "Yunshu@2026";

/// What a demo user's personnel record looks like after seeding.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Personnel {
    Complete,
    FilingPending,
    FilingReturned,
    NoAgreement,
}

struct DemoUser {
    username: &'static str,
    name: &'static str,
    roles: &'static [Role],
    personnel: Personnel,
}

struct DemoOrg {
    name: &'static str,
    /// Registration authority + category (1 1 = 机构编制/机关, 1 2 = 事业单位, 9 1 = 工商/企业).
    kind: &'static str,
    org_type: OrgType,
    region: &'static str,
    users: &'static [DemoUser],
}

const fn u(username: &'static str, name: &'static str, roles: &'static [Role]) -> DemoUser {
    DemoUser { username, name, roles, personnel: Personnel::Complete }
}

const fn u_in(
    username: &'static str,
    name: &'static str,
    roles: &'static [Role],
    personnel: Personnel,
) -> DemoUser {
    DemoUser { username, name, roles, personnel }
}

use Role::{Admin, Clerk, Head, Leader, Reviewer};

const ORGS: &[DemoOrg] = &[
    DemoOrg {
        name: "云南省数据局",
        kind: "11",
        org_type: OrgType::DataAuthority,
        region: "530000",
        users: &[
            u("bureau.admin", "李建华", &[Admin]),
            u("bureau.clerk", "赵明远", &[Clerk]),
            u("bureau.head", "杨志刚", &[Head, Leader]),
        ],
    },
    DemoOrg {
        name: "云南省数据发展促进中心",
        kind: "12",
        org_type: OrgType::ImplementingAgency,
        region: "530000",
        users: &[u("agency.clerk", "刘晓燕", &[Clerk]), u("agency.head", "陈国栋", &[Head])],
    },
    DemoOrg {
        name: "云南省数据资源登记中心",
        kind: "12",
        org_type: OrgType::RegistrationBody,
        region: "530000",
        users: &[u("reg.clerk", "王丽华", &[Clerk]), u("reg.head", "张德胜", &[Head])],
    },
    DemoOrg {
        name: "云南省运营平台运行保障中心",
        kind: "12",
        org_type: OrgType::PlatformOperator,
        region: "530000",
        users: &[
            u("platform.admin", "周海涛", &[Admin]),
            u("platform.clerk", "孙敏", &[Clerk]),
            u("platform.head", "吴卫东", &[Head]),
        ],
    },
    DemoOrg {
        name: "云数运营（云南）有限公司",
        kind: "91",
        org_type: OrgType::Operator,
        region: "530000",
        users: &[
            u("op.clerk", "黄佳怡", &[Clerk]),
            u("op.head", "郑宏伟", &[Head]),
            u("op.reviewer1", "马云飞", &[Reviewer]),
            u("op.reviewer2", "罗静", &[Reviewer]),
            u_in("op.newhire", "何俊杰", &[Clerk], Personnel::FilingPending),
        ],
    },
    DemoOrg {
        name: "云南省市场监督管理局",
        kind: "11",
        org_type: OrgType::DataProvider,
        region: "530000",
        users: &[u("amr.clerk", "许文斌", &[Clerk]), u("amr.head", "段春梅", &[Head])],
    },
    DemoOrg {
        name: "云南省人力资源和社会保障厅",
        kind: "11",
        org_type: OrgType::DataProvider,
        region: "530000",
        users: &[u("hrss.clerk", "普丽萍", &[Clerk]), u("hrss.head", "李正清", &[Head])],
    },
    DemoOrg {
        name: "云南省住房公积金管理中心",
        kind: "12",
        org_type: OrgType::DataProvider,
        region: "530000",
        users: &[u("fund.clerk", "杨晓丹", &[Clerk]), u("fund.head", "王建国", &[Head])],
    },
    DemoOrg {
        name: "云南省文化和旅游厅",
        kind: "11",
        org_type: OrgType::DataProvider,
        region: "530000",
        users: &[u("tour.clerk", "和丽君", &[Clerk]), u("tour.head", "施永华", &[Head])],
    },
    DemoOrg {
        name: "春城供水集团有限公司",
        kind: "91",
        org_type: OrgType::PublicUtility,
        region: "530100",
        users: &[u("water.clerk", "钱卫国", &[Clerk]), u("water.head", "董立新", &[Head])],
    },
    DemoOrg {
        name: "昆明市数据局",
        kind: "11",
        org_type: OrgType::DataAuthority,
        region: "530100",
        users: &[
            u("km.admin", "刘春生", &[Admin]),
            u("km.clerk", "高文静", &[Clerk]),
            u("km.head", "谢国强", &[Head, Leader]),
        ],
    },
    DemoOrg {
        name: "昆明市数据发展中心",
        kind: "12",
        org_type: OrgType::ImplementingAgency,
        region: "530100",
        users: &[u("kmagency.clerk", "邓雪梅", &[Clerk]), u("kmagency.head", "胡志明", &[Head])],
    },
    DemoOrg {
        name: "大理白族自治州数据局",
        kind: "11",
        org_type: OrgType::DataAuthority,
        region: "532900",
        users: &[
            u("dali.admin", "赵金花", &[Admin]),
            u("dali.clerk", "杨阿鹏", &[Clerk]),
            u("dali.head", "段正平", &[Head]),
        ],
    },
    DemoOrg {
        name: "滇金普惠金融科技有限公司",
        kind: "91",
        org_type: OrgType::Developer,
        region: "530102",
        users: &[
            u("fintech.clerk", "林小雨", &[Clerk]),
            u("fintech.head", "徐振华", &[Head]),
            u_in("fintech.analyst", "蒋思远", &[Clerk], Personnel::FilingReturned),
            u_in("fintech.intern", "沈佳琪", &[Clerk], Personnel::NoAgreement),
        ],
    },
    DemoOrg {
        name: "彩云文旅数据科技有限公司",
        kind: "91",
        org_type: OrgType::Developer,
        region: "532901",
        users: &[u("travel.clerk", "字丽娟", &[Clerk]), u("travel.head", "杨顺昌", &[Head])],
    },
    DemoOrg {
        name: "中共云南省委网络安全和信息化委员会办公室",
        kind: "11",
        org_type: OrgType::Supervisor,
        region: "530000",
        users: &[u("cac.clerk", "宋立军", &[Clerk]), u("cac.head", "韩晓东", &[Head])],
    },
];

/// An account the demo prints.
pub struct DemoAccount {
    pub username: String,
    pub name: String,
    pub org: String,
    pub roles: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("seed data: {0}")]
    Data(String),
}

fn data_err(e: impl std::fmt::Display) -> SeedError {
    SeedError::Data(e.to_string())
}

/// Seeds the demo story unless the database already has organisations. Returns the accounts.
pub async fn seed(store: &Store, now: DateTime<Utc>) -> Result<Vec<DemoAccount>, SeedError> {
    let accounts = accounts();
    if store.count_orgs().await? > 0 {
        return Ok(accounts);
    }
    let today = crate::web::beijing_date(now);
    // One hash for all demo accounts: argon2id is deliberately slow.
    let hash = hash_password(DEMO_PASSWORD).map_err(|e| SeedError::Data(e.message))?;
    let cal = store.work_calendar().await?;
    let ctx = AuditCtx::system("demo-seed");
    let mut person = 0u32;
    for (i, o) in ORGS.iter().enumerate() {
        let region = RegionCode::parse(o.region).map_err(data_err)?;
        // 8-character organisation code body, deterministic and distinct per organisation.
        let body = format!("{}{}{:08}", o.kind, o.region, 31_000_000 + (i as u32) * 7_919);
        let uscc = Uscc::complete(&body).map_err(data_err)?;
        // Seed history is spread over the past weeks so timelines look lived in.
        let at = now - Duration::days(40) + Duration::hours(i as i64);
        let mut tx = store.begin(at, &ctx).await?;
        let org_id =
            tx.create_org(&NewOrg { name: o.name.to_owned(), uscc, org_type: o.org_type, region }).await?;
        let mut ids = Vec::new();
        for d in o.users {
            person += 1;
            // Born in the org's prefecture; sequence odd or even by position.
            let birth =
                format!("19{:02}{:02}{:02}", 70 + (person % 25), 1 + (person % 12), 1 + (person % 27));
            let rid_region = if o.region.ends_with("0000") { "530102" } else { o.region };
            let rid =
                ResidentId::complete(&format!("{rid_region}{birth}{:03}", 100 + person)).map_err(data_err)?;
            let mobile =
                Mobile::parse(&format!("139{:08}", 87_000_000 + person * 1_371)).map_err(data_err)?;
            let id = tx
                .create_user(&NewUser {
                    org_id,
                    username: d.username.to_owned(),
                    display_name: d.name.to_owned(),
                    resident_id: rid,
                    mobile,
                    roles: RoleSet::new(d.roles.iter().copied()),
                    password_hash: hash.clone(),
                })
                .await?;
            tx.record_identity(
                id,
                &IdentityResult {
                    status: IdentityStatus::Verified,
                    verifier: "format-only".into(),
                    detail: "演示数据：仅校验了身份证号码格式与校验位".into(),
                },
            )
            .await?;
            if d.personnel != Personnel::NoAgreement {
                let signed = today - Duration::days(60);
                let a = ConfidentialityAgreement::new(signed, Some(signed + Duration::days(3 * 365)))
                    .map_err(data_err)?;
                tx.record_agreement(id, &a, &format!("保密〔2026〕{:03}号", person)).await?;
            }
            if d.personnel == Personnel::Complete || d.personnel == Personnel::NoAgreement {
                tx.set_filing(id, FilingStatus::Approved, None).await?;
            }
            ids.push((id, d));
        }
        tx.commit().await?;
        // Filings that wait for the 负责人, or were sent back, go through the real chain.
        for (id, d) in &ids {
            if !matches!(d.personnel, Personnel::FilingPending | Personnel::FilingReturned) {
                continue;
            }
            let heads: Vec<i64> =
                ids.iter().filter(|(_, x)| x.roles.contains(&Head)).map(|(i, _)| *i).collect();
            let clerk =
                ids.iter().find(|(i, x)| x.roles.contains(&Clerk) && i != id).map(|(i, _)| *i).unwrap_or(*id);
            let (mut approval, _) = Approval::start(clerk, ChainSpec::head_only(), |r| {
                if r == Head { heads.clone() } else { vec![] }
            })
            .map_err(data_err)?;
            let when = now - Duration::days(if d.personnel == Personnel::FilingPending { 3 } else { 8 });
            let mut tx = store
                .begin(when, &AuditCtx { user_id: Some(clerk), org_id: Some(org_id), ..ctx.clone() })
                .await?;
            let approval_id = tx
                .insert_approval(
                    &ApprovalSubject {
                        org_id,
                        action: FILING_ACTION,
                        subject_type: "user",
                        subject_id: id.to_string(),
                        title: format!("人员备案：{}（{}）", d.name, d.username),
                    },
                    &approval,
                    &cal,
                    crate::web::beijing_date(when),
                )
                .await?;
            tx.set_filing(*id, FilingStatus::Pending, Some(approval_id)).await?;
            tx.audit(yunshu_store::Change::ok(
                "user.submit_filing",
                "user",
                id,
                serde_json::json!({"approval_id": approval_id}),
            ))
            .await?;
            tx.commit().await?;
            if d.personnel == Personnel::FilingReturned
                && let Some(head) = heads.first()
            {
                let rec = store.approval(approval_id).await?;
                approval
                    .send_back(*head, "保密协议扫描件不清晰，请重新上传后再提交".into())
                    .map_err(data_err)?;
                let later = when + Duration::days(2);
                let mut tx = store
                    .begin(later, &AuditCtx { user_id: Some(*head), org_id: Some(org_id), ..ctx.clone() })
                    .await?;
                tx.save_approval(&rec, &approval, &cal, crate::web::beijing_date(later)).await?;
                tx.set_filing(*id, FilingStatus::Returned, None).await?;
                tx.audit(yunshu_store::Change::ok(
                    "approval.return",
                    "approval",
                    approval_id,
                    serde_json::json!({"comment": "保密协议扫描件不清晰，请重新上传后再提交"}),
                ))
                .await?;
                tx.commit().await?;
            }
        }
    }
    Ok(accounts)
}

pub fn accounts() -> Vec<DemoAccount> {
    ORGS.iter()
        .flat_map(|o| {
            o.users.iter().map(|d| DemoAccount {
                username: d.username.to_owned(),
                name: d.name.to_owned(),
                org: o.name.to_owned(),
                roles: RoleSet::new(d.roles.iter().copied()).labels_zh(),
            })
        })
        .collect()
}

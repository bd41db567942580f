//! The demo's implementation plans and operation agreement (Art. 8–11): a provincial plan awaiting
//! the government's review, an approved provincial plan, a 昆明 plan approved two months ago whose
//! filing with the provincial bureau is overdue, and the full record (14 clauses, selection, decision,
//! signatures) of the 云数运营 agreement that onboarding recorded with its term only. Seeded through
//! the same services as the UI, acting as the demo users at past times.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use yunshu_domain::authorization::operator::{
    AgreementStatus, OperationAgreement, OperatorSelection, SelectionMethod,
};
use yunshu_domain::authorization::{AuthorizationMode, CollectiveDecision, DecisionOutcome, Level};
use yunshu_store::AuditCtx;
use yunshu_store::plans::agreement_content_from;

use super::SeedError;
use crate::AppState;
use crate::context::Ctx;
use crate::services::plans::{self as svc, PlanInput, PlanMove, PlanMoveInput};

async fn as_user(state: &AppState, user: &str, at: DateTime<Utc>) -> Result<Ctx, SeedError> {
    Ctx::console(&state.store, user, at, "demo-seed").await.map_err(|e| SeedError::Data(e.message))
}

fn step<T>(what: &str, r: Result<T, crate::error::AppError>) -> Result<T, SeedError> {
    r.map_err(|e| SeedError::Data(format!("{what}: {}", e.message)))
}

/// The twelve items of a demo plan.
pub fn demo_content(name: &str, resource: &str) -> Value {
    json!({
        "name": name,
        "necessity": "释放公共数据要素价值，支撑普惠金融、文旅等重点领域应用；已开展需求调研和专家论证",
        "operator_conditions": [
            {"category": "capital", "requirement": "注册资本不低于 5000 万元，财务状况良好"},
            {"category": "management", "requirement": "建立数据管理、合规审核和内部控制制度"},
            {"category": "technology", "requirement": "具备隐私计算、数据沙箱等技术能力"},
            {"category": "service", "requirement": "提供 7×24 小时运维和需求响应服务"},
            {"category": "security", "requirement": "通过网络安全等级保护三级测评"}
        ],
        "mode": "whole",
        "data_resources": [{"id": "R1", "code": resource, "name": "市场主体登记信息"}],
        "update_frequency": "每日更新",
        "data_quality": "完整率不低于 99%，准确率不低于 98%",
        "term_years": 5,
        "construction": "建设公共数据授权运营平台及数据产品开发环境",
        "technical_support": "依托省级政务云和可信数据空间",
        "schedule": [{"name": "平台上线试运行", "due": "2027-06-30"}, {"name": "首批产品上线", "due": "2027-12-31"}],
        "evaluation_criteria": [
            {"name": "数据供给与质量", "weight": 30}, {"name": "产品和服务成效", "weight": 40},
            {"name": "安全合规", "weight": 30}
        ],
        "exit_conditions": ["连续两年运营成效评价不合格", "发生重大数据安全事件"],
        "asset_management": "运营形成的数据资产登记入账，权属按协议约定",
        "products": [
            {"name": "企业信用核验接口", "class": "public_welfare", "form": "data_api"},
            {"name": "普惠金融风控模型", "class": "industry_development", "form": "model"}
        ],
        "cost_accounting": "按项目归集经营成本和收入",
        "revenue_sharing": "收益按协议约定比例分配，优先用于数据治理",
        "data_security": "数据分类分级保护，原始数据不出域",
        "personal_information": "个人信息去标识化、匿名化处理",
        "emergency_measures": "制定数据安全事件应急预案，每年演练",
        "rights_duties": "实施机构、运营机构、数据提供单位权利义务见运营协议",
        "supervision": "接受数据主管部门监督，年度开展运营成效评价",
        "other": "无"
    })
}

fn demo_feasibility(held_on: &str) -> Value {
    json!({"lifecycle": "覆盖归集、治理、开发、交付全生命周期", "social_demand": "金融机构、企业需求旺盛",
           "scenarios": "普惠金融、文旅客流", "market_size": "预计年服务量 1000 万次",
           "expected_effect": "降低中小企业融资成本", "risk_control": "安全评估与合规审核双机制",
           "held_on": held_on})
}

/// Creates a plan as `user` at `at` and moves it as far as `until` (decision or review).
async fn seed_plan(
    state: &AppState,
    user: &str,
    at: DateTime<Utc>,
    name: &str,
    resource: &str,
    review: bool,
) -> Result<i64, SeedError> {
    let ctx = as_user(state, user, at).await?;
    let today = ctx.today().to_string();
    let input = PlanInput { content: demo_content(name, resource), feasibility: demo_feasibility(&today) };
    let id = step("plan.create", svc::create_plan(state, &ctx, &input).await)?;
    let none = PlanMoveInput::default();
    step("plan.submit", svc::move_plan(state, &ctx, id, PlanMove::Submit, &none).await)?;
    let decision = PlanMoveInput {
        meeting: "单位党委会（三重一大集体决策）".into(),
        date: today.clone(),
        outcome: "approved".into(),
        minutes_ref: "会议纪要〔2026〕8号".into(),
        ..PlanMoveInput::default()
    };
    step("plan.decision", svc::move_plan(state, &ctx, id, PlanMove::Decision, &decision).await)?;
    if review {
        let r = PlanMoveInput {
            meeting_ref: "人民政府常务会议审议通过".into(),
            date: today,
            outcome: "approved".into(),
            ..PlanMoveInput::default()
        };
        step("plan.review", svc::move_plan(state, &ctx, id, PlanMove::Review, &r).await)?;
    }
    Ok(id)
}

/// Seeds the plans and the full record of the operator's agreement unless plans exist already (a
/// restart on the same data directory seeds nothing twice). Runs after `seed_onboarding`.
pub async fn seed_plans(state: &AppState, now: DateTime<Utc>) -> Result<(), SeedError> {
    if !state.store.plans().await?.is_empty() {
        return Ok(());
    }
    seed_plan(
        state,
        "agency.clerk",
        now - Duration::days(120),
        "云南省公共数据授权运营实施方案",
        "530000-AMR-001",
        true,
    )
    .await?;
    seed_plan(
        state,
        "kmagency.clerk",
        now - Duration::days(60),
        "昆明市公共数据授权运营实施方案",
        "530100-AMR-001",
        true,
    )
    .await?;
    seed_plan(
        state,
        "agency.clerk",
        now - Duration::days(10),
        "云南省文旅公共数据授权运营实施方案",
        "530000-CT-001",
        false,
    )
    .await?;

    // A draft the agency is still writing (not submitted).
    let ctx = as_user(state, "agency.clerk", now - Duration::days(2)).await?;
    let input = PlanInput {
        content: demo_content("云南省高原特色农业公共数据授权运营实施方案", "530000-AGR-001"),
        feasibility: demo_feasibility(&ctx.today().to_string()),
    };
    step("plan.create", svc::create_plan(state, &ctx, &input).await)?;

    // The onboarding agreement of 云数运营 gets its selection, decision, 14 clauses and signatures.
    for (id, agency, operator) in state.store.agreements_without_detail().await? {
        let Some(base) = state.store.operation_agreement_of(operator).await? else { continue };
        if base.id != id {
            continue;
        }
        let term = base.term;
        let operator_name = state.store.org(operator).await?.name;
        let mut content = agreement_content_from(&demo_clauses())
            .map_err(|b| SeedError::Data(format!("demo clauses: {}", b.0)))?;
        content.term = Some(term);
        let before = term.start - Duration::days(20);
        let a = OperationAgreement {
            agency,
            level: Level::Province,
            mode: AuthorizationMode::Whole,
            industry_department: None,
            selection: Some(OperatorSelection {
                method: SelectionMethod::PublicTender,
                method_note: String::new(),
                participants: vec![
                    operator_name.clone(),
                    "滇数科技有限公司".into(),
                    "彩云数据服务有限公司".into(),
                ],
                winner: operator_name,
                winner_org: operator,
                decided_on: before,
            }),
            agency_decision: Some(CollectiveDecision {
                meeting: "单位党委会（三重一大集体决策）".into(),
                date: before + Duration::days(5),
                outcome: DecisionOutcome::Approved,
                minutes_ref: "会议纪要〔2026〕3号".into(),
            }),
            content,
            signed_by_agency: Some(term.start),
            signed_by_industry_department: None,
            signed_by_operator: Some(term.start),
            status: if base.status == AgreementStatus::Draft { AgreementStatus::Signed } else { base.status },
            signed_on: Some(term.start),
            filing: yunshu_domain::authorization::Filing::NOT_REQUIRED,
            renewals: Vec::new(),
            terminated_on: None,
            termination_reason: String::new(),
        };
        let at = now - Duration::days(199);
        let mut tx = state.store.begin(at, &AuditCtx::system("demo-seed")).await?;
        tx.insert_agreement_detail(id, &a).await?;
        tx.commit().await?;
    }
    Ok(())
}

fn demo_clauses() -> Value {
    json!({
        "data_resources": [
            {"id": "R1", "code": "530000-AMR-001", "name": "市场主体登记信息"},
            {"id": "R2", "code": "530000-TAX-003", "name": "纳税信用等级"}
        ],
        "products": [
            {"name": "企业信用核验接口", "class": "public_welfare", "form": "data_api"},
            {"name": "普惠金融风控模型", "class": "industry_development", "form": "model"}
        ],
        "technical_standards": "符合 GB/T 35273、GB/T 37988 等标准",
        "security_review": "产品上线前经安全审核",
        "compliance_review": "产品上线前经业务规范性审核",
        "platform": "云数公共数据授权运营平台",
        "asset_ownership": "运营形成的数据资产按本协议约定确权登记",
        "disclosure": "每季度披露运营情况；运营机构不得参与再开发",
        "no_redevelopment_undertaking": true,
        "cost_revenue": "经营成本和收入单独核算，收益分配按附件执行",
        "security": "落实数据安全和个人信息保护要求，建立风险监测和应急处置机制",
        "evaluation_renewal": "年度运营成效评价，期满评价合格可续约，不合格退出",
        "liability": "违反协议约定的，按附件承担违约责任",
        "disputes": "协商不成的，提交昆明仲裁委员会仲裁",
        "change_termination": "经双方协商一致可变更；出现法定或约定情形时终止",
        "confidentiality": "双方对履约中知悉的数据和商业秘密承担保密义务",
        "other": "未尽事宜另行约定"
    })
}

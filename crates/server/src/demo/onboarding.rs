//! The demo's developer onboarding (Art. 12–13): the operator's own agreement (in force, 5 years), a
//! scenario the operator published (普惠金融) and one a developer proposed and the operator assessed
//! (文旅客流), and applications in every interesting state — under review, returned for supplement, in
//! public notice with an open objection, and signed (滇金普惠 holds a development agreement in force).
//! Seeded through the same services as the UI, acting as the demo users at past times.

use chrono::{DateTime, Duration, Utc};
use yunshu_domain::authorization::Term;
use yunshu_domain::authorization::operator::AgreementStatus;
use yunshu_store::AuditCtx;

use super::SeedError;
use crate::AppState;
use crate::context::Ctx;
use crate::services::onboarding::{
    self as svc, AppMove, AppMoveInput, AssessmentInput, CheckInput, MaterialsInput, ObjectionInput,
    ScenarioInput,
};

async fn as_user(state: &AppState, user: &str, at: DateTime<Utc>) -> Result<Ctx, SeedError> {
    Ctx::console(&state.store, user, at, "demo-seed").await.map_err(|e| SeedError::Data(e.message))
}

fn step<T>(what: &str, r: Result<T, crate::error::AppError>) -> Result<Option<T>, SeedError> {
    match r {
        Ok(v) => Ok(Some(v)),
        // A step the calendar cannot take leaves the application one state earlier.
        Err(e) if e.code == "calendar.not_published" => {
            tracing::warn!(step = what, error = %e.message, "demo onboarding step skipped");
            Ok(None)
        }
        Err(e) => Err(SeedError::Data(format!("{what}: {}", e.message))),
    }
}

/// Uploads the four required materials as small PDF files and returns their ids.
async fn materials(state: &AppState, ctx: &Ctx, org: &str) -> Result<Vec<i64>, SeedError> {
    let kinds = [
        ("development_plan", "应用场景开发利用方案"),
        ("security_commitment", "数据安全承诺书"),
        ("credit_report", "信用状况报告"),
        ("qualification_proof", "资格证明材料"),
    ];
    let mut ids = Vec::new();
    for (kind, label) in kinds {
        let body = format!("%PDF-1.4\n% {org} {label}（演示材料）\n%%EOF\n");
        let name = format!("{label}.pdf");
        let r = svc::upload_material(state, ctx, kind, &name, "application/pdf", body.as_bytes()).await;
        if let Some((id, _)) = step("upload", r)? {
            ids.push(id);
        }
    }
    Ok(ids)
}

fn all_met() -> Vec<CheckInput> {
    ["business_credit", "technical_capability", "data_management", "data_security", "other_rules"]
        .into_iter()
        .map(|c| CheckInput { condition: c.to_owned(), met: true, note: String::new() })
        .collect()
}

/// Applies and walks an application through the operator's moves, each at its own time.
async fn walk(
    state: &AppState,
    now: DateTime<Utc>,
    applicant: &str,
    scenario: i64,
    began: i64,
    moves: &[(AppMove, AppMoveInput, i64)],
) -> Result<Option<i64>, SeedError> {
    let at = |h: i64| now - Duration::days(began) + Duration::hours(h);
    let dev = as_user(state, applicant, at(0)).await?;
    let ids = materials(state, &dev, applicant).await?;
    let dev = as_user(state, applicant, at(1)).await?;
    let Some(id) =
        step("apply", svc::apply(state, &dev, scenario, &MaterialsInput { material_ids: ids }).await)?
    else {
        return Ok(None);
    };
    for (mv, input, h) in moves {
        let op = as_user(state, "op.clerk", at(*h)).await?;
        if step("application", svc::move_application(state, &op, id, *mv, input).await)?.is_none() {
            break;
        }
    }
    Ok(Some(id))
}

fn review() -> AppMoveInput {
    AppMoveInput {
        method: "document_review".into(),
        summary: "审阅营业执照、近三年审计报告、信用报告及数据安全管理制度，材料齐全".into(),
        ..AppMoveInput::default()
    }
}

/// Seeds the onboarding story unless scenarios exist already.
pub async fn seed_onboarding(state: &AppState, now: DateTime<Utc>) -> Result<(), SeedError> {
    if !state.store.scenarios().await?.is_empty() {
        return Ok(());
    }
    let op_org =
        state.store.user_by_username("op.clerk").await?.ok_or_else(|| SeedError::Data("op.clerk".into()))?;
    let agency = state
        .store
        .user_by_username("agency.clerk")
        .await?
        .ok_or_else(|| SeedError::Data("agency.clerk".into()))?;
    // The operator's own agreement: signed with the implementing agency, in force for 5 years.
    let today = crate::web::beijing_date(now);
    let start = today - Duration::days(200);
    let term = Term { start, end: yunshu_domain::calendar::add_years(start, 5) - Duration::days(1) };
    let mut tx = state.store.begin(now - Duration::days(200), &AuditCtx::system("demo-seed")).await?;
    tx.insert_operation_agreement(agency.org_id, op_org.org_id, term, AgreementStatus::InForce).await?;
    tx.commit().await?;

    // 普惠金融: published by the operator.
    let op = as_user(state, "op.clerk", now - Duration::days(45)).await?;
    let finance = ScenarioInput {
        title: "普惠金融信用评估".into(),
        description: "面向小微企业和个体工商户的信用评估与授信辅助：在运营平台内融合市场主体登记、纳税、社保缴纳和用水用电信息，形成信用评分模型，结果以接口形式提供给合作金融机构".into(),
        operator_org_id: None,
    };
    let finance_id =
        svc::publish_scenario(state, &op, &finance).await.map_err(|e| SeedError::Data(e.message))?;
    // 文旅客流: proposed by the travel company, assessed and accepted by the operator.
    let travel = as_user(state, "travel.clerk", now - Duration::days(44)).await?;
    let tourism = ScenarioInput {
        title: "文旅客流监测与预测".into(),
        description: "基于景区票务、交通卡口和住宿登记的汇总数据，监测重点景区客流并预测节假日高峰，为景区限流和公共交通调度提供参考".into(),
        operator_org_id: Some(op_org.org_id),
    };
    let tourism_id =
        svc::propose_scenario(state, &travel, &tourism).await.map_err(|e| SeedError::Data(e.message))?;
    let head = as_user(state, "op.head", now - Duration::days(42)).await?;
    let assessment = AssessmentInput {
        need_passed: true,
        need_reason: "景区限流和交通调度确有需求，文旅厅来函支持".into(),
        compliance_passed: true,
        compliance_reason: "仅使用汇总客流数据，不涉及个人信息，符合数据范围".into(),
        security_passed: true,
        security_reason: "结果以统计指标输出，在沙箱内加工，风险可控".into(),
    };
    step("assess", svc::assess_scenario(state, &head, tourism_id, &assessment).await)?;

    // Signed: 滇金普惠 on 普惠金融, reviewed, announced 5 working days, signed for 3 years.
    let notice = AppMoveInput::default();
    let sign_day = today - Duration::days(30);
    // The term starts on the signing day; two days' margin keeps it within 3 years whatever the hour.
    let sign = AppMoveInput {
        end: (yunshu_domain::calendar::add_years(sign_day, 3) - Duration::days(2)).to_string(),
        ..AppMoveInput::default()
    };
    let complete = || AppMoveInput { checks: all_met(), ..AppMoveInput::default() };
    walk(
        state,
        now,
        "fintech.clerk",
        finance_id,
        40,
        &[
            (AppMove::Review, review(), 24),
            (AppMove::Complete, complete(), 25),
            (AppMove::Notice, notice, 48),
            (AppMove::Sign, sign, 24 * 10),
        ],
    )
    .await?;
    // Under review: 彩云文旅 on its own (now open) scenario.
    walk(state, now, "travel.clerk", tourism_id, 20, &[(AppMove::Review, review(), 24)]).await?;
    // Returned for supplement: 彩云文旅 on 普惠金融, with 5 working days to answer.
    let supplement = AppMoveInput {
        what: "请补充近一年的数据安全管理制度执行记录和等级保护测评报告".into(),
        ..AppMoveInput::default()
    };
    walk(state, now, "travel.clerk", finance_id, 3, &[(AppMove::RequestSupplement, supplement, 24)]).await?;
    // In public notice with an open objection: 滇金普惠 on 文旅客流, announced yesterday.
    let id = walk(
        state,
        now,
        "fintech.clerk",
        tourism_id,
        6,
        &[
            (AppMove::Review, review(), 24),
            (AppMove::Complete, complete(), 25),
            (AppMove::Notice, AppMoveInput::default(), 24 * 5),
        ],
    )
    .await?;
    if let Some(id) = id {
        let public = Ctx {
            operation_id: "demo-seed".into(),
            source_ip: None,
            now: now - Duration::hours(12),
            principal: None,
            csrf: String::new(),
            api: true,
            path: String::new(),
        };
        let objection = ObjectionInput {
            name: "张先生".into(),
            contact: "138****5678".into(),
            content: "该公司曾在其他地区的数据项目中延期交付，请核实其技术服务能力".into(),
        };
        step("objection", svc::lodge_objection(state, &public, id, &objection).await)?;
    }
    Ok(())
}

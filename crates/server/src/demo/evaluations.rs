//! The demo's evaluations (Art. 26), one per relationship: 省数据局 evaluated 省市场监管局's data supply
//! (通过); 省数据发展促进中心 evaluated 云数运营 (限期整改, plan submitted, rectification running);
//! 云数运营 evaluated 滇金普惠 after asking for its usage logs (通过). Seeded through the same services
//! as the API, acting as the demo users at past times.

use chrono::{DateTime, Duration, Utc};

use super::SeedError;
use crate::AppState;
use crate::context::Ctx;
use crate::services::evaluations::{
    self as svc, ConcludeInput, MaterialRequestInput, OpenEvaluationInput, RectStep, RectificationInput,
    ScoreItemInput, SubmitMaterialsInput,
};

async fn as_user(state: &AppState, user: &str, at: DateTime<Utc>) -> Result<Ctx, SeedError> {
    Ctx::console(&state.store, user, at, "demo-seed").await.map_err(|e| SeedError::Data(e.message))
}

fn step<T>(what: &str, r: Result<T, crate::error::AppError>) -> Result<T, SeedError> {
    r.map_err(|e| SeedError::Data(format!("{what}: {}", e.message)))
}

async fn org_of(state: &AppState, user: &str) -> Result<i64, SeedError> {
    Ok(state.store.user_by_username(user).await?.ok_or_else(|| SeedError::Data(user.to_owned()))?.org_id)
}

/// Opens and concludes one evaluation with the same score on every indicator (evidence: one small
/// PDF of the evaluator). Returns its id.
async fn evaluate(
    state: &AppState,
    ctx: &Ctx,
    relation: &str,
    evaluated: i64,
    score: u32,
    requested: Option<(&str, &Ctx)>,
) -> Result<i64, SeedError> {
    let input = OpenEvaluationInput {
        relation: relation.to_owned(),
        evaluated_org_id: evaluated,
        period: "2026 年度".to_owned(),
    };
    let id = step("open evaluation", svc::open_evaluation(state, ctx, &input).await)?;
    if let Some((what, party)) = requested {
        let due = (ctx.today() + Duration::days(7)).to_string();
        let input = MaterialRequestInput { what: what.to_owned(), due };
        step("request materials", svc::request_materials(state, ctx, id, &input).await)?;
        let pdf = format!("%PDF-1.4\n% {what}\n%%EOF\n").into_bytes();
        let (m, _) = step(
            "upload material",
            svc::upload_evidence(state, party, &format!("{what}.pdf"), "application/pdf", &pdf).await,
        )?;
        let input = SubmitMaterialsInput { request: 0, material_ids: vec![m] };
        step("submit materials", svc::submit_materials(state, party, id, &input).await)?;
    }
    let pdf = b"%PDF-1.4\n% evaluation evidence\n%%EOF\n";
    let (evidence, _) = step(
        "upload evidence",
        svc::upload_evidence(state, ctx, "评估佐证材料.pdf", "application/pdf", pdf).await,
    )?;
    let rec = state.store.evaluation(id).await?;
    let scores = rec
        .evaluation
        .criteria
        .indicators()
        .iter()
        .enumerate()
        .map(|(i, ind)| ScoreItemInput {
            indicator: ind.name.clone(),
            score,
            evidence: if i == 0 { vec![evidence] } else { Vec::new() },
        })
        .collect();
    let input = ConcludeInput { scores, result: None, reason: String::new() };
    step("conclude", svc::conclude(state, ctx, id, &input).await)?;
    Ok(id)
}

/// Seeds the demo evaluations once (nothing if any evaluation exists).
pub async fn seed_evaluations(state: &AppState, now: DateTime<Utc>) -> Result<(), SeedError> {
    let bureau_org = org_of(state, "bureau.clerk").await?;
    if !state.store.evaluations_of_org(bureau_org).await?.is_empty() {
        return Ok(());
    }
    let amr = org_of(state, "amr.clerk").await?;
    let op = org_of(state, "op.clerk").await?;
    let fintech = org_of(state, "fintech.clerk").await?;

    let bureau = as_user(state, "bureau.clerk", now - Duration::days(20)).await?;
    evaluate(state, &bureau, "authority_to_provider", amr, 86, None).await?;

    let agency = as_user(state, "agency.clerk", now - Duration::days(15)).await?;
    let id = evaluate(state, &agency, "agency_to_operator", op, 52, None).await?;
    let op_head = as_user(state, "op.head", now - Duration::days(12)).await?;
    let plan = RectificationInput {
        text: "完善数据安全管理制度，补充运营服务台账，30 日内完成".to_owned()
    };
    step("rectification plan", svc::rectify(state, &op_head, id, RectStep::Plan, &plan).await)?;

    let op_clerk = as_user(state, "op.clerk", now - Duration::days(10)).await?;
    let fintech_clerk = as_user(state, "fintech.clerk", now - Duration::days(10)).await?;
    evaluate(state, &op_clerk, "operator_to_developer", fintech, 88, Some(("数据使用日志", &fintech_clerk)))
        .await?;
    Ok(())
}

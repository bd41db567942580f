//! The demo's data use (Art. 20, 21, 25(3), 28): 云数运营 asked 省人社厅 for fields of the 6 000-row
//! social-insurance resource (社会保险缴费信息) for 普惠金融信用评估 — the ID number as a pseudonymised
//! join key, employer code and month as dimensions, birth date and amounts aggregate-only; 省人社厅
//! and 省数据局 approved; 滇金普惠 opened a project under its development agreement; the operator
//! recorded a conditional security assessment and granted the fields. A second request, over
//! 市场主体登记信息, was approved by 省数据局 and waits for 省市场监管局. Seeded through the same
//! services as the UI, acting as the demo users at past times.

use chrono::{DateTime, Duration, Utc};

use super::SeedError;
use crate::AppState;
use crate::context::Ctx;
use crate::services::data_use::{
    self as svc, FieldInput, GrantForm, ProjectInput, RequestInput, RequestMove, RequestMoveInput,
    SecurityAssessmentInput,
};
use crate::services::sandbox;

async fn as_user(state: &AppState, user: &str, at: DateTime<Utc>) -> Result<Ctx, SeedError> {
    Ctx::console(&state.store, user, at, "demo-seed").await.map_err(|e| SeedError::Data(e.message))
}

fn step<T>(what: &str, r: Result<T, crate::error::AppError>) -> Result<T, SeedError> {
    r.map_err(|e| SeedError::Data(format!("{what}: {}", e.message)))
}

fn field(resource_id: i64, item: &str, class: &str, justification: &str) -> FieldInput {
    FieldInput {
        resource_id,
        item: item.to_owned(),
        class: class.to_owned(),
        justification: justification.to_owned(),
    }
}

/// Seeds the data-use story once (nothing if any request exists, or if the catalogue or the
/// onboarding story it rests on is missing, e.g. a step the calendar could not take).
pub async fn seed_data_use(state: &AppState, now: DateTime<Utc>) -> Result<(), SeedError> {
    if !state.store.all_data_use_requests().await?.is_empty() {
        return Ok(());
    }
    let resources = state.store.resources(&Default::default()).await?;
    let coded = |name: &str| resources.iter().find(|r| r.meta.name == name && r.reg_code.is_some());
    let (Some(social), Some(market)) = (coded("社会保险缴费信息"), coded("市场主体登记信息"))
    else {
        return Ok(());
    };
    let Some(scenario) =
        state.store.scenarios().await?.into_iter().find(|s| s.scenario.title == "普惠金融信用评估")
    else {
        return Ok(());
    };
    let fintech = state
        .store
        .user_by_username("fintech.clerk")
        .await?
        .ok_or_else(|| SeedError::Data("fintech".into()))?;
    if !state
        .store
        .dev_agreements_of(fintech.org_id)
        .await?
        .iter()
        .any(|d| d.agreement.scenario == scenario.id)
    {
        return Ok(());
    }
    let at = |days: i64| now - Duration::days(days);
    let valid_until = (crate::web::beijing_date(now) + Duration::days(180)).to_string();

    // 1. The social-insurance request, approved by both.
    let op = as_user(state, "op.clerk", at(20)).await?;
    let input = RequestInput {
        scenario_id: scenario.id,
        provider_org_id: social.provider_org_id,
        purpose: "评估小微企业的用工稳定性和缴费能力，作为普惠金融信用评分模型的特征".into(),
        row_scope: "全省 2026 年 1 月以来的缴费记录".into(),
        valid_until: valid_until.clone(),
        fields: vec![
            field(
                social.id,
                "参保人身份证号",
                "join_key",
                "作为假名化关联键统计每个企业的参保人数，不输出本身",
            ),
            field(
                social.id,
                "缴费单位统一社会信用代码",
                "dimension",
                "按企业汇总缴费情况，是信用评分的主体标识",
            ),
            field(social.id, "缴费月份", "dimension", "计算连续缴费月数，衡量用工稳定性"),
            field(social.id, "出生日期", "aggregate", "仅用于计算企业职工平均年龄等聚合特征"),
            field(social.id, "缴费基数", "aggregate", "聚合计算企业平均工资水平，衡量经营能力"),
            field(social.id, "缴费金额", "aggregate", "聚合计算企业月度缴费总额，衡量缴费能力"),
        ],
    };
    let request = step("draft request", svc::create_request(state, &op, &input).await)?;
    step(
        "submit request",
        svc::move_request(state, &op, request, RequestMove::Submit, &RequestMoveInput::default()).await,
    )?;
    let hrss = as_user(state, "hrss.clerk", at(18)).await?;
    step(
        "provider approves",
        svc::move_request(state, &hrss, request, RequestMove::Approve, &RequestMoveInput::default()).await,
    )?;
    let bureau = as_user(state, "bureau.clerk", at(17)).await?;
    step(
        "authority approves",
        svc::move_request(state, &bureau, request, RequestMove::Approve, &RequestMoveInput::default()).await,
    )?;

    // 2. The developer's project, the operator's assessment and grant.
    let dev = as_user(state, "fintech.clerk", at(16)).await?;
    let project = step(
        "open project",
        svc::open_project(
            state,
            &dev,
            &ProjectInput {
                scenario_id: scenario.id,
                name: "小微企业信用评分模型".into(),
                purpose: "基于社保缴费和市场主体登记信息训练小微企业信用评分模型，输出企业级评分".into(),
            },
        )
        .await,
    )?;
    let op = as_user(state, "op.clerk", at(15)).await?;
    let assessment = step(
        "assessment",
        svc::record_assessment(
            state,
            &op,
            &SecurityAssessmentInput {
                project_id: project,
                request_id: request,
                risks: "参保人身份证号和出生日期属个人信息，与缴费单位组合存在识别个人的风险".into(),
                measures: "身份证号仅作假名化关联键，出生日期和金额仅聚合输出，k 不低于 10，输出双人审核"
                    .into(),
                conclusion: "conditional".into(),
                conditions: "仅限聚合输出，输出须经两名审核人放行".into(),
                valid_until: String::new(),
            },
        )
        .await,
    )?;
    let op = as_user(state, "op.clerk", at(14)).await?;
    let granted =
        ["参保人身份证号", "缴费单位统一社会信用代码", "缴费月份", "出生日期", "缴费基数", "缴费金额"];
    let fields = input
        .fields
        .iter()
        .filter(|f| granted.contains(&f.item.as_str()))
        .map(|f| FieldInput { justification: String::new(), ..f.clone() })
        .collect();
    step(
        "grant",
        svc::create_grant(
            state,
            &op,
            &GrantForm {
                project_id: project,
                assessment_id: assessment,
                fields,
                // The request's "全省 2026 年 1 月以来的缴费记录" as a condition the engine enforces.
                row_scope: "缴费月份 >= DATE '2026-01-01'".into(),
                k: Some(10),
                epsilon: Some(1.0),
                until: String::new(),
            },
        )
        .await,
    )?;

    // 3. The developer has tried its first query on dummy data and submitted it on real data: the
    //    output waits in the outbox for the operator's two reviewers (their 待办).
    let dev = as_user(state, "fintech.clerk", at(1)).await?;
    //    The grant has an ε budget, so the output is noised and the query charged (0.1 here).
    let sql = format!(
        "SELECT 缴费月份, COUNT(DISTINCT 参保人身份证号) AS 参保人数 FROM ds{} GROUP BY 缴费月份 ORDER BY 缴费月份",
        social.id
    );
    for mode in [sandbox::Mode::Dummy, sandbox::Mode::Real] {
        let input = sandbox::RunInput { sql: sql.clone(), mode };
        let r = step("sandbox run", sandbox::run(state, &dev, project, &input).await)?;
        let expected = if mode == sandbox::Mode::Real { "submitted" } else { "ok" };
        if r.outcome != expected {
            return Err(SeedError::Data(format!(
                "sandbox run ({}): {} {}",
                mode.code(),
                r.error_code,
                r.error
            )));
        }
    }

    // The real run executes apart: wait for it, so the output is before the reviewers when the demo opens.
    state.sandbox.settle().await;

    // 4. The market-entity request: the bureau approved, the provider has yet to decide.
    let op = as_user(state, "op.clerk", at(2)).await?;
    let input = RequestInput {
        scenario_id: scenario.id,
        provider_org_id: market.provider_org_id,
        purpose: "按行业和区县分析小微企业的存续状况，作为信用评分模型的行业风险特征".into(),
        row_scope: "全省存续和注销的企业登记记录".into(),
        valid_until,
        fields: vec![
            field(market.id, "行业门类", "dimension", "按行业分组计算存续率和注销率"),
            field(market.id, "所在区县", "dimension", "按区县分组计算区域经营风险"),
            field(market.id, "注册资本", "aggregate", "聚合计算行业平均注册资本规模"),
        ],
    };
    let second = step("draft second request", svc::create_request(state, &op, &input).await)?;
    step(
        "submit second request",
        svc::move_request(state, &op, second, RequestMove::Submit, &RequestMoveInput::default()).await,
    )?;
    let bureau = as_user(state, "bureau.clerk", at(1)).await?;
    step(
        "authority approves second",
        svc::move_request(state, &bureau, second, RequestMove::Approve, &RequestMoveInput::default()).await,
    )?;
    Ok(())
}

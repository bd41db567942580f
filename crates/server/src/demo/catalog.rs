//! The demo's catalogue: resources of the provincial providers in every registration state, graded
//! the way domain.md describes (ID numbers, names, mobiles L4; birth dates and fine regions
//! quasi-identifiers; amounts L3), and one resource on the negative list. Seeded through the same
//! services as the UI, acting as the demo users at past times, so that timelines, to-dos and deadlines
//! are what real use would have left.

use chrono::{DateTime, Duration, Utc};

use super::SeedError;
use crate::AppState;
use crate::context::Ctx;
use crate::services::catalog::{
    self as svc, ItemForm, NegativeInput, RegMove, RegMoveInput, RegistrationInput, ResourceForm,
};

/// How far a demo resource gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Draft,
    Applied,
    Accepted,
    InNotice,
    Coded,
}

struct DemoResource {
    provider: &'static str,
    classification: &'static str,
    name: &'static str,
    abstract_text: &'static str,
    sharing: &'static str,
    cycle: &'static str,
    /// name, kind, grade, flags (d = direct, q = quasi, s = sensitive), description
    items: &'static [(&'static str, &'static str, &'static str, &'static str, &'static str)],
    stage: Stage,
    /// Days before now when the story of this resource began.
    began: i64,
}

const RESOURCES: &[DemoResource] = &[
    DemoResource {
        provider: "amr.clerk",
        classification: "301001001",
        name: "市场主体登记信息",
        abstract_text: "全省市场主体（企业、个体工商户、农民专业合作社）登记基本信息，含统一社会信用代码、名称、行业、注册资本、登记状态",
        sharing: "conditional",
        cycle: "daily",
        items: &[
            ("统一社会信用代码", "text", "l2", "", "市场主体身份代码"),
            ("企业名称", "text", "l1", "", ""),
            ("行业门类", "text", "l1", "", "国民经济行业分类"),
            ("所在区县", "text", "l1", "", "GB/T 2260 区县代码"),
            ("注册资本", "decimal", "l2", "", "万元"),
            ("登记状态", "text", "l1", "", "存续、注销、吊销"),
            ("法定代表人身份证号", "text", "l4", "d", "仅作关联键"),
        ],
        stage: Stage::Coded,
        began: 45,
    },
    DemoResource {
        provider: "amr.clerk",
        classification: "301001002",
        name: "行政处罚决定信息",
        abstract_text: "市场监管领域行政处罚决定书公开信息，含当事人、违法事实类别、处罚种类和金额、决定日期",
        sharing: "conditional",
        cycle: "weekly",
        items: &[
            ("当事人统一社会信用代码", "text", "l2", "", ""),
            ("违法行为类别", "text", "l2", "", ""),
            ("处罚种类", "text", "l1", "", ""),
            ("罚没金额", "decimal", "l3", "", "元"),
            ("决定日期", "date", "l1", "", ""),
        ],
        stage: Stage::Coded,
        began: 44,
    },
    DemoResource {
        provider: "hrss.clerk",
        classification: "301002001",
        name: "社会保险缴费信息",
        abstract_text: "全省企业职工基本养老保险参保缴费明细，含参保人、缴费单位、缴费月份、缴费基数和金额",
        sharing: "conditional",
        cycle: "monthly",
        items: &[
            ("参保人身份证号", "text", "l4", "d", "隐私单元"),
            ("参保人姓名", "text", "l4", "d", ""),
            ("出生日期", "date", "l3", "q", ""),
            ("参保地区县", "text", "l3", "q", ""),
            ("缴费单位统一社会信用代码", "text", "l2", "", ""),
            ("缴费月份", "date", "l2", "", ""),
            ("缴费基数", "decimal", "l3", "", "元"),
            ("缴费金额", "decimal", "l3", "", "元"),
        ],
        stage: Stage::Coded,
        began: 40,
    },
    DemoResource {
        provider: "fund.clerk",
        classification: "301003001",
        name: "住房公积金缴存信息",
        abstract_text: "住房公积金单位和个人缴存明细，含缴存人、缴存单位、缴存月份、缴存基数和金额",
        sharing: "conditional",
        cycle: "monthly",
        items: &[
            ("缴存人身份证号", "text", "l4", "d", ""),
            ("缴存人手机号", "text", "l4", "d", ""),
            ("缴存单位统一社会信用代码", "text", "l2", "", ""),
            ("缴存月份", "date", "l2", "", ""),
            ("缴存金额", "decimal", "l3", "", "元"),
        ],
        stage: Stage::InNotice,
        began: 6,
    },
    DemoResource {
        provider: "tour.clerk",
        classification: "301004001",
        name: "A级景区每日客流",
        abstract_text: "全省 A 级旅游景区每日入园人次，按景区和来源地汇总，用于大理、丽江、西双版纳客流监测",
        sharing: "unconditional",
        cycle: "daily",
        items: &[
            ("景区编码", "text", "l1", "", ""),
            ("景区名称", "text", "l1", "", ""),
            ("所在州市", "text", "l1", "", ""),
            ("日期", "date", "l1", "", ""),
            ("入园人次", "integer", "l1", "", ""),
        ],
        stage: Stage::Accepted,
        began: 3,
    },
    DemoResource {
        provider: "amr.clerk",
        classification: "301001003",
        name: "农民专业合作社年报信息",
        abstract_text: "高原特色农业农民专业合作社年度报告，含成员数、经营范围、年度营业收入",
        sharing: "conditional",
        cycle: "yearly",
        items: &[
            ("统一社会信用代码", "text", "l2", "", ""),
            ("合作社名称", "text", "l1", "", ""),
            ("成员数", "integer", "l1", "", ""),
            ("年度营业收入", "decimal", "l3", "", "万元"),
        ],
        stage: Stage::Applied,
        began: 1,
    },
    DemoResource {
        provider: "water.clerk",
        classification: "301005001",
        name: "居民户用水量",
        abstract_text: "春城供水集团居民用户月度用水量，按户号和小区汇总，用于供水保障和节水分析",
        sharing: "conditional",
        cycle: "monthly",
        items: &[
            ("户号", "text", "l3", "q", ""),
            ("用户姓名", "text", "l4", "d", ""),
            ("小区", "text", "l3", "q", ""),
            ("月份", "date", "l1", "", ""),
            ("用水量", "decimal", "l2", "", "立方米"),
        ],
        stage: Stage::Draft,
        began: 2,
    },
];

fn items(r: &DemoResource) -> Vec<ItemForm> {
    r.items
        .iter()
        .map(|(name, kind, grade, flags, desc)| ItemForm {
            name: (*name).to_owned(),
            kind: (*kind).to_owned(),
            description: (*desc).to_owned(),
            grade: (*grade).to_owned(),
            direct: flags.contains('d'),
            quasi: flags.contains('q'),
            sensitive: flags.contains('s'),
            scenario_rules: if flags.contains('d') {
                "精准营销:excluded".to_owned()
            } else {
                String::new()
            },
        })
        .collect()
}

async fn as_user(state: &AppState, user: &str, at: DateTime<Utc>) -> Result<Ctx, SeedError> {
    Ctx::console(&state.store, user, at, "demo-seed").await.map_err(|e| SeedError::Data(e.message))
}

fn step<T>(what: &str, r: Result<T, crate::error::AppError>) -> Result<Option<T>, SeedError> {
    match r {
        Ok(v) => Ok(Some(v)),
        // A step the calendar cannot take (e.g. a notice into a year without a published schedule)
        // leaves the resource one state earlier rather than failing the demo.
        Err(e) if e.code == "calendar.not_published" => {
            tracing::warn!(step = what, error = %e.message, "demo catalogue step skipped");
            Ok(None)
        }
        Err(e) => Err(SeedError::Data(format!("{what}: {}", e.message))),
    }
}

/// Seeds the catalogue unless resources exist already.
pub async fn seed_catalog(state: &AppState, now: DateTime<Utc>) -> Result<(), SeedError> {
    if !state.store.resources(&Default::default()).await?.is_empty() {
        return Ok(());
    }
    let mut excluded = None;
    for r in RESOURCES {
        let t0 = now - Duration::days(r.began);
        let provider = as_user(state, r.provider, t0).await?;
        let form = ResourceForm {
            classification: r.classification.to_owned(),
            name: r.name.to_owned(),
            abstract_text: r.abstract_text.to_owned(),
            format: "table".to_owned(),
            sharing_type: r.sharing.to_owned(),
            sharing_conditions: if r.sharing == "unconditional" {
                String::new()
            } else {
                "仅限授权运营场景，经数据提供单位和数据主管部门审核同意后在运营平台内使用".to_owned()
            },
            open_attribute: "not_open".to_owned(),
            update_cycle: r.cycle.to_owned(),
            release_date: "2026-01-15".to_owned(),
            related: String::new(),
        };
        let Some((id, _)) = step("create", svc::create_resource(state, &provider, &form).await)? else {
            continue;
        };
        let later = |h: i64| now - Duration::days(r.began) + Duration::hours(h);
        let provider = as_user(state, r.provider, later(1)).await?;
        step("items", svc::set_items(state, &provider, id, &items(r)).await)?;
        if r.name == "行政处罚决定信息" {
            excluded = Some(id);
        }
        if r.stage == Stage::Draft {
            continue;
        }
        let input = RegistrationInput {
            reg_type: "initial".into(),
            note: "首次登记".into(),
            started_before: String::new(),
        };
        let provider = as_user(state, r.provider, later(2)).await?;
        let Some(reg) = step("apply", svc::apply_registration(state, &provider, id, &input).await)? else {
            continue;
        };
        let moves: &[(RegMove, i64)] = match r.stage {
            Stage::Draft | Stage::Applied => &[],
            Stage::Accepted => &[(RegMove::Accept, 24)],
            Stage::InNotice => &[(RegMove::Accept, 24), (RegMove::Notice, 48)],
            Stage::Coded => &[(RegMove::Accept, 24), (RegMove::Notice, 48), (RegMove::Code, 24 * 14)],
        };
        for (mv, h) in moves {
            let body = as_user(state, "reg.clerk", later(*h)).await?;
            let done = step(
                "registration",
                svc::move_registration(state, &body, reg, *mv, &RegMoveInput::default()).await,
            )?;
            if done.is_none() {
                break;
            }
        }
    }
    seed_data(state, now).await?;
    // The provincial bureau excludes one resource, with the government's review on record.
    if let Some(id) = excluded {
        let clerk = as_user(state, "bureau.clerk", now - Duration::days(10)).await?;
        let review_day = (crate::web::beijing_date(now) - Duration::days(12)).to_string();
        let input = NegativeInput {
            reasons: "处罚决定信息含未公开的涉案线索和个人信息，经评估不宜纳入授权运营".into(),
            decision: "同意列入负面清单".into(),
            decided_on: review_day,
            reference: "云政办审〔2026〕27号".into(),
        };
        step("negative list", svc::exclude_resource(state, &clerk, id, &input).await)?;
    }
    Ok(())
}

/// Sample data of two registered resources, imported as their providers would, with quality rules.
async fn seed_data(state: &AppState, now: DateTime<Utc>) -> Result<(), SeedError> {
    use crate::services::datasets::{RuleInput, add_rule, import_version};
    use yunshu_domain::regions::RegionLevel;
    let counties: Vec<String> = state
        .regions
        .all()
        .filter(|r| r.level() == RegionLevel::County)
        .map(|r| r.code().as_str().to_owned())
        .collect();
    let all = state.store.resources(&Default::default()).await?;
    let find = |name: &str| all.iter().find(|r| r.meta.name == name).map(|r| r.id);
    let data_err = |e: crate::error::AppError| SeedError::Data(e.message);
    let rule = |column: &str, check: &str, params: &str, severity: &str| RuleInput {
        column: column.into(),
        check: check.into(),
        params: params.into(),
        severity: severity.into(),
    };
    if let Some(id) = find("市场主体登记信息") {
        let ctx = as_user(state, "amr.clerk", now - Duration::days(20)).await?;
        for r in [
            rule("企业名称", "not_null", "", "high"),
            rule("注册资本", "range", "0,", "medium"),
            rule("登记状态", "reference", "存续,注销,吊销,迁出", "low"),
        ] {
            add_rule(state, &ctx, id, &r).await.map_err(data_err)?;
        }
        let csv = super::datasets::enterprises_gbk_csv(2_000, &counties);
        import_version(
            state,
            &ctx,
            id,
            std::io::Cursor::new(csv),
            "市场主体登记信息_202610.csv",
            None,
            &|_| {},
        )
        .await
        .map_err(data_err)?;
        // The operator found mistyped ID numbers; the answer is due in two working days or so.
        let op = as_user(state, "op.clerk", now - Duration::days(12)).await?;
        let input = crate::services::verifications::RaiseInput {
            kind: "verification".into(),
            fields: vec!["法定代表人身份证号".into(), "企业名称".into()],
            rows: "第 1 版画像中无效身份证号所在行（第 15、112 行等）及企业名称为空的行".into(),
            question: "身份证号校验位不符、企业名称为空，请核实原始登记信息并更正".into(),
        };
        crate::services::verifications::raise(state, &op, id, &input).await.map_err(data_err)?;
    }
    if let Some(id) = find("社会保险缴费信息") {
        let ctx = as_user(state, "hrss.clerk", now - Duration::days(18)).await?;
        for r in
            [rule("参保人身份证号", "not_null", "", "high"), rule("缴费金额", "range", "0,10000", "medium")]
        {
            add_rule(state, &ctx, id, &r).await.map_err(data_err)?;
        }
        let book =
            super::datasets::payments_xlsx(1_200, &counties).map_err(|e| SeedError::Data(e.to_string()))?;
        import_version(
            state,
            &ctx,
            id,
            std::io::Cursor::new(book),
            "社保缴费明细_2026年1-5月.xlsx",
            None,
            &|_| {},
        )
        .await
        .map_err(data_err)?;
    }
    Ok(())
}

//! Test fixtures shared by the process tests: complete records that each test then breaks or moves.
//! Organisations: agency 10, operators 20 and 21, developers 30 and 31, industry department 40,
//! data authority 1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;

use super::developer::{
    Application, ConditionCheck, DevelopmentAgreement, QualificationCondition, ReviewMethod, ReviewRecord,
    Scenario,
};
use super::material::{Material, MaterialKind};
use super::operator::{AgreementContent, OperationAgreement, OperatorSelection, SelectionMethod, Signatory};
use super::plan::{ConditionCategory, Feasibility, Milestone, OperatorCondition, PlanContent};
use super::*;
use crate::calendar::WorkCalendar;
use crate::party::OrgType;

pub const AGENCY: OrgId = 10;
pub const OPERATOR: OrgId = 20;
pub const OTHER_OPERATOR: OrgId = 21;
pub const DEVELOPER: OrgId = 30;
pub const INDUSTRY: OrgId = 40;

pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

pub fn cal() -> WorkCalendar {
    WorkCalendar::official().unwrap()
}

fn text(s: &str) -> String {
    s.to_owned()
}

pub fn resources() -> Vec<ResourceRef> {
    vec![ResourceRef { id: text("res-1"), code: text("530000-JT-0001"), name: text("公交线路与站点") }]
}

pub fn products() -> Vec<ProductItem> {
    vec![
        ProductItem {
            name: text("公交到站预测接口"),
            class: ProductClass::PublicWelfare,
            form: ProductForm::DataApi,
            form_note: String::new(),
        },
        ProductItem {
            name: text("物流通行分析报告"),
            class: ProductClass::IndustryDevelopment,
            form: ProductForm::Report,
            form_note: String::new(),
        },
    ]
}

pub fn plan_content() -> PlanContent {
    PlanContent {
        name: text("云南省交通运输公共数据资源授权运营"),
        necessity: text("提升公共出行服务，培育交通数据产业"),
        operator_conditions: ConditionCategory::ALL
            .iter()
            .map(|c| OperatorCondition { category: *c, requirement: format!("{}能力要求", c.label_zh()) })
            .collect(),
        mode: Some(AuthorizationMode::Whole),
        industry_department: None,
        data_resources: resources(),
        update_frequency: text("每日"),
        data_quality: text("完整率不低于 99%"),
        term_years: Some(5),
        construction: text("运营专区建设"),
        technical_support: text("依托省运营平台"),
        schedule: vec![Milestone { name: text("专区上线"), due: d(2026, 12, 31) }],
        evaluation_criteria: criteria_indicators(),
        exit_conditions: vec![text("连续两次评估未通过")],
        asset_management: text("软硬件资产归实施机构"),
        products: products(),
        cost_accounting: text("单独核算"),
        revenue_sharing: text("按协议分配"),
        data_security: text("分类分级保护"),
        personal_information: text("去标识化处理"),
        emergency_measures: text("应急预案"),
        rights_duties: text("各方权利义务"),
        supervision: text("年度考核"),
        other: text("无"),
    }
}

pub fn criteria_indicators() -> Vec<Indicator> {
    vec![Indicator { name: text("数据供给"), weight: 40 }, Indicator { name: text("产品成效"), weight: 60 }]
}

pub fn criteria() -> EvaluationCriteria {
    EvaluationCriteria::new(criteria_indicators()).unwrap()
}

pub fn feasibility() -> Feasibility {
    Feasibility {
        lifecycle: text("全生命周期管理"),
        social_demand: text("出行需求旺盛"),
        scenarios: text("公交、物流"),
        market_size: text("约 2 亿元"),
        expected_effect: text("降低出行成本"),
        risk_control: text("原始数据不出域"),
        held_on: Some(d(2026, 6, 1)),
    }
}

pub fn decision(outcome: DecisionOutcome, date: NaiveDate) -> CollectiveDecision {
    CollectiveDecision {
        meeting: text("2026 年第 9 次主任办公会"),
        date,
        outcome,
        minutes_ref: String::new(),
    }
}

pub fn agreement_content(term: Term) -> AgreementContent {
    AgreementContent {
        data_resources: resources(),
        term: Some(term),
        long_term: None,
        products: products(),
        technical_standards: text("接口规范"),
        security_review: text("发布前安全审核"),
        compliance_review: text("业务规范性审核"),
        platform: text("云南省公共数据资源授权运营平台"),
        asset_ownership: text("资产权属约定"),
        disclosure: text("按季度披露"),
        no_redevelopment_undertaking: true,
        cost_revenue: text("单独核算"),
        security: text("安全要求"),
        evaluation_renewal: text("年度评估，通过后可续约"),
        liability: text("违约责任"),
        disputes: text("仲裁"),
        change_termination: text("变更终止条件"),
        confidentiality: text("保密义务"),
        other: text("无"),
    }
}

pub fn selection(today: NaiveDate) -> OperatorSelection {
    OperatorSelection {
        method: SelectionMethod::PublicTender,
        method_note: String::new(),
        participants: vec![text("云数科技公司"), text("滇数集团")],
        winner: text("云数科技公司"),
        winner_org: OPERATOR,
        decided_on: today,
    }
}

/// A draft agreement ready to sign: selection and decision recorded, all clauses filled.
pub fn ready_agreement(
    level: Level,
    mode: AuthorizationMode,
    term: Term,
    today: NaiveDate,
) -> OperationAgreement {
    let industry = (mode == AuthorizationMode::ByDomain).then_some(INDUSTRY);
    let mut a = OperationAgreement::draft(AGENCY, level, mode, industry).unwrap();
    a.record_selection(selection(today), today).unwrap();
    a.record_agency_decision(decision(DecisionOutcome::Approved, today), today).unwrap();
    a.edit(agreement_content(term)).unwrap();
    a
}

/// The operator's agreement, in force from 2026-01-01 to 2030-12-31.
pub fn operator_agreement() -> OperationAgreement {
    let today = d(2025, 12, 20);
    let term = Term::new(d(2026, 1, 1), d(2030, 12, 31)).unwrap();
    let mut a = ready_agreement(Level::Province, AuthorizationMode::Whole, term, today);
    a.sign(Signatory::Agency, today, &cal()).unwrap();
    a.sign(Signatory::Operator, today, &cal()).unwrap();
    a
}

pub fn material(kind: MaterialKind) -> Material {
    Material::new(kind, &format!("{}.pdf", kind.code()), "application/pdf", 1024, &"ab".repeat(32), 20 << 20)
        .unwrap()
}

pub fn materials() -> Vec<Material> {
    MaterialKind::REQUIRED.into_iter().map(material).collect()
}

pub fn scenario() -> Scenario {
    Scenario::publish(OPERATOR, OrgType::Operator, "公交到站预测", "面向公众的到站预测服务", d(2026, 9, 1))
        .unwrap()
}

pub fn all_met() -> Vec<ConditionCheck> {
    QualificationCondition::ALL
        .iter()
        .map(|c| ConditionCheck { condition: *c, met: true, note: String::new() })
        .collect()
}

/// An application reviewed and qualified on 2026-09-21.
pub fn qualified_application() -> Application {
    let s = scenario();
    let mut app =
        Application::submit(7, &s, DEVELOPER, OrgType::Developer, materials(), &[], d(2026, 9, 14)).unwrap();
    app.add_review(
        ReviewRecord {
            method: ReviewMethod::DocumentReview,
            date: d(2026, 9, 18),
            summary: text("材料齐全"),
        },
        d(2026, 9, 18),
    )
    .unwrap();
    app.complete_review(&s, all_met(), d(2026, 9, 21)).unwrap();
    app
}

/// A development agreement for scenario 7 from 2026-11-01 to 2027-10-31.
pub fn dev_agreement() -> DevelopmentAgreement {
    let mut app = qualified_application();
    app.publish_notice(d(2026, 9, 28), None, d(2026, 9, 28), &cal()).unwrap();
    let term = Term::new(d(2026, 11, 1), d(2027, 10, 31)).unwrap();
    app.sign_agreement(term, None, &operator_agreement(), &[], d(2026, 10, 12)).unwrap()
}

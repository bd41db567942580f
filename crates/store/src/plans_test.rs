#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;

use super::*;

#[test]
fn plan_content_survives_its_json_shape() {
    let v = json!({
        "name": "方案", "mode": "by_domain", "industry_department": "7",
        "operator_conditions": [{"category": "capital", "requirement": "1 亿元"}],
        "schedule": [{"name": "上线", "due": "2027-06-30"}],
        "evaluation_criteria": [{"name": "成效", "weight": "100"}],
        "exit_conditions": ["不合格"], "term_years": "5",
        "products": [{"name": "接口", "class": "public_welfare", "form": "data_api"}]
    });
    let c = plan_content_from(&v).unwrap();
    assert_eq!(c.industry_department, Some(7));
    assert_eq!(c.term_years, Some(5));
    assert_eq!(c.evaluation_criteria[0].weight, 100);
    assert_eq!(plan_content_from(&plan_content_json(&c)).unwrap(), c);
}

#[test]
fn a_value_that_does_not_fit_names_its_field() {
    let bad = json!({"products": [{"name": "x", "class": "public_welfare", "form": "hologram"}]});
    assert_eq!(plan_content_from(&bad).unwrap_err(), BadField("products.form"));
    let bad = json!({"schedule": [{"name": "x", "due": "明年"}]});
    assert_eq!(plan_content_from(&bad).unwrap_err(), BadField("schedule.due"));
    let bad = json!({"long_term": {"justification": "长期投资"}});
    assert_eq!(agreement_content_from(&bad).unwrap_err(), BadField("long_term.approved_on"));
}

#[test]
fn agreement_clauses_survive_their_json_shape() {
    let v = json!({"term_start": "2026-12-01", "term_end": "2031-12-02", "no_redevelopment_undertaking": true,
                   "long_term": {"justification": "回收期长", "approved_by": "省政府", "approved_on": "2026-11-26"},
                   "disputes": "仲裁"});
    let c = agreement_content_from(&v).unwrap();
    assert!(c.long_term.is_some() && c.no_redevelopment_undertaking);
    assert_eq!(agreement_content_from(&agreement_content_json(&c)).unwrap(), c);
}

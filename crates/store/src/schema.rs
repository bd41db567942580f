//! The database schema, one list of statements per migration. Both backends share the text; the few
//! differences (identity columns, trigger syntax) are substituted or listed per backend here, so that
//! no other file needs to know which database it talks to.

use crate::Backend;

/// `{ID}` is replaced by the backend's auto-increment primary key.
const V1_COMMON: &[&str] = &[
    "CREATE TABLE org (
        id {ID},
        name TEXT NOT NULL,
        uscc TEXT NOT NULL UNIQUE,
        org_type TEXT NOT NULL,
        region_code TEXT NOT NULL,
        active BIGINT NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL
    )",
    "CREATE TABLE app_user (
        id {ID},
        org_id BIGINT NOT NULL REFERENCES org(id),
        username TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL,
        resident_id TEXT NOT NULL,
        mobile TEXT NOT NULL,
        roles TEXT NOT NULL,
        active BIGINT NOT NULL DEFAULT 1,
        password_hash TEXT NOT NULL,
        failed_logins BIGINT NOT NULL DEFAULT 0,
        locked_until TEXT,
        totp_secret TEXT,
        totp_enabled BIGINT NOT NULL DEFAULT 0,
        identity_status TEXT NOT NULL DEFAULT 'unverified',
        identity_verifier TEXT,
        identity_checked_at TEXT,
        identity_detail TEXT,
        filing_status TEXT NOT NULL DEFAULT 'not_submitted',
        filing_approval_id BIGINT,
        agreement_signed_on TEXT,
        agreement_expires_on TEXT,
        agreement_ref TEXT,
        created_at TEXT NOT NULL
    )",
    "CREATE INDEX app_user_org ON app_user(org_id)",
    "CREATE TABLE web_session (
        token_hash TEXT PRIMARY KEY,
        user_id BIGINT NOT NULL REFERENCES app_user(id),
        csrf_token TEXT NOT NULL,
        second_factor_ok BIGINT NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        source_ip TEXT
    )",
    "CREATE TABLE api_token (
        id {ID},
        token_hash TEXT NOT NULL UNIQUE,
        user_id BIGINT NOT NULL REFERENCES app_user(id),
        org_id BIGINT NOT NULL REFERENCES org(id),
        name TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        revoked_at TEXT
    )",
    "CREATE TABLE approval_chain (
        org_id BIGINT NOT NULL REFERENCES org(id),
        action TEXT NOT NULL,
        spec TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (org_id, action)
    )",
    "CREATE TABLE approval (
        id {ID},
        org_id BIGINT NOT NULL REFERENCES org(id),
        action TEXT NOT NULL,
        subject_type TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        title TEXT NOT NULL,
        initiator_id BIGINT NOT NULL REFERENCES app_user(id),
        spec TEXT NOT NULL,
        status TEXT NOT NULL,
        current_step BIGINT NOT NULL,
        round BIGINT NOT NULL,
        version BIGINT NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )",
    "CREATE TABLE approval_task (
        approval_id BIGINT NOT NULL REFERENCES approval(id),
        idx BIGINT NOT NULL,
        round BIGINT NOT NULL,
        step BIGINT NOT NULL,
        assignee_id BIGINT NOT NULL REFERENCES app_user(id),
        state TEXT NOT NULL,
        transferred_to BIGINT,
        comment TEXT,
        created_at TEXT NOT NULL,
        decided_at TEXT,
        deadline_id BIGINT,
        PRIMARY KEY (approval_id, idx)
    )",
    "CREATE INDEX approval_task_assignee ON approval_task(assignee_id, state)",
    "CREATE TABLE deadline (
        id {ID},
        subject_type TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        start_date TEXT NOT NULL,
        unit TEXT NOT NULL,
        amount BIGINT NOT NULL,
        due_date TEXT NOT NULL,
        provisional BIGINT NOT NULL,
        closed_at TEXT
    )",
    "CREATE TABLE holiday_schedule (
        year BIGINT PRIMARY KEY,
        days TEXT NOT NULL,
        source TEXT NOT NULL,
        loaded_at TEXT NOT NULL
    )",
    "CREATE TABLE notification (
        id {ID},
        user_id BIGINT NOT NULL REFERENCES app_user(id),
        title TEXT NOT NULL,
        link TEXT,
        created_at TEXT NOT NULL,
        read_at TEXT
    )",
    "CREATE INDEX notification_user ON notification(user_id, read_at)",
    "CREATE TABLE audit_log (
        seq BIGINT PRIMARY KEY,
        at TEXT NOT NULL,
        operation_id TEXT NOT NULL,
        user_id TEXT,
        org_id TEXT,
        role TEXT,
        action TEXT NOT NULL,
        object_type TEXT NOT NULL,
        object_id TEXT NOT NULL,
        result TEXT NOT NULL,
        source_ip TEXT,
        summary TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        tag TEXT NOT NULL
    )",
    "CREATE INDEX audit_log_object ON audit_log(object_type, object_id)",
    // The head row serialises appends across connections and server replicas (row lock).
    "CREATE TABLE audit_head (
        id BIGINT PRIMARY KEY,
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL
    )",
    "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000')",
    "CREATE TABLE audit_checkpoint (
        seq BIGINT PRIMARY KEY,
        head TEXT NOT NULL,
        at TEXT NOT NULL,
        signature TEXT NOT NULL
    )",
];

/// Migration 2: organisation work queues (待办 of an organisation rather than of one approval step),
/// the resource catalogue, registration and the negative list (Art. 15, 18).
const V2_COMMON: &[&str] = &[
    "CREATE TABLE org_task (
        id {ID},
        org_id BIGINT NOT NULL REFERENCES org(id),
        role TEXT,
        kind TEXT NOT NULL,
        subject_type TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        title TEXT NOT NULL,
        link TEXT NOT NULL,
        deadline_id BIGINT,
        created_at TEXT NOT NULL,
        done_at TEXT,
        done_by BIGINT
    )",
    "CREATE INDEX org_task_open ON org_task(org_id, done_at)",
    "CREATE INDEX org_task_subject ON org_task(subject_type, subject_id)",
    "CREATE TABLE data_resource (
        id {ID},
        provider_org_id BIGINT NOT NULL REFERENCES org(id),
        region_code TEXT NOT NULL,
        classification TEXT NOT NULL,
        resource_code TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        abstract_text TEXT NOT NULL,
        format TEXT NOT NULL,
        sharing_type TEXT NOT NULL,
        sharing_conditions TEXT NOT NULL,
        open_attribute TEXT NOT NULL,
        update_cycle TEXT NOT NULL,
        release_date TEXT,
        related TEXT NOT NULL,
        grade TEXT,
        status TEXT NOT NULL,
        reg_code TEXT UNIQUE,
        reg_code_provisional BIGINT NOT NULL DEFAULT 1,
        query_code TEXT UNIQUE,
        registered_at TEXT,
        on_negative_list BIGINT NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )",
    "CREATE INDEX data_resource_provider ON data_resource(provider_org_id)",
    "CREATE TABLE data_item (
        resource_id BIGINT NOT NULL REFERENCES data_resource(id),
        idx BIGINT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        description TEXT NOT NULL,
        grade TEXT NOT NULL,
        pi_direct BIGINT NOT NULL,
        pi_quasi BIGINT NOT NULL,
        pi_sensitive BIGINT NOT NULL,
        scenario_rules TEXT NOT NULL,
        PRIMARY KEY (resource_id, idx)
    )",
    "CREATE TABLE registration (
        id {ID},
        resource_id BIGINT NOT NULL REFERENCES data_resource(id),
        reg_type TEXT NOT NULL,
        status TEXT NOT NULL,
        applicant_id BIGINT NOT NULL REFERENCES app_user(id),
        note TEXT NOT NULL,
        started_before TEXT,
        notice_start TEXT,
        notice_end TEXT,
        reg_code TEXT,
        last_reason TEXT,
        version BIGINT NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )",
    "CREATE INDEX registration_resource ON registration(resource_id)",
    "CREATE TABLE negative_list (
        id {ID},
        resource_id BIGINT NOT NULL REFERENCES data_resource(id),
        authority_org_id BIGINT NOT NULL REFERENCES org(id),
        reasons TEXT NOT NULL,
        review_decision TEXT NOT NULL,
        review_date TEXT NOT NULL,
        review_ref TEXT NOT NULL,
        listed_on TEXT NOT NULL,
        next_review TEXT NOT NULL,
        lifted_on TEXT,
        lift_reasons TEXT,
        created_at TEXT NOT NULL
    )",
    "CREATE TABLE catalog_term (
        resource_id BIGINT NOT NULL REFERENCES data_resource(id),
        term TEXT NOT NULL,
        weight BIGINT NOT NULL,
        PRIMARY KEY (resource_id, term)
    )",
    "CREATE INDEX catalog_term_term ON catalog_term(term)",
    "CREATE TABLE counter (
        name TEXT PRIMARY KEY,
        value BIGINT NOT NULL
    )",
];

/// Migration 3: dataset versions (Art. 16: each upload an immutable version) and quality rules
/// (Art. 17). The data themselves live in the encrypted object store, never in the database.
const V3_COMMON: &[&str] = &[
    "CREATE TABLE dataset_version (
        id {ID},
        resource_id BIGINT NOT NULL REFERENCES data_resource(id),
        version_no BIGINT NOT NULL,
        object_path TEXT NOT NULL,
        source_name TEXT NOT NULL,
        source_format TEXT NOT NULL,
        encoding TEXT,
        delimiter TEXT,
        sheet TEXT,
        row_count BIGINT NOT NULL,
        source_bytes BIGINT NOT NULL,
        sm3 TEXT NOT NULL,
        schema_json TEXT NOT NULL,
        differences_json TEXT NOT NULL,
        profile_json TEXT NOT NULL,
        quality_json TEXT NOT NULL,
        quality_score BIGINT,
        status TEXT NOT NULL,
        uploader_id BIGINT,
        created_at TEXT NOT NULL,
        decided_at TEXT,
        UNIQUE (resource_id, version_no)
    )",
    "ALTER TABLE data_resource ADD COLUMN source_resource_id BIGINT",
    "CREATE TABLE backflow_request (
        id {ID},
        resource_id BIGINT NOT NULL REFERENCES data_resource(id),
        requesting_org BIGINT NOT NULL REFERENCES org(id),
        requested_by BIGINT NOT NULL REFERENCES app_user(id),
        purpose TEXT NOT NULL,
        status TEXT NOT NULL,
        reason TEXT,
        copy_resource_id BIGINT,
        decided_at TEXT,
        created_at TEXT NOT NULL
    )",
    "CREATE TABLE verification_request (
        id {ID},
        resource_id BIGINT NOT NULL REFERENCES data_resource(id),
        kind TEXT NOT NULL,
        raised_by_org BIGINT NOT NULL REFERENCES org(id),
        raised_by_user BIGINT NOT NULL REFERENCES app_user(id),
        fields TEXT NOT NULL,
        rows_desc TEXT NOT NULL,
        question TEXT NOT NULL,
        status TEXT NOT NULL,
        received_on TEXT NOT NULL,
        due_on TEXT NOT NULL,
        due_provisional BIGINT NOT NULL,
        answer TEXT,
        corrected BIGINT,
        answered_late BIGINT,
        answered_at TEXT,
        answered_by BIGINT,
        escalated_at TEXT,
        created_at TEXT NOT NULL
    )",
    "CREATE TABLE quality_rule (
        id {ID},
        resource_id BIGINT NOT NULL REFERENCES data_resource(id),
        column_name TEXT NOT NULL,
        check_code TEXT NOT NULL,
        params TEXT NOT NULL,
        severity TEXT NOT NULL,
        created_at TEXT NOT NULL
    )",
];

/// Migration 4: developer onboarding (Art. 12–13): scenarios, applications with their uploaded
/// materials (bytes kept in the database, at most `Settings::material_max_bytes` each), public-notice
/// objections, development agreements, and the operator's own agreement (its end caps theirs).
const V4_COMMON: &[&str] = &[
    "CREATE TABLE operation_agreement (
        id {ID},
        agency_org_id BIGINT NOT NULL REFERENCES org(id),
        operator_org_id BIGINT NOT NULL REFERENCES org(id),
        term_start TEXT NOT NULL,
        term_end TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL
    )",
    "CREATE TABLE scenario (
        id {ID},
        operator_org_id BIGINT NOT NULL REFERENCES org(id),
        title TEXT NOT NULL,
        description TEXT NOT NULL,
        origin TEXT NOT NULL,
        proposer_org_id BIGINT REFERENCES org(id),
        status TEXT NOT NULL,
        assessment TEXT,
        created_on TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )",
    "CREATE TABLE application (
        id {ID},
        scenario_id BIGINT NOT NULL REFERENCES scenario(id),
        operator_org_id BIGINT NOT NULL REFERENCES org(id),
        applicant_org_id BIGINT NOT NULL REFERENCES org(id),
        status TEXT NOT NULL,
        submitted_on TEXT NOT NULL,
        supplement_due TEXT,
        notice_start TEXT,
        notice_end TEXT,
        review_json TEXT NOT NULL,
        rejection_reason TEXT NOT NULL,
        version BIGINT NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )",
    "CREATE INDEX application_applicant ON application(applicant_org_id)",
    "CREATE INDEX application_operator ON application(operator_org_id, status)",
    "CREATE TABLE application_material (
        id {ID},
        org_id BIGINT NOT NULL REFERENCES org(id),
        application_id BIGINT REFERENCES application(id),
        kind TEXT NOT NULL,
        file_name TEXT NOT NULL,
        media_type TEXT NOT NULL,
        size BIGINT NOT NULL,
        sm3 TEXT NOT NULL,
        content {BLOB} NOT NULL,
        uploaded_at TEXT NOT NULL
    )",
    "CREATE INDEX application_material_app ON application_material(application_id)",
    "CREATE TABLE objection (
        id {ID},
        application_id BIGINT NOT NULL REFERENCES application(id),
        notice_idx BIGINT NOT NULL,
        idx BIGINT NOT NULL,
        lodged_on TEXT NOT NULL,
        objector_name TEXT NOT NULL,
        objector_contact TEXT NOT NULL,
        content TEXT NOT NULL,
        outcome TEXT,
        reason TEXT,
        decided_on TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (application_id, notice_idx, idx)
    )",
    "CREATE TABLE development_agreement (
        id {ID},
        application_id BIGINT NOT NULL UNIQUE REFERENCES application(id),
        operator_org_id BIGINT NOT NULL REFERENCES org(id),
        developer_org_id BIGINT NOT NULL REFERENCES org(id),
        scenario_id BIGINT NOT NULL REFERENCES scenario(id),
        term_start TEXT NOT NULL,
        term_end TEXT NOT NULL,
        long_term TEXT,
        signed_on TEXT NOT NULL,
        status TEXT NOT NULL,
        ended_on TEXT,
        created_at TEXT NOT NULL
    )",
    "CREATE INDEX development_agreement_dev ON development_agreement(developer_org_id, scenario_id)",
];

/// Version 5: the blacklist (Art. 21) and terminations of development agreements (Art. 25(5)) with
/// their deletion records (platform copies, downloaded files) and the developer's attestations.
const V5_COMMON: &[&str] = &[
    "CREATE TABLE sanction (
        id {ID},
        developer_org_id BIGINT NOT NULL REFERENCES org(id),
        operator_org_id BIGINT NOT NULL REFERENCES org(id),
        kind TEXT NOT NULL,
        agreement_id BIGINT REFERENCES development_agreement(id),
        reason TEXT NOT NULL,
        imposed_on TEXT NOT NULL,
        until_on TEXT,
        lifted_on TEXT,
        lifted_by_org_id BIGINT REFERENCES org(id),
        lift_reason TEXT,
        created_at TEXT NOT NULL
    )",
    "CREATE INDEX sanction_developer ON sanction(developer_org_id)",
    "CREATE TABLE termination (
        id {ID},
        agreement_id BIGINT NOT NULL UNIQUE REFERENCES development_agreement(id),
        operator_org_id BIGINT NOT NULL REFERENCES org(id),
        developer_org_id BIGINT NOT NULL REFERENCES org(id),
        terminated_on TEXT NOT NULL,
        reason TEXT NOT NULL,
        status TEXT NOT NULL,
        attestation_due TEXT NOT NULL,
        provisional BIGINT NOT NULL,
        verified_on TEXT,
        verification_note TEXT NOT NULL,
        overdue_flagged_on TEXT,
        created_at TEXT NOT NULL
    )",
    "CREATE TABLE termination_item (
        id {ID},
        termination_id BIGINT NOT NULL REFERENCES termination(id),
        item_type TEXT NOT NULL,
        item_key TEXT NOT NULL,
        kind TEXT NOT NULL,
        file_name TEXT NOT NULL,
        sm3 TEXT NOT NULL,
        done_on TEXT,
        UNIQUE (termination_id, item_type, item_key)
    )",
    "CREATE TABLE termination_attestation (
        id {ID},
        termination_id BIGINT NOT NULL REFERENCES termination(id),
        attested_on TEXT NOT NULL,
        user_id BIGINT NOT NULL REFERENCES app_user(id),
        file_count BIGINT NOT NULL,
        statement TEXT NOT NULL,
        created_at TEXT NOT NULL
    )",
];

/// Append-only enforcement inside the database too (defence in depth: the code has no such path).
const V1_SQLITE: &[&str] = &[
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint
        BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END",
    "CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint
        BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END",
];

const V1_POSTGRES: &[&str] = &[
    "CREATE FUNCTION yunshu_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$",
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION yunshu_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION yunshu_append_only()",
    "CREATE TRIGGER audit_checkpoint_no_change BEFORE UPDATE OR DELETE ON audit_checkpoint
        FOR EACH ROW EXECUTE FUNCTION yunshu_append_only()",
];

/// Migration 6: implementation plans (Art. 8–10), one row per version (`plan_no` ties the versions of
/// one plan; the twelve items and the feasibility record are JSON text), and the full record of an
/// operation agreement (Art. 11) as a companion of the onboarding row `operation_agreement`, which
/// keeps parties, term and status so that development agreements keep working.
const V6_COMMON: &[&str] = &[
    "CREATE TABLE impl_plan (
        id {ID},
        plan_no BIGINT NOT NULL,
        agency_org_id BIGINT NOT NULL REFERENCES org(id),
        level TEXT NOT NULL,
        version BIGINT NOT NULL,
        status TEXT NOT NULL,
        content TEXT NOT NULL,
        feasibility TEXT NOT NULL,
        change_kind TEXT,
        change_desc TEXT,
        submitted_on TEXT,
        agency_decision TEXT,
        government_review TEXT,
        approved_on TEXT,
        superseded_on TEXT,
        filing_status TEXT NOT NULL,
        filing_trigger TEXT,
        filing_due TEXT,
        filing_provisional BIGINT NOT NULL DEFAULT 0,
        filed_on TEXT,
        doc_serial BIGINT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )",
    "CREATE INDEX impl_plan_no ON impl_plan(plan_no, version)",
    "CREATE TABLE operation_agreement_detail (
        agreement_id BIGINT PRIMARY KEY REFERENCES operation_agreement(id),
        level TEXT NOT NULL,
        mode TEXT NOT NULL,
        industry_org_id BIGINT REFERENCES org(id),
        selection TEXT,
        agency_decision TEXT,
        content TEXT NOT NULL,
        signed_agency TEXT,
        signed_industry TEXT,
        signed_operator TEXT,
        signed_on TEXT,
        filing_status TEXT NOT NULL,
        filing_trigger TEXT,
        filing_due TEXT,
        filing_provisional BIGINT NOT NULL DEFAULT 0,
        filed_on TEXT,
        doc_serial BIGINT,
        terminated_on TEXT,
        termination_reason TEXT,
        updated_at TEXT NOT NULL
    )",
];

/// Evaluations (Art. 26): parties and query columns, the body as JSON (see `evaluations.rs`).
const V7_COMMON: &[&str] = &[
    "CREATE TABLE evaluation (
        id {ID},
        relation TEXT NOT NULL,
        evaluator_org_id BIGINT NOT NULL REFERENCES org(id),
        evaluator_org_type TEXT NOT NULL,
        appointment TEXT NOT NULL,
        evaluated_org_id BIGINT NOT NULL REFERENCES org(id),
        evaluated_org_type TEXT NOT NULL,
        period TEXT NOT NULL,
        opened_on TEXT NOT NULL,
        status TEXT NOT NULL,
        result TEXT,
        rect_due TEXT,
        rect_open BIGINT NOT NULL DEFAULT 0,
        overdue_flagged_on TEXT,
        body_json TEXT NOT NULL,
        reevaluates BIGINT REFERENCES evaluation(id),
        version BIGINT NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )",
    "CREATE INDEX evaluation_evaluator ON evaluation(evaluator_org_id)",
    "CREATE INDEX evaluation_evaluated ON evaluation(evaluated_org_id, relation)",
    "CREATE INDEX evaluation_rect ON evaluation(rect_open, rect_due)",
];

/// Data-use requests (Art. 20), developer projects, security assessments (Art. 25(3)) and grants
/// (Art. 21, 28): the chain that gives a sandbox project raw fields. Every domain value is kept in
/// columns (no JSON), so that each link round-trips and can be checked on every query.
const V9_COMMON: &[&str] = &[
    "CREATE TABLE data_use_request (
        id {ID},
        operator_org_id BIGINT NOT NULL REFERENCES org(id),
        provider_org_id BIGINT NOT NULL REFERENCES org(id),
        authority_org_id BIGINT REFERENCES org(id),
        scenario_id BIGINT NOT NULL REFERENCES scenario(id),
        purpose TEXT NOT NULL,
        row_scope TEXT NOT NULL,
        valid_until TEXT NOT NULL,
        status TEXT NOT NULL,
        submitted_on TEXT,
        created_by BIGINT NOT NULL REFERENCES app_user(id),
        version BIGINT NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )",
    "CREATE INDEX data_use_request_operator ON data_use_request(operator_org_id)",
    "CREATE INDEX data_use_request_provider ON data_use_request(provider_org_id)",
    "CREATE INDEX data_use_request_status ON data_use_request(status, valid_until)",
    "CREATE TABLE data_use_field (
        request_id BIGINT NOT NULL REFERENCES data_use_request(id),
        idx BIGINT NOT NULL,
        resource_id BIGINT NOT NULL REFERENCES data_resource(id),
        item TEXT NOT NULL,
        usage_class TEXT NOT NULL,
        justification TEXT NOT NULL,
        consent_required BIGINT NOT NULL DEFAULT 0,
        consented BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (request_id, idx)
    )",
    "CREATE TABLE data_use_decision (
        request_id BIGINT NOT NULL REFERENCES data_use_request(id),
        side TEXT NOT NULL,
        org_id BIGINT NOT NULL REFERENCES org(id),
        user_id BIGINT NOT NULL REFERENCES app_user(id),
        decided_on TEXT NOT NULL,
        approved BIGINT NOT NULL,
        reason TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (request_id, side)
    )",
    "CREATE TABLE sandbox_project (
        id {ID},
        developer_org_id BIGINT NOT NULL REFERENCES org(id),
        operator_org_id BIGINT NOT NULL REFERENCES org(id),
        agreement_id BIGINT NOT NULL REFERENCES development_agreement(id),
        scenario_id BIGINT NOT NULL REFERENCES scenario(id),
        name TEXT NOT NULL,
        purpose TEXT NOT NULL,
        status TEXT NOT NULL,
        opened_on TEXT NOT NULL,
        closed_on TEXT,
        created_at TEXT NOT NULL
    )",
    "CREATE INDEX sandbox_project_developer ON sandbox_project(developer_org_id)",
    "CREATE INDEX sandbox_project_operator ON sandbox_project(operator_org_id)",
    "CREATE TABLE security_assessment (
        id {ID},
        operator_org_id BIGINT NOT NULL REFERENCES org(id),
        project_id BIGINT NOT NULL REFERENCES sandbox_project(id),
        request_id BIGINT NOT NULL REFERENCES data_use_request(id),
        risks TEXT NOT NULL,
        measures TEXT NOT NULL,
        conclusion TEXT NOT NULL,
        conditions TEXT NOT NULL,
        assessor_id BIGINT NOT NULL REFERENCES app_user(id),
        assessed_on TEXT NOT NULL,
        valid_until TEXT NOT NULL,
        created_at TEXT NOT NULL
    )",
    "CREATE INDEX security_assessment_project ON security_assessment(project_id)",
    "CREATE TABLE sandbox_grant (
        id {ID},
        project_id BIGINT NOT NULL REFERENCES sandbox_project(id),
        request_id BIGINT NOT NULL REFERENCES data_use_request(id),
        assessment_id BIGINT NOT NULL REFERENCES security_assessment(id),
        row_scope TEXT NOT NULL,
        k BIGINT NOT NULL,
        epsilon TEXT,
        granted_on TEXT NOT NULL,
        expires_on TEXT NOT NULL,
        combined_grade TEXT NOT NULL,
        combined_reasons TEXT NOT NULL,
        linked_quasi TEXT NOT NULL,
        granted_by BIGINT NOT NULL REFERENCES app_user(id),
        revoked_by BIGINT REFERENCES app_user(id),
        revoked_on TEXT,
        revoke_reason TEXT,
        created_at TEXT NOT NULL
    )",
    "CREATE INDEX sandbox_grant_project ON sandbox_grant(project_id)",
    "CREATE TABLE sandbox_grant_field (
        grant_id BIGINT NOT NULL REFERENCES sandbox_grant(id),
        idx BIGINT NOT NULL,
        resource_id BIGINT NOT NULL REFERENCES data_resource(id),
        item TEXT NOT NULL,
        usage_class TEXT NOT NULL,
        PRIMARY KEY (grant_id, idx)
    )",
];

/// A migration: its version and statements, already specialised for the backend.
pub struct Migration {
    pub version: i64,
    pub statements: Vec<String>,
}

pub fn migrations(backend: Backend) -> Vec<Migration> {
    let id = match backend {
        Backend::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
        Backend::Postgres => "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    };
    let specific = match backend {
        Backend::Sqlite => V1_SQLITE,
        Backend::Postgres => V1_POSTGRES,
    };
    let statements = V1_COMMON
        .iter()
        .map(|s| s.replace("{ID}", id))
        .chain(specific.iter().map(|s| (*s).to_owned()))
        .collect();
    let v2 = V2_COMMON.iter().map(|s| s.replace("{ID}", id)).collect();
    let v3 = V3_COMMON.iter().map(|s| s.replace("{ID}", id)).collect();
    let blob = match backend {
        Backend::Sqlite => "BLOB",
        Backend::Postgres => "BYTEA",
    };
    let v4 = V4_COMMON.iter().map(|s| s.replace("{ID}", id).replace("{BLOB}", blob)).collect();
    let v7 = V7_COMMON.iter().map(|s| s.replace("{ID}", id)).collect();
    vec![
        Migration { version: 1, statements },
        Migration { version: 2, statements: v2 },
        Migration { version: 3, statements: v3 },
        Migration { version: 4, statements: v4 },
        Migration { version: 5, statements: V5_COMMON.iter().map(|s| s.replace("{ID}", id)).collect() },
        Migration { version: 6, statements: V6_COMMON.iter().map(|s| s.replace("{ID}", id)).collect() },
        Migration { version: 7, statements: v7 },
        // 8: when an organisation to-do passed its deadline and its people were told (once).
        Migration {
            version: 8,
            statements: vec!["ALTER TABLE org_task ADD COLUMN overdue_notified_at TEXT".to_owned()],
        },
        Migration { version: 9, statements: V9_COMMON.iter().map(|s| s.replace("{ID}", id)).collect() },
        // 10: the sandbox's query history, outbox, reviews and downloads.
        Migration {
            version: 10,
            statements: crate::sandbox_runs::V10_COMMON.iter().map(|s| s.replace("{ID}", id)).collect(),
        },
        Migration {
            version: 11,
            statements: crate::sandbox_runs::V11.iter().map(|s| (*s).to_owned()).collect(),
        },
        Migration {
            version: 12,
            statements: crate::sandbox_runs::V12.iter().map(|s| (*s).to_owned()).collect(),
        },
        // 13: objections to registration notices (Art. 18), raised on the public site.
        Migration {
            version: 13,
            statements: crate::reg_objections::V13_COMMON.iter().map(|s| s.replace("{ID}", id)).collect(),
        },
    ]
}

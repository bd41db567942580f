//! Unit tests of `approval`.
#![allow(clippy::unwrap_used)]
use super::*;

// Organisation: 1 clerk (initiator), heads 2 and 3, leader 4.
fn resolve(role: Role) -> Vec<UserId> {
    match role {
        Role::Clerk => vec![1],
        Role::Head => vec![2, 3],
        Role::Leader => vec![4],
        _ => vec![],
    }
}

fn chain(text: &str) -> ChainSpec {
    ChainSpec::parse_text(text).unwrap()
}

#[test]
fn or_sign_step_is_decided_by_the_first_approval() {
    let (mut a, out) = Approval::start(1, chain("head:any:5"), resolve).unwrap();
    assert_eq!(out, Outcome::Started { assignees: vec![2, 3] });
    assert_eq!(a.approve(3, None, resolve).unwrap(), Outcome::Approved);
    assert_eq!(a.status, ApprovalStatus::Approved);
    assert!(a.pending_assignees().is_empty(), "the other head's task is closed");
}

#[test]
fn countersign_waits_for_everyone_then_advances() {
    let (mut a, _) = Approval::start(1, chain("head:all:5;leader:any:3"), resolve).unwrap();
    assert_eq!(a.approve(2, None, resolve).unwrap(), Outcome::Waiting);
    assert_eq!(
        a.approve(3, Some("同意".into()), resolve).unwrap(),
        Outcome::Advanced { step: 1, assignees: vec![4] }
    );
    assert_eq!(a.approve(2, None, resolve), Err(ApprovalError::NotYourTask));
    assert_eq!(a.approve(4, None, resolve).unwrap(), Outcome::Approved);
}

#[test]
fn send_back_then_resubmit_starts_a_new_round() {
    let (mut a, _) = Approval::start(1, chain("head:any:5"), resolve).unwrap();
    assert_eq!(a.send_back(2, " ".into()), Err(ApprovalError::ReasonRequired));
    assert_eq!(a.send_back(2, "补充保密协议".into()).unwrap(), Outcome::Returned);
    assert_eq!(a.approve(3, None, resolve), Err(ApprovalError::NotInProgress));
    assert_eq!(a.resubmit(2, resolve), Err(ApprovalError::NotInitiator));
    assert_eq!(a.resubmit(1, resolve).unwrap(), Outcome::Started { assignees: vec![2, 3] });
    assert_eq!(a.round, 2);
    assert_eq!(a.approve(2, None, resolve).unwrap(), Outcome::Approved);
}

#[test]
fn withdraw_is_for_the_initiator_while_running() {
    let (mut a, _) = Approval::start(1, chain("head:any:5"), resolve).unwrap();
    assert_eq!(a.withdraw(2), Err(ApprovalError::NotInitiator));
    assert_eq!(a.withdraw(1).unwrap(), Outcome::Withdrawn);
    assert_eq!(a.withdraw(1), Err(ApprovalError::NotInProgress));
    assert!(a.pending_assignees().is_empty());
}

#[test]
fn transfer_hands_the_task_over() {
    let (mut a, _) = Approval::start(1, chain("leader:any:5"), resolve).unwrap();
    assert_eq!(a.transfer(4, 1), Err(ApprovalError::BadTransferTarget), "not to the initiator");
    assert_eq!(a.transfer(4, 4), Err(ApprovalError::BadTransferTarget), "not to self");
    assert_eq!(a.transfer(4, 3).unwrap(), Outcome::Waiting);
    assert_eq!(a.pending_assignees(), vec![3]);
    assert_eq!(a.approve(4, None, resolve), Err(ApprovalError::NotYourTask));
    assert_eq!(a.approve(3, None, resolve).unwrap(), Outcome::Approved);
}

#[test]
fn remind_lists_who_the_chain_waits_for() {
    let (mut a, _) = Approval::start(1, chain("head:all:5"), resolve).unwrap();
    a.approve(2, None, resolve).unwrap();
    assert_eq!(a.remind(1).unwrap(), Outcome::Reminded { assignees: vec![3] });
    assert_eq!(a.remind(3), Err(ApprovalError::NotInitiator));
}

#[test]
fn reject_is_final_and_needs_a_reason() {
    let (mut a, _) = Approval::start(1, chain("head:any:5"), resolve).unwrap();
    assert_eq!(a.reject(2, "".into()), Err(ApprovalError::ReasonRequired));
    assert_eq!(a.reject(2, "身份信息不符".into()).unwrap(), Outcome::Rejected);
    assert_eq!(a.resubmit(1, resolve), Err(ApprovalError::NotResubmittable));
}

#[test]
fn initiator_never_reviews_own_submission_and_missing_roles_are_named() {
    // The only head is the initiator: nobody can review.
    let only_self = |role: Role| if role == Role::Head { vec![2] } else { vec![] };
    assert_eq!(
        Approval::start(2, chain("head:any:5"), only_self).unwrap_err(),
        ApprovalError::NoAssignee { role: Role::Head }
    );
}

#[test]
fn chain_text_round_trips_and_rejects_bad_specs() {
    let c = chain("head:any:5;leader:all:3");
    assert_eq!(ChainSpec::parse_text(&c.to_text()).unwrap(), c);
    for bad in ["", "head", "head:any", "head:some:5", "boss:any:5", "head:any:0", "head:any:5:1"] {
        assert_eq!(ChainSpec::parse_text(bad), Err(ApprovalError::BadChain), "{bad}");
    }
}

//! Authorization: the Cedar policy set in `policy/yunshu.cedar`, and the entities it is evaluated
//! against. Deny by default — a request is allowed only when a `permit` matches and no `forbid` does.
//!
//! Checks happen twice: once per route (in the middleware, against the principal's own organisation,
//! answering "may this kind of user do this at all?") and once per object in the handler (against the
//! object's entity, answering "may they do it to this one?" — e.g. a prefecture authority acting on
//! an organisation of a sibling prefecture is refused there).

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicySet, Request,
    RestrictedExpression,
};
use yunshu_domain::regions::{RegionCode, RegionTree};

/// The policy text, compiled into the binary.
pub const POLICY_TEXT: &str = include_str!("../policy/yunshu.cedar");

/// An authenticated (or anonymous) party as the policy sees it.
#[derive(Debug, Clone)]
pub struct PolicyPrincipal {
    /// `None` for the anonymous visitor.
    pub user_id: Option<i64>,
    pub org_id: Option<i64>,
    pub org_type: String,
    pub roles: Vec<String>,
    pub region: Option<RegionCode>,
    pub active: bool,
}

impl PolicyPrincipal {
    pub fn anonymous() -> PolicyPrincipal {
        PolicyPrincipal {
            user_id: None,
            org_id: None,
            org_type: "anonymous".into(),
            roles: Vec::new(),
            region: None,
            active: false,
        }
    }
}

/// What an action is done to.
#[derive(Debug, Clone)]
pub enum PolicyResource {
    Region(RegionCode),
    Org {
        id: i64,
        region: RegionCode,
    },
    User {
        id: i64,
        org_id: i64,
        region: RegionCode,
    },
    Approval {
        id: i64,
        org_id: i64,
        region: RegionCode,
    },
    /// A catalogued data resource, owned by its provider.
    Resource {
        id: i64,
        org_id: i64,
        region: RegionCode,
    },
    /// A scenario or a developer application: inside each party organisation (the operator, and
    /// the applicant for an application), so that either party's rules can match.
    Onboarding {
        id: i64,
        parties: Vec<(i64, RegionCode)>,
    },
    /// Things with no owner (the login page, health).
    Platform,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthzError {
    #[error("policy: {0}")]
    Policy(String),
}

pub struct Authz {
    policies: PolicySet,
    regions: std::sync::Arc<RegionTree>,
    authorizer: Authorizer,
}

fn uid(ty: &str, id: &str) -> Result<EntityUid, AuthzError> {
    let t = EntityTypeName::from_str(ty).map_err(|e| AuthzError::Policy(e.to_string()))?;
    Ok(EntityUid::from_type_name_and_id(t, EntityId::new(id)))
}

impl Authz {
    pub fn new(regions: std::sync::Arc<RegionTree>) -> Result<Authz, AuthzError> {
        let policies = PolicySet::from_str(POLICY_TEXT).map_err(|e| AuthzError::Policy(e.to_string()))?;
        Ok(Authz { policies, regions, authorizer: Authorizer::new() })
    }

    /// The region entity and its ancestors up to the province.
    fn region_entities(&self, code: &RegionCode, out: &mut Vec<Entity>) -> Result<(), AuthzError> {
        let mut chain = vec![*code];
        chain.extend(self.regions.ancestors(code).into_iter().map(|r| r.code()));
        for (i, c) in chain.iter().enumerate() {
            let parents: HashSet<EntityUid> = match chain.get(i + 1) {
                Some(p) => [uid("Yunshu::Region", p.as_str())?].into_iter().collect(),
                None => HashSet::new(),
            };
            out.push(Entity::new_no_attrs(uid("Yunshu::Region", c.as_str())?, parents));
        }
        Ok(())
    }

    fn region_uid(region: Option<&RegionCode>) -> Result<EntityUid, AuthzError> {
        // The anonymous visitor lives in a region that contains nothing.
        uid("Yunshu::Region", region.map(|r| r.as_str()).unwrap_or("none"))
    }

    fn org_entity(
        &self,
        id: i64,
        region: &RegionCode,
        out: &mut Vec<Entity>,
    ) -> Result<EntityUid, AuthzError> {
        let org = uid("Yunshu::Org", &id.to_string())?;
        out.push(Entity::new_no_attrs(
            org.clone(),
            [uid("Yunshu::Region", region.as_str())?].into_iter().collect(),
        ));
        self.region_entities(region, out)?;
        Ok(org)
    }

    /// Is `principal` allowed to do `action` to `resource`?
    pub fn is_allowed(
        &self,
        principal: &PolicyPrincipal,
        action: &str,
        resource: &PolicyResource,
    ) -> Result<bool, AuthzError> {
        let mut entities: Vec<Entity> = Vec::new();
        // Principal.
        let p_uid = uid(
            "Yunshu::User",
            &principal.user_id.map(|u| u.to_string()).unwrap_or_else(|| "anonymous".into()),
        )?;
        let p_org =
            uid("Yunshu::Org", &principal.org_id.map(|o| o.to_string()).unwrap_or_else(|| "none".into()))?;
        let p_region = Self::region_uid(principal.region.as_ref())?;
        let attrs: HashMap<String, RestrictedExpression> = [
            ("active".to_owned(), RestrictedExpression::new_bool(principal.active)),
            ("org_type".to_owned(), RestrictedExpression::new_string(principal.org_type.clone())),
            (
                "roles".to_owned(),
                RestrictedExpression::new_set(
                    principal.roles.iter().map(|r| RestrictedExpression::new_string(r.clone())),
                ),
            ),
            ("region".to_owned(), RestrictedExpression::new_entity_uid(p_region.clone())),
            ("org".to_owned(), RestrictedExpression::new_entity_uid(p_org.clone())),
        ]
        .into_iter()
        .collect();
        let p_parents: HashSet<EntityUid> = [p_org.clone()].into_iter().collect();
        entities.push(
            Entity::new(p_uid.clone(), attrs, p_parents).map_err(|e| AuthzError::Policy(e.to_string()))?,
        );
        if let (Some(org_id), Some(region)) = (principal.org_id, principal.region.as_ref()) {
            self.org_entity(org_id, region, &mut entities)?;
        }
        // Resource.
        let r_uid = match resource {
            PolicyResource::Platform => uid("Yunshu::Platform", "yunshu")?,
            PolicyResource::Region(code) => {
                self.region_entities(code, &mut entities)?;
                uid("Yunshu::Region", code.as_str())?
            }
            PolicyResource::Org { id, region } => self.org_entity(*id, region, &mut entities)?,
            PolicyResource::User { id, org_id, region } => {
                let org = self.org_entity(*org_id, region, &mut entities)?;
                let u = uid("Yunshu::User", &id.to_string())?;
                if Some(*id) != principal.user_id {
                    entities.push(Entity::new_no_attrs(u.clone(), [org].into_iter().collect()));
                }
                u
            }
            PolicyResource::Approval { id, org_id, region } => {
                let org = self.org_entity(*org_id, region, &mut entities)?;
                let a = uid("Yunshu::Approval", &id.to_string())?;
                entities.push(Entity::new_no_attrs(a.clone(), [org].into_iter().collect()));
                a
            }
            PolicyResource::Onboarding { id, parties } => {
                let mut orgs = HashSet::new();
                for (org_id, region) in parties {
                    orgs.insert(self.org_entity(*org_id, region, &mut entities)?);
                }
                let o = uid("Yunshu::Onboarding", &id.to_string())?;
                entities.push(Entity::new_no_attrs(o.clone(), orgs));
                o
            }
            PolicyResource::Resource { id, org_id, region } => {
                let org = self.org_entity(*org_id, region, &mut entities)?;
                let r = uid("Yunshu::Resource", &id.to_string())?;
                entities.push(Entity::new_no_attrs(r.clone(), [org].into_iter().collect()));
                r
            }
        };
        // The same org or region may have been added twice (principal and resource): keep one.
        let mut seen = HashSet::new();
        entities.retain(|e| seen.insert(e.uid()));
        let entities =
            Entities::from_entities(entities, None).map_err(|e| AuthzError::Policy(e.to_string()))?;
        let action_uid = uid("Yunshu::Action", action)?;
        let request = Request::new(p_uid, action_uid, r_uid, Context::empty(), None)
            .map_err(|e| AuthzError::Policy(e.to_string()))?;
        let response = self.authorizer.is_authorized(&request, &self.policies, &entities);
        Ok(response.decision() == Decision::Allow)
    }
}

#[cfg(test)]
#[path = "authz_test.rs"]
mod tests;

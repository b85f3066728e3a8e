//! The rules of the storage contract that need no database: decided the same way by every
//! backend, so they live once. A backend reads what it needs inside its transaction and
//! asks these functions what the answer is.

use chat_protocol::{MemberInput, MemberRole};

use super::{Actor, StoreError, StoreResult};

/// The user an actor acts as; a non-server call without one is invalid.
pub fn require_user(actor: &Actor) -> StoreResult<String> {
    actor
        .user_id
        .clone()
        .ok_or_else(|| StoreError::Invalid("this call needs a user (user token or user_id)".into()))
}

/// A channel's initial member order: the creator first, then the other members in request
/// order, without duplicates.
pub fn initial_order(creator: &str, members: &[String]) -> Vec<String> {
    let mut out = vec![creator.to_owned()];
    for m in members {
        if !out.contains(m) {
            out.push(m.clone());
        }
    }
    out
}

/// Fails unless a member of role `role` may give the roles `inputs` ask for: nobody gives
/// the owner role, and only owners and admins give admin or moderator.
pub fn check_assigned_roles(role: MemberRole, inputs: &[MemberInput]) -> StoreResult<()> {
    for input in inputs {
        match input.role {
            Some(MemberRole::Owner) => {
                return Err(StoreError::Invalid(
                    "the owner role cannot be assigned".into(),
                ));
            }
            Some(MemberRole::Admin | MemberRole::Moderator) if !role.can_admin() => {
                return Err(StoreError::Forbidden(
                    "only owners and admins assign roles".into(),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The mentioned user ids, each once, in first-mention order.
pub fn dedup(mut ids: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    ids
}

/// Fails unless every mentioned user is one of `members` (the channel's member ids).
pub fn check_mentions(members: &[String], mentions: &[String]) -> StoreResult<()> {
    let outsiders: Vec<&str> = mentions
        .iter()
        .filter(|m| !members.contains(m))
        .map(String::as_str)
        .collect();
    if outsiders.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "mentioned users are not members: {}",
            outsiders.join(", ")
        )))
    }
}

//! Dual control (ADR 016, seed 003's "additional validation from a separate user account"): what
//! waits for a second administrator, and who may decide.

use super::Realm;

/// The realm setting (a nexus extension of the realm representation, off by default).
pub const DUAL_CONTROL_SETTING: &str = "dualControl";

/// Whether the realm makes new service accounts and their API keys wait for a second admin.
pub fn dual_control(realm: &Realm) -> bool {
    realm.setting_bool(DUAL_CONTROL_SETTING).unwrap_or(false)
}

/// What a request asks to activate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApprovalKind {
    /// A client's service account (a new client, or one turned on for an existing client).
    ServiceAccount,
    /// An API key whose owner is a service-account user.
    ServiceAccountApiKey,
}

impl ApprovalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ServiceAccount => "service-account",
            Self::ServiceAccountApiKey => "service-account-api-key",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "service-account" => Some(Self::ServiceAccount),
            "service-account-api-key" => Some(Self::ServiceAccountApiKey),
            _ => None,
        }
    }
}

/// A request awaiting a second administrator. Removed once approved or rejected.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingApproval {
    pub id: String,
    pub realm_id: String,
    pub kind: ApprovalKind,
    /// Internal id of the client whose service account waits (`ServiceAccount`).
    pub client_id: Option<String>,
    /// The key that waits (`ServiceAccountApiKey`).
    pub api_key_id: Option<String>,
    /// The key's owner, a service-account user (`ServiceAccountApiKey`).
    pub owner_id: Option<String>,
    /// The request created its subject (a new client): rejecting deletes it; otherwise rejecting
    /// turns the service account off again.
    pub new_subject: bool,
    pub requested_by: String,
    pub requested_by_username: String,
    pub requested_at: i64,
    pub summary: String,
}

/// Why an administrator may not decide a request they may otherwise see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecisionRefusal {
    /// Approving one's own request is what dual control exists to prevent.
    OwnRequest,
}

/// The rule of dual control: the approver is not the requester. Rejecting one's own request
/// (withdrawing it) is allowed: it only removes what the requester created.
pub fn may_approve(request: &PendingApproval, approver_id: &str) -> Result<(), DecisionRefusal> {
    if request.requested_by == approver_id {
        Err(DecisionRefusal::OwnRequest)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(by: &str) -> PendingApproval {
        PendingApproval {
            id: "p".into(),
            realm_id: "r".into(),
            kind: ApprovalKind::ServiceAccount,
            client_id: Some("c".into()),
            api_key_id: None,
            owner_id: None,
            new_subject: true,
            requested_by: by.into(),
            requested_by_username: "alice".into(),
            requested_at: 0,
            summary: String::new(),
        }
    }

    #[test]
    fn the_requester_cannot_approve() {
        assert_eq!(
            may_approve(&request("alice-id"), "alice-id"),
            Err(DecisionRefusal::OwnRequest)
        );
        assert_eq!(may_approve(&request("alice-id"), "bob-id"), Ok(()));
    }

    #[test]
    fn kinds_round_trip() {
        for kind in [ApprovalKind::ServiceAccount, ApprovalKind::ServiceAccountApiKey] {
            assert_eq!(ApprovalKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ApprovalKind::parse("other"), None);
    }
}

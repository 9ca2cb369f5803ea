//! Who a user is to the system: the stored vocabulary of roles.

use crate::DomainError;

/// A user's role (see the contract's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything.
    Admin,
    /// Drives, events, donations and reports of one chapter's subtree; donors.
    Coordinator,
    /// One hospital's emergency requests.
    Hospital,
    /// Reads donors, honors and reports; records awards.
    Honors,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Coordinator, Role::Hospital, Role::Honors];

    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Coordinator => "coordinator",
            Role::Hospital => "hospital",
            Role::Honors => "honors",
        }
    }

    /// Parses a stored or submitted role (exact spelling).
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| DomainError::InvalidRole(s.to_owned()))
    }
}

string_enum!(Role, "one of admin, coordinator, hospital, honors");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_stored_name() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert!(Role::parse("Admin").is_err());
        assert!(Role::parse("").is_err());
    }
}

//! Who may do what in a shared session: the runbook's `roles:` (OS users and groups mapped to
//! driver, approver or observer) and its `two_person:` rule (which actions need a second,
//! approving person). Pure: the shell resolves a peer's user name and groups; this decides.

use crate::core::time::Ms;

/// A person's part in a shared session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Watches; may add notes and raise a hand.
    Observer,
    /// Also answers open decisions and gives the second confirmation.
    Approver,
    /// May hold the keys (a handover may go to them).
    Driver,
}

impl Role {
    /// The word in the runbook and on screen.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Observer => "observer",
            Role::Approver => "approver",
            Role::Driver => "driver",
        }
    }

    /// Reads a role word.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "observer" => Some(Role::Observer),
            "approver" => Some(Role::Approver),
            "driver" => Some(Role::Driver),
            _ => None,
        }
    }
}

/// Who a `roles:` entry names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// An OS user name.
    User(String),
    /// Members of an OS group (`group:NAME`).
    Group(String),
}

/// An action the two-person rule may cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarded {
    /// A rollback started by a person (never an automatic one).
    Rollback,
    /// Completing a point-of-no-return step.
    PointOfNoReturn,
    /// Skipping a step.
    Skip,
}

impl Guarded {
    /// The word in the runbook and the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            Guarded::Rollback => "rollback",
            Guarded::PointOfNoReturn => "point_of_no_return",
            Guarded::Skip => "skip",
        }
    }

    /// Reads an action word.
    pub fn parse(s: &str) -> Option<Guarded> {
        match s {
            "rollback" => Some(Guarded::Rollback),
            "point_of_no_return" => Some(Guarded::PointOfNoReturn),
            "skip" => Some(Guarded::Skip),
            _ => None,
        }
    }

    /// The action in words: `rollback`, `point of no return`, `skip`.
    pub fn words(self) -> &'static str {
        match self {
            Guarded::Rollback => "rollback",
            Guarded::PointOfNoReturn => "point of no return",
            Guarded::Skip => "skip",
        }
    }

    /// Every action word, for hints.
    pub const WORDS: [&'static str; 3] = ["rollback", "point_of_no_return", "skip"];
}

/// The two-person rule: these actions wait for an approver's typed confirmation.
#[derive(Debug, Clone, PartialEq)]
pub struct TwoPerson {
    /// The actions covered.
    pub actions: Vec<Guarded>,
    /// How long the second person has (wall time, not drill time: people type at 1×).
    pub within: Ms,
}

/// Default time the second person has.
pub const DEFAULT_WITHIN: Ms = 5 * 60 * 1000;

/// Roles and the two-person rule of a runbook.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Team {
    /// `roles:` in file order; empty when the runbook has none.
    pub roles: Vec<(Who, Role)>,
    /// `two_person:`, if any.
    pub two_person: Option<TwoPerson>,
}

impl Team {
    /// The role of OS user `user` (member of `groups`) in a session run by `owner`. The owner
    /// (the OS user running the driver process) always may drive: the process is theirs.
    /// Without `roles:`, everyone else observes. With it, a user's own entry counts over a
    /// group's, the highest group role counts among groups, and anyone unnamed observes.
    pub fn role_of(&self, user: &str, groups: &[String], owner: &str) -> Role {
        if user == owner {
            return Role::Driver;
        }
        let own = self.roles.iter().find_map(|(w, r)| match w {
            Who::User(u) if u == user => Some(*r),
            _ => None,
        });
        if let Some(r) = own {
            return r;
        }
        self.roles
            .iter()
            .filter_map(|(w, r)| match w {
                Who::Group(g) if groups.iter().any(|x| x == g) => Some(*r),
                _ => None,
            })
            .max()
            .unwrap_or(Role::Observer)
    }

    /// Whether `action` needs a second person.
    pub fn guards(&self, action: Guarded) -> bool {
        self.two_person
            .as_ref()
            .is_some_and(|t| t.actions.contains(&action))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team() -> Team {
        Team {
            roles: vec![
                (Who::User("bob".into()), Role::Approver),
                (Who::Group("dba".into()), Role::Approver),
                (Who::Group("leads".into()), Role::Driver),
                (Who::User("carl".into()), Role::Observer),
            ],
            two_person: Some(TwoPerson {
                actions: vec![Guarded::Rollback],
                within: DEFAULT_WITHIN,
            }),
        }
    }

    #[test]
    fn the_owner_drives_named_users_and_groups_get_their_role_others_observe() {
        let t = team();
        let g = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(t.role_of("ann", &[], "ann"), Role::Driver);
        assert_eq!(t.role_of("bob", &[], "ann"), Role::Approver);
        assert_eq!(t.role_of("dee", &g(&["dba"]), "ann"), Role::Approver);
        assert_eq!(t.role_of("dee", &g(&["dba", "leads"]), "ann"), Role::Driver);
        // A user's own entry counts over the groups they are in.
        assert_eq!(t.role_of("carl", &g(&["leads"]), "ann"), Role::Observer);
        assert_eq!(t.role_of("eve", &g(&["staff"]), "ann"), Role::Observer);
        // No roles: everyone but the owner observes.
        assert_eq!(
            Team::default().role_of("bob", &g(&["dba"]), "ann"),
            Role::Observer
        );
        assert!(t.guards(Guarded::Rollback));
        assert!(!t.guards(Guarded::Skip));
        assert!(!Team::default().guards(Guarded::Rollback));
    }

    #[test]
    fn words_read_back() {
        for r in [Role::Observer, Role::Approver, Role::Driver] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        for w in Guarded::WORDS {
            assert_eq!(Guarded::parse(w).map(Guarded::as_str), Some(w));
        }
        assert_eq!(Role::parse("admin"), None);
    }
}

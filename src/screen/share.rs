//! Who shares the session, as the screen shows it: the driver sees who is watching; a watcher
//! sees that it only watches, whose run it is, and, once the driver is gone, since when. Plain
//! data set by the shell (which knows the socket and the wall clock) and drawn by the UI.

/// The screen's place in a shared session.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Share {
    /// Not shared (a test, or a front end without a socket): nothing is drawn for it.
    #[default]
    Solo,
    /// This screen is the terminal of the process that runs the session; these OS users
    /// watch it (in the order they joined).
    Driving {
        /// Their OS user names, one per watcher (a user watching twice is listed twice).
        watchers: Vec<String>,
        /// Who holds the keys when this screen does not (handed over): read-only here.
        keys_with: Option<String>,
        /// Who offers this screen the keys back, until it takes them.
        offer: Option<String>,
    },
    /// This screen watches a run another process drives.
    Watching {
        /// The driver as `user@host`, with `--operator` when it names someone else.
        driver: String,
        /// The driver's OS user, for "only the driver ann can …".
        driver_user: String,
        /// Other watchers besides this one (OS user names).
        watchers: Vec<String>,
        /// Set while no live driver answers: the screen shows the journal as it was left.
        gone: Option<Gone>,
        /// This watcher's part, as the driver says (`observer` until it has said).
        role: Role,
        /// This watcher holds the keys (handed over, or taken with `watch --drive`).
        keys: bool,
        /// Who offers this watcher the keys, until it takes them.
        offer: Option<String>,
        /// Who holds the keys now, when the journal says (an OS user; empty: nobody).
        keys_with: Option<String>,
    },
}

pub use crate::core::runbook::team::Role;

/// A driver that no longer answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gone {
    /// Wall time (local, `HH:MM:SS`) since when.
    pub since: String,
    /// How long ago that was, in seconds (the shell updates it as time passes).
    pub ago_s: i64,
}

/// What a screen's keys may ask, beyond looking around.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    /// Everything the keys do: this screen drives.
    Keys,
    /// Answer decisions and give second confirmations, add notes, raise a hand.
    Approve,
    /// Add notes and raise a hand.
    Speak,
    /// Nothing: no live driver to ask.
    None,
}

impl Share {
    /// True when this screen's keys do not drive the run: a watcher without the keys, or a
    /// driver's terminal that handed them over.
    pub fn read_only(&self) -> bool {
        self.power() != Power::Keys
    }

    /// True for a watcher (a `cutover watch` screen).
    pub fn watching(&self) -> bool {
        matches!(self, Share::Watching { .. })
    }

    /// What this screen's keys may ask.
    pub fn power(&self) -> Power {
        match self {
            Share::Solo
            | Share::Driving {
                keys_with: None, ..
            } => Power::Keys,
            Share::Driving { .. } => Power::Speak,
            Share::Watching { gone: Some(_), .. } => Power::None,
            Share::Watching { keys: true, .. } => Power::Keys,
            Share::Watching { role, .. } if *role >= Role::Approver => Power::Approve,
            Share::Watching { .. } => Power::Speak,
        }
    }

    /// Who offers this screen the keys, if anyone.
    pub fn offer(&self) -> Option<&str> {
        match self {
            Share::Driving { offer, .. } | Share::Watching { offer, .. } => offer.as_deref(),
            Share::Solo => None,
        }
    }

    /// Why a key that changes the run does nothing here, e.g. `read-only: only the driver
    /// ann can confirm steps`.
    pub fn refusal(&self, what: &str) -> Option<String> {
        match self {
            Share::Driving {
                keys_with: Some(k), ..
            } => Some(format!(
                "read-only: you handed the keys to {k}; only {k} can {what} now"
            )),
            Share::Watching { gone: Some(_), .. } => Some(format!(
                "read-only: nobody drives this session now; resume it with `cutover drill|run … --session DIR` to {what}"
            )),
            Share::Watching { keys: true, .. } => None,
            Share::Watching {
                driver_user,
                keys_with,
                role,
                ..
            } => {
                let who = match keys_with.as_deref() {
                    Some("") => "whoever takes the keys (`cutover watch --drive`)".to_string(),
                    Some(k) => format!("the driver {k}"),
                    None => format!("the driver {driver_user}"),
                };
                Some(format!(
                    "read-only ({}): only {who} can {what}",
                    role.as_str()
                ))
            }
            _ => None,
        }
    }
}

/// `2m ago`, `45s ago`, `3h ago`.
pub fn ago(s: i64) -> String {
    let s = s.max(0);
    if s < 60 {
        format!("{s}s ago")
    } else if s < 3600 {
        format!("{}m ago", s / 60)
    } else if s < 86_400 {
        format!("{}h ago", s / 3600)
    } else {
        format!("{}d ago", s / 86_400)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_names_the_driver_or_says_nobody_drives() {
        let mut s = Share::Watching {
            driver: "ann@host".into(),
            driver_user: "ann".into(),
            watchers: vec![],
            gone: None,
            role: Role::Observer,
            keys: false,
            offer: None,
            keys_with: None,
        };
        assert_eq!(
            s.refusal("confirm steps").as_deref(),
            Some("read-only (observer): only the driver ann can confirm steps")
        );
        assert_eq!(s.power(), Power::Speak);
        if let Share::Watching { keys, .. } = &mut s {
            *keys = true;
        }
        assert_eq!(s.power(), Power::Keys);
        assert_eq!(s.refusal("x"), None);
        if let Share::Watching { keys, role, .. } = &mut s {
            *keys = false;
            *role = Role::Approver;
        }
        assert_eq!(s.power(), Power::Approve);
        let handed = Share::Driving {
            watchers: vec!["bob".into()],
            keys_with: Some("bob".into()),
            offer: None,
        };
        assert!(handed.read_only());
        assert!(
            handed
                .refusal("skip")
                .unwrap()
                .contains("handed the keys to bob")
        );
        if let Share::Watching { gone, .. } = &mut s {
            *gone = Some(Gone {
                since: "14:02:11".into(),
                ago_s: 120,
            });
        }
        assert!(s.refusal("hold").unwrap().contains("nobody drives"));
        assert_eq!(Share::Solo.refusal("x"), None);
        assert_eq!(ago(125), "2m ago");
        assert_eq!(ago(5), "5s ago");
    }
}

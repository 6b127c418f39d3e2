//! Who shares the session, as the screen shows it: the driver sees who is watching; a watcher
//! sees that it only watches, whose run it is, and, once the driver is gone, since when. Plain
//! data set by the shell (which knows the socket and the wall clock) and drawn by the UI.

/// The screen's place in a shared session.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Share {
    /// Not shared (a test, or a front end without a socket): nothing is drawn for it.
    #[default]
    Solo,
    /// This screen drives the run; these OS users watch it (in the order they joined).
    Driving {
        /// Their OS user names, one per watcher (a user watching twice is listed twice).
        watchers: Vec<String>,
    },
    /// This screen watches a run another process drives: read-only.
    Watching {
        /// The driver as `user@host`, with `--operator` when it names someone else.
        driver: String,
        /// The driver's OS user, for "only the driver ann can …".
        driver_user: String,
        /// Other watchers besides this one (OS user names).
        watchers: Vec<String>,
        /// Set while no live driver answers: the screen shows the journal as it was left.
        gone: Option<Gone>,
    },
}

/// A driver that no longer answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gone {
    /// Wall time (local, `HH:MM:SS`) since when.
    pub since: String,
    /// How long ago that was, in seconds (the shell updates it as time passes).
    pub ago_s: i64,
}

impl Share {
    /// True for a watcher: keys that change the run are refused.
    pub fn read_only(&self) -> bool {
        matches!(self, Share::Watching { .. })
    }

    /// Why a key that changes the run does nothing here, e.g. `read-only: only the driver
    /// ann can confirm steps`.
    pub fn refusal(&self, what: &str) -> Option<String> {
        match self {
            Share::Watching {
                driver_user,
                gone: None,
                ..
            } => Some(format!(
                "read-only: only the driver {driver_user} can {what}"
            )),
            Share::Watching { .. } => Some(format!(
                "read-only: nobody drives this session now; resume it with `cutover drill|run … --session DIR` to {what}"
            )),
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
        };
        assert_eq!(
            s.refusal("confirm steps").as_deref(),
            Some("read-only: only the driver ann can confirm steps")
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

//! Who sits where in a shared session: each watcher's role (the runbook's `roles:` applied to
//! its OS user and groups, which the kernel and the system's user database give), who holds
//! the keys (the terminal that started the run, a watcher they were handed to, or nobody in a
//! detached session), and what each watcher's request may do. It decides and says what to
//! do: messages for the engine (with the person's OS user), journal entries, frames for one
//! watcher; the loop performs them. The process that runs the commands and holds the lock
//! never moves: only the keys do.

use crate::core::engine::{Engine, Msg};
use crate::core::event::{Entry, Event};
use crate::core::runbook::team::{Role, Team};
use crate::shell::wire::{ClientFrame, ServerFrame};

/// Who holds the keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// The terminal of the process that runs the session.
    Local,
    /// A watcher's connection.
    Watcher(u64),
    /// Nobody: a detached session, until a driver takes them.
    Nobody,
}

/// One watcher.
#[derive(Debug, Clone, PartialEq)]
struct Seat {
    conn: u64,
    user: String,
    role: Role,
}

/// What the loop must do about a request or a change.
#[derive(Debug, Default, PartialEq)]
pub struct Reply {
    /// Messages for the engine, each with the OS user who asked.
    pub msgs: Vec<(Msg, String)>,
    /// Journal entries (made by the runtime, not the engine).
    pub journal: Vec<Entry>,
    /// Frames for one connection each.
    pub tell: Vec<(u64, ServerFrame)>,
    /// The local terminal's view changed.
    pub local_changed: bool,
}

/// The seats of a session.
#[derive(Debug)]
pub struct Seats {
    team: Team,
    owner: String,
    local: bool,
    holder: Holder,
    seats: Vec<Seat>,
    /// The keys offered: to whom (OS user), by whom.
    offer: Option<(String, String)>,
}

impl Seats {
    /// A session run by OS user `owner`, with a terminal at the keys (`local`) or detached.
    pub fn new(team: Team, owner: &str, local: bool) -> Self {
        Self {
            team,
            owner: owner.to_string(),
            local,
            holder: if local { Holder::Local } else { Holder::Nobody },
            seats: Vec::new(),
            offer: None,
        }
    }

    /// Whether the local terminal's keys drive.
    pub fn local_holds(&self) -> bool {
        self.holder == Holder::Local
    }

    /// Whether someone can answer the run (a terminal or a watcher holds the keys).
    pub fn someone_drives(&self) -> bool {
        self.holder != Holder::Nobody
    }

    /// The OS user holding the keys (empty: nobody).
    pub fn holder_name(&self) -> String {
        self.name_of(&self.holder)
    }

    /// Who offers the local terminal the keys, if anyone.
    pub fn offer_to_local(&self) -> Option<&str> {
        match &self.offer {
            Some((to, from)) if self.local && *to == self.owner && !self.local_holds() => {
                Some(from)
            }
            _ => None,
        }
    }

    fn name_of(&self, h: &Holder) -> String {
        match h {
            Holder::Local => self.owner.clone(),
            Holder::Watcher(c) => self
                .seats
                .iter()
                .find(|s| s.conn == *c)
                .map(|s| s.user.clone())
                .unwrap_or_default(),
            Holder::Nobody => String::new(),
        }
    }

    fn seat(&self, conn: u64) -> Option<&Seat> {
        self.seats.iter().find(|s| s.conn == conn)
    }

    fn you(&self, conn: u64) -> Option<(u64, ServerFrame)> {
        let s = self.seat(conn)?;
        Some((
            conn,
            ServerFrame::You {
                role: s.role.as_str().into(),
                keys: self.holder == Holder::Watcher(conn),
            },
        ))
    }

    /// A watcher connected: it is told its role.
    pub fn joined(&mut self, conn: u64, user: &str, groups: &[String]) -> Reply {
        let role = self.team.role_of(user, groups, &self.owner);
        self.seats.push(Seat {
            conn,
            user: user.to_string(),
            role,
        });
        let mut r = Reply::default();
        r.tell.extend(self.you(conn));
        if let Some((to, from)) = &self.offer
            && to == user
        {
            r.tell
                .push((conn, ServerFrame::Offer { from: from.clone() }));
        }
        r
    }

    /// A watcher's connection closed. Keys it held go back to the terminal that started the
    /// run, or to nobody in a detached session: journaled either way.
    pub fn left(&mut self, conn: u64) -> Reply {
        let mut r = Reply::default();
        if self.holder == Holder::Watcher(conn) {
            let from = self.holder_name();
            let (to, how) = if self.local {
                (Holder::Local, "returned")
            } else {
                (Holder::Nobody, "released")
            };
            self.holder = to;
            let to = self.holder_name();
            r.journal.push(
                Event::DriverChanged {
                    from: from.clone(),
                    to,
                    how: how.into(),
                }
                .by(&from)
                .as_user(&from),
            );
            r.local_changed = true;
        }
        self.seats.retain(|s| s.conn != conn);
        r
    }

    /// The local terminal asks to hand the keys to `to`.
    pub fn local_hand_over(&mut self, to: &str) -> Result<Reply, String> {
        if self.holder != Holder::Local {
            return Err("you do not hold the keys".into());
        }
        let from = self.owner.clone();
        self.offer_to(to, &from)
    }

    /// The local terminal (which handed the keys over) asks their holder to hold.
    pub fn local_raise(&self, reason: &str) -> Reply {
        let mut r = Reply::default();
        r.journal.push(
            Event::HandRaised {
                reason: reason.trim().into(),
            }
            .by(&self.owner)
            .as_user(&self.owner),
        );
        r
    }

    /// The local terminal accepts the keys offered back to it.
    pub fn local_take(&mut self) -> Result<Reply, String> {
        if self.offer_to_local().is_none() {
            return Err("nobody offers you the keys".into());
        }
        Ok(self.take(Holder::Local, "handover"))
    }

    fn offer_to(&mut self, to: &str, from: &str) -> Result<Reply, String> {
        let to = to.trim();
        // The keys may go back to the terminal that started the run, whose user may be the
        // holder's too (the same person on another screen); otherwise not to oneself.
        let to_local = to == self.owner && self.local && self.holder != Holder::Local;
        if to == from && !to_local {
            return Err(format!("{to} already holds the keys"));
        }
        let seats: Vec<u64> = self
            .seats
            .iter()
            .filter(|s| s.user == to && s.role == Role::Driver)
            .map(|s| s.conn)
            .collect();
        if seats.is_empty() && !to_local {
            let watching = self.seats.iter().any(|s| s.user == to);
            return Err(if watching {
                format!(
                    "{to} may not drive: the runbook's roles make them an observer or approver (give them `{to}: driver` under `roles:`)"
                )
            } else {
                let who: Vec<&str> = self.seats.iter().map(|s| s.user.as_str()).collect();
                format!(
                    "{to} is not watching (watching: {})",
                    if who.is_empty() {
                        "nobody".to_string()
                    } else {
                        who.join(", ")
                    }
                )
            });
        }
        self.offer = Some((to.to_string(), from.to_string()));
        let mut r = Reply::default();
        for c in seats {
            r.tell.push((
                c,
                ServerFrame::Offer {
                    from: from.to_string(),
                },
            ));
        }
        r.local_changed = to_local;
        Ok(r)
    }

    fn take(&mut self, new: Holder, how: &str) -> Reply {
        let old = std::mem::replace(&mut self.holder, new);
        self.offer = None;
        let from = self.name_of(&old);
        let to = self.holder_name();
        let mut r = Reply::default();
        r.journal.push(
            Event::DriverChanged {
                from,
                to: to.clone(),
                how: how.into(),
            }
            .by(&to)
            .as_user(&to),
        );
        for h in [&old, &self.holder] {
            if let Holder::Watcher(c) = h {
                r.tell.extend(self.you(*c));
            }
        }
        r.local_changed = true;
        r
    }

    /// A watcher's request, decided by its role and the keys; `engine` is the run as it is.
    pub fn asked(&mut self, conn: u64, frame: ClientFrame, engine: &Engine) -> Reply {
        let Some(seat) = self.seat(conn).cloned() else {
            return Reply::default();
        };
        let user = seat.user.as_str();
        let answer = |ok: bool, text: String| (conn, ServerFrame::Answer { ok, text });
        let mut r = Reply::default();
        match frame {
            ClientFrame::Hello { .. } | ClientFrame::Ping {} => {}
            ClientFrame::Note { text } if text.trim().is_empty() => {
                r.tell
                    .push(answer(false, "an empty note is not journaled".into()));
            }
            ClientFrame::Note { text } => {
                r.msgs.push((
                    Msg::Note {
                        operator: user.into(),
                        text: text.trim().into(),
                    },
                    user.into(),
                ));
                r.tell.push(answer(true, "note journaled".into()));
            }
            ClientFrame::RaiseHand { reason } if reason.trim().is_empty() => {
                r.tell
                    .push(answer(false, "say why you ask for a hold".into()));
            }
            ClientFrame::RaiseHand { reason } => {
                r.journal.push(
                    Event::HandRaised {
                        reason: reason.trim().into(),
                    }
                    .by(user)
                    .as_user(user),
                );
                r.tell.push(answer(
                    true,
                    format!(
                        "hand raised: {} sees it and decides",
                        or_nobody(&self.holder_name())
                    ),
                ));
            }
            ClientFrame::Act { act } => {
                let holds = self.holder == Holder::Watcher(conn);
                let may = holds || (seat.role >= Role::Approver && act.approver_may());
                if !may {
                    let what = if act.approver_may() {
                        "an approver or the driver"
                    } else {
                        "the driver"
                    };
                    r.tell.push(answer(
                        false,
                        format!(
                            "refused: only {what} may do that; you are {} {}",
                            article(seat.role),
                            seat.role.as_str()
                        ),
                    ));
                    return r;
                }
                if matches!(act, crate::shell::wire::Act::Approve {})
                    && let Some(why) = engine.approval_refusal(user)
                {
                    r.tell.push(answer(false, format!("refused: {why}")));
                    return r;
                }
                if matches!(act, crate::shell::wire::Act::Decide { .. })
                    && engine.monitor.decisions.is_empty()
                {
                    r.tell.push(answer(false, "no decision is open now".into()));
                    return r;
                }
                match act.into_msg(user) {
                    Some(m) => {
                        r.msgs.push((m, user.into()));
                        r.tell.push(answer(true, "done".into()));
                    }
                    None => r.tell.push(answer(false, "unknown choice".into())),
                }
            }
            ClientFrame::HandOver { to } => {
                if self.holder != Holder::Watcher(conn) {
                    r.tell
                        .push(answer(false, "you do not hold the keys".into()));
                    return r;
                }
                match self.offer_to(&to, user) {
                    Ok(mut o) => {
                        o.tell.push(answer(
                            true,
                            format!("offered the keys to {to}; they must accept"),
                        ));
                        return o;
                    }
                    Err(e) => r.tell.push(answer(false, e)),
                }
            }
            ClientFrame::TakeKeys {} => {
                let offered = self.offer.as_ref().is_some_and(|(to, _)| to == user)
                    && seat.role == Role::Driver;
                if offered {
                    return self.take(Holder::Watcher(conn), "handover");
                }
                if self.holder == Holder::Nobody && seat.role == Role::Driver {
                    return self.take(Holder::Watcher(conn), "taken");
                }
                let why = if seat.role != Role::Driver {
                    format!(
                        "you are {} {}: only a driver may take the keys",
                        article(seat.role),
                        seat.role.as_str()
                    )
                } else {
                    format!(
                        "{} holds the keys; they hand them over (H)",
                        self.holder_name()
                    )
                };
                r.tell.push(answer(false, why));
            }
        }
        r
    }
}

fn or_nobody(s: &str) -> &str {
    if s.is_empty() { "whoever drives" } else { s }
}

fn article(r: Role) -> &'static str {
    match r {
        Role::Approver | Role::Observer => "an",
        Role::Driver => "a",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::runbook::team::Who;
    use crate::shell::wire::Act;

    fn engine() -> Engine {
        let y = "version: 1\ntitle: T\nstrategy: blue-green\nplatforms: {source: {name: S}, target: {name: D}}\nphases:\n  - id: p\n    steps:\n      - {id: a, title: A, at: T+0:00}\n";
        let l = crate::config::runbook::load_bytes(std::path::Path::new("/x.yaml"), y.as_bytes());
        Engine::new(l.runbook.unwrap(), Default::default())
    }

    fn team() -> Team {
        Team {
            roles: vec![
                (Who::User("bob".into()), Role::Driver),
                (Who::Group("dba".into()), Role::Approver),
            ],
            two_person: None,
        }
    }

    fn answer(r: &Reply) -> (bool, String) {
        r.tell
            .iter()
            .find_map(|(_, f)| match f {
                ServerFrame::Answer { ok, text } => Some((*ok, text.clone())),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn an_observer_only_speaks_and_every_request_carries_the_os_user() {
        let e = engine();
        let mut s = Seats::new(team(), "ann", true);
        let r = s.joined(7, "carl", &[]);
        assert_eq!(
            r.tell,
            vec![(
                7,
                ServerFrame::You {
                    role: "observer".into(),
                    keys: false
                }
            )]
        );
        let r = s.asked(7, ClientFrame::Act { act: Act::Ack {} }, &e);
        assert!(r.msgs.is_empty());
        assert!(answer(&r).1.contains("you are an observer"), "{r:?}");
        let r = s.asked(
            7,
            ClientFrame::Note {
                text: " checked the dashboards ".into(),
            },
            &e,
        );
        assert_eq!(r.msgs.len(), 1);
        assert_eq!(r.msgs[0].1, "carl");
        let r = s.asked(
            7,
            ClientFrame::RaiseHand {
                reason: "DBA sees locks".into(),
            },
            &e,
        );
        assert_eq!(r.journal[0].kind(), "hand_raised");
        assert_eq!(r.journal[0].os_user.as_deref(), Some("carl"));
        // An approver may answer decisions, but only while one is open.
        s.joined(8, "dee", &["dba".into()]);
        let decide = Act::Decide {
            choice: "continue".into(),
            why: Some("fine".into()),
        };
        let r = s.asked(8, ClientFrame::Act { act: decide }, &e);
        assert_eq!(answer(&r), (false, "no decision is open now".into()));
        let r = s.asked(8, ClientFrame::TakeKeys {}, &e);
        assert!(answer(&r).1.contains("only a driver may take the keys"));
    }

    #[test]
    fn keys_are_offered_accepted_and_come_back_when_their_holder_leaves() {
        let e = engine();
        let mut s = Seats::new(team(), "ann", true);
        s.joined(1, "bob", &[]);
        s.joined(2, "carl", &[]);
        assert!(
            s.local_hand_over("carl")
                .unwrap_err()
                .contains("may not drive")
        );
        assert!(
            s.local_hand_over("zed")
                .unwrap_err()
                .contains("is not watching")
        );
        let r = s.local_hand_over("bob").unwrap();
        assert_eq!(r.tell, vec![(1, ServerFrame::Offer { from: "ann".into() })]);
        assert!(s.local_holds(), "nothing moves until bob accepts");
        let r = s.asked(1, ClientFrame::TakeKeys {}, &e);
        assert!(!s.local_holds());
        assert_eq!(s.holder_name(), "bob");
        let ev = &r.journal[0].event;
        assert_eq!(
            *ev,
            Event::DriverChanged {
                from: "ann".into(),
                to: "bob".into(),
                how: "handover".into()
            }
        );
        assert!(r.tell.contains(&(
            1,
            ServerFrame::You {
                role: "driver".into(),
                keys: true
            }
        )));
        // bob's keys drive now; carl's still do not.
        let r = s.asked(1, ClientFrame::Act { act: Act::Ack {} }, &e);
        assert_eq!(r.msgs.len(), 1);
        assert!(
            s.asked(2, ClientFrame::Act { act: Act::Ack {} }, &e)
                .msgs
                .is_empty()
        );
        // bob's connection drops: the keys return to the terminal that started the run.
        let r = s.left(1);
        assert!(s.local_holds());
        assert!(
            matches!(&r.journal[0].event, Event::DriverChanged { how, .. } if how == "returned")
        );
    }

    #[test]
    fn a_detached_session_waits_for_a_driver_to_take_the_keys() {
        let e = engine();
        let mut s = Seats::new(Team::default(), "ann", false);
        assert!(!s.someone_drives());
        // Without roles only the session's owner may drive: ann, from another terminal.
        s.joined(3, "bob", &[]);
        assert!(s.asked(3, ClientFrame::TakeKeys {}, &e).journal.is_empty());
        s.joined(4, "ann", &[]);
        let r = s.asked(4, ClientFrame::TakeKeys {}, &e);
        assert!(matches!(&r.journal[0].event, Event::DriverChanged { how, .. } if how == "taken"));
        assert!(s.someone_drives());
        let r = s.left(4);
        assert!(
            matches!(&r.journal[0].event, Event::DriverChanged { to, how, .. } if to.is_empty() && how == "released")
        );
        assert!(!s.someone_drives());
    }
}

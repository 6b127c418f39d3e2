//! The watch socket's protocol: newline-delimited JSON frames, each an object with a `type`.
//! The server (the driver) sends `hello`, then a snapshot (`reset`, the journal's records and
//! the recent samples, `live`), then each new record, sample and output line as it happens and
//! a `tick` heartbeat; to one watcher, `you` (its role and whether it holds the keys),
//! `answer` (to a request) and `offer` (the keys, handed over). A client sends small typed
//! requests (`hello`, `ping`, `note`, `raise_hand`, `act` — what a key would do —, `hand_over`,
//! `take_keys`), each at most `MAX_CLIENT_FRAME` bytes and parsed strictly: an unknown type or
//! field, bad JSON or an oversized line is refused. Who the client is never comes from a
//! frame: the server takes it from the socket's peer credentials, and the driver decides
//! from the runbook's roles what that person may do.

use crate::core::engine::Msg;
use crate::core::event::Record;
use crate::core::runbook::signals::Choice;
use crate::core::time::Ms;
use serde::{Deserialize, Serialize};

/// The protocol's version; a client of another refuses to show what it cannot read.
pub const PROTOCOL: u32 = 2;

/// The longest line a client may send (requests are a few words).
pub const MAX_CLIENT_FRAME: usize = 4096;

/// The longest line a server sends (one journal record with a long command output in it).
pub const MAX_SERVER_FRAME: usize = 4 << 20;

/// The driver, as the server introduces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriverInfo {
    /// The driver process's OS user.
    pub user: String,
    /// Its host.
    pub host: String,
    /// Its pid.
    pub pid: u32,
    /// `--operator` as given (may differ from the OS user).
    pub operator: String,
    /// `live` or `drill`.
    pub mode: String,
    /// Drill speed label (`60`, `max`); `1` live.
    pub speed: String,
    /// The runbook, as an absolute path.
    pub runbook: String,
}

/// A frame from the driver. (Record frames, `{"type":"record","record":{…}}`, carry the
/// journal line as it is and are read by `parse_server` on their own: serde cannot hand a
/// raw value through an internally tagged enum.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServerFrame {
    /// First frame of a connection.
    Hello {
        /// Protocol version.
        protocol: u32,
        /// Who drives.
        driver: DriverInfo,
        /// The client's OS user, as the kernel says (what the journal records for it).
        you: String,
    },
    /// A snapshot follows: forget the run's state and rebuild it from the frames up to `live`.
    Reset {
        /// Records the snapshot carries.
        records: u64,
    },
    /// The snapshot is complete; frames from here on are live.
    Live {},
    /// The earlier drills the driver counts (`--rehearsals`, or its sessions folder), sent
    /// after `hello` when there are any, so a watcher's projection and step detail match
    /// the driver's.
    Rehearsals {
        /// As the driver folded them.
        rehearsals: crate::core::rehearsal::Rehearsals,
    },
    /// One metric read, as the driver's engine got it (samples are not journaled).
    Sample {
        /// Metric id.
        metric: String,
        /// T-time of the value.
        at: Ms,
        /// The value (`null` for NaN or infinite values).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<f64>,
        /// Why the read failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A line of a step's command output.
    Output {
        /// Step id.
        step: String,
        /// The line.
        line: String,
        /// From stderr.
        stderr: bool,
    },
    /// Heartbeat: the driver's T-time now, and who watches.
    Tick {
        /// T-time (ms).
        now: Ms,
        /// OS users watching, one per connection.
        watchers: Vec<String>,
    },
    /// The server refuses what the client sent, and closes.
    Refused {
        /// Why.
        reason: String,
    },
    /// To one watcher: its part in the session, and whether its keys drive.
    You {
        /// `observer`, `approver` or `driver` (as the runbook's roles give it).
        role: String,
        /// This connection holds the keys.
        keys: bool,
    },
    /// To one watcher: what became of its request.
    Answer {
        /// Done (journaled) or not.
        ok: bool,
        /// What happened, or why not.
        text: String,
    },
    /// To one watcher: the keys are offered to it (it accepts with `take_keys`).
    Offer {
        /// Who offers them (OS user).
        from: String,
    },
}

/// What a person's key asks the engine, sent by a watcher. It never says who: the driver
/// adds the peer's OS user, and checks it may.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "act", rename_all = "snake_case", deny_unknown_fields)]
pub enum Act {
    /// Confirm the current step.
    Ack {},
    /// Skip the current step.
    Skip {
        /// Why.
        reason: String,
    },
    /// Retry the failed step.
    Retry {},
    /// Hold or resume.
    Hold {
        /// true to hold.
        on: bool,
    },
    /// Start the rollback.
    Rollback {
        /// Why.
        reason: String,
    },
    /// Veto the automatic rollback counting down.
    Veto {},
    /// Why the veto.
    VetoReason {
        /// The trigger.
        trigger: String,
        /// Why.
        why: String,
    },
    /// Answer the open decision.
    Decide {
        /// `rollback` or `continue`.
        choice: String,
        /// Why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        why: Option<String>,
    },
    /// End the run.
    Abort {
        /// Why.
        reason: String,
    },
    /// The second confirmation.
    Approve {},
    /// Take back an action that waits for a second confirmation.
    Withdraw {},
}

impl Act {
    /// The act a person's message is, if a watcher may send it (notes travel as `note`).
    pub fn of(msg: &Msg) -> Option<Act> {
        Some(match msg {
            Msg::Ack { .. } => Act::Ack {},
            Msg::Skip { reason, .. } => Act::Skip {
                reason: reason.clone(),
            },
            Msg::Retry { .. } => Act::Retry {},
            Msg::Hold { on, .. } => Act::Hold { on: *on },
            Msg::Rollback { reason, .. } => Act::Rollback {
                reason: reason.clone(),
            },
            Msg::Veto { .. } => Act::Veto {},
            Msg::VetoReason { trigger, why, .. } => Act::VetoReason {
                trigger: trigger.clone(),
                why: why.clone(),
            },
            Msg::Decide { choice, why, .. } => Act::Decide {
                choice: match choice {
                    Choice::Rollback => "rollback".into(),
                    Choice::Continue => "continue".into(),
                },
                why: why.clone(),
            },
            Msg::Abort { reason, .. } => Act::Abort {
                reason: reason.clone(),
            },
            Msg::Approve { .. } => Act::Approve {},
            Msg::Withdraw { .. } => Act::Withdraw {},
            _ => return None,
        })
    }

    /// The engine message, made by `operator`; `None` for an unknown decision word.
    pub fn into_msg(self, operator: &str) -> Option<Msg> {
        let operator = operator.to_string();
        Some(match self {
            Act::Ack {} => Msg::Ack { operator },
            Act::Skip { reason } => Msg::Skip { operator, reason },
            Act::Retry {} => Msg::Retry { operator },
            Act::Hold { on } => Msg::Hold { operator, on },
            Act::Rollback { reason } => Msg::Rollback { operator, reason },
            Act::Veto {} => Msg::Veto { operator },
            Act::VetoReason { trigger, why } => Msg::VetoReason {
                operator,
                trigger,
                why,
            },
            Act::Decide { choice, why } => Msg::Decide {
                operator,
                choice: match choice.as_str() {
                    "rollback" => Choice::Rollback,
                    "continue" => Choice::Continue,
                    _ => return None,
                },
                why,
            },
            Act::Abort { reason } => Msg::Abort { operator, reason },
            Act::Approve {} => Msg::Approve { operator },
            Act::Withdraw {} => Msg::Withdraw { operator },
        })
    }

    /// What an approver who does not hold the keys may send.
    pub fn approver_may(&self) -> bool {
        matches!(self, Act::Decide { .. } | Act::Approve {})
    }
}

/// A request from a watcher. Every one that changes anything is journaled by the driver
/// with the peer's OS user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Says which protocol the client speaks.
    Hello {
        /// Protocol version.
        protocol: u32,
    },
    /// Keeps nothing alive (the server's ticks do); answered by nothing. For probes.
    Ping {},
    /// A note for the journal (anyone).
    Note {
        /// What.
        text: String,
    },
    /// Ask the driver to hold (anyone); the driver decides.
    RaiseHand {
        /// Why.
        reason: String,
    },
    /// What a key would do (the keys' holder; approvers for decisions and approvals).
    Act {
        /// The act.
        act: Act,
    },
    /// Offer the keys to OS user `to` (the holder).
    HandOver {
        /// Who.
        to: String,
    },
    /// Accept keys offered, or take them when nobody holds them (a driver).
    TakeKeys {},
}

/// Why a client's line was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// Longer than `MAX_CLIENT_FRAME`.
    #[error("frame longer than {MAX_CLIENT_FRAME} bytes")]
    Oversized,
    /// Not UTF-8, not JSON, an unknown type or field.
    #[error("not a valid request: {0}")]
    Invalid(String),
}

/// Parses one client line (without its newline).
pub fn parse_client(line: &[u8]) -> Result<ClientFrame, Refusal> {
    if line.len() > MAX_CLIENT_FRAME {
        return Err(Refusal::Oversized);
    }
    let text = std::str::from_utf8(line).map_err(|e| Refusal::Invalid(e.to_string()))?;
    serde_json::from_str(text.trim_end_matches('\r')).map_err(|e| Refusal::Invalid(e.to_string()))
}

/// A frame as one line, newline included.
pub fn encode<T: Serialize>(frame: &T) -> String {
    match serde_json::to_string(frame) {
        Ok(mut s) => {
            s.push('\n');
            s
        }
        // Invariant: the frames are plain structs of strings and numbers, which always
        // serialise; an error here would be a bug, and is sent as a refusal rather than lost.
        Err(e) => format!("{{\"type\":\"refused\",\"reason\":\"encode: {e}\"}}\n"),
    }
}

/// A record frame from the record's journal line (already JSON, so it is not parsed again).
pub fn record_frame(journal_line: &str) -> String {
    format!("{{\"type\":\"record\",\"record\":{journal_line}}}\n")
}

/// A record frame, read strictly: the type, the record, nothing else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordFrame<'a> {
    #[serde(rename = "type")]
    _type: &'a str,
    #[serde(borrow)]
    record: &'a serde_json::value::RawValue,
}

/// Parses one server line; a record frame's record is parsed with the journal's rules.
pub fn parse_server(line: &[u8]) -> Result<Server, String> {
    if line.len() > MAX_SERVER_FRAME {
        return Err(format!("frame longer than {MAX_SERVER_FRAME} bytes"));
    }
    // Record frames are most of the stream: recognised by their opening, which
    // `record_frame` writes exactly so, then read strictly.
    if line.starts_with(b"{\"type\":\"record\",") {
        let f: RecordFrame = serde_json::from_slice(line).map_err(|e| e.to_string())?;
        let rec = Record::parse(f.record.get().as_bytes()).map_err(|e| e.to_string())?;
        return Ok(Server::Record(Box::new(rec)));
    }
    serde_json::from_slice(line)
        .map(Server::Other)
        .map_err(|e| e.to_string())
}

/// A server frame as the client uses it.
#[derive(Debug)]
pub enum Server {
    /// A journal record.
    Record(Box<Record>),
    /// Anything else.
    Other(ServerFrame),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames_round_trip_and_are_strict() {
        let hello = encode(&ClientFrame::Hello { protocol: 1 });
        assert_eq!(hello, "{\"type\":\"hello\",\"protocol\":1}\n");
        assert_eq!(
            parse_client(hello.trim_end().as_bytes()),
            Ok(ClientFrame::Hello { protocol: 1 })
        );
        assert_eq!(
            parse_client(br#"{"type":"ping"}"#),
            Ok(ClientFrame::Ping {})
        );
        for bad in [
            &b"garbage"[..],
            b"",
            b"{}",
            b"[1,2]",
            br#"{"type":"hello"}"#,
            br#"{"type":"hello","protocol":1,"user":"root"}"#,
            br#"{"type":"confirm_step"}"#,
            br#"{"type":"ping","extra":1}"#,
            br#"{"type":"hello","protocol":1"#,
            b"\xff\xfe{\"type\":\"ping\"}",
        ] {
            assert!(
                matches!(parse_client(bad), Err(Refusal::Invalid(_))),
                "{:?} should be refused",
                String::from_utf8_lossy(bad)
            );
        }
        let big = format!(
            "{{\"type\":\"ping\",\"pad\":\"{}\"}}",
            "x".repeat(MAX_CLIENT_FRAME)
        );
        assert_eq!(parse_client(big.as_bytes()), Err(Refusal::Oversized));
    }

    #[test]
    fn server_frames_round_trip_and_records_parse_as_the_journal_does() {
        let line = r#"{"seq":1,"at":"2026-01-01T00:00:00Z","t":-60.0,"mode":"drill","kind":"note","operator":"ann","text":"hi"}"#;
        let f = record_frame(line);
        match parse_server(f.trim_end().as_bytes()) {
            Ok(Server::Record(r)) => {
                assert_eq!(r.seq, 1);
                assert_eq!(r.kind(), "note");
            }
            other => panic!("{other:?}"),
        }
        let tick = ServerFrame::Tick {
            now: 5,
            watchers: vec!["bob".into()],
        };
        match parse_server(encode(&tick).trim_end().as_bytes()) {
            Ok(Server::Other(t)) => assert_eq!(t, tick),
            other => panic!("{other:?}"),
        }
        let nan = ServerFrame::Sample {
            metric: "m".into(),
            at: 1,
            value: Some(f64::NAN),
            error: None,
        };
        // NaN has no JSON form: it travels as null and reads back as no value.
        assert!(matches!(
            parse_server(encode(&nan).trim_end().as_bytes()),
            Ok(Server::Other(ServerFrame::Sample { value: None, .. }))
        ));
    }

    #[test]
    fn truncated_or_garbled_server_frames_are_errors_not_panics() {
        let line = r#"{"seq":1,"at":"2026-01-01T00:00:00Z","t":-60.0,"mode":"drill","kind":"note","operator":"ann","text":"hi"}"#;
        let f = record_frame(line);
        for cut in 0..f.len() - 1 {
            assert!(parse_server(&f.as_bytes()[..cut]).is_err(), "cut at {cut}");
        }
        assert!(parse_server(br#"{"type":"record","record":{"kind":"nope"}}"#).is_err());
        assert!(parse_server(br#"{"type":"warp"}"#).is_err());
        assert!(parse_server(br#"{"type":"record","record":{},"x":1}"#).is_err());
        assert!(parse_server(br#"{"type":"tick","now":1,"watchers":[],"x":1}"#).is_err());
        let huge = vec![b' '; MAX_SERVER_FRAME + 1];
        assert!(parse_server(&huge).is_err());
    }
}

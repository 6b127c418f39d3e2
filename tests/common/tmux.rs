//! A private tmux server per test (its own `-L` socket, killed on drop): start a command in a
//! pane of a given size, read the screen, send keys and text, attach a second client.

use super::wait_until;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

static N: AtomicU32 = AtomicU32::new(0);

pub struct Tmux {
    pub socket: String,
}

impl Tmux {
    pub fn start(w: u16, h: u16, shell_cmd: &str) -> Tmux {
        Self::start_with_term(w, h, shell_cmd, "tmux-256color")
    }

    pub fn start_with_term(w: u16, h: u16, shell_cmd: &str, term: &str) -> Tmux {
        if Command::new("tmux").arg("-V").output().is_err() {
            panic!("tmux is not installed; install it with: apt-get install -y tmux");
        }
        let socket = format!(
            "cutover-e2e-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let t = Tmux { socket };
        let ok = t
            .cmd(&[
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                &w.to_string(),
                "-y",
                &h.to_string(),
                "-e",
                &format!("TERM={term}"),
                shell_cmd,
            ])
            .status
            .success();
        assert!(ok, "tmux new-session failed");
        t
    }

    pub fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap()
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-J"]).stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut a = vec!["send-keys"];
        a.extend_from_slice(keys);
        self.cmd(&a);
    }

    /// Attaches a client of `w`×`h` through a pseudo-terminal (`script`); kill it to detach.
    pub fn attach(&self, w: u16, h: u16) -> std::process::Child {
        Command::new("script")
            .args([
                "-qfc",
                &format!("stty rows {h} cols {w}; tmux -L {} attach", self.socket),
                "/dev/null",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("script(1) from util-linux is needed to attach a client")
    }

    pub fn window_size(&self) -> (usize, usize) {
        let out = String::from_utf8_lossy(
            &self
                .cmd(&["display", "-p", "#{window_width} #{window_height}"])
                .stdout,
        )
        .into_owned();
        let mut it = out.split_whitespace().map(|n| n.parse().unwrap_or(0));
        (it.next().unwrap_or(0), it.next().unwrap_or(0))
    }

    pub fn text(&self, text: &str) {
        self.cmd(&["send-keys", "-l", text]);
    }

    pub fn wait_for(&self, what: &str) -> String {
        let mut last = String::new();
        let ok = wait_until(Duration::from_secs(15), || {
            last = self.screen();
            last.contains(what)
        });
        assert!(ok, "screen never showed {what:?}; it shows:\n{last}");
        last
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

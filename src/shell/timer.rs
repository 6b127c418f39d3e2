//! The loop's one timer: a Linux timerfd in tokio's reactor.
//!
//! Why not `tokio::time::sleep`: tokio's hierarchical timer wheel files a deadline more than
//! 64 ms away in a coarser slot and wakes the process at that slot's start to re-file it, so
//! an idle cockpit that draws once a second woke twice a second (2.2 wake-ups/s measured by
//! `bench/idle.sh`). The kernel's timer wakes once, at the deadline. Where a timerfd cannot
//! be made, tokio's sleep does the job at the old cost.

use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::Duration;

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::unix::AsyncFd;

/// A timerfd that tokio's reactor can wait on.
struct Fd(TimerFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// One re-armable deadline. Each [`Timer::sleep`] replaces the one before, so a sleep that
/// lost a `select!` needs no cancelling.
pub struct Timer {
    fd: Option<AsyncFd<Fd>>,
}

impl Default for Timer {
    fn default() -> Self {
        Self::new()
    }
}

impl Timer {
    /// A timer on CLOCK_MONOTONIC, or the tokio fallback. Must be called inside a runtime.
    pub fn new() -> Self {
        let fd = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )
        .ok()
        // SAFETY: `register` asks that the fd stay open while registered: it is owned by the
        // `TimerFd` inside the `AsyncFd`, which deregisters before dropping it.
        .and_then(|t| unsafe { AsyncFd::register(Fd(t)) }.ok());
        Timer { fd }
    }

    /// Sleeps `d`; zero only yields (a jumping drill clock asks for zero-length waits
    /// thousands of times, one per sample time).
    pub async fn sleep(&mut self, d: Duration) {
        if d.is_zero() {
            tokio::task::yield_now().await;
            return;
        }
        let Some(fd) = &self.fd else {
            return tokio::time::sleep(d).await;
        };
        // Arming resets the expiry count, so a stale expiry of an abandoned sleep reads as
        // "not yet" below rather than ending this one early.
        let armed = fd
            .get_ref()
            .0
            .set(
                Expiration::OneShot(TimeSpec::from_duration(d)),
                TimerSetTimeFlags::empty(),
            )
            .is_ok();
        if !armed {
            return tokio::time::sleep(d).await;
        }
        loop {
            let Ok(mut guard) = fd.readable().await else {
                return tokio::time::sleep(d).await;
            };
            let mut count = [0u8; 8];
            match guard.try_io(|f| {
                nix::unistd::read(f.get_ref().0.as_fd(), &mut count).map_err(std::io::Error::from)
            }) {
                Ok(Ok(_)) => {
                    // A one-shot timer that has been read is not readable until re-armed:
                    // saying so spares the next sleep a read that would only block.
                    guard.clear_ready();
                    return;
                }
                // Not expired yet (the readiness was an abandoned sleep's): wait again.
                Err(_would_block) => continue,
                Ok(Err(_)) => return tokio::time::sleep(d).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[tokio::test(flavor = "current_thread")]
    async fn a_sleep_lasts_its_duration_and_a_rearmed_timer_forgets_the_old_deadline() {
        let mut t = Timer::new();
        assert!(t.fd.is_some(), "timerfd available on Linux");
        let start = Instant::now();
        t.sleep(Duration::from_millis(30)).await;
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(30), "woke early: {took:?}");

        // An abandoned short sleep whose expiry is pending must not end a longer one.
        tokio::select! {
            biased;
            _ = t.sleep(Duration::from_millis(5)) => panic!("the other branch is immediate"),
            _ = std::future::ready(()) => {}
        }
        std::thread::sleep(Duration::from_millis(10)); // the 5 ms expiry is now pending
        let start = Instant::now();
        t.sleep(Duration::from_millis(40)).await;
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(40),
            "stale expiry ended it: {took:?}"
        );
    }
}

//! The session clock: what T-time it is now, and how long to really wait for a T-time.
//!
//! The engine never reads time; the runtime asks a `Clock` and passes `now` in. Live runs use
//! the wall clock against a fixed T-0; drills compress time by a factor, or with `--speed max`
//! jump straight to the next thing that is due (time still passes at 1× while a command runs,
//! because commands take the real time they take). `ManualClock` drives tests.

use crate::core::time::Ms;
use chrono::{DateTime, Utc};
use std::time::{Duration, Instant};

pub use crate::core::time::Speed;

/// A source of T-time.
pub trait Clock: Send {
    /// Milliseconds relative to T-0 now.
    fn now(&self) -> Ms;
    /// How long to really wait until T-time `t`; `None` means "jump there instead".
    fn real_wait(&self, t: Ms) -> Option<Duration>;
    /// Moves T-time forward to `t` (only clocks that jump honour it).
    fn jump_to(&mut self, t: Ms);
    /// Runs at real time (1×) while `on`, from the T-time it reads now, whatever its speed:
    /// a drill's clock does so while the operator has a countdown to act on. Only drill
    /// clocks can; the others already run at real time or as told.
    fn set_real_time(&mut self, _on: bool) {}
    /// True while `set_real_time(true)` holds.
    fn real_time(&self) -> bool {
        false
    }
}

/// Live: T-time is the wall clock against a fixed T-0.
pub struct WallClock {
    t0: DateTime<Utc>,
}

impl WallClock {
    /// A clock for T-0 at `t0`.
    pub fn new(t0: DateTime<Utc>) -> Self {
        Self { t0 }
    }
}

impl Clock for WallClock {
    fn now(&self) -> Ms {
        (Utc::now() - self.t0).num_milliseconds()
    }
    fn real_wait(&self, t: Ms) -> Option<Duration> {
        Some(Duration::from_millis(
            u64::try_from(t - self.now()).unwrap_or(0),
        ))
    }
    fn jump_to(&mut self, _t: Ms) {}
}

/// Drill: T-time starts at `start` and runs at `speed`.
pub struct DrillClock {
    origin: Instant,
    start: Ms,
    jumped: Ms,
    speed: Speed,
    /// At 1× for now (see `Clock::set_real_time`).
    real_time: bool,
}

impl DrillClock {
    /// A drill clock reading `start` now.
    pub fn new(start: Ms, speed: Speed) -> Self {
        Self {
            origin: Instant::now(),
            start,
            jumped: 0,
            speed,
            real_time: false,
        }
    }

    fn factor(&self) -> f64 {
        match self.speed {
            _ if self.real_time => 1.0,
            Speed::Factor(f) => f,
            Speed::Max => 1.0,
        }
    }
}

impl Clock for DrillClock {
    fn now(&self) -> Ms {
        let real = self.origin.elapsed().as_secs_f64() * 1000.0;
        self.start + self.jumped + (real * self.factor()) as Ms
    }
    fn real_wait(&self, t: Ms) -> Option<Duration> {
        match self.speed {
            Speed::Max if !self.real_time => None,
            _ => {
                let sim = (t - self.now()).max(0) as f64;
                Some(Duration::from_secs_f64(sim / self.factor() / 1000.0))
            }
        }
    }
    fn jump_to(&mut self, t: Ms) {
        if self.speed == Speed::Max && !self.real_time {
            let now = self.now();
            if t > now {
                self.jumped += t - now;
            }
        }
    }
    fn set_real_time(&mut self, on: bool) {
        self.switch(on);
    }
    fn real_time(&self) -> bool {
        self.real_time
    }
}

impl DrillClock {
    /// Changes rate from the T-time it reads now: counting starts again from there, so a
    /// change of rate never moves T-time itself.
    fn switch(&mut self, on: bool) {
        if on != self.real_time {
            self.start = self.now();
            self.jumped = 0;
            self.origin = Instant::now();
            self.real_time = on;
        }
    }
}

/// Tests: time moves only when told.
#[derive(Debug, Default)]
pub struct ManualClock {
    /// The current T-time.
    pub t: Ms,
}

impl Clock for ManualClock {
    fn now(&self) -> Ms {
        self.t
    }
    fn real_wait(&self, _t: Ms) -> Option<Duration> {
        None
    }
    fn jump_to(&mut self, t: Ms) {
        self.t = self.t.max(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_parses() {
        assert_eq!(Speed::parse("max"), Ok(Speed::Max));
        assert_eq!(Speed::parse("60"), Ok(Speed::Factor(60.0)));
        assert!(Speed::parse("0").is_err());
        assert!(Speed::parse("fast").is_err());
        assert_eq!(Speed::Factor(60.0).label(), "×60");
    }

    #[test]
    fn max_clock_jumps_forward_only() {
        let mut c = DrillClock::new(-1000, Speed::Max);
        assert_eq!(c.real_wait(5_000), None);
        c.jump_to(60_000);
        assert!(c.now() >= 60_000 && c.now() < 61_000);
        c.jump_to(0);
        assert!(c.now() >= 60_000);
    }

    /// At real time the clock neither jumps nor hurries, and switching either way keeps the
    /// T-time it read: nothing on screen goes back or leaps.
    #[test]
    fn real_time_holds_the_reading_and_runs_at_one_x() {
        for speed in [Speed::Factor(600.0), Speed::Max] {
            let mut c = DrillClock::new(60_000, speed);
            c.set_real_time(true);
            assert!(c.real_time());
            let at = c.now();
            assert!((60_000..61_000).contains(&at), "{speed:?}: {at}");
            // A 2-minute grace is two real minutes away, and the clock will not jump to it.
            let w = c.real_wait(at + 120_000).unwrap_or_default();
            assert!(w > Duration::from_secs(119) && w <= Duration::from_secs(120));
            c.jump_to(at + 120_000);
            assert!(c.now() < at + 1_000, "{speed:?} jumped at real time");
            std::thread::sleep(Duration::from_millis(20));
            let before = c.now();
            c.set_real_time(false);
            assert!(!c.real_time());
            assert!(c.now() >= before, "{speed:?}: switching back went back");
            assert!(c.now() < before + 1_000, "{speed:?}: switching back leapt");
        }
        let mut fast = DrillClock::new(0, Speed::Factor(600.0));
        fast.set_real_time(true);
        fast.set_real_time(false);
        let w = fast.real_wait(fast.now() + 60_000).unwrap_or_default();
        assert!(w <= Duration::from_millis(100), "×600 again: {w:?}");
    }

    #[test]
    fn scaled_clock_scales_waits() {
        let c = DrillClock::new(0, Speed::Factor(60.0));
        let w = c.real_wait(60_000).unwrap_or_default();
        assert!(w <= Duration::from_millis(1000) && w > Duration::from_millis(900));
    }
}

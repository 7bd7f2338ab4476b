//! Time, injected: every component that checks expiry or schedules rotation asks a [`Clock`],
//! so tests move time forward instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time, in seconds since the Unix epoch.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;
    /// Milliseconds since the Unix epoch; defaults to `now() * 1000`.
    fn now_millis(&self) -> i64 {
        self.now() * 1000
    }
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    /// Whole seconds need no more than the kernel's tick time: on Linux the coarse real-time
    /// clock (a few milliseconds behind at most), read in a fraction of the precise clock's
    /// time; it is read on every cached token lookup. Through libc (rustix's `use-libc`): rustix's
    /// own vDSO lookup crashes under valgrind (bytecodealliance/rustix#1559).
    #[cfg(target_os = "linux")]
    fn now(&self) -> i64 {
        rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse).tv_sec
    }
    #[cfg(not(target_os = "linux"))]
    fn now(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
    fn now_millis(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to; shared through an [`Arc`].
#[derive(Debug)]
pub struct ManualClock {
    millis: AtomicI64,
}

impl ManualClock {
    /// A clock stopped at `unix_seconds`.
    pub fn new(unix_seconds: i64) -> Arc<Self> {
        Arc::new(Self {
            millis: AtomicI64::new(unix_seconds * 1000),
        })
    }
    /// Moves the clock forward (or back, with a negative value) by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.millis.fetch_add(seconds * 1000, Ordering::SeqCst);
    }
    /// Sets the clock to `unix_seconds`.
    pub fn set(&self, unix_seconds: i64) {
        self.millis.store(unix_seconds * 1000, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.millis.load(Ordering::SeqCst).div_euclid(1000)
    }
    fn now_millis(&self) -> i64 {
        self.millis.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(1_700_000_000);
        assert_eq!(c.now(), 1_700_000_000);
        c.advance(90);
        assert_eq!(c.now(), 1_700_000_090);
        c.set(5);
        assert_eq!(c.now_millis(), 5000);
    }

    #[test]
    fn system_clock_is_after_2024() {
        assert!(SystemClock.now() > 1_704_067_200);
    }

    #[test]
    fn the_coarse_seconds_agree_with_the_precise_clock() {
        for _ in 0..1000 {
            let before = SystemClock.now_millis().div_euclid(1000);
            let now = SystemClock.now();
            let after = SystemClock.now_millis().div_euclid(1000);
            // At most one tick behind: across a second boundary, the second before.
            assert!(
                (before - 1..=after).contains(&now),
                "{before} {now} {after}"
            );
        }
    }

    /// Run by [`the_clock_reads_under_valgrind`] inside valgrind: reads both clocks.
    #[test]
    fn read_both_clocks() {
        assert!(SystemClock.now() > 1_704_067_200);
        assert!(SystemClock.now_millis() > 1_704_067_200_000);
    }

    /// rustix's own vDSO lookup crashed under valgrind (bytecodealliance/rustix#1559), and
    /// so did `wid up` at its first clock read; the clock goes through libc now. This test
    /// runs its own binary's [`read_both_clocks`] under `valgrind --tool=none`.
    #[test]
    fn the_clock_reads_under_valgrind() {
        let exe = std::env::current_exe().expect("the test binary");
        let out = std::process::Command::new("valgrind")
            .args(["--tool=none", "--error-exitcode=99", "-q"])
            .arg(&exe)
            .args([
                "--exact",
                "clock::tests::read_both_clocks",
                "--test-threads=1",
            ])
            .output()
            .expect("valgrind is required (apt-get install valgrind)");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "under valgrind: {}\n{stdout}\n{stderr}",
            out.status
        );
    }
}

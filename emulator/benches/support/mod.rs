//! What the timed harnesses share.

use std::time::Duration;

/// The `p` quantile (0 to 1) of a sample, nearest rank; zero for an empty sample.
pub fn pct(v: &mut [Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort_unstable();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

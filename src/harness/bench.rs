//! `pelato bench`: what one message costs a component, measured the way the
//! wasmCloud host runs it (a fresh instance per message), next to a warm
//! instance's call. Figures are percentiles of `n` runs after a short warm-up.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::{HarnessError, LoadedComponent, Message};

/// Percentiles of one component's per-message cost, in microseconds. Serialized
/// with exactly these keys (`pelato bench --output json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchFigures {
    /// Component name.
    pub component: String,
    /// Whether the component is pre-initialized (snapshotted).
    pub snapshot: bool,
    /// Store + instantiate only, p50.
    pub instantiate_p50_us: f64,
    /// Store + instantiate only, p99.
    pub instantiate_p99_us: f64,
    /// Fresh-instance delivery (store + instantiate + call), p50.
    pub fresh_p50_us: f64,
    /// Fresh-instance delivery, p99.
    pub fresh_p99_us: f64,
    /// A call on a warm instance, p50.
    pub warm_p50_us: f64,
    /// A call on a warm instance, p99.
    pub warm_p99_us: f64,
    /// Runs measured per figure.
    pub n: usize,
}

/// Why a benchmark did not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The harness failed (trap, timeout, load).
    #[error(transparent)]
    Harness(#[from] HarnessError),
    /// The task returned an error for the input: its error path would be measured.
    #[error("the task returned an error for this input: {0}")]
    TaskError(String),
}

/// The `p`-th percentile (0–100) of sorted `samples`, in microseconds.
pub fn percentile_us(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1e6
}

/// Runs `f` `n` times after `n / 10` (at least 3) unmeasured runs; returns the sorted times.
fn sample(
    n: usize,
    mut f: impl FnMut() -> Result<Duration, BenchError>,
) -> Result<Vec<Duration>, BenchError> {
    for _ in 0..(n / 10).max(3) {
        f()?;
    }
    let mut v = (0..n).map(|_| f()).collect::<Result<Vec<_>, _>>()?;
    v.sort();
    Ok(v)
}

/// Measures `component` with `msg`, `n` runs per figure.
pub fn run(
    name: &str,
    snapshot: bool,
    component: &LoadedComponent<'_>,
    msg: &Message,
    n: usize,
) -> Result<BenchFigures, BenchError> {
    let n = n.max(1);
    let instantiate = sample(n, || Ok(component.instantiate_only()?))?;
    let fresh = sample(n, || {
        let t = Instant::now();
        let d = component.deliver(msg)?;
        let elapsed = t.elapsed();
        d.result.map_err(BenchError::TaskError)?;
        Ok(elapsed)
    })?;
    let mut session = component.session()?;
    let warm = sample(n, || {
        let t = Instant::now();
        let (result, _) = session.deliver(msg)?;
        let elapsed = t.elapsed();
        result.map_err(BenchError::TaskError)?;
        Ok(elapsed)
    })?;
    Ok(BenchFigures {
        component: name.to_string(),
        snapshot,
        instantiate_p50_us: percentile_us(&instantiate, 50.0),
        instantiate_p99_us: percentile_us(&instantiate, 99.0),
        fresh_p50_us: percentile_us(&fresh, 50.0),
        fresh_p99_us: percentile_us(&fresh, 99.0),
        warm_p50_us: percentile_us(&warm, 50.0),
        warm_p99_us: percentile_us(&warm, 99.0),
        n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_ranks() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(percentile_us(&v, 50.0), 51.0);
        assert_eq!(percentile_us(&v, 99.0), 99.0);
        assert_eq!(percentile_us(&v, 0.0), 1.0);
        assert_eq!(percentile_us(&[], 50.0), 0.0);
    }
}

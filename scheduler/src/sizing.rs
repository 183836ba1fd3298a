//! Fargate pod sizing: the effective request, plus 256 MiB, rounded up on the vCPU/memory grid.

use crate::pod::PodSpec;
use crate::quantity;

/// The vCPU tiers and their memory options in GiB.
pub const GRID: [(f64, &[f64]); 7] = [
    (0.25, &[0.5, 1.0, 2.0]),
    (0.5, &[1.0, 2.0, 3.0, 4.0]),
    (1.0, &[2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]),
    (
        2.0,
        &[
            4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0,
        ],
    ),
    (
        4.0,
        &[
            8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0,
            23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0,
        ],
    ),
    (
        8.0,
        &[
            16.0, 20.0, 24.0, 28.0, 32.0, 36.0, 40.0, 44.0, 48.0, 52.0, 56.0, 60.0,
        ],
    ),
    (
        16.0,
        &[
            32.0, 40.0, 48.0, 56.0, 64.0, 72.0, 80.0, 88.0, 96.0, 104.0, 112.0, 120.0,
        ],
    ),
];

/// Memory added for kubelet, kube-proxy and containerd.
pub const OVERHEAD_GIB: f64 = 0.25;

/// A Fargate size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capacity {
    /// vCPU.
    pub vcpu: f64,
    /// Memory in GiB.
    pub memory_gib: f64,
}

impl Capacity {
    /// The `CapacityProvisioned` annotation: `0.25vCPU 0.5GB`, `2vCPU 9GB`.
    pub fn annotation(&self) -> String {
        format!("{}vCPU {}GB", trim(self.vcpu), trim(self.memory_gib))
    }
}

fn trim(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// Why a pod cannot be sized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SizingError {
    /// Larger than the largest Fargate size.
    TooLarge,
    /// A request that is not a valid quantity.
    BadQuantity {
        /// The container.
        container: String,
        /// The value.
        value: String,
    },
}

/// Effective (cpu cores, memory GiB) of a pod: the larger of the largest init container and the
/// sum of the app containers, per resource.
pub fn effective_request(spec: &PodSpec) -> Result<(f64, f64), SizingError> {
    let req = |c: &crate::pod::Container| -> Result<(f64, f64), SizingError> {
        let requests = c
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref().or(r.limits.as_ref()));
        let get = |k: &str, parse: fn(&str) -> Option<f64>| -> Result<f64, SizingError> {
            match requests.and_then(|r| r.get(k)) {
                None => Ok(0.0),
                Some(v) => parse(&v.0).ok_or_else(|| SizingError::BadQuantity {
                    container: c.name.clone(),
                    value: v.0.clone(),
                }),
            }
        };
        Ok((
            get("cpu", quantity::cpu)?,
            get("memory", quantity::memory)? / 1_073_741_824.0,
        ))
    };
    let (mut app_cpu, mut app_mem) = (0.0, 0.0);
    for c in &spec.containers {
        let (c, m) = req(c)?;
        app_cpu += c;
        app_mem += m;
    }
    let (mut init_cpu, mut init_mem) = (0.0f64, 0.0f64);
    for c in &spec.init_containers {
        let (c, m) = req(c)?;
        init_cpu = init_cpu.max(c);
        init_mem = init_mem.max(m);
    }
    Ok((app_cpu.max(init_cpu), app_mem.max(init_mem)))
}

/// Rounds an effective request (cores, GiB without overhead) up to a Fargate size.
pub fn round_up(cpu: f64, mem_gib: f64) -> Result<Capacity, SizingError> {
    let need_mem = mem_gib + OVERHEAD_GIB;
    for (vcpu, options) in GRID {
        if vcpu + 1e-9 < cpu {
            continue;
        }
        if let Some(m) = options.iter().find(|m| **m + 1e-9 >= need_mem) {
            return Ok(Capacity {
                vcpu,
                memory_gib: *m,
            });
        }
    }
    Err(SizingError::TooLarge)
}

/// The size Fargate gives a pod.
///
/// # Errors
/// [`SizingError::TooLarge`] or an unreadable quantity.
pub fn size(spec: &PodSpec) -> Result<Capacity, SizingError> {
    let (cpu, mem) = effective_request(spec)?;
    round_up(cpu, mem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_examples() {
        assert_eq!(round_up(0.0, 0.0).unwrap().annotation(), "0.25vCPU 0.5GB");
        assert_eq!(round_up(1.0, 8.0).unwrap().annotation(), "2vCPU 9GB");
        assert_eq!(
            round_up(0.5, 750e6 / 1_073_741_824.0).unwrap().annotation(),
            "0.5vCPU 1GB"
        );
        assert_eq!(round_up(2.0, 2.0).unwrap().annotation(), "2vCPU 4GB");
        assert_eq!(round_up(16.0, 119.0).unwrap().annotation(), "16vCPU 120GB");
        assert_eq!(round_up(16.0, 120.0), Err(SizingError::TooLarge));
        assert_eq!(round_up(17.0, 1.0), Err(SizingError::TooLarge));
    }

    #[test]
    fn grid_counts_match_the_user_guide() {
        let counts: Vec<usize> = GRID.iter().map(|(_, m)| m.len()).collect();
        assert_eq!(counts, [3, 4, 7, 13, 23, 12, 12]);
    }
}

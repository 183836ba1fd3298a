//! Kubernetes resource quantities (`250m`, `1`, `512Mi`, `1G`).

/// CPU cores from a quantity such as `250m`, `0.5` or `2`.
pub fn cpu(q: &str) -> Option<f64> {
    let q = q.trim();
    if let Some(m) = q.strip_suffix('m') {
        return number(m).map(|v| v / 1000.0);
    }
    number(q)
}

/// Bytes from a quantity such as `512Mi`, `1Gi`, `750M` or `1073741824`.
pub fn memory(q: &str) -> Option<f64> {
    let q = q.trim();
    const SUFFIXES: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
        ("k", 1e3),
        ("K", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("m", 1e-3),
    ];
    for (s, f) in SUFFIXES {
        if let Some(n) = q.strip_suffix(s) {
            return number(n).map(|v| v * f);
        }
    }
    if let Some((mant, exp)) = q.split_once(['e', 'E']) {
        return Some(number(mant)? * 10f64.powi(exp.parse::<i32>().ok()?));
    }
    number(q)
}

fn number(s: &str) -> Option<f64> {
    if s.is_empty()
        || !s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        || s.bytes().filter(|b| *b == b'.').count() > 1
    {
        return None;
    }
    s.parse().ok().filter(|v: &f64| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(cpu("250m"), Some(0.25));
        assert_eq!(cpu("2"), Some(2.0));
        assert_eq!(cpu("0.5"), Some(0.5));
        assert_eq!(cpu("x"), None);
        assert_eq!(memory("512Mi"), Some(536_870_912.0));
        assert_eq!(memory("1Gi"), Some(1_073_741_824.0));
        assert_eq!(memory("750M"), Some(750_000_000.0));
        assert_eq!(memory("128974848"), Some(128_974_848.0));
        assert_eq!(memory("129e6"), Some(129_000_000.0));
        assert_eq!(memory("-1Gi"), None);
    }
}

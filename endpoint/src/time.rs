//! UTC calendar times, for the timestamps the protocols write and read (`x-amz-date`,
//! `metadata.creationTimestamp`, eksctl's log lines): days from and to the civil calendar
//! (Howard Hinnant's algorithms), with no time-zone database.

/// A UTC date and time to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utc {
    /// Year.
    pub year: i64,
    /// Month, 1–12.
    pub month: i64,
    /// Day of the month, 1–31.
    pub day: i64,
    /// Hour, 0–23.
    pub hour: i64,
    /// Minute.
    pub minute: i64,
    /// Second.
    pub second: i64,
}

impl Utc {
    /// The time `secs` seconds after 1970-01-01T00:00:00Z.
    pub fn from_unix(secs: i64) -> Self {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        Self {
            year: yoe + era * 400 + i64::from(month <= 2),
            month,
            day,
            hour: rem / 3600,
            minute: (rem / 60) % 60,
            second: rem % 60,
        }
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    pub fn to_unix(self) -> i64 {
        let y = if self.month <= 2 {
            self.year - 1
        } else {
            self.year
        };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * ((self.month + 9) % 12) + 2) / 5 + self.day - 1;
        let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
        days * 86_400 + self.hour * 3600 + self.minute * 60 + self.second
    }

    /// `2026-12-06T18:50:00Z` (RFC 3339, as Kubernetes writes timestamps).
    pub fn rfc3339(self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// `20261206T185000Z` (the form of `x-amz-date`).
    pub fn basic(self) -> String {
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// `2026-12-06 18:50:00` (eksctl's log lines).
    pub fn plain(self) -> String {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Utc;

    #[test]
    fn round_trips_and_formats() {
        for secs in [0, 86_401, 951_782_400, 1_796_578_500, -1] {
            assert_eq!(Utc::from_unix(secs).to_unix(), secs);
        }
        let t = Utc::from_unix(951_782_400); // 2000-02-29, a leap day
        assert_eq!(t.rfc3339(), "2000-02-29T00:00:00Z");
        assert_eq!(t.basic(), "20000229T000000Z");
        assert_eq!(Utc::from_unix(86_401).plain(), "1970-01-02 00:00:01");
    }
}

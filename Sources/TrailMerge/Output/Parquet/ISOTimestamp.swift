/// Parses ISO-8601 UTC timestamps (`2024-03-01T12:34:56Z`, with optional fractional seconds and
/// `+00:00` instead of `Z`) into milliseconds since the Unix epoch, on bytes, without Foundation.
/// Invariant: a value is accepted only when every field is in range (month 1–12, day within the
/// month, hour < 24, minute < 60, second < 60); fractions beyond milliseconds are truncated.
enum ISOTimestamp {
    /// Milliseconds since 1970-01-01T00:00:00Z, or nil when `text` is not such a timestamp.
    static func epochMillis(_ text: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard let p = text.baseAddress, text.count >= 20 else { return nil }
        let n = text.count
        // SAFETY: fixed positions are < 20 <= n; later reads check `i < n` or `i == n - k` first.
        @inline(__always) func digits(_ at: Int, _ count: Int) -> Int? {
            var v = 0
            for i in at..<(at + count) {
                let d = Int(p[i]) &- 0x30
                guard d >= 0 && d <= 9 else { return nil }
                v = v * 10 + d
            }
            return v
        }
        guard p[4] == 0x2D, p[7] == 0x2D, p[10] == 0x54, p[13] == 0x3A, p[16] == 0x3A,
            let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2),
            let hour = digits(11, 2), let minute = digits(14, 2), let second = digits(17, 2)
        else { return nil }
        guard month >= 1 && month <= 12, day >= 1, day <= daysIn(month: month, year: year),
            hour < 24, minute < 60, second < 60
        else { return nil }
        var i = 19
        var millis = 0
        if p[i] == 0x2E {
            i += 1
            let start = i
            while i < n, p[i] >= 0x30, p[i] <= 0x39 {
                if i - start < 3 { millis = millis * 10 + Int(p[i] - 0x30) }
                i += 1
            }
            let digitCount = i - start
            guard digitCount >= 1 else { return nil }
            if digitCount == 1 { millis *= 100 } else if digitCount == 2 { millis *= 10 }
        }
        // The zone: `Z`, or a zero offset.
        if i == n - 1 && p[i] == 0x5A {
        } else if i == n - 6 && (p[i] == 0x2B || p[i] == 0x2D) && p[i + 1] == 0x30 && p[i + 2] == 0x30
            && p[i + 3] == 0x3A && p[i + 4] == 0x30 && p[i + 5] == 0x30
        {
        } else {
            return nil
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        return seconds * 1000 + Int64(millis)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

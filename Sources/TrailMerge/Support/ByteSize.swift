/// Parsing and printing of byte sizes such as `512MiB`, `2GiB`, `1G`, `4096`.
/// Binary and decimal suffixes are both read as powers of 1024, which is what users of
/// `sort -S` and `--memory` flags expect; a bare number is bytes.

/// Parses a size like `4MiB`, `512m`, `2GiB`, `1G`, `1.5GB` or `4096` into bytes.
/// - Returns: the size in bytes, or `nil` when the text is not a size.
public func parseSize(_ text: String) -> Int? {
    let trimmed = text.trimmingCharacters(in: " ")
    var number = ""
    var suffix = ""
    for ch in trimmed {
        if suffix.isEmpty && (ch.isASCII && (ch.isNumber || ch == ".")) {
            number.append(ch)
        } else {
            suffix.append(ch)
        }
    }
    guard let value = Double(number), value >= 0, value.isFinite else { return nil }
    let k = 1024.0
    let multipliers: [String: Double] = [
        "": 1, "b": 1,
        "k": k, "kb": k, "kib": k,
        "m": k * k, "mb": k * k, "mib": k * k,
        "g": k * k * k, "gb": k * k * k, "gib": k * k * k,
        "t": k * k * k * k, "tb": k * k * k * k, "tib": k * k * k * k,
    ]
    guard let multiplier = multipliers[suffix.lowercased()] else { return nil }
    let bytes = value * multiplier
    guard bytes < Double(Int.max / 2) else { return nil }
    return Int(bytes)
}

/// Formats a byte count for humans: `4 MiB`, `1.5 GiB`, `812 B`.
public func formatSize(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    if unit == 0 || value == value.rounded() {
        return "\(Int(value)) \(units[unit])"
    }
    return "\(formatDecimal(value, places: 1)) \(units[unit])"
}

/// Formats a number with a fixed count of decimals, without Foundation's locale machinery.
public func formatDecimal(_ value: Double, places: Int) -> String {
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    let scaled = (value * scale).rounded()
    let negative = scaled < 0
    let magnitude = Int(abs(scaled))
    let whole = magnitude / Int(scale)
    var text = "\(whole)"
    if places > 0 {
        var fraction = "\(magnitude % Int(scale))"
        while fraction.count < places { fraction = "0" + fraction }
        text += "." + fraction
    }
    return negative ? "-" + text : text
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}

/// "1 file", "2 files": `count` and the noun, plural unless the count is 1.
public func plural(_ count: Int, _ noun: String, _ pluralNoun: String? = nil) -> String {
    "\(count) " + (count == 1 ? noun : (pluralNoun ?? noun + "s"))
}

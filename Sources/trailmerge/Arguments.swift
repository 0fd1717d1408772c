/// Raw command-line words → validated option values. Every usage error names the option and the
/// value at fault and, for unknown options, suggests the closest valid one.
import TrailMerge
#if canImport(Glibc)
import Glibc
#endif

struct ArgumentReader {
    private var words: [String]
    private var index = 0
    let command: String
    let known: [String]

    init(_ words: [String], command: String, known: [String]) {
        self.words = words
        self.command = command
        self.known = known
    }

    /// Options that take no value, so `--header=no` is a usage error rather than ignored.
    static let flags: Set<String> = [
        "--header", "--quiet", "--progress", "--skip-bad-files", "--allow-empty", "--dry-run", "--strict",
        "--delete-on-success", "--verbose", "--help", "-h", "--s3-path-style", "--no-sign-request",
    ]

    enum Item {
        case option(String, inlineValue: String?)
        case positional(String)
    }

    /// The next option or positional word, or nil at the end. `--` ends options.
    mutating func next() throws(TrailMergeError) -> Item? {
        guard index < words.count else { return nil }
        let word = words[index]
        index += 1
        if word == "--" {
            return index < words.count ? .positional(words[index...].joined(separator: " ")) : nil
        }
        if word.hasPrefix("-") && word != "-" && word.count > 1 {
            var name = word
            var inline: String? = nil
            if let eq = word.firstIndex(of: "="), word.hasPrefix("--") {
                name = String(word[..<eq])
                inline = String(word[word.index(after: eq)...])
            }
            guard known.contains(name) else {
                var message = "\(command): unknown option '\(name)'"
                if let suggestion = closest(name, in: known) { message += "; did you mean '\(suggestion)'?" }
                throw .usage(message + " (see 'trailmerge \(command) --help')")
            }
            if inline != nil && ArgumentReader.flags.contains(name) {
                throw .usage("\(command): \(name) takes no value (got '\(word)')")
            }
            return .option(name, inlineValue: inline)
        }
        return .positional(word)
    }

    /// The next word, when it is a value for an option whose value is optional: not an option,
    /// not a path that exists, and without '/' (so an INPUT is never taken for it).
    mutating func optionalValue(inline: String?) -> String? {
        if let inline { return inline }
        guard index < words.count else { return nil }
        let word = words[index]
        guard !word.hasPrefix("-"), !word.contains("/"), !word.isEmpty, access(word, F_OK) != 0 else { return nil }
        index += 1
        return word
    }

    /// The value of `option`: inline (`--x=v`) or the next word.
    mutating func value(for option: String, inline: String?) throws(TrailMergeError) -> String {
        if let inline { return inline }
        guard index < words.count else { throw .usage("\(command): \(option) needs a value") }
        // `--fields --quiet`: a known option is not taken for a value.
        let next = words[index]
        if next.hasPrefix("--"), known.contains(String(next.prefix { $0 != "=" })) {
            throw .usage("\(command): \(option) needs a value (got the option '\(next)')")
        }
        index += 1
        return words[index - 1]
    }
}

func parseCount(_ text: String, option: String, command: String, range: ClosedRange<Int>) throws(TrailMergeError) -> Int {
    guard let value = Int(text), range.contains(value) else {
        throw .usage("\(command): \(option) '\(text)' is not a whole number from \(range.lowerBound) to \(range.upperBound)")
    }
    return value
}

func parseSizeOption(_ text: String, option: String, command: String, minimum: Int) throws(TrailMergeError) -> Int {
    guard let value = parseSize(text) else {
        throw .usage("\(command): \(option) '\(text)' is not a size (examples: 4MiB, 512M, 2GiB, 1G, 65536)")
    }
    guard value >= minimum else {
        throw .usage("\(command): \(option) '\(text)' is below the minimum of \(formatSize(minimum))")
    }
    return value
}

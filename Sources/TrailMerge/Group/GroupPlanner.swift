/// Plans `group`: which source files go into which output part, under which name.
/// In: walked files relative to SRC, the --group-by regex, an optional name template, the target
/// size and the previous manifest. Out: `PlannedPart`s in key order, files in path order.
/// Invariants: a capture group that did not take part is an error, never "null"; a planned name
/// never collides with an existing file (the next free part number is taken instead).
import Foundation

/// A compiled `--group-by` regex: must match a relative path entirely and have a capture group.
public struct GroupPattern: @unchecked Sendable {
    public let text: String
    let regex: NSRegularExpression

    public init(_ text: String) throws(TrailMergeError) {
        self.text = text
        do {
            regex = try NSRegularExpression(pattern: text)
        } catch {
            throw .usage("group: --group-by '\(text)' is not a valid regular expression")
        }
        guard regex.numberOfCaptureGroups > 0 else {
            throw .usage(
                "group: --group-by '\(text)' has no capture group; the captures form the group key, e.g. "
                    + #"--group-by '.*/CloudTrail/([^/]+)/(\d{4})/(\d\d)/(\d\d)/[^/]+\.json\.gz'"#)
        }
    }

    /// The captures when the pattern matches all of `path`; nil when it does not match.
    /// A capture group that did not take part is reported as a nil element.
    func captures(in path: String) -> [String?]? {
        let whole = NSRange(path.startIndex..<path.endIndex, in: path)
        guard let match = regex.firstMatch(in: path, options: [.anchored], range: whole),
            match.range == whole
        else { return nil }
        return (1...regex.numberOfCaptureGroups).map { index in
            let range = match.range(at: index)
            guard range.location != NSNotFound, let r = Range(range, in: path) else { return nil }
            return String(path[r])
        }
    }
}

/// One output file to write.
public struct PlannedPart: Sendable, Equatable {
    /// Path relative to DEST.
    public var name: String
    public let key: String
    public let files: [SourceFile]
    public var inputBytes: Int { files.reduce(0) { $0 + $1.size } }
    /// True when the name was moved to the next free part number because the planned one existed.
    public var renamedFrom: String?
}

/// How group outputs are encoded.
public enum OutputCodec: String, Sendable {
    case keep, gzip, none
}

/// The group key (or templated name) for a file's captures.
func groupKey(captures: [String?], template: String?, path: String) throws(TrailMergeError) -> String {
    func capture(_ index: Int) throws(TrailMergeError) -> String {
        guard index >= 1 && index <= captures.count else {
            throw .usage("group: --name refers to $\(index) but --group-by has \(captures.count) capture group(s)")
        }
        guard let value = captures[index - 1] else {
            throw .group("\(path): capture group \(index) of --group-by did not take part in the match; "
                + "make it non-optional or use --name without it")
        }
        return value
    }
    guard let template else {
        var key = ""
        for index in 1...captures.count { key += try capture(index) }
        return key
    }
    // $N or ${N} are replaced by capture N; $$ is a literal $.
    var out = ""
    var chars = Array(template)
    chars.append("\0")
    var i = 0
    while i < chars.count - 1 {
        let c = chars[i]
        guard c == "$" else {
            out.append(c)
            i += 1
            continue
        }
        if chars[i + 1] == "$" {
            out.append("$")
            i += 2
            continue
        }
        var digits = ""
        var j = i + 1
        let braced = chars[j] == "{"
        if braced { j += 1 }
        while chars[j].isASCII && chars[j].isNumber {
            digits.append(chars[j])
            j += 1
        }
        if braced {
            guard chars[j] == "}" else { throw .usage("group: --name '\(template)' has an unclosed ${") }
            j += 1
        }
        guard let index = Int(digits) else { throw .usage("group: --name '\(template)': '$' must be followed by a group number") }
        out += try capture(index)
        i = j
    }
    return out
}

/// The output suffix for a group whose first file is `name`: from its first `.`, adjusted for the codec.
func outputSuffix(firstFile name: String, codec: OutputCodec) -> String {
    let base = name.split(separator: "/").last.map(String.init) ?? name
    var suffix = base.firstIndex(of: ".").map { String(base[$0...]) } ?? ""
    switch codec {
    case .keep: break
    case .gzip: if !suffix.hasSuffix(".gz") { suffix += ".gz" }
    case .none: if suffix.hasSuffix(".gz") { suffix.removeLast(3) }
    }
    return suffix
}

/// Cuts a group's files, in order, into parts whose input reaches `target` bytes (a part can exceed
/// the target by one file). `target == nil` keeps the group whole.
func cutIntoParts(_ files: [SourceFile], target: Int?) -> [[SourceFile]] {
    guard let target, target > 0 else { return [files] }
    var parts: [[SourceFile]] = []
    var current: [SourceFile] = []
    var bytes = 0
    for file in files {
        current.append(file)
        bytes += file.size
        if bytes >= target {
            parts.append(current)
            current = []
            bytes = 0
        }
    }
    if !current.isEmpty { parts.append(current) }
    return parts
}

/// Names parts `key+suffix` (one part) or `key-N+suffix`, stepping past names that already exist.
func nameParts(key: String, suffix: String, parts: [[SourceFile]], exists: (String) -> Bool) -> [PlannedPart] {
    var planned: [PlannedPart] = []
    var number = 0
    for (index, files) in parts.enumerated() {
        let wanted = parts.count == 1 ? key + suffix : "\(key)-\(index)\(suffix)"
        var name = wanted
        if parts.count > 1 { number = max(number, index) }
        while exists(name) || planned.contains(where: { $0.name == name }) {
            number += 1
            name = "\(key)-\(number)\(suffix)"
        }
        planned.append(PlannedPart(name: name, key: key, files: files, renamedFrom: name == wanted ? nil : wanted))
    }
    return planned
}

/// After-the-run diagnostics for paths that matched nothing: which `--fields` paths were absent
/// from every record, and what keys the records really have. In: the run's field presence and a
/// few of its input files. Out: warning texts with suggestions. This runs only when something
/// was absent, so it may use Foundation's JSON parser on a small sample; it is never on a hot path.
import Foundation

/// Dotted key paths seen in a sample of records (`a.b`, `a.items[].id`), and whether the sampled
/// documents look like events themselves or hold a `Records` array.
struct KeySample {
    private(set) var paths: Set<String> = []
    private(set) var documentsWithRecordsArray = 0
    private(set) var documents = 0
    /// Dotted key paths of the documents themselves whose values are arrays (`--records` candidates).
    private(set) var arrayPaths: Set<String> = []

    /// Reads up to `maxBytes` of decoded input from the first files and collects key paths from
    /// up to `maxRecords` records. Unreadable files are passed over: this is only for hints.
    init(files: [SourceFile], recordsPath: String, maxFiles: Int = 8, maxBytes: Int = 8 << 20, maxRecords: Int = 500) {
        let reader = GzipReader()
        var records = 0
        var bytesLeft = maxBytes
        for file in files.prefix(maxFiles) where records < maxRecords && bytesLeft > 0 {
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            do throws(TrailMergeError) {
                try reader.open(file.path)
                defer { reader.close() }
                while bytes.count < bytesLeft {
                    let n = try buffer.withUnsafeMutableBufferPointer { (b) throws(TrailMergeError) -> Int in
                        try reader.read(into: b.baseAddress!, capacity: b.count)
                    }
                    if n == 0 { break }
                    bytes += buffer[0..<n]
                }
            } catch {
                continue
            }
            bytesLeft -= bytes.count
            for document in KeySample.documents(in: bytes) {
                documents += 1
                collectArrays(document, prefix: "", depth: 0)
                var recordList: [Any] = []
                if recordsPath == "." {
                    recordList = [document]
                } else if let object = document as? [String: Any] {
                    var value: Any? = object
                    for key in recordsPath.split(separator: ".") { value = (value as? [String: Any])?[String(key)] }
                    recordList = value as? [Any] ?? []
                }
                if let object = document as? [String: Any], object["Records"] is [Any] { documentsWithRecordsArray += 1 }
                for record in recordList.prefix(maxRecords - records) {
                    records += 1
                    collect(record, prefix: "", depth: 0)
                }
            }
        }
    }

    /// The JSON documents of a file: the whole text, or else one per line (NDJSON).
    private static func documents(in bytes: [UInt8]) -> [Any] {
        if let whole = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) { return [whole] }
        var result: [Any] = []
        for line in bytes.split(separator: 0x0A) where line.count > 1 {
            if let value = try? JSONSerialization.jsonObject(with: Data(line), options: [.fragmentsAllowed]) { result.append(value) }
        }
        return result
    }

    private mutating func collect(_ value: Any, prefix: String, depth: Int) {
        guard depth < 6 else { return }
        if let object = value as? [String: Any] {
            for (key, child) in object {
                let path = prefix.isEmpty ? key : prefix + "." + key
                paths.insert(path)
                collect(child, prefix: path, depth: depth + 1)
            }
        } else if let array = value as? [Any], !prefix.hasSuffix("[]") {
            for element in array.prefix(4) {
                if let object = element as? [String: Any] {
                    for (key, child) in object {
                        let path = prefix + "[]." + key
                        paths.insert(path)
                        collect(child, prefix: path, depth: depth + 1)
                    }
                }
            }
        }
    }

    private mutating func collectArrays(_ value: Any, prefix: String, depth: Int) {
        guard depth < 4, let object = value as? [String: Any] else { return }
        for (key, child) in object {
            let path = prefix.isEmpty ? key : prefix + "." + key
            if child is [Any] { arrayPaths.insert(path) } else { collectArrays(child, prefix: path, depth: depth + 1) }
        }
    }

    /// The document array path closest to `path` (a `--records` that matched nothing), if any.
    func arraySuggestion(for path: String) -> String? {
        closest(path, in: arrayPaths.filter { $0 != path }.sorted())
    }

    /// The seen path closest to `path`, as a suggestion.
    func suggestion(for path: String) -> String? {
        // Only paths --fields accepts (at most one exploded array).
        closest(path, in: paths.filter { $0.components(separatedBy: "[]").count <= 2 }.sorted())
    }
}

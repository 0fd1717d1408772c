/// S3DistCp-style manifests: a gzip file of JSON lines, one per source file considered,
/// `{"path": <output file>, "baseName": <path relative to SRC>, "srcDir": <SRC>, "size": <bytes>}`.
/// In: the previous manifest (to skip sources already grouped). Out: the new manifest.
import Foundation

public struct ManifestEntry: Sendable, Equatable {
    public var path: String
    public var baseName: String
    public var srcDir: String
    public var size: Int

    var jsonLine: String {
        func quoted(_ text: String) -> String {
            let buffer = ByteBuffer(capacity: text.utf8.count + 8)
            RowFormatter.appendJSONString(Array(text.utf8), to: buffer)
            return String(decoding: buffer.bytes, as: UTF8.self)
        }
        return "{\"path\": \(quoted(path)), \"baseName\": \(quoted(baseName)), \"srcDir\": \(quoted(srcDir)), \"size\": \(size)}\n"
    }
}

/// Reads a manifest written by this tool or by S3DistCp (gzip or plain JSON lines).
func readManifest(_ path: String, storage: Storage = Storage()) throws(TrailMergeError) -> [ManifestEntry] {
    let reader = GzipReader()
    try reader.open(storage.open(path), path: path)
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = try buffer.withUnsafeMutableBufferPointer { (b) throws(TrailMergeError) -> Int in
            try reader.read(into: b.baseAddress!, capacity: b.count)
        }
        if n == 0 { break }
        bytes += buffer[0..<n]
    }
    var entries: [ManifestEntry] = []
    for (number, line) in bytes.split(separator: 0x0A).enumerated() {
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
        guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
            let baseName = object["baseName"] as? String,
            let size = (object["size"] as? NSNumber)?.intValue
        else {
            throw .invalidJSON(path: path, offset: 0, reason: "manifest line \(number + 1) is not {\"path\", \"baseName\", \"srcDir\", \"size\"}")
        }
        entries.append(ManifestEntry(
            path: object["path"] as? String ?? "", baseName: baseName,
            srcDir: object["srcDir"] as? String ?? "", size: size))
    }
    return entries
}

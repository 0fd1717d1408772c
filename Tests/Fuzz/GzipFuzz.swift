/// libFuzzer target for the gzip reader, built by scripts/fuzz.sh with the library sources. Any
/// input must either decode or fail with a `corruptGzip` error, never trap; the libdeflate path
/// (whole members) and the zlib streaming path (`wholeMemberLimit: 0`) must agree: both decode to
/// the same bytes, or both fail.
import CZlib
import Foundation

private let path = "/dev/shm/trailmerge-fuzz-gzip-\(getpid())"
nonisolated(unsafe) private let reader = GzipReader(inputCapacity: 4096)
nonisolated(unsafe) private let zlibReader = GzipReader(inputCapacity: 4096, wholeMemberLimit: 0)

/// Everything `reader` decodes from `path`, or nil when it fails; traps on an unexpected error kind.
private func decode(_ reader: GzipReader, piece: Int) -> [UInt8]? {
    var out: [UInt8] = []
    defer { reader.close() }
    do {
        try reader.open(path)
        var buffer = [UInt8](repeating: 0, count: piece)
        while true {
            let n = try buffer.withUnsafeMutableBufferPointer { b throws(TrailMergeError) in
                try reader.read(into: b.baseAddress!, capacity: b.count)
            }
            if n == 0 { break }
            out += buffer[0..<n]
            precondition(out.count < 64 << 20, "runaway output")
        }
    } catch {
        if case .corruptGzip = error {} else if case .unreadable = error {} else {
            preconditionFailure("unexpected error kind: \(error)")
        }
        return nil
    }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGzip(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    _ = FileManager.default.createFile(atPath: path, contents: bytes)
    let whole = decode(reader, piece: 777)
    let streamed = decode(zlibReader, piece: 1 << 16)
    precondition(whole == streamed, "libdeflate and zlib paths disagree")
    if let whole, !(size >= 2 && data[0] == 0x1F && data[1] == 0x8B) {
        precondition(whole == Array(bytes), "plain input must pass through unchanged")
    }
    return 0
}

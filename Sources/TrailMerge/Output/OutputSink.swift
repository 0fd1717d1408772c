/// Where formatted bytes go. In: blocks of formatted text. Out: the output file (or stdout), either
/// as written or as gzip members compressed in parallel and written in order. Invariant: blocks
/// reach the file in submission order; at most `maxInFlight` blocks are buffered at once.
import Dispatch
import Synchronization

protocol OutputSink: AnyObject {
    /// Takes the block's bytes (the buffer may be reused after the call returns).
    func write(_ block: ByteBuffer) throws(TrailMergeError)
    func finish() throws(TrailMergeError)
    /// Bytes written to the file so far.
    var bytesWritten: Int { get }
}

/// Writes blocks as they are.
final class PlainSink: OutputSink {
    private let writer: BufferedWriter

    init(writer: BufferedWriter) { self.writer = writer }

    func write(_ block: ByteBuffer) throws(TrailMergeError) {
        try writer.write(UnsafeRawBufferPointer(block.bytes))
    }

    func finish() throws(TrailMergeError) { try writer.flush() }

    var bytesWritten: Int { writer.bytesWritten }
}

extension GzipDeflater: @unchecked Sendable {}

/// Compresses each block into its own gzip member on a pool of threads, writing members in order.
final class ParallelGzipSink: OutputSink, @unchecked Sendable {
    private struct State {
        var nextToWrite = 0
        var done: [Int: [UInt8]] = [:]
        var error: TrailMergeError?
        var idle: [GzipDeflater] = []
        var written = 0
    }

    private let writer: BufferedWriter
    private let level: Int
    private let slots: DispatchSemaphore
    private let group = DispatchGroup()
    private let queue = DispatchQueue(label: "trailmerge.deflate", qos: .userInitiated, attributes: .concurrent)
    private let state = Mutex(State())
    private var submitted = 0

    init(writer: BufferedWriter, level: Int, maxInFlight: Int) {
        self.writer = writer
        self.level = level
        slots = DispatchSemaphore(value: max(1, maxInFlight))
    }

    func write(_ block: ByteBuffer) throws(TrailMergeError) {
        if let error = state.withLock({ $0.error }) { throw error }
        let bytes = block.array
        let sequence = submitted
        submitted += 1
        slots.wait()
        group.enter()
        queue.async { [self] in
            let deflater = state.withLock { $0.idle.popLast() } ?? GzipDeflater(level: level)
            var member: [UInt8] = []
            bytes.withUnsafeBytes { deflater.compressMember($0, appendingTo: &member) }
            state.withLock { st in
                st.idle.append(deflater)
                st.done[sequence] = member
                while let ready = st.done.removeValue(forKey: st.nextToWrite) {
                    st.nextToWrite += 1
                    if st.error == nil {
                        do throws(TrailMergeError) {
                            try writer.write(ready)
                            st.written += ready.count
                        } catch {
                            st.error = error
                        }
                    }
                }
            }
            slots.signal()
            group.leave()
        }
    }

    func finish() throws(TrailMergeError) {
        group.wait()
        if let error = state.withLock({ $0.error }) { throw error }
        try writer.flush()
    }

    var bytesWritten: Int { state.withLock { $0.written } }
}

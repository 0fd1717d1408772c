/// Where formatted bytes go. In: blocks of formatted text. Out: the output file (or stdout), either
/// as written or as gzip members compressed in parallel and written in order. Invariant: blocks
/// reach the file in submission order; at most `maxInFlight` blocks are buffered at once.
import Dispatch

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

/// Runs block jobs on a thread pool and writes their results in submission order.
/// At most `maxInFlight` jobs are queued or running at once, which bounds the memory they hold.
final class OrderedBlockWriter: @unchecked Sendable {
    private struct State {
        var nextToWrite = 0
        var done: [Int: [UInt8]] = [:]
        var error: TrailMergeError?
        var written = 0
    }

    private let writer: BufferedWriter
    private let slots: DispatchSemaphore
    private let group = DispatchGroup()
    private let queue = DispatchQueue(label: "trailmerge.blocks", qos: .userInitiated, attributes: .concurrent)
    private let state = Locked(State())
    /// Only touched by the submitting thread.
    private var submitted = 0

    init(writer: BufferedWriter, maxInFlight: Int) {
        self.writer = writer
        slots = DispatchSemaphore(value: max(1, maxInFlight))
    }

    /// Queues `job`; its result is written after every earlier job's.
    func submit(_ job: @escaping @Sendable () -> [UInt8]) throws(TrailMergeError) {
        if let error = state.withLock({ $0.error }) { throw error }
        let sequence = submitted
        submitted += 1
        slots.wait()
        group.enter()
        queue.async { [self] in
            let result = job()
            state.withLock { st in
                st.done[sequence] = result
                while let ready = st.done.removeValue(forKey: st.nextToWrite) {
                    st.nextToWrite += 1
                    guard st.error == nil else { continue }
                    do throws(TrailMergeError) {
                        try writer.write(ready)
                        st.written += ready.count
                    } catch {
                        st.error = error
                    }
                }
            }
            slots.signal()
            group.leave()
        }
    }

    /// Waits for every job and flushes the writer.
    func finish() throws(TrailMergeError) {
        group.wait()
        if let error = state.withLock({ $0.error }) { throw error }
        try writer.flush()
    }

    var bytesWritten: Int { state.withLock { $0.written } }
}

/// A stack of reusable per-job resources (deflaters, formatters) shared by pool threads.
final class ResourcePool<T>: @unchecked Sendable {
    private let idle = Locked<[UnsafeSendable<T>]>([])
    private let make: () -> T

    init(make: @escaping () -> T) { self.make = make }

    func take() -> T { idle.withLock { $0.popLast()?.value } ?? make() }
    func give(_ item: T) { idle.withLock { $0.append(UnsafeSendable(value: item)) } }
}

/// Carries a value that one thread at a time uses across a lock.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
}

/// Compresses each block into its own gzip member on a pool of threads, writing members in order.
final class ParallelGzipSink: OutputSink, @unchecked Sendable {
    private let blocks: OrderedBlockWriter
    private let deflaters: ResourcePool<GzipDeflater>

    init(writer: BufferedWriter, level: Int, maxInFlight: Int) {
        blocks = OrderedBlockWriter(writer: writer, maxInFlight: maxInFlight)
        deflaters = ResourcePool { GzipDeflater(level: level) }
    }

    func write(_ block: ByteBuffer) throws(TrailMergeError) {
        let bytes = block.array
        let deflaters = self.deflaters
        try blocks.submit {
            let deflater = deflaters.take()
            defer { deflaters.give(deflater) }
            var member: [UInt8] = []
            bytes.withUnsafeBytes { deflater.compressMember($0, appendingTo: &member) }
            return member
        }
    }

    func finish() throws(TrailMergeError) { try blocks.finish() }

    var bytesWritten: Int { blocks.bytesWritten }
}

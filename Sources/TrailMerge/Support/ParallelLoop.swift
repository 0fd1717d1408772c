/// The one parallel loop of the library: items handed out in order to a fixed set of threads, each
/// thread identified by its index so callers can keep per-thread state (an inflater, an arena).
/// In: an item count and a thread count. Out: the failure with the lowest item index, if any.
/// Invariant: after a failure no new item starts; items already running finish or notice
/// `isCancelled` and stop early.
import Dispatch
import Synchronization

/// Whether the loop has been stopped by a failure; bodies poll it inside long items.
final class LoopStatus: Sendable {
    fileprivate let failed = Atomic<Bool>(false)

    var isCancelled: Bool { failed.load(ordering: .relaxed) }
}

/// Runs `body(item, thread, status)` for every item in `0..<count` on `threads` threads, then
/// `finishThread(thread)` on each thread as it runs out of items.
/// - Returns: normally when every item succeeded.
/// - Throws: the error of the lowest-numbered item that failed.
func parallelForEach(
    count: Int, threads: Int,
    body: (_ item: Int, _ thread: Int, _ status: LoopStatus) throws(TrailMergeError) -> Void,
    finishThread: (_ thread: Int) -> Void = { _ in }
) throws(TrailMergeError) {
    let threads = max(1, min(threads, max(1, count)))
    let next = Atomic<Int>(0)
    let status = LoopStatus()
    let firstError = Locked<(item: Int, error: TrailMergeError)?>(nil)
    do {
        // concurrentPerform returns only after every iteration ends, so the closures never
        // outlive this frame.
        withoutActuallyEscaping(body) { body in
            withoutActuallyEscaping(finishThread) { finishThread in
                let box = UncheckedBox((body, finishThread))
                DispatchQueue.concurrentPerform(iterations: threads) { thread in
                    while !status.isCancelled {
                        let item = next.wrappingAdd(1, ordering: .relaxed).oldValue
                        guard item < count else { break }
                        do throws(TrailMergeError) {
                            try box.value.0(item, thread, status)
                        } catch {
                            firstError.withLock { current in
                                if current == nil || item < current!.item { current = (item, error) }
                            }
                            status.failed.store(true, ordering: .relaxed)
                        }
                    }
                    box.value.1(thread)
                }
            }
        }
    }
    if let failure = firstError.withLock({ $0 }) { throw failure.error }
}

/// Lets values cross into `concurrentPerform`; callers guarantee each part is used safely.
final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// A value guarded by a lock. It wraps Foundation's `NSLock` (a pthread mutex) rather than
/// `Synchronization.Mutex`, whose futex-based lock lives in a precompiled module that
/// ThreadSanitizer cannot see into: under `--sanitize=thread` it reported races on state that
/// `Mutex` did protect.
import Foundation

public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    /// Runs `body` with exclusive access to the value.
    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
